"""Progress check-ins: the rounds (before each QBR, monthly), the rows the scheduler makes
(one per owner, plan and round, exactly once, whatever runs at once), the DM at 09:00 in
the owner's zone on a working day, one reminder two working days later unless answered,
then nothing."""

from __future__ import annotations

import datetime as dt
import threading
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from storage import checkins, people, progress
from storage import plans as ops
from storage.claims import begin_attempt
from storage.domain import Actor, PlanStatus
from storage.errors import PermissionDenied, ValidationError
from storage.models import AccountPlan, CheckinRequest
from storage.plans import ReviewInput

from .conftest import MEMBER, OWNER, STRANGER, make_objective, make_plan, make_strategy

PARIS, NEW_YORK = ZoneInfo("Europe/Paris"), ZoneInfo("America/New_York")
LEASE = dt.timedelta(minutes=5)
QBR_DAY = dt.date(2025, 6, 13)  # a Friday; 5 days before is Sunday the 8th: asked Friday the 6th


def at(day: dt.date, hour: int, tz=dt.timezone.utc) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=tz).astimezone(dt.timezone.utc)


def plan_like(**fields) -> SimpleNamespace:
    values = dict(status=PlanStatus.ACTIVE, start_date=dt.date(2025, 1, 1), end_date=dt.date(2025, 12, 31),
                  checkin_lead_days=5, monthly_checkins=False)
    values.update(fields)
    return SimpleNamespace(**values)


# ---------------------------------------------------------------------------
# Rounds


def test_next_qbr_date_from_the_latest_review_else_the_period(session, plan):
    assert checkins.next_qbr_date(plan) is None
    ops.add_review(session, OWNER, plan.id, ReviewInput(held_on=dt.date(2025, 3, 1),
                                                        next_qbr_date=dt.date(2025, 6, 1)))
    session.expire(plan, ["reviews"])
    assert checkins.next_qbr_date(plan) == dt.date(2025, 6, 1)
    ops.add_review(session, OWNER, plan.id, ReviewInput(held_on=dt.date(2025, 4, 1)))  # no next date
    session.expire(plan, ["reviews"])
    assert checkins.next_qbr_date(plan) == dt.date(2025, 4, 1) + dt.timedelta(days=90)


def test_the_qbr_round_opens_lead_days_before_on_a_working_day():
    plan = plan_like()
    assert checkins.plan_checkin_rounds(plan, dt.date(2025, 6, 5), next_qbr=QBR_DAY) == []
    opened = checkins.plan_checkin_rounds(plan, dt.date(2025, 6, 6), next_qbr=QBR_DAY)
    assert opened == [checkins.CheckinRound("qbr:2025-06-13", dt.date(2025, 6, 6), QBR_DAY, QBR_DAY)]
    assert checkins.plan_checkin_rounds(plan, QBR_DAY, next_qbr=QBR_DAY) == opened  # still open on the day
    assert checkins.plan_checkin_rounds(plan, QBR_DAY + dt.timedelta(days=1), next_qbr=QBR_DAY) == []
    assert checkins.plan_checkin_rounds(plan_like(checkin_lead_days=2), dt.date(2025, 6, 10),
                                        next_qbr=QBR_DAY) == []
    for quiet in (plan_like(status=PlanStatus.DRAFT), plan_like(end_date=dt.date(2025, 6, 5))):
        assert checkins.plan_checkin_rounds(quiet, dt.date(2025, 6, 6), next_qbr=QBR_DAY) == []


def test_monthly_rounds_on_the_first_working_day_unless_a_qbr_round_falls_that_month():
    monthly = plan_like(monthly_checkins=True)
    # March 2025 starts on a Saturday: Monday the 3rd.
    assert checkins.plan_checkin_rounds(monthly, dt.date(2025, 3, 2), next_qbr=None) == []
    assert checkins.plan_checkin_rounds(monthly, dt.date(2025, 3, 20), next_qbr=None) == [
        checkins.CheckinRound("month:2025-03", dt.date(2025, 3, 3), dt.date(2025, 3, 31))]
    assert [r.key for r in checkins.plan_checkin_rounds(monthly, dt.date(2025, 6, 2), next_qbr=QBR_DAY)] == []
    assert [r.key for r in checkins.plan_checkin_rounds(monthly, dt.date(2025, 6, 9), next_qbr=QBR_DAY)] == [
        "qbr:2025-06-13"]
    started_mid_month = plan_like(monthly_checkins=True, start_date=dt.date(2025, 3, 10))
    assert checkins.plan_checkin_rounds(started_mid_month, dt.date(2025, 3, 20), next_qbr=None) == []


