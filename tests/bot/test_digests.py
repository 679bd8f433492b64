"""Digests, QBRs and canvases through Slack: every path, and the customer-channel rule
on every path (signed requests in, Web API calls checked by the fake API, which also
validates every payload against Block Kit's limits)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select

from bot.listeners.digests import parse_digest_args
from bot.scheduler import digest_jobs, passes
from bot.scheduler.job_context import JobContext
from bot.slack import channels as sharing
from bot.slack.clients import make_client
from bot.slack.ratelimit import Unlimited
from storage import digests
from storage import plans as ops
from storage.models import (
    Audience,
    DigestPost,
    DigestReason,
    DigestSubscription,
    PlanCanvas,
    PlanStatus,
    QbrReview,
)
from storage.plans import ActionItemInput, Actor, ObjectiveInput, PlanInput
from tests.blockkit import validate_message

TEAM = "T1"
OWNER, MEMBER, STRANGER = "U0OWNER", "U0MEMBER", "U0STRANGER"
SHARED_ITEM, SECRET_ITEM = "Share the outcomes study", "Price concession for the IDN"
SWOT_TEXT = "Their CFO distrusts us"


def seed(session_factory, *, name="Newton Memorial Hospital 2025 Strategic Plan",
         status=PlanStatus.ACTIVE) -> int:
    owner = Actor(TEAM, OWNER)
    today = dt.datetime.now(dt.timezone.utc).date()
    with session_factory() as session, session.begin():
        plan = ops.create_plan(session, owner, PlanInput(
            name=name, account="Newton Memorial Hospital", start_date=today - dt.timedelta(days=200),
            end_date=today + dt.timedelta(days=200), status=status, team=[MEMBER]))
        strategy = ops.add_strategy(session, owner, plan.id, "Improve awareness", shared_with_customer=True)
        objective = ops.add_objective(session, owner, strategy.id, ObjectiveInput(
            title="Formulary approval", measure_unit="IDNs", target_value=5, current_value=3,
            shared_with_customer=True))
        for title, shared in ((SHARED_ITEM, True), (SECRET_ITEM, False)):
            ops.add_action_item(session, owner, objective.id, ActionItemInput(
                title=title, assignee_id=MEMBER, due_date=today + dt.timedelta(days=3),
                shared_with_customer=shared))
        ops.add_swot_entry(session, owner, plan.id, "weakness", SWOT_TEXT)
        return plan.id


def jobs_context(settings, session_factory, client_for_team=None) -> JobContext:
    """What the scheduler hands its jobs, with the app's client (or `client_for_team`)."""
    return JobContext(settings, session_factory,
                      client_for_team or (lambda team: make_client(settings, settings.bot_token)), Unlimited())


def posted_text(call) -> str:
    return json.dumps(call.params.get("blocks"), ensure_ascii=False) + call.params.get("text", "")


def posts_to(slack_api, channel: str) -> list:
    return [c for c in slack_api.calls_to("chat.postMessage") if c.params["channel"] == channel and c.ok]


def digest_posts(session_factory) -> list[DigestPost]:
    with session_factory() as session:
        return list(session.scalars(select(DigestPost).order_by(DigestPost.id)))


def assert_team_version(text: str) -> None:
    assert SHARED_ITEM in text and SECRET_ITEM in text


def assert_customer_safe(text: str) -> None:
    assert SHARED_ITEM in text
    assert SECRET_ITEM not in text and SWOT_TEXT not in text
    assert "kept within the account team" in text


# ---------------------------------------------------------------------------
# /accountplan digest


def test_parse_digest_args():
    assert parse_digest_args("Newton 2025 <#C123|team-east>") == ("Newton 2025", "C123")
    assert parse_digest_args("<#C9> Newton") == ("Newton", "C9")
    assert parse_digest_args("Newton &amp; Co") == ("Newton &amp; Co", None)


