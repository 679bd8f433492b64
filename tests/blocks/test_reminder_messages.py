"""Reminder DMs, notices and the weekly summary: valid Block Kit, escaped, the right buttons."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from blocks import reminders as messages
from blocks.home import home_view
from blocks.modals import plan_modal
from storage.models import PlanStatus
from storage.reminders import ItemFacts
from tests.blockkit import validate_message, validate_view
from tests.blocks.builders import build_plan

TODAY = dt.date(2025, 3, 4)  # a Tuesday
NASTY = "<!channel> & <@U0BOSS> *bold* <https://evil.example|click>"


def facts(title="Share the latest study", due=dt.date(2025, 3, 5), **overrides) -> ItemFacts:
    fields = dict(item_id=7, team_id="T1", title=title, due_date=due, done=False, assignee_id="U2",
                  plan_id=3, plan_name="Newton 2025", plan_status=PlanStatus.ACTIVE, lead_days=1,
                  objective="Explain outcomes", strategy="Awareness")
    fields.update(overrides)
    return ItemFacts(**fields)


def buttons(payload) -> list[str]:
    found = []
    for block in payload["blocks"]:
        for element in block.get("elements", []) + [block.get("accessory") or {}]:
            if element.get("type") == "button":
                found.append(element["text"]["text"])
    return found


def mrkdwn_texts(payload) -> list[dict]:
    found = []

    def walk(node):
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn":
                found.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(payload["blocks"])
    return found


def every_message(item: ItemFacts) -> list[dict]:
    return [
        messages.assignment_message(item, assigned_by="U1", today=TODAY),
        messages.reminder_message(item, messages.SOON, today=TODAY, assigned_by="U1"),
        messages.reminder_message(item, messages.OVERDUE, today=TODAY + dt.timedelta(days=3), assigned_by=None),
        messages.reminder_message(item, messages.SNOOZED, today=TODAY, assigned_by="U1"),
        messages.snoozed_message(item, today=TODAY, until=dt.datetime(2025, 3, 5, 9), assigned_by="U1"),
        messages.closed_message(title=item.title, plan_id=3, plan_name=item.plan_name, state="done", actor="U2"),
        messages.closed_message(title=item.title, plan_id=3, plan_name=item.plan_name, state="deleted", actor="U1"),
        messages.closed_message(title=item.title, plan_id=3, plan_name=item.plan_name, state="reassigned",
                                actor="U1", to="U3"),
        messages.unassigned_notice(title=item.title, plan_id=3, plan_name=item.plan_name, actor="U1", to=None),
        messages.done_notice(item, actor="U2"),
        messages.summary_message([item, *(facts(item_id=n) for n in (8, 9))], today=TODAY, more=2),
    ]


@pytest.mark.parametrize("title", ["Share the latest study", NASTY, "x" * 255, "ü" * 255])
def test_every_message_is_valid_block_kit_and_verbatim(title):
    item = facts(title=title, plan_name=title[:150], objective=title, strategy=title)
    for payload in every_message(item):
        assert validate_message(payload) == []
        assert all(text.get("verbatim") is True for text in mrkdwn_texts(payload))


def test_user_text_cannot_mention_link_or_ping():
    for payload in every_message(facts(title=NASTY, plan_name=NASTY, objective=NASTY, strategy=NASTY)):
        raw = json.dumps(payload)
        assert "<!channel>" not in raw and "<@U0BOSS>" not in raw and "<https://evil" not in raw
        assert "&lt;!channel&gt; &amp; &lt;@U0BOSS&gt;" in raw


def test_item_dms_carry_the_four_buttons_and_closed_ones_none_to_act_on():
    item = facts()
    assert buttons(messages.assignment_message(item, assigned_by="U1", today=TODAY)) == \
        ["Mark done", "Snooze 1 day", "Snooze 1 week", "Open plan"]
    assert buttons(messages.reminder_message(item, messages.SOON, today=TODAY, assigned_by="U1")) == \
        ["Mark done", "Snooze 1 day", "Snooze 1 week", "Open plan"]
    closed = messages.closed_message(title="t", plan_id=3, plan_name="p", state="done", actor="U2")
    assert buttons(closed) == ["Open plan"]


def test_the_assignment_names_the_item_its_place_due_date_and_assigner():
    text = json.dumps(messages.assignment_message(facts(), assigned_by="U1", today=TODAY))
    for part in ("Share the latest study", "Newton 2025", "Awareness", "Explain outcomes", "<@U1>",
                 "due *tomorrow*"):
        assert part in text


@pytest.mark.parametrize("due, phrase", [
    (TODAY, "due *today*"),
    (TODAY + dt.timedelta(days=1), "due *tomorrow*"),
    (TODAY + dt.timedelta(days=3), "due in 3 days (Fri 7 Mar 2025)"),
    (TODAY - dt.timedelta(days=1), "*overdue* by 1 day (due Mon 3 Mar 2025)"),
    (TODAY - dt.timedelta(days=4), "*overdue* by 4 days (due Fri 28 Feb 2025)"),
    (None, "no due date"),
])
def test_due_phrases(due, phrase):
    assert messages.due_phrase(due, TODAY) == phrase


def test_a_long_summary_stays_within_fifty_blocks_and_strikes_items_in_place():
    items = [facts(title=f"Item {n}", item_id=n) for n in range(60)]
    payload = messages.summary_message(items, today=TODAY, more=40)
    assert validate_message(payload) == [] and len(payload["blocks"]) <= 50
    assert "…and 53 more" in json.dumps(payload, ensure_ascii=False)  # 13 cut + 40 not listed
    redrawn = messages.summary_with_item_done(payload["blocks"], 5, title="Item 5", text=payload["text"])
    assert validate_message(redrawn) == []
    changed = [b for a, b in zip(payload["blocks"], redrawn["blocks"]) if a != b]
    assert len(changed) == 1 and "~Item 5~" in changed[0]["text"]["text"]


def test_home_shows_the_weekly_summary_switch_as_it_stands():
    on = home_view([], [], {}, today=TODAY, summary_muted=False)
    off = home_view([], [], {}, today=TODAY, summary_muted=True)
    assert "Mute weekly summary" in buttons(on) and "Unmute weekly summary" in buttons(off)
    assert validate_view(on) == [] and validate_view(off) == []
    assert "weekly summary" not in json.dumps(home_view([], [], {}, today=TODAY)).lower()


def test_the_plan_form_shows_the_lead_time_chosen():
    plan = build_plan()
    plan.reminder_lead_days = 7
    view = plan_modal("plan_edit_form", plan=plan)
    assert validate_view(view) == []
    (select,) = [b["accessory"] for b in view["blocks"] if b.get("block_id") == "reminder_lead_days"]
    assert select["initial_option"]["text"]["text"] == "1 week before"
    assert "reminder_lead_days" not in json.dumps(plan_modal("plan_new_form"))
