"""Progress rolls up from action items, and reading a plan costs a fixed number of queries."""

from __future__ import annotations

import pytest

from storage import plans as ops
from storage.errors import NotFound
from storage.plans import Progress

from .conftest import MEMBER, OUTSIDER, OWNER, bulk_tree, counting, make_item, make_objective, make_plan, make_strategy


def test_objective_progress_is_done_over_total_items(session, tree):
    plan, strategy, objective, item = tree
    second = make_item(session, objective, title="Second")
    make_item(session, objective, title="Third")
    ops.set_action_item_done(session, OWNER, item.id)
    ops.set_action_item_done(session, OWNER, second.id)

    progress = ops.plan_progress(session, OWNER.team_id, plan.id)

    assert progress.objective(objective.id) == Progress(2, 3)
    assert progress.objective(objective.id).percent == 67


def test_strategy_and_plan_roll_up_their_objectives(session, tree):
    plan, strategy, objective, item = tree
    ops.set_action_item_done(session, OWNER, item.id)  # objective: 1/1
    empty = make_objective(session, strategy, title="Nothing planned yet")  # 0/0
    other_strategy = make_strategy(session, plan, title="Second strategy")
    other_objective = make_objective(session, other_strategy)
    make_item(session, other_objective)
    make_item(session, other_objective)  # 0/2

    progress = ops.plan_progress(session, OWNER.team_id, plan.id)

    assert progress.objective(empty.id) == Progress(0, 0)
    assert progress.strategy(strategy.id) == Progress(1, 1)
    assert progress.strategy(other_strategy.id) == Progress(0, 2)
    assert progress.plan == Progress(1, 3)
    assert progress.plan.percent == 33


def test_a_plan_without_items_is_at_zero_percent(session):
    plan = make_plan(session)
    progress = ops.plan_progress(session, OWNER.team_id, plan.id)
    assert progress.plan == Progress(0, 0) and progress.plan.percent == 0
    assert progress.strategy(12345) == Progress()


def test_plan_progress_of_another_workspace_is_not_found(session, plan):
    with pytest.raises(NotFound):
        ops.plan_progress(session, OUTSIDER.team_id, plan.id)


def test_progress_by_plan_reports_each_plan(session, tree):
    plan, _strategy, _objective, item = tree
    ops.set_action_item_done(session, OWNER, item.id)
    empty = make_plan(session, name="Empty plan")

    result = ops.progress_by_plan(session, OWNER.team_id, [plan.id, empty.id])

    assert result == {plan.id: Progress(1, 1), empty.id: Progress(0, 0)}
    assert ops.progress_by_plan(session, OWNER.team_id, []) == {}


def test_progress_by_plan_counts_nothing_from_another_workspace(session, tree):
    plan = tree[0]
    assert ops.progress_by_plan(session, OUTSIDER.team_id, [plan.id]) == {plan.id: Progress(0, 0)}


# ---------------------------------------------------------------------------
# Query counts: the same number of statements for a tiny plan and a big one.


def _sized_plan(session, strategies, objectives, items):
    plan = make_plan(session, name=f"Plan {strategies}x{objectives}x{items}")
    bulk_tree(session, plan, strategies, objectives, items, done_every=3)
    session.commit()
    session.expunge_all()  # nothing cached: every read below goes to the database
    return plan


def test_plan_progress_takes_one_query_whatever_the_size(engine, session):
    small = _sized_plan(session, 1, 1, 3)
    big = _sized_plan(session, 3, 10, 10)

    with counting(engine) as for_small:
        small_progress = ops.plan_progress(session, OWNER.team_id, small.id)
    with counting(engine) as for_big:
        big_progress = ops.plan_progress(session, OWNER.team_id, big.id)

    assert (small_progress.plan, big_progress.plan) == (Progress(1, 3), Progress(100, 300))
    assert for_small.count == for_big.count == 1


def test_load_plan_tree_takes_a_fixed_number_of_queries(engine, session):
    small = _sized_plan(session, 1, 1, 3)
    big = _sized_plan(session, 3, 10, 10)

    with counting(engine) as for_small:
        small_tree = ops.load_plan_tree(session, OWNER.team_id, small.id)
    with counting(engine) as for_big:
        big_tree = ops.load_plan_tree(session, OWNER.team_id, big.id)
        # Walking the whole loaded tree (as a view does) must not load anything more.
        titles = [
            (s.title, o.title, i.title, i.assignee_id)
            for s in big_tree.strategies
            for o in s.objectives
            for i in o.action_items
        ]
        _ = (big_tree.account.name, big_tree.member_ids, big_tree.swot_entries, big_tree.reviews)

    assert len(titles) == 300 and len(small_tree.strategies) == 1
    # plan (+ account, joined), members, SWOT, reviews, strategies, objectives, items
    assert for_small.count == for_big.count == 7


def test_progress_by_plan_takes_one_query_for_many_plans(engine, session):
    plan_ids = [_sized_plan(session, 1, 2, 3).id for _ in range(20)]

    with counting(engine) as queries:
        result = ops.progress_by_plan(session, OWNER.team_id, plan_ids)

    assert set(result.values()) == {Progress(2, 6)}
    assert queries.count == 1


def test_progress_roll_up_is_consistent_on_a_big_plan(session):
    plan = _sized_plan(session, 2, 5, 7)  # 70 items, every third done: 24 done

    progress = ops.plan_progress(session, OWNER.team_id, plan.id)

    assert progress.plan == Progress(24, 70)
    assert sum(progress.strategies.values(), Progress()) == progress.plan
    assert sum(progress.objectives.values(), Progress()) == progress.plan
    assert all(p.total == 7 for p in progress.objectives.values())
    assert ops.progress_by_plan(session, MEMBER.team_id, [plan.id]) == {plan.id: progress.plan}
