"""Progress check-ins through the scheduler and Slack: before a QBR each objective owner
gets ONE DM listing all their objectives (of every plan), at 09:00 in their own time
zone on a working day, exactly once however many scheduler passes run at once; "Update
progress" answers in a modal; an unanswered check-in gets one reminder two working days
later, then nothing; an answered one none. The answers show in the next digest."""

from __future__ import annotations

import datetime as dt
import json
import threading

from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.scheduler import passes as scheduler
from storage import plans as ops
from storage import progress
from storage.models import AccountPlan, CheckinRequest, Objective
from storage.plans import Actor, ObjectiveInput, PlanInput, ReviewInput
from tests.bot.test_reminders_scheduler import UNHURRIED

TEAM = "T1"
OWNER, MEMBER, STRANGER = "U0OWNER", "U0MEMBER", "U0STRANGER"
ZONES = {OWNER: "UTC", MEMBER: "America/New_York"}
QBR = dt.date(2026, 3, 17)  # a Tuesday: asked 5 days before, on Thursday 12 March
UTC = dt.timezone.utc


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def seed(session_factory) -> dict[str, int]:
    """Two plans of OWNER's with MEMBER on the team: OWNER owns one objective (by
    default, as the plan's owner), MEMBER three across both plans."""
    owner = Actor(TEAM, OWNER)
    ids: dict[str, int] = {}
    with session_factory() as session, session.begin():
        for key, name, objectives in (
                ("newton", "Newton Memorial 2026", [("Formulary approval", None, None),
                                                    ("Awareness events", MEMBER, None)]),
                ("riverside", "Riverside Health 2026", [("Pharmacy in-services", MEMBER, None),
                                                        ("IDNs signed", MEMBER, 5)])):
            plan = ops.create_plan(session, owner, PlanInput(name, name.rsplit(" ", 1)[0], dt.date(2026, 1, 1),
                                                             dt.date(2026, 12, 31), "active", team=[MEMBER]))
            ops.add_review(session, owner, plan.id, ReviewInput(held_on=dt.date(2026, 1, 20), next_qbr_date=QBR))
            strategy = ops.add_strategy(session, owner, plan.id, "Grow the account")
            ids[key] = plan.id
            for title, who, target in objectives:
                objective = ops.add_objective(session, owner, strategy.id, ObjectiveInput(
                    title, measure_unit="IDNs" if target else "", target_value=target,
                    current_value=2 if target else None))
                if who:
                    progress.set_objective_owner(session, owner, objective.id, who)
                ids[title] = objective.id
    return ids


def checkin_dms(slack_api, since: int = 0) -> list:
    return [c for c in slack_api.calls_to("chat.postMessage")[since:]
            if c.ok and "progress update" in c.params.get("text", "")]


def text_of(call) -> str:
    return json.dumps(call.params.get("blocks"), ensure_ascii=False) + call.params.get("text", "")


def passes_at_once(settings, session_factory, now: dt.datetime, instances: int = 2) -> None:
    """`instances` scheduler passes at the same moment, as separate machines would run them."""
    contexts = [scheduler.make_context(settings, session_factory, UNHURRIED) for _ in range(instances)]
    barrier, errors = threading.Barrier(instances), []

    def one(context) -> None:
        try:
            barrier.wait()
            assert scheduler.run_pass(context, now).failed == []
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=one, args=(c,)) for c in contexts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def answer(slack, dm, objective_id: int, user: str, fields: dict) -> dict:
    """Press "Update progress" on an objective's line of a check-in DM and save the form."""
    before = len(slack.api.calls_to("views.open"))
    slack.click(dm, "Update progress", block_id=f"checkin_line_{objective_id}", user=user)
    slack.wait_for("views.open", lambda c: len(slack.api.calls_to("views.open")) > before)
    form = slack.api.calls_to("views.open")[before].view
    updates = len(slack.api.calls_to("chat.update"))
    assert slack.submit_view(form, fields, user=user).body == ""  # saved: the form closes
    slack.wait_for("chat.update", lambda c: len(slack.api.calls_to("chat.update")) > updates)
    return form


