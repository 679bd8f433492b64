""""Our commitments / your commitments" in digests posted through Slack: a team channel
and a channel shared with the customer, where only items shared under shared parents
appear and the customer's side reads "Your commitments"."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from storage import people
from storage import plans as ops
from storage.models import Objective
from storage.plans import ActionItemInput, Actor
from tests.blockkit import validate_message
from tests.bot.test_digests import MEMBER, OWNER, SECRET_ITEM, SHARED_ITEM, TEAM, posted_text, seed

CUSTOMER = "U0CUSTOMER"
THEIR_ITEM = "Sign the pilot agreement"
THEIR_SECRET = "Their internal budget ask"


def seed_both_sides(session_factory) -> int:
    plan_id = seed(session_factory)
    today = dt.datetime.now(dt.timezone.utc).date()
    with session_factory() as session, session.begin():
        people.record_organisation(session, TEAM, CUSTOMER, True)
        people.record_organisation(session, TEAM, MEMBER, False)
        objective = session.scalars(select(Objective).where(Objective.plan_id == plan_id)).one()
        for title, shared in ((THEIR_ITEM, True), (THEIR_SECRET, False)):
            ops.add_action_item(session, Actor(TEAM, OWNER), objective.id, ActionItemInput(
                title, CUSTOMER, today + dt.timedelta(days=6), shared_with_customer=shared))
    return plan_id


def commitments_of(text: str) -> str:
    start = text.index("*Our commitments")
    return text[start:start + 800]


def test_a_team_channel_sees_both_sides(slack, slack_api, session_factory):
    seed_both_sides(session_factory)
    slack.command("/accountplan", "digest Newton", user=OWNER, channel="C77")
    call = slack.wait_for("chat.postMessage", lambda c: c.params["channel"] == "C77")
    assert validate_message(call.params) == []
    part = commitments_of(posted_text(call))
    assert "*Our commitments* (2)" in part and "*Customer commitments* (2)" in part
    ours, theirs = part.split("Customer commitments")
    assert SHARED_ITEM in ours and SECRET_ITEM in ours
    assert THEIR_ITEM in theirs and THEIR_SECRET in theirs and f"<@{CUSTOMER}>" in theirs


def test_a_shared_channel_sees_only_what_is_shared(slack, slack_api, session_factory):
    seed_both_sides(session_factory)
    slack_api.set_channel("C9", is_ext_shared=True)
    slack.command("/accountplan", "digest Newton <#C9>", user=OWNER, channel="C1")
    call = slack.wait_for("chat.postMessage", lambda c: c.params["channel"] == "C9")
    assert validate_message(call.params) == []
    text = posted_text(call)
    part = commitments_of(text)
    assert "*Our commitments* (1)" in part and "*Your commitments* (1)" in part
    assert SHARED_ITEM in part and THEIR_ITEM in part
    assert SECRET_ITEM not in text and THEIR_SECRET not in text