def test_digest_command_posts_to_the_channel_it_was_typed_in(slack, slack_api, session_factory):
    plan_id = seed(session_factory)
    reply = slack.command("/accountplan", "digest Newton", user=OWNER, channel="C77")
    assert reply.status == 200 and reply.body == "" and reply.elapsed < 3
    call = slack.wait_for("chat.postMessage", lambda c: c.params["channel"] == "C77")
    assert_team_version(posted_text(call))
    assert "Open plan" in posted_text(call)
    notice = slack.wait_for("response_url")
    assert "Posted the digest" in notice.params["text"] and "<#C77>" in notice.params["text"]
    [post] = digest_posts(session_factory)
    assert (post.plan_id, post.channel_id, post.reason, post.audience, post.posted_by) == (
        plan_id, "C77", DigestReason.ON_DEMAND, Audience.TEAM, OWNER)
    assert post.message_ts == call.response["ts"]


def test_digest_command_to_a_named_customer_channel_leaves_team_only_parts_out(slack, slack_api, session_factory):
    seed(session_factory)
    slack_api.set_channel("C9", is_ext_shared=True)
    slack.command("/accountplan", "digest Newton <#C9|newton-shared>", user=MEMBER, channel="C1")
    call = slack.wait_for("chat.postMessage", lambda c: c.params["channel"] == "C9")
    assert_customer_safe(posted_text(call))
    assert "Open plan" not in posted_text(call)  # the plan view shows everything to its viewer
    assert "shared with another organisation" in slack.wait_for("response_url").params["text"]
    assert digest_posts(session_factory)[0].audience == Audience.EXTERNAL


@pytest.mark.parametrize("fields", [
    {"is_shared": True},
    {"is_pending_ext_shared": True},
    {"pending_shared": ["T0CUSTOMER"]},
    {"pending_connected_team_ids": ["T0CUSTOMER"]},
])
def test_every_kind_of_sharing_counts_as_external(slack, slack_api, session_factory, fields):
    seed(session_factory)
    slack_api.set_channel("C9", **fields)
    slack.command("/accountplan", "digest Newton <#C9>", user=OWNER)
    assert_customer_safe(posted_text(slack.wait_for("chat.postMessage")))


def test_a_failed_or_slow_check_means_external(slack, slack_api, session_factory, monkeypatch):
    seed(session_factory)
    slack_api.error("conversations.info", "internal_error")
    slack.command("/accountplan", "digest Newton <#C9>", user=OWNER)
    assert_customer_safe(posted_text(slack.wait_for("chat.postMessage")))

    monkeypatch.setattr(sharing, "CHECK_TIMEOUT", 0.3)
    slack_api.slow("conversations.info", seconds=1.0, times=1)
    slack.command("/accountplan", "digest Newton <#C10>", user=OWNER)
    assert_customer_safe(posted_text(slack.wait_for("chat.postMessage", lambda c: c.params["channel"] == "C10")))


def test_a_channel_that_turns_external_between_two_digests(slack, slack_api, session_factory):
    seed(session_factory)
    slack.command("/accountplan", "digest Newton <#C5>", user=OWNER)
    assert_team_version(posted_text(slack.wait_for("chat.postMessage")))
    slack_api.set_channel("C5", is_ext_shared=True)  # a customer joined the channel
    slack.command("/accountplan", "digest Newton <#C5>", user=OWNER)
    slack.wait_for("response_url", lambda c: len(slack_api.calls_to("response_url")) == 2)
    assert_customer_safe(posted_text(posts_to(slack_api, "C5")[1]))
    assert [p.audience for p in digest_posts(session_factory)] == [Audience.TEAM, Audience.EXTERNAL]


