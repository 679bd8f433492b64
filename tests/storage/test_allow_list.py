"""What a customer sees is an allow-list: strategies, objectives and action items marked
"Shared with customer" (off for new records unless the plan's "New parts shared with
customer" says otherwise), shown only under parents that are shared too; never SWOT,
QBR reviews or stakeholders. Every read an external audience goes through, on SQLite
and PostgreSQL; and migration 0007, which keeps what customers saw before."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from storage import digests, migrate, reminders, templates
from storage import plans as ops
from storage.models import Audience, PlanStatus
from storage.planfile import export_plans, import_plan_file
from storage.plans import ActionItemInput, ObjectiveInput, ReviewInput

from .conftest import MEMBER, OWNER, make_plan, plan_input

EXTERNAL = Audience.EXTERNAL
CUSTOMER = "UCUSTOMER"
TODAY = dt.date(2025, 6, 2)


def item(session, objective, title, *, shared=None, assignee=MEMBER.user_id, due=dt.date(2025, 6, 10)):
    return ops.add_action_item(session, OWNER, objective.id, ActionItemInput(
        title=title, assignee_id=assignee, due_date=due, shared_with_customer=shared))


@pytest.fixture
def mixed(session):
    """Every case of the allow-list in one plan:

    Shared strategy
      Shared objective:      "Shown item" (shared), "Kept item" (not)
      Kept objective:        "Orphan item" (shared, but its objective is not)
    Kept strategy
      Shared objective:      "Deep orphan" (shared, under a shared objective of a kept strategy)
    """
    plan = make_plan(session, status=PlanStatus.ACTIVE)
    shared = ops.add_strategy(session, OWNER, plan.id, "Shared strategy", shared_with_customer=True)
    kept = ops.add_strategy(session, OWNER, plan.id, "Kept strategy")
    shown = ops.add_objective(session, OWNER, shared.id, ObjectiveInput("Shared objective", shared_with_customer=True))
    hidden = ops.add_objective(session, OWNER, shared.id, ObjectiveInput("Kept objective"))
    under_kept = ops.add_objective(session, OWNER, kept.id, ObjectiveInput("Objective of a kept strategy",
                                                                         shared_with_customer=True))
    item(session, shown, "Shown item", shared=True, assignee=CUSTOMER)
    item(session, shown, "Kept item")
    item(session, hidden, "Orphan item", shared=True, assignee=CUSTOMER)
    item(session, under_kept, "Deep orphan", shared=True, assignee=CUSTOMER)
    ops.add_swot_entry(session, OWNER, plan.id, "threat", "Their CFO distrusts us", team_only=False)
    ops.add_review(session, OWNER, plan.id, ReviewInput(held_on=dt.date(2025, 3, 1), notes="Private notes"))
    session.commit()
    return plan


def titles(plan) -> list:
    return [(s.title, [(o.title, [i.title for i in o.action_items]) for o in s.objectives])
            for s in plan.strategies]


# ---------------------------------------------------------------------------
# Writing the mark


def test_new_records_are_not_shared_unless_the_plan_says_so(session):
    plan = make_plan(session)
    strategy = ops.add_strategy(session, OWNER, plan.id, "S")
    objective = ops.add_objective(session, OWNER, strategy.id, ObjectiveInput("O"))
    assert not plan.share_with_customer_by_default
    assert (strategy.shared_with_customer, objective.shared_with_customer,
            item(session, objective, "I").shared_with_customer) == (False, False, False)

    ops.update_plan(session, OWNER, plan.id, plan_input(share_with_customer_by_default=True))
    assert plan.share_with_customer_by_default is True
    strategy = ops.add_strategy(session, OWNER, plan.id, "S2")
    objective = ops.add_objective(session, OWNER, strategy.id, ObjectiveInput("O2"))
    assert (strategy.shared_with_customer, objective.shared_with_customer,
            item(session, objective, "I2").shared_with_customer) == (True, True, True)
    # Said outright, the record's own choice wins over the plan's default.
    assert item(session, objective, "I3", shared=False).shared_with_customer is False
    # A plan form that does not ask keeps the plan's default.
    ops.update_plan(session, OWNER, plan.id, plan_input(name="Renamed"))
    assert plan.share_with_customer_by_default is True
    assert make_plan(session, name="New", share_with_customer_by_default=True).share_with_customer_by_default


def test_an_edit_changes_the_mark_only_when_it_is_given(session):
    plan = make_plan(session)
    strategy = ops.add_strategy(session, OWNER, plan.id, "S", shared_with_customer=True)
    objective = ops.add_objective(session, OWNER, strategy.id, ObjectiveInput("O", shared_with_customer=True))
    thing = item(session, objective, "I", shared=True)
    ops.update_strategy(session, OWNER, strategy.id, "S again")
    ops.update_objective(session, OWNER, objective.id, ObjectiveInput("O again"))
    ops.update_action_item(session, OWNER, thing.id, ActionItemInput("I again", MEMBER.user_id))
    assert (strategy.shared_with_customer, objective.shared_with_customer, thing.shared_with_customer) == (
        True, True, True)
    ops.update_strategy(session, OWNER, strategy.id, "S", shared_with_customer=False)
    ops.update_objective(session, OWNER, objective.id, ObjectiveInput("O", shared_with_customer=False))
    ops.update_action_item(session, OWNER, thing.id, ActionItemInput("I", MEMBER.user_id,
                                                                     shared_with_customer=False))
    assert (strategy.shared_with_customer, objective.shared_with_customer, thing.shared_with_customer) == (
        False, False, False)


# ---------------------------------------------------------------------------
# Reading for an external audience


def test_the_customer_tree_holds_only_shared_records_under_shared_parents(session, mixed):
    session.expire_all()
    tree = ops.load_plan_tree(session, mixed.team_id, mixed.id, audience=EXTERNAL)
    assert titles(tree) == [("Shared strategy", [("Shared objective", ["Shown item"])])]
    assert tree.swot_entries == [] and tree.reviews == []  # never, whatever SWOT's own flag says
    with Session(session.get_bind()) as other:  # a customer's tree is for reading only (incomplete)
        team = ops.load_plan_tree(other, mixed.team_id, mixed.id)
        assert len(team.strategies) == 2 and len(team.swot_entries) == 1 and len(team.reviews) == 1


def test_a_customer_page_outline_and_items_are_the_allow_list(session, mixed):
    """The plan view's page reads (item_outline, items_by_id) keep the same allow-list
    as the whole tree: asked by id for an item customers do not see, they give nothing."""
    session.expire_all()
    tree = ops.load_plan_tree(session, mixed.team_id, mixed.id, audience=EXTERNAL, with_items=False)
    outline = ops.item_outline(session, mixed.team_id, mixed.id, audience=EXTERNAL)
    (shown,) = [o for s in tree.strategies for o in s.objectives]
    assert list(outline) == [shown.id] and len(outline[shown.id]) == 1
    every_id = [i for ids in ops.item_outline(session, mixed.team_id, mixed.id).values() for i in ids]
    assert len(every_id) == 4
    found = ops.items_by_id(session, mixed.team_id, every_id, audience=EXTERNAL)
    assert [i.title for i in found.values()] == ["Shown item"]


def test_the_team_tree_after_a_customer_tree_in_one_session_is_whole(session, mixed):
    """A request that drew the customer view and then the team's (a digest to a shared
    channel, then the plan view for its author) must not hand the team the customer's
    incomplete collections from the session's identity map."""
    session.expire_all()
    ops.load_plan_tree(session, mixed.team_id, mixed.id, audience=EXTERNAL)
    team = ops.load_plan_tree(session, mixed.team_id, mixed.id)
    assert titles(team) == [
        ("Shared strategy", [("Shared objective", ["Shown item", "Kept item"]), ("Kept objective", ["Orphan item"])]),
        ("Kept strategy", [("Objective of a kept strategy", ["Deep orphan"])]),
    ]
    assert len(team.swot_entries) == 1 and len(team.reviews) == 1


