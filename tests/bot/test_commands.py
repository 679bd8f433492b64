"""/accountplan over signed HTTP: quick ack, the help guide, routing, verification."""

from __future__ import annotations

import sys
import threading
import time
from types import SimpleNamespace

import pytest

from bot import listeners
from bot.listeners import commands
from tests.bot import signing

SUBCOMMANDS = ("help", "new", "list", "show", "edit", "copy", "swot", "mine", "digest", "qbr", "templates")


@pytest.mark.parametrize("text", ["help", "", "   ", "frobnicate the plan", "HELP"])
def test_help_empty_and_unknown_words_answer_with_the_ephemeral_guide(slack, slack_api, text):
    reply = slack.command("/accountplan", text)
    assert reply.status == 200
    assert reply.elapsed < 3
    body = reply.json
    assert body["response_type"] == "ephemeral"
    for word in SUBCOMMANDS:
        assert f"/accountplan {word}" in body["text"]
    assert "list [mine|active|ACCOUNT]" in body["text"]
    assert "digest PLAN [#channel]" in body["text"]
    section = body["blocks"][0]["text"]
    assert section["type"] == "mrkdwn" and section["verbatim"] is True
    assert "frobnicate" not in body["text"]  # the user's words are not echoed
    # Answered in the ack body: no Web API call but the start-up auth.test.
    assert [c.method for c in slack_api.calls] == ["auth.test"]


def test_requests_with_a_bad_signature_are_refused(slack):
    fields = signing.slash_command("/accountplan", "help")
    body = signing.encode_form(fields)
    assert slack.post(body, signing.FORM, secret="not-the-secret").status == 401
    assert slack.post(body, signing.FORM, signed=False).status == 401
    stale = int(time.time()) - 10 * 60  # replayed after five minutes
    assert slack.post(body, signing.FORM, timestamp=stale).status == 401
    assert slack.post(body, signing.FORM).status == 200


def router_table(app) -> dict:
    """The /accountplan router's table of this app (bot/listeners/commands.py)."""
    tables = [listener.ack_function.table for listener in app._listeners
              if hasattr(listener.ack_function, "table")]
    assert len(tables) == 1
    return tables[0]


def test_subcommands_route_through_the_table_after_the_ack(slack, slack_api, monkeypatch, bolt_app):
    calls = []
    acked, finished = threading.Event(), threading.Event()

    def show(*, respond, client, command, context, args):
        # Slow work happens after the ack: this waits until the test has the ack.
        assert acked.wait(5), "the ack waited for the work"
        calls.append((args, command["user_id"], context["actor"].user_id))
        respond(text="shown", response_type="ephemeral")
        finished.set()

    monkeypatch.setitem(router_table(bolt_app), "show", show)
    reply = slack.command("/accountplan", "  Show   Newton Memorial 2025 ", user="U7")
    acked.set()
    assert reply.status == 200 and reply.body == ""
    assert reply.elapsed < 1
    assert finished.wait(5)
    assert calls == [("Newton Memorial 2025", "U7", "U7")]
    assert slack.wait_for("response_url").params["text"] == "shown"


def test_split_subcommand():
    assert commands.split_subcommand(None) == ("", "")
    assert commands.split_subcommand(" digest  Newton  #team-east ") == ("digest", "Newton  #team-east")
    assert commands.split_subcommand("MINE") == ("mine", "")


def test_every_word_of_the_guide_is_routed_and_nothing_else(bolt_app):
    """The router's table is exactly the guide's words (help is answered in the ack)."""
    table = router_table(bolt_app)
    assert set(table) == set(SUBCOMMANDS) - {"help"}
    assert all(callable(handler) for handler in table.values())


def test_no_subcommand_is_stubbed(bolt_app):
    """Each word routes to the handler its own surface declares in SUBCOMMANDS, joined
    when the app was built (the table is not empty, even with this test run alone)."""
    table = router_table(bolt_app)
    assert table, "the router of a new app answers no word"
    assert table == commands.table_of(listeners.SURFACES)
    for word, handler in table.items():
        module = handler.__module__
        assert module.startswith("bot.listeners.") and module != commands.__name__, word
        assert sys.modules[module].SUBCOMMANDS[word] is handler, word


def test_each_app_owns_its_table():
    """Joining the surfaces' words makes a new table each time; the router module keeps
    none of its own that an app could fill for the next."""
    surfaces = [SimpleNamespace(SUBCOMMANDS={"show": print}), SimpleNamespace(SUBCOMMANDS={"list": len})]
    first, second = commands.table_of(surfaces), commands.table_of(surfaces)
    assert first == second == {"show": print, "list": len} and first is not second
    handlers = {id(handler) for surface in listeners.SURFACES
                for handler in getattr(surface, "SUBCOMMANDS", {}).values()}
    assert handlers
    for name, value in vars(commands).items():
        if isinstance(value, dict):
            assert not handlers & {id(v) for v in value.values()}, f"commands.{name} holds handlers"


def test_a_word_claimed_by_two_surfaces_is_refused_at_start():
    one, two = SimpleNamespace(SUBCOMMANDS={"show": print}), SimpleNamespace(SUBCOMMANDS={"show": len})
    with pytest.raises(ValueError, match="show"):
        commands.table_of([one, two])
