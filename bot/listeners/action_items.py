"""Action items: "Add action item" (pick the objective), the item menu, the form,
"Mark done" from App Home and from `/accountplan mine`, and `mine` itself.

Assigning an item to someone from another organisation who may not see it (it, its
objective or its strategy not shared with the customer) sends them nothing
(bot/scheduler/reminder_jobs.py), and whoever saved the form is told so once."""

from __future__ import annotations

from typing import Any

from slack_bolt import App
from sqlalchemy.orm import Session

from blocks import modals
from blocks.customer_items import CONTACT, FOLLOW_UP
from blocks.forms import encode_metadata
from blocks.ids import Action, Callback
from bot.listeners import home
from bot.listeners import reminders as reminder_listeners
from bot.listeners.menus import Level, menu_listener
from bot.runtime import ui
from bot.runtime.after_ack import Answer, acked
from bot.runtime.audience import looking, person_is_external
from bot.runtime.middleware import actor_of, unit_of_work
from storage import customer_items, plans, reminders
from storage.errors import ValidationError
from storage.plans import ActionItemInput, Actor

NOT_SHARED_TITLE = "Not shared with them"
NOT_SHARED = ("The assignee of “{title}” is from another organisation, and this item isn't shared "
              "with the customer (it, its objective and its strategy must be marked “Shared with "
              "customer”), so they can't see it and won't get a message about it. Share it, or assign "
              "it to someone in your team.")


def add_form_under(session: Session, objective, parent: dict[str, Any]) -> dict[str, Any]:
    """From an objective's menu: the parent is fixed."""
    meta = encode_metadata(objective=objective.id, **parent)
    plan = plans.get_plan(session, objective.team_id, objective.plan_id)
    return modals.action_item_modal(Callback.ACTION_ITEM_FORM, metadata=meta,
                                    shared_default=plan.share_with_customer_by_default,
                                    contacts=customer_items.contact_choices(session, plan.team_id, plan.id))


def edit_form(session: Session, item, parent: dict[str, Any]) -> dict[str, Any]:
    meta = encode_metadata(item=item.id, version=item.version, **parent)
    return modals.action_item_modal(Callback.ACTION_ITEM_FORM, item=item, metadata=meta,
                                    contacts=customer_items.contact_choices(session, item.team_id, item.plan_id))


LEVEL = Level("action_item", edit_form=edit_form)


def objective_choices(plan) -> list[tuple[str, list[tuple[str, str]]]]:
    """Objectives grouped under their strategies, for the "Objective" select."""
    return [
        (f"{n}. {s.title}", [(o.title, str(o.id)) for o in s.objectives])
        for n, s in enumerate(plan.strategies, 1)
        if s.objectives
    ]


def on_add(*, body, client, context, payload, respond) -> None:
    """From the plan's buttons: choose the objective in the form."""
    actor = actor_of(context)
    with unit_of_work(context) as session:
        plan = plans.load_plan_tree(session, actor.team_id, ui.record_id(payload.get("value")))
        plans.require_editor(plan, actor)
        groups = objective_choices(plan)
        if not groups:
            raise ValidationError("objective", "Add an objective first: action items live under objectives.")
        meta = encode_metadata(plan=plan.id, **ui.parent_of(body))
        view = modals.action_item_modal(Callback.ACTION_ITEM_FORM, objectives=groups,
                                        selected_objective=groups[0][1][0][1], metadata=meta,
                                        shared_default=plan.share_with_customer_by_default,
                                        contacts=customer_items.contact_choices(session, plan.team_id, plan.id))
    ui.open_or_push(client, context, body, view, respond)


def item_input(values: dict[str, Any]) -> ActionItemInput:
    return ActionItemInput(
        title=values.get("title") or "",
        assignee_id=values.get("assignee"),
        due_date=values.get("due_date"),
        notes=values.get("notes") or "",
        shared_with_customer=modals.shared_value(values),
    )


