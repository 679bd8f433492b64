import datetime as dt

from blocks import modals
from blocks.forms import encode_metadata, form_values, metadata
from blocks.home import home_view
from blocks.messages import my_items, plan_choices, plan_list
from tests.blockkit import validate_message, validate_view
from tests.blocks.builders import build_plan, progress_of


def _labels(view):
    return [b["label"]["text"] for b in view["blocks"] if b["type"] == "input"]


def _input(view, label):
    return next(b for b in view["blocks"] if b["type"] == "input" and b["label"]["text"] == label)


def test_new_plan_modal_has_plain_labels_and_block_ids_named_for_fields():
    view = modals.plan_modal("cb")
    assert validate_view(view) == []
    assert _labels(view) == ["Plan name", "Account", "Start date", "End date", "Status",
                             "Team members", "Description", "Customer goals", "Our goals", "Sharing",
                             "Customer channel"]
    assert _input(view, "Plan name")["block_id"] == "name"
    assert _input(view, "End date")["block_id"] == "end_date"
    assert len(view["title"]["text"]) <= 24


def test_edit_plan_modal_is_prefilled_and_offers_owner():
    plan = build_plan()
    view = modals.plan_modal("cb", plan=plan, metadata=encode_metadata(plan=plan.id, version=3))
    assert validate_view(view) == []
    assert _input(view, "Plan name")["element"]["initial_value"] == plan.name
    assert _input(view, "Start date")["element"]["initial_date"] == "2025-01-01"
    assert _input(view, "Status")["element"]["initial_option"]["value"] == "active"
    assert _input(view, "Team members")["element"]["initial_users"] == ["UMEMBER"]
    assert _input(view, "Owner")["element"]["initial_user"] == "UOWNER"
    assert metadata(view) == {"plan": plan.id, "version": 3}


def test_every_modal_fits_block_kit():
    plan = build_plan(strategies=3, objectives=40, items=1)  # 120 objectives: select caps at 100
    strategy = plan.strategies[0]
    objective = strategy.objectives[0]
    item = objective.action_items[0]
    groups = [(s.title, [(o.title, str(o.id)) for o in s.objectives]) for s in plan.strategies]
    views = [
        modals.strategy_modal("cb"), modals.strategy_modal("cb", strategy=strategy),
        modals.objective_modal("cb", strategies=[(s.title, str(s.id)) for s in plan.strategies]),
        modals.objective_modal("cb", objective=objective),
        modals.action_item_modal("cb", objectives=groups), modals.action_item_modal("cb", item=item),
        modals.swot_modal("cb"), modals.swot_modal("cb", entry=plan.swot_entries[0]),
        modals.copy_modal("cb", plan=plan, suggested=("Next", dt.date(2026, 1, 1), dt.date(2026, 12, 31))),
        modals.confirm_delete_modal("cb", what="strategy", name="x" * 4000),
        modals.message_modal("Not allowed", "<!channel>"),
    ]
    for view in views:
        assert validate_view(view) == [], view["title"]


def test_swot_entries_default_to_team_only():
    view = modals.swot_modal("cb")
    assert _input(view, "Visibility")["element"]["initial_options"][0]["value"] == "team_only"
    assert _labels(view) == ["Kind", "Entry", "Visibility"]


def test_action_item_modal_labels():
    assert _labels(modals.action_item_modal("cb")) == ["Action item", "Assignee", "Follow-up", "Due date", "Notes",
                                                       "Visibility"]
    # A plan with customer contacts without Slack: one may own the item instead.
    view = modals.action_item_modal("cb", contacts=[("Dr. Ada Chen (CMO)", "7")])
    assert validate_view(view) == []
    assert _labels(view) == ["Action item", "Assignee", "Customer contact", "Follow-up", "Due date", "Notes",
                             "Visibility"]
    assert _input(view, "Assignee")["optional"] and _input(view, "Customer contact")["optional"]


def test_form_values_reads_every_element_type():
    view = {"state": {"values": {
        "name": {"value": {"type": "plain_text_input", "value": "Plan"}},
        "empty": {"value": {"type": "plain_text_input", "value": ""}},
        "start_date": {"value": {"type": "datepicker", "selected_date": "2025-01-01"}},
        "status": {"value": {"type": "static_select", "selected_option": {"value": "active"}}},
        "owner": {"value": {"type": "users_select", "selected_user": "U1"}},
        "team": {"value": {"type": "multi_users_select", "selected_users": ["U2", "U3"]}},
        "carry": {"value": {"type": "checkboxes", "selected_options": [{"value": "swot"}]}},
        "target_value": {"value": {"type": "number_input", "value": "5"}},
    }}}
    assert form_values(view) == {
        "name": "Plan", "empty": None, "start_date": dt.date(2025, 1, 1), "status": "active",
        "owner": "U1", "team": ["U2", "U3"], "carry": ["swot"], "target_value": "5",
    }


def test_lists_home_and_items_fit_and_escape():
    plans = [build_plan(name=f"<!channel> plan {n}") for n in range(40)]
    progress = {p.id: progress_of(p).plan for p in plans}
    listing = plan_list("Plans", plans, progress, more=20)
    assert validate_message(listing) == [] and len(listing["blocks"]) <= 50
    assert "<!channel>" not in str(listing["blocks"])
    assert "…and 20 more." in str(listing["blocks"])
    capped = plan_list("Plans", plans, progress, more=980, more_at_least=True)
    assert "…and 980+ more." in str(capped["blocks"])
    assert validate_message(plan_choices("plan", plans)) == []
    items = [(i, p.name) for p in plans for s in p.strategies for o in s.objectives for i in o.action_items]
    mine = my_items(items, today=dt.date(2025, 6, 1), more=5)
    assert validate_message(mine) == []
    assert "Mark done" in str(mine["blocks"])
    home = home_view(items, plans, progress, today=dt.date(2025, 6, 1), more_items=1, more_plans=1)
    assert validate_view(home) == [] and len(home["blocks"]) <= 100
    assert {"New plan", "Mark done", "Open"} <= {e["text"]["text"] for b in home["blocks"]
        for e in ([b["accessory"]] if "accessory" in b else b.get("elements", [])) if e.get("type") == "button"}
