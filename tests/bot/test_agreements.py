"""The customer agrees to the plan, through Slack (issue 13): "Ask customer to confirm"
posts the customer's view (nothing internal) in the customer channel with "Agree" and
"Comment"; a person from the customer agrees (name and organisation recorded, shown in
the written plan and the next digest); a team member cannot; a change to a shared
objective resets the agreement, one to an unshared objective does not; comments reach
the team in one thread and never change the plan. Signed requests in, the fake Web API
checks every payload against Block Kit."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import func, select

from blocks import agreements as ids
from blocks.written_plan import render_written_plan
from storage import agreements
from storage import plans as ops
from storage.models import AccountPlan, Audience, ChangeLogEntry, Objective, PlanAgreement, Strategy
from storage.plans import Actor, ObjectiveInput
from tests.blockkit import validate_message
from tests.bot.test_digests import MEMBER, OWNER, SECRET_ITEM, SHARED_ITEM, SWOT_TEXT, TEAM, posted_text, seed

CUSTOMER = "U0CUSTOMER"
SHARED = "C0SHARED"
KEPT_OBJECTIVE = "Discount strategy"
STAKEHOLDER = "Dr. Hidden Stakeholder"


def setup(slack, slack_api, session_factory) -> int:
    """test_digests' plan (shared strategy and objective, SHARED_ITEM shared, SECRET_ITEM
    and the SWOT not) plus a kept objective and a stakeholder; its customer channel
    shared with Acme Health, whose Jane Doe is in it."""
    plan_id = seed(session_factory)
    with session_factory() as session, session.begin():
        strategy = session.scalars(select(Strategy).where(Strategy.plan_id == plan_id)).one()
        ops.add_objective(session, Actor(TEAM, OWNER), strategy.id, ObjectiveInput(KEPT_OBJECTIVE))
        from storage.models import Stakeholder
        session.add(Stakeholder(team_id=TEAM, plan_id=plan_id, name=STAKEHOLDER))
        session.get(AccountPlan, plan_id).customer_channel_id = SHARED
    slack_api.set_channel(SHARED, is_ext_shared=True)
    slack.outsider(CUSTOMER, "T0ACME")
    slack_api.set_user(CUSTOMER, team_id="T0ACME", real_name="Jane Doe", profile={"real_name": "Jane Doe"})
    slack_api.on("team.info", lambda call: {"ok": True, "team": {"id": call.params.get("team"),
                                                                  "name": "Acme Health"}})
    return plan_id


def plan_view(slack, slack_api, user: str = OWNER) -> dict:
    """`/accountplan show Newton` as `user`: the plan view Slack opened."""
    before = len(slack_api.calls_to("views.open"))
    slack.command("/accountplan", "show Newton", user=user)
    return slack.wait_for("views.open", lambda c: c in slack_api.calls_to("views.open")[before:]).view


def ask(slack, slack_api, plan_id: int, fields: dict | None = None):
    """Press "Ask customer to confirm" in the plan view, as the owner, and submit its form."""
    view = plan_view(slack, slack_api)
    before = len(slack_api.calls_to("views.push"))
    slack.click(view, "Ask customer to confirm", user=OWNER)
    form = slack.wait_for("views.push", lambda c: c in slack_api.calls_to("views.push")[before:]).view
    return form, slack.submit_view(form, fields or {}, user=OWNER)


def the_request(slack, slack_api):
    return slack.wait_for("chat.postMessage", lambda c: c.params["channel"] == SHARED)


def responses(slack_api) -> list:
    return slack_api.calls_to("response_url")


def thread_of(session_factory, *, timeout: float = 5.0) -> tuple[str, str]:
    """The team conversation's first comment, once the app has recorded it (after its post)."""
    deadline = time.monotonic() + timeout
    while True:
        with session_factory() as session:
            request = session.scalars(select(PlanAgreement)).one()
            if request.thread_ts or time.monotonic() > deadline:
                return request.thread_channel_id, request.thread_ts
        time.sleep(0.02)


