"""Slack failing while the scheduler sends: nothing lost, nothing sent twice.

The fake Web API answers 429 with Retry-After, 500s, time-outs and permanent errors;
a pass also dies between claiming and sending, and between sending and recording.
Slack's failures do not depend on the database, so these run on SQLite only (leases on
PostgreSQL: tests/storage/test_claims.py, tests/bot/test_reminders_processes.py).
"""

from __future__ import annotations

import datetime as dt
import time

import pytest
from sqlalchemy import select

from bot.scheduler import passes as scheduler
from bot.scheduler.job_context import JobContext
from bot.scheduler.sending import LEASE
from bot.slack.dms import post_dm
from bot.slack.ratelimit import Limit, RateLimiter
from bot.slack.workspaces import Workspaces
from storage import plans as ops
from storage.claims import begin_attempt, claim_due
from storage.db import make_engine
from storage.models import Base, ItemReminder, Notification, utcnow
from storage.plans import ActionItemInput, Actor, ObjectiveInput, PlanInput
from tests.bot.test_reminders_scheduler import UNHURRIED

TEAM, OWNER, MEMBER = "T1", "U0OWNER", "U0MEMBER"
UTC = dt.timezone.utc
NOW = dt.datetime(2025, 3, 3, 12, tzinfo=UTC)  # a Monday, after everyone's 09:00 but Los Angeles'


@pytest.fixture
def engine(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'faults.db'}")
    Base.metadata.create_all(engine)
    yield engine
    engine.dispose()


def seed(session_factory, *, assignees=(MEMBER,), due=dt.date(2025, 3, 10)) -> list[int]:
    owner = Actor(TEAM, OWNER)
    with session_factory() as session, session.begin():
        plan = ops.create_plan(session, owner, PlanInput("Newton 2025", "Newton", dt.date(2025, 1, 1),
                                                         dt.date(2025, 12, 31), "active"))
        strategy = ops.add_strategy(session, owner, plan.id, "Awareness")
        objective = ops.add_objective(session, owner, strategy.id, ObjectiveInput("Outcomes"))
        return [ops.add_action_item(session, owner, objective.id,
                                    ActionItemInput(f"Item for {user}", user, due)).id
                for user in assignees]


def context(settings, session_factory, *, limiter: RateLimiter = UNHURRIED, timeout: int | float = 30) -> JobContext:
    workspaces = Workspaces(settings, session_factory.kw["bind"], limiter, timeout=timeout)
    return JobContext(settings, session_factory, workspaces.client_for, limiter)


def delivered(api, user: str = MEMBER) -> list:
    """DMs to `user` that Slack took (whatever the app heard back)."""
    return [m for (channel, _ts), m in api.messages.items() if channel == "D" + user[1:]]


def serve_history(api) -> None:
    """conversations.history from the fake's own store (newest first, from `oldest`)."""
    def history(call):
        oldest = float(call.params.get("oldest") or 0)
        found = [m for (channel, ts), m in api.messages.items()
                 if channel == call.params["channel"] and float(ts) >= oldest]
        return {"ok": True, "messages": sorted(found, key=lambda m: m["ts"], reverse=True)}
    api.on("conversations.history", history)


def notification(session_factory) -> Notification:
    with session_factory() as session:
        return session.scalars(select(Notification)).one()


def test_a_429_waits_for_retry_after_pauses_the_workspace_and_sends_once(settings, session_factory, slack_api):
    seed(session_factory)
    slack_api.rate_limit("chat.postMessage", retry_after=1, times=1)
    limiter = RateLimiter({"chat.postMessage": Limit(100, 100)}, per_channel=Limit(100, 100))
    started = time.monotonic()
    scheduler.run_pass(context(settings, session_factory, limiter=limiter), NOW)
    assert time.monotonic() - started >= 1.0  # Retry-After was honoured
    assert limiter.pauses == 1
    assert len(delivered(slack_api)) == 1
    assert [c.status for c in slack_api.calls_to("chat.postMessage")] == [429, 200]
    assert notification(session_factory).sends == 1


