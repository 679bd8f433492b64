"""Customer-owned action items in storage: the plan's customer channel, an item owned by
a customer contact without Slack (its follow-up owner is its assignee), every field
error of the item form at once, and the one rule of who may close an item or ask for
more time (its own customer person while it is shown to them, or the plan's team):
anyone else is refused with nothing changed and nothing of the item named."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from storage import customer_items, people, reminders, stakeholders
from storage import plans as ops
from storage.domain import StakeholderSide
from storage.errors import PermissionDenied, ValidationError
from storage.models import ActionItem, ItemReminder, ItemStatus, Notification, NotificationKind, PlanStatus
from storage.plans import ActionItemInput, Actor, ObjectiveInput
from storage.plans.permissions import NOT_YOURS
from storage.stakeholders import StakeholderInput

from .conftest import END, MEMBER, OWNER, START, STRANGER, TEAM, make_plan

CUSTOMER = Actor(TEAM, "UCUSTOMER", external=True)
OTHER_CUSTOMER = Actor(TEAM, "UOTHERCUST", external=True)
DUE = dt.date(2025, 3, 5)
TODAY = dt.date(2025, 2, 20)  # the asker's own day


@pytest.fixture
def shared(session_factory):
    """(plan id, item id, kept item id): an active plan shared by default, one item of
    CUSTOMER's shown to customers (MEMBER follows it up), one kept by the team."""
    with session_factory() as session, session.begin():
        plan = make_plan(session, status=PlanStatus.ACTIVE, share_with_customer_by_default=True)
        customer_items.set_customer_channel(session, OWNER, plan.id, "C0SHARED")
        strategy = ops.add_strategy(session, OWNER, plan.id, "S")
        objective = ops.add_objective(session, OWNER, strategy.id, ObjectiveInput("O"))
        item = customer_items.add_item(session, OWNER, objective.id, ActionItemInput(
            "Send the signed form", CUSTOMER.user_id, DUE), customer_items.CustomerOwner(follow_up_id=MEMBER.user_id))
        kept = ops.add_action_item(session, OWNER, objective.id, ActionItemInput(
            "Price concession", CUSTOMER.user_id, DUE, shared_with_customer=False))
        return plan.id, item.id, kept.id


def _item(session_factory, item_id: int) -> ActionItem:
    with session_factory() as session:
        return session.get(ActionItem, item_id)


def test_the_customer_channel_is_kept_on_the_plan_by_its_team_only(session_factory):
    with session_factory() as session, session.begin():
        plan = make_plan(session)
        assert customer_items.set_customer_channel(session, MEMBER, plan.id, " C0SHARED ").customer_channel_id == "C0SHARED"
        with pytest.raises(ValidationError) as bad:
            customer_items.set_customer_channel(session, OWNER, plan.id, "#general")
        assert bad.value.field == "customer_channel"
        for who in (STRANGER, CUSTOMER):
            with pytest.raises(PermissionDenied):
                customer_items.set_customer_channel(session, who, plan.id, "C0OTHER")
        assert customer_items.set_customer_channel(session, OWNER, plan.id, None).customer_channel_id is None


def test_an_item_of_a_contact_without_slack_is_assigned_to_its_follow_up_owner(session_factory):
    with session_factory() as session, session.begin():
        plan = make_plan(session)
        contact = stakeholders.add_stakeholder(session, OWNER, plan.id, StakeholderInput("Dr. Ada Chen", "CMO"))
        stakeholders.add_stakeholder(session, OWNER, plan.id, StakeholderInput("Has Slack", slack_user_id="UHASSLACK"))
        stakeholders.add_stakeholder(session, OWNER, plan.id, StakeholderInput("Our VP", side=StakeholderSide.OURS))
        assert customer_items.contact_choices(session, TEAM, plan.id) == [("Dr. Ada Chen (CMO)", str(contact.id))]
        objective = ops.add_objective(session, OWNER, ops.add_strategy(session, OWNER, plan.id, "S").id,
                                      ObjectiveInput("O"))
        item = customer_items.add_item(session, OWNER, objective.id, ActionItemInput("Sign the formulary form", None, DUE),
                                       customer_items.CustomerOwner(contact_id=contact.id))
        assert (item.customer_contact_id, item.follow_up_id, item.assignee_id) == (contact.id, OWNER.user_id, OWNER.user_id)
        # The follow-up owner is reminded: the reminder row is theirs.
        row = session.scalars(select(ItemReminder).where(ItemReminder.action_item_id == item.id)).one()
        assert row.assignee_id == OWNER.user_id
        facts = customer_items.item_or_none(session, TEAM, item.id)
        assert facts.contact_name == "Dr. Ada Chen" and facts.follow_up_id == OWNER.user_id
        # A new follow-up owner takes the reminders over.
        item = customer_items.update_item(session, OWNER, item.id, ActionItemInput("Sign the formulary form", None, DUE),
                                          customer_items.CustomerOwner(contact.id, MEMBER.user_id))
        assert (item.follow_up_id, item.assignee_id) == (MEMBER.user_id, MEMBER.user_id)