def states(session_factory, plan_id, audience=Audience.TEAM):
    with session_factory() as session:
        return agreements.agreement_states(session, TEAM, plan_id, audience=audience)


def test_the_request_shows_only_what_is_shared_and_a_customer_agrees(slack, slack_api, session_factory):
    plan_id = setup(slack, slack_api, session_factory)
    form, reply = ask(slack, slack_api, plan_id)
    channel = next(b for b in form["blocks"] if b.get("block_id") == "channel")
    assert channel["element"]["type"] == "conversations_select" and not channel.get("optional")
    assert channel["element"]["initial_conversation"] == SHARED  # the plan's customer channel
    assert reply.json["response_action"] == "update" and reply.elapsed < 3
    request = the_request(slack, slack_api)
    assert validate_message(request.params) == []
    text = posted_text(request)
    assert SHARED_ITEM in text and "Formulary approval" in text
    for internal in (SECRET_ITEM, SWOT_TEXT, KEPT_OBJECTIVE, STAKEHOLDER, "Health", "SWOT"):
        assert internal not in text, internal
    buttons = [e["text"]["text"] for b in request.params["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert buttons == ["Agree", "Comment"]
    done = slack.wait_for("views.update", lambda c: "Asked the customer to confirm" in json.dumps(c.params))
    assert f"<#{SHARED}>" in json.dumps(done.params)

    reply = slack.click(request, "Agree", user=CUSTOMER)
    assert reply.status == 200 and reply.elapsed < 3
    updated = slack.wait_for("response_url", lambda c: c.params.get("replace_original"))
    assert validate_message(updated.params) == []
    agreed_text = json.dumps(updated.params["blocks"], ensure_ascii=False)
    assert "Agreed by Jane Doe (Acme Health) on" in agreed_text and '"Agree"' not in agreed_text
    with session_factory() as session:
        row = session.scalars(select(PlanAgreement)).one()
        assert (row.agreed_by, row.agreed_name, row.agreed_organisation) == (CUSTOMER, "Jane Doe", "Acme Health")
        assert row.agreed_at is not None and row.message_ts == request.response["ts"]
    [state] = states(session_factory, plan_id)
    assert state.current

    # The plan view, the written plan and the next digest say so.
    header = json.dumps(plan_view(slack, slack_api)["blocks"][:6], ensure_ascii=False)
    assert "Agreed by Jane Doe (Acme Health) on" in header
    with session_factory() as session:
        plan = ops.load_plan_tree(session, TEAM, plan_id)
        written = render_written_plan(plan, agreements=states(session_factory, plan_id))
    assert "- **Customer agreement:** Agreed by Jane Doe (Acme Health) on" in written
    slack.command("/accountplan", "digest Newton", user=OWNER, channel="C77")
    digest = slack.wait_for("chat.postMessage", lambda c: c.params["channel"] == "C77")
    assert ":handshake: Agreed by Jane Doe (Acme Health) on" in posted_text(digest)


def test_a_team_member_cannot_agree(slack, slack_api, session_factory):
    plan_id = setup(slack, slack_api, session_factory)
    ask(slack, slack_api, plan_id)
    request = the_request(slack, slack_api)
    slack.click(request, "Agree", user=MEMBER)
    said = slack.wait_for("response_url")
    assert "Only someone from the customer can agree" in said.params["text"]
    assert said.params["response_type"] == "ephemeral" and not said.params.get("replace_original")
    assert states(session_factory, plan_id) == []


def test_a_change_to_a_shared_objective_resets_it_and_an_unshared_one_does_not(
        slack, slack_api, session_factory):
    plan_id = setup(slack, slack_api, session_factory)
    ask(slack, slack_api, plan_id)
    slack.click(the_request(slack, slack_api), "Agree", user=CUSTOMER)
    slack.wait_for("response_url", lambda c: c.params.get("replace_original"))
    owner = Actor(TEAM, OWNER)
    with session_factory() as session, session.begin():
        kept = session.scalars(select(Objective).where(Objective.title == KEPT_OBJECTIVE)).one()
        ops.update_objective(session, owner, kept.id, ObjectiveInput("Discount strategy, revised"))
    assert [s.current for s in states(session_factory, plan_id)] == [True]
    with session_factory() as session, session.begin():
        shared = session.scalars(select(Objective).where(Objective.title == "Formulary approval")).one()
        ops.update_objective(session, owner, shared.id, ObjectiveInput(
            "Formulary approval in 3 IDNs", measure_unit="IDNs", target_value=3))
    [state] = states(session_factory, plan_id)
    assert not state.current
    slack_api.set_channel("C9", is_ext_shared=True)
    slack.command("/accountplan", "digest Newton <#C9>", user=OWNER, channel="C1")
    digest = posted_text(slack.wait_for("chat.postMessage", lambda c: c.params["channel"] == "C9"))
    assert "Agreed by Jane Doe (Acme Health) on" in digest and "so not agreed as it is now" in digest
    # A request posted before a change is not agreed to: it is not the plan as it is now.
    before = len(slack_api.calls_to("chat.postMessage"))
    ask(slack, slack_api, plan_id)
    again = slack.wait_for("chat.postMessage", lambda c: c in slack_api.calls_to("chat.postMessage")[before:]
                           and c.params["channel"] == SHARED)
    with session_factory() as session, session.begin():
        shared = session.scalars(select(Objective).where(Objective.plan_id == plan_id,
                                                         Objective.shared_with_customer.is_(True))).one()
        ops.update_objective(session, owner, shared.id, ObjectiveInput("Formulary approval in 4 IDNs"))
    said_before = len(responses(slack_api))
    slack.click(again, "Agree", user=CUSTOMER)
    said = slack.wait_for("response_url", lambda c: c in responses(slack_api)[said_before:])
    assert "changed since this was posted" in said.params["text"]
    assert [s.current for s in states(session_factory, plan_id)] == [False]


def test_comments_reach_the_team_in_one_thread_and_never_change_the_plan(slack, slack_api, session_factory):
    plan_id = setup(slack, slack_api, session_factory)
    ask(slack, slack_api, plan_id)
    request = the_request(slack, slack_api)
    with session_factory() as session:
        version = session.get(AccountPlan, plan_id).version
        parts_changed = session.scalar(select(func.count()).select_from(ChangeLogEntry).where(
            ChangeLogEntry.entity.in_(agreements.ENTITIES)))

    def comment(text: str):
        before = len(slack_api.calls_to("views.open"))
        slack.click(request, "Comment", user=CUSTOMER)
        form = slack.wait_for("views.open", lambda c: c in slack_api.calls_to("views.open")[before:]).view
        posts = len(slack_api.calls_to("chat.postMessage"))
        reply = slack.submit_view(form, {"Comment": text}, user=CUSTOMER)
        assert reply.json["response_action"] == "update"
        return slack.wait_for("chat.postMessage", lambda c: c in slack_api.calls_to("chat.postMessage")[posts:])

    first = comment("Please move the <!channel> pilot to May")
    opened = slack_api.calls_to("conversations.open")[-1]
    assert set(opened.params["users"].split(",")) == {OWNER, MEMBER}
    assert first.params["channel"] == opened.response["channel"]["id"] and "thread_ts" not in first.params
    assert validate_message(first.params) == []
    text = posted_text(first)
    assert "Jane Doe (Acme Health)" in text and "Please move the &lt;!channel&gt; pilot to May" in text
    assert "<!channel>" not in text
    assert thread_of(session_factory) == (first.response["channel"], first.response["ts"])
    second = comment("And add training")
    assert second.params["channel"] == first.response["channel"]
    assert second.params["thread_ts"] == first.response["ts"]
    assert "And add training" in posted_text(second)
    assert len(slack_api.calls_to("conversations.open")) == 1
    with session_factory() as session:
        assert session.get(AccountPlan, plan_id).version == version
        assert session.scalar(select(func.count()).select_from(ChangeLogEntry).where(
            ChangeLogEntry.entity.in_(agreements.ENTITIES))) == parts_changed


def test_a_channel_not_shared_with_the_customer_is_refused(slack, slack_api, session_factory):
    plan_id = setup(slack, slack_api, session_factory)
    ask(slack, slack_api, plan_id, {"Customer channel": "C0TEAMONLY"})
    said = slack.wait_for("views.update", lambda c: "Not posted" in json.dumps(c.params))
    assert "isn't shared with another organisation" in json.dumps(said.params)
    assert not [c for c in slack_api.calls_to("chat.postMessage") if c.params["channel"] == "C0TEAMONLY"]
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(PlanAgreement)) == 0


def test_nothing_shared_and_outsiders_are_refused(slack, slack_api, session_factory):
    plan_id = setup(slack, slack_api, session_factory)
    with session_factory() as session, session.begin():
        for strategy in session.scalars(select(Strategy).where(Strategy.plan_id == plan_id)):
            strategy.shared_with_customer = False
    _, reply = ask(slack, slack_api, plan_id)
    assert reply.json["response_action"] == "errors"
    assert "Nothing of this plan is shared" in json.dumps(reply.json["errors"])
    # A customer pressing a copied "Ask customer to confirm" gets a refusal, no form.
    opened = len(slack_api.calls_to("views.open"))
    slack.block_action(ids.ASK_TO_CONFIRM, str(plan_id), user=CUSTOMER)
    refusal = slack.wait_for("views.open", lambda c: c in slack_api.calls_to("views.open")[opened:])
    assert "Not done" in json.dumps(refusal.params)
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(PlanAgreement)) == 0


