"""The digest as Slack messages: content, escaping, and Block Kit limits at any size."""

from __future__ import annotations

import datetime as dt
import json
import re
from types import SimpleNamespace

import pytest

from blocks import digest
from blocks.digest import digest_messages, split_text
from blocks.ids import Action
from storage.models import Audience, ChangeLogEntry, QbrReview
from tests.blockkit import validate_message
from tests.blocks.builders import build_plan, progress_of

TODAY = dt.date(2025, 6, 2)
SINCE = dt.datetime(2025, 5, 26, 9, tzinfo=dt.timezone.utc)


def make_content(plan=None, *, audience=Audience.TEAM, hidden=False, review=None, changes=None):
    plan = plan or build_plan(strategies=2, objectives=2, items=3)
    items = [i for s in plan.strategies for o in s.objectives for i in o.action_items]
    done = [i for i in items if i.is_done]
    for item in done:
        item.done_at = SINCE + dt.timedelta(days=1)
    open_items = [i for i in items if not i.is_done]
    soon, late = open_items[: len(open_items) // 2], open_items[len(open_items) // 2:]
    for item in soon:
        item.due_date = TODAY + dt.timedelta(days=5)
    for item in late:
        item.due_date = TODAY - dt.timedelta(days=3)
    changes = changes if changes is not None else [
        ChangeLogEntry(at=SINCE + dt.timedelta(hours=5), actor_id="UOWNER", entity="plan",
                       action="updated", summary=f"edited plan “{plan.name}”")]
    return SimpleNamespace(
        plan=plan, audience=audience, today=TODAY, since=SINCE, strategies=plan.strategies,
        objectives={s.id: s.objectives for s in plan.strategies}, progress=progress_of(plan),
        done=done, due_soon=soon, overdue=late, changes=changes,
        counts={"done": len(done), "due_soon": len(soon), "overdue": len(late), "changes": len(changes)},
        hidden=hidden, next_qbr=dt.date(2025, 7, 1), qbr_due_by=None, review=review,
    )


def texts(message) -> str:
    return json.dumps(message["blocks"], ensure_ascii=False)


def buttons(message) -> list[tuple[str, str]]:
    return [(e["text"]["text"], e["action_id"]) for b in message["blocks"] if b["type"] == "actions"
            for e in b["elements"]]


def all_text_objects(messages):
    for message in messages:
        for block in message["blocks"]:
            if block["type"] == "section":
                yield block["text"]
            elif block["type"] == "context":
                yield from block["elements"]


def test_a_small_plan_is_one_message_with_everything():
    content = make_content()
    messages = digest_messages(content)
    assert len(messages) == 1
    message = messages[0]
    assert validate_message(message) == []
    text = texts(message)
    for part in ("Digest: Newton Memorial Hospital 2025 Strategic Plan", "Newton Memorial Hospital",
                 "Strategy 1", "Objective 1.1", "3 of 5 IDNs (60%)", "Done since 26 May 2025",
                 "Due in the next 14 days", "Overdue", "3 days late", "What changed since 26 May 2025",
                 "*Next QBR:* 1 Jul 2025", "<@UMEMBER>", "<@UOWNER>"):
        assert part in text, part
    for item in content.done + content.due_soon + content.overdue:
        assert item.title in text
    assert buttons(message) == [("Open plan", Action.OPEN_PLAN)]
    assert "team-only" not in text and "kept within the account team" not in text


def test_a_customer_channel_gets_no_open_plan_button_and_a_note_that_some_parts_are_internal():
    message = digest_messages(make_content(audience=Audience.EXTERNAL, hidden=True))[0]
    assert buttons(message) == []
    assert digest.INTERNAL_NOTE in texts(message)
    assert "Some parts of this plan are kept within the account team." in texts(message)
    assert "/accountplan show" in texts(message)


def test_a_qbr_digest_carries_the_notes_and_decisions():
    review = QbrReview(held_on=dt.date(2025, 6, 1), attendees="Dr. Smith (CMO)\nJane Doe",
                       notes="Formulary review moved to Q3", decisions="Add an IDN", next_qbr_date=None)
    message = digest_messages(make_content(review=review))[0]
    text = texts(message)
    assert "QBR digest:" in text and "*QBR of 1 Jun 2025*" in text
    for part in ("Dr. Smith (CMO)", "Jane Doe", "Formulary review moved to Q3", "Add an IDN"):
        assert part in text
    assert message["text"].startswith("QBR digest of")


def test_every_user_string_is_escaped_and_verbatim():
    plan = build_plan(name="<!channel> & co", title="<!here> ping <@U999|boss>")
    plan.account.name = "<https://evil.example|click>"
    plan.strategies[0].title = "<!everyone>"
    plan.strategies[0].objectives[0].measure_unit = "<#C1|general>"
    changes = [ChangeLogEntry(at=SINCE, actor_id="UOWNER", entity="plan", action="x",
                              summary="renamed to <!subteam^S1>")]
    review = QbrReview(held_on=dt.date(2025, 6, 1), attendees="<!channel>", notes="<@U1> & <!here>",
                       decisions="<https://x.example>", next_qbr_date=None)
    messages = digest_messages(make_content(plan, changes=changes, review=review))
    objects = list(all_text_objects(messages))
    joined = json.dumps(objects)
    assert not re.search(r"<(!|#C|https|@U999|@U1>)", joined), joined
    assert "&lt;!everyone&gt;" in joined and "&lt;!here&gt; ping &lt;@U999|boss&gt;" in joined
    # The name is in the header: plain_text, which Slack never parses for mentions.
    assert messages[0]["blocks"][0]["text"] == {"type": "plain_text", "text": "QBR digest: <!channel> & co",
                                                "emoji": True}
    assert all(o["type"] == "mrkdwn" and o["verbatim"] is True for o in objects)
    assert "<!" not in messages[0]["text"] and "&lt;!channel&gt; &amp; co" in messages[0]["text"]
    # Our own mentions of assignees still work.
    assert "<@UMEMBER>" in joined


def test_a_huge_plan_summarises_and_continues_in_the_thread_within_limits():
    plan = build_plan(strategies=30, objectives=20, items=3, title="Share the very long results " * 8)
    content = make_content(plan)
    assert len(content.due_soon) + len(content.overdue) + len(content.done) == 1800
    messages = digest_messages(content)
    assert 1 < len(messages) <= 1 + digest.MAX_REPLIES
    for message in messages:
        assert validate_message(message) == [], validate_message(message)[:3]
        assert len(message["blocks"]) <= 50
    top = texts(messages[0])
    assert "Details in the thread" in top and "Open plan" in top
    assert "…and 10 more strategies in the thread." in top
    assert "Objective 1.1" not in top  # objectives only in the thread
    thread = "".join(texts(m) for m in messages[1:])
    assert "Objective 30.20" in thread or "the rest is in the plan" in thread


def test_many_items_in_one_list_are_cut_into_sections_not_truncated():
    plan = build_plan(strategies=1, objectives=1, items=200, done_every=0, title="Item & more")
    content = make_content(plan)
    messages = digest_messages(content)
    text = "".join(texts(m) for m in messages)
    for n in range(1, 201):  # every item listed somewhere
        assert f"Item &amp; more {n} ·" in text, n
    for message in messages:
        assert validate_message(message) == []


@pytest.mark.parametrize("line", [
    "&amp;" * 1000,
    "x" * 2998 + "&amp;" + "y" * 10,
    "a " * 2000 + "<@UMEMBER>" + " b" * 2000,
    "word " * 3000,
])
def test_split_text_keeps_entities_and_mentions_whole(line):
    pieces = split_text(line + "\nnext line", limit=3000)
    assert all(0 < len(p) <= 3000 for p in pieces)
    for piece in pieces:
        assert not re.search(r"&[a-z]{0,3}$", piece), piece[-10:]  # no cut entity
        assert piece.count("<") == piece.count(">")
    assert "".join(pieces).replace(" ", "").replace("\n", "") == (line + "next line").replace(" ", "")


def test_qbr_dms_link_back_to_the_plan():
    plan = build_plan(name="<!channel> plan")
    review = QbrReview(held_on=dt.date(2025, 6, 1), decisions="Add <!here> IDN")
    message = digest.qbr_review_dm(plan, review)
    assert validate_message(message) == []
    assert buttons(message) == [("Open plan", Action.OPEN_PLAN)]
    assert "&lt;!here&gt;" in texts(message) and "<!" not in texts(message) + message["text"]
    nudge = digest.qbr_nudge_dm(plan.id, plan.name, due=dt.date(2025, 4, 1), last_review=None)
    assert validate_message(nudge) == []
    assert [b for b, _ in buttons(nudge)] == ["Log QBR", "Open plan"]
    assert "due by 1 Apr 2025" in texts(nudge) and "since the plan started" in texts(nudge)


def test_the_plan_view_offers_sharing_to_owner_and_team_only():
    from blocks.plan_view import plan_view
    from tests.blockkit import validate_view

    plan = build_plan()
    editor = plan_view(plan, progress_of(plan), can_edit=True, today=TODAY)
    assert validate_view(editor) == []
    shared = [e["text"]["text"] for b in editor["blocks"] if b.get("block_id") == "plan_sharing"
              for e in b["elements"]]
    assert shared == ["Post digest", "Log QBR", "Publish as canvas", "Digest settings"]
    reader = plan_view(plan, progress_of(plan), can_edit=False, today=TODAY)
    assert not any(b.get("block_id") == "plan_sharing" for b in reader["blocks"])


def test_sharing_modals_stay_inside_block_kit_limits():
    from blocks import modals
    from tests.blockkit import validate_view

    subs = [SimpleNamespace(id=n, channel_id=f"C{n}", frequency="biweekly", weekday=n % 7,
                            time_of_day=dt.time(9), timezone="Europe/Berlin", after_qbr=bool(n % 2),
                            last_error="Slack refused it (x)" if n == 3 else "",
                            next_run_at=dt.datetime(2025, 6, 9, 7, tzinfo=dt.timezone.utc))
            for n in range(modals.SUBSCRIPTIONS_SHOWN)]
    view = modals.subscription_modal("cb", plan_name="<!channel>" * 40, subscriptions=subs,
                                     remove_action="rm", timezone="Europe/Berlin", metadata="{}")
    assert validate_view(view) == []
    text = json.dumps(view["blocks"])
    assert "every two weeks on Monday at 09:00 Europe/Berlin" in text and "Stopped:" in text
    assert "<#C3>" in text and "<!channel>" not in text
    assert validate_view(modals.qbr_modal("cb", plan_name="x" * 500, today=TODAY)) == []
    assert validate_view(modals.channel_modal("cb", title="Publish as canvas", plan_name="p",
                                              intro="i", submit="Publish")) == []
