"""What Slack and the written plan show of the customer's agreement: the header's lines
and "Ask customer to confirm", the confirm form, the request (customer view only, any
size inside Block Kit's limits), the agreed message, comments; user text escaped."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from blocks import agreements as view
from blocks.confirm_request import agreed_blocks, confirm_messages
from blocks.written_plan import render_written_plan
from storage.agreements import AgreementState
from tests.blockkit import validate_message, validate_view
from tests.blocks.builders import build_plan, progress_of

AGREED = dt.datetime(2026, 12, 2, 15, tzinfo=dt.timezone.utc)
CHANGED = dt.datetime(2026, 12, 5, 9, tzinfo=dt.timezone.utc)


def state(*, changed=None, objective_id=None, title="", name="Jane <!channel> Doe", organisation="Acme *Health*"):
    return AgreementState(request_id=1, objective_id=objective_id, objective_title=title, name=name,
                          organisation=organisation, agreed_at=AGREED, changed_at=changed)


def text_of(obj) -> str:
    return json.dumps(obj, ensure_ascii=False)


def test_the_header_says_who_agreed_and_offers_the_request_to_the_team():
    blocks = view.agreement_blocks([state(), state(changed=CHANGED, objective_id=7, title="Formulary")],
                                   plan_id=42, can_ask=True)
    assert validate_message({"text": "x", "blocks": blocks}) == []
    text = text_of(blocks)
    assert ":handshake: Agreed by Jane &lt;!channel&gt; Doe (Acme *Health*) on 2 Dec 2026" in text
    assert (":warning: \u201cFormulary\u201d Agreed by Jane &lt;!channel&gt; Doe (Acme *Health*) on 2 Dec 2026; "
            "changed since (5 Dec 2026), so not agreed as it is now") in text
    [button] = blocks[-1]["elements"]
    assert (button["text"]["text"], button["action_id"], button["value"]) == (
        "Ask customer to confirm", view.ASK_TO_CONFIRM, "42")
    # Readers who may not change the plan get the lines only; no agreement, no lines.
    assert [b["type"] for b in view.agreement_blocks([state()], plan_id=42, can_ask=False)] == ["context"]
    assert view.agreement_blocks([], plan_id=42, can_ask=False) == []


def test_the_confirm_form_defaults_to_the_customer_channel_and_the_whole_plan():
    form = view.confirm_form("Plan <b>", [(5, "Formulary approval")], channel_id="C0SHARED", metadata='{"plan": 1}')
    assert validate_view(form) == []
    channel, scope = [b for b in form["blocks"] if b["type"] == "input"]
    assert (channel["label"]["text"], channel["element"]["initial_conversation"]) == ("Customer channel", "C0SHARED")
    assert scope["label"]["text"] == "What to confirm"
    assert [o["text"]["text"] for o in scope["element"]["options"]] == ["The whole plan", "Objective: Formulary approval"]
    assert scope["element"]["initial_option"]["value"] == view.WHOLE_PLAN
    assert "initial_conversation" not in text_of(view.confirm_form("P", [], channel_id=None, metadata=""))


def test_the_request_is_the_customer_view_with_agree_and_comment():
    plan = build_plan(strategies=1, objectives=2, items=2)
    [message] = confirm_messages(plan, progress_of(plan), request_id=9)
    assert validate_message(message) == []
    text = text_of(message)
    assert "Please confirm: " in text and "Objective 1.1" in text and "Objective 1.2" in text
    assert "SWOT" not in text and "overflow" not in text  # no SWOT, no record menus
    last = message["blocks"][-1]
    assert [(e["text"]["text"], e["value"]) for e in last["elements"]] == [("Agree", "9"), ("Comment", "9")]
    # One objective: only it.
    objective = plan.strategies[0].objectives[1]
    [one] = confirm_messages(plan, progress_of(plan), request_id=9, objective_id=objective.id)
    assert validate_message(one) == [] and "Objective 1.2" in text_of(one) and "Objective 1.1" not in text_of(one)


def test_a_big_plan_continues_in_the_thread_inside_the_limits():
    plan = build_plan(strategies=6, objectives=4, items=5)
    posts = confirm_messages(plan, progress_of(plan), request_id=9)
    assert len(posts) > 1
    for post in posts:
        assert validate_message(post) == []
    assert "Agree" in text_of(posts[0]) and "in the thread" in text_of(posts[0])
    assert all("Agree" not in text_of(reply) for reply in posts[1:])
    assert "Objective 6.4" in text_of(posts[-1])  # all of it, to the end


def test_a_request_too_long_for_its_thread_is_not_built_rather_than_cut_short():
    """The customer agrees to all the request shows: a request that would not fit in a
    message and MAX_REPLIES replies is refused, never posted with its end left out."""
    from blocks.confirm_request import TooLong

    plan = build_plan(strategies=12, objectives=6, items=6)
    with pytest.raises(TooLong, match="one objective at a time"):
        confirm_messages(plan, progress_of(plan), request_id=9)
    objective = plan.strategies[11].objectives[5]
    [one] = confirm_messages(plan, progress_of(plan), request_id=9, objective_id=objective.id)
    assert "Objective 12.6" in text_of(one)


def test_the_agreed_request_names_who_instead_of_agree():
    plan = build_plan()
    [message] = confirm_messages(plan, progress_of(plan), request_id=9)
    blocks = agreed_blocks(message["blocks"], state(name="Jane Doe", organisation="Acme Health"), request_id=9)
    assert validate_message({"text": "x", "blocks": blocks}) == []
    text = text_of(blocks)
    assert "Agreed by Jane Doe (Acme Health) on 2 Dec 2026" in text
    assert '"Agree"' not in text and '"Comment"' in text


def test_a_comment_for_the_team_says_who_and_escapes_what_they_wrote():
    first = view.comment_message(plan_name="Plan", name="Jane Doe", organisation="Acme", first=True,
                                 text="Move <!here> the pilot\nto May", request_link="https://x.slack.com/p1")
    assert validate_message(first) == []
    text = text_of(first)
    assert "*Jane Doe (Acme)* commented:\\n> Move &lt;!here&gt; the pilot\\n> to May" in text
    assert "never change the plan" in text and "<https://x.slack.com/p1|the request>" in text
    later = view.comment_message(plan_name="Plan", name="Jane Doe", organisation="", first=False, text="Thanks")
    assert "Comments on the request" not in text_of(later) and "*Jane Doe* commented" in text_of(later)
    assert validate_view(view.comment_form("Plan", metadata="")) == []


def test_the_written_plan_says_who_agreed():
    plan = build_plan()
    written = render_written_plan(plan, agreements=[state(name="Jane [Doe]", organisation="Acme")])
    assert "- **Customer agreement:** Agreed by Jane \\[Doe\\] (Acme) on 2 Dec 2026" in written
    assert "Customer agreement" not in render_written_plan(plan)


def test_the_agreement_forms_use_the_shared_limits_and_channel_picker():
    """One definition each: blocks/messages' MESSAGE_BLOCKS_MAX, blocks/inputs' channel_input."""
    import inspect

    from blocks import confirm_request, messages, plan_templates

    for module in (view, confirm_request, plan_templates):
        source = inspect.getsource(module)
        assert "MESSAGE_BLOCKS_MAX = " not in source and "ConversationSelectElement(" not in source
    assert confirm_request.MESSAGE_BLOCKS_MAX is messages.MESSAGE_BLOCKS_MAX
    form = view.confirm_form("P", [], channel_id="C0SHARED", metadata="")
    channel = next(b for b in form["blocks"] if b.get("block_id") == "channel")
    assert channel["element"]["filter"] == {"include": ["public", "private"], "exclude_bot_users": True}
    assert channel["hint"]["text"] == "The channel you share with the customer (Slack Connect)."
