"""DMs to a person from another organisation tell only of items shown to customers:
what storage gives the scheduler to decide (their organisation, kept once Slack said
it; ItemFacts.shared) and how a withheld DM is recorded (nothing posted, the row moves
on as if it had gone, so the next reminder is looked at in its turn)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from storage import people, reminders
from storage import plans as ops
from storage.claims import claim_due, lease_end
from storage.models import ItemReminder, Notification, NotificationKind, PlanStatus, WeeklySummary
from storage.plans import ActionItemInput, ObjectiveInput

from .conftest import OWNER, TEAM, make_plan

LEASE = dt.timedelta(minutes=10)
CUSTOMER = "UCUSTOMER"
DUE = dt.date(2025, 3, 5)  # a Wednesday
TUESDAY = dt.datetime(2025, 3, 4, 9, 0, 30, tzinfo=dt.timezone.utc)


@pytest.fixture
def items(session_factory):
    """Two items assigned to CUSTOMER: one shown to customers, one the team keeps."""
    with session_factory() as session, session.begin():
        plan = make_plan(session, status=PlanStatus.ACTIVE, share_with_customer_by_default=True)
        strategy = ops.add_strategy(session, OWNER, plan.id, "S")
        objective = ops.add_objective(session, OWNER, strategy.id, ObjectiveInput("O"))
        shown = ops.add_action_item(session, OWNER, objective.id, ActionItemInput(
            "Send the signed form", CUSTOMER, DUE))
        kept = ops.add_action_item(session, OWNER, objective.id, ActionItemInput(
            "Price concession", CUSTOMER, DUE, shared_with_customer=False))
        return shown.id, kept.id


def test_a_persons_organisation_is_unknown_until_recorded(session):
    assert people.organisations(session, [(TEAM, CUSTOMER), (TEAM, "UMEMBER")]) == {
        (TEAM, CUSTOMER): None, (TEAM, "UMEMBER"): None}
    people.record_organisation(session, TEAM, CUSTOMER, True)
    people.record_organisation(session, TEAM, "UMEMBER", False)
    people.record_organisation(session, TEAM, "UMEMBER", False)  # again: harmless
    assert people.organisations(session, [(TEAM, CUSTOMER), (TEAM, "UMEMBER")]) == {
        (TEAM, CUSTOMER): True, (TEAM, "UMEMBER"): False}
    assert people.organisations(session, [("T0OTHER", CUSTOMER)]) == {("T0OTHER", CUSTOMER): None}
    people.record_organisations(session, TEAM, {"UA": False, "UB": True, CUSTOMER: True})
    assert people.organisations(session, [(TEAM, "UA"), (TEAM, "UB")]) == {(TEAM, "UA"): False, (TEAM, "UB"): True}
    # A person first known this way still has their time zone asked for.
    assert (TEAM, "UA") in people.stale_among(session, [(TEAM, "UA")], now=TUESDAY)


def test_reminders_carry_the_organisation_and_whether_the_item_is_shown(session_factory, items):
    shown, kept = items
    with session_factory() as session, session.begin():
        people.record_organisation(session, TEAM, CUSTOMER, True)
    ids = claim_due(session_factory, ItemReminder, now=TUESDAY, lease=LEASE)
    held = lease_end(TUESDAY, LEASE)
    with session_factory() as session, session.begin():
        due = reminders.prepare_item_reminders(session, ids, now=TUESDAY, default_tz="UTC", held_until=held)
    assert sorted((d.facts.item_id, d.facts.shared, d.external) for d in due) == [
        (shown, True, True), (kept, False, True)]
    withheld = next(d for d in due if d.facts.item_id == kept)
    with session_factory() as session, session.begin():
        assert not reminders.record_reminder_withheld(session, withheld, held_until=held - dt.timedelta(seconds=1),
                                                       now=TUESDAY)
        assert reminders.record_reminder_withheld(session, withheld, held_until=held, now=TUESDAY)
    with session_factory() as session:
        row = session.get(ItemReminder, withheld.row_id)
        # Counted as given for the day (the next is the first overdue day), never as sent.
        assert (row.soon_sent, row.sends, row.dm_ts, row.locked_until, row.attempted_at) == (
            True, 0, None, None, None)
        assert row.last_error.startswith("withheld")
        assert row.next_run_at == dt.datetime(2025, 3, 6, 9, tzinfo=dt.timezone.utc)


def test_a_withheld_notification_is_done_with(session_factory, items):
    shown, kept = items
    ids = claim_due(session_factory, Notification, now=TUESDAY, lease=LEASE)
    held = lease_end(TUESDAY, LEASE)
    with session_factory() as session, session.begin():
        due = reminders.prepare_notifications(session, ids, now=TUESDAY, default_tz="UTC", held_until=held)
    assert sorted((n.kind, n.facts.item_id, n.facts.shared, n.external) for n in due) == [
        (NotificationKind.ASSIGNED, shown, True, None), (NotificationKind.ASSIGNED, kept, False, None)]
    note = next(n for n in due if n.facts.item_id == kept)
    with session_factory() as session, session.begin():
        assert reminders.record_notification_withheld(session, note.row_id, held_until=held)
    with session_factory() as session:
        row = session.get(Notification, note.row_id)
        assert (row.next_run_at, row.locked_until, row.sends) == (None, None, 0)
        assert row.last_error.startswith("withheld")
    assert note.row_id not in claim_due(session_factory, Notification, now=TUESDAY + LEASE * 2, lease=LEASE)


def test_the_summary_of_an_outsider_lists_only_items_shown_to_customers(session_factory, items):
    shown, kept = items
    with session_factory() as session:
        everything, more = reminders.open_items_of(session, TEAM, CUSTOMER, limit=20)
        assert sorted(f.item_id for f in everything) == [shown, kept] and more == 0
        visible, more = reminders.open_items_of(session, TEAM, CUSTOMER, limit=20, shared_only=True)
        assert [f.item_id for f in visible] == [shown] and more == 0
        one, more = reminders.open_items_of(session, TEAM, CUSTOMER, limit=1)
        assert more == 1
        one, more = reminders.open_items_of(session, TEAM, CUSTOMER, limit=1, shared_only=True)
        assert more == 0


def test_a_summary_says_whether_every_open_item_is_shown_listed_or_not(session_factory, items):
    from storage.reminders.rows import all_open_items_shown

    shown, kept = items
    with session_factory() as session, session.begin():
        assert all_open_items_shown(session, TEAM, CUSTOMER) is False
        ops.update_action_item(session, OWNER, kept, ActionItemInput("Price concession", CUSTOMER, DUE,
                                                                     shared_with_customer=True))
        assert all_open_items_shown(session, TEAM, CUSTOMER) is True
        assert all_open_items_shown(session, TEAM, "UNOBODY") is True


def test_a_withheld_summary_waits_for_next_monday(session_factory, items):
    monday = dt.datetime(2025, 3, 3, 9, 0, 30, tzinfo=dt.timezone.utc)
    with session_factory() as session, session.begin():
        row = session.scalars(select(WeeklySummary).where(WeeklySummary.user_id == CUSTOMER)).one()
        row.needs_schedule, row.next_run_at = False, monday
    ids = claim_due(session_factory, WeeklySummary, now=monday, lease=LEASE)
    held = lease_end(monday, LEASE)
    with session_factory() as session, session.begin():
        (due,) = reminders.prepare_summaries(session, ids, now=monday, default_tz="UTC", held_until=held)
        assert due.external is None and {f.shared for f in due.items} == {True, False}
        assert due.all_shown is False
        assert reminders.record_summary_withheld(session, due, held_until=held, now=monday)
    with session_factory() as session:
        row = session.get(WeeklySummary, due.row_id)
        assert (row.sends, row.locked_until) == (0, None) and row.last_error.startswith("withheld")
        assert row.next_run_at == dt.datetime(2025, 3, 10, 9, tzinfo=dt.timezone.utc)
