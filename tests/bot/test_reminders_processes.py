"""Two `accountplan tick` processes at once against one database: every DM exactly once.

The fake Web API runs in this test process; both ticks get SLACK_API_URL pointing at it
and DATABASE_URL pointing at a schema of their own (PostgreSQL: search_path in the URL).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlalchemy.engine import make_url

from storage import migrate, people
from storage import plans as ops
from storage.db import make_engine, make_session_factory
from storage.models import ItemReminder
from storage.plans import ActionItemInput, Actor, ObjectiveInput, PlanInput
from tests.bot.conftest import BOT_TOKEN
from tests.conftest import POSTGRES_URL, _fresh_postgres_schema, postgres_engine_in

TEAM, OWNER = "T1", "U0OWNER"
PEOPLE = [f"U0P{n:02d}" for n in range(15)]
DUE = dt.date(2025, 3, 5)
NOW = dt.datetime(2025, 3, 4, 9, 0, 30, tzinfo=dt.timezone.utc)  # the day before, 09:00 UTC


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request, tmp_path):
    """(DATABASE_URL for the processes, engine for this test), schema up to date."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'ticks.db'}"
        engine = make_engine(url)
    else:
        schema = _fresh_postgres_schema(request)
        base = make_url(POSTGRES_URL)
        url = base.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
        engine = postgres_engine_in(schema, pool_size=2, max_overflow=2)
    migrate.upgrade(engine)
    yield url, engine
    engine.dispose()


def seed(engine) -> None:
    """An item for each person: its assignment DM is waiting, and its due-soon reminder
    falls due at NOW."""
    session_factory = make_session_factory(engine)
    owner = Actor(TEAM, OWNER)
    with session_factory() as session, session.begin():
        plan = ops.create_plan(session, owner, PlanInput("Newton 2025", "Newton", dt.date(2025, 1, 1),
                                                         dt.date(2025, 12, 31), "active"))
        strategy = ops.add_strategy(session, owner, plan.id, "Awareness")
        objective = ops.add_objective(session, owner, strategy.id, ObjectiveInput("Outcomes"))
        for user in PEOPLE:
            ops.add_action_item(session, owner, objective.id, ActionItemInput(f"Item for {user}", user, DUE))
            people.record_timezone(session, TEAM, user, "UTC", now=NOW)
        session.execute(update(ItemReminder).values(needs_schedule=False,
                                                    next_run_at=NOW - dt.timedelta(seconds=30)))


def accountplan() -> str:
    found = shutil.which("accountplan", path=str(Path(sys.executable).parent)) or shutil.which("accountplan")
    assert found, "the console script is installed with `pip install -e .`"
    return found


def test_two_tick_processes_send_each_dm_once(database, slack_api):
    url, engine = database
    seed(engine)
    slack_api.slow("chat.postMessage", seconds=0.02)
    env = {**os.environ, "DATABASE_URL": url, "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_API_URL": slack_api.url,
           "ACCOUNTPLAN_TIMEZONE": "UTC"}
    for name in ("SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET"):
        env.pop(name, None)  # tick answers no requests: it needs no signing secret
    command = [accountplan(), "tick", "--now", NOW.isoformat()]
    ticks = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outputs = [tick.communicate(timeout=120) for tick in ticks]
    assert [tick.returncode for tick in ticks] == [0, 0], outputs
    sent = [int(re.search(r"(\d+) messages sent", out)[1]) for out, _err in outputs]

    posts = [c for c in slack_api.calls_to("chat.postMessage") if c.ok]
    keys = Counter(c.params["metadata"]["event_payload"]["key"] for c in posts)
    assert len(keys) == 2 * len(PEOPLE)  # an assignment DM and a reminder each…
    assert set(keys.values()) == {1}  # …each exactly once
    assert sum(sent) == len(posts)  # and the two processes' reports add up
    per_person = Counter(c.params["channel"] for c in posts)
    assert per_person == {user: 2 for user in PEOPLE}
