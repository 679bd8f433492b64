import datetime as dt
import json
import re

from blocks.ids import Action
from blocks.plan_view import plan_page_item_ids, plan_view, swot_view
from tests.blockkit import validate_view
from tests.blocks.builders import build_plan, progress_of

TODAY = dt.date(2025, 6, 1)


def _texts(view) -> str:
    return json.dumps(view["blocks"])


def _buttons(view) -> list[str]:
    found = []
    for block in view["blocks"]:
        for element in block.get("elements", []) if block["type"] == "actions" else []:
            found.append(element["text"]["text"])
        accessory = block.get("accessory")
        if accessory and accessory["type"] == "button":
            found.append(accessory["text"]["text"])
    return found


def test_small_plan_shows_whole_hierarchy_swot_and_controls():
    plan = build_plan()
    view = plan_view(plan, progress_of(plan), can_edit=True, today=TODAY)
    assert validate_view(view) == []
    text = _texts(view)
    for part in ("Newton Memorial Hospital", "Strategy 1", "Objective 1.1", "Share results 1",
                 "Strengths", "3 of 5 IDNs", "Be the partner of choice", "50%"):
        assert part in text
    assert {"Edit", "Add strategy", "Add objective", "Add action item", "Add SWOT entry",
            "Copy plan"} <= set(_buttons(view))
    assert json.loads(view["private_metadata"])["plan"] == plan.id


def test_readers_see_no_edit_controls_but_may_copy():
    plan = build_plan()
    view = plan_view(plan, progress_of(plan), can_edit=False, today=TODAY)
    assert _buttons(view) == ["Copy plan"]
    assert not any(b.get("accessory", {}).get("type") == "overflow" for b in view["blocks"])


def test_plan_with_1500_items_pages_inside_block_kit_limits():
    plan = build_plan(strategies=5, objectives=10, items=30, swot=12)
    progress = progress_of(plan)
    first = plan_view(plan, progress, can_edit=True, today=TODAY)
    pages = int(re.search(r"Page 1 of (\d+)", _texts(first)).group(1))
    seen = []
    for number in range(pages):
        view = plan_view(plan, progress, can_edit=True, page=number, today=TODAY)
        assert validate_view(view) == [], number
        assert len(view["blocks"]) <= 100
        seen += re.findall(r"Share results (\d+)\b", _texts(view))
        labels = _buttons(view)
        assert ("Next page" in labels) == (number < pages - 1)
        assert ("Previous page" in labels) == (number > 0)
    assert sorted(map(int, seen)) == list(range(1, 1501))  # every item once, none lost
    assert "Strengths" in _texts(plan_view(plan, progress, can_edit=True, page=pages - 1))
    # A page beyond the end shows the last one instead of failing.
    assert plan_view(plan, progress, can_edit=True, page=999)["blocks"] == view["blocks"]


def test_a_page_built_from_the_outline_needs_only_its_own_items():
    """The plan view of a big plan is cut from the item outline: `plan_page_item_ids`
    names the items a page shows, and given only those the page is the same as the one
    built from the whole tree. An item the page does not show is never asked for."""
    plan = build_plan(strategies=5, objectives=10, items=30, swot=12)
    progress = progress_of(plan)
    objectives = [o for s in plan.strategies for o in s.objectives]
    outline = {o.id: [i.id for i in o.action_items] for o in objectives}
    every = {i.id: i for o in objectives for i in o.action_items}
    options = dict(can_edit=True, today=TODAY)
    shown_overall = []
    for number in (0, 7, 17):
        wanted = plan_page_item_ids(plan, progress, outline=outline, page=number, **options)
        assert 0 < len(wanted) <= 100
        page_items = {i: every[i] for i in wanted}
        view = plan_view(plan, progress, outline=outline, items=page_items, page=number, **options)
        assert view == plan_view(plan, progress, page=number, **options)
        shown = [int(n) for n in re.findall(r"Share results (\d+)\b", _texts(view))]
        assert len(shown) == len(wanted)
        shown_overall += wanted
    assert len(set(shown_overall)) == len(shown_overall)  # pages do not overlap


def test_page_starting_inside_a_strategy_says_which_it_continues():
    plan = build_plan(strategies=1, objectives=5, items=30)
    view = plan_view(plan, progress_of(plan), can_edit=True, page=1, today=TODAY)
    assert "continued: 1. Strategy 1" in _texts(view)


def test_user_text_is_escaped_and_pings_nobody():
    plan = build_plan(name="<!channel> & <@U999|boss>", title="<!here> *x*")
    plan.account.name = "<https://evil.example|click>"
    view = plan_view(plan, progress_of(plan), can_edit=True, today=TODAY)
    mrkdwn = [b["text"] for b in view["blocks"] if b["type"] == "section"]
    mrkdwn += [e for b in view["blocks"] if b["type"] == "context" for e in b["elements"]]
    text = json.dumps(mrkdwn)
    assert "<!channel>" not in text and "<!here>" not in text and "<https://evil" not in text
    assert "&lt;!here&gt;" in text and "&lt;https://evil" in text
    assert all(t["type"] == "mrkdwn" and t["verbatim"] is True for t in mrkdwn)
    # plain_text (the header) is never parsed for mentions: shown as typed.
    assert view["blocks"][0] == {"type": "header", "text": {"type": "plain_text",
                                 "text": "<!channel> & <@U999|boss>", "emoji": True}}


def test_overdue_items_are_marked():
    plan = build_plan(done_every=0)
    text = _texts(plan_view(plan, progress_of(plan), can_edit=True, today=dt.date(2025, 4, 1)))
    assert "overdue" in text


def test_swot_view_lists_every_entry_with_menus():
    plan = build_plan(swot=8)
    view = swot_view(plan, can_edit=True)
    assert validate_view(view) == []
    text = _texts(view)
    assert all(f"SWOT entry {n}" in text for n in range(1, 9))
    menus = [b for b in view["blocks"] if b.get("accessory", {}).get("action_id") == Action.SWOT_MENU]
    assert len(menus) == 8
    assert "Back to plan" in _buttons(view)


def test_the_customer_view_has_no_controls_no_swot_and_stays_a_customer_view():
    from blocks.forms import CUSTOMER_AUDIENCE
    from storage.models import Audience

    assert CUSTOMER_AUDIENCE == Audience.EXTERNAL.value  # the two layers name it alike
    plan = build_plan()
    view = plan_view(plan, progress_of(plan), can_edit=True, today=TODAY, customer=True,
                     note="Shown as customers see it.")
    assert validate_view(view) == []
    text = _texts(view)
    assert "Strategy 1" in text and "Shown as customers see it." in text
    assert "Strengths" not in text and "overflow" not in text
    assert not {"Edit", "Add strategy", "Copy plan", "Post digest"} & set(_buttons(view))
    assert json.loads(view["private_metadata"])["audience"] == CUSTOMER_AUDIENCE
