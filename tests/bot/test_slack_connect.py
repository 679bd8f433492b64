"""The Slack Connect boundary on every path (bot/runtime/audience.py decides).

A customer in a shared channel arrives with `team.id` = our workspace and `user.team_id`
= their own organisation; slash commands carry no user team, so the app asks users.info.
Every test here is one of the leaks a black-box attack found, or its neighbour: the
customer must never see SWOT, anything not shared with them or QBR notes, never change
or copy a plan, and never list the workspace's plans.
"""

from __future__ import annotations

import json

from sqlalchemy import func, select

from storage.models import AccountPlan
from tests.bot.test_digests import (
    MEMBER,
    OWNER,
    SECRET_ITEM,
    SHARED_ITEM,
    SWOT_TEXT,
    open_plan,
    posted_text,
    push_from,
    seed,
)

CUSTOMER = "U0CUSTOMER"
SHARED = "C0SHARED"


def text_of(obj) -> str:
    return json.dumps(obj, ensure_ascii=False)


def assert_customer_view(view: dict) -> None:
    text = text_of(view)
    assert SHARED_ITEM in text
    assert SECRET_ITEM not in text and SWOT_TEXT not in text
    for control in ("Edit", "Add strategy", "Copy plan", "Publish as canvas", "Post digest"):
        assert f'"text": "{control}"' not in text
    assert "overflow" not in text  # no menus


def plan_count(session_factory) -> int:
    with session_factory() as session:
        return session.scalar(select(func.count(AccountPlan.id)))


def digest_in(slack, slack_api, channel: str) -> dict:
    """A digest posted (with its "Open plan" button) while the channel was internal."""
    slack.command("/accountplan", f"digest Newton <#{channel}|newton>", user=OWNER, channel="C1")
    call = slack.wait_for("chat.postMessage", lambda c: c.params["channel"] == channel)
    assert "Open plan" in posted_text(call)
    assert "Posted the digest" in slack.wait_for("response_url").params["text"]  # recorded
    return call


def test_a_customer_opening_a_digest_posted_before_the_channel_was_shared_gets_the_customer_view(
        slack, slack_api, session_factory):
    seed(session_factory)
    digest = digest_in(slack, slack_api, SHARED)
    slack_api.set_channel(SHARED, is_ext_shared=True)
    slack.outsider(CUSTOMER)
    reply = slack.click(digest, "Open plan", user=CUSTOMER)
    assert reply.status == 200
    assert_customer_view(slack.wait_for("views.open").view)


def test_a_member_opening_that_digest_in_the_now_shared_channel_sees_what_customers_see(
        slack, slack_api, session_factory):
    seed(session_factory)
    digest = digest_in(slack, slack_api, SHARED)
    slack_api.set_channel(SHARED, is_ext_shared=True)
    slack.click(digest, "Open plan", user=MEMBER)
    view = slack.wait_for("views.open").view
    assert_customer_view(view)
    assert "another organisation" in text_of(view)


def test_a_customer_cannot_open_a_plan_never_put_in_front_of_them(slack, slack_api, session_factory):
    seed(session_factory)
    digest = digest_in(slack, slack_api, "C0INTERNAL")
    slack.outsider(CUSTOMER)
    # The same button, pressed from a conversation the plan was never posted to.
    digest_elsewhere = {**digest.message, "channel": "C0OTHER"}
    slack.click(digest_elsewhere, "Open plan", user=CUSTOMER)
    problem = slack.wait_for("views.open").view
    assert "kept by the account team" in text_of(problem)
    assert SHARED_ITEM not in text_of(problem)


def test_open_plan_in_the_dm_of_an_item_assigned_to_a_customer_shows_the_customer_view(
        slack, slack_api, session_factory):
    seed(session_factory)
    slack.outsider(CUSTOMER)
    form = push_from(slack, open_plan(slack), "Add action item")
    slack.submit_view(form, {"Action item": "Send the signed formulary form", "Assignee": CUSTOMER,
                             "Visibility": ["Shared with customer"]}, user=OWNER)
    dm = slack.wait_for("chat.postMessage", lambda c: c.params["channel"] == CUSTOMER)
    before = len(slack_api.calls_to("views.open"))
    slack.click(dm, "Open plan", user=CUSTOMER)
    slack.wait_for("views.open", lambda c: len(slack_api.calls_to("views.open")) > before)
    view = slack_api.calls_to("views.open")[before].view
    assert_customer_view(view)
    assert "Send the signed formulary form" in text_of(view)


