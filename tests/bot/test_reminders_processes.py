"""Two `accountplan tick` processes at once against one database: every DM exactly once;
and the first ticks after `accountplan import` remind every imported item once.

The fake Web API runs in this test process; both ticks get SLACK_API_URL pointing at it
and DATABASE_URL pointing at a schema of their own (PostgreSQL: search_path in the URL).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.engine import make_url

from storage import migrate, people
from storage import plans as ops
from storage.db import make_engine, make_session_factory
from storage.models import ItemReminder, Person
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
    """Two items for each person: one just assigned to them by the owner, due in a week
    (its assignment DM is waiting), and one they wrote for themselves, whose due-soon
    reminder falls due at NOW. (An assignment DM is that day's DM about its item: a
    reminder of the same item would not follow it that day.)"""
    session_factory = make_session_factory(engine)
    owner = Actor(TEAM, OWNER)
    with session_factory() as session, session.begin():
        plan = ops.create_plan(session, owner, PlanInput("Newton 2025", "Newton", dt.date(2025, 1, 1),
                                                         dt.date(2025, 12, 31), "active", team=PEOPLE))
        strategy = ops.add_strategy(session, owner, plan.id, "Awareness")
        objective = ops.add_objective(session, owner, strategy.id, ObjectiveInput("Outcomes"))
        for user in PEOPLE:
            ops.add_action_item(session, owner, objective.id,
                                ActionItemInput(f"Item for {user}", user, DUE + dt.timedelta(days=7)))
            ops.add_action_item(session, Actor(TEAM, user), objective.id,
                                ActionItemInput(f"Note to self of {user}", user, DUE))
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


# ---------------------------------------------------------------------------
# Issue 9: a plan file imported, then ticks in the afternoon before the due date

IMPORT_PEOPLE = [f"U0I{n:02d}" for n in range(40)]
IMPORT_ZONES = ("UTC", "Europe/Berlin", "Asia/Kolkata")  # all past 09:00 at AFTERNOON
TOMORROW = dt.date(2025, 3, 5)  # a Wednesday
AFTERNOON = dt.datetime(2025, 3, 4, 15, 0, tzinfo=dt.timezone.utc)


def plan_file(path: Path) -> Path:
    """200 open items due tomorrow, five for each of 40 people, in one plan."""
    objectives = []
    for n in range(10):
        items = [{"title": f"Item {n}-{i}", "assignee": IMPORT_PEOPLE[(n * 20 + i) % 40],
                  "due_date": TOMORROW.isoformat(), "status": "open"} for i in range(20)]
        objectives.append({"title": f"Objective {n}", "action_items": items})
    plan = {"name": "Imported 2025", "account": "Newton", "start_date": "2025-01-01",
            "end_date": "2025-12-31", "status": "active", "owner": OWNER, "team": IMPORT_PEOPLE,
            "strategies": [{"title": "Awareness", "objectives": objectives}]}
    path.write_text(json.dumps({"plans": [plan]}))
    return path


def dm_keys(post) -> list[str]:
    """The reminder rows a DM stands for (a DM listing several names each)."""
    payload = post.params["metadata"]["event_payload"]
    return str(payload.get("keys") or payload["key"]).split()


def test_an_import_then_ticks_the_afternoon_before_remind_every_item_once(database, slack_api, tmp_path):
    url, engine = database
    for n, user in enumerate(IMPORT_PEOPLE):  # Slack knows their zones; we do not yet
        slack_api.set_user(user, tz=IMPORT_ZONES[n % len(IMPORT_ZONES)])
    slack_api.slow("chat.postMessage", seconds=0.02)
    env = {**os.environ, "DATABASE_URL": url, "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_API_URL": slack_api.url,
           "ACCOUNTPLAN_TIMEZONE": "UTC"}
    for name in ("SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET"):
        env.pop(name, None)
    imported = subprocess.run([accountplan(), "import", str(plan_file(tmp_path / "plans.json")), "--team", TEAM],
                              env=env, capture_output=True, text=True, timeout=120)
    assert imported.returncode == 0, imported.stderr

    command = [accountplan(), "tick", "--now", AFTERNOON.isoformat()]
    ticks = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outputs = [tick.communicate(timeout=120) for tick in ticks]
    assert [tick.returncode for tick in ticks] == [0, 0], outputs
    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and "0 messages sent" in again.stdout, again

    posts = [c for c in slack_api.calls_to("chat.postMessage") if c.ok]
    reminded = Counter(key for post in posts for key in dm_keys(post))
    with make_session_factory(engine)() as session:
        rows = session.execute(select(ItemReminder.id, ItemReminder.sends, ItemReminder.soon_sent)).all()
    assert len(rows) == 200 and {(sends, soon) for _, sends, soon in rows} == {(1, True)}
    assert reminded == Counter({f"r{row_id}-0": 1 for row_id, _, _ in rows})  # 200/200, each once
    assert len(posts) == len(IMPORT_PEOPLE)  # one DM each, listing their five items
    assert Counter(c.params["channel"] for c in posts) == {user: 1 for user in IMPORT_PEOPLE}
    assert all(json.dumps(c.params).count("due *tomorrow*") == 5 for c in posts)
    sent = [int(re.search(r"(\d+) messages sent", out)[1]) for out, _err in outputs]
    assert sum(sent) == len(posts)
    # Their zones came in bulk: one users.list page for the 40, no users.info each. (The
    # plan's owner, asked for progress on its objectives, is not in this Slack's list: the
    # one person looked up alone.)
    assert len(slack_api.calls_to("users.list")) == 1
    assert {c.params["user"] for c in slack_api.calls_to("users.info")} <= {OWNER}
    with make_session_factory(engine)() as session:
        zones = dict(session.execute(select(Person.user_id, Person.timezone)).all())
    assert zones == {OWNER: "UTC", **{user: IMPORT_ZONES[n % 3] for n, user in enumerate(IMPORT_PEOPLE)}}
