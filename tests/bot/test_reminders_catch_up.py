"""Issue 9, in one process on SQLite and PostgreSQL: a missed 09:00 is caught up the same
day, an overdue reminder never twice a day, and time zones come in bulk when many are
unknown (the workspace's zone meanwhile, corrected when Slack answers)."""

from __future__ import annotations

import datetime as dt
import json
import time

from sqlalchemy import select, update

from bot.scheduler import passes as scheduler
from bot.scheduler import time_zone_jobs
from bot.slack.ratelimit import RateLimiter
from storage import people
from storage import plans as ops
from storage.models import ItemReminder, Notification, Person
from storage.plans import ActionItemInput, Actor, ObjectiveInput, PlanInput
from tests.bot.test_reminders_scheduler import UNHURRIED
from tests.bot.test_reminders_sending import Clock

TEAM, OWNER, MEMBER = "T1", "U0OWNER", "U0MEMBER"
UTC = dt.timezone.utc


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def objective(session_factory, members=(MEMBER,)) -> int:
    owner = Actor(TEAM, OWNER)
    with session_factory() as session, session.begin():
        plan = ops.create_plan(session, owner, PlanInput("Newton 2025", "Newton", dt.date(2025, 1, 1),
                                                         dt.date(2025, 12, 31), "active", team=list(members)))
        strategy = ops.add_strategy(session, owner, plan.id, "Awareness")
        return ops.add_objective(session, owner, strategy.id, ObjectiveInput("Outcomes")).id


def add(session_factory, objective_id: int, title: str, due: dt.date, assignee: str = MEMBER) -> int:
    with session_factory() as session, session.begin():
        return ops.add_action_item(session, Actor(TEAM, OWNER), objective_id,
                                   ActionItemInput(title, assignee, due)).id


def edit_due(session_factory, item_id: int, title: str, due: dt.date, assignee: str = MEMBER) -> None:
    with session_factory() as session, session.begin():
        ops.update_action_item(session, Actor(TEAM, OWNER), item_id, ActionItemInput(title, assignee, due))


class Passes:
    """Scheduler passes at chosen moments; the reminder DMs each one sent."""

    def __init__(self, settings, session_factory, slack_api, limiter: RateLimiter = UNHURRIED) -> None:
        self.api = slack_api
        self.context = scheduler.make_context(settings, session_factory, limiter)
        self.sent: list[tuple[dt.datetime, str, str]] = []  # (pass time, recipient, text)

    def at(self, now: dt.datetime) -> list[str]:
        before = len(self.api.calls)
        report = scheduler.run_pass(self.context, now)
        assert report.failed == []
        new = [c for c in self.api.calls[before:] if c.method == "chat.postMessage" and c.ok]
        self.sent += [(now, c.params["channel"], c.params["text"]) for c in new]
        return [c.params["text"] for c in new]

    def every(self, start: dt.datetime, end: dt.datetime, step=dt.timedelta(minutes=30)) -> None:
        now = start
        while now < end:
            self.at(now)
            now += step

    def reminders(self) -> list[tuple[str, str]]:
        return [(now.strftime("%a %d %H:%M"), text) for now, _, text in self.sent
                if text.startswith(("Due soon", "Overdue", "Reminder"))]


def test_a_reminder_missed_while_no_instance_ran_goes_out_when_one_comes_back(settings, session_factory, slack_api):
    passes = Passes(settings, session_factory, slack_api)
    item_id = objective(session_factory)
    add(session_factory, item_id, "Share the study", dt.date(2025, 3, 5))  # due Wednesday
    passes.at(utc(2025, 3, 3, 12, 0, 30))  # Monday: the assignment DM
    passes.every(utc(2025, 3, 3, 12, 30, 30), utc(2025, 3, 4, 8, 30, 30))  # …until Tuesday 08:30
    assert passes.reminders() == []
    # Down from 08:30 to 14:00 on Tuesday: the 09:00 heads-up goes out when it is back.
    passes.every(utc(2025, 3, 4, 14, 0, 30), utc(2025, 3, 5, 0, 0, 30))
    assert passes.reminders() == [("Tue 04 14:00", "Due soon: Share the study")]


def test_an_item_rescheduled_after_its_slot_is_reminded_the_same_day(settings, session_factory, slack_api):
    passes = Passes(settings, session_factory, slack_api)
    objective_id = objective(session_factory)
    item_id = add(session_factory, objective_id, "Share the study", dt.date(2025, 3, 14))
    passes.every(utc(2025, 3, 3, 12, 0, 30), utc(2025, 3, 4, 15, 0, 30))
    assert passes.reminders() == []
    edit_due(session_factory, item_id, "Share the study", dt.date(2025, 3, 5))  # now due tomorrow
    passes.every(utc(2025, 3, 4, 15, 0, 30), utc(2025, 3, 5, 23, 0, 30))
    assert passes.reminders() == [("Tue 04 15:00", "Due soon: Share the study")]  # not skipped for good


