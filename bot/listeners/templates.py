"""Plan templates: `/accountplan templates` (the list, with Rename and Delete for those
who may), "Save as template" on the plan view, and their forms. Starting a plan from a
template is the new-plan form's "Start from" (bot/listeners/plan_forms.py).

Templates belong to the workspace: people from another organisation neither see nor
use them (storage refuses an external `Actor`); a view shown as customers see it never
offers "Save as template".
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient
from sqlalchemy.orm import Session

from blocks import messages, modals
from blocks.forms import encode_metadata, form_values, metadata
from blocks.ids import Action, Callback, Verb, parse_menu_value
from blocks.kit import esc
from blocks.plan_templates import TEMPLATE_NAME, rename_template_modal, save_template_modal, templates_message
from bot.runtime import ui
from bot.runtime.after_ack import acked
from bot.runtime.audience import NOT_IN_SHARED, OUTSIDER_REFUSED, looking
from bot.runtime.middleware import actor_of, unit_of_work
from storage import plans, templates
from storage.errors import NotFound, PermissionDenied, PlanError
from storage.plans import Actor


def templates_list(session: Session, actor: Actor, note: str = "") -> dict[str, Any]:
    """The built-ins and the workspace's templates; a menu on those the person may change
    (the template's owner, or anyone who owns a plan here: storage's may_manage)."""
    found = templates.list_templates(session, actor)
    owns_a_plan = templates.may_manage(session, actor, SimpleNamespace(owner_id=None))
    shown = [SimpleNamespace(id=t.template_id, name=t.name, owner_id=t.owner_id) for t in found]
    changeable = {t.template_id for t in found
                  if t.template_id is not None and (owns_a_plan or t.owner_id == actor.user_id)}
    message = templates_message(shown, changeable=changeable)
    if note:
        message["blocks"].insert(0, messages.notice(note)["blocks"][0])
    return message


def templates_command(*, respond, client: WebClient, command, context, args) -> None:
    who = looking(client, context, command)
    if who.outsider:
        respond(messages.notice(esc(OUTSIDER_REFUSED)))
        return
    if who.external:  # the workspace's own: not in a conversation shared with another organisation
        respond(messages.notice(esc(NOT_IN_SHARED)))
        return
    with unit_of_work(context) as session:
        respond(templates_list(session, who.actor))


def on_template_menu(*, body, client: WebClient, context: BoltContext, payload, respond) -> None:
    """The list's buttons: "Rename" ("edit:<id>") opens "Rename template"; "Delete"
    ("delete:<id>", pressed once Slack's confirmation dialog was accepted) deletes it
    and redraws the list. A menu's option with those values (lists posted before the
    buttons) does the same."""
    if looking(client, context, body).outsider:
        raise PermissionDenied(OUTSIDER_REFUSED)
    try:
        verb, template_id = parse_menu_value(str(ui.chosen_value(payload) or payload.get("value") or ""))
        if verb not in (Verb.EDIT, Verb.DELETE):
            raise ValueError(verb)
    except ValueError:
        raise NotFound("That choice is out of date: type `/accountplan templates` again.") from None
    actor = actor_of(context)
    with unit_of_work(context) as session:
        template = templates.get_template(session, actor, template_id)
        name = template.name
        if verb == Verb.DELETE:
            templates.delete_template(session, actor, template.id)
        elif not templates.may_manage(session, actor, template):
            raise PermissionDenied("Only the template's owner, or someone who owns a plan here, can change it.")
        else:
            view = rename_template_modal(name=name, metadata=encode_metadata(id=template.id,
                                                                              version=template.version))
    if verb == Verb.EDIT:
        ui.open_modal(client, context, body["trigger_id"], view, respond=respond)
        return
    with unit_of_work(context) as session:
        message = templates_list(session, actor, note=f"Deleted the template *{esc(name, 200)}*.")
    respond(replace_original=True, **message)


def on_save_as_template(*, body, client: WebClient, context: BoltContext, payload, respond) -> None:
    """"Save as template" on the plan view (value: the plan id)."""
    who = looking(client, context, body)
    if who.external:
        raise PermissionDenied(OUTSIDER_REFUSED)
    with unit_of_work(context) as session:
        plan = plans.get_editable_plan(session, who.actor, ui.record_id(payload.get("value")))
        view = save_template_modal(plan_name=plan.name, metadata=encode_metadata(plan=plan.id, **ui.parent_of(body)))
    ui.open_or_push(client, context, body, view, respond)


def _save(ack: Ack, context: BoltContext, view: dict[str, Any], save, done) -> None:
    """Save before the ack: a field error on "Template name", anything else said on it
    too; saved: the form says so (closing it goes back to where it came from)."""
    meta, values = metadata(view), form_values(view)
    try:
        with unit_of_work(context, before_ack=True) as session:
            template = save(session, actor_of(context), meta, values.get(TEMPLATE_NAME) or "")
            title, text = done(template)
    except PlanError as error:
        ack(response_action="errors", errors=ui.errors_for(view, error))
        return
    ack(response_action="update", view=modals.message_modal(title, text))


def _save_plan(session: Session, actor: Actor, meta: dict[str, Any], name: str):
    if "plan" not in meta:
        raise NotFound("This form belongs to no plan: please open the plan again.")
    return templates.save_as_template(session, actor, meta["plan"], name)


def _rename(session: Session, actor: Actor, meta: dict[str, Any], name: str):
    if "id" not in meta:
        raise NotFound("That template is gone: type `/accountplan templates` again.")
    return templates.rename_template(session, actor, meta["id"], name, expected_version=meta.get("version"))


def on_template_submitted(ack: Ack, client: WebClient, context: BoltContext, view: dict[str, Any]) -> None:
    _save(ack, context, view, _save_plan, lambda t: (
        "Saved as template", f"“{t.name}” is saved. /accountplan new offers it under Start from."))


def on_rename_submitted(ack: Ack, client: WebClient, context: BoltContext, view: dict[str, Any]) -> None:
    _save(ack, context, view, _rename, lambda t: ("Template renamed", f"The template is now “{t.name}”."))


SUBCOMMANDS = {"templates": templates_command}


def register(app: App) -> None:
    app.action(Action.TEMPLATE_MENU)(acked(on_template_menu))
    app.action(Action.SAVE_AS_TEMPLATE)(acked(on_save_as_template))
    app.view(Callback.TEMPLATE_FORM)(on_template_submitted)
    app.view(Callback.TEMPLATE_RENAME_FORM)(on_rename_submitted)
