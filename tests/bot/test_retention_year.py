"""A year of scheduler passes with pruning (bot/scheduler/housekeeping.py, storage/retention.py):
the scheduler's tables stay the size of the retention period (90 days) while plans
grow, and a pass right after pruning still sends every DM once, redraws the latest DM
of an item, reminds of a reopened one and dates a digest from the last one.

Every week an item is assigned on Monday (an assignment DM), reminded on Wednesday
(due-soon) and done on Thursday, its due date (a notice to the owner, the reminder DM
redrawn); Mondays also bring the weekly summaries and the plan's digest in #C1. Passes
run on those days, at 09:00:30 UTC (everyone is in UTC). Writes stamped with the wall
clock (a notification's created_at, an item's done_at) are moved to the simulated day.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

from sqlalchemy import func, select, update

from bot.scheduler import passes as scheduler
from bot.slack.ratelimit import DEFAULT_LIMITS, Limit, RateLimiter
from storage import digests, reminders
from storage import plans as ops
from storage.models import ActionItem, DigestPost, ItemReminder, ItemStatus, Notification
from storage.plans import ActionItemInput, Actor, ObjectiveInput, PlanInput

TEAM, OWNER = "T1", "U0OWNER"
MEMBERS = ["U0ANA", "U0BEN"]
UTC = dt.timezone.utc
START = dt.datetime(2025, 1, 6, tzinfo=UTC)  # a Monday
WEEKS = 52
PASS_DAYS = (0, 2, 3)  # Monday, Wednesday, Thursday
PASS_AT = dt.timedelta(hours=9, seconds=30)
NEVER_DONE, REOPENED = 30, 11  # weeks whose items stay open / are reopened at the end
# Simulated days pass in a fraction of a second: no waiting for rate limits.
FAST = Limit(1e6, 10**6)
UNHURRIED = RateLimiter(dict.fromkeys(DEFAULT_LIMITS, FAST), per_channel=FAST, other=FAST)
TABLES = {"notifications": Notification, "item_reminders": ItemReminder, "digest_posts": DigestPost,
          "action_items": ActionItem}


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_a_year_of_passes_keeps_the_tables_bounded(settings, session_factory, slack_api):
    owner = Actor(TEAM, OWNER)
    with session_factory() as session, session.begin():
        plan = ops.create_plan(session, owner, PlanInput("Newton", "Newton Memorial", dt.date(2025, 1, 1),
                                                         dt.date(2026, 12, 31), "active", team=MEMBERS))
        objective = ops.add_objective(session, owner, ops.add_strategy(session, owner, plan.id, "Awareness").id,
                                      ObjectiveInput("Outcomes"))
        digests.save_subscription(session, owner, plan.id, digests.SubscriptionInput(
            channel_id="C1", frequency="weekly", weekday=0, time_of_day="09:00", timezone="UTC"), now=START)
    plan_id, objective_id = plan.id, objective.id
    for user in [OWNER, *MEMBERS]:
        slack_api.set_user(user, tz="UTC")
    context = scheduler.make_context(settings, session_factory, UNHURRIED)
    items: dict[int, int] = {}  # week -> its item
    sizes: dict[int, dict[str, int]] = {}

    def assignee(week: int) -> str:
        return MEMBERS[week % 2]

    def live(week: int, weekday: int) -> None:
        """The day's work, then its pass."""
        today = START + dt.timedelta(weeks=week, days=weekday)
        with session_factory() as session, session.begin():
            if weekday == 0:
                items[week] = ops.add_action_item(session, owner, objective_id, ActionItemInput(
                    f"Item {week}", assignee(week), (today + dt.timedelta(days=3)).date())).id
            if weekday == 3 and week != NEVER_DONE:
                ops.set_action_item_done(session, Actor(TEAM, assignee(week)), items[week])
            stamp = today + dt.timedelta(hours=8)
            session.execute(update(Notification).where(Notification.created_at > stamp + dt.timedelta(hours=2))
                            .values(created_at=stamp))
            session.execute(update(ActionItem).where(ActionItem.done_at > stamp + dt.timedelta(hours=2))
                            .values(done_at=stamp, updated_at=stamp))
        report = scheduler.run_pass(context, today + PASS_AT)
        assert report.failed == []

    for week in range(WEEKS):
        for weekday in PASS_DAYS:
            live(week, weekday)
        with session_factory() as session:
            sizes[week] = {name: count(session, model) for name, model in TABLES.items()}

    full, last = 17, WEEKS - 1  # by week 17 the retention period has run once
    assert sizes[last]["action_items"] == WEEKS  # plans keep everything…
    for name, per_week in (("notifications", 3), ("item_reminders", 1), ("digest_posts", 1)):
        # …the scheduler's tables hold the retention period's worth, and stop growing.
        assert sizes[last][name] <= per_week * (13 + 2), (name, sizes[last])
        assert sizes[last][name] < per_week * WEEKS / 3, (name, sizes[last])
        assert abs(sizes[last][name] - sizes[full][name]) <= 2, (name, sizes[full], sizes[last])
    with session_factory() as session:  # the item never done kept its row and latest DM
        assert reminders.latest_dm(session, items[NEVER_DONE]) is not None

    # Right after pruning, a pass still sends what it should.
    posts_before = len(slack_api.calls_to("chat.postMessage"))
    with session_factory() as session, session.begin():  # done 40 weeks ago: its row is gone
        ops.set_action_item_done(session, Actor(TEAM, assignee(REOPENED)), items[REOPENED], done=False)
    for weekday in PASS_DAYS:
        live(WEEKS, weekday)
    reminded = [c for c in slack_api.calls_to("chat.postMessage")[posts_before:] if c.ok]
    texts = [c.params["text"] for c in reminded]
    assert f"Overdue: Item {REOPENED}" in texts  # reopened: reminded anew
    assert texts.count(f"Due soon: Item {WEEKS}") == 1
    (soon,) = [c for c in reminded if c.params["text"] == f"Due soon: Item {WEEKS}"]
    redraws = [c for c in slack_api.calls_to("chat.update") if c.params["ts"] == soon.response["ts"]]
    assert len(redraws) == 1 and redraws[0].ok  # done on Thursday: its DM redrawn in place
    # Every DM of the whole run went out once.
    keys = Counter(c.params["metadata"]["event_payload"]["key"] for c in slack_api.calls_to("chat.postMessage")
                   if c.ok and c.params.get("metadata"))
    assert keys and set(keys.values()) == {1}
    with session_factory() as session:
        # "Since the last digest" still starts at the last one.
        last_post = session.scalar(select(func.max(DigestPost.posted_at)).where(DigestPost.plan_id == plan_id))
        assert last_post == START + dt.timedelta(weeks=WEEKS) + PASS_AT
        assert digests.since_for(session, plan_id, "C1", now=last_post + dt.timedelta(days=7)) == last_post
        done = session.scalar(select(func.count()).select_from(ActionItem).where(ActionItem.status == ItemStatus.DONE))
        assert done == WEEKS + 1 - 2  # all but the one never done and the one reopened
