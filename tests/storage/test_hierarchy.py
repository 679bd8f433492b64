"""Strategies, objectives, action items and SWOT: add, edit, delete, move."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from storage import plans as ops
from storage.errors import NotFound, ValidationError
from storage.models import (
    ActionItem,
    ChangeLogEntry,
    Objective,
    PlanMember,
    QbrReview,
    Strategy,
    SwotEntry,
    SwotKind,
)
from storage.plans import ActionItemInput, ObjectiveInput

from .conftest import (
    MEMBER,
    OWNER,
    TEAM,
    bulk_tree,
    counting,
    make_item,
    make_objective,
    make_plan,
    make_strategy,
    positions,
)


def _count(session, model, **where) -> int:
    return session.scalar(select(func.count()).select_from(model).filter_by(**where))


# ---------------------------------------------------------------------------
# Adding and editing


def test_add_strategy_appends_at_the_end(session, plan):
    first = make_strategy(session, plan, " First ")
    second = make_strategy(session, plan, "Second")
    assert (first.title, first.position, second.position) == ("First", 0, 1)
    assert (first.plan_id, first.team_id, first.version) == (plan.id, TEAM, 1)


def test_update_strategy(session, tree):
    _plan, strategy, *_ = tree
    updated = ops.update_strategy(session, MEMBER, strategy.id, "New title", " Why ", expected_version=1)
    assert (updated.title, updated.description, updated.version) == ("New title", "Why", 2)


def test_add_objective_qualitative_and_measurable(session, tree):
    _plan, strategy, first, _item = tree
    measured = ops.add_objective(
        session, OWNER, strategy.id,
        ObjectiveInput(title="Win IDNs", measure_unit="IDNs", target_value="5", current_value=" 2.5 "),
    )
    assert not first.is_measurable and first.target_value is None
    assert measured.is_measurable and measured.position == 1
    session.commit()
    session.expire_all()
    saved = session.get(Objective, measured.id)
    assert (saved.target_value, saved.current_value, saved.measure_unit) == (Decimal(5), Decimal("2.5"), "IDNs")
    assert (saved.plan_id, saved.strategy_id) == (strategy.plan_id, strategy.id)


def test_update_objective_can_clear_the_measure(session, tree):
    *_, objective, _item = tree
    ops.update_objective(session, OWNER, objective.id, ObjectiveInput(title="T", target_value=5, current_value=1))
    updated = ops.update_objective(session, OWNER, objective.id, ObjectiveInput(title="Plain again"))
    assert (updated.title, updated.target_value, updated.current_value, updated.version) == (
        "Plain again", None, None, 3,
    )


def test_add_action_item(session, tree):
    plan, _strategy, objective, first = tree
    item = ops.add_action_item(
        session, OWNER, objective.id,
        ActionItemInput(title=" Call Dr. Ruiz ", assignee_id=" USOMEONE ", due_date=dt.date(2025, 5, 1),
                        notes="Bring the study", shared_with_customer=True),
    )
    assert (item.title, item.assignee_id, item.due_date, item.notes, item.shared_with_customer) == (
        "Call Dr. Ruiz", "USOMEONE", dt.date(2025, 5, 1), "Bring the study", True,
    )
    assert (item.position, item.plan_id, item.created_by, item.is_done) == (1, plan.id, OWNER.user_id, False)


def test_due_dates_on_the_plan_edges_are_allowed(session, tree):
    *_, objective, _item = tree
    assert make_item(session, objective, due=dt.date(2025, 1, 1)).due_date == dt.date(2025, 1, 1)
    assert make_item(session, objective, due=dt.date(2025, 12, 31)).due_date == dt.date(2025, 12, 31)


def test_update_action_item(session, tree):
    *_, item = tree
    updated = ops.update_action_item(
        session, MEMBER, item.id,
        ActionItemInput(title="Renamed", assignee_id=OWNER.user_id, due_date=None, notes="n"),
        expected_version=1,
    )
    assert (updated.title, updated.assignee_id, updated.due_date, updated.notes, updated.version) == (
        "Renamed", OWNER.user_id, None, "n", 2,
    )


def test_get_action_item(session, tree):
    *_, item = tree
    assert ops.get_action_item(session, TEAM, item.id) is item
    with pytest.raises(NotFound):
        ops.get_action_item(session, "T0OTHER", item.id)


def test_add_swot_entries_number_each_kind_separately(session, plan):
    s1 = ops.add_swot_entry(session, OWNER, plan.id, "strength", "Efficacy")
    w1 = ops.add_swot_entry(session, OWNER, plan.id, SwotKind.WEAKNESS, "Price")
    s2 = ops.add_swot_entry(session, OWNER, plan.id, " Strength ", "Reps", team_only=False)
    assert [(e.kind, e.position) for e in (s1, w1, s2)] == [
        (SwotKind.STRENGTH, 0), (SwotKind.WEAKNESS, 0), (SwotKind.STRENGTH, 1),
    ]
    assert (s1.team_only, s2.team_only) == (True, False)


def test_update_swot_entry_text(session, plan):
    entry = ops.add_swot_entry(session, OWNER, plan.id, "strength", "Efficacy")
    updated = ops.update_swot_entry(session, MEMBER, entry.id, "strength", "Proven efficacy", team_only=False)
    assert (updated.text, updated.team_only, updated.position, updated.version) == (
        "Proven efficacy", False, 0, 2,
    )


def test_changing_a_swot_entrys_kind_moves_it_to_the_end_of_the_new_kind(session, plan):
    for text in ("S0", "S1", "S2"):
        ops.add_swot_entry(session, OWNER, plan.id, "strength", text)
    ops.add_swot_entry(session, OWNER, plan.id, "threat", "T0")
    moving = session.scalars(select(SwotEntry).filter_by(text="S1")).one()

    updated = ops.update_swot_entry(session, OWNER, moving.id, "threat", "S1", expected_version=1)

    assert updated.version == 2  # one edit, one version
    assert positions(session, SwotEntry, plan_id=plan.id, kind=SwotKind.THREAT) == [("T0", 0), ("S1", 1)]
    assert positions(session, SwotEntry, plan_id=plan.id, kind=SwotKind.STRENGTH) == [("S0", 0), ("S2", 1)]


# ---------------------------------------------------------------------------
# Deleting: children go with their parent, siblings close ranks


def test_delete_strategy_takes_its_objectives_and_items_and_renumbers(session, tree):
    plan, first, objective, _item = tree
    make_item(session, objective)
    second, third = make_strategy(session, plan, "Second"), make_strategy(session, plan, "Third")
    make_item(session, make_objective(session, second))
    session.commit()

    ops.delete_strategy(session, OWNER, first.id)
    session.commit()

    assert positions(session, Strategy, plan_id=plan.id) == [("Second", 0), ("Third", 1)]
    assert _count(session, Objective, strategy_id=first.id) == 0
    assert _count(session, ActionItem, objective_id=objective.id) == 0
    assert _count(session, ActionItem, plan_id=plan.id) == 1  # the second strategy's


def test_delete_objective_takes_its_items_and_renumbers(session, tree):
    _plan, strategy, first, _item = tree
    make_objective(session, strategy, "Second")
    make_objective(session, strategy, "Third")
    session.commit()

    ops.delete_objective(session, OWNER, first.id)
    session.commit()

    assert positions(session, Objective, strategy_id=strategy.id) == [("Second", 0), ("Third", 1)]
    assert _count(session, ActionItem, objective_id=first.id) == 0


def test_delete_action_item_renumbers(session, tree):
    *_, objective, first = tree
    make_item(session, objective, "Second")
    make_item(session, objective, "Third")
    middle = session.scalars(select(ActionItem).filter_by(title="Second")).one()

    ops.delete_action_item(session, OWNER, middle.id)

    assert positions(session, ActionItem, objective_id=objective.id) == [(first.title, 0), ("Third", 1)]


def test_delete_swot_entry_renumbers_its_kind_only(session, plan):
    s0 = ops.add_swot_entry(session, OWNER, plan.id, "strength", "S0")
    ops.add_swot_entry(session, OWNER, plan.id, "strength", "S1")
    ops.add_swot_entry(session, OWNER, plan.id, "threat", "T0")

    ops.delete_swot_entry(session, OWNER, s0.id)

    assert positions(session, SwotEntry, plan_id=plan.id) == [("S1", 0), ("T0", 0)]


def test_delete_plan_takes_everything_with_it(session, tree):
    plan, *_ = tree
    ops.add_swot_entry(session, OWNER, plan.id, "strength", "S0")
    ops.add_review(session, OWNER, plan.id, ops.ReviewInput(held_on=dt.date(2025, 3, 1)))
    keep = make_plan(session, name="Another plan")
    make_item(session, make_objective(session, make_strategy(session, keep)))
    session.commit()

    ops.delete_plan(session, OWNER, plan.id)
    session.commit()

    for model in (Strategy, Objective, ActionItem, SwotEntry, QbrReview, PlanMember):
        assert _count(session, model, plan_id=plan.id) == 0, model.__name__
    assert _count(session, ActionItem, plan_id=keep.id) == 1
    # The change log outlives the plan: "deleted" is the last word on it.
    last = session.scalars(
        select(ChangeLogEntry).filter_by(plan_id=plan.id).order_by(ChangeLogEntry.id.desc())
    ).first()
    assert last.action == "deleted"


def test_deleting_a_copied_from_plan_keeps_the_copy(session, plan):
    copy = ops.deep_copy_plan(
        session, OWNER, plan.id, ops.CopyOptions("Next", dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    )
    session.commit()
    ops.delete_plan(session, OWNER, plan.id)
    session.commit()
    session.expire_all()
    assert ops.get_plan(session, TEAM, copy.id).copied_from_id is None


def test_deleting_a_big_plan_takes_a_few_statements(engine, session):
    plan = make_plan(session)
    bulk_tree(session, plan, 5, 10, 10)
    session.commit()
    session.expunge_all()

    with counting(engine) as queries:
        ops.delete_plan(session, OWNER, plan.id)
        session.commit()

    assert _count(session, ActionItem, plan_id=plan.id) == 0
    assert queries.count <= 6  # read the plan, log, delete: the database cascades


# ---------------------------------------------------------------------------
# Moving


@pytest.fixture
def three(session, plan):
    """Three strategies A, B, C in that order."""
    return [make_strategy(session, plan, title) for title in "ABC"]


@pytest.mark.parametrize(
    ("which", "offset", "expected"),
    [
        (1, -1, "BAC"),
        (1, +1, "ACB"),
        (0, -1, "ABC"),  # the first cannot go higher
        (2, +1, "ABC"),  # the last cannot go lower
        (0, +5, "BCA"),  # far beyond the end: to the end
        (2, -5, "CAB"),
        (1, 0, "ABC"),
    ],
)
def test_move_strategy_up_and_down_clamps_at_the_ends(session, plan, three, which, offset, expected):
    ops.move(session, MEMBER, "strategy", three[which].id, offset=offset)
    order = positions(session, Strategy, plan_id=plan.id)
    assert "".join(title for title, _ in order) == expected
    assert [p for _, p in order] == [0, 1, 2]


def test_move_objective_action_item_and_swot_within_their_parent(session, tree):
    plan, strategy, objective, item = tree
    second_objective = make_objective(session, strategy, "Second")
    second_item = make_item(session, objective, "Second")
    ops.add_swot_entry(session, OWNER, plan.id, "strength", "S0")
    s1 = ops.add_swot_entry(session, OWNER, plan.id, "strength", "S1")

    ops.move(session, OWNER, "objective", second_objective.id, offset=-1)
    ops.move(session, OWNER, "action_item", second_item.id, offset=-1)
    ops.move(session, OWNER, "swot", s1.id, offset=-1)

    assert positions(session, Objective, strategy_id=strategy.id) == [("Second", 0), (objective.title, 1)]
    assert positions(session, ActionItem, objective_id=objective.id) == [("Second", 0), (item.title, 1)]
    assert positions(session, SwotEntry, plan_id=plan.id) == [("S1", 0), ("S0", 1)]


def test_move_objective_to_another_strategy_of_the_plan(session, tree):
    plan, first, objective, item = tree
    staying = make_objective(session, first, "Staying")
    second = make_strategy(session, plan, "Second")
    already = make_objective(session, second, "Already there")

    moved = ops.move(session, OWNER, "objective", objective.id, to_parent_id=second.id)

    assert moved.strategy_id == second.id
    assert positions(session, Objective, strategy_id=second.id) == [(already.title, 0), (objective.title, 1)]
    assert positions(session, Objective, strategy_id=first.id) == [(staying.title, 0)]
    assert session.get(ActionItem, item.id).objective_id == objective.id  # its items come along
    assert ops.plan_progress(session, TEAM, plan.id).strategy(second.id).total == 1


def test_move_action_item_to_another_objective_of_the_plan(session, tree):
    _plan, strategy, objective, item = tree
    staying = make_item(session, objective, "Staying")
    other = make_objective(session, strategy, "Other")

    ops.move(session, OWNER, "action_item", item.id, to_parent_id=other.id)

    assert positions(session, ActionItem, objective_id=other.id) == [(item.title, 0)]
    assert positions(session, ActionItem, objective_id=objective.id) == [(staying.title, 0)]


def test_moving_to_the_same_parent_changes_nothing(session, tree):
    _plan, strategy, objective, _item = tree
    make_objective(session, strategy, "Second")
    ops.move(session, OWNER, "objective", objective.id, to_parent_id=strategy.id)
    assert positions(session, Objective, strategy_id=strategy.id) == [(objective.title, 0), ("Second", 1)]


@pytest.mark.parametrize("entity", ["objective", "action_item"])
def test_moving_to_a_parent_in_another_plan_is_refused(session, tree, entity):
    _plan, _strategy, objective, item = tree
    other_plan = make_plan(session, name="Other plan")
    other_strategy = make_strategy(session, other_plan)
    other_objective = make_objective(session, other_strategy)
    record, parent = (objective, other_strategy) if entity == "objective" else (item, other_objective)

    with pytest.raises(ValidationError) as error:
        ops.move(session, OWNER, entity, record.id, to_parent_id=parent.id)

    assert error.value.field == "parent"
    session.expire_all()
    assert session.get(type(record), record.id).plan_id == record.plan_id


@pytest.mark.parametrize("entity", ["strategy", "swot"])
def test_strategies_and_swot_have_no_other_parent(session, tree, entity):
    plan, strategy, *_ = tree
    record = strategy if entity == "strategy" else ops.add_swot_entry(session, OWNER, plan.id, "threat", "T")
    with pytest.raises(ValidationError) as error:
        ops.move(session, OWNER, entity, record.id, to_parent_id=plan.id)
    assert error.value.field == "parent"


def test_move_of_an_unknown_kind_of_record_is_refused(session, plan):
    with pytest.raises(ValidationError) as error:
        ops.move(session, OWNER, "plan", plan.id, offset=1)
    assert error.value.field == "entity"


def test_move_to_a_missing_parent_is_not_found(session, tree):
    *_, objective, _item = tree
    with pytest.raises(NotFound):
        ops.move(session, OWNER, "objective", objective.id, to_parent_id=987654)
