"""Message shortcut "Add as action item": the action-item form, pre-filled from the
message, with a link back to it in the notes."""

from __future__ import annotations

from typing import Any

from slack_bolt import App

from blocks import modals
from blocks.forms import encode_metadata
from blocks.ids import Callback
from bot.ids import Shortcut
from bot.runtime import ui
from bot.runtime.after_ack import acked
from bot.runtime.middleware import actor_of, unit_of_work
from storage import plans
from storage.plans import Actor

TITLE_MAX = modals.TITLE_MAX


def message_link(body: dict[str, Any]) -> str | None:
    """The message's permalink, built from the payload (no API call before the
    modal opens: the trigger id expires in 3 seconds)."""
    domain = (body.get("team") or {}).get("domain")
    channel = (body.get("channel") or {}).get("id")
    ts = (body.get("message") or {}).get("ts")
    if not (domain and channel and ts):
        return None
    return f"https://{domain}.slack.com/archives/{channel}/p{ts.replace('.', '')}"


def objective_groups(session, actor: Actor) -> list[tuple[str, list[tuple[str, str]]]]:
    """The "Objective" select's option groups: one per plan (by id: two plans may share
    a name), labelled with the plan's name."""
    groups: dict[int, tuple[str, list[tuple[str, str]]]] = {}
    for choice in plans.editable_objectives(session, actor):
        groups.setdefault(choice.plan_id, (choice.plan_name, []))[1].append(
            (choice.label, str(choice.objective_id)))
    return list(groups.values())


def on_add_as_action_item(*, body, client, context, payload, respond) -> None:
    actor = actor_of(context)
    message = body.get("message") or {}
    text = (message.get("text") or "").strip()
    first_line = text.splitlines()[0] if text else ""
    link = message_link(body)
    notes = "\n\n".join(part for part in (text[:2000], f"From the message: {link}" if link else "") if part)
    plans.require_internal(actor)  # told by the after-ack error path (bot/runtime/ui.py)
    with unit_of_work(context) as session:
        groups = objective_groups(session, actor)
    if not groups:
        view = modals.message_modal("Add as action item", "You're not on the team of any draft or active "
                                    "plan with objectives yet. Create one with /accountplan new.")
    else:
        view = modals.action_item_modal(
            Callback.ACTION_ITEM_FORM, objectives=groups, selected_objective=groups[0][1][0][1],
            title=first_line[:TITLE_MAX], notes=notes[:modals.TEXT_MAX],
            assignee=message.get("user") or actor.user_id, metadata=encode_metadata(source="shortcut"))
    ui.open_modal(client, context, body["trigger_id"], view, respond=respond)


def register(app: App) -> None:
    app.shortcut(Shortcut.ADD_ACTION_ITEM)(acked(on_add_as_action_item))