def test_a_private_channel_without_the_app_is_explained(slack, slack_api, session_factory):
    seed(session_factory)
    slack_api.set_channel("G1", is_private=True, is_member=False)
    slack.command("/accountplan", "digest Newton <#G1|secret>", user=OWNER)
    assert "invite @Account Plans" in slack.wait_for("response_url").params["text"]
    assert slack_api.calls_to("chat.postMessage") == []
    slack_api.error("chat.postMessage", "not_in_channel")
    slack.command("/accountplan", "digest Newton <#C2>", user=OWNER)
    assert "invite @Account Plans" in slack.wait_for(
        "response_url", lambda c: "C2" in c.params["text"]).params["text"]
    assert digest_posts(session_factory) == []


def test_only_owner_and_team_post_digests(slack, slack_api, session_factory):
    seed(session_factory)
    slack.command("/accountplan", "digest Newton", user=STRANGER)
    assert "Only the owner and team" in slack.wait_for("response_url").params["text"]
    assert slack_api.calls_to("chat.postMessage") == []


def test_a_plan_named_channel_pings_nobody(slack, slack_api, session_factory):
    seed(session_factory, name="<!channel> & <!here> plan")
    slack.command("/accountplan", "digest plan", user=OWNER)
    call = slack.wait_for("chat.postMessage")
    mrkdwn = [b["text"] for b in call.params["blocks"] if b["type"] == "section"]
    assert all(t["verbatim"] is True for t in mrkdwn)
    assert "<!channel>" not in json.dumps(mrkdwn) and "<!" not in call.params["text"]
    assert "&lt;!channel&gt; &amp; &lt;!here&gt; plan" in call.params["text"]


def test_the_ack_does_not_wait_for_a_slow_web_api(slack, slack_api, session_factory):
    seed(session_factory)
    slow = slack_api.slow("chat.postMessage", seconds=2.5)
    reply = slack.command("/accountplan", "digest Newton", user=OWNER)
    assert reply.status == 200 and reply.elapsed < 1
    slow.release()  # the ack came back while the Web API hung: its 2.5 s need not run out
    slack.wait_for("chat.postMessage", timeout=10)


# ---------------------------------------------------------------------------
# "Post digest" in the plan view


def open_plan(slack, user=OWNER) -> dict:
    slack.command("/accountplan", "show Newton", user=user)
    return slack.wait_for("views.open").view


def push_from(slack, view: dict, button: str, user=OWNER) -> dict:
    before = len(slack.api.calls_to("views.push"))
    slack.click(view, button, user=user)
    slack.wait_for("views.push", lambda c: len(slack.api.calls_to("views.push")) > before)
    return slack.api.calls_to("views.push")[before].view


def test_post_digest_button_picks_a_channel_and_reports_back(slack, slack_api, session_factory):
    seed(session_factory)
    form = push_from(slack, open_plan(slack), "Post digest")
    slack_api.set_channel("C7", is_ext_shared=True)
    reply = slack.submit_view(form, {"Channel": "C7"}, user=OWNER)
    assert reply.json["response_action"] == "update" and reply.elapsed < 3
    assert_customer_safe(posted_text(slack.wait_for("chat.postMessage")))
    result = slack.wait_for("views.update", lambda c: c.params["view_id"] == form["id"]).params["view"]
    assert "Posted the digest" in json.dumps(result)
    # Back to a team channel from the same button: everything is there.
    form = push_from(slack, slack.api.calls_to("views.open")[0].view, "Post digest")
    slack.submit_view(form, {"Channel": "C8"}, user=OWNER)
    assert_team_version(posted_text(slack.wait_for("chat.postMessage", lambda c: c.params["channel"] == "C8")))


def test_post_digest_form_refuses_someone_who_lost_the_right(slack, slack_api, session_factory):
    plan_id = seed(session_factory)
    form = push_from(slack, open_plan(slack, user=MEMBER), "Post digest", user=MEMBER)
    with session_factory() as session, session.begin():
        ops.update_plan(session, Actor(TEAM, OWNER), plan_id, PlanInput(
            name="Newton Memorial Hospital 2025 Strategic Plan", account="Newton Memorial Hospital",
            start_date=dt.date(2025, 1, 1), end_date=dt.date(2026, 12, 31), team=[]))
    reply = slack.submit_view(form, {"Channel": "C7"}, user=MEMBER)
    assert reply.json["response_action"] == "errors" and "Only the owner" in json.dumps(reply.json)
    assert slack_api.calls_to("chat.postMessage") == []