def test_progress_counts_only_what_the_customer_sees(session, mixed):
    ops.mark_action_item(session, OWNER, _id(session, mixed, "Shown item"), True)
    ops.mark_action_item(session, OWNER, _id(session, mixed, "Orphan item"), True)
    progress = ops.plan_progress(session, mixed.team_id, mixed.id, audience=EXTERNAL)
    assert (progress.plan.done, progress.plan.total) == (1, 1)
    assert set(progress.objectives) == {_objective(session, mixed, "Shared objective")}
    team = ops.plan_progress(session, mixed.team_id, mixed.id)
    assert (team.plan.done, team.plan.total) == (2, 4)
    assert ops.progress_by_plan(session, mixed.team_id, [mixed.id], audience=EXTERNAL)[mixed.id] == \
        progress.plan
    assert ops.progress_by_plan(session, mixed.team_id, [mixed.id])[mixed.id] == team.plan


def test_a_customers_own_items_are_the_ones_they_may_see(session, mixed):
    """`mine` and App Home for a person from another organisation."""
    team = [i.title for i in ops.open_items_for(session, mixed.team_id, CUSTOMER)]
    assert sorted(team) == ["Deep orphan", "Orphan item", "Shown item"]
    shown = ops.open_items_for(session, mixed.team_id, CUSTOMER, audience=EXTERNAL)
    assert [i.title for i in shown] == ["Shown item"]
    assert ops.count_open_items(session, mixed.team_id, CUSTOMER, audience=EXTERNAL) == 1
    assert ops.count_open_items(session, mixed.team_id, CUSTOMER) == 3