def test_one_dm_per_owner_in_their_time_zone_once_then_one_reminder(settings, session_factory, slack, slack_api):
    ids = seed(session_factory)
    for user, zone in ZONES.items():
        slack_api.set_user(user, tz=zone)

    # Wednesday: the rounds of tomorrow are written down, nobody is asked yet.
    passes_at_once(settings, session_factory, utc(2026, 3, 11, 12, 0, 30))
    assert checkin_dms(slack_api) == []
    with session_factory() as session:
        rows = session.execute(select(CheckinRequest.plan_id, CheckinRequest.owner_id, CheckinRequest.round_key)).all()
    assert sorted(rows) == sorted([(ids["newton"], OWNER, "qbr:2026-03-17"), (ids["newton"], MEMBER, "qbr:2026-03-17"),
                                   (ids["riverside"], MEMBER, "qbr:2026-03-17")])  # one per plan, owner and round

    # Thursday 09:00 UTC: the owner in London time; New York is still asleep. Two passes, one DM.
    passes_at_once(settings, session_factory, utc(2026, 3, 12, 9, 0, 30))
    [owners] = checkin_dms(slack_api)
    assert owners.params["channel"] == OWNER
    assert "Formulary approval" in text_of(owners) and "Awareness events" not in text_of(owners)
    assert "QBR on" in text_of(owners)

    # 09:00 in New York: one DM listing MEMBER's objectives of both plans.
    passes_at_once(settings, session_factory, utc(2026, 3, 12, 14, 0, 30))
    passes_at_once(settings, session_factory, utc(2026, 3, 12, 15, 0, 30))
    [_, members] = checkin_dms(slack_api)
    assert members.params["channel"] == MEMBER
    for title in ("Awareness events", "Pharmacy in-services", "IDNs signed", "Newton Memorial 2026",
                  "Riverside Health 2026"):
        assert title in text_of(members)
    assert "Formulary approval" not in text_of(members)
    assert text_of(members).count('"text": "Update progress"') == 3

    # The owner answers; the DM's line says so.
    form = answer(slack, owners, ids["Formulary approval"], OWNER, {"Status": "On track", "Note": "P&T meets in March"})
    assert "Current value" not in json.dumps(form)  # not a measurable objective
    redrawn = slack_api.calls_to("chat.update")[-1]
    assert redrawn.params["ts"] == owners.response["ts"] and "Thanks, updated" in text_of(redrawn)
    # MEMBER answers one of three (the measurable one: its current value too).
    form = answer(slack, members, ids["IDNs signed"], MEMBER, {"Current value": "3", "Status": "At risk",
                                                               "Note": "Two IDNs wait for budgets"})
    assert "Target: 5 IDNs." in json.dumps(form)
    assert text_of(slack_api.calls_to("chat.update")[-1]).count("Thanks, updated") == 1
    with session_factory() as session:
        objective = session.get(Objective, ids["IDNs signed"])
        assert (objective.current_value, objective.progress_status.value, objective.progress_updated_by) == (
            3, "at_risk", MEMBER)
        answered = dict(session.execute(select(CheckinRequest.owner_id, CheckinRequest.answered_at)
                                        .where(CheckinRequest.plan_id == ids["newton"])).all())
    assert answered[OWNER] is not None and answered[MEMBER] is None

    # Friday and the weekend: nothing. Monday, two working days on: one reminder to MEMBER
    # alone, at 09:00 New York, of what still waits; then nothing more.
    sent = len(checkin_dms(slack_api))
    for moment in (utc(2026, 3, 13, 14, 0, 30), utc(2026, 3, 14, 14, 0, 30), utc(2026, 3, 15, 14, 0, 30),
                   utc(2026, 3, 16, 9, 0, 30)):
        passes_at_once(settings, session_factory, moment)
    assert len(checkin_dms(slack_api)) == sent
    passes_at_once(settings, session_factory, utc(2026, 3, 16, 14, 0, 30))
    [reminder] = checkin_dms(slack_api, since=0)[sent:]
    assert reminder.params["channel"] == MEMBER and "A reminder" in text_of(reminder)
    assert "Awareness events" in text_of(reminder) and "Pharmacy in-services" in text_of(reminder)
    assert "IDNs signed" not in text_of(reminder)
    for moment in (utc(2026, 3, 17, 14, 0, 30), utc(2026, 3, 18, 14, 0, 30), utc(2026, 3, 20, 14, 0, 30)):
        passes_at_once(settings, session_factory, moment)
    assert len(checkin_dms(slack_api)) == sent + 1

    # A team channel's digest says what owners said since the last QBR, and the health.
    slack.command("/accountplan", f"digest {ids['newton']}", user=OWNER, channel="C77")
    digest = slack.wait_for("chat.postMessage", lambda c: c.params["channel"] == "C77")
    assert "Since the last QBR:* 1 of 2 objectives updated" in text_of(digest)
    assert "Health " in text_of(digest)


