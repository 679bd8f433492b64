"""Optimistic concurrency: a stale edit raises Conflict and saves nothing.

Two ways to lose a race: the form carried an old `expected_version` (checked before
writing), or two requests loaded the same row and both wrote (the versioned UPDATE of
the second matches no row, seen at flush).
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.exc import PendingRollbackError

from storage import plans as ops
from storage.db import transaction
from storage.errors import Conflict
from storage.models import ActionItem, Strategy
from storage.plans import ActionItemInput, ObjectiveInput

from .conftest import MEMBER, OWNER, plan_input


def test_stale_expected_version_on_strategy_is_a_conflict_and_saves_nothing(session, tree):
    _plan, strategy, _objective, _item = tree
    ops.update_strategy(session, OWNER, strategy.id, "First edit", expected_version=1)
    session.commit()

    with pytest.raises(Conflict):
        ops.update_strategy(session, MEMBER, strategy.id, "Second edit", expected_version=1)
    session.commit()  # the caller may commit whatever else it did: nothing of the edit is in it

    session.expire_all()
    assert session.get(Strategy, strategy.id).title == "First edit"
    assert session.get(Strategy, strategy.id).version == 2


@pytest.mark.parametrize("level", ["plan", "strategy", "objective", "action_item", "swot"])
def test_stale_expected_version_is_refused_at_every_level(session, tree, level):
    plan, strategy, objective, item = tree
    entry = ops.add_swot_entry(session, OWNER, plan.id, "strength", "Efficacy")
    session.commit()
    edits = {
        "plan": lambda v: ops.update_plan(session, OWNER, plan.id, plan_input(name="New"), expected_version=v),
        "strategy": lambda v: ops.update_strategy(session, OWNER, strategy.id, "New", expected_version=v),
        "objective": lambda v: ops.update_objective(
            session, OWNER, objective.id, ObjectiveInput(title="New"), expected_version=v
        ),
        "action_item": lambda v: ops.update_action_item(
            session, OWNER, item.id, ActionItemInput(title="New", assignee_id=MEMBER.user_id), expected_version=v
        ),
        "swot": lambda v: ops.update_swot_entry(session, OWNER, entry.id, "strength", "New", expected_version=v),
    }
    with pytest.raises(Conflict):
        edits[level](0)
    assert edits[level](1).version == 2


def test_race_on_strategy_keeps_the_first_writer(session_factory, tree):
    _plan, strategy, _objective, _item = tree
    first, second = session_factory(), session_factory()
    try:
        # Both requests read version 1 and pass the expected_version check.
        held = [s.get(Strategy, strategy.id) for s in (first, second)]  # noqa: F841 - keep loaded
        ops.update_strategy(first, OWNER, strategy.id, "Owner's title", expected_version=1)
        first.commit()
        with pytest.raises(Conflict):
            ops.update_strategy(second, MEMBER, strategy.id, "Member's title", expected_version=1)
    finally:
        first.close()
        second.close()

    with session_factory() as fresh:
        saved = fresh.get(Strategy, strategy.id)
        assert (saved.title, saved.version) == ("Owner's title", 2)


def test_race_on_action_item_done_keeps_the_first_writer(session_factory, tree):
    *_, item = tree
    first, second = session_factory(), session_factory()
    try:
        # The second request loaded the item before the first one saved.
        held = second.get(ActionItem, item.id)  # noqa: F841 - keep it loaded (identity map is weak)
        ops.update_action_item(
            first, OWNER, item.id,
            ActionItemInput(title="Renamed", assignee_id=MEMBER.user_id, due_date=dt.date(2025, 4, 1)),
        )
        first.commit()
        with pytest.raises(Conflict):
            ops.set_action_item_done(second, MEMBER, item.id)
    finally:
        first.close()
        second.close()

    with session_factory() as fresh:
        saved = fresh.get(ActionItem, item.id)
        assert (saved.title, saved.due_date, saved.is_done, saved.version) == (
            "Renamed", dt.date(2025, 4, 1), False, 2,
        )


def test_conflict_inside_a_transaction_block_rolls_it_all_back(session_factory, tree):
    """Everything the request did before the conflict goes too: all or nothing."""
    plan, strategy, *_ = tree
    with pytest.raises(Conflict):
        with transaction(session_factory) as request:
            held = request.get(Strategy, strategy.id)  # noqa: F841 - loaded at version 1
            with session_factory() as other:  # version 2 lands while the request works
                other.get(Strategy, strategy.id).title = "Someone else's"
                other.commit()
            ops.add_swot_entry(request, OWNER, plan.id, "threat", "Written before the conflict")
            ops.update_strategy(request, OWNER, strategy.id, "Mine")

    with session_factory() as fresh:
        assert fresh.get(Strategy, strategy.id).title == "Someone else's"
        assert ops.load_plan_tree(fresh, OWNER.team_id, plan.id).swot_entries == []


def test_after_a_conflict_the_session_refuses_work_until_rolled_back(session_factory, tree):
    """A caller that catches Conflict cannot carry on and half-commit by accident."""
    plan, strategy, *_ = tree
    with session_factory() as request, session_factory() as other:
        held = request.get(Strategy, strategy.id)  # noqa: F841 - loaded at version 1
        other.get(Strategy, strategy.id).title = "Someone else's"
        other.commit()
        with pytest.raises(Conflict):
            ops.update_strategy(request, OWNER, strategy.id, "Mine")
        with pytest.raises(PendingRollbackError):
            ops.add_swot_entry(request, OWNER, plan.id, "threat", "After the conflict")
        request.rollback()
        # A fresh read now shows the winner's value: the request can show it to the user.
        assert ops.get_plan(request, OWNER.team_id, plan.id).id == plan.id
        assert request.scalars(select(Strategy.title).where(Strategy.id == strategy.id)).one() == (
            "Someone else's"
        )


def test_deleting_an_item_someone_just_edited_is_a_conflict(session_factory, tree):
    *_, item = tree
    with session_factory() as request, session_factory() as other:
        held = request.get(ActionItem, item.id)  # noqa: F841 - loaded at version 1
        ops.update_action_item(other, OWNER, item.id, ActionItemInput(title="Still needed", assignee_id=MEMBER.user_id))
        other.commit()
        with pytest.raises(Conflict):
            ops.delete_action_item(request, MEMBER, item.id)

    with session_factory() as fresh:
        assert fresh.get(ActionItem, item.id).title == "Still needed"