def test_when_slack_will_not_say_the_organisation_or_open_a_group_dm(slack, slack_api, session_factory):
    """Without team:read the organisation is the customer's team id; without mpim:write
    the comment goes to the owner alone."""
    plan_id = setup(slack, slack_api, session_factory)
    slack_api.on("team.info", lambda call: {"ok": False, "error": "missing_scope"})
    slack_api.on("conversations.open", lambda call: (
        {"ok": False, "error": "missing_scope"} if "," in call.params["users"]
        else {"ok": True, "channel": {"id": "D" + call.params["users"][1:]}}))
    ask(slack, slack_api, plan_id)
    request = the_request(slack, slack_api)
    slack.click(request, "Agree", user=CUSTOMER)
    updated = slack.wait_for("response_url", lambda c: c.params.get("replace_original"))
    assert "Agreed by Jane Doe (T0ACME) on" in json.dumps(updated.params["blocks"])
    slack.click(request, "Comment", user=CUSTOMER)
    form = slack.wait_for("views.open", lambda c: c.view and c.view.get("callback_id") == ids.COMMENT_FORM).view
    slack.submit_view(form, {"Comment": "Looks right"}, user=CUSTOMER)
    sent = slack.wait_for("chat.postMessage", lambda c: "Looks right" in posted_text(c))
    assert sent.params["channel"] == "D" + OWNER[1:]
    assert thread_of(session_factory) == (sent.response["channel"], sent.response["ts"])


