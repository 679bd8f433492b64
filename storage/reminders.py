"""Reminders of action items, kept as rows: the changes that start, move and stop them,
and the scheduler's side (what is due, what was sent). No Slack here.

Rows (storage/models.py):
- ItemReminder: one per open, assigned action item, for its assignee;
- WeeklySummary: one per person with assigned items (`muted` from App Home);
- Notification: a one-off DM (assigned, unassigned, done, an update of an earlier DM),
  written in the same transaction as the change it tells of: an outbox.

Changes arrive from storage.plans operations, inside their transaction. They record
what happened and reset what no longer holds, but do no time arithmetic: the row is
marked `needs_schedule` and due at once (ASAP), and the next scheduler pass works the
time out with its own `now` (storage.reminder_calendar has the rules). So the time is
computed in one place, and `accountplan tick --now` can replay any day.

Who hears what (the issue, and the gaps it leaves, filled):
- A new assignee gets an "assigned" DM, unless they assigned the item to themselves.
- The previous assignee is told too (unless they made the change), and their last DM
  about the item loses its buttons.
- Done: whoever assigned the item is told (unless they did it), and the assignee's last
  DM about it shows it done. Deleted: that DM says so.
- "Whoever assigned it" is the person who last set the assignee; for items written in
  bulk (import, deep copy), their creator, else the plan's owner.
- Copies and imports send no assignment DMs (a whole plan's worth of DMs for a draft of
  next year's plan would be noise); their items are reminded like any others, once the
  scheduler has seen the plan (`sync_new_plans`).
- Items of draft and active plans are reminded; completed and archived plans are quiet
  (and resume if the plan becomes active again). Done or deleted items: nothing.
- Only the plan's owner changes its lead time; only the assignee snoozes.

The scheduler's side, for each kind of row: `prepare_*` (one transaction for a claimed
batch) settles every row that needs no message now and returns the DMs to send;
`record_*_sent` and `record_failure` write the outcome, only while the pass still holds
the row's lease (storage.claims).

A pass sends what is due at its `now`, rows it schedules in that same pass included
(an import, a copy, a change, a new time zone): a row to schedule is first asked what
is due now (storage.reminder_calendar.due_now, which catches a missed 09:00 up), and
only then given its next time. Item reminders are claimed a person at a time
(storage.claims.claim_due_groups), so one person's reminders due at once go out as
one DM (bot/reminder_jobs.py); each row still records its own reminder once.

A change to the item (done, reassigned, a new due date, deleted) clears the row's
lease: a pass sending from the old state cannot record it. A change around the item
(its plan's lead time or status, the person's time zone) only asks for a new schedule
(`needs_schedule`): a DM already on its way is recorded, then the row is looked at
again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session

from storage.domain import (  # noqa: F401 - DEFAULT_LEAD_DAYS: for callers
    DEFAULT_LEAD_DAYS,
    LEAD_DAY_CHOICES,
    Actor,
    lead_days_label,
)
from storage import people
from storage.errors import NotFound, PermissionDenied, ValidationError
from storage.models import (
    AccountPlan,
    ActionItem,
    ChangeLogEntry,
    ItemReminder,
    ItemStatus,
    Notification,
    NotificationKind,
    Objective,
    PlanStatus,
    Strategy,
    WeeklySummary,
)
from storage.reminder_calendar import (
    Cadence,
    Kind,
    Sent,
    after_sending,
    due_now,
    local_day,
    next_at,
    next_monday_at_nine,
    snooze_until,
    summary_due,
    zone,
)
from storage.upsert import insert_missing

# "Due at once": any pass takes the row first, whatever `now` it runs with.
ASAP = dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)
SNOOZE_DAYS = (1, 7)
REMINDING = (PlanStatus.DRAFT, PlanStatus.ACTIVE)
SUMMARY_ITEMS_MAX = 20
# A row that had nothing to send is looked at again no sooner than this: a pass never
# takes the same row twice for nothing.
MIN_STEP = dt.timedelta(minutes=1)
BACKOFF_MAX = dt.timedelta(hours=1)


# ---------------------------------------------------------------------------
# What a DM about an item says (read in one query)


@dataclass(frozen=True)
class ItemFacts:
    item_id: int
    team_id: str
    title: str
    due_date: dt.date | None
    done: bool
    assignee_id: str | None
    plan_id: int
    plan_name: str
    plan_status: PlanStatus
    lead_days: int
    objective: str
    strategy: str

    @property
    def reminding(self) -> bool:
        return not self.done and self.assignee_id is not None and self.plan_status in REMINDING


def _facts_query():
    return (
        select(ActionItem.id, ActionItem.team_id, ActionItem.title, ActionItem.due_date,
               ActionItem.status, ActionItem.assignee_id, ActionItem.plan_id, AccountPlan.name,
               AccountPlan.status, AccountPlan.reminder_lead_days, Objective.title, Strategy.title)
        .join(AccountPlan, AccountPlan.id == ActionItem.plan_id)
        .join(Objective, Objective.id == ActionItem.objective_id)
        .join(Strategy, Strategy.id == Objective.strategy_id)
    )


def _facts(row) -> ItemFacts:
    (item_id, team_id, title, due, status, assignee, plan_id, plan_name, plan_status, lead,
     objective, strategy) = row
    return ItemFacts(item_id, team_id, title, due, status == ItemStatus.DONE, assignee, plan_id,
                     plan_name, plan_status, lead, objective, strategy)


def item_facts(session: Session, item_ids: Iterable[int]) -> dict[int, ItemFacts]:
    ids = sorted(set(item_ids))
    if not ids:
        return {}
    return {f.item_id: f for f in map(_facts, session.execute(_facts_query().where(ActionItem.id.in_(ids))))}


# ---------------------------------------------------------------------------
# Changes, from storage.plans operations


def _row(session: Session, item_id: int, *, lock: bool = False) -> ItemReminder | None:
    """The item's reminder row. `lock`: the row's DM and the item's state are read
    together with the scheduler recording a DM (a row lock on PostgreSQL; SQLite writes
    one transaction at a time), so "done" and "the DM went out" never miss each other."""
    query = select(ItemReminder).where(ItemReminder.action_item_id == item_id)
    return session.scalars(query.with_for_update() if lock else query).one_or_none()


def _reschedule(row: ItemReminder | WeeklySummary) -> None:
    row.needs_schedule = True
    row.next_run_at = ASAP
    # Clearing the lease is the fence: a pass sending from the old state cannot record it.
    row.locked_until = None


def _start(session: Session, item: ActionItem, *, assigned_by: str | None) -> ItemReminder:
    """The item's reminders from scratch, for its current assignee."""
    row = _row(session, item.id)
    if row is None:
        # INSERT … ON CONFLICT DO NOTHING, then read: the scheduler (sync_new_plans) or a
        # second click (snooze) may be making the same row at the same moment.
        insert_missing(session, ItemReminder, [dict(
            action_item_id=item.id, team_id=item.team_id, assignee_id=item.assignee_id, sends=0,
            failures=0, last_error="", soon_sent=False, overdue_sent=0, needs_schedule=True,
        )], keys=("action_item_id",))
        row = _row(session, item.id)
    row.assignee_id = item.assignee_id
    row.assigned_by = assigned_by
    row.due_date = item.due_date
    row.soon_sent, row.overdue_sent, row.snoozed_until = False, 0, None
    row.dm_channel_id = row.dm_ts = None
    row.attempted_at, row.failures, row.last_error = None, 0, ""
    _reschedule(row)
    _ensure_summary(session, item.team_id, item.assignee_id)
    people.ensure(session, [(item.team_id, item.assignee_id)])
    return row


