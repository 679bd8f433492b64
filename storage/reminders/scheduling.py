"""The scheduler's side of reminders and weekly summaries: rows for plans written in
bulk, what is due now (prepare_*), and what was sent or failed (record_*), only while
the pass holds the row's lease (storage.claims)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from storage import people
from storage.models import AccountPlan, ActionItem, ItemReminder, ItemStatus, WeeklySummary
from storage.reminder_calendar import (
    Cadence,
    Kind,
    after_sending,
    due_now,
    local_day,
    next_at,
    next_monday_at_nine,
    summary_due,
    zone,
)
from storage.reminders.rows import (
    ASAP,
    BACKOFF_MAX,
    MIN_STEP,
    SUMMARY_ITEMS_MAX,
    WITHHELD,
    ItemFacts,
    all_open_items_shown,
    item_facts,
    open_items_of,
    redraw_if_overtaken,
    sent_of,
)
from storage.upsert import insert_missing


# ---------------------------------------------------------------------------
# Plans written in bulk, time zones to fetch


def sync_new_plans(session: Session, *, limit: int = 20) -> int:
    """Reminder rows for the open assigned items of plans the scheduler has not seen
    (imported or copied in bulk, or older than reminders); returns how many plans."""
    plan_ids = list(session.scalars(
        select(AccountPlan.id).where(AccountPlan.reminders_synced.is_(False))
        .order_by(AccountPlan.id).limit(limit).with_for_update(skip_locked=True)
    ))
    if not plan_ids:
        return 0
    items = session.execute(
        select(ActionItem.id, ActionItem.team_id, ActionItem.assignee_id, ActionItem.due_date,
               func.coalesce(ActionItem.created_by, AccountPlan.owner_id))
        .join(AccountPlan, AccountPlan.id == ActionItem.plan_id)
        .where(ActionItem.plan_id.in_(plan_ids), ActionItem.status == ItemStatus.OPEN,
               ActionItem.assignee_id.is_not(None))
    ).all()
    insert_missing(session, ItemReminder, [
        dict(action_item_id=item_id, team_id=team_id, assignee_id=assignee, assigned_by=creator,
             due_date=due, soon_sent=False, overdue_sent=0, needs_schedule=True, next_run_at=ASAP,
             sends=0, failures=0, last_error="")
        for item_id, team_id, assignee, due, creator in items
    ], keys=("action_item_id",))
    assignees = sorted({(team_id, assignee) for _, team_id, assignee, _, _ in items})
    insert_missing(session, WeeklySummary, [
        dict(team_id=team_id, user_id=user_id, muted=False, needs_schedule=True, next_run_at=ASAP,
             sends=0, failures=0, last_error="")
        for team_id, user_id in assignees
    ], keys=("team_id", "user_id"))
    people.ensure(session, assignees)
    session.execute(
        update(AccountPlan).where(AccountPlan.id.in_(plan_ids))
        .values(reminders_synced=True, updated_at=AccountPlan.updated_at)
        .execution_options(synchronize_session=False)
    )
    return len(plan_ids)


def people_needing_timezones(session: Session, *, now: dt.datetime, limit: int = 50) -> list[tuple[str, str]]:
    """People we remind whose time zone is unknown or stale (storage.people)."""
    return people.stale(session, now=now, limit=limit)


# ---------------------------------------------------------------------------
# What to send now, and what was sent


@dataclass(frozen=True)
class Outgoing:
    """A DM a pass holds the lease to send."""

    row_id: int
    team_id: str
    user_id: str
    key: str  # names the DM, to look for it when an attempt ended unknown
    maybe_sent_since: dt.datetime | None  # an attempt began then and its outcome is unknown
    dm_channel: str | None


# `external` of the DMs about action items: the person belongs to another organisation
# (None: Slack not asked yet), so a DM to them may tell only of items shown to
# customers (ItemFacts.shared).


@dataclass(frozen=True)
class DueReminder(Outgoing):
    kind: Kind
    facts: ItemFacts  # as prepared: a change since then clears the lease, and nothing is recorded
    assigned_by: str | None
    today: dt.date  # the assignee's local date
    timezone: str  # the zone the reminder was worked out in
    external: bool | None = None


@dataclass(frozen=True)
class DueSummary(Outgoing):
    items: list[ItemFacts]
    more: int
    today: dt.date
    timezone: str
    external: bool | None = None
    all_shown: bool = True  # every open item of theirs is shown to customers, listed or not


def held_rows(session: Session, model, ids: Sequence[int], held_until: dt.datetime) -> list:
    """The claimed rows this pass still holds (a change since the claim cleared the lease)."""
    return list(session.scalars(
        select(model).where(model.id.in_(list(ids)), model.locked_until == held_until).order_by(model.id)
    ))


def _rest(row) -> None:
    """Nothing to send, now or later (until something changes)."""
    row.next_run_at = None
    row.needs_schedule = False
    row.locked_until = None
    if isinstance(row, ItemReminder):
        row.snoozed_until = None


def _later(row, when: dt.datetime | None, now: dt.datetime) -> None:
    row.next_run_at = max(when, now + MIN_STEP) if when is not None else None
    row.locked_until = None


def zones_of(session: Session, pairs: Iterable[tuple[str, str]], default_tz: str):
    names = people.timezone_names(session, pairs)
    return {pair: zone(name, default_tz) for pair, name in names.items()}


def prepare_item_reminders(session: Session, row_ids: Sequence[int], *, now: dt.datetime,
                           default_tz: str, held_until: dt.datetime) -> list[DueReminder]:
    rows = held_rows(session, ItemReminder, row_ids, held_until)
    facts = item_facts(session, [r.action_item_id for r in rows])
    zones = zones_of(session, [(r.team_id, r.assignee_id) for r in rows], default_tz)
    due: list[tuple[ItemReminder, ItemFacts, Kind]] = []
    for row in rows:
        item = facts.get(row.action_item_id)
        if item is None or not item.assignee_id:
            session.delete(row)
            continue
        if item.assignee_id != row.assignee_id:  # changed past the hooks: start over
            row.assignee_id, row.soon_sent, row.overdue_sent, row.snoozed_until = item.assignee_id, False, 0, None
            row.dm_channel_id = row.dm_ts = None
            row.needs_schedule = True
        if item.due_date != row.due_date:
            row.due_date, row.soon_sent, row.overdue_sent = item.due_date, False, 0
            row.needs_schedule = True
        if not item.reminding:
            _rest(row)
            continue
        tz = zones[(row.team_id, row.assignee_id)]
        cadence, sent = Cadence(item.due_date, item.lead_days, tz), sent_of(row)
        # Scheduled or not, what is due now goes now (a missed slot caught up: due_now).
        row.needs_schedule = False
        kind = due_now(cadence, sent, now)
        if kind is None:
            _later(row, next_at(cadence, sent, not_before=now), now)
            continue
        due.append((row, item, kind))
    pairs = [(r.team_id, r.assignee_id) for r, _, _ in due]
    channels, outside = people.dm_channels(session, pairs), people.organisations(session, pairs)
    return [
        DueReminder(row.id, row.team_id, row.assignee_id, f"r{row.id}-{row.sends}", row.attempted_at,
                    channels[(row.team_id, row.assignee_id)], kind, item, row.assigned_by,
                    local_day(now, zones[(row.team_id, row.assignee_id)]),
                    zones[(row.team_id, row.assignee_id)].key, outside[(row.team_id, row.assignee_id)])
        for row, item, kind in due
    ]


def held_row(session: Session, model, row_id: int, held_until: dt.datetime):
    return session.scalars(
        select(model).where(model.id == row_id, model.locked_until == held_until)
    ).one_or_none()


def delivered(row, now: dt.datetime) -> None:
    """The DM of an outbox row (a reminder, a summary, a check-in) went out at `now`:
    counted, its failures forgotten and its lease given back."""
    row.sends = (row.sends or 0) + 1
    row.last_sent_at = now
    row.attempted_at = None
    row.failures = 0
    row.last_error = ""
    row.locked_until = None


def record_reminder_sent(session: Session, due: DueReminder, *, held_until: dt.datetime,
                         now: dt.datetime, channel: str, ts: str, dm: bool = True) -> bool:
    """False: the row changed (or the lease ran out) while the DM went out; the new
    state stands (and the DM is redrawn if it was overtaken). `dm=False`: it went to the
    plan's customer channel (a customer-owned item), not to the person's DM; it is
    still the message "done" redraws."""
    if dm and channel != due.dm_channel:
        # First: a person's row before their reminders, the order set_timezone locks them in.
        people.record_dm_channel(session, due.team_id, due.user_id, channel)
    row = session.scalars(select(ItemReminder).where(ItemReminder.id == due.row_id).with_for_update()).one_or_none()
    if row is None or row.locked_until != held_until:
        if row is not None:
            redraw_if_overtaken(session, row.action_item_id, row.assignee_id, channel, ts)
        return False
    cadence, sent = _given(row, due, now)
    delivered(row, now)
    row.dm_channel_id, row.dm_ts = channel, ts
    # needs_schedule: its plan or its person's time zone changed while the DM went out.
    row.next_run_at = ASAP if row.needs_schedule else next_at(cadence, sent, not_before=now)
    return True


def _given(row: ItemReminder, due: DueReminder, now: dt.datetime):
    """The reminder `due` counts as given at `now`: (cadence, what went out)."""
    cadence = Cadence(due.facts.due_date, due.facts.lead_days, zone(due.timezone))
    sent = after_sending(sent_of(row), due.kind, cadence, now)
    row.soon_sent, row.overdue_sent, row.snoozed_until = sent.soon, sent.overdue, sent.snoozed_until
    return cadence, sent


def record_reminder_withheld(session: Session, due: DueReminder, *, held_until: dt.datetime,
                             now: dt.datetime) -> bool:
    """Not sent on purpose: the assignee belongs to another organisation and the item is
    not shown to customers. The reminder counts as given for its day (nothing posted,
    none counted as sent), so the next one is looked at in its turn: by then the item
    may be shared. False: no longer held by this pass."""
    row = held_row(session, ItemReminder, due.row_id, held_until)
    if row is None:
        return False
    cadence, sent = _given(row, due, now)
    row.last_sent_at = now  # "one a day" counts from here (storage.reminder_calendar)
    row.attempted_at = row.locked_until = None
    row.failures, row.last_error = 0, WITHHELD
    row.next_run_at = ASAP if row.needs_schedule else next_at(cadence, sent, not_before=now)
    return True

def record_reminder_forwarded(session: Session, due: DueReminder, *, held_until: dt.datetime,
                              now: dt.datetime) -> bool:
    """A customer-owned item's reminder went to its follow-up owner instead (no customer
    channel, or the item is not shared with the customer): it counts as given and sent,
    and the row keeps the message "done" redraws (if any). False: no longer held."""
    row = held_row(session, ItemReminder, due.row_id, held_until)
    if row is None:
        return False
    cadence, sent = _given(row, due, now)
    delivered(row, now)
    row.next_run_at = ASAP if row.needs_schedule else next_at(cadence, sent, not_before=now)
    return True


def record_failure(session: Session, model, row_id: int, *, held_until: dt.datetime,
                   now: dt.datetime, error: str, permanent: bool, uncertain: bool = False,
                   retry_after: float | None = None) -> bool:
    """A permanent error stops the row (and says why); a passing one keeps it due and
    holds it back a while (doubling, at most an hour, at least Retry-After)."""
    row = held_row(session, model, row_id, held_until)
    if row is None:
        return False
    row.last_error = error[:255]
    if not uncertain:
        row.attempted_at = None
    if permanent:
        row.next_run_at = None
        row.locked_until = None
        if isinstance(row, WeeklySummary | ItemReminder):
            row.needs_schedule = False
        return True
    row.failures = (row.failures or 0) + 1
    wait = min(dt.timedelta(minutes=2 ** (row.failures - 1)), BACKOFF_MAX)
    if retry_after:
        wait = max(wait, dt.timedelta(seconds=retry_after))
    row.locked_until = now + wait
    return True


def prepare_summaries(session: Session, row_ids: Sequence[int], *, now: dt.datetime,
                      default_tz: str, held_until: dt.datetime) -> list[DueSummary]:
    rows = held_rows(session, WeeklySummary, row_ids, held_until)
    zones = zones_of(session, [(r.team_id, r.user_id) for r in rows], default_tz)
    due = []
    for row in rows:
        tz = zones[(row.team_id, row.user_id)]
        sent_day = local_day(row.last_sent_at, tz) if row.last_sent_at else None
        if row.muted:
            _rest(row)
            continue
        if row.needs_schedule:
            row.needs_schedule = False
            row.next_run_at = next_monday_at_nine(tz, not_before=now, skip_day=sent_day)
            row.locked_until = None
            continue
        today = local_day(now, tz)
        if not summary_due(tz, now, row.last_sent_at):
            _later(row, next_monday_at_nine(tz, not_before=now, skip_day=sent_day), now)
            continue
        items, more = open_items_of(session, row.team_id, row.user_id, limit=SUMMARY_ITEMS_MAX)
        if not items:  # nothing open: no message, see you next Monday
            _later(row, next_monday_at_nine(tz, not_before=now, skip_day=today), now)
            continue
        shown = all(f.shared for f in items) and (
            more == 0 or all_open_items_shown(session, row.team_id, row.user_id))
        due.append((row, items, more, today, shown))
    pairs = [(r.team_id, r.user_id) for r, *_ in due]
    channels, outside = people.dm_channels(session, pairs), people.organisations(session, pairs)
    return [
        DueSummary(row.id, row.team_id, row.user_id, f"s{row.id}-{row.sends}", row.attempted_at,
                   channels[(row.team_id, row.user_id)], items, more, today,
                   zones[(row.team_id, row.user_id)].key, outside[(row.team_id, row.user_id)], shown)
        for row, items, more, today, shown in due
    ]


def record_summary_withheld(session: Session, due: DueSummary, *, held_until: dt.datetime,
                            now: dt.datetime) -> bool:
    """No summary this week: its person belongs to another organisation and none of
    their open items is shown to customers. See you next Monday."""
    row = held_row(session, WeeklySummary, due.row_id, held_until)
    if row is None:
        return False
    tz = zone(due.timezone)
    row.attempted_at = row.locked_until = None
    row.failures, row.last_error = 0, WITHHELD
    row.next_run_at = ASAP if row.needs_schedule else \
        next_monday_at_nine(tz, not_before=now, skip_day=local_day(now, tz))
    return True


def record_summary_sent(session: Session, due: DueSummary, *, held_until: dt.datetime,
                        now: dt.datetime, channel: str, ts: str) -> bool:
    row = held_row(session, WeeklySummary, due.row_id, held_until)
    if row is None:
        return False
    tz = zone(due.timezone)
    delivered(row, now)
    row.next_run_at = ASAP if row.needs_schedule else \
        next_monday_at_nine(tz, not_before=now, skip_day=local_day(now, tz))
    if channel != due.dm_channel:
        people.record_dm_channel(session, row.team_id, row.user_id, channel)
    return True
