"""Plans: create, edit, status, delete, list and find."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from storage import plans as ops
from storage.errors import NotFound, ValidationError
from storage.models import Account, PlanStatus

from .conftest import END, MEMBER, OUTSIDER, OWNER, STRANGER, TEAM, make_plan, plan_input


def test_create_plan_stores_every_field(session):
    plan = ops.create_plan(
        session, OWNER,
        plan_input(status="active", team=[MEMBER.user_id, " UOTHER ", MEMBER.user_id, OWNER.user_id],
                   vision=" Partner of choice ", customer_goals="Fewer readmissions", our_goals="Formulary"),
    )
    session.commit()
    session.expire_all()

    saved = ops.get_plan(session, TEAM, plan.id)
    assert (saved.name, saved.account.name, saved.start_date, saved.end_date) == (
        "Newton Memorial Hospital 2025 Strategic Plan", "Newton Memorial Hospital",
        dt.date(2025, 1, 1), END,
    )
    assert (saved.status, saved.owner_id, saved.version) == (PlanStatus.ACTIVE, OWNER.user_id, 1)
    # The owner is not a member of their own team; duplicates and blanks around ids go.
    assert saved.member_ids == ["UMEMBER", "UOTHER"]
    assert (saved.vision, saved.customer_goals, saved.our_goals) == (
        "Partner of choice", "Fewer readmissions", "Formulary",
    )
    assert saved.status == PlanStatus.ACTIVE and saved.copied_from_id is None


def test_new_plans_are_drafts_owned_by_their_creator(session):
    plan = ops.create_plan(session, MEMBER, plan_input(team=[]))
    assert (plan.status, plan.owner_id, plan.member_ids) == (PlanStatus.DRAFT, MEMBER.user_id, [])


def test_a_plan_can_be_created_for_another_owner(session):
    plan = make_plan(session, owner_id="UBOSS")
    assert plan.owner_id == "UBOSS"


def test_plans_of_one_account_share_the_account_row(session):
    first = make_plan(session, name="2025")
    second = make_plan(session, name="2026")
    third = make_plan(session, name="Other", account="St. Mary's Hospital")

    assert first.account_id == second.account_id != third.account_id
    assert session.scalar(select(func.count()).select_from(Account)) == 2


def test_update_plan_changes_fields_and_bumps_the_version(session, plan):
    updated = ops.update_plan(
        session, MEMBER, plan.id,
        plan_input(name="Renamed", account="Newton Health", status="completed",
                   start_date=dt.date(2025, 2, 1), end_date=dt.date(2025, 6, 30),
                   team=[MEMBER.user_id, "UNEW"], vision="New vision"),
        expected_version=1,
    )
    session.commit()
    session.expire_all()

    saved = ops.get_plan(session, TEAM, plan.id)
    assert (saved.name, saved.account.name, saved.status, saved.vision) == (
        "Renamed", "Newton Health", PlanStatus.COMPLETED, "New vision",
    )
    assert (saved.start_date, saved.end_date) == (dt.date(2025, 2, 1), dt.date(2025, 6, 30))
    assert saved.member_ids == ["UMEMBER", "UNEW"] and updated.version == 2


def test_update_plan_removes_team_members(session, plan):
    ops.update_plan(session, OWNER, plan.id, plan_input(team=[]))
    session.commit()
    session.expire_all()
    assert ops.get_plan(session, TEAM, plan.id).member_ids == []


def test_the_owner_hands_the_plan_to_another_owner(session, plan):
    ops.update_plan(session, OWNER, plan.id, plan_input(owner_id=MEMBER.user_id, team=[MEMBER.user_id, OWNER.user_id]))
    session.commit()
    session.expire_all()

    saved = ops.get_plan(session, TEAM, plan.id)
    assert saved.owner_id == MEMBER.user_id
    assert saved.member_ids == [OWNER.user_id]  # the new owner is no longer a mere member


def test_set_plan_status(session, plan):
    assert ops.set_plan_status(session, MEMBER, plan.id, " Archived ").status == PlanStatus.ARCHIVED
    assert ops.set_plan_status(session, MEMBER, plan.id, PlanStatus.ACTIVE).status == PlanStatus.ACTIVE


def test_delete_plan_removes_it(session, plan):
    ops.delete_plan(session, OWNER, plan.id)
    session.commit()
    with pytest.raises(NotFound):
        ops.get_plan(session, TEAM, plan.id)


def test_get_plan_of_an_unknown_id_is_not_found(session):
    with pytest.raises(NotFound):
        ops.get_plan(session, TEAM, 424242)


def test_load_plan_tree_orders_children_by_position(session, tree):
    plan, strategy, objective, item = tree
    second = ops.add_strategy(session, OWNER, plan.id, "Second")
    ops.move(session, OWNER, "strategy", second.id, offset=-1)
    session.commit()
    session.expunge_all()

    loaded = ops.load_plan_tree(session, TEAM, plan.id)
    assert [s.title for s in loaded.strategies] == ["Second", strategy.title]
    assert loaded.strategies[1].objectives[0].action_items[0].id == item.id


# ---------------------------------------------------------------------------
# Listing


@pytest.fixture
def many(session):
    """Four plans: two of OWNER's, one MEMBER is on, one of STRANGER's alone."""
    made = dict(
        owner_active=make_plan(session, name="A 2025", status="active", team=[]),
        owner_draft=make_plan(session, name="B 2024", account="St. Mary's Hospital",
                              start_date=dt.date(2024, 1, 1), end_date=dt.date(2024, 12, 31), team=[]),
        with_member=make_plan(session, STRANGER, name="C 2025", account="Mercy 100% Care", team=[MEMBER.user_id]),
        strangers=make_plan(session, STRANGER, name="D 2025", account="Mercy_Care", status="active", team=[]),
    )
    make_plan(session, OUTSIDER, name="Elsewhere", team=[MEMBER.user_id])
    session.commit()
    return made


def _names(plans):
    return [p.name for p in plans]


def test_list_plans_of_a_workspace_newest_first(session, many):
    assert _names(ops.list_plans(session, TEAM)) == ["A 2025", "C 2025", "D 2025", "B 2024"]


def test_list_plans_mine_means_owner_or_team_member(session, many):
    assert _names(ops.list_plans(session, TEAM, user_id=OWNER.user_id)) == ["A 2025", "B 2024"]
    assert _names(ops.list_plans(session, TEAM, user_id=MEMBER.user_id)) == ["C 2025"]
    assert _names(ops.list_plans(session, TEAM, user_id="UNOBODY")) == []


def test_list_plans_by_status(session, many):
    assert _names(ops.list_plans(session, TEAM, status=PlanStatus.ACTIVE)) == ["A 2025", "D 2025"]
    assert _names(ops.list_plans(session, TEAM, status="draft")) == ["C 2025", "B 2024"]


def test_list_plans_by_unknown_status_is_a_validation_error(session, many):
    with pytest.raises(ValidationError) as error:
        ops.list_plans(session, TEAM, status="bogus")
    assert error.value.field == "status"


def test_list_plans_by_account_fragment_ignoring_case(session, many):
    assert _names(ops.list_plans(session, TEAM, account="st. mary")) == ["B 2024"]
    assert _names(ops.list_plans(session, TEAM, account="MERCY")) == ["C 2025", "D 2025"]


@pytest.mark.parametrize(
    ("text", "expected"),
    # As a wildcard, "y_" would also match "Mercy 100% Care", and "%" every account.
    [("100%", ["C 2025"]), ("y_", ["D 2025"]), ("%", ["C 2025"])],
)
def test_list_plans_by_account_takes_percent_and_underscore_literally(session, many, text, expected):
    assert _names(ops.list_plans(session, TEAM, account=text)) == expected


def test_list_plans_combines_filters_and_pages(session, many):
    assert _names(ops.list_plans(session, TEAM, user_id=OWNER.user_id, status="active")) == ["A 2025"]
    assert _names(ops.list_plans(session, TEAM, limit=2, offset=1)) == ["C 2025", "D 2025"]


# ---------------------------------------------------------------------------
# Finding a plan as people type it


@pytest.fixture
def named(session):
    made = {
        name: make_plan(session, name=name)
        for name in ("Newton 2025", "Newton 2025 draft", "100% Growth", "North_East", "Northeast")
    }
    make_plan(session, OUTSIDER, name="Newton 2025")
    session.commit()
    return made


def test_find_plan_by_id_and_hash_id(session, named):
    plan = named["Northeast"]
    assert ops.find_plans(session, TEAM, str(plan.id)) == [plan]
    assert ops.find_plans(session, TEAM, f" #{plan.id} ") == [plan]


def test_find_plan_by_exact_name_ignoring_case_beats_fragments(session, named):
    assert ops.find_plans(session, TEAM, "newton 2025") == [named["Newton 2025"]]


def test_find_plans_by_fragment(session, named):
    assert set(ops.find_plans(session, TEAM, "newton")) == {named["Newton 2025"], named["Newton 2025 draft"]}


@pytest.mark.parametrize(
    ("text", "expected"),
    # As wildcards, "th_" would also match "Northeast", and "%" or "_" everything.
    [("100%", ["100% Growth"]), ("th_", ["North_East"]), ("%", ["100% Growth"]), ("_", ["North_East"])],
)
def test_find_plans_takes_percent_and_underscore_literally(session, named, text, expected):
    assert _names(ops.find_plans(session, TEAM, text)) == expected


def test_find_plans_never_crosses_workspaces(session, named):
    elsewhere = ops.find_plans(session, OUTSIDER.team_id, "Newton 2025")
    assert len(elsewhere) == 1 and elsewhere[0].team_id == OUTSIDER.team_id
    by_id = ops.find_plans(session, OUTSIDER.team_id, str(named["Northeast"].id))
    assert all(p.team_id == OUTSIDER.team_id for p in by_id)


@pytest.mark.parametrize("text", ["", "   ", "#", "nothing like it", "#999999", "99999999999999999999999"])
def test_find_plans_without_a_match_is_empty(session, named, text):
    assert ops.find_plans(session, TEAM, text) == []


def test_find_plans_respects_the_limit(session, named):
    assert len(ops.find_plans(session, TEAM, "n", limit=2)) == 2


def test_a_number_that_is_not_an_id_is_looked_up_as_a_name(session):
    plan = make_plan(session, name="2147483000")  # a valid id, far beyond any test's
    assert ops.find_plans(session, TEAM, "2147483000") == [plan]


def test_unknown_ids_are_not_found_whatever_their_size(session):
    for record_id in (0, -1, 2**31, 10**30):
        with pytest.raises(NotFound):
            ops.get_plan(session, TEAM, record_id)


def test_a_plan_tree_by_what_is_no_id_is_not_found(session):
    """Found by tests/bot/test_fuzz.py: a copy form's private_metadata saying
    {"plan": 10**30} reached the database as the id (SQLite: OverflowError)."""
    for record_id in (0, -1, 2**31, 10**30, "1", None, True, {"id": 1}):
        with pytest.raises(NotFound):
            ops.load_plan_tree(session, TEAM, record_id)


def test_reads_for_the_slack_surfaces(session):
    """count_plans, plan_names (scoped to the workspace) and editable_objectives, whose
    groups go by plan id: two plans with one name stay two."""
    first = make_plan(session, status="active")
    second = make_plan(session, status="active")  # the same name
    other = make_plan(session, OUTSIDER, name="Elsewhere")
    for plan in (first, second):
        strategy = ops.add_strategy(session, OWNER, plan.id, "Awareness")
        ops.add_objective(session, OWNER, strategy.id, ops.ObjectiveInput(title=f"Objective of {plan.id}"))
    session.commit()

    assert ops.count_plans(session, TEAM) == 2 and ops.count_plans(session, TEAM, user_id="UNOBODY") == 0
    assert ops.plan_names(session, TEAM, [first.id, second.id, other.id]) == {
        first.id: first.name, second.id: second.name}  # the other workspace's plan is not ours
    choices = ops.editable_objectives(session, OWNER)
    assert [(c.plan_id, c.label) for c in choices] == [  # same dates: older plan first
        (first.id, f"Awareness › Objective of {first.id}"),
        (second.id, f"Awareness › Objective of {second.id}")]
    assert ops.editable_objectives(session, STRANGER) == []
    assert ops.editable_objectives(session, ops.Actor(TEAM, OWNER.user_id, external=True)) == []