def _ensure_summary(session: Session, team_id: str, user_id: str) -> None:
    insert_missing(session, WeeklySummary,
                   [dict(team_id=team_id, user_id=user_id, muted=False, needs_schedule=True,
                         next_run_at=ASAP, sends=0, failures=0, last_error="")],
                   keys=("team_id", "user_id"))


def _notify(session: Session, item: ActionItem, kind: NotificationKind, user_id: str,
            actor: Actor, **details: Any) -> None:
    session.add(Notification(
        team_id=item.team_id, kind=kind, user_id=user_id, action_item_id=item.id,
        actor_id=actor.user_id, details=details or None, next_run_at=ASAP, sends=0,
        failures=0, last_error="",
    ))


def _about(session: Session, item: ActionItem) -> dict[str, Any]:
    """What a notification must say about an item that may be gone when it is sent."""
    plan_name = session.scalar(select(AccountPlan.name).where(AccountPlan.id == item.plan_id))
    return dict(title=item.title, plan_id=item.plan_id, plan_name=plan_name)


def _update_dm(session: Session, item: ActionItem, row: ItemReminder, actor: Actor,
               state: str, **extra: Any) -> None:
    """Redraw the assignee's last DM about the item, without its buttons."""
    _notify(session, item, NotificationKind.DM_UPDATE, row.assignee_id, actor,
            channel=row.dm_channel_id, ts=row.dm_ts, state=state, **_about(session, item), **extra)