# ---------------------------------------------------------------------------
# The rows


@pytest.fixture
def active(session):
    """An active plan with a QBR on QBR_DAY: OWNER (in Paris) owns two objectives, MEMBER
    (zone unknown: the default, New York) one."""
    plan = make_plan(session, status="active")
    strategy = make_strategy(session, plan)
    mine = [make_objective(session, strategy, "Win IDNs"), make_objective(session, strategy, "Grow share")]
    theirs = make_objective(session, strategy, "Launch")
    progress.set_objective_owner(session, OWNER, theirs.id, MEMBER.user_id)
    ops.add_review(session, OWNER, plan.id, ReviewInput(held_on=dt.date(2025, 3, 14), next_qbr_date=QBR_DAY))
    people.record_timezone(session, OWNER.team_id, OWNER.user_id, "Europe/Paris", now=at(QBR_DAY, 0))
    session.commit()
    return SimpleNamespace(plan=plan, mine=mine, theirs=theirs)


def schedule(session_factory, now) -> int:
    looked = 0
    with session_factory() as session, session.begin():
        while (batch := checkins.schedule_checkins(session, now, default_tz="America/New_York")):
            looked += batch
    return looked


def rows(session) -> list[tuple[str, str, dt.date, dt.datetime]]:
    session.expire_all()
    return [(r.owner_id, r.round_key, r.send_on, r.next_run_at) for r in session.scalars(
        select(CheckinRequest).order_by(CheckinRequest.owner_id, CheckinRequest.round_key))]


def test_one_row_per_owner_and_round_at_nine_in_their_zone(session, session_factory, active):
    assert schedule(session_factory, at(dt.date(2025, 6, 4), 12)) == 1
    assert rows(session) == []  # nothing open on the 4th or the 5th
    session.execute(AccountPlan.__table__.update().values(checkins_checked_on=None))
    session.commit()
    assert schedule(session_factory, at(dt.date(2025, 6, 5), 12)) == 1  # the 6th is tomorrow: made now
    assert schedule(session_factory, at(dt.date(2025, 6, 5), 13)) == 0  # looked at today already
    assert rows(session) == [
        (MEMBER.user_id, "qbr:2025-06-13", dt.date(2025, 6, 6), at(dt.date(2025, 6, 6), 9, NEW_YORK)),
        (OWNER.user_id, "qbr:2025-06-13", dt.date(2025, 6, 6), at(dt.date(2025, 6, 6), 9, PARIS)),
    ]
    for day in (dt.date(2025, 6, 6), dt.date(2025, 6, 9)):  # day after day: still one row each
        assert schedule(session_factory, at(day, 12)) == 1
    assert len(rows(session)) == 2


