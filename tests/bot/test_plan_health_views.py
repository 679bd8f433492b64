"""Plan health where the team looks at plans: the plan view's header (score and parts),
each row of `/accountplan list` and App Home (the compact figure), worked out in a fixed
number of queries however many plans are listed (storage.health.health_by_plan)."""

from __future__ import annotations

import datetime as dt
import json
import threading

from sqlalchemy import event

from storage import plans as ops
from storage.plans import Actor, ActionItemInput, ObjectiveInput, PlanInput

TEAM = "T1"
OWNER = "U0OWNER"


def text_of(obj) -> str:
    return json.dumps(obj, ensure_ascii=False)


def make_plans(session_factory, count: int, *, start: int = 0) -> None:
    """`count` plans of OWNER's, each with a strategy, an objective and an overdue item."""
    owner = Actor(TEAM, OWNER)
    today = dt.datetime.now(dt.timezone.utc).date()
    with session_factory() as session, session.begin():
        for n in range(start, start + count):
            plan = ops.create_plan(session, owner, PlanInput(
                f"Plan {n:02d}", f"Account {n:02d}", today - dt.timedelta(days=120),
                today + dt.timedelta(days=240), "active"))
            strategy = ops.add_strategy(session, owner, plan.id, "Grow")
            objective = ops.add_objective(session, owner, strategy.id, ObjectiveInput("More sites"))
            ops.add_action_item(session, owner, objective.id, ActionItemInput(
                "Call the CFO", OWNER, today - dt.timedelta(days=3)))


class Statements:
    """Counts the SQL statements the app runs (every thread, one engine)."""

    def __init__(self, engine) -> None:
        self.engine, self.count, self.lock = engine, 0, threading.Lock()
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, *_args) -> None:
        with self.lock:
            self.count += 1

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._seen)


def list_statements(slack, engine) -> tuple[int, dict]:
    """Statements run by one `/accountplan list`, and what it answered."""
    before = len(slack.api.calls_to("response_url"))
    counter = Statements(engine)
    try:
        slack.command("/accountplan", "list", user=OWNER)
        slack.wait_for("response_url", lambda c: len(slack.api.calls_to("response_url")) > before)
    finally:
        counter.close()
    return counter.count, slack.api.calls_to("response_url")[before].params


def test_list_shows_each_plans_health_in_the_same_queries_for_2_or_19_plans(slack, session_factory, engine):
    make_plans(session_factory, 2)
    list_statements(slack, engine)  # warm: the person's organisation is looked up once
    few, answer = list_statements(slack, engine)
    assert text_of(answer).count(" health ") == 2
    make_plans(session_factory, 17, start=2)  # 19: a full page (20) also counts the rest
    many, answer = list_statements(slack, engine)
    assert text_of(answer).count(" health ") == 19
    assert many == few, (few, many)


def test_app_home_and_the_plan_view_show_health(slack, session_factory):
    make_plans(session_factory, 1)
    slack.app_home_opened(OWNER)
    home = slack.wait_for("views.publish").params["view"]
    assert "Plan 00" in text_of(home) and " health " in text_of(home)
    slack.command("/accountplan", "show Plan 00", user=OWNER)
    view = slack.wait_for("views.open").view
    for part in ("Objectives updated in the last 30 days", "Overdue action items", "Progress against time",
                 "Stakeholder coverage", "QBR in the last 90 days"):
        assert part in text_of(view)
    assert "1 of 1 open items overdue" in text_of(view)
