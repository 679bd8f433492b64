"""Digest subscriptions, schedules in the subscriber's time zone, digest content for
each audience, and QBR reminders: on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest

from storage import digests
from storage import plans as ops
from storage.digests import SubscriptionInput, next_run
from storage.errors import PermissionDenied, ValidationError
from storage.models import (
    Audience,
    DigestFrequency,
    DigestReason,
    DigestSubscription,
    PlanStatus,
)
from storage.plans import ActionItemInput, ReviewInput
from tests.storage.conftest import (
    MEMBER,
    OWNER,
    STRANGER,
    bulk_tree,
    counting,
    make_item,
    make_objective,
    make_plan,
    make_strategy,
)

UTC = dt.timezone.utc


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


# ---------------------------------------------------------------------------
# Schedules (pure)


def test_weekly_runs_on_the_next_weekday_at_local_time():
    # Wednesday 19 March 2025; Monday 09:00 in Berlin is 08:00 UTC in winter time.
    assert next_run("weekly", 0, dt.time(9), "Europe/Berlin", after=utc(2025, 3, 19, 10)) == utc(2025, 3, 24, 8)
    # Later the same Monday: next week. Exactly at the slot: next week too (strictly after).
    assert next_run("weekly", 0, dt.time(9), "UTC", after=utc(2025, 3, 24, 8)) == utc(2025, 3, 24, 9)
    assert next_run("weekly", 0, dt.time(9), "UTC", after=utc(2025, 3, 24, 9)) == utc(2025, 3, 31, 9)


def test_wall_clock_time_holds_across_daylight_saving_changes():
    spring = next_run("weekly", 0, dt.time(9), "Europe/Berlin", after=utc(2025, 3, 25))
    assert spring == utc(2025, 3, 31, 7)  # summer time from 30 March: 09:00 CEST = 07:00 UTC
    autumn = next_run("weekly", 0, dt.time(9), "America/New_York", after=utc(2025, 11, 1))
    assert autumn == utc(2025, 11, 3, 14)  # EST after 2 November: 09:00 = 14:00 UTC


def test_a_time_in_the_spring_forward_gap_runs_just_after_it():
    # 02:30 does not exist in Berlin on Sunday 30 March 2025 (02:00 → 03:00).
    run = next_run("weekly", 6, dt.time(2, 30), "Europe/Berlin", after=utc(2025, 3, 29))
    assert run == utc(2025, 3, 30, 1, 30)  # 03:30 local, once


def test_every_two_weeks_keeps_its_rhythm_and_skips_missed_slots():
    first = next_run("biweekly", 0, dt.time(9), "Europe/Berlin", after=utc(2025, 3, 19))
    assert first == utc(2025, 3, 24, 8)
    second = next_run("biweekly", 0, dt.time(9), "Europe/Berlin", after=first, previous=first)
    assert second == utc(2025, 4, 7, 7)  # fourteen days later, 09:00 summer time
    # The scheduler was down for five weeks: one digest now, then the next slot on the rhythm.
    late = next_run("biweekly", 0, dt.time(9), "Europe/Berlin", after=utc(2025, 5, 10), previous=second)
    assert late == utc(2025, 5, 19, 7)
    assert (late.date() - second.date()).days % 14 == 0


def test_monthly_is_the_first_weekday_of_the_month():
    assert next_run("monthly", 0, dt.time(9), "UTC", after=utc(2025, 3, 5)) == utc(2025, 4, 7, 9)
    assert next_run("monthly", 0, dt.time(9), "UTC", after=utc(2025, 3, 2)) == utc(2025, 3, 3, 9)
    assert next_run("monthly", 4, dt.time(17), "UTC", after=utc(2025, 12, 10)) == utc(2026, 1, 2, 17)


def test_none_means_only_after_qbrs():
    assert next_run(DigestFrequency.NONE, 0, dt.time(9), "UTC", after=utc(2025, 3, 5)) is None


# ---------------------------------------------------------------------------
# Subscriptions


def subscribe(session, plan, channel="C1", actor=OWNER, **fields):
    data = SubscriptionInput(channel_id=channel, **{"timezone": "Europe/Berlin", **fields})
    return digests.save_subscription(session, actor, plan.id, data, now=utc(2025, 3, 19, 10))


def test_save_subscription_schedules_it_and_saving_again_changes_it(session, plan):
    sub = subscribe(session, plan, frequency="weekly", weekday=0, time_of_day="09:00")
    assert sub.next_run_at == utc(2025, 3, 24, 8) and sub.timezone == "Europe/Berlin"
    sub.last_error = "I'm not in that private channel"
    sub.next_run_at = None
    again = subscribe(session, plan, frequency="monthly", weekday=2, time_of_day="16:30", after_qbr=False,
                      actor=MEMBER)
    assert again.id == sub.id  # one subscription per channel
    assert (again.frequency, again.weekday, again.time_of_day) == ("monthly", 2, dt.time(16, 30))
    assert again.last_error == "" and again.next_run_at == utc(2025, 4, 2, 14, 30)  # restarted
    assert [s.id for s in digests.subscriptions_of(session, plan.team_id, plan.id)] == [sub.id]


@pytest.mark.parametrize(("fields", "field"), [
    ({"channel": ""}, "channel"),
    ({"channel": "<#C1>"}, "channel"),
    ({"frequency": "daily"}, "frequency"),
    ({"weekday": "7"}, "weekday"),
    ({"time_of_day": None}, "time_of_day"),
    ({"timezone": "Mars/Olympus"}, "timezone"),
    ({"frequency": "none", "after_qbr": False}, "frequency"),
])
def test_bad_subscriptions_name_their_field(session, plan, fields, field):
    with pytest.raises(ValidationError) as raised:
        subscribe(session, plan, **fields)
    assert raised.value.field == field


def test_a_zone_this_machine_does_not_know_runs_in_utc_and_never_stops_a_pass(session, plan):
    """Saving refuses an unknown zone (above); one stored before tzdata dropped it, or
    written another way, is read as UTC by the scheduler instead of failing its pass."""
    assert next_run("weekly", 0, dt.time(9), "Mars/Olympus", after=utc(2025, 3, 19, 10)) == utc(2025, 3, 24, 9)
    sub = subscribe(session, plan, frequency="weekly", weekday=0, time_of_day="09:00")
    sub.timezone = "Mars/Olympus"
    session.flush()
    digests.record_sent(session, sub.id, now=utc(2025, 3, 24, 9, 30))
    assert sub.next_run_at == utc(2025, 3, 31, 9) and sub.last_error == ""


def test_only_owner_and_team_change_subscriptions(session, plan):
    with pytest.raises(PermissionDenied):
        subscribe(session, plan, actor=STRANGER)
    sub = subscribe(session, plan)
    with pytest.raises(PermissionDenied):
        digests.delete_subscription(session, STRANGER, sub.id)
    assert digests.delete_subscription(session, MEMBER, sub.id) == plan.id
    assert digests.subscriptions_of(session, plan.team_id, plan.id) == []


def test_a_plan_has_at_most_twenty_channels(session, plan):
    for n in range(digests.SUBSCRIPTIONS_MAX):
        subscribe(session, plan, channel=f"C{n}")
    with pytest.raises(ValidationError, match="at most"):
        subscribe(session, plan, channel="CMORE")
    subscribe(session, plan, channel="C3", frequency="monthly")  # changing one still works


def test_record_sent_moves_the_schedule_on_and_failures_stop_or_wait(session, plan):
    sub = subscribe(session, plan, frequency="biweekly")
    due = sub.next_run_at
    sub.locked_until = due + dt.timedelta(minutes=10)
    digests.record_sent(session, sub.id, now=due + dt.timedelta(seconds=5))
    assert sub.next_run_at == utc(2025, 4, 7, 7) and sub.locked_until is None
    assert sub.last_sent_at == due + dt.timedelta(seconds=5)
    digests.record_failed(session, sub.id, "Slack was down", permanent=False, retry_at=utc(2025, 4, 7, 8))
    assert sub.next_run_at == utc(2025, 4, 7, 7) and sub.locked_until == utc(2025, 4, 7, 8)
    digests.record_failed(session, sub.id, "channel archived", permanent=True)
    assert sub.next_run_at is None and sub.locked_until is None and sub.last_error == "channel archived"


# ---------------------------------------------------------------------------
# Content


TODAY = dt.date(2025, 6, 2)
NOW = utc(2025, 6, 2, 12)


@pytest.fixture
def rich_plan(session):
    """Done, due-soon, overdue and later items; one not shared with the customer of each
    kind (the rest, and the strategy and objective, are shared); a SWOT entry."""
    plan = make_plan(session, status=PlanStatus.ACTIVE, share_with_customer_by_default=True)
    strategy = make_strategy(session, plan, "Grow awareness")
    objective = make_objective(session, strategy, "Formulary approval", measure_unit="IDNs",
                               target_value=5, current_value=3)

    def item(title, due, *, secret=False, done=False):
        made = ops.add_action_item(session, OWNER, objective.id, ActionItemInput(
            title=title, assignee_id=MEMBER.user_id, due_date=due, shared_with_customer=False if secret else None))
        if done:
            ops.set_action_item_done(session, MEMBER, made.id, True)
        return made

    item("Shared done", dt.date(2025, 5, 20), done=True)
    item("Secret done", dt.date(2025, 5, 21), done=True, secret=True)
    item("Shared soon", TODAY + dt.timedelta(days=3))
    item("Secret soon", TODAY + dt.timedelta(days=4), secret=True)
    item("Shared late", TODAY - dt.timedelta(days=10))
    item("Secret late", TODAY - dt.timedelta(days=9), secret=True)
    item("Later", TODAY + dt.timedelta(days=40))
    ops.add_swot_entry(session, OWNER, plan.id, "weakness", "Our price is high")
    session.flush()
    return plan


def content(session, plan, audience, since=None):
    return digests.digest_content(session, plan.team_id, plan.id, audience=audience,
                                  since=since or utc(2000, 1, 1), today=TODAY)


def titles(items) -> list[str]:
    return [i.title for i in items]


def test_team_digest_lists_everything_with_counts_and_progress(session, rich_plan):
    found = content(session, rich_plan, Audience.TEAM)
    assert titles(found.done) == ["Shared done", "Secret done"]
    assert titles(found.due_soon) == ["Shared soon", "Secret soon"]
    assert titles(found.overdue) == ["Shared late", "Secret late"]
    assert found.counts == {"done": 2, "due_soon": 2, "overdue": 2, "changes": found.counts["changes"]}
    assert (found.progress.plan.done, found.progress.plan.total) == (2, 7)
    assert [s.title for s in found.strategies] == ["Grow awareness"]
    assert found.hidden is False
    assert any("Secret soon" in c.summary for c in found.changes)
    assert any(c.entity == "swot" for c in found.changes)


def test_external_digest_leaves_items_not_shared_and_their_changes_out(session, rich_plan):
    found = content(session, rich_plan, Audience.EXTERNAL)
    assert titles(found.done) == ["Shared done"]
    assert titles(found.due_soon) == ["Shared soon"]
    assert titles(found.overdue) == ["Shared late"]
    assert (found.counts["done"], found.counts["due_soon"], found.counts["overdue"]) == (1, 1, 1)
    assert (found.progress.plan.done, found.progress.plan.total) == (1, 4)  # shown items only
    assert found.hidden is True
    summaries = " ".join(c.summary for c in found.changes)
    assert "Secret" not in summaries and "Shared soon" in summaries
    assert not any(c.entity == "swot" for c in found.changes)
    assert found.counts["changes"] == len(found.changes)


def test_an_item_no_longer_shared_disappears_from_customer_digests(session, rich_plan):
    shared = next(i for i in content(session, rich_plan, Audience.EXTERNAL).due_soon)
    ops.update_action_item(session, OWNER, shared.id, ActionItemInput(
        title=shared.title, assignee_id=shared.assignee_id, due_date=shared.due_date,
        shared_with_customer=False))
    found = content(session, rich_plan, Audience.EXTERNAL)
    assert found.due_soon == []
    assert not any(c.entity_id == shared.id for c in found.changes if c.entity == "action_item")


def test_a_plan_sharing_everything_hides_nothing(session):
    plan = make_plan(session, share_with_customer_by_default=True)
    objective = make_objective(session, make_strategy(session, plan))
    make_item(session, objective, due=dt.date(2025, 6, 1))
    assert content(session, plan, Audience.EXTERNAL).hidden is False


def test_since_is_the_later_of_the_last_digest_here_and_the_last_qbr(session, rich_plan):
    plan = rich_plan
    assert digests.since_for(session, plan.id, "C1", now=NOW) == NOW - dt.timedelta(days=14)
    digests.record_post(session, team_id=plan.team_id, plan_id=plan.id, channel_id="C1", message_ts="1.1",
                        reason=DigestReason.ON_DEMAND, audience=Audience.TEAM, posted_by=OWNER.user_id,
                        now=utc(2025, 5, 1))
    assert digests.since_for(session, plan.id, "C1", now=NOW) == utc(2025, 5, 1)
    assert digests.since_for(session, plan.id, "C2", now=NOW) == NOW - dt.timedelta(days=14)  # per channel
    review = ops.add_review(session, OWNER, plan.id, ReviewInput(held_on=dt.date(2025, 5, 10)))
    review.created_at = utc(2025, 5, 10, 15)
    session.flush()
    assert digests.since_for(session, plan.id, "C1", now=NOW) == utc(2025, 5, 10, 15)
    # A QBR digest reports changes since the QBR before it, not since itself.
    assert digests.since_for(session, plan.id, "C1", now=NOW, exclude_review=review.id) == utc(2025, 5, 1)


def test_done_since_counts_only_what_was_done_after_the_last_digest(session, rich_plan):
    found = content(session, rich_plan, Audience.TEAM, since=utcnow_plus(minutes=1))
    assert found.done == [] and found.counts["done"] == 0 and found.changes == []


def utcnow_plus(**delta) -> dt.datetime:
    return dt.datetime.now(UTC) + dt.timedelta(**delta)


def test_next_qbr_comes_from_the_latest_review_or_the_reminder_rule(session, rich_plan):
    found = content(session, rich_plan, Audience.TEAM)
    assert found.next_qbr is None and found.qbr_due_by == dt.date(2025, 4, 1)  # start + 90 days
    review = ops.add_review(session, OWNER, rich_plan.id, ReviewInput(
        held_on=dt.date(2025, 5, 10), notes="Went well", next_qbr_date=dt.date(2025, 8, 12)))
    found = digests.digest_content(session, rich_plan.team_id, rich_plan.id, audience=Audience.TEAM,
                                   since=utc(2000, 1, 1), today=TODAY, review_id=review.id)
    assert found.next_qbr == dt.date(2025, 8, 12) and found.review.notes == "Went well"


def test_big_lists_are_capped_and_counted(session):
    plan = make_plan(session, status=PlanStatus.ACTIVE)
    bulk_tree(session, plan, 2, 3, 40)  # 240 open items due across the year
    found = digests.digest_content(session, plan.team_id, plan.id, audience=Audience.TEAM,
                                   since=utc(2000, 1, 1), today=dt.date(2025, 12, 31), list_limit=25)
    assert len(found.overdue) == 25 and found.counts["overdue"] == 240


def test_digest_content_takes_the_same_few_queries_whatever_the_size(session, engine):
    counts = {}
    for size in [(1, 1, 2), (5, 10, 30)]:
        plan = make_plan(session, name=f"Plan {size}", status=PlanStatus.ACTIVE)
        bulk_tree(session, plan, *size, done_every=3)
        ops.add_review(session, OWNER, plan.id, ReviewInput(held_on=dt.date(2025, 2, 1)))
        session.commit()
        for audience in Audience:
            with counting(engine) as counter:
                content(session, plan, audience)
            session.expire_all()
            counts[size, audience] = counter.count
    # Counted in: the commitments (both sides in one query) and the customer's
    # agreements (one query when there are none, as here; a fixed few more with some).
    assert counts[(1, 1, 2), Audience.TEAM] == counts[(5, 10, 30), Audience.TEAM] <= 12, counts
    assert counts[(1, 1, 2), Audience.EXTERNAL] == counts[(5, 10, 30), Audience.EXTERNAL] <= 14, counts


# ---------------------------------------------------------------------------
# QBR reminders


def test_a_plan_without_a_qbr_reminds_its_owner_once_a_period(session):
    plan = make_plan(session, status=PlanStatus.ACTIVE)
    draft = make_plan(session, name="Draft plan")  # drafts are not reminded
    session.commit()
    assert digests.claim_qbr_nudges(session, now=utc(2025, 3, 31, 12)) == []  # due 1 April
    claimed = digests.claim_qbr_nudges(session, now=utc(2025, 4, 2, 12))
    session.commit()
    assert [(n.plan_id, n.owner_id, n.due) for n in claimed] == [(plan.id, OWNER.user_id, dt.date(2025, 4, 1))]
    assert draft.id not in [n.plan_id for n in claimed]
    assert digests.claim_qbr_nudges(session, now=utc(2025, 4, 20)) == []  # once this period
    again = digests.claim_qbr_nudges(session, now=utc(2025, 7, 1, 8))  # a period later, still none
    assert [n.plan_id for n in again] == [plan.id]
    session.commit()
    ops.add_review(session, OWNER, plan.id, ReviewInput(held_on=dt.date(2025, 7, 2)))
    session.commit()
    assert digests.claim_qbr_nudges(session, now=utc(2025, 9, 29)) == []  # next due 30 Sep
    assert [n.plan_id for n in digests.claim_qbr_nudges(session, now=utc(2025, 9, 30, 1))] == [plan.id]


def test_a_claimed_reminder_is_not_claimed_by_another_pass_and_can_be_released(session_factory):
    with session_factory() as session:
        plan = make_plan(session, status=PlanStatus.ACTIVE)
        version = plan.version
        session.commit()
    now = utc(2025, 4, 2)
    with session_factory() as first, session_factory() as second:
        first_claims = digests.claim_qbr_nudges(first, now=now)
        first.commit()
        assert digests.claim_qbr_nudges(second, now=now) == []
        second.commit()
        digests.release_qbr_nudge(first, first_claims[0])
        first.commit()
    with session_factory() as session:
        assert [n.plan_id for n in digests.claim_qbr_nudges(session, now=now)] == [plan.id]
        session.commit()
        # Claiming is not an edit: the plan's version is unchanged (no one's form goes stale).
        assert ops.get_plan(session, plan.team_id, plan.id).version == version


def test_reminders_can_be_turned_off(session):
    plan = make_plan(session, status=PlanStatus.ACTIVE)
    plan.qbr_reminder_days = 0
    session.commit()
    assert digests.claim_qbr_nudges(session, now=utc(2025, 11, 1)) == []


def test_claims_of_subscriptions_are_exclusive(session_factory):
    from storage.claims import claim_due

    with session_factory() as session:
        plan = make_plan(session, status=PlanStatus.ACTIVE)
        subscribe(session, plan)
        session.commit()
    now = utc(2025, 3, 24, 8, 1)
    first = claim_due(session_factory, DigestSubscription, now=now, lease=dt.timedelta(minutes=10))
    second = claim_due(session_factory, DigestSubscription, now=now, lease=dt.timedelta(minutes=10))
    assert len(first) == 1 and second == []


def test_a_pass_that_lost_its_lease_records_nothing(session_factory):
    from storage.claims import claim_due

    with session_factory() as session:
        plan = make_plan(session, status=PlanStatus.ACTIVE)
        sub_id = subscribe(session, plan).id
        session.commit()
    due = utc(2025, 3, 24, 8)
    lease = dt.timedelta(minutes=10)
    assert claim_due(session_factory, DigestSubscription, now=due, lease=lease) == [sub_id]
    # The first pass is slower than its lease; a second pass takes the row over.
    later = due + dt.timedelta(minutes=11)
    assert claim_due(session_factory, DigestSubscription, now=later, lease=lease) == [sub_id]
    with session_factory() as session, session.begin():
        assert digests.held(session, sub_id, due + lease) is None
        digests.record_sent(session, sub_id, now=due, held_until=due + lease)  # ignored
        digests.record_failed(session, sub_id, "late", permanent=True, held_until=due + lease)  # ignored
    with session_factory() as session, session.begin():
        sub = digests.held(session, sub_id, later + lease)
        assert sub is not None and sub.next_run_at == due and sub.last_error == ""
        digests.record_sent(session, sub_id, now=later, held_until=later + lease)
    with session_factory() as session:
        sub = session.get(DigestSubscription, sub_id)
        assert sub.next_run_at == utc(2025, 3, 31, 7) and sub.locked_until is None