def test_every_field_error_of_the_item_form_comes_at_once_and_nothing_is_saved(session_factory):
    with session_factory() as session, session.begin():
        plan = make_plan(session)
        ours = stakeholders.add_stakeholder(session, OWNER, plan.id, StakeholderInput("Our VP", side=StakeholderSide.OURS))
        objective = ops.add_objective(session, OWNER, ops.add_strategy(session, OWNER, plan.id, "S").id,
                                      ObjectiveInput("O"))
        with pytest.raises(ValidationError) as error:
            customer_items.add_item(session, OWNER, objective.id,
                                    ActionItemInput("", "UCUSTOMER", END + dt.timedelta(days=1)),
                                    customer_items.CustomerOwner(contact_id=ours.id, follow_up_id=STRANGER.user_id))
        assert error.value.errors == {
            customer_items.CONTACT_FIELD: customer_items.NOT_A_CONTACT,
            "assignee": customer_items.BOTH_OWNERS,
            customer_items.FOLLOW_UP_FIELD: customer_items.NOT_ON_TEAM,
            "title": "required",
            "due_date": f"must be within the plan ({START.isoformat()} to {END.isoformat()})",
        }
        with pytest.raises(ValidationError) as nobody:
            customer_items.add_item(session, OWNER, objective.id, ActionItemInput("T", None))
        assert nobody.value.errors == {"assignee": customer_items.NO_OWNER}
        assert session.scalars(select(ActionItem)).all() == []


def test_a_customer_marks_their_item_done_and_its_follow_up_owner_is_told(session_factory, shared):
    _plan_id, item_id, _kept = shared
    with session_factory() as session, session.begin():
        item, changed = ops.mark_action_item(session, CUSTOMER, item_id, True)
        assert changed and item.status == ItemStatus.DONE and item.done_by == CUSTOMER.user_id
        told = session.scalars(select(Notification).where(Notification.kind == NotificationKind.DONE)).all()
        assert [(n.user_id, n.actor_id) for n in told] == [(MEMBER.user_id, CUSTOMER.user_id)]
        progress = ops.plan_progress(session, TEAM, _plan_id)
        assert (progress.plan.done, progress.plan.total) == (1, 2)


def test_a_customer_asks_for_more_time_within_the_plan(session_factory, shared):
    _plan_id, item_id, _kept = shared
    with session_factory() as session, session.begin():
        with pytest.raises(ValidationError) as late:
            customer_items.more_time(session, CUSTOMER, item_id, END + dt.timedelta(days=1), today=TODAY)
        assert late.value.field == "due_date" and "within the plan" in late.value.message
        with pytest.raises(ValidationError):
            customer_items.more_time(session, CUSTOMER, item_id, None, today=TODAY)
        with pytest.raises(ValidationError) as past:  # within the plan, but gone by
            customer_items.more_time(session, CUSTOMER, item_id, TODAY - dt.timedelta(days=1), today=TODAY)
        assert past.value.field == "due_date" and "today" in past.value.message
        with pytest.raises(ValidationError) as sooner:  # not more time: before the current date
            customer_items.more_time(session, CUSTOMER, item_id, DUE - dt.timedelta(days=2), today=TODAY)
        assert sooner.value.field == "due_date" and "after the current one" in sooner.value.message
    assert _item(session_factory, item_id).due_date == DUE
    later = DUE + dt.timedelta(days=14)
    with session_factory() as session, session.begin():
        session.execute(ItemReminder.__table__.update().values(soon_sent=True, next_run_at=None))
        assert customer_items.more_time(session, CUSTOMER, item_id, later, today=TODAY).due_date == later
        row = session.scalars(select(ItemReminder).where(ItemReminder.action_item_id == item_id)).one()
        assert (row.due_date, row.soon_sent, row.needs_schedule) == (later, False, True)
    assert _item(session_factory, item_id).due_date == later


