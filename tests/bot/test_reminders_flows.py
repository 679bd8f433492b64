"""Assignment DMs and their buttons, through the real app: signed requests in, Web API
calls checked (every message validated, every ack timed), on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import time

from sqlalchemy import select

from blocks import reminders as messages
from bot.scheduler import passes as scheduler
from storage import people
from storage import plans as ops
from storage.models import ActionItem, AccountPlan, ItemReminder, ItemStatus, Notification, WeeklySummary
from storage.plans import ActionItemInput, Actor, ObjectiveInput, PlanInput
from storage.reminders import item_facts
from tests.bot.test_reminders_scheduler import UNHURRIED

OWNER, MEMBER, OTHER = "U0OWNER", "U0MEMBER", "U0OTHER"
DUE = dt.date(2025, 3, 1)


def seed(session_factory, team: str) -> dict:
    actor = Actor(team, OWNER)
    with session_factory() as session, session.begin():
        plan = ops.create_plan(session, actor, PlanInput(
            "Newton 2025", "Newton Memorial Hospital", dt.date(2025, 1, 1), dt.date(2025, 12, 31),
            "active", team=[MEMBER, OTHER]))
        strategy = ops.add_strategy(session, actor, plan.id, "Awareness")
        objective = ops.add_objective(session, actor, strategy.id, ObjectiveInput("Outcomes"))
        return {"plan": plan.id, "objective": objective.id}


def add_item(session_factory, team: str, objective: int, *, assignee=MEMBER, actor=OWNER) -> int:
    with session_factory() as session, session.begin():
        return ops.add_action_item(session, Actor(team, actor), objective,
                                   ActionItemInput("Share the study", assignee, DUE)).id


def eventually(check, timeout: float = 5.0):
    """`check()` once it is truthy (work after an ack lands a little later)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.05)


def dm_to(slack, user: str, text: str | None = None, timeout: float = 5.0):
    return slack.wait_for("chat.postMessage", lambda c: c.params["channel"] == user and (
        text is None or text in json.dumps(c.params)), timeout=timeout)


def buttons(call) -> list[str]:
    return [e["text"]["text"] for b in call.params["blocks"] if b["type"] == "actions" for e in b["elements"]]


def assign_in_the_form(slack, plan_id: int, assignee: str, due: dt.date | None = DUE) -> None:
    slack.command("/accountplan", f"show {plan_id}", user=OWNER)
    view = slack.wait_for("views.open").view
    slack.click(view, "Add action item", user=OWNER)
    form = slack.wait_for("views.push").view
    fields = {"Action item": "Share the <latest> study & more", "Assignee": assignee}
    if due is not None:
        fields["Due date"] = due
    reply = slack.submit_view(form, fields, user=OWNER)
    assert reply.status == 200 and reply.elapsed < 3
    # The plan view is redrawn with the item (after the ack).
    slack.wait_for("views.update", lambda c: "Share the" in json.dumps(c.params["view"]))


def test_assigning_in_the_form_dms_the_assignee_with_the_buttons(slack, session_factory):
    ids = seed(session_factory, slack.team)
    assign_in_the_form(slack, ids["plan"], MEMBER)
    dm = dm_to(slack, MEMBER)
    assert buttons(dm) == ["Mark done", "Snooze 1 day", "Snooze 1 week", "Open plan"]
    text = json.dumps(dm.params)
    assert f"<@{OWNER}> assigned you" in text and "Newton 2025" in text and "Outcomes" in text
    assert "Share the &lt;latest&gt; study &amp; more" in text  # user text escaped
    assert dm.params["metadata"]["event_payload"]["key"].startswith("n")
    slack.wait_for("views.publish", lambda c: c.params["user_id"] == MEMBER)  # their Home shows it
    with session_factory() as session:
        row = session.scalars(select(ItemReminder)).one()
        assert (row.dm_channel_id, row.dm_ts) == (dm.response["channel"], dm.response["ts"])
        assert row.next_run_at is not None and not row.needs_schedule  # scheduled at once
    slack.api.wait_for("users.info", lambda c: c.params["user"] == MEMBER)  # their zone, fetched


