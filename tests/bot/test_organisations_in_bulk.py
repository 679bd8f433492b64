"""After an upgrade nobody's organisation is known yet (people.external is NULL, their
zones known): the time zone job learns it for everyone at once from users.list pages
before the DMs, so a pass with 200 such recipients asks users.info of nobody and every
DM still goes out in that pass (issue 13's regression: a users.info each, at Tier 4)."""

from __future__ import annotations

import datetime as dt
import time

from sqlalchemy import select, update

from bot.scheduler import passes as scheduler
from bot.scheduler import time_zone_jobs
from bot.slack.ratelimit import RateLimiter
from bot.slack.users import from_elsewhere
from storage import people
from storage import plans as ops
from storage.models import ItemReminder, Notification, Person
from storage.plans import ActionItemInput, Actor, ObjectiveInput, PlanInput
from tests.bot.test_reminders_sending import Clock

TEAM, OWNER = "T1", "U0OWNER"
NOW = dt.datetime(2025, 3, 4, 9, 0, 30, tzinfo=dt.timezone.utc)  # a Tuesday, 09:00 UTC
DUE = dt.date(2025, 3, 5)  # due tomorrow: the due-soon reminder is due now


def seed(session_factory, reminded: list[str]) -> None:
    """One item each, not shared with the customer, whose due-soon reminder is due now;
    everyone's zone known (fetched yesterday), nobody's organisation (as after 0008)."""
    owner = Actor(TEAM, OWNER)
    with session_factory() as session, session.begin():
        plan = ops.create_plan(session, owner, PlanInput("Newton 2025", "Newton", dt.date(2025, 1, 1),
                                                         dt.date(2025, 12, 31), "active"))
        strategy = ops.add_strategy(session, owner, plan.id, "Awareness")
        objective = ops.add_objective(session, owner, strategy.id, ObjectiveInput("Outcomes"))
        for user in reminded:
            ops.add_action_item(session, owner, objective.id, ActionItemInput(f"Item for {user}", user, DUE))
        for user in [OWNER, *reminded]:
            people.record_timezone(session, TEAM, user, "UTC", now=NOW - dt.timedelta(days=1))
        session.execute(update(Person).values(external=None))
        session.execute(update(Notification).values(next_run_at=None, sends=1,
                                                    last_sent_at=NOW - dt.timedelta(days=30)))
        session.execute(update(ItemReminder).values(needs_schedule=False,
                                                    next_run_at=NOW - dt.timedelta(seconds=30)))


def organisations(session_factory) -> dict[str, bool | None]:
    with session_factory() as session:
        return dict(session.execute(select(Person.user_id, Person.external)).all())


def test_two_hundred_unknown_organisations_cost_one_users_list_page(settings, session_factory, slack_api):
    reminded = [f"U0R{n:03d}" for n in range(200)]
    guest = reminded[-1]
    for user in [OWNER, *reminded[:-1]]:
        slack_api.set_user(user)
    slack_api.set_user(guest, team_id="T0CUSTOMER")  # a Slack Connect member, listed
    for n in range(300):  # colleagues we do not remind: listed, not kept
        slack_api.set_user(f"U0X{n:03d}")
    seed(session_factory, reminded)
    clock = Clock()
    limiter = RateLimiter(clock=clock, sleep=clock.sleep)  # Slack's published tiers
    context = scheduler.make_context(settings, session_factory, limiter)
    started = time.perf_counter()
    report = scheduler.run_pass(context, NOW)
    seconds = time.perf_counter() - started
    assert report.failed == []
    dms = [c for c in slack_api.calls_to("chat.postMessage") if c.ok]
    due_soon = sorted(c.params["channel"] for c in dms if c.params["text"].startswith("Due soon"))
    assert due_soon == reminded[:-1]  # all in this pass; the Slack Connect member: nothing internal
    assert guest not in {c.params["channel"] for c in dms}
    users_info, users_list = slack_api.calls_to("users.info"), slack_api.calls_to("users.list")
    print(f"\n200 unknown organisations: users.info {len(users_info)}, users.list {len(users_list)}, "
          f"{clock.now:.0f} s at Slack's tiers ({seconds:.1f} s here)")
    assert users_info == [] and len(users_list) == 1
    known = organisations(session_factory)
    assert known[guest] is True and {known[user] for user in reminded[:-1]} == {False}


