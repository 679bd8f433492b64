"""The parts a pass sends with: the rate limiter, per-workspace tokens (with rotation in
OAuth mode), `tick` from the command line and the loop `serve` runs."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from slack_sdk.oauth.installation_store import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from sqlalchemy import select

from bot import cli
from bot.config import LOCAL_TEAM, Settings
from bot.scheduler import passes as scheduler
from bot.scheduler.job_context import JobContext, by_turns
from bot.slack.ratelimit import Limit, RateLimiter
from bot.slack.workspaces import NotInstalled, Workspaces
from storage import migrate
from storage import plans as ops
from storage.db import make_engine, make_session_factory
from storage.models import Base, Notification
from storage.plans import ActionItemInput, Actor, ObjectiveInput, PlanInput
from tests.bot import signing
from tests.bot.test_reminders_scheduler import UNHURRIED

OWNER, MEMBER = "U0OWNER", "U0MEMBER"
NOW = dt.datetime(2025, 3, 3, 12, tzinfo=dt.timezone.utc)


@pytest.fixture
def engine(tmp_path):  # the database does not matter here: SQLite only
    engine = make_engine(f"sqlite:///{tmp_path / 'sending.db'}")
    Base.metadata.create_all(engine)
    yield engine
    engine.dispose()


def seed(session_factory, team: str = "T1") -> int:
    owner = Actor(team, OWNER)
    with session_factory() as session, session.begin():
        plan = ops.create_plan(session, owner, PlanInput("Newton 2025", "Newton", dt.date(2025, 1, 1),
                                                         dt.date(2025, 12, 31), "active"))
        strategy = ops.add_strategy(session, owner, plan.id, "Awareness")
        objective = ops.add_objective(session, owner, strategy.id, ObjectiveInput("Outcomes"))
        return ops.add_action_item(session, owner, objective.id,
                                   ActionItemInput("Share the study", MEMBER, dt.date(2025, 3, 10))).id


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_token_buckets_allow_a_burst_then_keep_the_pace():
    clock = Clock()
    limiter = RateLimiter({"chat.postMessage": Limit(2, 2)}, per_channel=Limit(1, 1), clock=clock, sleep=clock.sleep)
    starts = []
    for n in range(5):
        limiter.acquire("T1", "chat.postMessage", f"U{n}")
        starts.append(clock.now)
    assert starts == [0, 0, 0.5, 1.0, 1.5]


def test_one_channel_gets_one_message_a_second_and_workspaces_are_apart():
    clock = Clock()
    limiter = RateLimiter({"chat.postMessage": Limit(100, 100)}, per_channel=Limit(1, 1), clock=clock,
                          sleep=clock.sleep)
    limiter.acquire("T1", "chat.postMessage", "U1")
    limiter.acquire("T2", "chat.postMessage", "U1")  # another workspace's U1: no wait
    assert clock.now == 0
    limiter.acquire("T1", "chat.postMessage", "U1")
    assert clock.now == pytest.approx(1.0)


def test_a_429_pauses_the_whole_workspace_for_retry_after():
    clock = Clock()
    limiter = RateLimiter(clock=clock, sleep=clock.sleep)
    limiter.pause("T1", 30)
    limiter.acquire("T2", "users.info")
    assert clock.now == 0
    limiter.acquire("T1", "users.info")  # any method of the paused workspace waits
    assert clock.now == pytest.approx(30) and limiter.pauses == 1


def test_methods_not_listed_get_the_common_tier():
    clock = Clock()
    limiter = RateLimiter(clock=clock, sleep=clock.sleep)
    for _ in range(4):  # Tier 2: a burst of 3, then 20 a minute
        limiter.acquire("T1", "team.info")
    assert clock.now == pytest.approx(3.0)


def test_by_turns_spreads_one_persons_dms():
    assert by_turns(["a1", "a2", "a3", "b1", "c1", "c2"], key=lambda s: s[0]) == ["a1", "b1", "c1", "a2", "c2", "a3"]


def oauth_settings(slack_api) -> Settings:
    return Settings(client_id="123.456", client_secret="client-secret", signing_secret=signing.SIGNING_SECRET,
                    slack_api_url=slack_api.url, timezone="UTC")


def install(engine, *, expires_in: int) -> SQLAlchemyInstallationStore:
    store = SQLAlchemyInstallationStore(client_id="123.456", engine=engine)
    store.create_tables()
    store.save(Installation(
        app_id="A0ACCOUNTPLAN", enterprise_id=None, team_id="T1", user_id="U1",
        bot_token="xoxe.xoxb-1-old", bot_id="BBOT", bot_user_id="UBOT", bot_scopes=["chat:write"],
        bot_refresh_token="xoxe-1-refresh", bot_token_expires_in=expires_in,
    ))
    return store


def test_oauth_mode_refreshes_an_expiring_token_before_sending(session_factory, engine, slack_api):
    seed(session_factory)
    store = install(engine, expires_in=60)  # inside the rotation window
    settings = oauth_settings(slack_api)
    workspaces = Workspaces(settings, engine, UNHURRIED)
    scheduler.run_pass(JobContext(settings, session_factory, workspaces.client_for, UNHURRIED), NOW)

    refresh = slack_api.wait_for("oauth.v2.access", lambda c: c.params.get("grant_type") == "refresh_token")
    assert refresh.params["refresh_token"] == "xoxe-1-refresh"
    rotated = store.find_installation(enterprise_id=None, team_id="T1").bot_token
    assert rotated != "xoxe.xoxb-1-old" and rotated.endswith("-rotated")
    (dm,) = slack_api.calls_to("chat.postMessage")
    assert dm.token == rotated


def test_oauth_mode_keeps_a_fresh_token_and_skips_what_is_not_installed(session_factory, engine, slack_api):
    seed(session_factory)
    seed(session_factory, team="T404")
    install(engine, expires_in=12 * 3600)
    settings = oauth_settings(slack_api)
    workspaces = Workspaces(settings, engine, UNHURRIED)
    assert workspaces.client_for("T1").token == "xoxe.xoxb-1-old"
    with pytest.raises(NotInstalled):
        workspaces.client_for("T404")
    scheduler.run_pass(JobContext(settings, session_factory, workspaces.client_for, UNHURRIED), NOW)
    assert slack_api.calls_to("oauth.v2.access") == []
    assert [c.params["channel"] for c in slack_api.calls_to("chat.postMessage")] == [MEMBER]
    with session_factory() as session:
        errors = dict(session.execute(select(Notification.team_id, Notification.last_error)).all())
    assert errors == {"T1": "", "T404": "not_installed"}


def test_the_cli_local_workspace_is_never_sent_to(session_factory, engine, settings, slack_api):
    seed(session_factory, team=LOCAL_TEAM)
    scheduler.run_pass(scheduler.make_context(settings, session_factory, UNHURRIED), NOW)
    assert slack_api.calls_to("chat.postMessage") == [] and slack_api.calls_to("users.info") == []


def test_tick_from_the_command_line(tmp_path, slack_api, monkeypatch, capsys):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    seed(make_session_factory(engine))
    engine.dispose()
    for name, value in {"DATABASE_URL": url, "SLACK_BOT_TOKEN": "xoxb-test-token",
                        "SLACK_API_URL": slack_api.url}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("SLACK_SIGNING_SECRET", raising=False)  # tick needs none
    assert cli.main(["tick", "--now", "2025-03-03T12:00:00Z"]) == 0
    assert "1 messages sent" in capsys.readouterr().out
    assert [c.params["channel"] for c in slack_api.calls_to("chat.postMessage")] == [MEMBER]
    monkeypatch.setenv("SLACK_BOT_TOKEN", "not-a-bot-token")
    assert cli.main(["tick"]) == 2
    assert "SLACK_BOT_TOKEN is not a bot token" in capsys.readouterr().err


def test_run_forever_passes_until_stopped(session_factory, settings, slack_api):
    seed(session_factory)
    stop = threading.Event()
    loop = threading.Thread(target=scheduler.run_forever, args=(settings, session_factory),
                            kwargs={"interval": 0.05, "stop": stop})
    loop.start()
    try:
        slack_api.wait_for("chat.postMessage", lambda c: c.params["channel"] == MEMBER)
    finally:
        stop.set()
        loop.join(timeout=5)
    assert not loop.is_alive()
