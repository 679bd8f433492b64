""""Shared with customer" in the forms and views: the checkboxes (pre-ticked by the
plan's "New parts shared with customer"), what a submitted form says, the team view's
tags, and the customer-channel notes that say internal parts exist without naming them."""

from __future__ import annotations

import datetime as dt
import json

from blocks import modals
from blocks.digest import canvas_link_message
from blocks.home import home_view
from blocks.messages import my_items
from blocks.plan_view import SHARED_TAG, plan_view, shared_tag, swot_view
from tests.blockkit import validate_message, validate_view
from tests.blocks.builders import build_plan, progress_of

TODAY = dt.date(2025, 6, 1)


def _input(view, block_id):
    return next(b for b in view["blocks"] if b["type"] == "input" and b["block_id"] == block_id)


def _ticked(view, block_id) -> list[str]:
    element = _input(view, block_id)["element"]
    return [o["value"] for o in element.get("initial_options") or []]


def _box(view, block_id) -> tuple[str, str]:
    block = _input(view, block_id)
    return block["label"]["text"], block["element"]["options"][0]["text"]["text"]


def test_strategy_objective_and_item_forms_have_the_shared_with_customer_checkbox():
    plan = build_plan()
    strategy = plan.strategies[0]
    objective = strategy.objectives[0]
    item = objective.action_items[0]
    for view in (modals.strategy_modal("cb"), modals.objective_modal("cb"), modals.action_item_modal("cb")):
        assert validate_view(view) == []
        assert _box(view, "shared_with_customer") == ("Visibility", "Shared with customer")
        assert _ticked(view, "shared_with_customer") == []  # new records: not shared by default
        assert "Team only" not in json.dumps(view)
    # The plan's "New parts shared with customer" ticks it for a new record.
    for view in (modals.strategy_modal("cb", shared_default=True),
                 modals.objective_modal("cb", shared_default=True),
                 modals.action_item_modal("cb", shared_default=True)):
        assert _ticked(view, "shared_with_customer") == ["shared_with_customer"]
    # An edit shows the record's own mark, whatever the plan's default.
    item.shared_with_customer = False
    strategy.shared_with_customer = True
    assert _ticked(modals.action_item_modal("cb", item=item, shared_default=True), "shared_with_customer") == []
    assert _ticked(modals.strategy_modal("cb", strategy=strategy), "shared_with_customer") == [
        "shared_with_customer"]
    assert _ticked(modals.objective_modal("cb", objective=objective), "shared_with_customer") == [
        "shared_with_customer"]


def test_the_plan_form_sets_new_parts_shared_with_customer():
    view = modals.plan_modal("cb")
    assert validate_view(view) == []
    assert _box(view, "share_with_customer_by_default") == ("Sharing", "New parts shared with customer")
    assert _ticked(view, "share_with_customer_by_default") == []
    plan = build_plan()
    plan.share_with_customer_by_default = True
    edit = modals.plan_modal("cb", plan=plan)
    assert _ticked(edit, "share_with_customer_by_default") == ["share_with_customer_by_default"]


def test_submitted_forms_say_ticked_unticked_or_not_asked():
    assert modals.shared_value({"shared_with_customer": ["shared_with_customer"]}) is True
    assert modals.shared_value({"shared_with_customer": []}) is False
    assert modals.shared_value({"title": "x"}) is None  # a form without the box: keep as is
    assert modals.share_by_default_value({"share_with_customer_by_default": ["share_with_customer_by_default"]})
    assert modals.share_by_default_value({"share_with_customer_by_default": []}) is False
    assert modals.share_by_default_value({}) is None


def test_the_team_view_tags_what_is_shared_and_says_when_a_parent_is_not():
    plan = build_plan(strategies=1, objectives=2, items=3)
    strategy = plan.strategies[0]
    first, second = strategy.objectives
    second.shared_with_customer = False  # its items are marked, it is not
    text = json.dumps(plan_view(plan, progress_of(plan), can_edit=True, today=TODAY)["blocks"],
                      ensure_ascii=False)
    assert "*1. Strategy 1* · shared with customer" in text
    assert "Objective 1.1* · *3 of 5 IDNs* · shared with customer" in text
    assert "*1.2 Objective 1.2* · shared with customer" not in text
    assert "shared with customer _(hidden until its objective is shared)_" in text
    assert "team only" not in text and ":lock: team only" not in text
    # An item the team keeps (n % 3 == 0 in the builder) has no tag.
    third = first.action_items[2]
    assert not third.shared_with_customer
    assert f"{third.title} · <@UMEMBER> · due 1 Mar 2025 *(overdue)*\"" in text


def test_shared_tag_names_every_part_that_holds_a_record_back():
    class Part:
        def __init__(self, shared):
            self.shared_with_customer = shared

    yes, no = Part(True), Part(False)
    assert shared_tag(yes) == SHARED_TAG and shared_tag(no) == ""
    assert shared_tag(yes, yes, yes) == SHARED_TAG
    assert shared_tag(yes, no) == f"{SHARED_TAG} _(hidden until its strategy is shared)_"
    assert shared_tag(yes, yes, no) == f"{SHARED_TAG} _(hidden until its objective is shared)_"
    assert shared_tag(yes, no, no) == f"{SHARED_TAG} _(hidden until its objective and strategy are shared)_"
    assert shared_tag(no, no, no) == ""


def test_the_customer_view_and_personal_lists_carry_no_tags():
    plan = build_plan()
    customer = plan_view(plan, progress_of(plan), can_edit=False, today=TODAY, customer=True)
    assert "shared with customer" not in json.dumps(customer["blocks"])
    items = [(i, plan.name) for s in plan.strategies for o in s.objectives for i in o.action_items]
    mine = my_items(items, today=TODAY)
    home = home_view(items, [plan], {plan.id: progress_of(plan).plan}, today=TODAY)
    assert validate_message(mine) == [] and validate_view(home) == []
    for payload in (mine["blocks"], home["blocks"]):
        assert "shared with customer" not in json.dumps(payload) and "team only" not in json.dumps(payload)


def test_swot_is_marked_as_never_shown_to_customers():
    plan = build_plan(swot=2)
    plan.swot_entries[1].team_only = False  # the old flag no longer shares anything
    text = json.dumps(plan_view(plan, progress_of(plan), can_edit=True, today=TODAY)["blocks"])
    assert "never shown to customers" in text and "(shared)" not in text
    swot = json.dumps(swot_view(plan, can_edit=True)["blocks"])
    assert "never shown to customers" in swot and "shared with customers" not in swot


def test_a_canvas_in_a_customer_channel_says_it_shows_only_shared_parts():
    text = json.dumps(canvas_link_message("Plan", "https://x.slack.com/docs/T1/F1", external=True))
    assert "only the parts shared with the customer" in text
    assert "shared with the customer" not in json.dumps(
        canvas_link_message("Plan", "https://x.slack.com/docs/T1/F1", external=False))