# ---------------------------------------------------------------------------
# Subscriptions and scheduled digests


def subscribe_in_slack(slack, slack_api, fields: dict) -> dict:
    slack_api.set_user(OWNER, tz="Europe/Berlin")
    form = push_from(slack, open_plan(slack), "Digest settings")
    form = slack.wait_for("views.update", lambda c: c.params["view_id"] == form["id"]).view
    assert "In Europe/Berlin." in json.dumps(form["blocks"])
    reply = slack.submit_view(form, fields, user=OWNER)
    assert reply.json["response_action"] == "update", reply.json
    return slack.api.view(form["id"])


def subscription(session_factory) -> DigestSubscription:
    with session_factory() as session:
        return session.scalars(select(DigestSubscription)).one()


@pytest.fixture
def run_due(settings, session_factory):
    def run(now):
        return digest_jobs.run_due_digests(jobs_context(settings, session_factory), now)
    return run


def test_a_weekly_subscription_posts_on_schedule_and_moves_on(slack, slack_api, session_factory, run_due):
    plan_id = seed(session_factory)
    view = subscribe_in_slack(slack, slack_api, {"Channel": "C8", "How often": "Weekly", "Day": "Monday",
                                                 "Time": "09:00"})
    text = json.dumps(view["blocks"], ensure_ascii=False)
    assert "<#C8> · weekly on Monday at 09:00 Europe/Berlin · after each QBR" in text
    sub = subscription(session_factory)
    due = sub.next_run_at
    local = due.astimezone(digests.zone("Europe/Berlin"))
    assert (local.weekday(), local.hour, local.minute) == (0, 9, 0)

    assert run_due(due - dt.timedelta(minutes=1)) == 0
    assert run_due(due + dt.timedelta(seconds=30)) == 1
    call = slack.wait_for("chat.postMessage", lambda c: c.params["channel"] == "C8")
    assert_team_version(posted_text(call))
    after = subscription(session_factory)
    assert after.next_run_at == due + dt.timedelta(days=7) or (
        after.next_run_at - due).days == 7  # a week later at 09:00 local, DST or not
    assert after.last_sent_at is not None and after.locked_until is None and after.last_error == ""
    assert [(p.reason, p.plan_id) for p in digest_posts(session_factory)] == [(DigestReason.SCHEDULED, plan_id)]
    assert run_due(due + dt.timedelta(minutes=5)) == 0  # nothing sent twice


def test_a_scheduled_digest_asks_again_at_posting_time(slack, slack_api, session_factory, run_due):
    seed(session_factory)
    subscribe_in_slack(slack, slack_api, {"Channel": "C8", "How often": "Every two weeks",
                                          "Day": "Wednesday", "Time": "16:30"})
    due = subscription(session_factory).next_run_at
    slack_api.set_channel("C8", is_ext_shared=True)
    assert run_due(due) == 1
    assert_customer_safe(posted_text(slack.wait_for("chat.postMessage", lambda c: c.params["channel"] == "C8")))
    assert (subscription(session_factory).next_run_at - due).days == 14


def test_a_permanent_error_stops_the_subscription_and_shows_in_settings(slack, slack_api, session_factory, run_due):
    seed(session_factory)
    subscribe_in_slack(slack, slack_api, {"Channel": "C8"})
    due = subscription(session_factory).next_run_at
    slack_api.error("chat.postMessage", "channel_not_found")
    assert run_due(due) == 0
    stopped = subscription(session_factory)
    assert stopped.next_run_at is None and "invite @Account Plans" in stopped.last_error
    assert run_due(due + dt.timedelta(days=30)) == 0
    form = push_from(slack, slack.api.calls_to("views.open")[-1].view, "Digest settings")
    assert "Stopped:" in json.dumps(form["blocks"])
    # Saving the channel again restarts it.
    slack.submit_view(slack.wait_for("views.update", lambda c: c.params["view_id"] == form["id"]).view,
                      {"Channel": "C8"}, user=OWNER)
    restarted = subscription(session_factory)
    assert restarted.last_error == "" and restarted.next_run_at is not None


