"""The rate budget every instance shares (bot/slack/ratelimit.py SharedRateLimiter over
storage/rate_budget.py), on SQLite and PostgreSQL: two limiters on one database stand
for two instances; a fake clock stands for the database's.

Processes against a Web API that enforces Slack's limits:
tests/bot/test_rate_budget_processes.py.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from bot.scheduler import digest_jobs
from bot.scheduler import passes as scheduler
from bot.scheduler.job_context import JobContext
from bot.slack.ratelimit import Limit, RateLimiter, SharedRateLimiter
from bot.slack.workspaces import Workspaces
from storage import digests as digest_store
from storage import plans as ops
from storage import rate_budget
from storage.models import RateBudget
from storage.plans import Actor, PlanInput

TEAM, OTHER = "T1", "T2"


class Clock:
    """One clock for every limiter of a test (the database's, in production)."""

    def __init__(self) -> None:
        self.now = 1_000_000.0
        self.slept: list[float] = []
        self.during_sleep = None  # called once, at the next sleep

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        hook, self.during_sleep = self.during_sleep, None
        if hook:
            hook()


def limiters(engine, clock: Clock, n: int = 2, **limits) -> list[SharedRateLimiter]:
    return [SharedRateLimiter(engine, limits.get("limits"), per_channel=limits.get("per_channel", Limit(1, 1)),
                              clock=clock, sleep=clock.sleep) for _ in range(n)]


def test_instances_share_one_bucket_per_workspace_and_method(engine):
    clock = Clock()
    a, b = limiters(engine, clock, limits={"chat.postMessage": Limit(2, 2)})
    start = clock.now
    starts = []
    for n, limiter in enumerate([a, b, a, b, a]):
        limiter.acquire(TEAM, "chat.postMessage", f"U{n}")
        starts.append(clock.now - start)
    # The same as one process's bucket (tests/bot/test_reminders_sending.py): a burst of
    # two, then one every half second, whichever instance asks.
    assert starts == [0, 0, 0.5, 1.0, 1.5]
    a.acquire(OTHER, "chat.postMessage", "U0")  # another workspace: its own budget
    assert clock.now - start == 1.5


def test_one_channel_gets_one_message_a_second_from_all_instances(engine):
    clock = Clock()
    a, b = limiters(engine, clock, limits={"chat.postMessage": Limit(100, 100)})
    start = clock.now
    a.acquire(TEAM, "chat.postMessage", "U1")
    b.acquire(TEAM, "chat.postMessage", "U2")
    assert clock.now == start
    b.acquire(TEAM, "chat.postMessage", "U1")
    assert clock.now - start == pytest.approx(1.0)


def test_tiers_are_kept_and_methods_have_budgets_of_their_own(engine):
    clock = Clock()
    a, b = limiters(engine, clock)
    start = clock.now
    for limiter in (a, b, a):  # users.list: Tier 2, a burst of 3, then 20 a minute
        limiter.acquire(TEAM, "users.list")
    assert clock.now == start
    b.acquire(TEAM, "users.info")  # Tier 4: a budget of its own
    assert clock.now == start
    a.acquire(TEAM, "users.list")
    assert clock.now - start == pytest.approx(3.0)
    b.acquire(TEAM, "conversations.info")  # Tier 3, listed now
    assert a.limits["conversations.info"] == Limit(50 / 60, 5)


def test_a_429_heard_by_one_instance_pauses_the_others(engine):
    clock = Clock()
    a, b = limiters(engine, clock)
    start = clock.now
    a.pause(TEAM, 30)
    b.acquire(OTHER, "users.info")  # another workspace goes on
    assert clock.now == start
    b.acquire(TEAM, "users.info")  # any method of the paused workspace waits
    assert clock.now - start == pytest.approx(30)
    assert a.pauses == 1 and b.waited == pytest.approx(30)
    with engine.connect() as connection:
        until = connection.scalar(select(RateBudget.next_free_at).where(
            RateBudget.team_id == TEAM, RateBudget.bucket == rate_budget.PAUSE))
    assert until == pytest.approx(start + 30)


def test_a_pause_that_comes_while_a_caller_waits_voids_its_slot(engine):
    clock = Clock()
    a, b = limiters(engine, clock, limits={"chat.postMessage": Limit(1, 1)})
    start = clock.now
    a.acquire(TEAM, "chat.postMessage", "U1")
    # b waits a second for its slot; as it ends, a hears a 429 with Retry-After: 10.
    clock.during_sleep = lambda: a.pause(TEAM, 10)
    b.acquire(TEAM, "chat.postMessage", "U2")
    assert clock.now - start == pytest.approx(11)  # not at 1 s, inside the pause
    a.acquire(TEAM, "chat.postMessage", "U3")  # the next slots queue up behind it
    assert clock.now - start == pytest.approx(12)


def test_a_longer_pause_is_not_shortened(engine):
    clock = Clock()
    a, b = limiters(engine, clock)
    a.pause(TEAM, 30)
    b.pause(TEAM, 5)
    until, now = rate_budget.paused_until(a.engine, TEAM, now=clock.now)
    assert until - now == pytest.approx(30)


def test_the_database_clock_by_default(engine):
    """No clock given: the database's (epoch seconds), whatever this process's clock says."""
    limiter = SharedRateLimiter(engine, {"users.info": Limit(1000, 1000)})
    assert limiter.acquire(TEAM, "users.info") == 0
    go, now = rate_budget.reserve(limiter.engine, TEAM, [("users.info", 1.0, 1)])
    assert abs(now - dt.datetime.now(dt.timezone.utc).timestamp()) < 60
    assert go >= now


def test_a_call_after_acquire_takes_no_second_slot(engine):
    clock = Clock()
    (limiter,) = limiters(engine, clock, 1, limits={"users.info": Limit(1, 1)})
    start = clock.now
    limiter.acquire(TEAM, "users.info")
    assert limiter.before_call(TEAM, "users.info") == 0  # the client's call: that slot
    assert clock.now == start
    limiter.before_call(TEAM, "users.info")  # a call nobody took a slot for
    assert clock.now - start == pytest.approx(1.0)


def test_the_in_process_limiter_keeps_credits_too():
    limiter = RateLimiter({"users.info": Limit(1000, 1)})
    limiter.acquire(TEAM, "users.info")
    assert limiter.before_call(TEAM, "users.info") == 0
    assert limiter.before_call(TEAM, "users.info") > 0  # the bucket's one token is spent


def test_scheduled_digests_keep_to_the_shared_budget(engine, session_factory, settings, slack_api):
    """The scheduler's clients take a slot for calls nobody throttled (a digest's
    conversations.info and chat.postMessage)."""
    owner = Actor(TEAM, "U0OWNER")
    now = dt.datetime(2025, 3, 3, 9, 0, 30, tzinfo=dt.timezone.utc)
    with session_factory() as session, session.begin():
        plan = ops.create_plan(session, owner, PlanInput("Newton 2025", "Newton", dt.date(2025, 1, 1),
                                                         dt.date(2025, 12, 31), "active"))
        digest_store.save_subscription(session, owner, plan.id, digest_store.SubscriptionInput(
            channel_id="C1", frequency="weekly", weekday=0, time_of_day="09:00", timezone="UTC"), now=now)
    limiter = SharedRateLimiter(engine)
    workspaces = Workspaces(settings, engine, limiter)
    context = JobContext(settings, session_factory, workspaces.client_for, limiter)
    assert digest_jobs.run_due_digests(context, now + dt.timedelta(days=7)) == 1
    with engine.connect() as connection:
        buckets = set(connection.scalars(select(RateBudget.bucket).where(RateBudget.team_id == TEAM)))
    assert {"conversations.info", "chat.postMessage", "#C1"} <= buckets
    assert scheduler.make_context(settings, session_factory).limiter.__class__ is SharedRateLimiter
