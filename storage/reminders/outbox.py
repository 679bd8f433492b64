"""The outbox: one-off DMs about action items (assigned, unassigned, done, updates of
an earlier DM), dropped when overtaken, and what their sending changes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage import people
from storage.models import ItemReminder, Notification, NotificationKind
from storage.reminder_calendar import Cadence, local_day, zone
from storage.reminders.rows import (
    WITHHELD,
    ItemFacts,
    item_facts,
    item_row,
    redraw_if_overtaken,
    reschedule,
    sent_of,
)
from storage.reminders.scheduling import (
    Outgoing,
    delivered,
    held_row,
    held_rows,
    zones_of,
)


@dataclass(frozen=True)
class DueNotification(Outgoing):
    kind: NotificationKind
    actor_id: str
    facts: ItemFacts | None  # None: the item is gone
    details: dict[str, Any]
    today: dt.date  # the recipient's local date
    # A DM update of a DM that lists several items: the others it still stands for.
    group: tuple[ItemFacts, ...] = ()
    item_id: int | None = None
    external: bool | None = None  # see storage.reminders.scheduling


def _still_true(note: Notification, item: ItemFacts | None) -> bool:
    """A notification whose news was overtaken before it went out is dropped."""
    details = note.details or {}
    if note.kind == NotificationKind.ASSIGNED:
        return item is not None and not item.done and item.assignee_id == note.user_id
    if note.kind == NotificationKind.UNASSIGNED:
        return item is None or item.assignee_id != note.user_id
    if note.kind == NotificationKind.DONE:
        return item is not None and item.done
    state = details.get("state")
    if not (details.get("channel") and details.get("ts")):
        return False
    if state == "done":
        return item is not None and item.done
    if state == "deleted":
        return item is None
    return item is None or item.assignee_id != note.user_id  # reassigned


def prepare_notifications(session: Session, row_ids: Sequence[int], *, now: dt.datetime,
                          default_tz: str, held_until: dt.datetime) -> list[DueNotification]:
    rows = held_rows(session, Notification, row_ids, held_until)
    facts = item_facts(session, [r.action_item_id for r in rows if r.action_item_id])
    due = []
    for row in rows:
        item = facts.get(row.action_item_id) if row.action_item_id else None
        if not _still_true(row, item):
            row.next_run_at, row.locked_until, row.last_error = None, None, "overtaken"
            continue
        due.append((row, item))
    pairs = [(r.team_id, r.user_id) for r, _ in due]
    channels, outside = people.dm_channels(session, pairs), people.organisations(session, pairs)
    zones = zones_of(session, pairs, default_tz)
    return [
        DueNotification(row.id, row.team_id, row.user_id, f"n{row.id}", row.attempted_at,
                        channels[(row.team_id, row.user_id)], row.kind, row.actor_id, item,
                        dict(row.details or {}), local_day(now, zones[(row.team_id, row.user_id)]),
                        _group_of(session, row), row.action_item_id, outside[(row.team_id, row.user_id)])
        for row, item in due
    ]


def record_notification_withheld(session: Session, row_id: int, *, held_until: dt.datetime) -> bool:
    """Not sent on purpose: its person belongs to another organisation and the item is
    not shown to customers (or is gone). Done with, like an overtaken one."""
    row = held_row(session, Notification, row_id, held_until)
    if row is None:
        return False
    row.next_run_at = row.attempted_at = row.locked_until = None
    row.failures, row.last_error = 0, WITHHELD
    return True


def dm_group(session: Session, team_id: str, user_id: str, channel: str, ts: str) -> list[int]:
    """The items whose latest DM to `user_id` is this one (a DM may list several)."""
    return list(session.scalars(
        select(ItemReminder.action_item_id).where(
            ItemReminder.team_id == team_id, ItemReminder.assignee_id == user_id,
            ItemReminder.dm_channel_id == channel, ItemReminder.dm_ts == ts)
        .order_by(ItemReminder.action_item_id)
    ))


def _group_of(session: Session, note: Notification) -> tuple[ItemFacts, ...]:
    """For a DM update: the other items the DM still lists, if it lists several (the
    redraw keeps them, and strikes only this one). Items reminded again since in a newer
    DM, reassigned or deleted are no longer among them."""
    details = note.details or {}
    if note.kind != NotificationKind.DM_UPDATE or not (details.get("channel") and details.get("ts")):
        return ()
    others = [i for i in dm_group(session, note.team_id, note.user_id, details["channel"], details["ts"])
              if i != note.action_item_id]
    facts = item_facts(session, others)
    return tuple(facts[i] for i in others if i in facts)


def latest_dm(session: Session, item_id: int) -> tuple[str, str] | None:
    """(channel, ts) of the last DM to the assignee about the item: what "done" redraws."""
    row = item_row(session, item_id)
    if row is None or not (row.dm_channel_id and row.dm_ts):
        return None
    return row.dm_channel_id, row.dm_ts


def assignee_of(session: Session, item_id: int) -> tuple[str, str] | None:
    """(team, user) the item's reminders go to."""
    row = item_row(session, item_id)
    return (row.team_id, row.assignee_id) if row is not None else None


def record_notification_sent(session: Session, row_id: int, *, held_until: dt.datetime,
                             now: dt.datetime, channel: str | None, ts: str | None,
                             default_tz: str = "UTC") -> bool:
    row = held_row(session, Notification, row_id, held_until)
    if row is None:
        return False
    delivered(row, now)
    row.next_run_at = None
    if row.kind == NotificationKind.ASSIGNED and channel and ts:
        # First: a person's row before their reminders, the order set_timezone locks them in.
        people.record_dm_channel(session, row.team_id, row.user_id, channel)
        reminder = item_row(session, row.action_item_id, lock=True)
        if reminder is not None and reminder.assignee_id == row.user_id:
            # The DM that "Mark done" redraws, wherever it is pressed.
            reminder.dm_channel_id, reminder.dm_ts = channel, ts
            _assignment_told(session, reminder, now, default_tz)
        redraw_if_overtaken(session, row.action_item_id, row.user_id, channel, ts)
    return True


def _assignment_told(session: Session, row: ItemReminder, now: dt.datetime, default_tz: str) -> None:
    """The assignment DM just went out: it is that day's DM about the item (no reminder
    the same local day), and once the due-soon day has come it is the due-soon reminder
    too (it says "due tomorrow" and has the same buttons). A pass about to send the
    row's reminder loses its lease (begin_attempt stops it); one already on its way is
    not recorded, and the due-soon reminder marked sent here is not sent again."""
    if row.snoozed_until is not None:
        return  # a snooze asked for its own reminder
    item = item_facts(session, [row.action_item_id]).get(row.action_item_id)
    if item is None or not item.reminding:
        return
    tz = zone(people.timezone_names(session, [(row.team_id, row.assignee_id)]).get(
        (row.team_id, row.assignee_id)), default_tz)
    cadence, today = Cadence(item.due_date, item.lead_days, tz), local_day(now, tz)
    soon_day = cadence.soon_day
    if sent_of(row).soon_pending and soon_day is not None and soon_day <= today <= item.due_date:
        row.soon_sent = True
    row.last_sent_at = now
    reschedule(row)
