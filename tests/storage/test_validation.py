"""Every ValidationError names the field at fault, and nothing is written."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from storage import plans as ops
from storage.errors import ValidationError
from storage.models import NAME_MAX, TEXT_MAX, TITLE_MAX, ChangeLogEntry
from storage.plans import ActionItemInput, ObjectiveInput, ReviewInput

from .conftest import MEMBER, OWNER, make_item, plan_input

TOO_LONG_NAME = "x" * (NAME_MAX + 1)
TOO_LONG_TITLE = "x" * (TITLE_MAX + 1)
TOO_LONG_TEXT = "x" * (TEXT_MAX + 1)


def _item(**fields) -> ActionItemInput:
    return ActionItemInput(**{"title": "Call", "assignee_id": MEMBER.user_id, **fields})


def _objective(**fields) -> ObjectiveInput:
    return ObjectiveInput(**{"title": "Win", **fields})


def _review(**fields) -> ReviewInput:
    return ReviewInput(**{"held_on": dt.date(2025, 3, 1), **fields})


# Each case: (field, operation). `t` is the committed (plan, strategy, objective, item).
CASES = {
    # plans
    "create: empty name": ("name", lambda s, t: ops.create_plan(s, OWNER, plan_input(name="  "))),
    "create: long name": ("name", lambda s, t: ops.create_plan(s, OWNER, plan_input(name=TOO_LONG_NAME))),
    "create: empty account": ("account", lambda s, t: ops.create_plan(s, OWNER, plan_input(account=""))),
    "create: long account": ("account", lambda s, t: ops.create_plan(s, OWNER, plan_input(account=TOO_LONG_NAME))),
    "create: no start": ("start_date", lambda s, t: ops.create_plan(s, OWNER, plan_input(start_date=None))),
    "create: no end": ("end_date", lambda s, t: ops.create_plan(s, OWNER, plan_input(end_date=None))),
    "create: end before start": (
        "end_date",
        lambda s, t: ops.create_plan(
            s, OWNER, plan_input(start_date=dt.date(2025, 2, 1), end_date=dt.date(2025, 1, 31))
        ),
    ),
    "create: unknown status": ("status", lambda s, t: ops.create_plan(s, OWNER, plan_input(status="paused"))),
    "create: bad owner id": ("owner", lambda s, t: ops.create_plan(s, OWNER, plan_input(owner_id="<@U123>"))),
    "create: bad team id": ("team", lambda s, t: ops.create_plan(s, OWNER, plan_input(team=["U1", "not an id"]))),
    "create: long vision": ("vision", lambda s, t: ops.create_plan(s, OWNER, plan_input(vision=TOO_LONG_TEXT))),
    "create: long customer goals": (
        "customer_goals", lambda s, t: ops.create_plan(s, OWNER, plan_input(customer_goals=TOO_LONG_TEXT)),
    ),
    "create: long our goals": (
        "our_goals", lambda s, t: ops.create_plan(s, OWNER, plan_input(our_goals=TOO_LONG_TEXT)),
    ),
    "update: empty name": ("name", lambda s, t: ops.update_plan(s, OWNER, t[0].id, plan_input(name=""))),
    "update: end before start": (
        "end_date",
        lambda s, t: ops.update_plan(s, OWNER, t[0].id, plan_input(end_date=dt.date(2024, 12, 31))),
    ),
    "update: unknown status": ("status", lambda s, t: ops.update_plan(s, OWNER, t[0].id, plan_input(status="x"))),
    "update: bad team id": ("team", lambda s, t: ops.update_plan(s, OWNER, t[0].id, plan_input(team=["U 1"]))),
    # The item of `t` is due 2025-03-01: the plan cannot start after it or end before it.
    "update: start after an item's due date": (
        "start_date",
        lambda s, t: ops.update_plan(s, OWNER, t[0].id, plan_input(start_date=dt.date(2025, 3, 2))),
    ),
    "update: end before an item's due date": (
        "end_date",
        lambda s, t: ops.update_plan(s, OWNER, t[0].id, plan_input(end_date=dt.date(2025, 2, 28))),
    ),
    "status: unknown": ("status", lambda s, t: ops.set_plan_status(s, OWNER, t[0].id, "finished")),
    "status: empty": ("status", lambda s, t: ops.set_plan_status(s, OWNER, t[0].id, " ")),
    # strategies
    "strategy: empty title": ("title", lambda s, t: ops.add_strategy(s, OWNER, t[0].id, " ")),
    "strategy: long title": ("title", lambda s, t: ops.add_strategy(s, OWNER, t[0].id, TOO_LONG_TITLE)),
    "strategy: long description": (
        "description", lambda s, t: ops.add_strategy(s, OWNER, t[0].id, "T", TOO_LONG_TEXT),
    ),
    "strategy edit: empty title": ("title", lambda s, t: ops.update_strategy(s, OWNER, t[1].id, "")),
    # objectives
    "objective: empty title": ("title", lambda s, t: ops.add_objective(s, OWNER, t[1].id, _objective(title=""))),
    "objective: long title": (
        "title", lambda s, t: ops.add_objective(s, OWNER, t[1].id, _objective(title=TOO_LONG_TITLE)),
    ),
    "objective: long description": (
        "description", lambda s, t: ops.add_objective(s, OWNER, t[1].id, _objective(description=TOO_LONG_TEXT)),
    ),
    "objective: long unit": (
        "measure_unit", lambda s, t: ops.add_objective(s, OWNER, t[1].id, _objective(measure_unit=TOO_LONG_NAME)),
    ),
    "objective: target not a number": (
        "target_value", lambda s, t: ops.add_objective(s, OWNER, t[1].id, _objective(target_value="five")),
    ),
    "objective: current not a number": (
        "current_value",
        lambda s, t: ops.add_objective(s, OWNER, t[1].id, _objective(target_value=5, current_value="3 IDNs")),
    ),
    "objective: target not finite": (
        "target_value", lambda s, t: ops.add_objective(s, OWNER, t[1].id, _objective(target_value="NaN")),
    ),
    "objective: target too big": (
        "target_value", lambda s, t: ops.add_objective(s, OWNER, t[1].id, _objective(target_value="1e14")),
    ),
    "objective: current without target": (
        "target_value", lambda s, t: ops.add_objective(s, OWNER, t[1].id, _objective(current_value=2)),
    ),
    "objective edit: current without target": (
        "target_value", lambda s, t: ops.update_objective(s, OWNER, t[2].id, _objective(current_value=2)),
    ),
    # action items
    "item: empty title": ("title", lambda s, t: ops.add_action_item(s, OWNER, t[2].id, _item(title=""))),
    "item: long title": ("title", lambda s, t: ops.add_action_item(s, OWNER, t[2].id, _item(title=TOO_LONG_TITLE))),
    "item: long notes": ("notes", lambda s, t: ops.add_action_item(s, OWNER, t[2].id, _item(notes=TOO_LONG_TEXT))),
    "item: no assignee": ("assignee", lambda s, t: ops.add_action_item(s, OWNER, t[2].id, _item(assignee_id=None))),
    "item: blank assignee": ("assignee", lambda s, t: ops.add_action_item(s, OWNER, t[2].id, _item(assignee_id=" "))),
    "item: bad assignee": (
        "assignee", lambda s, t: ops.add_action_item(s, OWNER, t[2].id, _item(assignee_id="@maria")),
    ),
    "item: assignee id too long": (
        "assignee", lambda s, t: ops.add_action_item(s, OWNER, t[2].id, _item(assignee_id="U" * 33)),
    ),
    "item: due before the plan": (
        "due_date", lambda s, t: ops.add_action_item(s, OWNER, t[2].id, _item(due_date=dt.date(2024, 12, 31))),
    ),
    "item: due after the plan": (
        "due_date", lambda s, t: ops.add_action_item(s, OWNER, t[2].id, _item(due_date=dt.date(2026, 1, 1))),
    ),
    "item edit: due after the plan": (
        "due_date", lambda s, t: ops.update_action_item(s, OWNER, t[3].id, _item(due_date=dt.date(2026, 1, 1))),
    ),
    "item edit: no assignee": (
        "assignee", lambda s, t: ops.update_action_item(s, OWNER, t[3].id, _item(assignee_id="")),
    ),
    # SWOT
    "swot: unknown kind": ("kind", lambda s, t: ops.add_swot_entry(s, OWNER, t[0].id, "risk", "Generics")),
    "swot: empty text": ("text", lambda s, t: ops.add_swot_entry(s, OWNER, t[0].id, "threat", " ")),
    "swot: long text": ("text", lambda s, t: ops.add_swot_entry(s, OWNER, t[0].id, "threat", TOO_LONG_TEXT)),
    # reviews
    "review: no date": ("held_on", lambda s, t: ops.add_review(s, OWNER, t[0].id, _review(held_on=None))),
    "review: next not after": (
        "next_qbr_date", lambda s, t: ops.add_review(s, OWNER, t[0].id, _review(next_qbr_date=dt.date(2025, 3, 1))),
    ),
    "review: long notes": ("notes", lambda s, t: ops.add_review(s, OWNER, t[0].id, _review(notes=TOO_LONG_TEXT))),
    "review: long attendees": (
        "attendees", lambda s, t: ops.add_review(s, OWNER, t[0].id, _review(attendees=TOO_LONG_TEXT)),
    ),
    "review: long decisions": (
        "decisions", lambda s, t: ops.add_review(s, OWNER, t[0].id, _review(decisions=TOO_LONG_TEXT)),
    ),
    # Text PostgreSQL cannot store must not reach it (SQLite would take it: differ no more).
    "create: NUL in name": ("name", lambda s, t: ops.create_plan(s, OWNER, plan_input(name="Plan\x00"))),
    "item: NUL in notes": ("notes", lambda s, t: ops.add_action_item(s, OWNER, t[2].id, _item(notes="a\x00b"))),
}


@pytest.mark.parametrize("case", CASES)
def test_invalid_input_names_its_field_and_writes_nothing(session, tree, case):
    field, operation = CASES[case]
    session.commit()
    before = session.scalar(select(func.count()).select_from(ChangeLogEntry))

    with pytest.raises(ValidationError) as error:
        operation(session, tree)
    session.commit()  # whatever is pending would be written now

    assert error.value.field == field
    assert error.value.message and field in str(error.value)
    assert session.scalar(select(func.count()).select_from(ChangeLogEntry)) == before


def test_failed_plan_edit_leaves_the_plan_as_it_was(session, tree):
    plan, *_ = tree
    with pytest.raises(ValidationError):
        ops.update_plan(session, OWNER, plan.id, plan_input(name="Renamed", end_date=dt.date(2025, 2, 1)))
    session.commit()
    session.expire_all()
    saved = ops.get_plan(session, OWNER.team_id, plan.id)
    assert (saved.name, saved.end_date, saved.version) == (plan.name, dt.date(2025, 12, 31), 1)


def test_names_and_texts_at_their_limit_are_stored(session):
    created = ops.create_plan(
        session, OWNER, plan_input(name="x" * NAME_MAX, account="y" * NAME_MAX, vision="z" * TEXT_MAX)
    )
    session.commit()  # the database takes them too (VARCHAR limits on PostgreSQL)
    assert (len(created.name), len(created.account.name), len(created.vision)) == (NAME_MAX, NAME_MAX, TEXT_MAX)


def test_titles_at_their_limit_are_stored(session, tree):
    plan, _strategy, objective, _item = tree
    assert len(ops.add_strategy(session, OWNER, plan.id, "x" * TITLE_MAX).title) == TITLE_MAX
    assert len(make_item(session, objective, title="x" * TITLE_MAX).title) == TITLE_MAX
    session.commit()


def test_plan_dates_may_shrink_to_the_items_due_dates(session, tree):
    plan, *_ = tree  # the item is due 2025-03-01
    updated = ops.update_plan(
        session, OWNER, plan.id, plan_input(start_date=dt.date(2025, 3, 1), end_date=dt.date(2025, 3, 1))
    )
    assert (updated.start_date, updated.end_date) == (dt.date(2025, 3, 1), dt.date(2025, 3, 1))


@pytest.mark.parametrize("value", ["5", 5, 5.5, " 7.25 ", "-1", "0"])
def test_measures_accept_numbers_in_any_spelling(session, tree, value):
    _plan, strategy, *_ = tree
    objective = ops.add_objective(session, OWNER, strategy.id, _objective(target_value=value, current_value=value))
    assert objective.target_value == objective.current_value == float(str(value).strip())


@pytest.mark.parametrize("user_id", ["U0123ABCD", "W0123ABCD", "U" * 32])
def test_slack_user_ids_are_accepted(session, tree, user_id):
    *_, objective, _item = tree
    assert make_item(session, objective, assignee=f" {user_id} ").assignee_id == user_id


@pytest.mark.parametrize("user_id", ["U123 456", "<@U123>", "U123-4", "Ü123", "U١٢٣"])
def test_things_that_are_not_slack_user_ids_are_refused(session, tree, user_id):
    *_, objective, _item = tree
    with pytest.raises(ValidationError) as error:
        make_item(session, objective, assignee=user_id)
    assert error.value.field == "assignee"