def test_someone_users_list_does_not_have_is_asked_once_before_the_dms(settings, session_factory, slack_api):
    """A Slack Connect member users.list leaves out: one users.info, from the time zone
    job before the DMs (never again by the reminder job), and as a stranger they get no
    DM about an item not shared with the customer."""
    reminded = [f"U0R{n:03d}" for n in range(30)]
    stranger = reminded[0]
    for user in [OWNER, *reminded[1:]]:
        slack_api.set_user(user)
    slack_api.on("users.info", lambda call: {"ok": True, "user": {
        "id": call.params["user"], "team_id": "T0CUSTOMER", "is_stranger": True, "tz": "Asia/Tokyo"}})
    seed(session_factory, reminded)
    report = scheduler.run_pass(scheduler.make_context(settings, session_factory), NOW)
    assert report.failed == []
    assert [c.params["user"] for c in slack_api.calls_to("users.info")] == [stranger]
    assert len(slack_api.calls_to("users.list")) == 1
    dms = [c for c in slack_api.calls_to("chat.postMessage") if c.ok]
    assert sorted(c.params["channel"] for c in dms if c.params["text"].startswith("Due soon")) == reminded[1:]
    assert stranger not in {c.params["channel"] for c in dms}
    assert organisations(session_factory)[stranger] is True


def test_a_few_unknown_organisations_come_from_users_info_in_the_time_zone_job(settings, session_factory,
                                                                                slack_api):
    reminded = [f"U0R{n:03d}" for n in range(3)]
    seed(session_factory, reminded)
    context = scheduler.make_context(settings, session_factory)
    time_zone_jobs.refresh_time_zones(context, NOW)
    assert sorted(c.params["user"] for c in slack_api.calls_to("users.info")) == sorted([OWNER, *reminded])
    assert set(organisations(session_factory).values()) == {False}
    scheduler.run_pass(context, NOW)  # known now: nobody is asked again
    assert len(slack_api.calls_to("users.info")) == len(reminded) + 1
    assert sorted(c.params["channel"] for c in slack_api.calls_to("chat.postMessage")
                  if c.ok and c.params["text"].startswith("Due soon")) == reminded


def test_who_is_from_another_organisation():
    assert from_elsewhere({"id": "U1", "team_id": TEAM}, TEAM) is False
    assert from_elsewhere({"id": "U1", "team_id": TEAM, "is_restricted": True}, TEAM) is False  # a guest
    assert from_elsewhere({"id": "U1", "team_id": "T0CUSTOMER"}, TEAM) is True
    assert from_elsewhere({"id": "U1", "team_id": TEAM, "is_stranger": True}, TEAM) is True
    assert from_elsewhere({"id": "U1"}, TEAM) is True and from_elsewhere(None, TEAM) is True


def test_a_claimed_lookup_is_not_claimed_again_until_its_lease_runs_out(session_factory):
    """Two passes at once share the work: a person of unknown organisation (zone known)
    claimed by one is not listed or asked by another until the claim runs out."""
    lease = time_zone_jobs.LOOKUP_LEASE
    with session_factory() as session, session.begin():
        people.record_timezone(session, TEAM, "U0A", "UTC", now=NOW - dt.timedelta(days=1))
        people.record_timezone(session, TEAM, "U0B", "UTC", now=NOW - dt.timedelta(days=1))
        people.record_organisation(session, TEAM, "U0B", False)
        assert people.unknown_counts(session, now=NOW, lease=lease) == {TEAM: 1}
        assert people.claim_unknown(session, TEAM, now=NOW, lease=lease) == ["U0A"]
        later = NOW + lease / 2
        assert people.unknown_counts(session, now=later, lease=lease) == {}
        assert people.claim_stale(session, now=later, lease=lease, limit=10) == []
        assert people.claim_stale(session, now=NOW + lease * 2, lease=lease, limit=10) == [(TEAM, "U0A")]