def test_a_429_that_lasts_keeps_the_dm_pending_until_it_goes(settings, session_factory, slack_api):
    seed(session_factory)
    slack_api.rate_limit("chat.postMessage", retry_after=0, times=3)  # the client retries twice
    jobs = context(settings, session_factory)
    scheduler.run_pass(jobs, NOW)
    note = notification(session_factory)
    assert note.sends == 0 and note.next_run_at is not None and note.last_error == "ratelimited"
    scheduler.run_pass(jobs, NOW + dt.timedelta(seconds=30))  # held back: not yet
    assert len(slack_api.calls_to("chat.postMessage")) == 3
    scheduler.run_pass(jobs, NOW + dt.timedelta(minutes=2))
    assert len(delivered(slack_api)) == 1 and notification(session_factory).sends == 1


def test_server_errors_are_retried_with_back_off_and_nothing_is_doubled(settings, session_factory, slack_api):
    seed(session_factory)
    slack_api.server_error("chat.postMessage", times=3)  # more than the client's own retries
    jobs = context(settings, session_factory)
    scheduler.run_pass(jobs, NOW)
    assert notification(session_factory).failures == 1
    scheduler.run_pass(jobs, NOW + dt.timedelta(minutes=1, seconds=1))
    scheduler.run_pass(jobs, NOW + dt.timedelta(minutes=5))
    assert [c.status for c in slack_api.calls_to("chat.postMessage")] == [500, 500, 500, 200]
    assert len(delivered(slack_api)) == 1


def test_a_time_out_after_slack_posted_is_not_posted_again(settings, session_factory, slack_api):
    seed(session_factory)
    serve_history(slack_api)
    slack_api.slow("chat.postMessage", seconds=1.5, times=1)  # Slack posts it, the answer comes too late
    jobs = context(settings, session_factory, timeout=0.5)
    scheduler.run_pass(jobs, NOW)
    note = notification(session_factory)
    assert note.sends == 0 and note.attempted_at is not None  # outcome unknown
    slack_api.wait_for("chat.postMessage")  # the slow answer lands in the fake's store
    assert len(delivered(slack_api)) == 1
    scheduler.run_pass(jobs, NOW + dt.timedelta(minutes=5))
    assert len(slack_api.calls_to("conversations.history")) == 1
    assert len(delivered(slack_api)) == 1  # found, not posted again
    note = notification(session_factory)
    assert note.sends == 1 and note.attempted_at is None and note.next_run_at is None


def test_a_time_out_before_slack_posted_is_posted_later(settings, session_factory, slack_api):
    seed(session_factory)
    serve_history(slack_api)

    def lost(call):  # no answer in time, and nothing posted
        time.sleep(1.0)
        return 503, {}, {"ok": False, "error": "service_unavailable"}

    slack_api.on("chat.postMessage", lost)
    jobs = context(settings, session_factory, timeout=0.5)
    scheduler.run_pass(jobs, NOW)
    slack_api._overrides.pop("chat.postMessage")
    scheduler.run_pass(jobs, NOW + dt.timedelta(minutes=5))
    assert len(slack_api.calls_to("conversations.history")) == 1
    assert len(delivered(slack_api)) == 1 and notification(session_factory).sends == 1


@pytest.mark.parametrize("error", ["user_not_found", "account_inactive", "channel_not_found"])
def test_a_permanent_error_is_recorded_and_not_retried(settings, session_factory, slack_api, error):
    seed(session_factory)
    slack_api.error("chat.postMessage", error, times=None)
    jobs = context(settings, session_factory)
    for hours in range(0, 24 * 5, 6):  # the assignment now, the due-soon reminder on Friday
        scheduler.run_pass(jobs, NOW + dt.timedelta(hours=hours))
    with session_factory() as session:
        rows = session.scalars(select(Notification)).all() + session.scalars(select(ItemReminder)).all()
        stopped = [r for r in rows if r.last_error == error]
        assert stopped and all(r.next_run_at is None for r in stopped)
    posts = slack_api.calls_to("chat.postMessage")
    assert len(posts) == len(stopped)  # each tried once: the assignment, then the reminder


