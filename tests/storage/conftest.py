"""Builders shared by the storage tests.

People: OWNER owns the plans `make_plan` builds, MEMBER is on their team, STRANGER is in
the same workspace but not on the team, OUTSIDER is in another workspace (same user id
as OWNER on purpose: the workspace alone must keep them out).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import Engine, event, select

from storage import plans as ops
from storage.models import ActionItem, ItemStatus, Objective, Strategy
from storage.plans import ActionItemInput, Actor, ObjectiveInput, PlanInput

TEAM = "T0TEAM"
OWNER = Actor(TEAM, "UOWNER")
MEMBER = Actor(TEAM, "UMEMBER")
STRANGER = Actor(TEAM, "USTRANGER")
OUTSIDER = Actor("T0OTHER", "UOWNER")

START = dt.date(2025, 1, 1)
END = dt.date(2025, 12, 31)


# Databases: `engine` (tests/conftest.py) is each backend's schema, built once per run
# and emptied before every test; migrations are tested on brand-new databases
# (`empty_engine`, test_migrations.py).


def plan_input(**overrides) -> PlanInput:
    fields = dict(
        name="Newton Memorial Hospital 2025 Strategic Plan",
        account="Newton Memorial Hospital",
        start_date=START,
        end_date=END,
        team=[MEMBER.user_id],
    )
    fields.update(overrides)
    return PlanInput(**fields)


def make_plan(session, actor: Actor = OWNER, **overrides):
    return ops.create_plan(session, actor, plan_input(**overrides))


def make_strategy(session, plan, title="Improve awareness", actor: Actor = OWNER):
    return ops.add_strategy(session, actor, plan.id, title)


def make_objective(session, strategy, title="Explain outcomes", actor: Actor = OWNER, **fields):
    return ops.add_objective(session, actor, strategy.id, ObjectiveInput(title=title, **fields))


def make_item(
    session,
    objective,
    title="Share the latest study",
    assignee: str = MEMBER.user_id,
    due: dt.date | None = None,
    actor: Actor = OWNER,
):
    return ops.add_action_item(
        session, actor, objective.id, ActionItemInput(title=title, assignee_id=assignee, due_date=due)
    )


def make_tree(session, actor: Actor = OWNER, **plan_fields):
    """A small plan: one strategy, one objective, one item; returns all four."""
    plan = make_plan(session, actor, **plan_fields)
    strategy = make_strategy(session, plan, actor=actor)
    objective = make_objective(session, strategy, actor=actor)
    item = make_item(session, objective, due=dt.date(2025, 3, 1), actor=actor)
    return plan, strategy, objective, item


def bulk_tree(session, plan, strategies: int, objectives: int, items: int, *, done_every: int = 0):
    """A big hierarchy written straight through the ORM (fast): sizes are per parent.

    With done_every=n, every n-th item (1st, n+1th, ...) is done. Due dates cycle
    through the plan so that deep copies have something to shift.
    """
    count = 0
    for s in range(strategies):
        strategy = Strategy(team_id=plan.team_id, plan_id=plan.id, position=s, title=f"S{s}")
        session.add(strategy)
        for o in range(objectives):
            objective = Objective(
                team_id=plan.team_id, plan_id=plan.id, position=o, title=f"S{s}O{o}",
                target_value=10, current_value=o,
            )
            strategy.objectives.append(objective)
            for i in range(items):
                done = bool(done_every) and count % done_every == 0
                objective.action_items.append(
                    ActionItem(
                        team_id=plan.team_id,
                        plan_id=plan.id,
                        position=i,
                        title=f"S{s}O{o}I{i}",
                        assignee_id=MEMBER.user_id,
                        due_date=plan.start_date + dt.timedelta(days=count % 300),
                        status=ItemStatus.DONE if done else ItemStatus.OPEN,
                    )
                )
                count += 1
    session.flush()
    return count


def positions(session, model, **where) -> list[tuple[str, int]]:
    """(title or text, position) of the records matching `where`, in position order."""
    label = model.text if hasattr(model, "text") else model.title
    query = select(label, model.position).filter_by(**where).order_by(model.position, model.id)
    return [tuple(row) for row in session.execute(query)]


class QueryCounter:
    def __init__(self) -> None:
        self.statements: list[str] = []

    @property
    def count(self) -> int:
        return len(self.statements)

    def of(self, verb: str) -> list[str]:
        return [s for s in self.statements if s.lstrip().upper().startswith(verb)]


@contextmanager
def counting(engine: Engine) -> Iterator[QueryCounter]:
    """Every statement sent to the database inside the block (one per cursor execute,
    so an executemany or an insertmanyvalues batch counts once)."""
    counter = QueryCounter()

    def record(_conn, _cursor, statement, _params, _context, _executemany):
        counter.statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield counter
    finally:
        event.remove(engine, "before_cursor_execute", record)


@pytest.fixture
def tree(session):
    """(plan, strategy, objective, item) committed, owned by OWNER with MEMBER on the team."""
    built = make_tree(session)
    session.commit()
    return built


@pytest.fixture
def plan(session):
    """An empty plan, committed, owned by OWNER with MEMBER on the team."""
    built = make_plan(session)
    session.commit()
    return built