def test_assigning_yourself_sends_no_dm(slack, session_factory):
    ids = seed(session_factory, slack.team)
    # No due date: DUE is long past, and after 09:00 UTC its overdue reminder is due at
    # once (a reminder, not an assignment DM); this is about the assignment alone.
    assign_in_the_form(slack, ids["plan"], OWNER, due=None)
    slack.wait_for("views.publish", lambda c: c.params["user_id"] == OWNER)
    assert slack.api.calls_to("chat.postMessage") == []


def test_mark_done_in_the_dm_redraws_it_and_tells_the_assigner(slack, session_factory):
    ids = seed(session_factory, slack.team)
    assign_in_the_form(slack, ids["plan"], MEMBER)
    dm = dm_to(slack, MEMBER)
    reply = slack.click(dm, "Mark done", user=MEMBER)
    assert reply.status == 200 and reply.elapsed < 3
    redrawn = slack.wait_for("chat.update", lambda c: c.params["ts"] == dm.response["ts"])
    assert "done by" in json.dumps(redrawn.params) and "Mark done" not in json.dumps(redrawn.params)
    notice = dm_to(slack, OWNER, "marked")
    assert f"<@{MEMBER}> marked" in json.dumps(notice.params)
    slack.wait_for("views.publish", lambda c: c.params["user_id"] == MEMBER and "Nothing open" in json.dumps(c.params))
    with session_factory() as session:
        item = session.scalars(select(ActionItem)).one()
        assert item.status == ItemStatus.DONE and item.done_by == MEMBER


def test_mark_done_from_the_plan_view_redraws_the_dm_too(slack, session_factory):
    ids = seed(session_factory, slack.team)
    assign_in_the_form(slack, ids["plan"], MEMBER)
    dm = dm_to(slack, MEMBER)
    view = slack.api.calls_to("views.open")[0].view
    slack.choose(slack.api.view(view["id"]), "Mark done", index=0, user=OTHER)
    slack.wait_for("chat.update", lambda c: c.params["ts"] == dm.response["ts"] and "done by" in json.dumps(c.params))
    dm_to(slack, OWNER, f"<@{OTHER}> marked")  # the one who assigned it hears it
    slack.wait_for("views.publish", lambda c: c.params["user_id"] == MEMBER)


def test_snooze_moves_the_reminder_and_says_until_when(slack, session_factory):
    ids = seed(session_factory, slack.team)
    item_id = add_item(session_factory, slack.team, ids["objective"])
    slack.api.set_user(MEMBER, tz="Asia/Kolkata")
    message = {"type": "message", "ts": "1700000000.000100", "channel": "D0MEMBER",
               "blocks": [{"type": "actions", "block_id": "item_actions", "elements": [
                   {"type": "button", "action_id": "reminder_snooze_day", "value": str(item_id),
                    "text": {"type": "plain_text", "text": "Snooze 1 day"}}]}]}
    with session_factory() as session, session.begin():  # their zone is known
        people.record_timezone(session, slack.team, MEMBER, "Asia/Kolkata", now=dt.datetime.now(dt.timezone.utc))
    reply = slack.click(message, "Snooze 1 day", user=MEMBER)
    assert reply.elapsed < 3
    redrawn = slack.wait_for("chat.update", lambda c: c.params["ts"] == "1700000000.000100")
    assert "Snoozed until" in json.dumps(redrawn.params) and "09:00 your time" in json.dumps(redrawn.params)
    with session_factory() as session:
        row = session.scalars(select(ItemReminder)).one()
        local = row.snoozed_until.astimezone(dt.timezone(dt.timedelta(hours=5, minutes=30)))
        assert row.next_run_at == row.snoozed_until and (local.hour, local.minute) == (9, 0)
        assert local.weekday() < 5 and row.snoozed_until > dt.datetime.now(dt.timezone.utc)
    reply = slack.click(message, "Snooze 1 day", user=OWNER)  # not theirs to snooze
    slack.wait_for("views.open", lambda c: "Only the assignee" in json.dumps(c.params["view"]))


