"""Progress as a picture (issue 13): every digest carries its plan's progress chart,
uploaded into the digest's thread with alt text, drawn for the channel's audience.

Signed requests in (the `digest` command, the scheduler), the fake Web API records the
upload (files.getUploadURLExternal, the bytes, files.completeUploadExternal) and checks
every message around it against Block Kit (a violation fails the test at teardown)."""

from __future__ import annotations

import datetime as dt
import time
import io

import pytest
from PIL import Image

from blocks.charts import progress_chart
from bot.app import BOT_SCOPES
from bot.publishing import digest_posts
from storage import plans as ops
from storage.digests.charts import progress_facts
from storage.models import Audience, DigestReason
from storage.plans import ActionItemInput, Actor, ObjectiveInput, PlanInput
from tests.bot.test_digests import QBR_FIELDS, add_subscription, jobs_context, posted_text
from tests.bot.test_digests import digest_posts as recorded_posts
from tests.bot.test_doctor import SINGLE_HTTP, database, doctor  # noqa: F401 - fixtures

TEAM = "T1"
OWNER, MEMBER = "U0OWNER", "U0MEMBER"
PLAN = "Newton Memorial Hospital 2025 Strategic Plan"
SHARED_OBJECTIVE = "Formulary approval"
HIDDEN_OBJECTIVE = "Price concession for the IDN"  # not shared, under a shared strategy
HIDDEN_STRATEGY_OBJECTIVE = "Displace the competitor's rep"  # shared, but its strategy is not
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def seed(session_factory, *, done: int = 1) -> int:
    """A plan with 3 shared items (`done` of them done) under a shared objective, and
    measurable objectives the customer must not see, each with an item of its own."""
    owner = Actor(TEAM, OWNER)
    today = dt.datetime.now(dt.timezone.utc).date()
    with session_factory() as session, session.begin():
        plan = ops.create_plan(session, owner, PlanInput(
            name=PLAN, account="Newton Memorial Hospital", start_date=today - dt.timedelta(days=100),
            end_date=today + dt.timedelta(days=265), team=[MEMBER]))
        shared = ops.add_strategy(session, owner, plan.id, "Improve awareness", shared_with_customer=True)
        kept = ops.add_strategy(session, owner, plan.id, "Win the committee", shared_with_customer=False)
        objectives = [
            ops.add_objective(session, owner, strategy.id, ObjectiveInput(
                title=title, measure_unit="IDNs", target_value=5, current_value=current,
                shared_with_customer=is_shared))
            for strategy, title, current, is_shared in (
                (shared, SHARED_OBJECTIVE, 3, True),
                (shared, HIDDEN_OBJECTIVE, 1, False),
                (kept, HIDDEN_STRATEGY_OBJECTIVE, 2, True),
            )
        ]
        items = [ops.add_action_item(session, owner, objectives[0].id, ActionItemInput(
            title=f"Shared step {n}", assignee_id=MEMBER, shared_with_customer=True)) for n in range(3)]
        for objective in objectives[1:]:
            ops.add_action_item(session, owner, objective.id, ActionItemInput(
                title="Team step", assignee_id=MEMBER, shared_with_customer=True))
        for item in items[:done]:
            ops.set_action_item_done(session, owner, item.id)
        return plan.id


def upload_into(slack_api, digest) -> dict:
    """The file the app shared into `digest`'s thread (waits for the upload to finish)."""
    slack_api.wait_for("files.completeUploadExternal",
                       lambda c: c.params.get("thread_ts") == digest.response["ts"])
    [shared] = [f for f in slack_api.files.values() if f["thread_ts"] == digest.response["ts"]]
    return shared


def test_a_team_channel_digest_carries_the_whole_plans_chart_in_its_thread(slack, slack_api, session_factory):
    seed(session_factory)
    slack.command("/accountplan", "digest Newton", user=OWNER, channel="C77")
    digest = slack.wait_for("chat.postMessage", lambda c: c.params["channel"] == "C77"
                            and "thread_ts" not in c.params)
    chart = upload_into(slack_api, digest)
    assert (chart["channel_id"], chart["name"]) == ("C77", "progress.png")
    assert chart["title"] == f"Progress of {PLAN}"
    assert chart["data"].startswith(PNG_MAGIC)
    with Image.open(io.BytesIO(chart["data"])) as image:
        assert image.format == "PNG" and image.size == (800, 450)
    alt = chart["alt_txt"]
    assert "1 of 5 action items done" in alt
    for title, numbers in ((SHARED_OBJECTIVE, "3 of 5 IDNs"), (HIDDEN_OBJECTIVE, "1 of 5 IDNs"),
                           (HIDDEN_STRATEGY_OBJECTIVE, "2 of 5 IDNs")):
        assert f"{title} {numbers}" in alt  # the team sees every measurable objective
    [upload] = slack_api.calls_to("file_upload")
    assert upload.params["data"] == chart["data"]
    assert "Posted the digest" in slack.wait_for("response_url").params["text"]
    assert not slack_api.violations  # every message around the chart is valid Block Kit


