"""Reminder rows follow the plan operations: who is told what, and what is (re)scheduled."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from storage import people, reminders
from storage import plans as ops
from storage.claims import claim_due, lease_end
from storage.errors import PermissionDenied, ValidationError
from storage.models import (
    AccountPlan,
    ItemReminder,
    Notification,
    NotificationKind,
    PlanStatus,
    WeeklySummary,
)
from storage.planfile import import_plan_file
from storage.plans import ActionItemInput, Actor, CopyOptions
from storage.reminder_calendar import Kind

from .conftest import MEMBER, OWNER, TEAM, make_objective, make_plan, make_strategy

LEASE = dt.timedelta(minutes=10)
DUE = dt.date(2025, 3, 5)  # a Wednesday
OTHER = Actor(TEAM, "UOTHER")


def notes(session, kind=None):
    query = select(Notification).order_by(Notification.id)
    if kind is not None:
        query = query.where(Notification.kind == kind)
    return [(n.kind, n.user_id, n.actor_id) for n in session.scalars(query)]


def row_of(session, item) -> ItemReminder:
    item_id = item if isinstance(item, int) else item.id
    return session.scalars(select(ItemReminder).where(ItemReminder.action_item_id == item_id)).one()


@pytest.fixture
def objective(session):
    plan = make_plan(session, team=[MEMBER.user_id, OTHER.user_id], status=PlanStatus.ACTIVE)
    built = make_objective(session, make_strategy(session, plan))
    session.commit()
    return built


def add(session, objective, assignee=MEMBER.user_id, actor=OWNER, due=DUE, title="Share the study"):
    item = ops.add_action_item(session, actor, objective.id,
                               ActionItemInput(title=title, assignee_id=assignee, due_date=due))
    session.flush()
    return item


def edit(session, item, actor=OWNER, **changes):
    fields = dict(title=item.title, assignee_id=item.assignee_id, due_date=item.due_date)
    fields.update(changes)
    return ops.update_action_item(session, actor, item.id, ActionItemInput(**fields))


def test_assigning_someone_else_schedules_and_tells_them(session, objective):
    item = add(session, objective)
    row = row_of(session, item)
    assert (row.assignee_id, row.assigned_by, row.due_date) == (MEMBER.user_id, OWNER.user_id, DUE)
    assert row.needs_schedule and row.next_run_at == reminders.ASAP
    assert notes(session) == [(NotificationKind.ASSIGNED, MEMBER.user_id, OWNER.user_id)]
    assert session.scalars(select(WeeklySummary.user_id)).all() == [MEMBER.user_id]


def test_assigning_yourself_is_scheduled_but_not_announced(session, objective):
    item = add(session, objective, assignee=OWNER.user_id)
    assert row_of(session, item).assignee_id == OWNER.user_id
    assert notes(session) == []


def test_reassigning_tells_both_and_starts_over(session, objective):
    item = add(session, objective)
    row = row_of(session, item)
    row.soon_sent, row.overdue_sent, row.dm_channel_id, row.dm_ts = True, 2, "DMEMBER", "1.5"
    session.flush()
    edit(session, item, actor=OTHER, assignee_id=OWNER.user_id)
    assert notes(session)[1:] == [
        (NotificationKind.UNASSIGNED, MEMBER.user_id, OTHER.user_id),
        (NotificationKind.DM_UPDATE, MEMBER.user_id, OTHER.user_id),
        (NotificationKind.ASSIGNED, OWNER.user_id, OTHER.user_id),
    ]
    update = session.scalars(select(Notification).where(Notification.kind == NotificationKind.DM_UPDATE)).one()
    assert update.details["state"] == "reassigned" and (update.details["channel"], update.details["ts"]) == ("DMEMBER", "1.5")
    row = row_of(session, item)
    assert (row.assignee_id, row.assigned_by, row.soon_sent, row.overdue_sent, row.dm_ts) == \
        (OWNER.user_id, OTHER.user_id, False, 0, None)


def test_reassigning_to_yourself_tells_only_the_one_who_lost_it(session, objective):
    item = add(session, objective)
    edit(session, item, actor=MEMBER, assignee_id=OTHER.user_id)  # member hands it on
    assert notes(session)[1:] == [(NotificationKind.ASSIGNED, OTHER.user_id, MEMBER.user_id)]


def test_a_new_due_date_counts_reminders_afresh(session, objective):
    item = add(session, objective)
    row = row_of(session, item)
    row.needs_schedule, row.next_run_at, row.soon_sent, row.overdue_sent = False, None, True, 3
    session.flush()
    edit(session, item, due_date=DUE + dt.timedelta(days=7))
    row = row_of(session, item)
    assert (row.due_date, row.soon_sent, row.overdue_sent, row.needs_schedule) == (DUE + dt.timedelta(days=7), False, 0, True)
    edit(session, item, title="A new title only")
    assert len(notes(session)) == 1  # editing the text tells nobody


def test_done_tells_the_assigner_stops_reminders_and_redraws_the_dm(session, objective):
    item = add(session, objective)
    row = row_of(session, item)
    row.dm_channel_id, row.dm_ts, row.next_run_at, row.needs_schedule = "DMEMBER", "2.5", dt.datetime(2025, 3, 4, 8, tzinfo=dt.timezone.utc), False
    session.flush()
    ops.set_action_item_done(session, MEMBER, item.id, True)
    assert notes(session)[1:] == [
        (NotificationKind.DONE, OWNER.user_id, MEMBER.user_id),
        (NotificationKind.DM_UPDATE, MEMBER.user_id, MEMBER.user_id),
    ]
    assert row_of(session, item).next_run_at is None
    ops.set_action_item_done(session, MEMBER, item.id, False)  # reopened: scheduled again
    assert row_of(session, item).next_run_at == reminders.ASAP


def test_done_by_the_assigner_needs_no_notice(session, objective):
    item = add(session, objective)
    ops.set_action_item_done(session, OWNER, item.id, True)
    assert notes(session, NotificationKind.DONE) == []


def test_deleting_redraws_the_dm_and_drops_the_row(session, objective):
    item = add(session, objective)
    row = row_of(session, item)
    row.dm_channel_id, row.dm_ts = "DMEMBER", "3.5"
    session.flush()
    ops.delete_action_item(session, OWNER, item.id)
    session.flush()
    update = session.scalars(select(Notification).where(Notification.kind == NotificationKind.DM_UPDATE)).one()
    assert update.details["state"] == "deleted" and update.details["title"] == "Share the study"
    assert session.scalars(select(ItemReminder)).all() == []


def test_a_completed_plan_falls_quiet_and_an_active_one_resumes(session_factory, objective):
    with session_factory() as session, session.begin():
        item_id = add(session, objective).id
        ops.set_plan_status(session, OWNER, objective.plan_id, PlanStatus.COMPLETED)
    now = dt.datetime(2025, 3, 3, 12, tzinfo=dt.timezone.utc)
    ids, held = _claim(session_factory, now)
    with session_factory() as session, session.begin():
        assert reminders.prepare_item_reminders(session, ids, now=now, default_tz="UTC", held_until=held) == []
        assert row_of(session, item_id).next_run_at is None
        ops.set_plan_status(session, OWNER, objective.plan_id, PlanStatus.ACTIVE)
    ids, held = _claim(session_factory, now)
    with session_factory() as session, session.begin():
        reminders.prepare_item_reminders(session, ids, now=now, default_tz="UTC", held_until=held)
        assert row_of(session, item_id).next_run_at == dt.datetime(2025, 3, 4, 9, tzinfo=dt.timezone.utc)


def test_plans_written_in_bulk_are_picked_up_once(session, objective, session_factory):
    plan_file = """
