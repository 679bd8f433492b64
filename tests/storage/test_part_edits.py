"""storage/plans/part_edits.py: the steps adding, editing and deleting a strategy,
objective or action item share, and the change log lines they write for each."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from storage import plans as ops
from storage.errors import NotFound, PermissionDenied
from storage.models import ChangeLogEntry
from storage.plans import ActionItemInput, ObjectiveInput
from storage.plans.part_edits import editable_part

from .conftest import MEMBER, OUTSIDER, OWNER, STRANGER


def _log(session, plan_id):
    return session.execute(
        select(ChangeLogEntry.entity, ChangeLogEntry.action, ChangeLogEntry.summary)
        .where(ChangeLogEntry.plan_id == plan_id).order_by(ChangeLogEntry.id)
    ).all()


def test_each_part_is_logged_by_its_name_when_added_edited_and_deleted(session, tree):
    plan, strategy, objective, item = tree
    ops.update_strategy(session, OWNER, strategy.id, "Grow")
    ops.update_objective(session, OWNER, objective.id, ObjectiveInput(title="Win", description="Why"))
    ops.update_action_item(session, OWNER, item.id, ActionItemInput(title="Call", assignee_id=MEMBER.user_id))
    ops.update_action_item(session, OWNER, item.id, ActionItemInput(title="Call", assignee_id=MEMBER.user_id))
    ops.delete_action_item(session, OWNER, item.id)
    ops.delete_objective(session, OWNER, objective.id)
    ops.delete_strategy(session, OWNER, strategy.id)
    session.commit()

    assert _log(session, plan.id)[1:] == [
        ("strategy", "created", "added strategy “Improve awareness”"),
        ("objective", "created", "added objective “Explain outcomes”"),
        ("action_item", "created", "added action item “Share the latest study”"),
        ("strategy", "updated", "edited strategy “Grow”"),
        ("objective", "updated", "edited objective “Win”"),
        ("action_item", "updated", "edited action item “Call”"),
        # the second, identical edit of the item changed nothing: not logged
        ("action_item", "deleted", "deleted action item “Call”"),
        ("objective", "deleted", "deleted objective “Win”"),
        ("strategy", "deleted", "deleted strategy “Grow”"),
    ]


def test_editable_part_gives_the_part_and_its_plan(session, tree):
    plan, _strategy, _objective, item = tree
    found, its_plan = editable_part(session, MEMBER, "action_item", item.id)
    assert (found, its_plan) == (item, plan)


@pytest.mark.parametrize("entity, words", [("strategy", "strategy"), ("objective", "objective"),
                                           ("action_item", "action item")])
def test_editable_part_names_a_missing_part_in_words(session, tree, entity, words):
    with pytest.raises(NotFound) as missing:
        editable_part(session, OWNER, entity, 999_999)
    assert str(missing.value) == f"No {words} with id 999999 in this workspace."


def test_editable_part_keeps_out_another_workspace_and_whoever_is_not_on_the_team(session, tree):
    _plan, _strategy, objective, _item = tree
    with pytest.raises(NotFound):
        editable_part(session, OUTSIDER, "objective", objective.id)
    with pytest.raises(PermissionDenied):
        editable_part(session, STRANGER, "objective", objective.id)