def test_a_passing_error_keeps_the_slot_and_retries_later(slack, slack_api, session_factory, run_due):
    seed(session_factory)
    subscribe_in_slack(slack, slack_api, {"Channel": "C8"})
    due = subscription(session_factory).next_run_at
    slack_api.error("chat.postMessage", "internal_error")
    assert run_due(due) == 0
    waiting = subscription(session_factory)
    assert waiting.next_run_at == due and waiting.locked_until == due + digest_jobs.RETRY_AFTER
    assert run_due(due + dt.timedelta(minutes=5)) == 0  # still waiting
    assert run_due(due + digest_jobs.RETRY_AFTER + dt.timedelta(seconds=1)) == 1


def test_scheduled_digests_wait_while_the_plan_is_not_active(slack, slack_api, session_factory, run_due):
    seed(session_factory, status=PlanStatus.DRAFT)
    view = subscribe_in_slack(slack, slack_api, {"Channel": "C8"})
    assert "wait while the plan is draft" in json.dumps(view["blocks"], ensure_ascii=False)
    due = subscription(session_factory).next_run_at
    assert run_due(due) == 0
    assert posts_to(slack_api, "C8") == []
    assert subscription(session_factory).next_run_at == due + dt.timedelta(days=7)


def test_remove_a_subscription(slack, slack_api, session_factory):
    seed(session_factory)
    view = subscribe_in_slack(slack, slack_api, {"Channel": "C8"})
    before = len(slack_api.calls_to("views.update"))
    slack.click(view, "Remove", user=OWNER)
    updated = slack.wait_for("views.update", lambda c: c in slack_api.calls_to("views.update")[before:]
                             and "No channel gets" in json.dumps(c.params["view"]))
    assert "<#C8>" not in json.dumps(updated.params["view"]["blocks"])
    with session_factory() as session:
        assert session.scalars(select(DigestSubscription)).all() == []


def test_bad_settings_come_back_on_their_field(slack, slack_api, session_factory):
    seed(session_factory)
    slack_api.set_user(OWNER, tz="Europe/Berlin")
    form = push_from(slack, open_plan(slack), "Digest settings")
    form = slack.wait_for("views.update", lambda c: c.params["view_id"] == form["id"]).view
    reply = slack.submit_view(form, {"Channel": "C8", "How often": "None (only after each QBR)",
                                     "After each QBR": []}, user=OWNER)
    assert reply.json == {"response_action": "errors",
                          "errors": {"frequency": "choose a schedule, or tick “after each QBR”"}}


# ---------------------------------------------------------------------------
# QBRs


def add_subscription(session_factory, plan_id: int, channel: str, *, after_qbr=True, frequency="none") -> None:
    with session_factory() as session, session.begin():
        digests.save_subscription(session, Actor(TEAM, OWNER), plan_id, digests.SubscriptionInput(
            channel_id=channel, frequency=frequency, after_qbr=after_qbr))


QBR_FIELDS = {
    "QBR date": dt.date(2025, 6, 1),
    "Attendees": "Dr. Jane Smith (CMO, Newton)\nPat Lee (us)",
    "Notes": "Formulary review moved to Q3",
    "Decisions": "Add the second IDN to the objective",
    "Next QBR date": dt.date(2025, 9, 1),
}