def test_passes_at_once_make_each_row_once(session, session_factory, active):
    start = threading.Barrier(4)
    errors: list[BaseException] = []

    def run():
        try:
            start.wait()
            schedule(session_factory, at(dt.date(2025, 6, 6), 12))
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    for _ in range(3):
        session.execute(AccountPlan.__table__.update().values(checkins_checked_on=None))
        session.commit()
        threads = [threading.Thread(target=run) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []
    assert session.scalar(select(func.count()).select_from(CheckinRequest)) == 2


def test_draft_plans_and_plans_without_objectives_are_not_asked(session, session_factory):
    draft = make_plan(session, name="Draft")
    ops.add_review(session, OWNER, draft.id, ReviewInput(held_on=dt.date(2025, 3, 14), next_qbr_date=QBR_DAY))
    empty = make_plan(session, name="Empty", status="active")
    ops.add_review(session, OWNER, empty.id, ReviewInput(held_on=dt.date(2025, 3, 14), next_qbr_date=QBR_DAY))
    session.commit()
    assert schedule(session_factory, at(dt.date(2025, 6, 6), 12)) == 1
    assert rows(session) == []


def _claim_and_prepare(session_factory, now):
    ids = checkins.claim_due_checkins(session_factory, now=now, lease=LEASE)
    with session_factory() as session, session.begin():
        due = checkins.prepare_checkins(session, ids, now=now, default_tz="America/New_York",
                                        held_until=now + LEASE)
    return ids, due


def _sent(session_factory, due, now, ts="1.0"):
    with session_factory() as session, session.begin():
        assert begin_attempt(session, CheckinRequest, due.row_id, held_until=now + LEASE, now=now)
        return checkins.record_checkin_sent(session, due, held_until=now + LEASE, now=now, channel="D0OWNER",
                                            ts=ts)


def test_the_dm_lists_the_owners_objectives_then_one_reminder_then_nothing(session, session_factory, active):
    schedule(session_factory, at(dt.date(2025, 6, 5), 12))
    morning = at(dt.date(2025, 6, 6), 9, PARIS)
    ids, due = _claim_and_prepare(session_factory, morning)
    assert len(ids) == 1 and len(due) == 1  # New York's 09:00 has not come yet
    (dm,) = due
    assert (dm.user_id, dm.reminder, dm.plan_id, dm.round_key, dm.qbr_date) == (
        OWNER.user_id, False, active.plan.id, "qbr:2025-06-13", QBR_DAY)
    assert [o.title for o in dm.objectives] == ["Win IDNs", "Grow share"]
    assert (dm.today, dm.timezone, dm.key) == (dt.date(2025, 6, 6), "Europe/Paris", f"c{dm.row_id}-0")
    assert _sent(session_factory, dm, morning)
    assert _claim_and_prepare(session_factory, morning + dt.timedelta(hours=1)) == ([], [])

    row = session.get(CheckinRequest, dm.row_id)
    assert (row.sent_at, row.dm_ts, row.sends) == (morning, "1.0", 1)
    assert row.next_run_at == at(dt.date(2025, 6, 10), 9, PARIS)  # Friday + 2 working days: Tuesday
    progress.record_progress(session, OWNER, active.mine[0].id, "on_track", now=morning + dt.timedelta(hours=2))
    session.commit()
    assert session.get(CheckinRequest, dm.row_id).answered_at is None  # one of two: not answered yet

    reminder_at = at(dt.date(2025, 6, 10), 9, PARIS)
    _, (reminder,) = _claim_and_prepare(session_factory, reminder_at)
    assert reminder.reminder and [o.title for o in reminder.objectives] == ["Grow share"]
    assert reminder.dm_ts == "1.0" and reminder.key == f"c{dm.row_id}-1"
    assert _sent(session_factory, reminder, reminder_at)
    session.expire_all()
    row = session.get(CheckinRequest, dm.row_id)
    assert (row.reminded_at, row.next_run_at) == (reminder_at, None)
    later = at(dt.date(2025, 6, 12), 9, PARIS)
    schedule(session_factory, later)
    ids, due = _claim_and_prepare(session_factory, later)
    assert dm.row_id not in ids and due == []  # (New York's row waits for its 09:00)


def test_an_answer_stops_the_reminder_even_one_on_its_way(session, session_factory, active):
    schedule(session_factory, at(dt.date(2025, 6, 5), 12))
    morning = at(dt.date(2025, 6, 6), 9, PARIS)
    _, (dm,) = _claim_and_prepare(session_factory, morning)
    _sent(session_factory, dm, morning)
    reminder_at = at(dt.date(2025, 6, 10), 9, PARIS)
    ids, (reminder,) = _claim_and_prepare(session_factory, reminder_at)
    for objective in active.mine:  # answered while the reminder is claimed
        progress.record_progress(session, MEMBER, objective.id, "at_risk", now=reminder_at)
    session.commit()
    row = session.get(CheckinRequest, dm.row_id)
    assert row.answered_at == reminder_at and row.next_run_at is None
    with session_factory() as other, other.begin():
        assert not begin_attempt(other, CheckinRequest, reminder.row_id, held_until=reminder_at + LEASE,
                                 now=reminder_at)
        assert not checkins.record_checkin_sent(other, reminder, held_until=reminder_at + LEASE,
                                                now=reminder_at, channel="D0OWNER", ts="2.0")


def test_answered_before_the_reminder_is_due_needs_no_reminder(session, session_factory, active):
    schedule(session_factory, at(dt.date(2025, 6, 5), 12))
    morning = at(dt.date(2025, 6, 6), 9, PARIS)
    _, (dm,) = _claim_and_prepare(session_factory, morning)
    _sent(session_factory, dm, morning)
    # The answers are written straight into the objectives (say, by the plan file): the
    # pass that would remind finds them and closes the row instead.
    for objective in active.mine:
        objective.progress_updated_at = morning + dt.timedelta(hours=1)
    session.commit()
    reminder_at = at(dt.date(2025, 6, 10), 9, PARIS)
    assert _claim_and_prepare(session_factory, reminder_at)[1] == []
    row = session.get(CheckinRequest, dm.row_id)
    session.refresh(row)
    assert row.answered_at == reminder_at and row.next_run_at is None


def test_a_round_that_moved_is_dropped_and_weekends_wait(session, session_factory, active):
    schedule(session_factory, at(dt.date(2025, 6, 5), 12))
    ops.add_review(session, OWNER, active.plan.id, ReviewInput(held_on=dt.date(2025, 6, 5),
                                                               next_qbr_date=dt.date(2025, 9, 12)))
    session.commit()
    morning = at(dt.date(2025, 6, 6), 9, PARIS)
    assert _claim_and_prepare(session_factory, morning)[1] == []
    row = session.scalars(select(CheckinRequest).where(CheckinRequest.owner_id == OWNER.user_id)).one()
    assert (row.next_run_at, row.last_error) == (None, checkins.DROPPED)

    saturday = at(dt.date(2025, 6, 7), 10, NEW_YORK)  # New York's row, caught up on a Saturday
    session.execute(CheckinRequest.__table__.update().where(CheckinRequest.owner_id == MEMBER.user_id)
                    .values(next_run_at=saturday))
    ops.add_review(session, OWNER, active.plan.id, ReviewInput(held_on=dt.date(2025, 6, 6),
                                                               next_qbr_date=QBR_DAY))
    session.commit()
    assert _claim_and_prepare(session_factory, saturday)[1] == []
    member_row = session.scalars(select(CheckinRequest).where(CheckinRequest.owner_id == MEMBER.user_id)).one()
    session.refresh(member_row)
    assert member_row.next_run_at == at(dt.date(2025, 6, 9), 9, NEW_YORK)


def test_settings_are_the_teams_and_ask_again(session, active):
    plan = active.plan
    session.execute(AccountPlan.__table__.update().values(checkins_checked_on=dt.date(2025, 6, 1)))
    version = plan.version
    checkins.set_checkin_settings(session, MEMBER, plan.id, lead_days=10, monthly=True)
    session.commit()
    session.refresh(plan)
    assert (plan.checkin_lead_days, plan.monthly_checkins, plan.checkins_checked_on) == (10, True, None)
    assert plan.version == version
    with pytest.raises(ValidationError) as raised:
        checkins.set_checkin_settings(session, OWNER, plan.id, lead_days=4, monthly=False)
    assert raised.value.field == "checkin_lead_days"
    for actor in (STRANGER, Actor(OWNER.team_id, OWNER.user_id, external=True)):
        with pytest.raises(PermissionDenied):
            checkins.set_checkin_settings(session, actor, plan.id, lead_days=5, monthly=False)


def test_a_permanent_failure_stops_the_row(session, session_factory, active):
    schedule(session_factory, at(dt.date(2025, 6, 5), 12))
    morning = at(dt.date(2025, 6, 6), 9, PARIS)
    _, (dm,) = _claim_and_prepare(session_factory, morning)
    with session_factory() as other, other.begin():
        assert checkins.record_checkin_failure(other, dm.row_id, held_until=morning + LEASE, now=morning,
                                               error="user_not_found", permanent=True)
    row = session.get(CheckinRequest, dm.row_id)
    assert (row.next_run_at, row.last_error) == (None, "user_not_found")
    assert [r.round_key for r in checkins.checkin_requests(session, OWNER.team_id, active.plan.id)] == [
        "qbr:2025-06-13", "qbr:2025-06-13"]


def test_the_database_itself_refuses_a_second_row_for_a_round(session, session_factory, active):
    schedule(session_factory, at(dt.date(2025, 6, 5), 12))
    with pytest.raises(IntegrityError):
        session.add(CheckinRequest(team_id=OWNER.team_id, plan_id=active.plan.id, owner_id=OWNER.user_id,
                                   round_key="qbr:2025-06-13", send_on=dt.date(2025, 6, 6), sends=0, failures=0,
                                   last_error=""))
        session.flush()


def test_a_zone_learnt_after_the_rows_were_made_moves_them_to_nine_there(session, session_factory, active):
    """MEMBER's zone was unknown (New York, the default) when their row was made; once
    Slack says Kolkata, the DM and later its reminder are at 09:00 in Kolkata, and a
    row a pass holds or one already answered stays as it is."""
    kolkata = ZoneInfo("Asia/Kolkata")
    made = at(dt.date(2025, 6, 5), 12)
    schedule(session_factory, made)
    assert rows(session)[0][3] == at(dt.date(2025, 6, 6), 9, NEW_YORK)
    people.record_timezone(session, MEMBER.team_id, MEMBER.user_id, "Asia/Kolkata", now=made)
    assert checkins.owners_zones_changed(session, MEMBER.team_id, [MEMBER.user_id, OWNER.user_id], now=made,
                                         default_tz="America/New_York") == 1  # Paris's was right
    session.commit()
    assert [(owner, when) for owner, _, _, when in rows(session)] == [
        (MEMBER.user_id, at(dt.date(2025, 6, 6), 9, kolkata)), (OWNER.user_id, at(dt.date(2025, 6, 6), 9, PARIS))]

    morning = at(dt.date(2025, 6, 6), 9, kolkata)  # 03:30 UTC: sent then
    _, due = _claim_and_prepare(session_factory, morning)
    (dm,) = [d for d in due if d.user_id == MEMBER.user_id]
    assert dm.timezone == "Asia/Kolkata" and _sent(session_factory, dm, morning)
    # Learnt wrong the first time: they are in Paris after all; the reminder follows.
    people.record_timezone(session, MEMBER.team_id, MEMBER.user_id, "Europe/Paris", now=morning)
    assert checkins.owners_zones_changed(session, MEMBER.team_id, [MEMBER.user_id], now=morning) == 1
    session.commit()
    assert session.get(CheckinRequest, dm.row_id).next_run_at == at(dt.date(2025, 6, 10), 9, PARIS)
    # Held by a pass: not moved (the DM on its way was right when it left).
    held = checkins.claim_due_checkins(session_factory, now=at(dt.date(2025, 6, 10), 9, PARIS), lease=LEASE)
    assert dm.row_id in held
    people.record_timezone(session, MEMBER.team_id, MEMBER.user_id, "Asia/Tokyo", now=morning)
    assert checkins.owners_zones_changed(session, MEMBER.team_id, [MEMBER.user_id],
                                         now=at(dt.date(2025, 6, 10), 9, PARIS)) == 0


def test_a_row_claimed_between_the_read_and_the_write_is_not_moved(session, session_factory, active):
    """owners_zones_changed reads the rows it may move, then writes; a pass that claims
    one in between (another instance) keeps it as it claimed it."""
    from sqlalchemy import event

    made = at(dt.date(2025, 6, 5), 12)
    schedule(session_factory, made)
    people.record_timezone(session, MEMBER.team_id, MEMBER.user_id, "Asia/Kolkata", now=made)
    session.commit()
    (row_id, before), = session.execute(select(CheckinRequest.id, CheckinRequest.next_run_at).where(
        CheckinRequest.owner_id == MEMBER.user_id)).all()
    due = before  # 09:00 in New York on the 6th: another instance claims it then
    engine, seen, claimed, claiming = session.get_bind(), [], [], []

    def between(conn, cursor, statement, *args):
        if claiming:  # the claim's own statements
            return
        if "checkin_requests" in statement and statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)
        elif seen:  # the rows are read; the writes are still to come
            claiming.append(True)
            claimed.extend(checkins.claim_due_checkins(session_factory, now=due, lease=LEASE))

    event.listen(engine, "before_cursor_execute", between)
    try:
        moved = checkins.owners_zones_changed(session, MEMBER.team_id, [MEMBER.user_id], now=made,
                                              default_tz="America/New_York")
        session.commit()
    finally:
        event.remove(engine, "before_cursor_execute", between)
    assert row_id in claimed and moved == 0
    session.expire_all()
    row = session.get(CheckinRequest, row_id)
    assert row.next_run_at == before and row.locked_until == due + LEASE