@pytest.mark.parametrize("who", [OTHER_CUSTOMER, STRANGER, Actor("T0OTHER", CUSTOMER.user_id)])
def test_anyone_else_is_refused_with_nothing_changed_and_nothing_named(session_factory, shared, who):
    _plan_id, item_id, _kept = shared
    before = _item(session_factory, item_id)
    with session_factory() as session, session.begin():
        for act in (lambda: ops.mark_action_item(session, who, item_id, True),
                    lambda: customer_items.more_time(session, who, item_id, DUE + dt.timedelta(days=1), today=TODAY)):
            try:
                act()
            except PermissionDenied as refused:
                assert refused.message == NOT_YOURS
                assert "Send the signed form" not in refused.message
            except Exception as other:  # another workspace: the item is not found there
                assert who.team_id != TEAM, other
            else:
                raise AssertionError(f"{who} was let through")
    after = _item(session_factory, item_id)
    assert (after.status, after.due_date, after.version) == (before.status, before.due_date, before.version)


def test_a_customer_may_not_close_their_item_the_team_keeps(session_factory, shared):
    """Assigned to them but not shown to customers: they never saw it, they can't close it."""
    _plan_id, _item_id, kept = shared
    with session_factory() as session, session.begin():
        with pytest.raises(PermissionDenied) as refused:
            ops.mark_action_item(session, CUSTOMER, kept, True)
        assert refused.value.message == NOT_YOURS
        # The team may.
        assert ops.mark_action_item(session, MEMBER, kept, True)[1]


def test_a_slack_connect_users_item_saved_without_follow_up_is_followed_up_by_whoever_saved_it(
        session_factory, shared):
    """README: "Follow-up … (empty: you)", for a Slack Connect user as for a contact."""
    plan_id, item_id, _kept = shared
    with session_factory() as session, session.begin():
        people.record_organisation(session, TEAM, CUSTOMER.user_id, True)
        objective_id = session.get(ActionItem, item_id).objective_id
        theirs = customer_items.add_item(session, MEMBER, objective_id,
                                         ActionItemInput("Return the forms", CUSTOMER.user_id, DUE))
        ours = customer_items.add_item(session, MEMBER, objective_id,
                                       ActionItemInput("Our own task", OWNER.user_id, DUE))
        assert (theirs.follow_up_id, ours.follow_up_id) == (MEMBER.user_id, None)


def test_one_follow_up_owner_for_the_reminders_and_the_done_notice(session_factory, shared):
    """An item without Follow-up (written before it existed), made the customer's by
    MEMBER: the reminders forwarded and the "done" notice go to the same person."""
    plan_id, item_id, _kept = shared
    with session_factory() as session, session.begin():
        objective_id = session.get(ActionItem, item_id).objective_id
        item = ops.add_action_item(session, OWNER, objective_id, ActionItemInput(
            "Return the forms", OWNER.user_id, DUE, shared_with_customer=True))
        ops.update_action_item(session, MEMBER, item.id, ActionItemInput(
            "Return the forms", CUSTOMER.user_id, DUE, shared_with_customer=True))
        assert session.get(ActionItem, item.id).follow_up_id is None
        reminded = reminders.item_facts(session, [item.id])[item.id].follow_up_id
        ops.mark_action_item(session, CUSTOMER, item.id, True)
        (told,) = session.scalars(select(Notification).where(
            Notification.kind == NotificationKind.DONE, Notification.action_item_id == item.id)).all()
    assert reminded == told.user_id == MEMBER.user_id