def test_logging_a_qbr_posts_its_digest_to_the_plans_channels_and_asks_the_owner(slack, slack_api, session_factory):
    plan_id = seed(session_factory)
    add_subscription(session_factory, plan_id, "C10")
    add_subscription(session_factory, plan_id, "C11")
    add_subscription(session_factory, plan_id, "C12", after_qbr=False, frequency="weekly")
    slack_api.set_channel("C11", is_ext_shared=True)
    slack.command("/accountplan", "qbr Newton", user=MEMBER)
    form = slack.wait_for("views.open").view
    reply = slack.submit_view(form, QBR_FIELDS, user=MEMBER)
    assert reply.json["response_action"] == "update" and reply.elapsed < 3

    team = slack.wait_for("chat.postMessage", lambda c: c.params["channel"] == "C10")
    customer = slack.wait_for("chat.postMessage", lambda c: c.params["channel"] == "C11")
    for call in (team, customer):
        text = posted_text(call)
        assert "QBR digest" in text and "Formulary review moved to Q3" in text and "Dr. Jane Smith" in text
        assert "Add the second IDN" in text and "*Next QBR:* 1 Sep 2025" in text
    assert_team_version(posted_text(team))
    assert_customer_safe(posted_text(customer))
    assert posts_to(slack_api, "C12") == []

    dm = slack.wait_for("chat.postMessage", lambda c: c.params["channel"] == OWNER)
    assert "review the plan's objectives" in posted_text(dm) and "Open plan" in posted_text(dm)
    result = slack.wait_for("views.update", lambda c: c.params["view_id"] == form["id"])
    assert "<#C10>" in json.dumps(result.params["view"]) and "<#C11>" in json.dumps(result.params["view"])
    with session_factory() as session:
        review = session.scalars(select(QbrReview)).one()
        assert (review.held_on, review.created_by, review.next_qbr_date) == (
            dt.date(2025, 6, 1), MEMBER, dt.date(2025, 9, 1))
        assert ops.get_plan(session, TEAM, plan_id).last_review_date == dt.date(2025, 6, 1)
    assert sorted((p.channel_id, p.reason) for p in digest_posts(session_factory)) == [
        ("C10", DigestReason.QBR), ("C11", DigestReason.QBR)]


def test_log_qbr_button_and_field_errors(slack, slack_api, session_factory):
    seed(session_factory)
    form = push_from(slack, open_plan(slack), "Log QBR")
    reply = slack.submit_view(form, {**QBR_FIELDS, "Next QBR date": dt.date(2025, 5, 1)}, user=OWNER)
    assert reply.json == {"response_action": "errors",
                          "errors": {"next_qbr_date": "must be after the review date"}}
    reply = slack.submit_view(form, QBR_FIELDS, user=OWNER)
    assert reply.json["response_action"] == "update"
    slack.wait_for("chat.postMessage", lambda c: c.params["channel"] == OWNER)
    result = slack.wait_for("views.update", lambda c: c.params["view_id"] == form["id"])
    assert "No channel gets this plan's digest after each QBR" in json.dumps(result.params["view"])


def test_strangers_cannot_log_qbrs(slack, slack_api, session_factory):
    seed(session_factory)
    slack.command("/accountplan", "qbr Newton", user=STRANGER)
    assert "Only the owner and team" in slack.wait_for("response_url").params["text"]
    assert slack_api.calls_to("views.open") == []


def test_a_plan_without_a_qbr_reminds_its_owner_once(slack, slack_api, session_factory, settings):
    seed(session_factory)  # started 200 days ago, no QBR: 110 days overdue

    def run(now):
        return digest_jobs.run_qbr_nudges(jobs_context(settings, session_factory), now)

    now = dt.datetime.now(dt.timezone.utc)
    assert run(now) == 1
    dm = slack.wait_for("chat.postMessage", lambda c: c.params["channel"] == OWNER)
    assert validate_message(dm.params) == []
    assert "No QBR has been logged" in posted_text(dm)
    assert run(now + dt.timedelta(hours=1)) == 0
    # "Log QBR" in the DM opens the form.
    slack.click(dm, "Log QBR", user=OWNER)
    assert "QBR date" in json.dumps(slack.wait_for("views.open").view)