def item_assigned(session: Session, actor: Actor, item: ActionItem) -> None:
    """A new action item."""
    if not item.assignee_id:
        return
    _start(session, item, assigned_by=actor.user_id)
    if item.assignee_id != actor.user_id:
        _notify(session, item, NotificationKind.ASSIGNED, item.assignee_id, actor)


def item_updated(session: Session, actor: Actor, item: ActionItem, *,
                 previous_assignee: str | None, previous_due: dt.date | None) -> None:
    """An edited action item: a new assignee starts over, a new due date counts anew."""
    row = _row(session, item.id, lock=True)
    if item.assignee_id != previous_assignee:
        if previous_assignee:
            if previous_assignee != actor.user_id:
                _notify(session, item, NotificationKind.UNASSIGNED, previous_assignee, actor,
                        to=item.assignee_id, **_about(session, item))
            if row is not None and row.dm_ts and row.assignee_id == previous_assignee:
                _update_dm(session, item, row, actor, "reassigned", to=item.assignee_id)
        if not item.assignee_id:
            if row is not None:
                session.delete(row)
            return
        _start(session, item, assigned_by=actor.user_id)
        if item.assignee_id != actor.user_id and not item.is_done:
            _notify(session, item, NotificationKind.ASSIGNED, item.assignee_id, actor)
    elif item.due_date != previous_due and row is not None:
        row.due_date = item.due_date
        row.soon_sent, row.overdue_sent = False, 0
        _reschedule(row)


def item_done(session: Session, actor: Actor, item: ActionItem) -> None:
    row = _row(session, item.id, lock=True)
    assigner = (row.assigned_by if row is not None else None) or item.created_by
    if assigner and assigner != actor.user_id:
        _notify(session, item, NotificationKind.DONE, assigner, actor)
    if row is not None:
        if row.dm_ts:
            _update_dm(session, item, row, actor, "done")
        row.snoozed_until = None
        row.needs_schedule = False
        row.next_run_at = None
        row.locked_until = None


def item_reopened(session: Session, actor: Actor, item: ActionItem) -> None:
    row = _row(session, item.id)
    if row is None:
        if item.assignee_id:
            _start(session, item, assigned_by=item.created_by)
        return
    _reschedule(row)


def item_deleting(session: Session, actor: Actor, item: ActionItem) -> None:
    """Before the item goes (its ItemReminder goes with it, ON DELETE CASCADE)."""
    row = _row(session, item.id, lock=True)
    if row is not None and row.dm_ts and not item.is_done:
        _update_dm(session, item, row, actor, "deleted")