def test_a_shared_channel_gets_a_chart_of_the_shared_part_only(slack, slack_api, session_factory):
    plan_id = seed(session_factory, done=2)
    slack_api.set_channel("C9", is_ext_shared=True)
    slack.command("/accountplan", "digest Newton <#C9|newton-shared>", user=OWNER, channel="C1")
    digest = slack.wait_for("chat.postMessage", lambda c: c.params["channel"] == "C9"
                            and "thread_ts" not in c.params)
    assert HIDDEN_OBJECTIVE not in posted_text(digest)
    chart = upload_into(slack_api, digest)
    alt = chart["alt_txt"]
    assert "2 of 3 action items done" in alt and f"{SHARED_OBJECTIVE} 3 of 5 IDNs" in alt
    assert HIDDEN_OBJECTIVE not in alt and HIDDEN_STRATEGY_OBJECTIVE not in alt

    # What is drawn: the uploaded PNG is the one drawn from the customer's facts, and
    # none of its text names an objective the customer does not see.
    today = dt.datetime.now(dt.timezone.utc).date()
    with session_factory() as session:
        facts = progress_facts(session, TEAM, plan_id, audience=Audience.EXTERNAL)
    drawn = progress_chart(facts, today)
    assert drawn is not None and drawn.png == chart["data"]
    assert SHARED_OBJECTIVE in drawn.texts
    assert not [t for t in drawn.texts if HIDDEN_OBJECTIVE in t or HIDDEN_STRATEGY_OBJECTIVE in t]
    assert recorded_posts(session_factory)[0].audience == Audience.EXTERNAL


def test_a_failed_upload_never_fails_the_digest(slack, slack_api, session_factory, caplog):
    seed(session_factory)
    slack_api.error("files.completeUploadExternal", "missing_scope", times=None)  # not reinstalled
    slack.command("/accountplan", "digest Newton", user=OWNER, channel="C77")
    assert "Posted the digest" in slack.wait_for("response_url").params["text"]
    [post] = recorded_posts(session_factory)
    assert post.channel_id == "C77"
    slack.wait_for("files.completeUploadExternal", failed=True)  # the chart comes after the answer
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not any(
            "reinstall the app to grant files:write" in r.getMessage() for r in caplog.records):
        time.sleep(0.05)
    assert any("reinstall the app to grant files:write" in r.getMessage() for r in caplog.records)
    assert len(slack_api.calls_to("files.completeUploadExternal")) == 1  # for good: not tried again
    assert slack_api.files == {}


def test_a_passing_failure_of_the_upload_is_tried_once_more(slack, slack_api, session_factory):
    seed(session_factory)
    slack_api.server_error("file_upload", status=500, times=1)
    slack.command("/accountplan", "digest Newton", user=OWNER, channel="C77")
    digest = slack.wait_for("chat.postMessage", lambda c: c.params["channel"] == "C77")
    chart = upload_into(slack_api, digest)
    assert chart["data"].startswith(PNG_MAGIC)
    assert [c.status for c in slack_api.calls_to("file_upload")] == [500, 200]


def test_a_plan_with_nothing_to_draw_posts_its_digest_without_a_chart(slack, slack_api, session_factory):
    owner = Actor(TEAM, OWNER)
    today = dt.datetime.now(dt.timezone.utc).date()
    with session_factory() as session, session.begin():
        ops.create_plan(session, owner, PlanInput(
            name=PLAN, account="Newton Memorial Hospital", start_date=today,
            end_date=today + dt.timedelta(days=90)))
    slack.command("/accountplan", "digest Newton", user=OWNER, channel="C77")
    assert "Posted the digest" in slack.wait_for("response_url").params["text"]
    assert slack_api.calls_to("files.getUploadURLExternal") == []


@pytest.mark.parametrize("shared", [False, True])
def test_scheduled_digests_carry_the_chart_too(slack_api, settings, session_factory, shared):
    """The scheduler's path (post_digest from bot/scheduler/digest_jobs.py's clients)."""
    plan_id = seed(session_factory)
    if shared:
        slack_api.set_channel("C8", is_ext_shared=True)
    client = jobs_context(settings, session_factory).client_for_team(TEAM)
    posted = digest_posts.post_digest(client, session_factory, team_id=TEAM, plan_id=plan_id,
                                      channel_id="C8", reason=DigestReason.SCHEDULED, posted_by=None)
    assert posted.ok
    [chart] = slack_api.files.values()
    assert (chart["channel_id"], chart["thread_ts"]) == ("C8", posted.ts)
    assert ("3 action items" if shared else "5 action items") in chart["alt_txt"]
    assert (HIDDEN_OBJECTIVE in chart["alt_txt"]) is not shared


def test_the_digest_after_a_qbr_carries_the_customers_chart(slack, slack_api, session_factory):
    plan_id = seed(session_factory)
    add_subscription(session_factory, plan_id, "C11")
    slack_api.set_channel("C11", is_ext_shared=True)
    slack.command("/accountplan", "qbr Newton", user=MEMBER)
    slack.submit_view(slack.wait_for("views.open").view, QBR_FIELDS, user=MEMBER)
    digest = slack.wait_for("chat.postMessage", lambda c: c.params["channel"] == "C11"
                            and "thread_ts" not in c.params)
    assert "QBR digest" in posted_text(digest)
    alt = upload_into(slack_api, digest)["alt_txt"]
    assert f"{SHARED_OBJECTIVE} 3 of 5 IDNs" in alt
    assert HIDDEN_OBJECTIVE not in alt and HIDDEN_STRATEGY_OBJECTIVE not in alt


def test_doctor_names_files_write_when_the_app_was_not_reinstalled(doctor, slack_api):
    slack_api.scopes = [scope for scope in BOT_SCOPES if scope != "files:write"]
    line = doctor(**SINGLE_HTTP).line("bot token scopes")
    assert line.startswith("FAIL") and "files:write (the progress chart" in line and "reinstall" in line
