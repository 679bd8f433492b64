"""Key stakeholders on the plan view: "Add stakeholder", each line's menu (Edit, Log
contact, Remove) and the stakeholder form.

Stakeholders are the team's assessments of the customer's people: only the team's view
shows them, so nothing here answers a person from another organisation, or a view shown
as customers see it (a shared conversation), with anything but a refusal. Storage
refuses them too (an external `Actor` neither reads nor changes stakeholders).
"""

from __future__ import annotations

from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient
from sqlalchemy.orm import Session

from blocks import modals
from blocks.forms import encode_metadata, metadata
from blocks.ids import Action, Callback, Verb, parse_menu_value
from blocks.stakeholders import stakeholder_block_ids, stakeholder_form_input, stakeholder_modal
from bot.listeners.action_items import objective_choices
from bot.runtime import ui
from bot.runtime.after_ack import acked
from bot.runtime.audience import Looking, looking
from bot.runtime.middleware import actor_of, settings_of, unit_of_work
from bot.scheduler.reminder_jobs import local_zone
from storage import plans, stakeholders
from storage.errors import NotFound, PermissionDenied, ValidationError
from storage.models import utcnow
from storage.plans import Actor
from storage.reminder_calendar import local_day
from storage.stakeholders import StakeholderInput

TEAM_ONLY = ("Key stakeholders are kept by the account team and never shown to customers: "
             "open the plan from my App Home to see them.")
REMOVED = "People who report to them report to their manager instead."


def _team_only(who: Looking) -> None:
    """The stakeholders' one rule here: the team, in the team's view."""
    if who.external:
        raise PermissionDenied(TEAM_ONLY)


def stakeholder_form(session: Session, actor: Actor, plan_id: int, parent: dict[str, Any],
                     stakeholder=None) -> dict[str, Any]:
    """Add (stakeholder None) or edit, for someone who may change the plan: "Reports to"
    offers the plan's other people, "Objectives" its objectives."""
    plan = plans.load_plan_tree(session, actor.team_id, plan_id)
    plans.require_editor(plan, actor)
    tree = stakeholders.stakeholder_tree(stakeholders.list_stakeholders(session, actor, plan.id))
    if stakeholder is None:
        meta = encode_metadata(plan=plan.id, **parent)
    else:
        meta = encode_metadata(plan=plan.id, stakeholder=stakeholder.id, version=stakeholder.version, **parent)
    return stakeholder_modal(Callback.STAKEHOLDER_FORM, stakeholder=stakeholder, tree=tree,
                             objectives=objective_choices(plan), metadata=meta)


def on_add(*, body, client: WebClient, context: BoltContext, payload, respond) -> None:
    """"Add stakeholder" on the plan view (value: the plan id)."""
    _team_only(looking(client, context, body))
    actor = actor_of(context)
    with unit_of_work(context) as session:
        view = stakeholder_form(session, actor, ui.record_id(payload.get("value")), ui.parent_of(body))
    ui.open_or_push(client, context, body, view, respond)


def on_menu(*, body, client: WebClient, context: BoltContext, payload, respond) -> None:
    """A line's menu: "edit:<id>" (the form), "contact:<id>" (we spoke today, the person's
    own day), "delete:<id>" (asks first)."""
    who = looking(client, context, body)
    _team_only(who)
    try:
        verb, stakeholder_id = parse_menu_value(str(ui.chosen_value(payload) or ""))
        if verb not in (Verb.EDIT, Verb.LOG_CONTACT, Verb.DELETE):
            raise ValueError(verb)
    except ValueError:
        raise NotFound("That choice is out of date: please open the plan again.") from None
    actor = actor_of(context)
    parent = ui.parent_of(body)
    with unit_of_work(context) as session:
        person = stakeholders.get_stakeholder(session, actor, stakeholder_id)
        plan_id = person.plan_id
        if verb == Verb.EDIT:
            view = stakeholder_form(session, actor, plan_id, parent, person)
        elif verb == Verb.DELETE:
            plans.get_editable_plan(session, actor, plan_id)
            view = modals.confirm_delete_modal(
                Callback.DELETE_FORM, what="stakeholder", name=person.name, consequence=REMOVED,
                metadata=encode_metadata(entity="stakeholder", id=person.id, **parent))
        else:
            tz = local_zone(session, actor.team_id, actor.user_id, settings_of(context).timezone)
            stakeholders.log_contact(session, actor, person.id, local_day(utcnow(), tz))
            view = None
    if view is not None:
        ui.open_modal(client, context, body["trigger_id"], view, push=True)
        return
    view = body.get("view") or {}
    if view.get("id"):
        meta = metadata(view)
        ui.refresh_plan_view(client, context, view["id"], plan_id, who=who,
                             page=meta.get("page", 0), mode=meta.get("mode", "plan"))


def save(session: Session, actor: Actor, values: dict[str, Any], meta: dict[str, Any]) -> int:
    """The stakeholder form: every field error at once, each on its input."""
    data = StakeholderInput(**stakeholder_form_input(values))
    try:
        if "stakeholder" in meta:
            person = stakeholders.update_stakeholder(session, actor, meta["stakeholder"], data,
                                                     expected_version=meta.get("version"))
        elif "plan" in meta:
            person = stakeholders.add_stakeholder(session, actor, meta["plan"], data)
        else:
            raise NotFound("This form belongs to no plan: please open the plan again.")
    except ValidationError as error:
        raise ValidationError.of(stakeholder_block_ids(error.errors)) from None
    return person.plan_id


def register(app: App) -> None:
    app.action(Action.ADD_STAKEHOLDER)(acked(on_add))
    app.action(Action.STAKEHOLDER_MENU)(acked(on_menu))
    app.view(Callback.STAKEHOLDER_FORM)(ui.form_submission(save))
