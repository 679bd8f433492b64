"""Changing action items: add, edit, mark done or reopen, delete; each change tells
storage.reminders in the same transaction."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage import reminders
from storage.domain import Actor
from storage.errors import NotFound
from storage.models import ActionItem, ItemStatus, Objective, utcnow
from storage.plans.part_edits import editable_part, insert_part, save_edit
from storage.plans.permissions import require_item_actor
from storage.plans.reads import get_plan, get_record
from storage.plans.rules import ActionItemInput, item_fields
from storage.plans.writes import (
    check_version,
    flush_or_conflict,
    lock_plan,
    log_change,
    next_position,
    remove_child,
    still_there,
)


@dataclass(frozen=True)
class _Dates:
    start_date: dt.date
    end_date: dt.date


def add_action_item(
    session: Session, actor: Actor, objective_id: int, data: ActionItemInput
) -> ActionItem:
    objective, plan = editable_part(session, actor, "objective", objective_id)
    # The plan's dates as they are now (someone may be changing them), checked with
    # every other field.
    dates = _Dates(*lock_plan(session, plan.id))
    fields = item_fields(dates, data)
    fields.setdefault("shared_with_customer", plan.share_with_customer_by_default)
    still_there(session, Objective, objective.id, "objective")
    item = ActionItem(
        team_id=actor.team_id,
        plan_id=plan.id,
        objective_id=objective.id,
        position=next_position(session, ActionItem, ActionItem.objective_id, objective.id),
        created_by=actor.user_id,
        **fields,
    )
    insert_part(session, actor, item, "action_item")
    reminders.item_assigned(session, actor, item)
    return item


def update_action_item(
    session: Session,
    actor: Actor,
    item_id: int,
    data: ActionItemInput,
    *,
    expected_version: int | None = None,
) -> ActionItem:
    item, plan = editable_part(session, actor, "action_item", item_id)
    check_version(item, expected_version)
    previous_assignee, previous_due = item.assignee_id, item.due_date
    fields = item_fields(_Dates(*lock_plan(session, plan.id)), data)
    save_edit(session, actor, item, "action_item", fields)
    reminders.item_updated(session, actor, item, previous_assignee=previous_assignee,
                           previous_due=previous_due)
    return item


def set_action_item_done(
    session: Session, actor: Actor, item_id: int, done: bool = True
) -> ActionItem:
    """Mark done (or reopen): `mark_action_item` without saying whether it changed."""
    return mark_action_item(session, actor, item_id, done)[0]


def mark_action_item(
    session: Session, actor: Actor, item_id: int, done: bool = True
) -> tuple[ActionItem, bool]:
    """Mark done (or reopen); returns the item and whether this call changed it.

    The assignee may do this even when not on the plan's team (a customer only while
    the item is shown to customers: permissions.may_act_on_item). Asking for the state the
    item has already (a second click, or two people clicking at once) changes nothing,
    logs nothing and succeeds, so the caller can say "already done". The state is read
    under the plan's lock (see lock_plan): of two simultaneous clicks the second sees
    the first one's. An edit by someone else since this session read the item is still
    a Conflict.
    """
    item = get_record(session, ActionItem, actor.team_id, item_id, "action item")
    plan = get_plan(session, actor.team_id, item.plan_id)
    require_item_actor(session, plan, item, actor)
    lock_plan(session, plan.id)
    now = session.execute(
        select(ActionItem.status, ActionItem.version).where(ActionItem.id == item.id)
    ).first()
    if now is None:
        raise NotFound("That action item was deleted meanwhile.")
    if (now.status == ItemStatus.DONE) == done:
        if now.version != item.version:
            session.refresh(item)  # someone else's click: show the item as it is
        return item, False
    check_version(item, now.version)
    if done:
        item.status, item.done_at, item.done_by = ItemStatus.DONE, utcnow(), actor.user_id
    else:
        item.status, item.done_at, item.done_by = ItemStatus.OPEN, None, None
    flush_or_conflict(session)
    verb = "completed" if done else "reopened"
    log_change(session, actor, plan.id, "action_item", item.id, verb, f"{verb} “{item.title}”")
    if done:
        reminders.item_done(session, actor, item)
    else:
        reminders.item_reopened(session, actor, item)
    return item, True


def delete_action_item(session: Session, actor: Actor, item_id: int) -> None:
    item, _ = editable_part(session, actor, "action_item", item_id)
    # The plan before the item's reminder row, in the order every change takes them
    # (Mark done does too): two requests never wait for each other's second lock.
    lock_plan(session, item.plan_id)
    reminders.item_deleting(session, actor, item)
    remove_child(session, actor, item, "action_item", f"deleted action item “{item.title}”")
