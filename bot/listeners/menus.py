"""The overflow menu every line of the plan view has: add a child, edit, move, delete
(and, for action items, mark done). Moving and deleting work alike at every level;
each level supplies how to add its child and how to edit itself."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt import BoltContext
from slack_sdk import WebClient
from sqlalchemy.orm import Session

from blocks.forms import metadata
from blocks.ids import Verb, parse_menu_value
from bot.listeners import reminders as reminder_listeners
from bot.listeners.plan_forms import confirm_delete
from bot.runtime import ui
from bot.runtime.after_ack import acked
from bot.runtime.audience import looking
from bot.runtime.middleware import actor_of, unit_of_work
from storage import plans
from storage.errors import NotFound

# (session, record, parent metadata) -> the modal to push
FormBuilder = Callable[[Session, Any, dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class Level:
    entity: str  # "strategy", "objective", "action_item", "swot"
    edit_form: FormBuilder
    add_child_form: FormBuilder | None = None
    label: Callable[[Any], str] = lambda record: record.title


def menu_listener(level: Level):
    """The Bolt listener for a level's menu: acks at once, then `handle_menu`."""
    return acked(lambda *, body, client, context, payload, respond:
                 handle_menu(level, body, client, context, payload))


def handle_menu(level: Level, body: dict[str, Any], client: WebClient,
                context: BoltContext, action: dict[str, Any]) -> None:
    try:
        verb, record_id = parse_menu_value(str(ui.chosen_value(action) or ""))
    except ValueError:
        raise NotFound("That choice is out of date: please open the plan again.") from None
    actor = actor_of(context)
    parent = ui.parent_of(body)
    if verb in (Verb.UP, Verb.DOWN):
        with unit_of_work(context) as session:
            record = plans.move(session, actor, level.entity, record_id,
                                offset=-1 if verb == Verb.UP else 1)
            plan_id = record.plan_id
    elif verb in (Verb.DONE, Verb.REOPEN):
        with unit_of_work(context) as session:
            plan_id = plans.set_action_item_done(session, actor, record_id, verb == Verb.DONE).plan_id
    else:
        with unit_of_work(context) as session:
            record = plans.get_part(session, actor.team_id, level.entity, record_id)
            plans.get_editable_plan(session, actor, record.plan_id)
            if verb == Verb.DELETE:
                name = level.label(record)
            else:
                build = level.edit_form if verb == Verb.EDIT else level.add_child_form
                if build is None:
                    raise NotFound("That choice is out of date: please open the plan again.")
                view = build(session, record, parent)
        if verb == Verb.DELETE:
            confirm_delete(client, context, body, level.entity, record_id, name)
        else:
            ui.open_modal(client, context, body["trigger_id"], view, push=True)
        return
    meta = metadata(body["view"])
    ui.refresh_plan_view(client, context, body["view"]["id"], plan_id, who=looking(client, context, body),
                         page=meta.get("page", 0), mode=meta.get("mode", "plan"))
    if verb in (Verb.DONE, Verb.REOPEN):  # tell the assigner, redraw the DM (bot/listeners/reminders.py)
        reminder_listeners.after_item_change(client, context, record_id)
