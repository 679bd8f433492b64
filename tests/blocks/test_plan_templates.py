"""Templates: "Start from" in the new-plan form, "Save as template", the templates list;
and the plan form's progress check-in settings."""

from __future__ import annotations

import json
from types import SimpleNamespace as NS

from blocks import modals
from blocks.forms import form_values
from blocks.ids import Action, Callback, Verb, parse_menu_value
from blocks.plan_templates import (
    BLANK,
    chosen_template,
    rename_template_modal,
    save_template_modal,
    start_from_input,
    templates_message,
)
from blocks.plan_view import plan_view
from tests.blockkit import validate_message, validate_view
from tests.blocks.builders import build_plan, progress_of

BUILT_IN = [("builtin:key_account", "Key account plan"), ("builtin:goals", "Customer goals / our goals")]
HOSTILE = "<!channel> & <@U999|boss>"


def _labels(view):
    return [b["label"]["text"] for b in view["blocks"] if b["type"] == "input"]


def _input(view, label):
    return next(b for b in view["blocks"] if b["type"] == "input" and b["label"]["text"] == label)


def test_start_from_is_offered_first_only_when_there_are_templates():
    view = modals.plan_modal(Callback.PLAN_NEW, templates=BUILT_IN + [("7", "Hospital plan")])
    assert validate_view(view) == []
    assert _labels(view)[:2] == ["Start from", "Plan name"]
    select = _input(view, "Start from")
    assert select["block_id"] == "template"
    assert [(o["text"]["text"], o["value"]) for o in select["element"]["options"]] == [
        ("Blank", BLANK), ("Key account plan", "builtin:key_account"),
        ("Customer goals / our goals", "builtin:goals"), ("Hospital plan", "7")]
    assert select["element"]["initial_option"]["value"] == BLANK
    assert "Start from" not in _labels(modals.plan_modal(Callback.PLAN_NEW))
    edit = modals.plan_modal(Callback.PLAN_EDIT, plan=build_plan(), templates=BUILT_IN)
    assert "Start from" not in _labels(edit)  # an existing plan has its structure


def test_start_from_stays_inside_a_selects_limits():
    many = [(str(n), f"{HOSTILE} template {n} " + "x" * 100) for n in range(150)]
    block = start_from_input(many)
    assert len(block["element"]["options"]) == 100
    assert validate_view(modals.plan_modal(Callback.PLAN_NEW, templates=many)) == []


def test_the_chosen_template_reads_back():
    view = modals.plan_modal(Callback.PLAN_NEW, templates=BUILT_IN)
    view["state"] = {"values": {"template": {"value": {"type": "static_select",
                                                      "selected_option": {"value": "builtin:goals"}}}}}
    assert chosen_template(form_values(view)) == "builtin:goals"
    assert chosen_template({"template": BLANK}) is None
    assert chosen_template({}) is None


def test_save_as_template_asks_for_a_template_name():
    view = save_template_modal(plan_name=HOSTILE, metadata='{"plan":1}')
    assert validate_view(view) == []
    assert view["title"]["text"] == "Save as template" and view["callback_id"] == Callback.TEMPLATE_FORM
    assert _labels(view) == ["Template name"]
    assert _input(view, "Template name")["block_id"] == "name"
    intro = view["blocks"][0]["text"]["text"]
    assert "&lt;!channel&gt; &amp;" in intro and "<!channel>" not in intro
    assert "No dates, people, progress or notes" in intro
    rename = rename_template_modal(name="Hospital plan")
    assert validate_view(rename) == []
    assert _input(rename, "Template name")["element"]["initial_value"] == "Hospital plan"
    assert rename["callback_id"] == Callback.TEMPLATE_RENAME_FORM


def test_the_plan_view_offers_save_as_template_to_the_team_only_when_asked():
    plan = build_plan()

    def buttons(view):
        return [e["text"]["text"] for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]]

    offered = plan_view(plan, progress_of(plan), can_edit=True, save_template=True)
    assert "Save as template" in buttons(offered)
    button = next(e for b in offered["blocks"] if b["type"] == "actions" for e in b["elements"]
                  if e["text"]["text"] == "Save as template")
    assert button["action_id"] == Action.SAVE_AS_TEMPLATE and button["value"] == str(plan.id)
    assert "Save as template" not in buttons(plan_view(plan, progress_of(plan), can_edit=True))
    customer = plan_view(plan, progress_of(plan), can_edit=True, customer=True, save_template=True)
    assert "Save as template" not in buttons(customer)


def test_the_templates_list_offers_rename_and_delete_where_allowed():
    templates = [NS(id=None, name="Key account plan"), NS(id=7, name=HOSTILE, owner_id="UANA"),
                 NS(id=8, name="Someone else's")]
    message = templates_message(templates, changeable={7})
    assert validate_message(message) == []
    pressed = [b["accessory"] for b in message["blocks"] if "accessory" in b] + [
        e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert all(e["action_id"] == Action.TEMPLATE_MENU for e in pressed)
    assert [(e["text"]["text"], parse_menu_value(e["value"])) for e in pressed] == [
        ("Rename", (Verb.EDIT, 7)), ("Delete", (Verb.DELETE, 7))]
    rename, delete = pressed
    assert "confirm" not in rename and delete["style"] == "danger"
    # Deleting asks first, in Slack's own confirmation dialog, naming the template (escaped).
    dialog = delete["confirm"]
    assert (dialog["title"]["text"], dialog["confirm"]["text"], dialog["deny"]["text"]) == (
        "Delete this template?", "Delete", "Cancel")
    assert "&lt;!channel&gt;" in dialog["text"]["text"] and "will be gone for everyone" in dialog["text"]["text"]
    long_names = templates_message([NS(id=9, name="&" * 200)], changeable={9})
    assert validate_message(long_names) == []  # the dialog's text within its 300 characters
    text = json.dumps(message["blocks"], ensure_ascii=False)
    assert "Key account plan* · built in" in text and "saved by <@UANA>" in text
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text
    many = templates_message([NS(id=n, name=f"T{n}") for n in range(120)], changeable=range(120))
    assert validate_message(many) == [] and len(many["blocks"]) <= 50


def test_the_plan_form_can_set_progress_check_ins():
    plan = build_plan()
    plan.checkin_lead_days, plan.monthly_checkins = 7, True
    view = modals.plan_modal(Callback.PLAN_EDIT, plan=plan, checkins=True)
    assert validate_view(view) == []
    assert {"Progress check-ins", "Monthly check-ins"} <= set(_labels(view))
    assert _input(view, "Progress check-ins")["element"]["initial_option"]["text"]["text"] == \
        "7 days before the next QBR"
    assert _input(view, "Monthly check-ins")["element"]["initial_options"][0]["value"] == modals.MONTHLY
    new = modals.plan_modal(Callback.PLAN_NEW, checkins=True)
    assert _input(new, "Progress check-ins")["element"]["initial_option"]["value"] == "5"
    assert "initial_options" not in _input(new, "Monthly check-ins")["element"]
    assert "Progress check-ins" not in _labels(modals.plan_modal(Callback.PLAN_EDIT, plan=plan))
    assert modals.checkin_values({"checkin_lead_days": "10", "monthly_checkins": [modals.MONTHLY]}) == \
        {"checkin_lead_days": 10, "monthly_checkins": True}
    assert modals.checkin_values({"checkin_lead_days": "x", "monthly_checkins": []}) == \
        {"checkin_lead_days": None, "monthly_checkins": False}
