"""`/accountplan <subcommand> [args]`: acknowledge at once, then route by a table.

To add a subcommand, write its handler in your surface module and add it to that
module's own `SUBCOMMANDS` table; `register(app, surfaces)` joins the surfaces' tables
into this app's router when the app is built (bot/listeners/__init__.py passes every
surface). Each app owns its table: nothing in this module holds or fills one. The router has already acknowledged the command (Slack wants that within
3 seconds, whatever the database is doing), so a handler answers through `respond`
(the command's response_url) or `client` (e.g. `views_open(trigger_id=...)`, valid
for 3 s after the command). It is called with keyword arguments:

    def show_plan(*, respond, client, command, context, args):
        # args: the text after the subcommand word, stripped ("Newton Memorial 2025")
        with unit_of_work(context) as session: ...

    SUBCOMMANDS = {"show": plans.show_plan, ...}

`args` is the text as Slack sends it: &, < and > arrive as &amp; &lt; &gt;, and since
the manifest sets should_escape, channels and people as <#C123|name> and <@U123|name>.

`help`, no text and any word not in the table answer with the guide below.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from bot.ids import Command
from bot.runtime.after_ack import Answer, received_at
from bot.runtime.after_ack import CONTEXT_KEY as AFTER_ACK_KEY

Subcommand = Callable[..., None]

# Subcommands whose answer is a modal: their trigger_id lives 3 s, so they go first.
OPENS_A_MODAL = frozenset({"new", "show", "edit", "copy", "swot", "qbr"})

HELP_LINES = (
    ("help", "this guide"),
    ("new", "start a new account plan, blank or from a template"),
    ("list [mine|active|ACCOUNT]", "list plans: yours, the active ones, or one account's"),
    ("show PLAN", "open a plan"),
    ("edit PLAN", "change a plan's name, dates, status or team"),
    ("copy PLAN", "start the next cycle from a plan"),
    ("swot PLAN", "a plan's strengths, weaknesses, opportunities and threats"),
    ("mine", "your open action items"),
    ("digest PLAN [#channel]", "post a plan's progress digest"),
    ("qbr PLAN", "record a quarterly business review"),
    ("templates", "the templates new plans start from: rename or delete yours"),
)


def help_text(command: str = Command.ACCOUNTPLAN) -> str:
    """The guide as mrkdwn: our own text only, with nothing mrkdwn must escape (&, <, >)."""
    lines = [f"*Account plans*: type `{command}` and one of"]
    lines += [f"• `{command} {usage}`: {what}" for usage, what in HELP_LINES]
    return "\n".join(lines)


def help_response(command: str = Command.ACCOUNTPLAN) -> dict[str, Any]:
    text = help_text(command)
    return {
        "response_type": "ephemeral",
        "text": text,
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": text, "verbatim": True}}
        ],
    }


def split_subcommand(text: str | None) -> tuple[str, str]:
    """("show", "Newton Memorial 2025") from "  Show  Newton Memorial 2025 "."""
    parts = (text or "").strip().split(maxsplit=1)
    if not parts:
        return "", ""
    return parts[0].lower(), parts[1] if len(parts) > 1 else ""


def router(table: dict[str, Subcommand]) -> Callable[..., None]:
    """The /accountplan listener for one app, routing by `table`."""

    def on_command(ack: Ack, respond: Respond, client: WebClient, command: dict[str, Any],
                   context: BoltContext) -> None:
        word, args = split_subcommand(command.get("text"))
        handler = table.get(word)
        if handler is None:
            ack(help_response(command.get("command") or Command.ACCOUNTPLAN))
            return
        ack()
        # The rest runs on the after-ack pool (bot/runtime/after_ack.py), by the deadline of its answer.
        answer = Answer.MODAL if word in OPENS_A_MODAL else Answer.MESSAGE
        context[AFTER_ACK_KEY].submit(handler, answer=answer, received_at=received_at(context),
                                      respond=respond, client=client, command=command,
                                      context=context, args=args)

    on_command.table = table  # type: ignore[attr-defined] - for tests and the manifest check
    return on_command


def table_of(surfaces) -> dict[str, Subcommand]:
    """Every surface's words joined; a word claimed twice is a mistake caught at start."""
    table: dict[str, Subcommand] = {}
    for surface in surfaces:
        for word, handler in getattr(surface, "SUBCOMMANDS", {}).items():
            if word in table:
                raise ValueError(f"/accountplan {word} is claimed by two surfaces")
            table[word] = handler
    return table


def register(app: App, surfaces) -> dict[str, Subcommand]:
    """The /accountplan router of `app`, with the words of `surfaces` (modules)."""
    table = table_of(surfaces)
    app.command(Command.ACCOUNTPLAN)(router(table))
    return table
