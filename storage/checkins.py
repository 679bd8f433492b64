"""Progress check-ins: each objective owner is asked, in one DM per plan, how their
objectives are going, before each QBR and (if the plan asks for it) monthly. No Slack
here: rows, rounds and the scheduler's side (bot/ sends).

Rounds of an active plan (storage/checkin_rounds.py, `plan_checkin_rounds`):
- before a QBR: "qbr:<date>", sent `checkin_lead_days` before the next QBR date
  (`next_qbr_date`; a Saturday or Sunday moves back to the Friday before), open until
  the QBR itself: a QBR set at short notice is asked about at once;
- monthly, if `monthly_checkins`: "month:<yyyy-mm>", the first working day of each month
  of the plan, open to the month's end; a month with a QBR round in it has no monthly one.

The outbox (CheckinRequest, one row per plan, owner and round, unique): once a UTC day
the scheduler works out each active plan's rounds (`schedule_checkins`; the plan's
`checkins_checked_on` says it did, a change that moves a round clears it) and inserts
the rows of the rounds open on the owner's local day or the next one, INSERT … ON
CONFLICT DO NOTHING: any number of passes at once make each row exactly once. A row is
due at 09:00 in its owner's time zone on a working day (storage.reminder_calendar);
passes claim due rows like every other DM (storage.claims: lease, `begin_attempt`
fence), `prepare_checkins` settles what needs no DM and returns the DMs to send, and
`record_checkin_sent` writes the outcome under the lease.

A time zone learnt after the rows were made (they were timed in the workspace's zone
meanwhile) moves the owner's waiting rows to 09:00 where they are
(`owners_zones_changed`, called where the zone is learnt), as action-item reminders move.

After the DM, the owner has CHECKIN_REMINDER_WORKING_DAYS working days: the check-in is
answered once every objective it asked about has a progress update since it went out
(`mark_answered`, from storage.progress.record_progress; it also clears any lease, so a
reminder on its way is not sent). Unanswered: one reminder listing what is still
waiting, then nothing. A round that no longer holds when its DM is due (the QBR moved,
the plan is no longer active, the owner owns nothing) is dropped (`last_error`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import ColumnElement, exists, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from storage import people, reminders
from storage.checkin_rounds import (  # noqa: F401 - CheckinRound, MONTH, next_qbr_date: for callers
    MONTH,
    QBR,
    CheckinRound,
    next_qbr_date,
    next_qbr_on,
    next_slot,
    plan_checkin_rounds,
    reminder_day,
    round_holds,
    working_time,
)
from storage.claims import claim_due
from storage.domain import CHECKIN_LEAD_DAY_CHOICES, Actor, ObjectiveStatus, PlanStatus
from storage.errors import ValidationError
from storage.models import AccountPlan, ChangeLogEntry, CheckinRequest, Objective, QbrReview, Strategy
from storage.plans.permissions import get_editable_plan
from storage.reminder_calendar import LOCAL_TIME, at_nine, is_working_day, local_day, next_working_day, zone
from storage.reminders import Outgoing
from storage.reminders.scheduling import delivered
from storage.upsert import insert_missing

DROPPED = "overtaken"  # last_error of a row whose round no longer held


# ---------------------------------------------------------------------------
# Changes, from operations


def owned_by(owner_id: str, plan_owner_id: str) -> ColumnElement[bool]:
    """Objectives `owner_id` is asked about (None as owner: the plan's owner)."""
    if owner_id == plan_owner_id:
        return or_(Objective.owner_id == owner_id, Objective.owner_id.is_(None))
    return Objective.owner_id == owner_id


def plan_rounds_changed(session: Session, plan_id: int) -> None:
    """Work the plan's rounds out again at the next pass (an owner, the lead time or the
    monthly setting changed). Not an edit of the plan: its version stays."""
    session.execute(
        update(AccountPlan).where(AccountPlan.id == plan_id)
        .values(checkins_checked_on=None, updated_at=AccountPlan.updated_at)
        .execution_options(synchronize_session=False)
    )


def set_checkin_settings(session: Session, actor: Actor, plan_id: int, *, lead_days: int,
                         monthly: bool) -> AccountPlan:
    """How many days before a QBR owners are asked, and whether monthly too (the plan
    form). The plan's owner and team; ValidationError "checkin_lead_days"."""
    plan = get_editable_plan(session, actor, plan_id)
    if lead_days not in CHECKIN_LEAD_DAY_CHOICES:
        raise ValidationError("checkin_lead_days",
                              f"must be one of {', '.join(map(str, CHECKIN_LEAD_DAY_CHOICES))} days")
    monthly = bool(monthly)
    if plan.checkin_lead_days == lead_days and plan.monthly_checkins == monthly:
        return plan
    # Not through the ORM: no edit of the plan's text, so an open "Edit plan" form
    # (which checks the version) still saves.
    session.execute(
        update(AccountPlan).where(AccountPlan.id == plan.id)
        .values(checkin_lead_days=lead_days, monthly_checkins=monthly, checkins_checked_on=None,
                updated_at=AccountPlan.updated_at)
        .execution_options(synchronize_session=False)
    )
    session.add(ChangeLogEntry(
        team_id=actor.team_id, plan_id=plan.id, actor_id=actor.user_id, entity="plan",
        entity_id=plan.id, action="checkins",
        summary=f"set progress check-ins to {lead_days} days before each QBR"
                + (" and monthly" if monthly else ""),
    ))
    session.expire(plan)
    return plan


def mark_answered(session: Session, team_id: str, plan_id: int, owner_id: str, *,
                  plan_owner_id: str, now: dt.datetime) -> int:
    """The owner's check-ins of the plan that went out and whose every objective has
    been updated since: answered (no reminder; a pass about to send one loses its
    lease). One UPDATE; how many rows it answered."""
    waiting = exists().where(
        Objective.plan_id == plan_id, owned_by(owner_id, plan_owner_id),
        or_(Objective.progress_updated_at.is_(None),
            Objective.progress_updated_at < CheckinRequest.sent_at),
    )
    result = session.execute(
        update(CheckinRequest)
        .where(CheckinRequest.team_id == team_id, CheckinRequest.plan_id == plan_id,
               CheckinRequest.owner_id == owner_id, CheckinRequest.sent_at.is_not(None),
               CheckinRequest.answered_at.is_(None), ~waiting)
        .values(answered_at=now, next_run_at=None, locked_until=None)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


# ---------------------------------------------------------------------------
# The scheduler's side: making the rows


_PLAN_COLUMNS = (AccountPlan.id, AccountPlan.team_id, AccountPlan.owner_id, AccountPlan.name,
                 AccountPlan.status, AccountPlan.start_date, AccountPlan.end_date,
                 AccountPlan.checkin_lead_days, AccountPlan.monthly_checkins,
                 AccountPlan.last_review_date, AccountPlan.qbr_reminder_days)


def _next_qbrs(session: Session, plans: Sequence) -> dict[int, dt.date | None]:
    """{plan id: next QBR date} in one query (the plans' reviews)."""
    latest: dict[int, tuple] = {}
    for plan_id, held_on, review_id, next_qbr in session.execute(
        select(QbrReview.plan_id, QbrReview.held_on, QbrReview.id, QbrReview.next_qbr_date)
        .where(QbrReview.plan_id.in_([p.id for p in plans]))
    ):
        if plan_id not in latest or (held_on, review_id) > latest[plan_id][:2]:
            latest[plan_id] = (held_on, review_id, next_qbr)
    return {p.id: next_qbr_on(latest[p.id][2] if p.id in latest else None, p.last_review_date,
                            p.qbr_reminder_days) for p in plans}


def _owners(session: Session, plans: Sequence) -> dict[int, list[str]]:
    """{plan id: the people asked about its objectives} in one query."""
    plan_owner = {p.id: p.owner_id for p in plans}
    owners: dict[int, list[str]] = {}
    for plan_id, owner in session.execute(
        select(Objective.plan_id, Objective.owner_id).distinct()
        .where(Objective.plan_id.in_(list(plan_owner)))
    ):
        person = owner or plan_owner[plan_id]
        if person not in owners.setdefault(plan_id, []):
            owners[plan_id].append(person)
    return owners


def schedule_checkins(session: Session, now: dt.datetime, *, default_tz: str = "UTC",
                      limit: int = 100) -> int:
    """Check-in rows for up to `limit` active plans not looked at this UTC day: the
    rounds open on each owner's local day or the next. A fixed handful of statements
    per batch; returns how many plans it looked at (call again until 0)."""
    today = now.astimezone(dt.timezone.utc).date()
    plans = session.execute(
        select(*_PLAN_COLUMNS)
        .where(AccountPlan.status == PlanStatus.ACTIVE,
               or_(AccountPlan.checkins_checked_on.is_(None), AccountPlan.checkins_checked_on < today))
        .limit(limit).with_for_update(skip_locked=True)
    ).all()
    if not plans:
        return 0
    qbrs, owners = _next_qbrs(session, plans), _owners(session, plans)
    pairs = sorted({(p.team_id, owner) for p in plans for owner in owners.get(p.id, ())})
    zones = people.timezone_names(session, pairs)
    rows = []
    for plan in plans:
        for owner in owners.get(plan.id, ()):
            tz = zone(zones.get((plan.team_id, owner)), default_tz)
            today_there = local_day(now, tz)
            rounds = {r.key: r for day in (today_there, today_there + dt.timedelta(days=1))
                      for r in plan_checkin_rounds(plan, day, next_qbr=qbrs[plan.id])}
            rows += [dict(team_id=plan.team_id, plan_id=plan.id, owner_id=owner, round_key=r.key,
                          send_on=r.send_on, next_run_at=next_slot(now, tz, r.send_on), sends=0,
                          failures=0, last_error="", created_at=now)
                     for r in rounds.values()]
    insert_missing(session, CheckinRequest, rows, keys=("team_id", "plan_id", "owner_id", "round_key"))
    people.ensure(session, pairs)
    session.execute(
        update(AccountPlan).where(AccountPlan.id.in_([p.id for p in plans]))
        .values(checkins_checked_on=today, updated_at=AccountPlan.updated_at)
        .execution_options(synchronize_session=False)
    )
    return len(plans)


def owners_zones_changed(session: Session, team_id: str, owner_ids: Iterable[str], *, now: dt.datetime,
                         default_tz: str = "UTC") -> int:
    """Their time zones are known now (or changed): their check-ins still to send (the
    DM, or its one reminder) move to 09:00 in the zone they have now, on the day each
    was meant for. A leased row stays (a DM on its way was right when it left). How
    many rows moved; a query per thousand owners, and an UPDATE per row that moves.

    Each UPDATE repeats the conditions of the read (not leased, not answered, not
    reminded, sent as it was read): a pass that claimed the row or sent its DM between
    the read and the write keeps it as it made it. PostgreSQL re-checks them on the row
    as committed after waiting for its lock; SQLite has one writer at a time."""
    def movable(chunk):
        return (CheckinRequest.team_id == team_id, CheckinRequest.owner_id.in_(chunk),
                CheckinRequest.next_run_at.is_not(None), CheckinRequest.answered_at.is_(None),
                CheckinRequest.reminded_at.is_(None),
                or_(CheckinRequest.locked_until.is_(None), CheckinRequest.locked_until < now))

    moved = 0
    for chunk in people.chunks(owner_ids):
        rows = session.execute(
            select(CheckinRequest.id, CheckinRequest.owner_id, CheckinRequest.send_on,
                   CheckinRequest.sent_at, CheckinRequest.next_run_at).where(*movable(chunk))
        ).all()
        zones = people.timezone_names(session, [(team_id, row.owner_id) for row in rows])
        for row in rows:
            tz = zone(zones.get((team_id, row.owner_id)), default_tz)
            slot = next_slot(now, tz, row.send_on) if row.sent_at is None \
                else at_nine(reminder_day(local_day(row.sent_at, tz)), tz)
            if slot == row.next_run_at:
                continue
            sent_as_read = (CheckinRequest.sent_at.is_(None) if row.sent_at is None
                            else CheckinRequest.sent_at == row.sent_at)
            moved += session.execute(
                update(CheckinRequest).where(CheckinRequest.id == row.id, sent_as_read, *movable([row.owner_id]))
                .values(next_run_at=slot).execution_options(synchronize_session=False)
            ).rowcount
    return moved


def claim_due_checkins(session_factory: sessionmaker[Session], *, now: dt.datetime,
                       lease: dt.timedelta, limit: int = 25) -> list[int]:
    """Ids of due check-in rows this pass now holds (lease committed; storage.claims)."""
    return claim_due(session_factory, CheckinRequest, now=now, lease=lease, limit=limit)


# ---------------------------------------------------------------------------
# The scheduler's side: what to send, and what was sent


@dataclass(frozen=True)
class CheckinObjective:
    """An objective as the check-in DM shows it (and its "Update progress" opens)."""

    objective_id: int
    title: str
    strategy: str
    measure_unit: str
    target_value: Decimal | None
    current_value: Decimal | None
    status: ObjectiveStatus | None
    note: str
    updated_at: dt.datetime | None
    version: int

    @property
    def is_measurable(self) -> bool:
        return self.target_value is not None


@dataclass(frozen=True)
class DueCheckin(Outgoing):
    """A check-in DM (or, `reminder`, its one reminder) a pass holds the lease to send.
    `user_id` is the owner; `objectives` what it asks about (for a reminder, only those
    not updated since the DM)."""

    reminder: bool
    plan_id: int
    plan_name: str
    round_key: str
    qbr_date: dt.date | None
    objectives: tuple[CheckinObjective, ...]
    today: dt.date  # the owner's local date
    timezone: str  # the zone it was worked out in
    dm_ts: str | None = None  # the check-in DM a reminder follows up (its channel: dm_channel)


def _objectives(session: Session, plan_ids: Iterable[int]) -> dict[int, list[tuple[str | None, CheckinObjective]]]:
    """{plan id: [(owner_id as stored, objective)]} in reading order, one query."""
    found: dict[int, list] = {}
    for row in session.execute(
        select(Objective.plan_id, Objective.owner_id, Objective.id, Objective.title, Strategy.title,
               Objective.measure_unit, Objective.target_value, Objective.current_value,
               Objective.progress_status, Objective.progress_note, Objective.progress_updated_at,
               Objective.version)
        .join(Strategy, Strategy.id == Objective.strategy_id)
        .where(Objective.plan_id.in_(sorted(set(plan_ids))))
        .order_by(Objective.plan_id, Strategy.position, Objective.position, Objective.id)
    ):
        plan_id, owner, *rest = row
        found.setdefault(plan_id, []).append((owner, CheckinObjective(*rest)))
    return found


def _rest(row: CheckinRequest, why: str = "") -> None:
    row.next_run_at = None
    row.locked_until = None
    if why:
        row.last_error = why


def _wait(row: CheckinRequest, now: dt.datetime, tz) -> None:
    """Not a working day, or before 09:00 there: at the next working day's 09:00."""
    local = now.astimezone(tz)
    day = local.date() if is_working_day(local.date()) and local.time() < LOCAL_TIME \
        else next_working_day(local.date())
    row.next_run_at = at_nine(day, tz)
    row.locked_until = None


def prepare_checkins(session: Session, row_ids: Sequence[int], *, now: dt.datetime, default_tz: str,
                     held_until: dt.datetime) -> list[DueCheckin]:
    """In one transaction for a claimed batch: settle every row that needs no DM now
    (dropped, answered, waiting for a working day) and return the DMs to send."""
    rows = list(session.scalars(
        select(CheckinRequest).where(CheckinRequest.id.in_(list(row_ids)),
                                     CheckinRequest.locked_until == held_until)
        .order_by(CheckinRequest.id)
    ))
    if not rows:
        return []
    plans = {p.id: p for p in session.execute(
        select(*_PLAN_COLUMNS).where(AccountPlan.id.in_({r.plan_id for r in rows})))}
    qbrs = _next_qbrs(session, list(plans.values()))
    objectives = _objectives(session, plans)
    zones = people.timezone_names(session, [(r.team_id, r.owner_id) for r in rows])
    due = []
    for row in rows:
        plan = plans[row.plan_id]  # a deleted plan takes its rows with it
        tz = zone(zones.get((row.team_id, row.owner_id)), default_tz)
        today = local_day(now, tz)
        mine = [o for owner, o in objectives.get(plan.id, ()) if (owner or plan.owner_id) == row.owner_id]
        if row.sent_at is None:
            if not round_holds(row.round_key, plan, qbrs[plan.id], today):
                _rest(row, DROPPED)
                continue
            if not mine:
                _rest(row, "no objectives")
                continue
            asked = mine
        elif row.reminded_at is None and row.answered_at is None:
            asked = [o for o in mine if o.updated_at is None or o.updated_at < row.sent_at]
            if not asked:
                row.answered_at = now
                _rest(row)
                continue
            if plan.status != PlanStatus.ACTIVE:
                _rest(row, DROPPED)
                continue
        else:
            _rest(row)
            continue
        if not working_time(now, tz):
            _wait(row, now, tz)
            continue
        due.append((row, plan, asked, today, tz))
    channels = people.dm_channels(session, [(r.team_id, r.owner_id) for r, *_ in due])
    return [
        DueCheckin(row.id, row.team_id, row.owner_id, f"c{row.id}-{row.sends}", row.attempted_at,
                   channels[(row.team_id, row.owner_id)] or row.dm_channel_id,
                   reminder=row.sent_at is not None, plan_id=plan.id, plan_name=plan.name,
                   round_key=row.round_key,
                   qbr_date=dt.date.fromisoformat(row.round_key.split(":", 1)[1])
                   if row.round_key.startswith(QBR + ":") else None,
                   objectives=tuple(asked), today=today, timezone=tz.key,
                   dm_ts=row.dm_ts if row.sent_at is not None else None)
        for row, plan, asked, today, tz in due
    ]


def record_checkin_sent(session: Session, due: DueCheckin, *, held_until: dt.datetime,
                        now: dt.datetime, channel: str, ts: str) -> bool:
    """The DM went out. False: the row changed (answered) or the lease ran out
    meanwhile, and nothing is recorded. A first DM schedules the one reminder."""
    if channel != due.dm_channel:
        # First: a person's row before their DMs', the order set_timezone locks them in.
        people.record_dm_channel(session, due.team_id, due.user_id, channel)
    row = session.scalars(
        select(CheckinRequest).where(CheckinRequest.id == due.row_id).with_for_update()
    ).one_or_none()
    if row is None or row.locked_until != held_until:
        return False
    delivered(row, now)
    if due.reminder:
        row.reminded_at = now
        row.next_run_at = None
    else:
        tz = zone(due.timezone)
        row.sent_at = now
        row.dm_channel_id, row.dm_ts = channel, ts
        row.next_run_at = None if row.answered_at else at_nine(reminder_day(local_day(now, tz)), tz)
    return True


def record_checkin_failure(session: Session, row_id: int, *, held_until: dt.datetime, now: dt.datetime,
                           error: str, permanent: bool, uncertain: bool = False,
                           retry_after: float | None = None) -> bool:
    """As storage.reminders.record_failure: a permanent error stops the row, a passing
    one holds it back a while."""
    return reminders.record_failure(session, CheckinRequest, row_id, held_until=held_until, now=now,
                                    error=error, permanent=permanent, uncertain=uncertain,
                                    retry_after=retry_after)


def checkin_requests(session: Session, team_id: str, plan_id: int) -> list[CheckinRequest]:
    """The plan's check-in rows, newest round first (what was asked, answered)."""
    return list(session.scalars(
        select(CheckinRequest).where(CheckinRequest.team_id == team_id, CheckinRequest.plan_id == plan_id)
        .order_by(CheckinRequest.send_on.desc(), CheckinRequest.owner_id)
    ))

