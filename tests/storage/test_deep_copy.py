"""Deep copy: a plan into its next cycle (or onto another account)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from storage import plans as ops
from storage.errors import NotFound, ValidationError
from storage.models import ActionItem, ItemStatus, PlanStatus
from storage.plans import CopyOptions, ObjectiveInput

from .conftest import (
    MEMBER,
    OUTSIDER,
    OWNER,
    STRANGER,
    bulk_tree,
    counting,
    make_item,
    make_objective,
    make_plan,
    make_strategy,
)

NEXT_START, NEXT_END = dt.date(2026, 1, 1), dt.date(2026, 12, 31)


def next_cycle(**overrides) -> CopyOptions:
    fields = dict(name="Newton Memorial Hospital 2026", start_date=NEXT_START, end_date=NEXT_END)
    fields.update(overrides)
    return CopyOptions(**fields)


def snapshot(session, plan_id: int) -> dict:
    """Everything a person sees of a plan, read fresh from the database."""
    session.expire_all()
    plan = ops.load_plan_tree(session, OWNER.team_id, plan_id)
    return dict(
        plan=(plan.name, plan.account.name, plan.start_date, plan.end_date, plan.status,
              plan.owner_id, plan.vision, plan.copied_from_id, plan.version,
              plan.share_with_customer_by_default),
        team=plan.member_ids,
        swot=[(e.kind, e.position, e.text, e.team_only) for e in plan.swot_entries],
        tree=[
            (s.position, s.title, s.description, [
                (o.position, o.title, o.target_value, o.current_value, [
                    (i.position, i.title, i.assignee_id, i.due_date, i.status, i.done_by,
                     i.done_at, i.shared_with_customer, i.version)
                    for i in o.action_items
                ], o.shared_with_customer)
                for o in s.objectives
            ], s.shared_with_customer)
            for s in plan.strategies
        ],
    )


@pytest.fixture
def source(session):
    """A lived-in plan: measured objective, done item, SWOT, a team, a review."""
    plan = make_plan(session, vision="Be the partner of choice", share_with_customer_by_default=True)
    first = make_strategy(session, plan, "Awareness")  # shared: the plan's default
    second = ops.add_strategy(session, OWNER, plan.id, "Access", shared_with_customer=False)
    measured = ops.add_objective(
        session, OWNER, first.id,
        ObjectiveInput(title="Win IDNs", measure_unit="IDNs", target_value=5, current_value=3,
                       shared_with_customer=False),
    )
    qualitative = make_objective(session, first, "Explain outcomes")
    done = make_item(session, measured, "Meet the P&T committee", due=dt.date(2025, 3, 15))
    make_item(session, measured, "Send the study", assignee=STRANGER.user_id, due=dt.date(2025, 12, 31))
    make_item(session, qualitative, "Undated follow-up")
    make_objective(session, second, "Formulary listing")
    ops.set_action_item_done(session, MEMBER, done.id)
    ops.add_swot_entry(session, OWNER, plan.id, "strength", "Efficacy")
    ops.add_swot_entry(session, OWNER, plan.id, "threat", "Generic competitor", team_only=False)
    ops.add_review(session, OWNER, plan.id, ops.ReviewInput(held_on=dt.date(2025, 6, 1)))
    session.commit()
    return plan


def test_copy_carries_hierarchy_swot_and_team(session, source):
    source.customer_channel_id = "C0SHARED"
    session.flush()
    before = snapshot(session, source.id)

    copy = ops.deep_copy_plan(session, OWNER, source.id, next_cycle())
    session.commit()
    after = snapshot(session, copy.id)

    assert [(s[1], [o[1] for o in s[3]]) for s in after["tree"]] == [
        ("Awareness", ["Win IDNs", "Explain outcomes"]),
        ("Access", ["Formulary listing"]),
    ]
    items = [i[1:4] for i in after["tree"][0][3][0][4]] + [i[1:4] for i in after["tree"][0][3][1][4]]
    assert items == [
        ("Meet the P&T committee", MEMBER.user_id, dt.date(2026, 3, 15)),
        ("Send the study", STRANGER.user_id, dt.date(2026, 12, 31)),
        ("Undated follow-up", MEMBER.user_id, None),
    ]
    assert after["swot"] == before["swot"]
    # "Shared with customer" comes along at every level, and the plan's default too.
    assert sharing(after) == sharing(before) == (True, [
        (True, [(False, [True, True]), (True, [True])]), (False, [(True, [])])])
    assert after["team"] == [MEMBER.user_id]
    assert after["plan"][:3] == ("Newton Memorial Hospital 2026", "Newton Memorial Hospital", NEXT_START)
    assert copy.customer_channel_id == "C0SHARED"  # the next cycle, with the same customer


def test_the_returned_copy_can_be_walked_at_once(session, source):
    """Children are written in bulk, outside the session: the copy still shows them."""
    copy = ops.deep_copy_plan(session, OWNER, source.id, next_cycle())

    assert [s.title for s in copy.strategies] == ["Awareness", "Access"]
    assert [len(o.action_items) for o in copy.strategies[0].objectives] == [2, 1]
    assert [e.text for e in copy.swot_entries] == ["Efficacy", "Generic competitor"]


def test_copy_resets_statuses_and_measured_values(session, source):
    copy = ops.deep_copy_plan(session, OWNER, source.id, next_cycle())
    session.commit()
    tree = ops.load_plan_tree(session, OWNER.team_id, copy.id)

    assert tree.status == PlanStatus.DRAFT and tree.last_review_date is None and tree.reviews == []
    items = [i for s in tree.strategies for o in s.objectives for i in o.action_items]
    assert {(i.status, i.done_at, i.done_by) for i in items} == {(ItemStatus.OPEN, None, None)}
    measured = tree.strategies[0].objectives[0]
    assert (measured.target_value, measured.current_value, measured.measure_unit) == (
        Decimal(5), Decimal(0), "IDNs",
    )
    assert tree.strategies[0].objectives[1].current_value is None  # qualitative stays so
    assert ops.plan_progress(session, OWNER.team_id, copy.id).plan == ops.Progress(0, 3)


def test_the_copier_owns_the_copy_and_the_former_owner_joins_the_team(session, source):
    copy = ops.deep_copy_plan(session, STRANGER, source.id, next_cycle())
    session.commit()

    assert copy.owner_id == STRANGER.user_id
    assert snapshot(session, copy.id)["team"] == sorted([OWNER.user_id, MEMBER.user_id])
    assert copy.copied_from_id == source.id


def test_a_team_member_copying_is_not_listed_twice(session, source):
    copy = ops.deep_copy_plan(session, MEMBER, source.id, next_cycle())
    session.commit()
    assert (copy.owner_id, snapshot(session, copy.id)["team"]) == (MEMBER.user_id, [OWNER.user_id])


def test_copy_leaves_the_original_untouched(session, source):
    before = snapshot(session, source.id)

    ops.deep_copy_plan(session, STRANGER, source.id, next_cycle(account="Another Hospital"))
    session.commit()

    assert snapshot(session, source.id) == before


def test_due_dates_move_by_the_start_date_offset(session):
    plan = make_plan(session)
    objective = make_objective(session, make_strategy(session, plan))
    make_item(session, objective, due=dt.date(2025, 2, 10))
    session.commit()

    copy = ops.deep_copy_plan(
        session, OWNER, plan.id,
        next_cycle(start_date=dt.date(2025, 4, 1), end_date=dt.date(2026, 3, 31)),
    )

    assert _due_dates(session, copy.id) == [dt.date(2025, 2, 10) + (dt.date(2025, 4, 1) - dt.date(2025, 1, 1))]


def test_due_dates_are_clamped_into_a_shorter_plan(session):
    plan = make_plan(session)  # 2025-01-01 .. 2025-12-31
    objective = make_objective(session, make_strategy(session, plan))
    for due in (dt.date(2025, 1, 1), dt.date(2025, 2, 15), dt.date(2025, 11, 30)):
        make_item(session, objective, due=due)
    session.commit()

    copy = ops.deep_copy_plan(  # a half-year plan: two of the shifted dates fall after it
        session, OWNER, plan.id, next_cycle(start_date=dt.date(2026, 1, 1), end_date=dt.date(2026, 2, 1)),
    )

    assert _due_dates(session, copy.id) == [dt.date(2026, 1, 1), dt.date(2026, 2, 1), dt.date(2026, 2, 1)]


def _due_dates(session, plan_id):
    return list(
        session.scalars(select(ActionItem.due_date).where(ActionItem.plan_id == plan_id).order_by(ActionItem.id))
    )


@pytest.mark.parametrize(
    ("leave_out", "expected"),
    [
        (dict(action_items=False), (2, 3, 0, 2)),
        (dict(objectives=False, action_items=False), (2, 0, 0, 2)),
        (dict(strategies=False, objectives=False, action_items=False), (0, 0, 0, 2)),
        (dict(swot=False), (2, 3, 3, 0)),
    ],
)
def test_copy_options_leave_out_levels_and_swot(session, source, leave_out, expected):
    copy = ops.deep_copy_plan(session, OWNER, source.id, next_cycle(**leave_out))
    session.commit()
    tree = ops.load_plan_tree(session, OWNER.team_id, copy.id)

    objectives = [o for s in tree.strategies for o in s.objectives]
    items = [i for o in objectives for i in o.action_items]
    assert (len(tree.strategies), len(objectives), len(items), len(tree.swot_entries)) == expected


def test_copy_option_team_false_leaves_the_team_out(session, source):
    copy = ops.deep_copy_plan(session, STRANGER, source.id, next_cycle(team=False))
    session.commit()
    assert snapshot(session, copy.id)["team"] == []
    assert copy.owner_id == STRANGER.user_id


@pytest.mark.parametrize(
    ("options", "field"),
    [
        (dict(strategies=False), "objectives"),
        (dict(strategies=False, objectives=False), "action_items"),
        (dict(objectives=False), "action_items"),
    ],
)
def test_a_level_cannot_be_copied_without_its_parent(session, source, options, field):
    with pytest.raises(ValidationError) as error:
        ops.deep_copy_plan(session, OWNER, source.id, next_cycle(**options))
    assert error.value.field == field


@pytest.mark.parametrize(
    ("options", "field"),
    [
        (dict(name=" "), "name"),
        (dict(name="x" * 151), "name"),
        (dict(account="x" * 151), "account"),
        (dict(start_date=None), "start_date"),
        (dict(end_date=None), "end_date"),
        (dict(end_date=dt.date(2025, 12, 31)), "end_date"),
    ],
)
def test_copy_options_are_validated(session, source, options, field):
    with pytest.raises(ValidationError) as error:
        ops.deep_copy_plan(session, OWNER, source.id, next_cycle(**options))
    assert error.value.field == field


def test_copy_onto_another_account_by_name(session, source):
    copy = ops.deep_copy_plan(session, OWNER, source.id, next_cycle(account="St. Mary's Hospital"))
    session.commit()

    assert copy.account.name == "St. Mary's Hospital"
    assert ops.list_plans(session, OWNER.team_id, account="St. Mary") == [copy]


def test_copy_onto_an_existing_account_reuses_it(session, source):
    other = make_plan(session, name="Other", account="St. Mary's Hospital")
    copy = ops.deep_copy_plan(session, OWNER, source.id, next_cycle(account="St. Mary's Hospital"))
    assert copy.account_id == other.account_id


def test_a_plan_of_another_workspace_cannot_be_copied(session, source):
    with pytest.raises(NotFound):
        ops.deep_copy_plan(session, OUTSIDER, source.id, next_cycle())


def test_copy_is_logged_on_the_new_plan(session, source):
    copy = ops.deep_copy_plan(session, OWNER, source.id, next_cycle())
    session.commit()
    [entry] = ops.changes_since(session, OWNER.team_id, copy.id, None)
    assert (entry.action, entry.entity_id, entry.actor_id) == ("copied", copy.id, OWNER.user_id)


def test_copy_of_500_items_is_complete_and_takes_a_few_statements(engine, session):
    plan = make_plan(session)
    created = bulk_tree(session, plan, 5, 10, 10, done_every=2)
    ops.add_swot_entry(session, OWNER, plan.id, "strength", "Efficacy")
    session.commit()
    session.expunge_all()

    with counting(engine) as queries:
        copy = ops.deep_copy_plan(session, MEMBER, plan.id, next_cycle())
        session.commit()

    original, copied = snapshot(session, plan.id), snapshot(session, copy.id)
    assert created == 500
    # Same shape and titles, in the same order, under the right parents.
    assert _titles(copied["tree"]) == _titles(original["tree"])
    copied_items = [i for s in copied["tree"] for o in s[3] for i in o[4]]
    assert len(copied_items) == 500
    assert {i[4] for i in copied_items} == {ItemStatus.OPEN}
    assert session.scalar(select(func.count()).where(ActionItem.plan_id == copy.id)) == 500
    # Reading the tree (7), the account, writing the plan and team, one INSERT per level
    # and two id read-backs, the SWOT, the log: a fixed handful, not one per row.
    assert len(queries.of("INSERT")) <= 8
    assert queries.count <= 20


def sharing(snap):
    """(plan's default, [(strategy, [(objective, [item, ...])])]) of a snapshot."""
    return snap["plan"][-1], [(s[4], [(o[5], [i[7] for i in o[4]]) for o in s[3]]) for s in snap["tree"]]


def _titles(tree):
    return [(s[1], [(o[1], [i[1] for i in o[4]]) for o in s[3]]) for s in tree]


def test_copy_statement_count_does_not_grow_with_size(engine, session):
    small, big = make_plan(session, name="Small"), make_plan(session, name="Big")
    bulk_tree(session, small, 1, 1, 2)
    bulk_tree(session, big, 4, 6, 8)
    session.commit()

    counts = []
    for plan in (small, big):
        session.expunge_all()
        with counting(engine) as queries:
            ops.deep_copy_plan(session, OWNER, plan.id, next_cycle(name=f"{plan.name} copy"))
        counts.append(queries.count)
    assert counts[0] == counts[1]


# ---------------------------------------------------------------------------
# Customer-owned items (issue 13's columns): contact and follow-up owner


def customer_items(session):
    """A plan with a customer contact without Slack (the second stakeholder) and two
    customer-owned items: one of the contact's, followed up by UFOLLOW (on the team),
    and one of a Slack Connect user's, followed up by the plan's owner."""
    from storage.customer_items import CustomerOwner, add_item
    from storage.plans import ActionItemInput
    from storage.stakeholders import StakeholderInput, add_stakeholder

    plan = make_plan(session, team=[MEMBER.user_id, "UFOLLOW"])
    objective = make_objective(session, make_strategy(session, plan))
    add_stakeholder(session, OWNER, plan.id, StakeholderInput(name="Ada Obi", slack_user_id="U0ADA"))
    contact = add_stakeholder(session, OWNER, plan.id, StakeholderInput(name="Cy Diaz", title="Buyer"))
    add_item(session, OWNER, objective.id, ActionItemInput("Send the study", None, None),
             CustomerOwner(contact_id=contact.id, follow_up_id="UFOLLOW"))
    add_item(session, OWNER, objective.id, ActionItemInput("Sign the order", "U0CUSTOMER", None),
             CustomerOwner(follow_up_id=OWNER.user_id))
    session.commit()
    return plan


def copied_owners(session, plan_id):
    from storage.models import Stakeholder

    session.expire_all()
    names = dict(session.execute(select(Stakeholder.id, Stakeholder.name)).all())
    return [(title, assignee, names.get(contact), contact is None or names.get(contact) is not None
             and session.get(Stakeholder, contact).plan_id == plan_id, follow_up)
            for title, assignee, contact, follow_up in session.execute(
                select(ActionItem.title, ActionItem.assignee_id, ActionItem.customer_contact_id,
                       ActionItem.follow_up_id).where(ActionItem.plan_id == plan_id).order_by(ActionItem.position))]


def test_a_customer_contacts_item_keeps_its_contact_in_the_copy(session):
    plan = customer_items(session)
    copy = ops.deep_copy_plan(session, MEMBER, plan.id, next_cycle())
    session.commit()
    # The contact is the copy's own Cy Diaz (not the original's); follow-up owners stay.
    assert copied_owners(session, copy.id) == [
        ("Send the study", "UFOLLOW", "Cy Diaz", True, "UFOLLOW"),
        ("Sign the order", "U0CUSTOMER", None, True, OWNER.user_id)]
    assert copied_owners(session, plan.id)[0][2:4] == ("Cy Diaz", True)  # the original's untouched


def test_without_the_stakeholders_an_item_has_no_contact_and_without_the_team_no_follow_up(session):
    plan = customer_items(session)
    no_people = ops.deep_copy_plan(session, MEMBER, plan.id, next_cycle(stakeholders=False))
    assert copied_owners(session, no_people.id) == [
        ("Send the study", "UFOLLOW", None, True, "UFOLLOW"),
        ("Sign the order", "U0CUSTOMER", None, True, OWNER.user_id)]
    # Without the team, a follow-up owner who is not on the copy is dropped; a contact's
    # item is then followed up, and assigned, as the item form would: by who copies.
    alone = ops.deep_copy_plan(session, MEMBER, plan.id, next_cycle(name="Alone", team=False))
    session.commit()
    assert copied_owners(session, alone.id) == [
        ("Send the study", MEMBER.user_id, "Cy Diaz", True, MEMBER.user_id),
        ("Sign the order", "U0CUSTOMER", None, True, None)]


def test_copying_contacts_takes_the_same_statements_for_few_or_many(engine, session):
    from storage.customer_items import CustomerOwner, add_item
    from storage.plans import ActionItemInput

    small, big = customer_items(session), customer_items(session)
    from storage.models import Objective, Stakeholder
    objective = session.scalars(select(Objective.id).where(Objective.plan_id == big.id)).first()
    contact = session.scalars(select(Stakeholder.id).where(Stakeholder.plan_id == big.id,
                                                           Stakeholder.name == "Cy Diaz")).one()
    for n in range(30):
        add_item(session, OWNER, objective, ActionItemInput(f"Item {n}", None, None),
                 CustomerOwner(contact_id=contact, follow_up_id="UFOLLOW"))
    session.commit()
    counts = []
    for plan in (small, big):
        session.expunge_all()
        with counting(engine) as queries:
            ops.deep_copy_plan(session, OWNER, plan.id, next_cycle(name=f"{plan.id} copy"))
        counts.append(queries.count)
    assert counts[0] == counts[1]