def test_agree_and_comment_work_only_on_the_request_itself(slack, slack_api, session_factory):
    """A copied button pressed elsewhere (another conversation) does nothing but say so."""
    plan_id = setup(slack, slack_api, session_factory)
    ask(slack, slack_api, plan_id)
    the_request(slack, slack_api)
    with session_factory() as session:
        request_id = session.scalars(select(PlanAgreement.id)).one()
    opened = len(slack_api.calls_to("views.open"))
    slack.block_action(ids.COMMENT, str(request_id), user=CUSTOMER)  # in the driver's own channel
    refusal = slack.wait_for("views.open", lambda c: c in slack_api.calls_to("views.open")[opened:])
    assert "no longer there" in json.dumps(refusal.params)
    slack.block_action(ids.AGREE, str(request_id), user=CUSTOMER)
    said = slack.wait_for("response_url")
    assert "no longer there" in said.params["text"]
    assert states(session_factory, plan_id) == []


def _comment_view(slack, slack_api, request):
    before = len(slack_api.calls_to("views.open"))
    slack.click(request, "Comment", user=CUSTOMER)
    return slack.wait_for("views.open", lambda c: c in slack_api.calls_to("views.open")[before:]).view


def _said(slack, slack_api, view_id: str, before: int) -> dict:
    """The modal as the after-ack work left it (its last views.update)."""
    slack.wait_for("views.update", lambda c: c in slack_api.calls_to("views.update")[before:]
                   and c.params["view_id"] == view_id and "Sending" not in json.dumps(c.params))
    return slack_api.view(view_id)


