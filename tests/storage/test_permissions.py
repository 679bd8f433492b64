"""Who may do what.

The owner and the team change a plan; anyone else in the workspace reads it (and may
copy it); another workspace does not see it at all: NotFound, never PermissionDenied,
so that ids do not reveal what exists elsewhere.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from storage import plans as ops
from storage.errors import NotFound, PermissionDenied
from storage.models import ChangeLogEntry, PlanStatus
from storage.plans import ActionItemInput, CopyOptions, ObjectiveInput, ReviewInput

from .conftest import MEMBER, OUTSIDER, OWNER, STRANGER, make_item, make_objective, make_plan, make_strategy, plan_input


@dataclass
class World:
    plan: object
    strategy: object
    other_strategy: object
    objective: object
    other_objective: object
    item: object
    swot: object


@pytest.fixture
def world(session) -> World:
    plan = make_plan(session)
    strategy, other_strategy = make_strategy(session, plan, "S1"), make_strategy(session, plan, "S2")
    objective, other_objective = make_objective(session, strategy, "O1"), make_objective(session, strategy, "O2")
    item = make_item(session, objective, due=dt.date(2025, 3, 1))
    swot = ops.add_swot_entry(session, OWNER, plan.id, "strength", "Efficacy")
    ops.add_swot_entry(session, OWNER, plan.id, "strength", "Field force")  # room to move
    session.commit()
    return World(plan, strategy, other_strategy, objective, other_objective, item, swot)


def _item_input() -> ActionItemInput:
    return ActionItemInput(title="Edited", assignee_id=MEMBER.user_id)


# Every operation that changes a plan, as (session, actor, world) -> anything.
CHANGES = {
    "update_plan": lambda s, a, w: ops.update_plan(s, a, w.plan.id, plan_input(name="Edited")),
    "set_plan_status": lambda s, a, w: ops.set_plan_status(s, a, w.plan.id, "active"),
    "add_strategy": lambda s, a, w: ops.add_strategy(s, a, w.plan.id, "New"),
    "update_strategy": lambda s, a, w: ops.update_strategy(s, a, w.strategy.id, "Edited"),
    "delete_strategy": lambda s, a, w: ops.delete_strategy(s, a, w.other_strategy.id),
    "add_objective": lambda s, a, w: ops.add_objective(s, a, w.strategy.id, ObjectiveInput(title="New")),
    "update_objective": lambda s, a, w: ops.update_objective(s, a, w.objective.id, ObjectiveInput(title="Edited")),
    "delete_objective": lambda s, a, w: ops.delete_objective(s, a, w.other_objective.id),
    "add_action_item": lambda s, a, w: ops.add_action_item(s, a, w.objective.id, _item_input()),
    "update_action_item": lambda s, a, w: ops.update_action_item(s, a, w.item.id, _item_input()),
    "set_action_item_done": lambda s, a, w: ops.set_action_item_done(s, a, w.item.id),
    "delete_action_item": lambda s, a, w: ops.delete_action_item(s, a, w.item.id),
    "add_swot_entry": lambda s, a, w: ops.add_swot_entry(s, a, w.plan.id, "threat", "New"),
    "update_swot_entry": lambda s, a, w: ops.update_swot_entry(s, a, w.swot.id, "strength", "Edited"),
    "delete_swot_entry": lambda s, a, w: ops.delete_swot_entry(s, a, w.swot.id),
    "move strategy": lambda s, a, w: ops.move(s, a, "strategy", w.other_strategy.id, offset=-1),
    "move objective": lambda s, a, w: ops.move(s, a, "objective", w.other_objective.id, offset=-1),
    "move objective to parent": lambda s, a, w: ops.move(
        s, a, "objective", w.objective.id, to_parent_id=w.other_strategy.id
    ),
    "move action item to parent": lambda s, a, w: ops.move(
        s, a, "action_item", w.item.id, to_parent_id=w.other_objective.id
    ),
    "move swot": lambda s, a, w: ops.move(s, a, "swot", w.swot.id, offset=1),
    "add_review": lambda s, a, w: ops.add_review(s, a, w.plan.id, ReviewInput(held_on=dt.date(2025, 4, 1))),
}
OWNER_ONLY = {
    "delete_plan": lambda s, a, w: ops.delete_plan(s, a, w.plan.id),
    "hand over": lambda s, a, w: ops.update_plan(s, a, w.plan.id, plan_input(owner_id=STRANGER.user_id)),
}
READS = {
    "get_plan": lambda s, a, w: ops.get_plan(s, a.team_id, w.plan.id),
    "load_plan_tree": lambda s, a, w: ops.load_plan_tree(s, a.team_id, w.plan.id),
    "plan_progress": lambda s, a, w: ops.plan_progress(s, a.team_id, w.plan.id),
    "get_action_item": lambda s, a, w: ops.get_action_item(s, a.team_id, w.item.id),
    "deep_copy_plan": lambda s, a, w: ops.deep_copy_plan(
        s, a, w.plan.id, CopyOptions("Copy", dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    ),
}


def _log_size(session) -> int:
    return session.scalar(select(func.count()).select_from(ChangeLogEntry))


def _state(session, world) -> tuple:
    """The plan as a reader sees it, fresh from the database."""
    session.expire_all()
    tree = ops.load_plan_tree(session, OWNER.team_id, world.plan.id)
    return (
        tree.name, tree.status, tree.owner_id, tree.member_ids, tree.version,
        [(e.kind, e.text, e.position, e.version) for e in tree.swot_entries],
        [(r.held_on) for r in tree.reviews],
        [
            (s.title, s.position, s.version,
             [(o.title, o.position, o.version,
               [(i.title, i.status, i.position, i.version) for i in o.action_items]) for o in s.objectives])
            for s in tree.strategies
        ],
    )


@pytest.mark.parametrize("change", [*CHANGES, *OWNER_ONLY])
def test_someone_not_on_the_team_may_not_change_anything(session, world, change):
    before, log = _state(session, world), _log_size(session)

    with pytest.raises(PermissionDenied):
        {**CHANGES, **OWNER_ONLY}[change](session, STRANGER, world)
    session.commit()

    assert _state(session, world) == before
    assert _log_size(session) == log


@pytest.mark.parametrize("read", READS)
def test_someone_not_on_the_team_may_read_and_copy(session, world, read):
    assert READS[read](session, STRANGER, world) is not None


@pytest.mark.parametrize("operation", [*CHANGES, *OWNER_ONLY, *READS])
def test_another_workspace_finds_nothing(session, world, operation):
    before = _state(session, world)
    with pytest.raises(NotFound):
        {**CHANGES, **OWNER_ONLY, **READS}[operation](session, OUTSIDER, world)
    session.commit()
    assert _state(session, world) == before


def test_another_workspace_lists_and_searches_nothing(session, world):
    team = OUTSIDER.team_id
    assert ops.list_plans(session, team) == []
    assert ops.list_plans(session, team, user_id=OWNER.user_id) == []
    assert ops.find_plans(session, team, world.plan.name) == []
    assert ops.open_items_for(session, team, MEMBER.user_id) == []
    assert ops.changes_since(session, team, world.plan.id, None) == []


@pytest.mark.parametrize("actor", [OWNER, MEMBER], ids=["owner", "member"])
@pytest.mark.parametrize("change", CHANGES)
def test_the_owner_and_the_team_may_change_everything(session, world, change, actor):
    before, log = _state(session, world), _log_size(session)

    CHANGES[change](session, actor, world)
    session.commit()

    assert _state(session, world) != before
    assert _log_size(session) == log + 1
    last = session.scalars(select(ChangeLogEntry).order_by(ChangeLogEntry.id.desc())).first()
    assert (last.actor_id, last.team_id) == (actor.user_id, actor.team_id)


@pytest.mark.parametrize("change", OWNER_ONLY)
def test_only_the_owner_deletes_or_hands_over_a_plan(session, world, change):
    with pytest.raises(PermissionDenied):
        OWNER_ONLY[change](session, MEMBER, world)
    session.rollback()

    OWNER_ONLY[change](session, OWNER, world)
    session.commit()


def test_a_handed_over_plan_belongs_to_its_new_owner(session, world):
    ops.update_plan(session, OWNER, world.plan.id, plan_input(owner_id=STRANGER.user_id, team=[]))
    session.commit()

    assert ops.set_plan_status(session, STRANGER, world.plan.id, "active").status == PlanStatus.ACTIVE
    with pytest.raises(PermissionDenied):  # the former owner is no longer on it
        ops.set_plan_status(session, OWNER, world.plan.id, "draft")


def test_a_member_may_keep_the_owner_while_editing(session, world):
    # The edit form sends the current owner back: that is not a hand-over.
    updated = ops.update_plan(session, MEMBER, world.plan.id, plan_input(owner_id=OWNER.user_id, name="Edited"))
    assert (updated.owner_id, updated.name) == (OWNER.user_id, "Edited")


def test_a_member_removed_from_the_team_loses_the_right_to_change(session, world):
    ops.update_plan(session, OWNER, world.plan.id, plan_input(team=[]))
    session.commit()
    with pytest.raises(PermissionDenied):
        ops.add_strategy(session, MEMBER, world.plan.id, "Too late")


# ---------------------------------------------------------------------------
# The assignee of an action item may tick it off, even off the team


@pytest.fixture
def assigned_outside(session, world):
    """An item assigned to someone who is not on the plan's team."""
    item = make_item(session, world.objective, assignee="UASSIGNEE")
    session.commit()
    return item


def test_an_assignee_off_the_team_may_mark_their_item_done_and_reopen_it(session, assigned_outside):
    assignee = ops.Actor(OWNER.team_id, "UASSIGNEE")

    done = ops.set_action_item_done(session, assignee, assigned_outside.id)
    assert (done.is_done, done.done_by) == (True, "UASSIGNEE")
    reopened = ops.set_action_item_done(session, assignee, assigned_outside.id, done=False)
    assert (reopened.is_done, reopened.done_by, reopened.done_at) == (False, None, None)


def test_an_assignee_off_the_team_may_not_edit_their_item(session, assigned_outside):
    assignee = ops.Actor(OWNER.team_id, "UASSIGNEE")
    with pytest.raises(PermissionDenied):
        ops.update_action_item(session, assignee, assigned_outside.id, ActionItemInput("Mine", "UASSIGNEE"))


def test_a_stranger_may_not_mark_someone_elses_item_done(session, assigned_outside):
    for done in (True, False):
        with pytest.raises(PermissionDenied):
            ops.set_action_item_done(session, STRANGER, assigned_outside.id, done=done)
    session.expire_all()
    assert not ops.get_action_item(session, OWNER.team_id, assigned_outside.id).is_done