def test_reassigning_tells_the_old_assignee_and_redraws_their_dm(slack, session_factory):
    ids = seed(session_factory, slack.team)
    assign_in_the_form(slack, ids["plan"], MEMBER)
    dm = dm_to(slack, MEMBER)
    item_menu = slack.api.view(slack.api.calls_to("views.open")[0].view["id"])
    slack.choose(item_menu, "Edit", index=2, user=OWNER)  # strategy, objective, item
    form = slack.wait_for("views.push", lambda c: c.view["callback_id"] == "action_item_form"
                          and "Edit" in json.dumps(c.view["title"])).view
    slack.submit_view(form, {"Assignee": OTHER}, user=OWNER)
    dm_to(slack, OTHER, "assigned you")
    notice = dm_to(slack, MEMBER, "no longer yours")
    assert f"<@{OTHER}>" in json.dumps(notice.params)
    slack.wait_for("chat.update", lambda c: c.params["ts"] == dm.response["ts"] and "reassigned" in json.dumps(c.params))


def test_app_home_switches_the_weekly_summary(slack, session_factory):
    slack.app_home_opened(MEMBER)
    home = slack.wait_for("views.publish", lambda c: c.params["user_id"] == MEMBER).view
    slack.click(home, "Mute weekly summary", user=MEMBER)
    home = slack.wait_for("views.publish", lambda c: "Unmute weekly summary" in json.dumps(c.params)).view
    with session_factory() as session:
        assert session.scalars(select(WeeklySummary.muted)).one() is True
    slack.click(home, "Unmute weekly summary", user=MEMBER)
    slack.wait_for("views.publish", lambda c: len(slack.api.calls_to("views.publish")) == 3
                   and "Mute weekly summary" in json.dumps(c.params))
    with session_factory() as session:
        assert session.scalars(select(WeeklySummary.muted)).one() is False


def test_the_owner_sets_the_lead_time_in_the_plan_form(slack, session_factory):
    ids = seed(session_factory, slack.team)
    slack.command("/accountplan", f"edit {ids['plan']}", user=OWNER)
    form = slack.wait_for("views.open").view
    slack.choose(form, "3 days before", user=OWNER)

    def lead_days():
        with session_factory() as session:
            return session.get(AccountPlan, ids["plan"]).reminder_lead_days

    assert eventually(lambda: lead_days() == 3)
    # Saving the rest of the form afterwards does not conflict.
    reply = slack.submit_view(form, {"Plan name": "Newton 2025 renamed"}, user=OWNER)
    assert reply.json and reply.json.get("response_action") == "update"
    slack.command("/accountplan", f"edit {ids['plan']}", user=MEMBER)  # on the team, not the owner
    slack.wait_for("views.open", lambda c: len(slack.api.calls_to("views.open")) == 2)
    form = slack.api.calls_to("views.open")[1].view
    slack.choose(form, "1 week before", user=MEMBER)
    slack.wait_for("views.push", lambda c: "Only the plan's owner" in json.dumps(c.params["view"]))
    assert lead_days() == 3


def test_a_new_time_zone_from_slack_is_kept(slack, session_factory):
    ids = seed(session_factory, slack.team)
    add_item(session_factory, slack.team, ids["objective"])
    user = slack.api.set_user(MEMBER, tz="Europe/Berlin")
    slack.event({"type": "user_change", "user": user})

    def zone():
        with session_factory() as session:
            person = people.get(session, slack.team, MEMBER)
            return person.timezone if person else None

    assert eventually(lambda: zone() == "Europe/Berlin")
    with session_factory() as session:
        assert session.scalars(select(Notification)).all()  # the assignment waits for the scheduler