def test_an_item_puts_its_plan_in_front_of_a_customer_only_when_they_may_see_it(session, mixed):
    def readable(user):
        return ops.readable_by_outsider(session, mixed.team_id, mixed.id, user_id=user, channel_id=None)

    assert readable(CUSTOMER)  # "Shown item"
    shown = _id(session, mixed, "Shown item")
    ops.update_action_item(session, OWNER, shown, ActionItemInput("Shown item", "UOTHER"))
    session.flush()
    assert not readable(CUSTOMER)  # left: two items marked shared, each under a part that is not
    assert readable("UOTHER")


def test_reminder_facts_say_whether_the_customer_may_see_the_item(session, mixed):
    facts = reminders.item_facts(session, [_id(session, mixed, t) for t in
                                           ("Shown item", "Kept item", "Orphan item", "Deep orphan")])
    assert {f.title: f.shared for f in facts.values()} == {
        "Shown item": True, "Kept item": False, "Orphan item": False, "Deep orphan": False}


def test_the_customer_digest_names_only_shared_parts_and_says_others_exist(session, mixed):
    found = digests.digest_content(session, mixed.team_id, mixed.id, audience=EXTERNAL,
                                   since=dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc), today=TODAY)
    assert [s.title for s in found.strategies] == ["Shared strategy"]
    assert [o.title for objs in found.objectives.values() for o in objs] == ["Shared objective"]
    assert [i.title for i in found.due_soon] == ["Shown item"]
    assert (found.progress.plan.done, found.progress.plan.total) == (0, 1)
    said = " ".join(c.summary for c in found.changes)
    for internal in ("Kept", "Orphan", "Deep orphan", "Objective of a kept strategy", "CFO"):
        assert internal not in said, internal
    assert "Shared strategy" in said and "Shared objective" in said and "Shown item" in said
    assert found.counts["changes"] == len(found.changes) and found.hidden is True
    team = digests.digest_content(session, mixed.team_id, mixed.id, audience=Audience.TEAM,
                                  since=dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc), today=TODAY)
    assert len(team.strategies) == 2 and len(team.due_soon) == 4 and team.hidden is False


def test_a_digest_says_internal_parts_exist_when_only_the_swot_or_a_part_is_left_out(session):
    plan = make_plan(session, share_with_customer_by_default=True)
    strategy = ops.add_strategy(session, OWNER, plan.id, "S")
    ops.add_objective(session, OWNER, strategy.id, ObjectiveInput("O"))

    def hidden() -> bool:
        return digests.digest_content(session, plan.team_id, plan.id, audience=EXTERNAL,
                                      since=dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc), today=TODAY).hidden

    assert hidden() is False
    entry = ops.add_swot_entry(session, OWNER, plan.id, "strength", "Efficacy", team_only=False)
    assert hidden() is True  # SWOT never reaches customers, whatever its own flag
    ops.delete_swot_entry(session, OWNER, entry.id)
    session.flush()
    ops.add_objective(session, OWNER, strategy.id, ObjectiveInput("Internal", shared_with_customer=False))
    assert hidden() is True


def test_a_copy_and_a_template_plan_carry_the_sharing(session, mixed):
    copy = ops.deep_copy_plan(session, OWNER, mixed.id, ops.CopyOptions(
        name="Next", start_date=dt.date(2026, 1, 1), end_date=dt.date(2026, 12, 31)))
    session.commit()
    session.expire_all()
    assert titles(ops.load_plan_tree(session, copy.team_id, copy.id, audience=EXTERNAL)) == [
        ("Shared strategy", [("Shared objective", ["Shown item"])])]

    for shared in (False, True):
        data = plan_input(name=f"From a template {shared}", share_with_customer_by_default=shared)
        made = templates.create_plan_from_template(session, MEMBER, data, "builtin:key_account")
        session.flush()
        tree = ops.load_plan_tree(session, made.team_id, made.id)
        marks = {s.shared_with_customer for s in tree.strategies} | {
            o.shared_with_customer for s in tree.strategies for o in s.objectives} | {
            i.shared_with_customer for s in tree.strategies for o in s.objectives for i in o.action_items}
        assert marks == {shared}