def _initial(view: dict) -> str | None:
    for block in view["blocks"]:
        if block.get("type") == "input":
            return block["element"].get("initial_value")
    return None


@pytest.mark.parametrize("failing", ["chat.postMessage", "conversations.open"])
def test_a_comment_slack_did_not_deliver_is_never_said_sent_and_comes_back_to_send_again(
        slack, slack_api, session_factory, failing):
    plan_id = setup(slack, slack_api, session_factory)
    ask(slack, slack_api, plan_id)
    request = the_request(slack, slack_api)
    form = _comment_view(slack, slack_api, request)
    slack_api.error(failing, "internal_error", times=None)
    updates = len(slack_api.calls_to("views.update"))
    reply = slack.submit_view(form, {"Comment": "Please move the pilot to May"}, user=CUSTOMER)
    assert "Sent" not in json.dumps(reply.json["view"])  # not yet known
    again = _said(slack, slack_api, form["id"], updates)
    text = json.dumps(again)
    assert "Not sent" in text and "Sent to the account team" not in text
    assert _initial(again) == "Please move the pilot to May"  # kept, as typed
    # Slack is back: "Send" again delivers it, and only then says so.
    slack_api.clear_faults()
    updates = len(slack_api.calls_to("views.update"))
    slack.submit_view(again, user=CUSTOMER)
    done = json.dumps(_said(slack, slack_api, form["id"], updates))
    assert "Sent to the account team" in done
    delivered = [c for c in slack_api.calls_to("chat.postMessage") if c.params["channel"] != SHARED and c.ok]
    assert len(delivered) == 1 and "Please move the pilot to May" in posted_text(delivered[0])


def test_a_request_whose_thread_is_cut_short_is_taken_back_and_the_asker_told(slack, slack_api, session_factory):
    """The customer could agree to parts a failed thread reply never showed: the request
    is withdrawn (its messages deleted, the request forgotten) and the owner told so."""
    plan_id = setup(slack, slack_api, session_factory)
    with session_factory() as session, session.begin():
        strategy = session.scalars(select(Strategy).where(Strategy.plan_id == plan_id)).one()
        for n in range(80):
            ops.add_objective(session, Actor(TEAM, OWNER), strategy.id,
                              ObjectiveInput(f"Shared goal {n}", shared_with_customer=True))
    slack_api.fail("chat.postMessage", error="internal_error", after=1)  # the first reply
    form, _ = ask(slack, slack_api, plan_id)
    said = slack.wait_for("views.update", lambda c: c.params["view_id"] == form["id"]
                          and "Posting" not in json.dumps(c.params))
    assert "Not posted" in json.dumps(said.params)
    posted = [c for c in slack_api.calls_to("chat.postMessage") if c.params["channel"] == SHARED]
    assert len(posted) == 2 and posted[0].ok and not posted[1].ok  # the request, its failed reply
    deleted = slack_api.calls_to("chat.delete")
    assert [c.params["ts"] for c in deleted] == [posted[0].response["ts"]]
    with session_factory() as session:
        assert session.scalars(select(PlanAgreement)).all() == []