def test_open_plan_in_the_dm_opens_the_plan_view(slack, session_factory):
    ids = seed(session_factory, slack.team)
    assign_in_the_form(slack, ids["plan"], MEMBER)
    dm = dm_to(slack, MEMBER)
    before = len(slack.api.calls_to("views.open"))
    reply = slack.click(dm, "Open plan", user=MEMBER)
    assert reply.status == 200 and reply.elapsed < 3
    slack.wait_for("views.open", lambda c: len(slack.api.calls_to("views.open")) > before)
    view = slack.api.calls_to("views.open")[before].view
    assert view["callback_id"] == "plan_view" and "Newton 2025" in json.dumps(view["blocks"])


def test_mark_done_in_the_weekly_summary_strikes_the_item_there(slack, session_factory, settings):
    ids = seed(session_factory, slack.team)
    add_item(session_factory, slack.team, ids["objective"])
    context = scheduler.make_context(settings, session_factory, UNHURRIED)
    for hour, minute in ((8, 0), (9, 0)):  # Monday: scheduled, then due at 09:00 (UTC for them)
        scheduler.run_pass(context, dt.datetime(2025, 3, 3, hour, minute, 30, tzinfo=dt.timezone.utc))
    summary = dm_to(slack, MEMBER, "open action item")
    slack.click(summary, "Mark done", user=MEMBER)
    redrawn = slack.wait_for("chat.update", lambda c: c.params["ts"] == summary.response["ts"])
    assert "~Share the study~ done" in json.dumps(redrawn.params)
    dm_to(slack, OWNER, "marked")


# ---------------------------------------------------------------------------
# Several items due the same day: one DM, a "Mark done" on each line


def add_titled(session_factory, team: str, objective: int, titles, due: dt.date) -> list[int]:
    with session_factory() as session, session.begin():
        return [ops.add_action_item(session, Actor(team, OWNER), objective,
                                    ActionItemInput(title, MEMBER, due)).id for title in titles]


def reminder_dms(slack) -> list:
    return [c for c in slack.api.calls_to("chat.postMessage")
            if c.ok and c.params["channel"] == MEMBER and c.params["text"].startswith("Reminder")]


def test_three_items_due_the_same_day_come_in_one_dm_and_mark_done_strikes_one(slack, session_factory, settings):
    ids = seed(session_factory, slack.team)
    titles = ["Share the study", "Book the visit", "Send the quote"]
    items = add_titled(session_factory, slack.team, ids["objective"], titles, dt.date(2025, 3, 5))
    context = scheduler.make_context(settings, session_factory, UNHURRIED)
    scheduler.run_pass(context, dt.datetime(2025, 3, 3, 12, tzinfo=dt.timezone.utc))  # assignment DMs
    scheduler.run_pass(context, dt.datetime(2025, 3, 4, 9, 0, 30, tzinfo=dt.timezone.utc))  # due tomorrow
    (dm,) = reminder_dms(slack)
    assert buttons(dm).count("Mark done") == 3 and buttons(dm).count("Snooze 1 day") == 3
    assert all(title in json.dumps(dm.params["blocks"]) for title in titles)
    with session_factory() as session:  # each item counted once, all with this DM
        assert set(session.execute(select(ItemReminder.sends, ItemReminder.soon_sent, ItemReminder.dm_ts))) \
            == {(1, True, dm.response["ts"])}

    reply = slack.click(dm, "Mark done", index=1, user=MEMBER)  # "Book the visit"
    assert reply.status == 200 and reply.elapsed < 3
    redrawn = slack.wait_for("chat.update", lambda c: c.params["ts"] == dm.response["ts"]).params
    assert json.dumps(redrawn["blocks"]).count('"Mark done"') == 2
    lines = {b["block_id"]: b["text"]["text"] for b in redrawn["blocks"] if b.get("block_id", "").startswith("reminder_line_")}
    assert "~Book the visit~" in lines[f"reminder_line_{items[1]}"]
    assert "~" not in lines[f"reminder_line_{items[0]}"] + lines[f"reminder_line_{items[2]}"]
    dm_to(slack, OWNER, "marked")  # the one who assigned it hears it
    with session_factory() as session:
        done = session.scalars(select(ActionItem.id).where(ActionItem.status == ItemStatus.DONE)).all()
    assert done == [items[1]]