def test_plan_files_keep_the_sharing_and_read_files_of_earlier_versions(session, mixed):
    first = export_plans(session, mixed.team_id, [mixed.id], "json")
    ids = import_plan_file(session, "T0ELSEWHERE", first, "json")
    session.commit()
    assert export_plans(session, "T0ELSEWHERE", ids, "json") == first
    copied = ops.load_plan_tree(session, "T0ELSEWHERE", ids[0], audience=EXTERNAL)
    assert titles(copied) == [("Shared strategy", [("Shared objective", ["Shown item"])])]

    older = """\
plans:
  - name: Old file
    account: Acme
    start_date: 2025-01-01
    end_date: 2025-12-31
    owner: UOWNER
    strategies:
      - title: S
        objectives:
          - title: O
            action_items:
              - {title: Shown before, assignee: UA}
              - {title: Team only before, assignee: UA, team_only: true}
"""
    ids = import_plan_file(session, "T0OLD", older, "yaml")
    session.commit()
    tree = ops.load_plan_tree(session, "T0OLD", ids[0], audience=EXTERNAL)
    assert titles(tree) == [("S", [("O", ["Shown before"])])]  # what customers saw then
    assert ops.get_plan(session, "T0OLD", ids[0]).share_with_customer_by_default is False


def _id(session, plan, title) -> int:
    tree = ops.load_plan_tree(session, plan.team_id, plan.id)
    return next(i.id for s in tree.strategies for o in s.objectives for i in o.action_items if i.title == title)


def _objective(session, plan, title) -> int:
    tree = ops.load_plan_tree(session, plan.team_id, plan.id)
    return next(o.id for s in tree.strategies for o in s.objectives if o.title == title)


# ---------------------------------------------------------------------------
# Migration 0007


def _fill_at_0006(engine) -> None:
    migrate.upgrade(engine, "0006")
    stamps = "1, '2025-01-01', '2025-01-01'"
    with engine.begin() as connection:
        for sql in (
            "insert into accounts (id, team_id, name, created_at) values (1, 'T1', 'Acme', '2025-01-01')",
            "insert into account_plans (id, team_id, account_id, name, start_date, end_date, status, owner_id,"
            " vision, customer_goals, our_goals, qbr_reminder_days, reminder_lead_days, reminders_synced,"
            f" version, created_at, updated_at) values (1, 'T1', 1, 'Plan', '2025-01-01', '2025-12-31',"
            f" 'active', 'U1', '', '', '', 90, 1, true, {stamps})",
            "insert into strategies (id, team_id, plan_id, position, title, description, version, created_at,"
            f" updated_at) values (1, 'T1', 1, 0, 'S', '', {stamps})",
            "insert into objectives (id, team_id, plan_id, strategy_id, position, title, description,"
            f" measure_unit, version, created_at, updated_at) values (1, 'T1', 1, 1, 0, 'O', '', '', {stamps})",
            "insert into action_items (id, team_id, plan_id, objective_id, position, title, notes, status,"
            f" team_only, version, created_at, updated_at) values (1, 'T1', 1, 1, 0, 'Open to all', '', 'open',"
            f" false, {stamps}), (2, 'T1', 1, 1, 1, 'Team only', '', 'open', true, {stamps})",
        ):
            connection.execute(text(sql))


def _sharing(engine) -> tuple:
    with engine.connect() as connection:
        return (
            connection.scalar(text("select shared_with_customer from strategies")),
            connection.scalar(text("select shared_with_customer from objectives")),
            [tuple(r) for r in connection.execute(text(
                "select title, shared_with_customer from action_items order by id"))],
            connection.scalar(text("select share_with_customer_by_default from account_plans")),
        )


def test_0007_keeps_what_customers_saw_and_goes_down_and_up(empty_engine):
    _fill_at_0006(empty_engine)
    migrate.upgrade(empty_engine)
    shared = _sharing(empty_engine)
    assert (bool(shared[0]), bool(shared[1]), [(t, bool(s)) for t, s in shared[2]], bool(shared[3])) == (
        True, True, [("Open to all", True), ("Team only", False)], False)
    with Session(empty_engine) as session:
        tree = ops.load_plan_tree(session, "T1", 1, audience=EXTERNAL)
        assert titles(tree) == [("S", [("O", ["Open to all"])])]

    migrate.downgrade(empty_engine, "0006")
    with empty_engine.connect() as connection:
        rows = connection.execute(text("select title, team_only from action_items order by id")).all()
    assert [(t, bool(f)) for t, f in rows] == [("Open to all", False), ("Team only", True)]
    migrate.upgrade(empty_engine)
    assert migrate.is_current(empty_engine)
    shared = _sharing(empty_engine)
    assert [(t, bool(s)) for t, s in shared[2]] == [("Open to all", True), ("Team only", False)]
