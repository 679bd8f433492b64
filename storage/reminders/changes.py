"""Changes from storage.plans operations, in their transaction, and from Slack (a
person's time zone): they reset what no longer holds and mark rows to schedule again."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from storage import people
from storage.domain import Actor
from storage.models import AccountPlan, ActionItem, ItemReminder, NotificationKind, WeeklySummary
from storage.reminders.rows import (
    ASAP,
    about,
    follow_up_owner,
    in_channel,
    item_row,
    notify,
    reschedule,
    start_reminders,
    summary_row,
)


def _update_dm(session: Session, item: ActionItem, row: ItemReminder, actor: Actor,
               state: str, **extra: Any) -> None:
    """Redraw the assignee's last DM about the item, without its buttons (a customer's
    reminder in the customer channel: `in_channel`, redrawn as the channel's own)."""
    if in_channel(row.dm_channel_id):
        extra["in_channel"] = True
    notify(session, item, NotificationKind.DM_UPDATE, row.assignee_id, actor,
            channel=row.dm_channel_id, ts=row.dm_ts, state=state, **about(session, item), **extra)


def item_assigned(session: Session, actor: Actor, item: ActionItem) -> None:
    """A new action item."""
    if not item.assignee_id:
        return
    start_reminders(session, item, assigned_by=actor.user_id)
    if item.assignee_id != actor.user_id:
        notify(session, item, NotificationKind.ASSIGNED, item.assignee_id, actor)


def item_updated(session: Session, actor: Actor, item: ActionItem, *,
                 previous_assignee: str | None, previous_due: dt.date | None) -> None:
    """An edited action item: a new assignee starts over, a new due date counts anew."""
    row = item_row(session, item.id, lock=True)
    if item.assignee_id != previous_assignee:
        if previous_assignee:
            if previous_assignee != actor.user_id:
                notify(session, item, NotificationKind.UNASSIGNED, previous_assignee, actor,
                        to=item.assignee_id, **about(session, item))
            if row is not None and row.dm_ts and row.assignee_id == previous_assignee:
                _update_dm(session, item, row, actor, "reassigned", to=item.assignee_id)
        if not item.assignee_id:
            if row is not None:
                session.delete(row)
            return
        start_reminders(session, item, assigned_by=actor.user_id)
        if item.assignee_id != actor.user_id and not item.is_done:
            notify(session, item, NotificationKind.ASSIGNED, item.assignee_id, actor)
    elif item.due_date != previous_due and row is not None:
        row.due_date = item.due_date
        row.soon_sent, row.overdue_sent = False, 0
        reschedule(row)


def item_done(session: Session, actor: Actor, item: ActionItem) -> None:
    """The item's follow-up owner is told (rows.follow_up_owner: its Follow-up, else
    whoever assigned it, …)."""
    row = item_row(session, item.id, lock=True)
    plan_owner = session.scalar(select(AccountPlan.owner_id).where(AccountPlan.id == item.plan_id))
    assigner = follow_up_owner(item.follow_up_id, row.assigned_by if row is not None else None,
                               item.created_by, plan_owner)
    if assigner and assigner != actor.user_id:
        notify(session, item, NotificationKind.DONE, assigner, actor)
    if row is not None:
        if row.dm_ts:
            _update_dm(session, item, row, actor, "done")
        row.snoozed_until = None
        row.needs_schedule = False
        row.next_run_at = None
        row.locked_until = None


def item_reopened(session: Session, actor: Actor, item: ActionItem) -> None:
    row = item_row(session, item.id)
    if row is None:
        if item.assignee_id:
            start_reminders(session, item, assigned_by=item.created_by)
        return
    reschedule(row)


def item_deleting(session: Session, actor: Actor, item: ActionItem) -> None:
    """Before the item goes (its ItemReminder goes with it, ON DELETE CASCADE)."""
    row = item_row(session, item.id, lock=True)
    if row is not None and row.dm_ts and not item.is_done:
        _update_dm(session, item, row, actor, "deleted")


def plan_changed(session: Session, plan_id: int) -> None:
    """The plan's status or lead time changed: every item's next reminder moves."""
    items = select(ActionItem.id).where(ActionItem.plan_id == plan_id).scalar_subquery()
    _schedule_again(session, ItemReminder, ItemReminder.action_item_id.in_(items))


def _schedule_again(session: Session, model: type[ItemReminder | WeeklySummary], *where) -> None:
    """The rows `where` picks are worked out again at once, in one UPDATE. Unlike
    rows.reschedule, a lease stays: a DM on its way is still recorded."""
    session.execute(
        update(model).where(*where).values(needs_schedule=True, next_run_at=ASAP)
        .execution_options(synchronize_session=False)
    )


def reschedule_person(session: Session, team_id: str, user_id: str) -> None:
    """Their time zone changed: their pending reminders and summary move with it."""
    reschedule_people(session, team_id, [user_id])


def reschedule_people(session: Session, team_id: str, user_ids: Iterable[str]) -> None:
    """`reschedule_person` for many people of one workspace. A lease stays: a DM on its
    way is still recorded (it was right when it left), and the row is then due at once."""
    users = sorted(set(user_ids))
    for start in range(0, len(users), people.CHUNK):
        chunk = users[start:start + people.CHUNK]
        _schedule_again(session, ItemReminder, ItemReminder.team_id == team_id,
                        ItemReminder.assignee_id.in_(chunk), ItemReminder.next_run_at.is_not(None))
        _schedule_again(session, WeeklySummary, WeeklySummary.team_id == team_id,
                        WeeklySummary.user_id.in_(chunk), WeeklySummary.muted.is_(False))


def is_reminded(session: Session, team_id: str, user_id: str) -> bool:
    """Whether we keep anything for this person (their time zone is worth keeping)."""
    return people.get(session, team_id, user_id) is not None or summary_row(session, team_id, user_id) is not None


def set_timezone(session: Session, team_id: str, user_id: str, name: str | None, *,
                 now: dt.datetime) -> bool:
    """What Slack says someone's time zone is; True (and reminders moved) if it changed."""
    changed = people.record_timezone(session, team_id, user_id, name, now=now)
    if changed:
        reschedule_person(session, team_id, user_id)
    return changed


def set_timezones(session: Session, team_id: str, zones: dict[str, str | None], *,
                  now: dt.datetime) -> int:
    """`set_timezone` for many people of one workspace (a users.list page); how many
    changed."""
    changed = people.record_timezones(session, team_id, zones, now=now)
    reschedule_people(session, team_id, changed)
    return len(changed)
