"""What people choose about their reminders: a plan's lead time (its owner), a snooze
(the assignee), muting the weekly summary."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from storage import people
from storage.domain import LEAD_DAY_CHOICES, Actor, lead_days_label
from storage.errors import NotFound, PermissionDenied, ValidationError
from storage.models import AccountPlan, ActionItem, ChangeLogEntry, ItemReminder, WeeklySummary
from storage.reminder_calendar import snooze_until, zone
from storage.reminders.changes import plan_changed
from storage.reminders.rows import (
    SNOOZE_DAYS,
    ensure_summary,
    item_row,
    reschedule,
    start_reminders,
    summary_row,
)


def set_lead_days(session: Session, actor: Actor, plan_id: int, days: int) -> AccountPlan:
    """How many days before the due date the plan's assignees are first reminded."""
    plan = session.scalars(
        select(AccountPlan).where(AccountPlan.id == plan_id, AccountPlan.team_id == actor.team_id)
    ).one_or_none()
    if plan is None:
        raise NotFound(f"No plan with id {plan_id} in this workspace.")
    if actor.external or actor.user_id != plan.owner_id:
        raise PermissionDenied("Only the plan's owner can change when its reminders go out.")
    if days not in LEAD_DAY_CHOICES:
        raise ValidationError("reminder_lead_days",
                              f"must be one of {', '.join(map(str, LEAD_DAY_CHOICES))} days")
    if plan.reminder_lead_days == days:
        return plan
    # Not through the ORM: this is no edit of the plan's text, and someone's open
    # "Edit plan" form (which checks the version) must still save.
    session.execute(
        update(AccountPlan).where(AccountPlan.id == plan.id)
        .values(reminder_lead_days=days, updated_at=AccountPlan.updated_at)
        .execution_options(synchronize_session=False)
    )
    session.add(ChangeLogEntry(
        team_id=actor.team_id, plan_id=plan.id, actor_id=actor.user_id, entity="plan",
        entity_id=plan.id, action="reminders",
        summary=f"set first reminders to {lead_days_label(days).lower()} the due date",
    ))
    plan_changed(session, plan.id)
    session.expire(plan)
    return plan


def snooze(session: Session, actor: Actor, item_id: int, days: int, *, now: dt.datetime,
           default_tz: str) -> ItemReminder:
    """Quiet until 09:00 local `days` days from now (a working day), then one reminder."""
    if days not in SNOOZE_DAYS:
        raise ValidationError("snooze", "snooze for 1 day or 1 week")
    item = session.scalars(
        select(ActionItem).where(ActionItem.id == item_id, ActionItem.team_id == actor.team_id)
    ).one_or_none()
    if item is None:
        raise NotFound("That action item is gone: it was deleted.")
    if item.assignee_id != actor.user_id:
        raise PermissionDenied("Only the assignee can snooze the reminders of an action item.")
    if item.is_done:
        raise ValidationError("snooze", "This action item is done already.")
    row = item_row(session, item.id) or start_reminders(session, item, assigned_by=item.created_by)
    tz = zone(people.timezone_names(session, [(item.team_id, actor.user_id)]).get(
        (item.team_id, actor.user_id)), default_tz)
    row.snoozed_until = snooze_until(now, days, tz)
    row.needs_schedule = False
    row.next_run_at = row.snoozed_until
    row.locked_until = row.attempted_at = None
    session.flush()
    return row


def summary_muted(session: Session, team_id: str, user_id: str) -> bool:
    row = summary_row(session, team_id, user_id)
    return bool(row and row.muted)


def set_summary_muted(session: Session, actor: Actor, muted: bool) -> WeeklySummary:
    row = summary_row(session, actor.team_id, actor.user_id)
    if row is None:
        # INSERT … ON CONFLICT DO NOTHING, then read: of two saves at once (two clicks,
        # or the scheduler starting their summary) neither fails, both end on one row.
        ensure_summary(session, actor.team_id, actor.user_id)
        row = summary_row(session, actor.team_id, actor.user_id)
    row.muted = muted
    if muted:
        row.needs_schedule, row.next_run_at, row.locked_until = False, None, None
    else:
        reschedule(row)
    session.flush()
    return row