def test_an_overdue_reminder_goes_out_once_a_day_even_when_rescheduled(settings, session_factory, slack_api):
    passes = Passes(settings, session_factory, slack_api)
    objective_id = objective(session_factory)
    item_id = add(session_factory, objective_id, "Share the study", dt.date(2025, 2, 28))
    passes.at(utc(2025, 3, 3, 8, 0, 30))  # Monday, before 09:00: the assignment DM only
    passes.every(utc(2025, 3, 4, 9, 0, 30), utc(2025, 3, 4, 11, 0, 30))  # Tuesday 09:00: overdue
    # Moved to another date that is past already (its reminders count afresh): not twice today.
    edit_due(session_factory, item_id, "Share the study", dt.date(2025, 3, 3))
    passes.every(utc(2025, 3, 4, 11, 0, 30), utc(2025, 3, 5, 9, 30, 30))
    assert passes.reminders() == [("Tue 04 09:00", "Overdue: Share the study"),
                                  ("Wed 05 09:00", "Overdue: Share the study")]
    with session_factory() as session:
        assert session.scalars(select(ItemReminder.overdue_sent)).one() == 1  # the new date's first


def test_an_assignment_dm_on_the_day_of_the_heads_up_is_the_heads_up(settings, session_factory, slack_api):
    passes = Passes(settings, session_factory, slack_api)
    objective_id = objective(session_factory)
    add(session_factory, objective_id, "Share the study", dt.date(2025, 3, 5))  # assigned Tuesday 15:00
    passes.every(utc(2025, 3, 4, 15, 0, 30), utc(2025, 3, 6, 10, 0, 30))
    assert [text for _, _, text in passes.sent] == ["<@U0OWNER> assigned you: Share the study",
                                                    "Overdue: Share the study"]  # no "due tomorrow" twice


# ---------------------------------------------------------------------------
# Time zones


def unknown_people(session_factory, users) -> None:
    """People we remind whose zone we have not asked Slack for yet (as after an import)."""
    with session_factory() as session, session.begin():
        people.ensure(session, [(TEAM, user) for user in users])


def zones(session_factory) -> dict[str, str | None]:
    with session_factory() as session:
        return dict(session.execute(select(Person.user_id, Person.timezone)).all())


def test_many_unknown_zones_come_from_users_list(settings, session_factory, slack_api):
    users = [f"U0Z{n:03d}" for n in range(time_zone_jobs.BULK_THRESHOLD + 10)]
    for user in users:
        slack_api.set_user(user, tz="Asia/Kolkata")
    for n in range(50):  # colleagues we do not remind: listed, not kept
        slack_api.set_user(f"U0X{n:03d}", tz="Europe/Berlin")
    unknown_people(session_factory, users)
    Passes(settings, session_factory, slack_api).at(utc(2025, 3, 3, 12))
    assert len(slack_api.calls_to("users.list")) == 1 and slack_api.calls_to("users.info") == []
    assert zones(session_factory) == {user: "Asia/Kolkata" for user in users}


def test_a_few_unknown_zones_come_from_users_info(settings, session_factory, slack_api):
    users = [f"U0Z{n:03d}" for n in range(5)]
    for user in users:
        slack_api.set_user(user, tz="Asia/Kolkata")
    unknown_people(session_factory, users)
    Passes(settings, session_factory, slack_api).at(utc(2025, 3, 3, 12))
    assert slack_api.calls_to("users.list") == []
    assert sorted(c.params["user"] for c in slack_api.calls_to("users.info")) == users
    assert zones(session_factory) == {user: "Asia/Kolkata" for user in users}


def test_someone_users_list_does_not_have_is_asked_with_users_info(settings, session_factory, slack_api):
    users = [f"U0Z{n:03d}" for n in range(time_zone_jobs.BULK_THRESHOLD + 5)]
    for user in users[1:]:
        slack_api.set_user(user, tz="Asia/Kolkata")
    unknown_people(session_factory, users)  # users[0]: of another organisation, say
    Passes(settings, session_factory, slack_api).at(utc(2025, 3, 3, 12))
    assert [c.params["user"] for c in slack_api.calls_to("users.info")] == [users[0]]
    assert zones(session_factory)[users[0]] == "UTC"  # what users.info said