def test_someone_else_pressing_update_progress_is_refused(settings, session_factory, slack, slack_api):
    ids = seed(session_factory)
    passes_at_once(settings, session_factory, utc(2026, 3, 12, 9, 0, 30), instances=1)
    [owners] = [dm for dm in checkin_dms(slack_api) if dm.params["channel"] == OWNER]
    before = len(slack_api.calls_to("views.open"))
    slack.click(owners, "Update progress", user=STRANGER)
    slack.wait_for("views.open", lambda c: len(slack_api.calls_to("views.open")) > before)
    problem = slack_api.calls_to("views.open")[before].view
    assert problem["callback_id"] == "notice" and "Only the owner of this objective" in json.dumps(problem)
    with session_factory() as session:
        assert session.get(Objective, ids["Formulary approval"]).progress_status is None


def test_the_plan_form_sets_when_owners_are_asked(slack, session_factory):
    ids = seed(session_factory)
    slack.command("/accountplan", f"edit {ids['newton']}", user=OWNER)
    form = slack.wait_for("views.open").view
    reply = slack.submit_view(form, {"Progress check-ins": "10 days before the next QBR",
                                     "Monthly check-ins": ["Also on the first working day of each month"]},
                              user=OWNER)
    assert reply.json["response_action"] == "update"
    with session_factory() as session:
        plan = session.get(AccountPlan, ids["newton"])
        assert (plan.checkin_lead_days, plan.monthly_checkins) == (10, True)


def test_an_owner_whose_zone_comes_after_the_round_was_written_is_asked_at_nine_there(
        settings, session_factory, slack, slack_api):
    """The rounds are written before the pass asks Slack for the owners' zones (the
    workspace's zone, UTC, meanwhile); MEMBER turns out to be in Kolkata, ahead of it:
    their DM goes at 09:00 in Kolkata (03:30 UTC), not at 09:00 UTC (14:30 there)."""
    seed(session_factory)
    slack_api.set_user(OWNER, tz="UTC")
    slack_api.set_user(MEMBER, tz="Asia/Kolkata")
    passes_at_once(settings, session_factory, utc(2026, 3, 11, 12, 0, 30), instances=1)
    with session_factory() as session:
        due = set(session.scalars(select(CheckinRequest.next_run_at).where(CheckinRequest.owner_id == MEMBER)))
    assert due == {utc(2026, 3, 12, 3, 30)}
    passes_at_once(settings, session_factory, utc(2026, 3, 12, 3, 30, 30), instances=1)
    [dm] = checkin_dms(slack_api)
    assert dm.params["channel"] == MEMBER and "Pharmacy in-services" in text_of(dm)


def test_a_zone_slack_announces_later_moves_the_waiting_checkin(settings, session_factory, slack, slack_api):
    """Slack's user_change event with a new zone moves a check-in still to be sent to 09:00
    there, as the scheduler's own lookups do."""
    seed(session_factory)
    slack_api.set_user(OWNER, tz="UTC")
    slack_api.set_user(MEMBER, tz="Asia/Kolkata")
    passes_at_once(settings, session_factory, utc(2026, 3, 11, 12, 0, 30), instances=1)
    user = slack_api.set_user(MEMBER, tz="Europe/Paris")
    slack.event({"type": "user_change", "user": user})

    def due() -> set:
        with session_factory() as session:
            return set(session.scalars(select(CheckinRequest.next_run_at).where(CheckinRequest.owner_id == MEMBER)))

    paris = ZoneInfo("Europe/Paris")

    def at_nine_in_paris() -> bool:
        return all(when.astimezone(paris).time() == dt.time(9, 0) for when in due())

    deadline = dt.datetime.now() + dt.timedelta(seconds=5)
    while not at_nine_in_paris() and dt.datetime.now() < deadline:
        threading.Event().wait(0.05)
    # 09:00 in Paris: on its day, or today's when the event comes after that day (the
    # event is handled at the real time of the test, the pass ran in March 2026).
    assert len(due()) == 1 and at_nine_in_paris()
