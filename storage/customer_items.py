"""Action items the customer owns, and the plan's "Customer channel".

An item is the customer's when its assignee is a person from another organisation (a
Slack Connect user of the plan's shared channel: storage.people keeps who is), or when
it belongs to a customer contact without Slack (`customer_contact_id`, a customer-side
stakeholder of the plan with no Slack user). Such an item has a follow-up owner
(`follow_up_id`, a member of the plan's team; the item form stores whoever saves it when
"Follow-up" is left empty; storage.reminders.follow_up_owner is the one rule for items
without one): told when the customer marks it done, and reminded in place of a contact
without Slack. For a
contact without Slack the item's assignee IS its follow-up owner, so the reminders,
`mine` and the weekly summary of the team member who follows it up list it.

Reminders of a Slack Connect user's items go to the plan's customer channel
(bot/scheduler/customer_reminders.py); "Mark done" and "Need more time" there are for
the item's own customer person and the plan's team only (storage.plans.permissions
.may_act_on_item, the rule every path uses).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage import people, plans, reminders
from storage.domain import Actor, StakeholderSide
from storage.errors import ValidationError
from storage.models import AccountPlan, ActionItem, Objective, Stakeholder
from storage.plans.permissions import get_editable_plan, require_item_actor
from storage.plans.reads import get_plan, get_record
from storage.plans.rules import (
    ActionItemInput,
    FieldErrors,
    check_due_date,
    clean_user_id,
    is_id,
    item_fields,
)
from storage.plans.writes import check_version, flush_or_conflict, lock_plan, log_change

@dataclass(frozen=True)
class _Dates:
    start_date: dt.date
    end_date: dt.date


CHANNEL_ID_MAX = 32
CONTACT_FIELD = "customer_contact"
FOLLOW_UP_FIELD = "follow_up"
BOTH_OWNERS = "choose either a Slack user or a customer contact without Slack, not both"
NO_OWNER = "required: a Slack user, or a customer contact without Slack"
NOT_A_CONTACT = "pick one of this plan's customer contacts without Slack"
NOT_ON_TEAM = "must be the plan's owner or on its team"


# ---------------------------------------------------------------------------
# The plan's customer channel


def clean_channel_id(value: str | None, field_name: str = "customer_channel") -> str | None:
    """A Slack conversation id (C…, G…), or None when none is chosen."""
    channel = (value or "").strip()
    if not channel:
        return None
    if len(channel) > CHANNEL_ID_MAX or not (channel.isascii() and channel.isalnum()) \
            or channel[0] not in "CG":
        raise ValidationError(field_name, "must be a Slack channel such as C0123ABCD")
    return channel


def set_customer_channel(session: Session, actor: Actor, plan_id: int, channel_id: str | None) -> AccountPlan:
    """The plan form's "Customer channel" (None: none). Owner and team only."""
    plan = get_editable_plan(session, actor, plan_id)
    channel = clean_channel_id(channel_id)
    if channel != plan.customer_channel_id:
        plan.customer_channel_id = channel
        flush_or_conflict(session)
        log_change(session, actor, plan.id, "plan", plan.id, "updated",
                   "set the customer channel" if channel else "removed the customer channel")
    return plan


# ---------------------------------------------------------------------------
# Who owns an item


@dataclass(frozen=True)
class CustomerOwner:
    """The item form's "Customer contact" (a stakeholder id) and "Follow-up" (a user)."""

    contact_id: int | None = None
    follow_up_id: str | None = None


def contact_choices(session: Session, team_id: str, plan_id: int) -> list[tuple[str, str]]:
    """(label, stakeholder id) of the plan's customer-side stakeholders without Slack."""
    rows = session.execute(
        select(Stakeholder.id, Stakeholder.name, Stakeholder.title).where(
            Stakeholder.team_id == team_id, Stakeholder.plan_id == plan_id,
            Stakeholder.side == StakeholderSide.CUSTOMER, Stakeholder.slack_user_id.is_(None))
        .order_by(Stakeholder.position, Stakeholder.id)
    ).all()
    return [(f"{name} ({title})" if title else name, str(sid)) for sid, name, title in rows]


def _contact(session: Session, plan: AccountPlan, contact_id) -> Stakeholder | None:
    """The plan's customer contact without Slack, or None if `contact_id` is not one."""
    if not is_id(contact_id):
        return None
    found = session.get(Stakeholder, contact_id)
    if (found is None or found.team_id != plan.team_id or found.plan_id != plan.id
            or found.side != StakeholderSide.CUSTOMER or found.slack_user_id is not None):
        return None
    return found


def _customer_person(session: Session, plan: AccountPlan, assignee_id: str | None) -> bool:
    """The assignee is a Slack Connect user: not on the plan's team, and not known to
    be of the workspace (storage.people; not known yet counts as another organisation)."""
    user = (assignee_id or "").strip()
    if not user or user == plan.owner_id or user in plan.member_ids:
        return False
    return people.organisations(session, [(plan.team_id, user)])[(plan.team_id, user)] is not False


