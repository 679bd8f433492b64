"""Pruning (storage/retention.py): what goes once it is older than the retention
period, what stays however old, batches, and the turn claimed once an hour."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select, update

from storage import digests, rate_budget, retention
from storage import plans as ops
from storage import reminders as reminder_ops
from storage.db import make_session_factory
from storage.models import (
    ActionItem,
    Audience,
    CheckinRequest,
    DigestPost,
    DigestReason,
    ItemReminder,
    Notification,
    NotificationKind,
    QbrReview,
    RateBudget,
)

from .conftest import MEMBER, OWNER, TEAM, counting, make_item, make_tree

UTC = dt.timezone.utc
NOW = dt.datetime(2025, 9, 1, 12, tzinfo=UTC)
OLD = NOW - dt.timedelta(days=100)
RECENT = NOW - dt.timedelta(days=10)
RETENTION = dt.timedelta(days=90)


def note(session, *, created=OLD, due=None, sent=True, error="", locked=None, attempted=None, item_id=None):
    row = Notification(team_id=TEAM, kind=NotificationKind.ASSIGNED, user_id=MEMBER.user_id,
                       action_item_id=item_id, actor_id=OWNER.user_id, details=None, created_at=created,
                       next_run_at=due, locked_until=locked, attempted_at=attempted, sends=int(sent),
                       failures=0, last_sent_at=created if sent else None, last_error=error)
    session.add(row)
    session.flush()
    return row.id


def ids(session, model) -> set[int]:
    session.expire_all()
    return set(session.scalars(select(model.id)))


def test_notifications_that_are_over_go_and_the_rest_stay(session):
    gone = [note(session), note(session, sent=False, error="user_not_found"),
            note(session, sent=False, error="overtaken")]
    kept = [
        note(session, created=RECENT),  # within the retention period
        note(session, due=NOW - dt.timedelta(minutes=5), sent=False),  # still due
        # Its attempt ended unknown: the next one looks for its key in the DM first.
        note(session, due=NOW + dt.timedelta(minutes=2), sent=False, attempted=OLD + dt.timedelta(days=1)),
        note(session, locked=NOW + dt.timedelta(minutes=5)),  # a pass holds it right now
    ]
    session.commit()
    report = retention.prune(_factory(session), now=NOW, retention=RETENTION)
    assert report.deleted["notifications"] == len(gone)
    assert ids(session, Notification) == set(kept)


def _factory(session):
    return make_session_factory(session.get_bind())


def test_a_done_items_reminder_row_goes_an_open_ones_stays(session):
    plan, _strategy, objective, done_long_ago = make_tree(session)
    done_lately = make_item(session, objective, title="Done lately", due=dt.date(2025, 8, 1))
    open_item = make_item(session, objective, title="Open", due=dt.date(2025, 3, 1))
    resting = make_item(session, objective, title="Quiet, plan completed later", due=dt.date(2025, 3, 1))
    for item, when in ((done_long_ago, OLD), (done_lately, RECENT)):
        ops.set_action_item_done(session, MEMBER, item.id)
        session.execute(update(ActionItem).where(ActionItem.id == item.id).values(done_at=when, updated_at=when))
    # The open item's last DM, which "done" will redraw; the other open one rests (its
    # plan was completed, say), however long ago.
    session.execute(update(ItemReminder).where(ItemReminder.action_item_id == open_item.id)
                    .values(dm_channel_id="D0MEMBER", dm_ts="1.000100", next_run_at=None, needs_schedule=False))
    session.execute(update(ItemReminder).where(ItemReminder.action_item_id == resting.id)
                    .values(next_run_at=None, needs_schedule=False))
    session.commit()
    report = retention.prune(_factory(session), now=NOW, retention=RETENTION)
    assert report.deleted["item_reminders"] == 1
    session.expire_all()
    remaining = set(session.scalars(select(ItemReminder.action_item_id)))
    assert remaining == {done_lately.id, open_item.id, resting.id}
    assert reminder_ops.latest_dm(session, open_item.id) == ("D0MEMBER", "1.000100")
    # Reopened, the pruned one starts its reminders anew.
    ops.set_action_item_done(session, MEMBER, done_long_ago.id, done=False)
    session.commit()
    session.expire_all()
    row = session.scalars(select(ItemReminder).where(ItemReminder.action_item_id == done_long_ago.id)).one()
    assert row.next_run_at is not None and row.sends == 0


def post(session, plan_id, channel, when, audience=Audience.TEAM):
    return digests.record_post(session, team_id=TEAM, plan_id=plan_id, channel_id=channel, message_ts="1.0",
                               reason=DigestReason.SCHEDULED, audience=audience, posted_by=None, now=when).id


def test_old_digest_posts_go_but_the_latest_of_each_channel_stays(session):
    plan, *_ = make_tree(session)
    other, *_ = make_tree(session, name="Second plan")
    weekly = [post(session, plan.id, "C1", OLD + dt.timedelta(days=7 * n)) for n in range(3)]
    lone = post(session, plan.id, "C2", OLD, audience=Audience.EXTERNAL)  # the only one there
    same_channel_other_plan = post(session, other.id, "C1", OLD)
    recent = [post(session, plan.id, "C1", RECENT)]
    session.commit()
    before = digests.since_for(session, plan.id, "C2", now=NOW)
    report = retention.prune(_factory(session), now=NOW, retention=RETENTION)
    assert report.deleted["digest_posts"] == 2  # the two older weekly ones
    assert ids(session, DigestPost) == {weekly[2], lone, same_channel_other_plan, *recent}
    assert digests.since_for(session, plan.id, "C2", now=NOW) == before == OLD
    assert ops.readable_by_outsider(session, TEAM, plan.id, user_id="UCUSTOMER", channel_id="C2")


def checkin(session, plan, key: str, send_on: dt.date, *, owner=MEMBER.user_id, due=None, locked=None,
            sent=True, reminded=False, answered=False, error=""):
    at = dt.datetime.combine(send_on, dt.time(9), UTC)
    row = CheckinRequest(team_id=TEAM, plan_id=plan.id, owner_id=owner, round_key=key, send_on=send_on,
                         sent_at=at if sent else None, last_sent_at=at if sent else None,
                         reminded_at=at + dt.timedelta(days=2) if reminded else None,
                         answered_at=at + dt.timedelta(days=1) if answered else None,
                         next_run_at=due, locked_until=locked, sends=int(sent), failures=0,
                         last_error=error, created_at=at - dt.timedelta(days=1))
    session.add(row)
    session.flush()
    return row.id


def test_check_ins_that_are_over_go_those_of_the_last_qbr_and_open_rounds_stay(session):
    reviewed, *_ = make_tree(session)
    never_reviewed, *_ = make_tree(session, name="No QBR yet")
    session.add(QbrReview(team_id=TEAM, plan_id=reviewed.id, held_on=dt.date(2025, 5, 2), created_by=OWNER.user_id))
    gone = [
        checkin(session, reviewed, "qbr:2025-05-02", dt.date(2025, 4, 25), answered=True),
        checkin(session, reviewed, "qbr:2025-05-02", dt.date(2025, 4, 25), owner="U0OTHER", reminded=True),
        checkin(session, never_reviewed, "month:2025-04", dt.date(2025, 4, 1), sent=False, error="overtaken"),
        checkin(session, never_reviewed, "month:2025-03", dt.date(2025, 3, 3), reminded=True),
    ]
    kept = [
        # Sent after the plan's latest QBR (its digest's "since the last QBR" period).
        checkin(session, reviewed, "month:2025-05", dt.date(2025, 5, 5), answered=True),
        checkin(session, never_reviewed, "month:2025-08", dt.date(2025, 8, 1), answered=True),  # recent
        checkin(session, never_reviewed, "qbr:2025-05-20", dt.date(2025, 5, 13),
                due=NOW + dt.timedelta(hours=1)),  # still due (its reminder)
        checkin(session, never_reviewed, "month:2025-02", dt.date(2025, 2, 3),
                locked=NOW + dt.timedelta(minutes=5)),  # a pass holds it right now
        # Sent long ago, but its round is still open (a QBR far ahead): pruned, a pass
        # would make the row again and send a second DM.
        checkin(session, never_reviewed, "qbr:2025-09-30", dt.date(2025, 4, 1), answered=True,
                owner="U0EARLY"),
        checkin(session, never_reviewed, "someday:x", dt.date(2025, 1, 6), answered=True),  # unknown round
    ]
    session.commit()
    report = retention.prune(_factory(session), now=NOW, retention=RETENTION)
    assert report.deleted["checkin_requests"] == len(gone)
    assert ids(session, CheckinRequest) == set(kept)
    assert "checkin_requests 4" in str(report)


def test_idle_rate_budgets_go(session_factory, session):
    engine = session.get_bind()
    today = NOW.timestamp()
    rate_budget.reserve(engine, TEAM, [("chat.postMessage", 0.2, 10), ("#U1", 1, 1)], now=today - 3 * 86400)
    rate_budget.reserve(engine, TEAM, [("users.info", 0.6, 10)], now=today - 60)
    rate_budget.pause(engine, "T0OTHER", 30, now=today - 2 * 86400)
    assert rate_budget.claim_turn(engine, "prune", now=today - 10 * 86400, every=3600)
    report = retention.prune(session_factory, now=NOW, retention=RETENTION)
    assert report.deleted["rate_budgets"] == 3
    session.expire_all()
    assert set(session.execute(select(RateBudget.team_id, RateBudget.bucket))) == {
        (TEAM, "users.info"), (rate_budget.JOBS_TEAM, "prune")}


def test_batches_are_small_and_each_its_own_transaction(engine, session_factory, session):
    for _ in range(23):
        note(session)
    session.commit()
    with counting(engine) as counted:
        deleted = retention.prune_notifications(session_factory, before=NOW - RETENTION, now=NOW, batch=5)
    assert deleted == 23
    deletes = counted.of("DELETE")
    assert len(deletes) == 5  # 5 + 5 + 5 + 5 + 3
    assert session.scalar(select(func.count()).select_from(Notification)) == 0


def test_a_pass_replayed_in_the_future_keeps_what_today_still_keeps(session_factory, session):
    today = dt.datetime.now(UTC)
    kept = note(session, created=today - dt.timedelta(days=10))
    gone = note(session, created=today - dt.timedelta(days=200))
    session.commit()
    retention.prune(session_factory, now=today + dt.timedelta(days=1000), retention=RETENTION)
    assert ids(session, Notification) == {kept} and gone


def test_the_turn_to_prune_is_claimed_once_an_hour(session):
    engine = session.get_bind()
    t = NOW.timestamp()
    claims = [rate_budget.claim_turn(engine, "prune", now=t + seconds, every=3600)
              for seconds in (0, 0, 1800, 3599, 3600, 3700)]
    assert claims == [True, False, False, False, True, False]
    # A pass replayed far ahead claims it, and does not hold today's passes back.
    assert rate_budget.claim_turn(engine, "prune", now=t + 10**8, every=3600)
    assert rate_budget.claim_turn(engine, "prune", now=t + 7300, every=3600)


def test_nothing_to_prune_is_a_few_statements(engine, session_factory):
    with counting(engine) as counted:
        report = retention.prune(session_factory, now=NOW, retention=RETENTION)
    assert report.total == 0 and counted.count <= 12
    assert str(report).startswith("pruned what ended before 2025-06-03")