def test_an_older_dm_listing_several_strikes_the_line_pressed(slack, session_factory):
    ids = seed(session_factory, slack.team)
    first, second = add_titled(session_factory, slack.team, ids["objective"], ["Share the study", "Book the visit"],
                               dt.date(2025, 3, 5))
    with session_factory() as session, session.begin():  # their latest DMs are newer ones
        session.execute(ItemReminder.__table__.update().values(dm_channel_id="D0MEMBER", dm_ts="1700000099.000100"))
        facts = list(item_facts(session, [first, second]).values())
    old = messages.reminders_message(facts, today=dt.date(2025, 3, 4))
    message = {"type": "message", "ts": "1700000000.000100", "channel": "D0MEMBER", **old}
    slack.click(message, "Mark done", index=0, user=MEMBER)
    redrawn = slack.wait_for("chat.update", lambda c: c.params["ts"] == "1700000000.000100").params
    text = json.dumps(redrawn["blocks"])
    assert "~Share the study~" in text and "Book the visit" in text and text.count('"Mark done"') == 1


def test_a_person_with_very_many_items_due_gets_several_dms_within_block_kit_limits(slack, session_factory, settings):
    ids = seed(session_factory, slack.team)
    titles = [f"Call clinic {n}" for n in range(messages.REMINDERS_MAX + 6)]
    add_titled(session_factory, slack.team, ids["objective"], titles, dt.date(2025, 3, 5))
    with session_factory() as session, session.begin():  # imported, say: no assignment DMs
        session.execute(Notification.__table__.delete())
    context = scheduler.make_context(settings, session_factory, UNHURRIED)
    scheduler.run_pass(context, dt.datetime(2025, 3, 4, 9, 0, 30, tzinfo=dt.timezone.utc))
    dms = reminder_dms(slack)  # the fake answers invalid_blocks to anything over 50 blocks
    assert sorted(buttons(dm).count("Mark done") for dm in dms) == [6, messages.REMINDERS_MAX]
    assert all(len(dm.params["blocks"]) <= 50 for dm in dms)
    with session_factory() as session:
        assert set(session.scalars(select(ItemReminder.sends))) == {1}


def test_snooze_on_one_line_of_a_dm_listing_several_notes_it_on_that_line(slack, session_factory, settings):
    ids = seed(session_factory, slack.team)
    items = add_titled(session_factory, slack.team, ids["objective"], ["Share the study", "Book the visit"],
                       dt.date(2025, 3, 5))
    with session_factory() as session, session.begin():
        session.execute(Notification.__table__.delete())
    context = scheduler.make_context(settings, session_factory, UNHURRIED)
    scheduler.run_pass(context, dt.datetime(2025, 3, 4, 9, 0, 30, tzinfo=dt.timezone.utc))
    (dm,) = reminder_dms(slack)
    slack.click(dm, "Snooze 1 week", index=1, user=MEMBER)
    redrawn = slack.wait_for("chat.update", lambda c: c.params["ts"] == dm.response["ts"]).params
    lines = {b["block_id"]: b["text"]["text"] for b in redrawn["blocks"] if b.get("block_id", "").startswith("reminder_line_")}
    assert "Snoozed until" in lines[f"reminder_line_{items[1]}"] and "Snoozed" not in lines[f"reminder_line_{items[0]}"]
    assert json.dumps(redrawn["blocks"]).count('"Mark done"') == 2  # both can still be marked done
    with session_factory() as session:
        snoozed = dict(session.execute(select(ItemReminder.action_item_id, ItemReminder.snoozed_until)).all())
    assert snoozed[items[0]] is None and snoozed[items[1]] is not None