def _owner_fields(session: Session, actor: Actor, plan: AccountPlan, data: ActionItemInput,
                  owner: CustomerOwner) -> tuple[ActionItemInput, dict]:
    """Every field of the item form checked together (the item's own and the owner's),
    raised at once; returns the input to save (for a contact without Slack, assigned to
    its follow-up owner) and the owner columns."""
    errors = FieldErrors()
    contact = None
    if owner.contact_id is not None:
        contact = _contact(session, plan, owner.contact_id)
        if contact is None:
            errors.add(CONTACT_FIELD, NOT_A_CONTACT)
    if owner.contact_id is not None and (data.assignee_id or "").strip():
        errors.add("assignee", BOTH_OWNERS)
    elif owner.contact_id is None and not (data.assignee_id or "").strip():
        errors.add("assignee", NO_OWNER)
    follow_up = errors.check(clean_user_id, owner.follow_up_id, FOLLOW_UP_FIELD, required=False)
    if follow_up and follow_up != plan.owner_id and follow_up not in plan.member_ids:
        errors.add(FOLLOW_UP_FIELD, NOT_ON_TEAM)
    if owner.contact_id is not None:
        follow_up = follow_up or actor.user_id
        data = dataclasses.replace(data, assignee_id=follow_up)
    elif not follow_up and _customer_person(session, plan, data.assignee_id):
        follow_up = actor.user_id  # "Follow-up … (empty: you)"
    errors.check(item_fields, plan, data)
    errors.done()
    return data, dict(customer_contact_id=contact.id if contact else None, follow_up_id=follow_up)


def _set_owner(session: Session, item: ActionItem, columns: dict) -> ActionItem:
    changed = False
    for name, value in columns.items():
        if getattr(item, name) != value:
            setattr(item, name, value)
            changed = True
    if changed:
        flush_or_conflict(session)
    return item


def add_item(session: Session, actor: Actor, objective_id: int, data: ActionItemInput,
             owner: CustomerOwner = CustomerOwner()) -> ActionItem:
    """The item form's save of a new item, with its owner (see the module docstring)."""
    objective = get_record(session, Objective, actor.team_id, objective_id, "objective")
    plan = get_editable_plan(session, actor, objective.plan_id)
    data, columns = _owner_fields(session, actor, plan, data, owner)
    item = plans.add_action_item(session, actor, objective.id, data)
    return _set_owner(session, item, columns)


def update_item(session: Session, actor: Actor, item_id: int, data: ActionItemInput,
                owner: CustomerOwner = CustomerOwner(), *, expected_version: int | None = None) -> ActionItem:
    """The item form's save of an edit, with its owner."""
    item = get_record(session, ActionItem, actor.team_id, item_id, "action item")
    plan = get_editable_plan(session, actor, item.plan_id)
    check_version(item, expected_version)
    data, columns = _owner_fields(session, actor, plan, data, owner)
    item = plans.update_action_item(session, actor, item.id, data, expected_version=expected_version)
    return _set_owner(session, item, columns)


# ---------------------------------------------------------------------------
# "Need more time"


def check_item_actor(session: Session, actor: Actor, item_id: int) -> ActionItem:
    """The item, if the actor may act on it (its own customer person, or the plan's
    owner and team); PermissionDenied naming nothing otherwise, NotFound when gone."""
    item = get_record(session, ActionItem, actor.team_id, item_id, "action item")
    require_item_actor(session, get_plan(session, actor.team_id, item.plan_id), item, actor)
    return item


def more_time(session: Session, actor: Actor, item_id: int, new_due: dt.date | None, *,
              today: dt.date) -> ActionItem:
    """"Need more time": a new due date within the plan, not before `today` (the
    person's own day) nor before the current due date (ValidationError "due_date"),
    asked by the item's own customer person or the plan's team. Its reminders count
    again from the new date."""
    item = check_item_actor(session, actor, item_id)
    start, end = lock_plan(session, item.plan_id)
    session.refresh(item)
    if item.is_done:
        raise ValidationError("due_date", "this action item is done already")
    if new_due is None:
        raise ValidationError("due_date", "required")
    check_due_date(_Dates(start, end), new_due)
    if new_due < today:
        raise ValidationError("due_date", f"must be today ({today.isoformat()}) or later")
    if item.due_date is not None and new_due < item.due_date:
        raise ValidationError("due_date", f"more time means a date after the current one "
                                          f"({item.due_date.isoformat()})")
    previous = item.due_date
    if new_due == previous:
        return item
    item.due_date = new_due
    flush_or_conflict(session)
    log_change(session, actor, item.plan_id, "action_item", item.id, "updated",
               f"moved “{item.title}” to {new_due.isoformat()} (more time asked)")
    reminders.item_updated(session, actor, item, previous_assignee=item.assignee_id, previous_due=previous)
    return item


def item_or_none(session: Session, team_id: str, item_id: int) -> reminders.ItemFacts | None:
    """What a channel message about the item says (None: the item is gone)."""
    if not is_id(item_id):
        return None
    facts = reminders.item_facts(session, [item_id]).get(item_id)
    if facts is None or facts.team_id != team_id:
        return None
    return facts


__all__ = [
    "BOTH_OWNERS",
    "CONTACT_FIELD",
    "FOLLOW_UP_FIELD",
    "NO_OWNER",
    "NOT_A_CONTACT",
    "NOT_ON_TEAM",
    "CustomerOwner",
    "add_item",
    "check_item_actor",
    "clean_channel_id",
    "contact_choices",
    "item_or_none",
    "more_time",
    "set_customer_channel",
    "update_item",
]
