"""What the plan view reads for one page of a big plan: the tree down to the objectives,
the item outline (ids in plan order), then only the page's items, in one workspace."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import InvalidRequestError

from storage import plans as ops

from .conftest import OWNER, make_item, make_objective, make_plan, make_strategy


@pytest.fixture
def tree(session):
    plan = make_plan(session)
    first = make_strategy(session, plan, "First")
    second = make_strategy(session, plan, "Second")
    early = make_objective(session, first, "Early")
    late = make_objective(session, second, "Late")
    empty = make_objective(session, second, "Empty")
    items = [make_item(session, early, f"E{n}") for n in range(3)]
    items += [make_item(session, late, f"L{n}") for n in range(2)]
    session.commit()
    return plan, (early, late, empty), items


def test_the_outline_lists_each_objectives_items_in_plan_order(session, tree):
    plan, (early, late, empty), items = tree
    first = items[0]
    ops.move(session, OWNER, "action_item", first.id, offset=+1)  # E1, E0, E2
    session.commit()
    outline = ops.item_outline(session, plan.team_id, plan.id)
    assert outline == {early.id: [items[1].id, items[0].id, items[2].id], late.id: [items[3].id, items[4].id]}
    assert empty.id not in outline


def test_items_by_id_reads_only_the_ids_asked_for_and_only_this_workspace(session, tree):
    plan, _, items = tree
    wanted = [items[4].id, items[0].id]
    found = ops.items_by_id(session, plan.team_id, wanted)
    assert sorted(found) == sorted(wanted) and found[items[4].id].title == "L1"
    assert ops.items_by_id(session, "TOTHER", wanted) == {}
    assert ops.items_by_id(session, plan.team_id, []) == {}


def test_a_tree_without_items_refuses_to_read_them_instead_of_loading_each(session, tree):
    """A view built from the outline must never touch objective.action_items: reading
    it would load every item of the plan, one objective at a time."""
    plan, _, _ = tree
    session.expire_all()
    loaded = ops.load_plan_tree(session, plan.team_id, plan.id, with_items=False)
    objective = loaded.strategies[0].objectives[0]
    assert objective.title == "Early"
    with pytest.raises(InvalidRequestError):
        objective.action_items
    # A whole tree read afterwards in the same session has its items again.
    whole = ops.load_plan_tree(session, plan.team_id, plan.id)
    assert [i.title for i in whole.strategies[0].objectives[0].action_items] == ["E0", "E1", "E2"]
