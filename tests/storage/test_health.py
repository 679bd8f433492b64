"""Plan health: each part of the score as written in storage/health.py, and its cost: the
same number of queries for a plan of 3 action items, 300 or 1,500, and for 1 plan or 20."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import update

from storage import health, progress
from storage import plans as ops
from storage import stakeholders as sh
from storage.domain import HealthPart, objective_is_stale
from storage.errors import NotFound
from storage.models import ActionItem, Objective
from storage.plans import ReviewInput
from storage.stakeholders import StakeholderInput

from .conftest import OUTSIDER, OWNER, bulk_tree, counting, make_item, make_objective, make_plan, make_strategy

TODAY = dt.date(2025, 7, 2)  # 182 of the plan's 364 days gone
LONG_AGO = dt.datetime(2025, 1, 2, tzinfo=dt.timezone.utc)


def parts(plan_health) -> dict[str, tuple[int, str]]:
    return {p.name: (p.points, p.detail) for p in plan_health.parts}


def test_every_part_of_the_score(session):
    plan = make_plan(session)
    strategy = make_strategy(session, plan)
    objectives = [make_objective(session, strategy, f"O{n}") for n in range(3)]
    items = [make_item(session, objectives[0], f"I{n}", due=dt.date(2025, 8, 1)) for n in range(3)]
    make_item(session, objectives[1], "Overdue", due=dt.date(2025, 6, 1))
    ops.set_action_item_done(session, OWNER, items[0].id)
    session.execute(update(Objective).values(created_at=LONG_AGO))
    progress.record_progress(session, OWNER, objectives[2].id, "on_track",
                             now=dt.datetime(2025, 6, 20, tzinfo=dt.timezone.utc))
    sh.add_stakeholder(session, OWNER, plan.id, StakeholderInput("Ada", role="sponsor"))
    sh.add_stakeholder(session, OWNER, plan.id, StakeholderInput("Cy", role="champion"))
    sh.add_stakeholder(session, OWNER, plan.id, StakeholderInput("Our VP", side="ours", role="decision_maker"))
    ops.add_review(session, OWNER, plan.id, ReviewInput(held_on=dt.date(2025, 5, 1)))
    session.commit()

    result = health.plan_health(session, OWNER.team_id, plan.id, TODAY)
    assert parts(result) == {
        health.OBJECTIVES_PART: (8, "1 of 3 objectives"),  # 25 × 1/3
        health.OVERDUE_PART: (13, "1 of 3 open items overdue"),  # 20 × (1 − 1/3)
        health.PACE_PART: (10, "25 % of items done, 50 % of the time gone"),  # 20 × 0.25/0.5
        health.COVERAGE_PART: (13, "sponsor, champion named; no decision maker"),  # ours does not count
        health.QBR_PART: (15, "last QBR 2025-05-01"),
    }
    assert sum(p.max_points for p in result.parts) == 100
    assert (result.score, result.label) == (59, "Needs attention")
    assert result.stale_objective_ids == {objectives[0].id, objectives[1].id}
    assert {o.id for o in objectives if objective_is_stale(o, TODAY)} == result.stale_objective_ids


def test_a_plan_not_started_and_a_plan_gone_quiet(session):
    plan = make_plan(session)
    session.commit()
    before = health.plan_health(session, OWNER.team_id, plan.id, dt.date(2024, 12, 1))
    assert parts(before) == {
        health.OBJECTIVES_PART: (0, "no objectives yet"),
        health.OVERDUE_PART: (20, "no open action items"),
        health.PACE_PART: (20, "not started yet"),
        health.COVERAGE_PART: (0, "no sponsor, decision maker or champion named"),
        health.QBR_PART: (15, "first QBR not due yet"),
    }
    assert (before.score, before.label) == (55, "Needs attention")
    later = health.plan_health(session, OWNER.team_id, plan.id, dt.date(2025, 5, 1))
    assert parts(later)[health.PACE_PART] == (0, "no action items yet")
    assert parts(later)[health.QBR_PART] == (0, "no QBR yet")


def test_a_healthy_plan(session):
    plan = make_plan(session)
    objective = make_objective(session, make_strategy(session, plan))
    item = make_item(session, objective, due=dt.date(2025, 3, 1))
    ops.set_action_item_done(session, OWNER, item.id)
    for role in ("sponsor", "decision_maker", "champion"):
        sh.add_stakeholder(session, OWNER, plan.id, StakeholderInput(role, role=role))
    ops.add_review(session, OWNER, plan.id, ReviewInput(held_on=dt.date(2025, 6, 1)))
    progress.record_progress(session, OWNER, objective.id, "on_track",
                             now=dt.datetime(2025, 6, 30, tzinfo=dt.timezone.utc))
    session.commit()
    result = health.plan_health(session, OWNER.team_id, plan.id, TODAY)
    assert (result.score, result.label, result.stale_objective_ids) == (100, "Healthy", frozenset())
    assert parts(result)[health.COVERAGE_PART] == (20, "sponsor, decision maker and champion named")


def test_other_workspaces_see_nothing(session):
    plan = make_plan(session)
    session.commit()
    with pytest.raises(NotFound):
        health.plan_health(session, OUTSIDER.team_id, plan.id, TODAY)
    assert health.health_by_plan(session, OUTSIDER.team_id, [plan.id], TODAY) == {}
    assert set(health.health_by_plan(session, OWNER.team_id, [plan.id, 2**40], TODAY)) == {plan.id}


def _statements(engine, work) -> int:
    with counting(engine) as counter:
        work()
    return counter.count


def test_a_fixed_number_of_queries_whatever_the_plans_size(engine, session):
    small, big, huge = (make_plan(session, name=name) for name in ("Small", "Big", "Huge"))
    bulk_tree(session, small, 1, 1, 3, done_every=2)
    bulk_tree(session, big, 5, 6, 10, done_every=3)  # 300 items
    bulk_tree(session, huge, 10, 15, 10, done_every=4)  # 1,500 items
    for plan in (small, big, huge):
        sh.add_stakeholder(session, OWNER, plan.id, StakeholderInput("Ada", role="sponsor"))
    session.commit()
    counts = {plan.name: _statements(engine, lambda p=plan: health.plan_health(session, OWNER.team_id, p.id, TODAY))
              for plan in (small, big, huge)}
    assert counts == {"Small": 5, "Big": 5, "Huge": 5}
    assert len(health.plan_health(session, OWNER.team_id, huge.id, TODAY).stale_objective_ids) == 0
    assert session.query(ActionItem).filter_by(plan_id=huge.id).count() == 1500


def test_a_fixed_number_of_queries_for_a_page_of_plans(engine, session):
    plans = [make_plan(session, name=f"Plan {n}") for n in range(20)]
    for plan in plans:
        bulk_tree(session, plan, 2, 2, 3, done_every=2)
    session.commit()
    one = _statements(engine, lambda: health.health_by_plan(session, OWNER.team_id, [plans[0].id], TODAY))
    twenty = _statements(engine, lambda: health.health_by_plan(session, OWNER.team_id, [p.id for p in plans], TODAY))
    assert one == twenty == 4
    page = health.health_by_plan(session, OWNER.team_id, [p.id for p in plans], TODAY)
    assert set(page) == {p.id for p in plans}
    assert all(isinstance(part, HealthPart) for h in page.values() for part in h.parts)
    alone = health.plan_health(session, OWNER.team_id, plans[0].id, TODAY)
    assert (page[plans[0].id].score, page[plans[0].id].parts) == (alone.score, alone.parts)