def plan_changed(session: Session, plan_id: int) -> None:
    """The plan's status or lead time changed: every item's next reminder moves."""
    items = select(ActionItem.id).where(ActionItem.plan_id == plan_id).scalar_subquery()
    session.execute(
        update(ItemReminder).where(ItemReminder.action_item_id.in_(items))
        .values(needs_schedule=True, next_run_at=ASAP)
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
        session.execute(
            update(ItemReminder)
            .where(ItemReminder.team_id == team_id, ItemReminder.assignee_id.in_(chunk),
                   ItemReminder.next_run_at.is_not(None))
            .values(needs_schedule=True, next_run_at=ASAP)
            .execution_options(synchronize_session=False)
        )
        session.execute(
            update(WeeklySummary)
            .where(WeeklySummary.team_id == team_id, WeeklySummary.user_id.in_(chunk),
                   WeeklySummary.muted.is_(False))
            .values(needs_schedule=True, next_run_at=ASAP)
            .execution_options(synchronize_session=False)
        )


def is_reminded(session: Session, team_id: str, user_id: str) -> bool:
    """Whether we keep anything for this person (their time zone is worth keeping)."""
    return people.get(session, team_id, user_id) is not None or _summary(session, team_id, user_id) is not None


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


# ---------------------------------------------------------------------------
# What people do: lead time, snooze, mute


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
    row = _row(session, item.id) or _start(session, item, assigned_by=item.created_by)
    tz = zone(people.timezone_names(session, [(item.team_id, actor.user_id)]).get(
        (item.team_id, actor.user_id)), default_tz)
    row.snoozed_until = snooze_until(now, days, tz)
    row.needs_schedule = False
    row.next_run_at = row.snoozed_until
    row.locked_until = row.attempted_at = None
    session.flush()
    return row


def _summary(session: Session, team_id: str, user_id: str) -> WeeklySummary | None:
    return session.scalars(
        select(WeeklySummary).where(WeeklySummary.team_id == team_id, WeeklySummary.user_id == user_id)
    ).one_or_none()


def summary_muted(session: Session, team_id: str, user_id: str) -> bool:
    row = _summary(session, team_id, user_id)
    return bool(row and row.muted)


def set_summary_muted(session: Session, actor: Actor, muted: bool) -> WeeklySummary:
    row = _summary(session, actor.team_id, actor.user_id)
    if row is None:
        # INSERT … ON CONFLICT DO NOTHING, then read: of two saves at once (two clicks,
        # or the scheduler starting their summary) neither fails, both end on one row.
        _ensure_summary(session, actor.team_id, actor.user_id)
        row = _summary(session, actor.team_id, actor.user_id)
    row.muted = muted
    if muted:
        row.needs_schedule, row.next_run_at, row.locked_until = False, None, None
    else:
        _reschedule(row)
    session.flush()
    return row


# ---------------------------------------------------------------------------
# The scheduler's side: plans written in bulk, time zones to fetch


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
# The scheduler's side: what to send now, and what was sent


@dataclass(frozen=True)
class Outgoing:
    """A DM a pass holds the lease to send."""

    row_id: int
    team_id: str
    user_id: str
    key: str  # names the DM, to look for it when an attempt ended unknown
    maybe_sent_since: dt.datetime | None  # an attempt began then and its outcome is unknown
    dm_channel: str | None


@dataclass(frozen=True)
class DueReminder(Outgoing):
    kind: Kind
    facts: ItemFacts  # as prepared: a change since then clears the lease, and nothing is recorded
    assigned_by: str | None
    today: dt.date  # the assignee's local date
    timezone: str  # the zone the reminder was worked out in


@dataclass(frozen=True)
class DueSummary(Outgoing):
    items: list[ItemFacts]
    more: int
    today: dt.date
    timezone: str


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


def _held(session: Session, model, ids: Sequence[int], held_until: dt.datetime) -> list:
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


def _sent_of(row: ItemReminder) -> Sent:
    return Sent(soon=bool(row.soon_sent), overdue=row.overdue_sent or 0,
                snoozed_until=row.snoozed_until, last_at=row.last_sent_at)


def _zones(session: Session, pairs: Iterable[tuple[str, str]], default_tz: str):
    names = people.timezone_names(session, pairs)
    return {pair: zone(name, default_tz) for pair, name in names.items()}


def prepare_item_reminders(session: Session, row_ids: Sequence[int], *, now: dt.datetime,
                           default_tz: str, held_until: dt.datetime) -> list[DueReminder]:
    rows = _held(session, ItemReminder, row_ids, held_until)
    facts = item_facts(session, [r.action_item_id for r in rows])
    zones = _zones(session, [(r.team_id, r.assignee_id) for r in rows], default_tz)
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
        cadence, sent = Cadence(item.due_date, item.lead_days, tz), _sent_of(row)
        # Scheduled or not, what is due now goes now (a missed slot caught up: due_now).
        row.needs_schedule = False
        kind = due_now(cadence, sent, now)
        if kind is None:
            _later(row, next_at(cadence, sent, not_before=now), now)
            continue
        due.append((row, item, kind))
    channels = people.dm_channels(session, [(r.team_id, r.assignee_id) for r, _, _ in due])
    return [
        DueReminder(row.id, row.team_id, row.assignee_id, f"r{row.id}-{row.sends}", row.attempted_at,
                    channels[(row.team_id, row.assignee_id)], kind, item, row.assigned_by,
                    local_day(now, zones[(row.team_id, row.assignee_id)]),
                    zones[(row.team_id, row.assignee_id)].key)
        for row, item, kind in due
    ]


def _held_row(session: Session, model, row_id: int, held_until: dt.datetime):
    return session.scalars(
        select(model).where(model.id == row_id, model.locked_until == held_until)
    ).one_or_none()


def _delivered(row, now: dt.datetime) -> None:
    row.sends = (row.sends or 0) + 1
    row.last_sent_at = now
    row.attempted_at = None
    row.failures = 0
    row.last_error = ""
    row.locked_until = None


def record_reminder_sent(session: Session, due: DueReminder, *, held_until: dt.datetime,
                         now: dt.datetime, channel: str, ts: str) -> bool:
    """False: the row changed (or the lease ran out) while the DM went out; the new
    state stands (and the DM is redrawn if it was overtaken)."""
    if channel != due.dm_channel:
        # First: a person's row before their reminders, the order set_timezone locks them in.
        people.record_dm_channel(session, due.team_id, due.user_id, channel)
    row = session.scalars(select(ItemReminder).where(ItemReminder.id == due.row_id).with_for_update()).one_or_none()
    if row is None or row.locked_until != held_until:
        if row is not None:
            _redraw_if_overtaken(session, row.action_item_id, row.assignee_id, channel, ts)
        return False
    cadence = Cadence(due.facts.due_date, due.facts.lead_days, zone(due.timezone))
    sent = after_sending(_sent_of(row), due.kind, cadence, now)
    row.soon_sent, row.overdue_sent, row.snoozed_until = sent.soon, sent.overdue, sent.snoozed_until
    _delivered(row, now)
    row.dm_channel_id, row.dm_ts = channel, ts
    # needs_schedule: its plan or its person's time zone changed while the DM went out.
    row.next_run_at = ASAP if row.needs_schedule else next_at(cadence, sent, not_before=now)
    return True


def record_failure(session: Session, model, row_id: int, *, held_until: dt.datetime,
                   now: dt.datetime, error: str, permanent: bool, uncertain: bool = False,
                   retry_after: float | None = None) -> bool:
    """A permanent error stops the row (and says why); a passing one keeps it due and
    holds it back a while (doubling, at most an hour, at least Retry-After)."""
    row = _held_row(session, model, row_id, held_until)
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


def open_items_of(session: Session, team_id: str, user_id: str, *, limit: int) -> tuple[list[ItemFacts], int]:
    """Someone's open items in draft and active plans, overdue and soonest first; and
    how many more there are."""
    where = (ActionItem.team_id == team_id, ActionItem.assignee_id == user_id,
             ActionItem.status == ItemStatus.OPEN, AccountPlan.status.in_(REMINDING))
    rows = session.execute(
        _facts_query().where(*where)
        .order_by(case((ActionItem.due_date.is_(None), 1), else_=0), ActionItem.due_date, ActionItem.id)
        .limit(limit)
    ).all()
    items = [_facts(r) for r in rows]
    more = 0
    if len(items) == limit:
        total = session.scalar(
            select(func.count(ActionItem.id)).join(AccountPlan, AccountPlan.id == ActionItem.plan_id).where(*where))
        more = total - limit
    return items, more


def prepare_summaries(session: Session, row_ids: Sequence[int], *, now: dt.datetime,
                      default_tz: str, held_until: dt.datetime) -> list[DueSummary]:
    rows = _held(session, WeeklySummary, row_ids, held_until)
    zones = _zones(session, [(r.team_id, r.user_id) for r in rows], default_tz)
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
        due.append((row, items, more, today))
    channels = people.dm_channels(session, [(r.team_id, r.user_id) for r, _, _, _ in due])
    return [
        DueSummary(row.id, row.team_id, row.user_id, f"s{row.id}-{row.sends}", row.attempted_at,
                   channels[(row.team_id, row.user_id)], items, more, today,
                   zones[(row.team_id, row.user_id)].key)
        for row, items, more, today in due
    ]


def record_summary_sent(session: Session, due: DueSummary, *, held_until: dt.datetime,
                        now: dt.datetime, channel: str, ts: str) -> bool:
    row = _held_row(session, WeeklySummary, due.row_id, held_until)
    if row is None:
        return False
    tz = zone(due.timezone)
    _delivered(row, now)
    row.next_run_at = ASAP if row.needs_schedule else \
        next_monday_at_nine(tz, not_before=now, skip_day=local_day(now, tz))
    if channel != due.dm_channel:
        people.record_dm_channel(session, row.team_id, row.user_id, channel)
    return True


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
    rows = _held(session, Notification, row_ids, held_until)
    facts = item_facts(session, [r.action_item_id for r in rows if r.action_item_id])
    due = []
    for row in rows:
        item = facts.get(row.action_item_id) if row.action_item_id else None
        if not _still_true(row, item):
            row.next_run_at, row.locked_until, row.last_error = None, None, "overtaken"
            continue
        due.append((row, item))
    pairs = [(r.team_id, r.user_id) for r, _ in due]
    channels = people.dm_channels(session, pairs)
    zones = _zones(session, pairs, default_tz)
    return [
        DueNotification(row.id, row.team_id, row.user_id, f"n{row.id}", row.attempted_at,
                        channels[(row.team_id, row.user_id)], row.kind, row.actor_id, item,
                        dict(row.details or {}), local_day(now, zones[(row.team_id, row.user_id)]),
                        _group_of(session, row), row.action_item_id)
        for row, item in due
    ]


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
    row = _row(session, item_id)
    if row is None or not (row.dm_channel_id and row.dm_ts):
        return None
    return row.dm_channel_id, row.dm_ts


def assignee_of(session: Session, item_id: int) -> tuple[str, str] | None:
    """(team, user) the item's reminders go to."""
    row = _row(session, item_id)
    return (row.team_id, row.assignee_id) if row is not None else None


def record_notification_sent(session: Session, row_id: int, *, held_until: dt.datetime,
                             now: dt.datetime, channel: str | None, ts: str | None,
                             default_tz: str = "UTC") -> bool:
    row = _held_row(session, Notification, row_id, held_until)
    if row is None:
        return False
    _delivered(row, now)
    row.next_run_at = None
    if row.kind == NotificationKind.ASSIGNED and channel and ts:
        # First: a person's row before their reminders, the order set_timezone locks them in.
        people.record_dm_channel(session, row.team_id, row.user_id, channel)
        reminder = _row(session, row.action_item_id, lock=True)
        if reminder is not None and reminder.assignee_id == row.user_id:
            # The DM that "Mark done" redraws, wherever it is pressed.
            reminder.dm_channel_id, reminder.dm_ts = channel, ts
            _assignment_told(session, reminder, now, default_tz)
        _redraw_if_overtaken(session, row.action_item_id, row.user_id, channel, ts)
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
    if _sent_of(row).soon_pending and soon_day is not None and soon_day <= today <= item.due_date:
        row.soon_sent = True
    row.last_sent_at = now
    _reschedule(row)


def _redraw_if_overtaken(session: Session, item_id: int | None, user_id: str, channel: str | None,
                         ts: str | None) -> None:
    """A DM about the item just went out to `user_id`, but the item was done, reassigned
    or deleted meanwhile (the change saw no DM to redraw yet): redraw this one."""
    if not (item_id and channel and ts):
        return
    item = session.get(ActionItem, item_id, populate_existing=True)
    if item is None:
        return  # deleted: its own redraw went to the DM it knew of; this one keeps buttons that say so when pressed
    if item.is_done:
        state, actor, extra = "done", item.done_by or user_id, {}
    elif item.assignee_id != user_id:
        state, actor, extra = "reassigned", user_id, {"to": item.assignee_id}
    else:
        return
    session.add(Notification(
        team_id=item.team_id, kind=NotificationKind.DM_UPDATE, user_id=user_id, action_item_id=item.id,
        actor_id=actor, details=dict(channel=channel, ts=ts, state=state, **_about(session, item), **extra),
        next_run_at=ASAP, sends=0, failures=0, last_error="",
    ))