def test_a_pass_that_dies_after_claiming_is_taken_over_when_its_lease_runs_out(settings, session_factory, slack_api):
    seed(session_factory)
    assert claim_due(session_factory, Notification, now=NOW, lease=LEASE)  # …and then it died
    jobs = context(settings, session_factory)
    scheduler.run_pass(jobs, NOW + dt.timedelta(minutes=1))
    assert delivered(slack_api) == []  # still leased
    scheduler.run_pass(jobs, NOW + LEASE + dt.timedelta(seconds=1))
    assert len(delivered(slack_api)) == 1


def test_a_pass_that_dies_after_sending_is_not_sent_again(settings, session_factory, slack_api):
    seed(session_factory)
    serve_history(slack_api)
    (row_id,) = claim_due(session_factory, Notification, now=NOW, lease=LEASE)
    with session_factory() as session, session.begin():
        assert begin_attempt(session, Notification, row_id, held_until=NOW + LEASE, now=utcnow())
    jobs = context(settings, session_factory)
    post_dm(jobs.client_for_team(TEAM), user_id=MEMBER, message={"text": "assigned"}, key=f"n{row_id}")
    # …the pass died before recording it. The next one, once the lease is out:
    scheduler.run_pass(jobs, NOW + LEASE + dt.timedelta(seconds=1))
    assert len(delivered(slack_api)) == 1
    assert notification(session_factory).sends == 1


def test_a_pass_keeps_to_the_limits_it_is_given(settings, session_factory, slack_api):
    users = [f"U0P{n:02d}" for n in range(8)]
    seed(session_factory, assignees=users + [users[0]])  # one person gets two DMs
    limiter = RateLimiter({"chat.postMessage": Limit(20, 1), "users.info": Limit(1000, 1000)},
                          per_channel=Limit(1, 1))
    scheduler.run_pass(context(settings, session_factory, limiter=limiter), NOW)
    posts = sorted(slack_api.calls_to("chat.postMessage"), key=lambda c: c.at)
    assert len(posts) == 9 and all(c.ok for c in posts)
    # 20 a second, no bursts: the k-th post no sooner than k/20 s after the first. Per
    # post, not per gap: one post delayed on a busy machine shortens the next gap only.
    start = posts[0].at
    assert all(post.at - start >= k * 0.05 - 0.03 for k, post in enumerate(posts))
    twice = [c.at for c in posts if c.params["channel"] == users[0]]
    assert twice[1] - twice[0] >= 0.95  # one a second in one person's DM


def test_a_dm_listing_several_reminders_whose_answer_was_lost_is_not_posted_again(settings, session_factory, slack_api):
    seed(session_factory, assignees=(MEMBER, MEMBER, MEMBER), due=dt.date(2025, 3, 5))
    with session_factory() as session, session.begin():
        session.execute(Notification.__table__.delete())  # as after an import: reminders only
    serve_history(slack_api)
    slack_api.slow("chat.postMessage", seconds=1.5, times=1)  # Slack posts it, the answer comes too late
    jobs = context(settings, session_factory, timeout=0.5)
    tuesday = dt.datetime(2025, 3, 4, 9, 0, 30, tzinfo=UTC)
    scheduler.run_pass(jobs, tuesday)
    with session_factory() as session:
        rows = session.scalars(select(ItemReminder)).all()
        assert {(r.sends, r.attempted_at is not None) for r in rows} == {(0, True)}  # outcome unknown
    slack_api.wait_for("chat.postMessage")  # the slow answer lands in the fake's store
    (dm,) = delivered(slack_api)
    assert len(dm["metadata"]["event_payload"]["keys"].split()) == 3
    scheduler.run_pass(jobs, tuesday + dt.timedelta(minutes=5))
    assert len(slack_api.calls_to("conversations.history")) == 1
    assert len(delivered(slack_api)) == 1  # found, not posted again
    with session_factory() as session:
        rows = session.scalars(select(ItemReminder)).all()
        assert {(r.sends, r.soon_sent, r.attempted_at, r.dm_ts) for r in rows} == {(1, True, None, dm["ts"])}