def test_slash_show_and_swot_from_a_customer_are_refused(slack, slack_api, session_factory):
    seed(session_factory)
    slack.outsider(CUSTOMER)
    for word in ("show", "swot", "list", "edit", "copy", "new"):
        reply = slack.command("/accountplan", f"{word} Newton", user=CUSTOMER, channel=SHARED)
        assert reply.status == 200
        answer = slack.wait_for("response_url", lambda c, n=len(slack_api.calls_to("response_url")): True)
        assert "kept by the account team" in answer.params["text"], word
    assert slack_api.calls_to("views.open") == []
    assert SWOT_TEXT not in text_of([c.params for c in slack_api.calls])


def test_a_failed_person_check_counts_as_another_organisation(slack, slack_api, session_factory):
    seed(session_factory)
    slack_api.error("users.info", "fatal_error")
    slack.command("/accountplan", "show Newton", user="U0UNKNOWN", channel="C1")
    answer = slack.wait_for("response_url")
    assert "kept by the account team" in answer.params["text"]
    assert slack_api.calls_to("views.open") == []


def test_a_copy_form_submitted_by_a_customer_creates_nothing(slack, slack_api, session_factory):
    seed(session_factory)
    form = push_from(slack, open_plan(slack), "Copy plan")
    slack.outsider(CUSTOMER)
    reply = slack.submit_view(form, user=CUSTOMER)
    assert reply.json["response_action"] == "errors"
    assert "other organisations" in text_of(reply.json["errors"])
    assert plan_count(session_factory) == 1
    assert SWOT_TEXT not in reply.body


def test_a_customer_cannot_change_a_plan_even_from_a_team_view(slack, slack_api, session_factory):
    seed(session_factory)
    view = open_plan(slack)
    form = push_from(slack, view, "Add strategy")
    slack.outsider(CUSTOMER)
    reply = slack.submit_view(form, {"Strategy": "Win the CFO"}, user=CUSTOMER)
    assert reply.json["response_action"] == "errors"
    before = len(slack_api.calls_to("views.push"))
    slack.click(view, "Edit", user=CUSTOMER)
    slack.wait_for("views.push", lambda c: len(slack_api.calls_to("views.push")) > before)
    problem = slack_api.calls_to("views.push")[before].view
    assert "other organisations" in text_of(problem)


def test_a_member_in_a_shared_channel_gets_the_customer_view_and_paging_keeps_it(
        slack, slack_api, session_factory):
    seed(session_factory)
    slack_api.set_channel(SHARED, is_ext_shared=True)
    slack.command("/accountplan", "show Newton", user=OWNER, channel=SHARED)
    view = slack.wait_for("views.open").view
    assert_customer_view(view)
    assert json.loads(view["private_metadata"])["audience"] == "external"
    slack.command("/accountplan", "list", user=OWNER, channel=SHARED)
    answer = slack.wait_for("response_url").params["text"]
    assert "another organisation" in answer and "Newton" not in answer


def test_mine_for_a_customer_shows_only_their_shared_items(slack, slack_api, session_factory):
    seed(session_factory)
    slack.outsider(CUSTOMER)
    for title, shared in (("Sign the form", True), ("Our margin on their deal", False)):
        form = push_from(slack, open_plan(slack), "Add action item")
        fields = {"Action item": title, "Assignee": CUSTOMER}
        if shared:
            fields["Visibility"] = ["Shared with customer"]
        assert slack.submit_view(form, fields, user=OWNER).json is None  # saved, form closed
    slack.command("/accountplan", "mine", user=CUSTOMER, channel=SHARED)
    answer = text_of(slack.wait_for("response_url").params)
    assert "Sign the form" in answer and "Our margin" not in answer


def test_a_team_canvas_loses_a_channel_that_became_shared(slack, slack_api, session_factory):
    seed(session_factory)
    form = push_from(slack, open_plan(slack), "Publish as canvas")
    slack.submit_view(form, {"Channel": SHARED}, user=OWNER)
    team_canvas = slack.wait_for("canvases.create").response["canvas_id"]
    slack.wait_for("canvases.access.set")
    slack_api.set_channel(SHARED, is_ext_shared=True)
    slack.command("/accountplan", f"digest Newton <#{SHARED}|newton>", user=OWNER, channel="C1")
    withdrawn = slack.wait_for("canvases.access.delete")
    assert withdrawn.params["canvas_id"] == team_canvas
    assert withdrawn.params["channel_ids"] in ([SHARED], SHARED, json.dumps([SHARED]), SHARED)