plans:
  - name: Imported
    account: Imported account
    start_date: 2025-01-01
    end_date: 2025-12-31
    owner: UOWNER
    strategies:
      - title: S
        objectives:
          - title: O
            action_items:
              - {title: Open one, assignee: UMEMBER, due_date: 2025-03-05}
              - {title: Done one, assignee: UMEMBER, due_date: 2025-03-05, status: done}
"""
    (imported,) = import_plan_file(session, TEAM, plan_file, "yaml")
    copy = ops.deep_copy_plan(session, OWNER, imported, CopyOptions(
        name="Copy", start_date=dt.date(2026, 1, 1), end_date=dt.date(2026, 12, 31)))
    session.commit()
    assert session.scalars(select(ItemReminder)).all() == []
    assert notes(session) == []  # bulk writes announce nothing
    assert reminders.sync_new_plans(session) == 3  # the fixture's plan, the import, the copy
    assert reminders.sync_new_plans(session) == 0
    rows = session.scalars(select(ItemReminder).order_by(ItemReminder.id)).all()
    # The import's open assigned item, and the copy's two (a copy starts open).
    assert [(r.assignee_id, r.assigned_by, r.needs_schedule) for r in rows] == [("UMEMBER", "UOWNER", True)] * 3
    assert session.get(AccountPlan, copy.id).version == copy.version  # no edit of the plan


def test_lead_time_is_the_owners_to_change_and_is_no_edit(session, objective):
    plan = session.get(AccountPlan, objective.plan_id)
    version = plan.version
    with pytest.raises(PermissionDenied):
        reminders.set_lead_days(session, MEMBER, plan.id, 3)
    with pytest.raises(ValidationError):
        reminders.set_lead_days(session, OWNER, plan.id, 4)
    item = add(session, objective)
    row = row_of(session, item)
    row.needs_schedule, row.next_run_at = False, None
    session.flush()
    reminders.set_lead_days(session, OWNER, plan.id, 3)
    session.commit()
    plan = session.get(AccountPlan, objective.plan_id)
    assert (plan.reminder_lead_days, plan.version) == (3, version)  # an open edit form still saves
    session.expire_all()
    assert row_of(session, item).needs_schedule is True


def test_only_the_assignee_snoozes(session, objective):
    item = add(session, objective)
    now = dt.datetime(2025, 3, 7, 9, 5, tzinfo=dt.timezone.utc)  # a Friday
    with pytest.raises(PermissionDenied):
        reminders.snooze(session, OWNER, item.id, 1, now=now, default_tz="UTC")
    people.record_timezone(session, TEAM, MEMBER.user_id, "Asia/Kolkata", now=now)
    row = reminders.snooze(session, MEMBER, item.id, 1, now=now, default_tz="UTC")
    assert row.snoozed_until == dt.datetime(2025, 3, 10, 3, 30, tzinfo=dt.timezone.utc)  # Monday 09:00 IST
    assert row.next_run_at == row.snoozed_until


def test_muting_the_summary_and_back(session):
    row = reminders.set_summary_muted(session, MEMBER, True)
    assert row.next_run_at is None and reminders.summary_muted(session, TEAM, MEMBER.user_id)
    row = reminders.set_summary_muted(session, MEMBER, False)
    assert row.next_run_at == reminders.ASAP and not reminders.summary_muted(session, TEAM, MEMBER.user_id)


def test_a_new_time_zone_moves_pending_reminders(session, objective):
    item = add(session, objective)
    row = row_of(session, item)
    row.needs_schedule, row.next_run_at = False, dt.datetime(2025, 3, 4, 8, tzinfo=dt.timezone.utc)
    session.flush()
    now = dt.datetime(2025, 3, 1, tzinfo=dt.timezone.utc)
    assert reminders.set_timezone(session, TEAM, MEMBER.user_id, "Europe/Berlin", now=now) is True
    session.expire_all()
    assert row_of(session, item).needs_schedule is True
    row_of(session, item).needs_schedule = False
    session.flush()
    assert reminders.set_timezone(session, TEAM, MEMBER.user_id, "Europe/Berlin", now=now) is False
    session.expire_all()
    assert row_of(session, item).needs_schedule is False


def _claim(session_factory, now):
    return claim_due(session_factory, ItemReminder, now=now, lease=LEASE), lease_end(now, LEASE)


def test_a_claimed_row_is_scheduled_sent_and_recorded(session_factory, objective):
    with session_factory() as session, session.begin():
        item_id = add(session, objective).id
    monday = dt.datetime(2025, 3, 3, 12, tzinfo=dt.timezone.utc)
    ids, held = _claim(session_factory, monday)
    with session_factory() as session, session.begin():
        assert reminders.prepare_item_reminders(session, ids, now=monday, default_tz="UTC", held_until=held) == []
    with session_factory() as session:  # scheduled for Tuesday 09:00 UTC, the day before
        assert row_of(session, item_id).next_run_at == dt.datetime(2025, 3, 4, 9, tzinfo=dt.timezone.utc)
    tuesday = dt.datetime(2025, 3, 4, 9, 0, 30, tzinfo=dt.timezone.utc)
    ids, held = _claim(session_factory, tuesday)
    with session_factory() as session, session.begin():
        (due,) = reminders.prepare_item_reminders(session, ids, now=tuesday, default_tz="UTC", held_until=held)
    assert (due.kind, due.user_id, due.facts.title, due.assigned_by, due.key) == \
        (Kind.SOON, MEMBER.user_id, "Share the study", OWNER.user_id, f"r{ids[0]}-0")
    with session_factory() as session, session.begin():
        stale = held - dt.timedelta(seconds=1)
        assert not reminders.record_reminder_sent(session, due, held_until=stale, now=tuesday,
                                                   channel="D1", ts="9.9")
        assert reminders.record_reminder_sent(session, due, held_until=held, now=tuesday,
                                              channel="D1", ts="9.9")
    with session_factory() as session:
        row = session.get(ItemReminder, due.row_id)
        assert (row.soon_sent, row.sends, row.dm_ts, row.locked_until) == (True, 1, "9.9", None)
        assert row.next_run_at == dt.datetime(2025, 3, 6, 9, tzinfo=dt.timezone.utc)  # first overdue day


def test_failures_back_off_or_stop(session_factory, objective):
    with session_factory() as session, session.begin():
        item = add(session, objective)
        row = row_of(session, item)
        row.needs_schedule, row.next_run_at = False, dt.datetime(2025, 3, 4, 9, tzinfo=dt.timezone.utc)
    now = dt.datetime(2025, 3, 4, 9, 1, tzinfo=dt.timezone.utc)
    ids, held = _claim(session_factory, now)
    with session_factory() as session, session.begin():
        assert reminders.record_failure(session, ItemReminder, ids[0], held_until=held, now=now,
                                        error="ratelimited", permanent=False, retry_after=300)
    with session_factory() as session:
        row = session.get(ItemReminder, ids[0])
        assert row.next_run_at is not None and row.locked_until == now + dt.timedelta(seconds=300)
    assert _claim(session_factory, now + dt.timedelta(minutes=4))[0] == []
    ids, held = _claim(session_factory, now + dt.timedelta(minutes=6))
    with session_factory() as session, session.begin():
        reminders.record_failure(session, ItemReminder, ids[0], held_until=held, now=now,
                                 error="user_not_found", permanent=True)
    with session_factory() as session:
        row = session.get(ItemReminder, ids[0])
        assert (row.next_run_at, row.last_error) == (None, "user_not_found")


def test_people_we_remind_are_asked_for_their_zone_until_it_is_known_then_weekly(session, objective):
    add(session, objective)  # MEMBER is reminded from now on
    now = dt.datetime(2025, 3, 3, tzinfo=dt.timezone.utc)
    assert reminders.people_needing_timezones(session, now=now) == [(TEAM, MEMBER.user_id)]
    reminders.set_timezone(session, TEAM, MEMBER.user_id, "Europe/Berlin", now=now)
    assert reminders.people_needing_timezones(session, now=now + dt.timedelta(days=6)) == []
    assert reminders.people_needing_timezones(session, now=now + dt.timedelta(days=7)) == [(TEAM, MEMBER.user_id)]
    people.record_lookup_failed(session, TEAM, MEMBER.user_id, "user_not_found", now=now + dt.timedelta(days=7))
    assert reminders.people_needing_timezones(session, now=now + dt.timedelta(days=8)) == []