def test_the_workspace_zone_meanwhile_and_the_persons_own_once_slack_tells(settings, session_factory, slack_api):
    """Slack does not answer for their zone at first: their reminder is not held back
    (it goes at 09:00 in ACCOUNTPLAN_TIMEZONE, UTC here), and once the zone comes the
    rest follow 09:00 in Los Angeles."""
    slack_api.set_user(MEMBER, tz="America/Los_Angeles")
    slack_api.error("users.info", "service_unavailable", times=1)
    passes = Passes(settings, session_factory, slack_api)
    objective_id = objective(session_factory)
    add(session_factory, objective_id, "Share the study", dt.date(2025, 3, 5))
    with session_factory() as session, session.begin():  # its assignment DM went out long ago
        session.execute(update(Notification).values(next_run_at=None, sends=1))
    passes.at(utc(2025, 3, 4, 9, 0, 30))  # the lookup fails: the workspace's zone
    assert zones(session_factory)[MEMBER] is None
    passes.every(utc(2025, 3, 4, 9, 30, 30), utc(2025, 3, 7, 0, 0, 30))
    assert zones(session_factory)[MEMBER] == "America/Los_Angeles"  # asked again, answered
    assert passes.reminders() == [
        ("Tue 04 09:00", "Due soon: Share the study"),  # 09:00 UTC (01:00 in Los Angeles)
        ("Thu 06 17:00", "Overdue: Share the study"),  # 09:00 in Los Angeles
    ]


def test_five_thousand_unknown_zones_within_a_minute_at_slacks_tiers(settings, session_factory, slack_api):
    """users.list at Tier 2 (20 a minute, bursts of 3), 1,000 a page, on a fake clock:
    6,000 members, 5,000 of them people we remind. users.info each, at Tier 4 (100 a
    minute), would take 50 minutes."""
    users = [f"U0Z{n:04d}" for n in range(5000)]
    with slack_api._lock:
        for n in range(6000):
            user = f"U0Z{n:04d}"
            slack_api.users[user] = {**slack_api._default_user(user), "tz": "Europe/Berlin"}
    unknown_people(session_factory, users)
    clock = Clock()
    limiter = RateLimiter(clock=clock, sleep=clock.sleep)  # Slack's published tiers
    context = scheduler.make_context(settings, session_factory, limiter)
    started = time.perf_counter()
    now = utc(2025, 3, 3, 12)
    time_zone_jobs.refresh_time_zones(context, now)  # before the DMs: a burst, no wait
    assert clock.now == 0 and len(slack_api.calls_to("users.list")) == time_zone_jobs.PAGES_BEFORE_SENDING
    time_zone_jobs.finish_time_zones(context, now)  # after them: the rest
    seconds = time.perf_counter() - started
    assert set(zones(session_factory).values()) == {"Europe/Berlin"} and len(zones(session_factory)) == 5000
    pages = slack_api.calls_to("users.list")
    assert len(pages) == 5 and all(int(c.params["limit"]) == 1000 for c in pages)  # stops once all are found
    assert clock.now <= 60 and slack_api.calls_to("users.info") == []
    one_each = Clock()
    tier4 = RateLimiter(clock=one_each, sleep=one_each.sleep)
    for user in users:
        tier4.acquire(TEAM, "users.info")
    assert one_each.now > 45 * 60
    print(f"\n5,000 unknown zones: users.list {len(pages)} pages, {clock.now:.0f} s at Tier 2 "
          f"({seconds:.1f} s here); users.info each at Tier 4: {one_each.now / 60:.0f} min")


def test_a_person_with_many_items_due_at_once_gets_one_dm(settings, session_factory, slack_api):
    passes = Passes(settings, session_factory, slack_api)
    objective_id = objective(session_factory)
    titles = ["Share the study", "Book the visit", "Send the quote"]
    for title in titles:
        add(session_factory, objective_id, title, dt.date(2025, 3, 5))
    passes.at(utc(2025, 3, 3, 12, 0, 30))
    passes.at(utc(2025, 3, 4, 9, 0, 30))
    (dm,) = [c for c in slack_api.calls_to("chat.postMessage") if c.params["text"].startswith("Reminder")]
    assert dm.params["text"] == "Reminder: 3 action items (3 due soon)"
    blocks = json.dumps(dm.params["blocks"])
    assert blocks.count('"Mark done"') == 3 and all(title in blocks for title in titles)
    with session_factory() as session:
        rows = session.execute(select(ItemReminder.sends, ItemReminder.dm_ts)).all()
    assert {row for row in rows} == {(1, dm.response["ts"])}