def test_a_reminder_slack_could_not_take_for_now_is_tried_again(slack, slack_api, session_factory, settings):
    seed(session_factory)
    context = jobs_context(settings, session_factory)
    now = dt.datetime.now(dt.timezone.utc)
    slack_api.error("chat.postMessage", "service_unavailable")
    assert digest_jobs.run_qbr_nudges(context, now) == 0
    assert digest_jobs.run_qbr_nudges(context, now) == 1


def test_a_reminder_slack_refuses_for_good_is_not_retried_every_pass(
        slack, slack_api, session_factory, settings, caplog):
    seed(session_factory)
    context = jobs_context(settings, session_factory)
    now = dt.datetime.now(dt.timezone.utc)
    slack_api.error("chat.postMessage", "account_inactive")
    assert digest_jobs.run_qbr_nudges(context, now) == 0
    assert digest_jobs.run_qbr_nudges(context, now + dt.timedelta(minutes=1)) == 0
    assert len(slack_api.calls_to("chat.postMessage")) == 1
    assert "account_inactive" in caplog.text and "connection_error" not in caplog.text


# ---------------------------------------------------------------------------
# Canvases


def publish(slack, channel: str) -> dict:
    form = push_from(slack, open_plan(slack), "Publish as canvas")
    reply = slack.submit_view(form, {"Channel": channel}, user=OWNER)
    assert reply.json["response_action"] == "update"
    return slack.wait_for("views.update", lambda c: c.params["view_id"] == form["id"]).params["view"]


def canvases(session_factory) -> dict:
    with session_factory() as session:
        return {c.audience: c.canvas_id for c in session.scalars(select(PlanCanvas))}


def markdown_of(call) -> str:
    if call.method == "canvases.create":
        return call.params["document_content"]["markdown"]
    [change] = call.params["changes"]
    assert change["operation"] == "replace"
    return change["document_content"]["markdown"]


def test_publish_as_canvas_creates_once_then_updates_in_place(slack, slack_api, session_factory):
    seed(session_factory)
    slack_api.set_user(MEMBER, profile={"display_name": "Pat Lee"})
    result = publish(slack, "C20")
    created = slack.wait_for("canvases.create")
    markdown = markdown_of(created)
    assert markdown.startswith("# Newton Memorial Hospital 2025 Strategic Plan")
    assert SECRET_ITEM in markdown and SWOT_TEXT in markdown and "Pat Lee" in markdown
    canvas_id = created.response["canvas_id"]
    access = slack.wait_for("canvases.access.set")
    assert (access.params["canvas_id"], access.params["channel_ids"], access.params["access_level"]) == (
        canvas_id, "C20", "read")
    link = slack.wait_for("chat.postMessage", lambda c: c.params["channel"] == "C20")
    assert f"/docs/{TEAM}/{canvas_id}|open it>" in posted_text(link)
    assert "Canvas published" in json.dumps(result)
    assert canvases(session_factory) == {Audience.TEAM: canvas_id}

    publish(slack, "C21")
    edit = slack.wait_for("canvases.edit")
    assert edit.params["canvas_id"] == canvas_id and SECRET_ITEM in markdown_of(edit)
    assert len(slack_api.calls_to("canvases.create")) == 1


def test_a_customer_channel_gets_its_own_canvas_without_team_only_parts(slack, slack_api, session_factory):
    seed(session_factory)
    publish(slack, "C20")
    team_canvas = slack.wait_for("canvases.create").response["canvas_id"]
    slack_api.set_channel("C30", is_ext_shared=True)
    result = publish(slack, "C30")
    external = slack.wait_for("canvases.create", lambda c: c.response["canvas_id"] != team_canvas)
    markdown = markdown_of(external)
    assert SHARED_ITEM in markdown and SECRET_ITEM not in markdown and SWOT_TEXT not in markdown
    assert "Some parts of this plan are kept within the account team." in markdown
    assert "shared with another organisation" in json.dumps(result)
    found = canvases(session_factory)
    assert found[Audience.EXTERNAL] == external.response["canvas_id"] != found[Audience.TEAM]
    # The team canvas is never shared with the customer channel.
    assert [c.params["canvas_id"] for c in slack_api.calls_to("canvases.access.set")
            if c.params["channel_ids"] == "C30"] == [found[Audience.EXTERNAL]]