def owner_input(values: dict[str, Any]) -> customer_items.CustomerOwner:
    """"Customer contact" and "Follow-up" (an id that is no number is no contact: storage says so)."""
    contact = values.get(CONTACT)
    contact_id = int(contact) if isinstance(contact, str) and contact.isascii() and contact.isdigit() else (
        -1 if contact else None)
    return customer_items.CustomerOwner(contact_id=contact_id, follow_up_id=values.get(FOLLOW_UP))


def save_item(session: Session, actor: Actor, values: dict[str, Any], meta: dict[str, Any]):
    """Every field error at once (storage.customer_items checks the owner with the rest)."""
    data, owner = item_input(values), owner_input(values)
    if "item" in meta:
        return customer_items.update_item(session, actor, meta["item"], data, owner,
                                          expected_version=meta.get("version"))
    objective_id = meta.get("objective") or values.get("objective")
    if not objective_id:
        raise ValidationError("objective", "required")
    return customer_items.add_item(session, actor, ui.record_id(objective_id, what="objective"), data, owner)


def save(session: Session, actor: Actor, values: dict[str, Any], meta: dict[str, Any]) -> int:
    return save_item(session, actor, values, meta).plan_id


def on_form_submitted(ack, body, client, context, view) -> None:
    """Save (ui.save_form acks), then the DMs the change calls for (assignment, ...)."""
    saved: list[tuple[int, str | None]] = []  # (item, its new assignee if it has one now)

    def save_and_remember(session: Session, actor: Actor, values: dict[str, Any], meta: dict[str, Any]) -> int:
        before = plans.get_action_item(session, actor.team_id, meta["item"]).assignee_id if "item" in meta else None
        item = save_item(session, actor, values, meta)
        saved.append((item.id, item.assignee_id if item.assignee_id != before else None))
        return item.plan_id

    ui.save_form(ack, client, context, view, save_and_remember)
    if saved:
        item_id, assigned = saved[0]
        ui.later(context, after_saved, client=client, context=context, body=body, item_id=item_id,
                 assigned=assigned)


def after_saved(client, context, body: dict[str, Any], item_id: int, assigned: str | None) -> None:
    """After the ack: an assignee who may not see the item is told nothing, and whoever
    assigned it is told why (once: when the assignee changes); then the change's DMs."""
    actor = actor_of(context)
    if assigned and assigned != actor.user_id and person_is_external(client, context, actor.team_id, assigned):
        with unit_of_work(context) as session:
            facts = reminders.item_facts(session, [item_id]).get(item_id)
        if facts is not None and not facts.shared:
            ui.show_problem(client, body, NOT_SHARED.format(title=facts.title), title=NOT_SHARED_TITLE,
                            context=context)
    reminder_listeners.after_item_change(client, context, item_id)


def on_mark_done(*, body, client, context, payload, respond) -> None:
    """The "Mark done" button outside the plan view (App Home, `mine`)."""
    actor = actor_of(context)
    item_id = ui.record_id(payload.get("value"))
    with unit_of_work(context) as session:
        plans.set_action_item_done(session, actor, item_id, True)
    reminder_listeners.after_item_change(client, context, item_id)
    container = body.get("container") or {}
    if container.get("type") == "message" and container.get("is_ephemeral"):
        who = looking(client, context, body)
        with unit_of_work(context) as session:
            respond(replace_original=True, **home.my_items_message(session, actor, external=who.external))
    home.publish_home(client, context, actor.user_id)


def mine(*, respond, client, command, context, args) -> None:
    who = looking(client, context, command)
    with unit_of_work(context) as session:
        respond(home.my_items_message(session, who.actor, external=who.external))


SUBCOMMANDS = {"mine": mine}  # this surface's words of /accountplan


def register(app: App) -> None:
    app.action(Action.ADD_ACTION_ITEM)(acked(on_add))
    app.action(Action.MARK_DONE)(acked(on_mark_done, Answer.MESSAGE))
    app.action(Action.ITEM_MENU)(menu_listener(LEVEL))
    app.view(Callback.ACTION_ITEM_FORM)(on_form_submitted)
