"""Weeks of simulated time through the scheduler: what each person is sent, and when.

Passes run every 30 minutes (at :00:30 and :30:30 UTC) from Saturday 1 March to
Wednesday 26 March 2025, against the fake Web API, for people in Los Angeles (summer
time starts on 9 March), Berlin and Kolkata; meanwhile items are reassigned, deleted,
done and snoozed, and someone mutes the weekly summary. Every DM is labelled with what
it is about and the recipient's local time of the pass that sent it.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
from collections.abc import Callable
from zoneinfo import ZoneInfo

from bot.scheduler import passes as scheduler
from bot.slack.ratelimit import Limit, RateLimiter
from storage import plans as ops
from storage import reminders
from storage.plans import ActionItemInput, Actor, ObjectiveInput, PlanInput

TEAM = "T1"
OWNER, LA, BER, KOL = "U0OWNER", "U0LA", "U0BER", "U0KOL"
ZONES = {LA: "America/Los_Angeles", BER: "Europe/Berlin", KOL: "Asia/Kolkata", OWNER: "UTC"}
UTC = dt.timezone.utc
START = dt.datetime(2025, 3, 1, tzinfo=UTC)
END = dt.datetime(2025, 3, 27, tzinfo=UTC)
STEP = dt.timedelta(minutes=30)

# Fast enough for a simulation; tests/bot/test_reminders_faults.py keeps to Slack's limits.
UNHURRIED = RateLimiter({m: Limit(1000, 1000) for m in ("chat.postMessage", "chat.update", "users.info")},
                        per_channel=Limit(1000, 1000), other=Limit(1000, 1000))


def context_for(settings, session_factory, limiter: RateLimiter = UNHURRIED):
    return scheduler.make_context(settings, session_factory, limiter)


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def label(call) -> str:
    """What a DM is about: "soon A", "summary 2", "assigned D", "done-notice B", …"""
    text = call.params.get("text", "")
    item = (re.search(r"Item (\w)", text) or [None, "?"])[1]
    for prefix, what in (("Due soon: ", "soon"), ("Overdue: ", "overdue"), ("Reminder: ", "snoozed")):
        if text.startswith(prefix):
            return f"{what} {item}"
    if "assigned you:" in text:
        return f"assigned {item}"
    if text.startswith("You have"):
        return "summary " + re.search(r"You have (\d+)", text)[1]
    if " marked " in text:
        return f"done-notice {item}"
    if "no longer yours" in text:
        return f"unassigned {item}"
    return text


class Simulation:
    """Runs passes every STEP, doing `actions` when their time comes, and records every
    Web API call with the simulated time of the pass that made it."""

    def __init__(self, settings, session_factory, slack_api, context=None) -> None:
        self.session_factory = session_factory
        self.api = slack_api
        self.context = context or context_for(settings, session_factory)
        self.made: list[tuple[dt.datetime, object]] = []
        for user, zone in ZONES.items():
            slack_api.set_user(user, tz=zone)

    def run(self, start: dt.datetime, end: dt.datetime,
            actions: dict[dt.datetime, Callable[[dt.datetime], None]] = {}) -> None:  # noqa: B006
        pending = sorted(actions.items(), key=lambda a: a[0])
        now = start + dt.timedelta(seconds=30)
        while now < end:
            while pending and pending[0][0] <= now:
                when, act = pending.pop(0)
                act(when)
            self.tick(now)
            now += STEP

    def tick(self, now: dt.datetime) -> scheduler.PassReport:
        before = len(self.api.calls)
        report = scheduler.run_pass(self.context, now)
        assert report.failed == []
        self.made += [(now, call) for call in self.api.calls[before:]]
        return report

    def dms(self, method: str = "chat.postMessage") -> list[tuple[str, str, str]]:
        """(recipient, label, local time of the pass) of every DM, in order."""
        return [(call.params["channel"], label(call),
                 now.astimezone(ZoneInfo(ZONES[call.params["channel"]])).strftime("%a %d %H:%M"))
                for now, call in self.made if call.method == method and call.ok]


def build(session_factory) -> dict[str, int]:
    owner = Actor(TEAM, OWNER)
    with session_factory() as session, session.begin():
        plan = ops.create_plan(session, owner, PlanInput(
            "Newton 2025", "Newton Memorial Hospital", dt.date(2025, 1, 1), dt.date(2025, 12, 31),
            "active", team=[LA, BER, KOL]))
        strategy = ops.add_strategy(session, owner, plan.id, "Awareness")
        objective = ops.add_objective(session, owner, strategy.id, ObjectiveInput("Outcomes"))

        def add(name, assignee, due):
            return ops.add_action_item(session, owner, objective.id,
                                       ActionItemInput(f"Item {name}", assignee, due)).id

        return {"plan": plan.id, "A": add("A", LA, dt.date(2025, 3, 7)), "B": add("B", BER, dt.date(2025, 3, 12)),
                "C": add("C", KOL, dt.date(2025, 3, 13)), "D": add("D", BER, dt.date(2025, 3, 18)),
                "E": add("E", KOL, dt.date(2025, 3, 6))}


def act(session_factory, work):
    def run(when: dt.datetime) -> None:
        with session_factory() as session, session.begin():
            work(session, when)
    return run


def test_weeks_of_reminders_in_three_time_zones(settings, session_factory, slack_api):
    ids = build(session_factory)
    owner = Actor(TEAM, OWNER)

    def reassign_d(session, when):
        ops.update_action_item(session, owner, ids["D"], ActionItemInput("Item D", LA, dt.date(2025, 3, 18)))

    actions = {
        utc(2025, 3, 3, 12, 10): act(session_factory, reassign_d),
        utc(2025, 3, 4, 12, 10): act(session_factory, lambda s, w: ops.delete_action_item(s, owner, ids["E"])),
        utc(2025, 3, 4, 12, 20): act(session_factory, lambda s, w: reminders.set_summary_muted(s, Actor(TEAM, BER), True)),
        utc(2025, 3, 11, 12, 10): act(session_factory, lambda s, w: ops.set_action_item_done(s, Actor(TEAM, BER), ids["B"])),
        utc(2025, 3, 12, 4, 10): act(session_factory, lambda s, w: reminders.snooze(
            s, Actor(TEAM, KOL), ids["C"], 7, now=w, default_tz="UTC")),
    }
    simulation = Simulation(settings, session_factory, slack_api)
    simulation.run(START, END, actions)

    # Sent concurrently within a pass: compared as a whole, each with its local time.
    assert sorted(simulation.dms()) == sorted([
        # First pass: assignment DMs, in local time (LA is still on Friday).
        (LA, "assigned A", "Fri 28 16:00"), (BER, "assigned B", "Sat 01 01:00"),
        (KOL, "assigned C", "Sat 01 05:30"), (BER, "assigned D", "Sat 01 01:00"),
        (KOL, "assigned E", "Sat 01 05:30"),
        # Monday 3 March, 09:00 each: Kolkata first, then Berlin, then Los Angeles.
        (KOL, "summary 2", "Mon 03 09:00"), (BER, "summary 2", "Mon 03 09:00"),
        (BER, "unassigned D", "Mon 03 13:30"), (LA, "assigned D", "Mon 03 04:30"),
        (LA, "summary 2", "Mon 03 09:00"),
        # E was deleted on Tuesday: no reminder on Wednesday. A is due Friday 7.
        (LA, "soon A", "Thu 06 09:00"),
        # Monday 10: LA is on summer time now, still 09:00. Berlin muted its summary.
        (KOL, "summary 1", "Mon 10 09:00"), (LA, "overdue A", "Mon 10 09:00"),
        (LA, "summary 2", "Mon 10 09:00"),
        (BER, "soon B", "Tue 11 09:00"), (LA, "overdue A", "Tue 11 09:00"),
        (OWNER, "done-notice B", "Tue 11 12:30"),  # B done by Berlin at 13:10 their time
        (KOL, "soon C", "Wed 12 09:00"), (LA, "overdue A", "Wed 12 09:00"),
        (LA, "overdue A", "Thu 13 09:00"),  # C (due Thu 13) is snoozed a week
        (LA, "overdue A", "Fri 14 09:00"),  # A's fifth and last overdue reminder
        (KOL, "summary 1", "Mon 17 09:00"), (LA, "soon D", "Mon 17 09:00"),
        (LA, "summary 2", "Mon 17 09:00"),
        (KOL, "snoozed C", "Wed 19 09:00"), (LA, "overdue D", "Wed 19 09:00"),
        (KOL, "overdue C", "Thu 20 09:00"), (LA, "overdue D", "Thu 20 09:00"),
        (KOL, "overdue C", "Fri 21 09:00"), (LA, "overdue D", "Fri 21 09:00"),
        (KOL, "summary 1", "Mon 24 09:00"), (KOL, "overdue C", "Mon 24 09:00"),
        (LA, "summary 2", "Mon 24 09:00"), (LA, "overdue D", "Mon 24 09:00"),
        (KOL, "overdue C", "Tue 25 09:00"),  # C's fifth, the snoozed one counted
        (LA, "overdue D", "Tue 25 09:00"),  # D's fifth
    ])
    # Summer time in Los Angeles from 9 March: the same 09:00 is an hour earlier in UTC.
    a_reminders = [now for now, call in simulation.made if call.method == "chat.postMessage"
                   and call.params["text"] in ("Due soon: Item A", "Overdue: Item A")]
    assert [now.strftime("%d %H:%M") for now in a_reminders][:3] == ["06 17:00", "10 16:00", "11 16:00"]
    redraws = [(c.params["channel"], json.dumps(c.params["blocks"])) for _, c in simulation.made
               if c.method == "chat.update"]
    assert [(channel, "reassigned" in blocks, "deleted" in blocks, "done" in blocks)
            for channel, blocks in redraws] == [
        ("D0BER", True, False, False),   # D's DM to Berlin, once it went to LA
        ("D0KOL", False, True, False),   # E's DM, once E was deleted
        ("D0BER", False, False, True),   # B's reminder, once B was done
    ]


def test_two_passes_at_once_send_each_reminder_once(settings, session_factory, slack_api):
    """Threads here; tests/bot/test_reminders_processes.py runs `accountplan tick` twice."""
    build(session_factory)
    slack_api.slow("chat.postMessage", seconds=0.05)  # keep both passes busy at the same time
    for user, zone in ZONES.items():
        slack_api.set_user(user, tz=zone)
    contexts = [context_for(settings, session_factory) for _ in range(3)]
    barrier = threading.Barrier(len(contexts))
    errors: list[BaseException] = []

    def one(context):
        try:
            barrier.wait()
            assert scheduler.run_pass(context, utc(2025, 3, 1, 0, 0, 30)).failed == []
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=one, args=(c,)) for c in contexts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    keys = [c.params["metadata"]["event_payload"]["key"] for c in slack_api.calls_to("chat.postMessage")]
    assert len(keys) == 5 and len(set(keys)) == 5