def test_a_canvas_someone_deleted_is_created_again(slack, slack_api, session_factory):
    seed(session_factory)
    publish(slack, "C20")
    first = slack.wait_for("canvases.create").response["canvas_id"]
    slack_api.error("canvases.edit", "canvas_not_found")
    publish(slack, "C20")
    second = slack.wait_for("canvases.create", lambda c: c.response["canvas_id"] != first)
    assert canvases(session_factory) == {Audience.TEAM: second.response["canvas_id"]}


def test_a_failed_canvas_check_publishes_the_customer_version(slack, slack_api, session_factory):
    seed(session_factory)
    form = push_from(slack, open_plan(slack), "Publish as canvas")
    slack_api.error("conversations.info", "ratelimited")  # the check of C20 fails
    slack.submit_view(form, {"Channel": "C20"}, user=OWNER)
    slack.wait_for("views.update", lambda c: c.params["view_id"] == form["id"])
    assert SECRET_ITEM not in markdown_of(slack.wait_for("canvases.create"))
    assert list(canvases(session_factory)) == [Audience.EXTERNAL]


# ---------------------------------------------------------------------------
# The other paths


def test_the_message_shortcut_in_a_customer_channel_posts_nothing(slack, slack_api, session_factory):
    seed(session_factory)
    slack_api.set_channel("C40", is_ext_shared=True)
    reply = slack.message_shortcut("add_action_item_shortcut", "Please send the study", channel="C40", user=OWNER)
    assert reply.status == 200
    form = slack.wait_for("views.open").view
    assert form["type"] == "modal"  # only the person who used it sees it
    assert [c.method for c in slack_api.calls if c.method.startswith("chat.")] == []


@pytest.mark.parametrize(("channel", "audience"), [
    ({"is_channel": True, "is_shared": False, "is_ext_shared": False}, Audience.TEAM),
    ({"is_im": True}, Audience.TEAM),
    ({"is_private": True, "pending_shared": []}, Audience.TEAM),
    ({"is_ext_shared": True}, Audience.EXTERNAL),
    ({"is_shared": True}, Audience.EXTERNAL),
    ({"is_pending_ext_shared": True}, Audience.EXTERNAL),
    ({"pending_connected_team_ids": ["T9"]}, Audience.EXTERNAL),
    (None, Audience.EXTERNAL),
])
def test_audience_from_channel_info(channel, audience):
    assert sharing.audience_from_info(channel) == audience


def test_the_digest_jobs_run_in_a_scheduler_pass(slack, slack_api, session_factory, settings):
    seed(session_factory)
    now = dt.datetime.now(dt.timezone.utc)
    report = passes.run_pass(jobs_context(settings, session_factory), now,
                             jobs=[digest_jobs.run_due_digests, digest_jobs.run_qbr_nudges])
    assert report.sent == {"run_due_digests": 0, "run_qbr_nudges": 1} and not report.failed
    slack.wait_for("chat.postMessage", lambda c: c.params["channel"] == OWNER)


def test_a_workspace_without_a_client_does_not_stop_the_job(session_factory, settings):
    seed(session_factory)

    def no_client(team):
        raise LookupError("not installed")

    now = dt.datetime.now(dt.timezone.utc)
    assert digest_jobs.run_qbr_nudges(jobs_context(settings, session_factory, no_client), now) == 0
    with session_factory() as session:  # released: a later pass tries again
        assert digests.claim_qbr_nudges(session, now=now)
