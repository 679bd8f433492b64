"""Key stakeholders: the plan view's org chart (team only, paged) and the stakeholder form."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest

from blocks.forms import form_values
from blocks.ids import Action, Callback, parse_menu_value
from blocks.plan_view import plan_view
from blocks.stakeholders import (
    NOT_SET,
    STALE_NOTE,
    stakeholder_block_ids,
    stakeholder_form_input,
    stakeholder_is_stale,
    stakeholder_modal,
)
from storage.domain import StakeholderRole
from tests.blockkit import validate_view
from tests.blocks.builders import build_plan, progress_of
from tests.blocks.people import Person, org_chart, tree_of

TODAY = dt.date(2026, 3, 2)
HOSTILE = "<!channel> & <@U999|boss> <https://evil.example|x>"


def _sections(view) -> list[dict]:
    return [b for b in view["blocks"] if b["type"] == "section"]


def _people_lines(view) -> list[dict]:
    return [b for b in _sections(view)
            if b.get("accessory", {}).get("action_id") == Action.STAKEHOLDER_MENU]


def _view(tree, *, can_edit=True, page=0, plan=None):
    plan = plan or build_plan()
    return plan_view(plan, progress_of(plan), can_edit=can_edit, page=page, today=TODAY,
                     stakeholders=tree)


def test_the_team_view_shows_the_org_chart_indented_with_menus_and_add():
    view = _view(org_chart(TODAY))
    assert validate_view(view) == []
    lines = _people_lines(view)
    assert len(lines) == 4
    texts = [line["text"]["text"] for line in lines]
    assert texts[0].startswith("*Dr. Jane Smith* · Chief Medical Officer")
    assert "Customer · Sponsor · High influence · Supporter · last contact 20 Feb 2026" in texts[0]
    assert texts[1].startswith("\u2003↳ *Raj Patel*")          # reports to the CMO
    assert texts[2].startswith("\u2003\u2003↳ *Lee Wong*")     # reports to Raj
    assert texts[3].startswith("*Sam Seller* · Account manager · <@USAM>")
    assert "Our side" in texts[3]
    # Stale: not contacted for 60 days (Raj) or never (Lee); not the others.
    assert [STALE_NOTE in text for text in texts] == [False, True, True, False]
    assert STALE_NOTE == "⚠ not contacted for 60+ days"
    # Each line's menu: Edit, Log contact, Remove, carrying the stakeholder's id.
    menu = lines[1]["accessory"]
    assert [o["text"]["text"] for o in menu["options"]] == ["Edit", "Log contact", "Remove"]
    assert [parse_menu_value(o["value"])[0].value for o in menu["options"]] == ["edit", "contact", "delete"]
    heading = next(b for b in _sections(view) if b.get("block_id") == "stakeholders")
    assert heading["text"]["text"].startswith("*Key stakeholders*")
    assert heading["accessory"]["text"]["text"] == "Add stakeholder"
    assert heading["accessory"]["action_id"] == Action.ADD_STAKEHOLDER


def test_menu_values_are_the_stakeholders_ids():
    tree = org_chart(TODAY)
    lines = _people_lines(_view(tree))
    assert [parse_menu_value(line["accessory"]["options"][0]["value"])[1] for line in lines] == \
        [person.id for person, _ in tree]


def test_readers_see_the_chart_without_controls():
    view = _view(org_chart(TODAY), can_edit=False)
    assert validate_view(view) == []
    assert "Raj Patel" in json.dumps(view["blocks"])
    assert _people_lines(view) == []
    assert "Add stakeholder" not in json.dumps(view["blocks"])


def test_no_stakeholders_yet_still_offers_add_and_none_given_shows_no_section():
    view = _view([])
    assert "No stakeholders yet" in json.dumps(view["blocks"])
    assert "Add stakeholder" in json.dumps(view["blocks"])
    plan = build_plan()
    without = plan_view(plan, progress_of(plan), can_edit=True, today=TODAY)
    assert "Key stakeholders" not in json.dumps(without["blocks"])


def test_staleness_counts_from_sixty_days():
    assert stakeholder_is_stale(Person("a"), TODAY)
    assert stakeholder_is_stale(Person("a", last_contact_on=TODAY - dt.timedelta(days=60)), TODAY)
    assert not stakeholder_is_stale(Person("a", last_contact_on=TODAY - dt.timedelta(days=59)), TODAY)


def test_hostile_names_are_escaped_and_ping_nobody():
    boss = Person(HOSTILE, title=HOSTILE, role=StakeholderRole.CHAMPION)
    report = Person("Plain\nName <b>", reports_to_id=boss.id)
    view = _view(tree_of([boss, report]))
    assert validate_view(view) == []
    text = json.dumps([b["text"] for b in _people_lines(view)])
    assert "<!channel>" not in text and "<@U999" not in text and "<https://evil" not in text
    assert "&lt;!channel&gt; &amp; &lt;@U999|boss&gt;" in text
    assert "Plain Name &lt;b&gt;" in text  # one line: a name cannot break the chart
    assert all(b["text"]["verbatim"] for b in _people_lines(view))


def test_two_hundred_stakeholders_page_inside_block_kit_limits():
    people: list[Person] = []
    for n in range(200):  # chains of five: depth 0..4
        boss = people[-1].id if n % 5 else None
        people.append(Person(f"Person {n} " + "x" * 120, title="T" * 150,
                             role=StakeholderRole.INFLUENCER, reports_to_id=boss))
    tree = tree_of(people)
    plan = build_plan(strategies=3, objectives=4, items=5)
    first = _view(tree, plan=plan)
    pages = int(re.search(r"Page 1 of (\d+)", json.dumps(first["blocks"])).group(1))
    assert pages >= 3
    seen: list[int] = []
    continued = 0
    for number in range(pages):
        view = _view(tree, plan=plan, page=number)
        assert validate_view(view) == [], number
        assert len(view["blocks"]) <= 100
        assert all(len(b["text"]["text"]) <= 3000 for b in _sections(view))
        seen += [int(m) for m in re.findall(r"\*Person (\d+) ", json.dumps(view["blocks"]))]
        continued += "continued: Key stakeholders" in json.dumps(view["blocks"])
    assert seen == list(range(200))  # every person once, in chart order
    assert continued >= 1
    assert "Strengths" in json.dumps(_view(tree, plan=plan, page=pages - 1)["blocks"])


def test_the_customer_view_never_takes_or_shows_stakeholders():
    plan = build_plan()
    with pytest.raises(ValueError):
        plan_view(plan, progress_of(plan), can_edit=False, customer=True, stakeholders=org_chart(TODAY))
    with pytest.raises(ValueError):
        plan_view(plan, progress_of(plan), can_edit=False, customer=True, stakeholders=[])
    view = plan_view(plan, progress_of(plan), can_edit=True, customer=True, today=TODAY)
    text = json.dumps(view["blocks"])
    assert "Key stakeholders" not in text and "Add stakeholder" not in text
    assert Action.STAKEHOLDER_MENU.value not in text


# ---------------------------------------------------------------------------
# The form


def _input(view, label):
    return next(b for b in view["blocks"] if b["type"] == "input" and b["label"]["text"] == label)


def _labels(view):
    return [b["label"]["text"] for b in view["blocks"] if b["type"] == "input"]


OBJECTIVES = [("Strategy 1", [("Formulary approval", "11"), ("Outcomes study", "12")]),
              ("Strategy 2", [("Training", "21")])]


def test_add_form_has_plain_labels_and_field_named_block_ids():
    tree = org_chart(TODAY)
    view = stakeholder_modal(Callback.STAKEHOLDER_FORM, tree=tree, objectives=OBJECTIVES)
    assert validate_view(view) == []
    assert view["title"]["text"] == "Add stakeholder"
    assert _labels(view) == ["Name", "Title", "Side", "Slack user", "Role in the decision", "Influence",
                             "Stance", "Reports to", "Last contact", "Notes", "Objectives"]
    assert [b["block_id"] for b in view["blocks"] if b["type"] == "input"] == [
        "name", "title", "side", "slack_user_id", "role", "influence", "stance", "reports_to_id",
        "last_contact_on", "notes", "objective_ids"]
    assert _input(view, "Side")["element"]["initial_option"]["value"] == "customer"
    assert [o["text"]["text"] for o in _input(view, "Role in the decision")["element"]["options"]] == [
        "Not set", "Sponsor", "Decision maker", "Champion", "Influencer", "User", "Blocker"]
    reports = [o["value"] for o in _input(view, "Reports to")["element"]["options"]]
    assert reports == [NOT_SET] + [str(person.id) for person, _ in tree]
    slack_user = _input(view, "Slack user")["element"]
    assert slack_user["type"] == "multi_users_select" and slack_user["max_selected_items"] == 1
    assert "initial_options" not in _input(view, "Objectives")["element"]


def test_edit_form_is_filled_in_and_offers_no_loop_as_manager():
    tree = org_chart(TODAY)
    raj = tree[1][0]
    view = stakeholder_modal(Callback.STAKEHOLDER_FORM, stakeholder=raj, tree=tree,
                             objectives=OBJECTIVES, selected_objectives=[12, 21], metadata="{}")
    assert validate_view(view) == []
    assert view["title"]["text"] == "Edit stakeholder"
    assert _input(view, "Name")["element"]["initial_value"] == "Raj Patel"
    assert _input(view, "Role in the decision")["element"]["initial_option"]["value"] == "decision_maker"
    assert _input(view, "Stance")["element"]["initial_option"]["value"] == "neutral"
    assert _input(view, "Last contact")["element"]["initial_date"] == "2026-01-01"
    assert _input(view, "Reports to")["element"]["initial_option"]["value"] == str(tree[0][0].id)
    # Not himself, not Lee who reports to him: a chart has no loops.
    offered = {o["value"] for o in _input(view, "Reports to")["element"]["options"]}
    assert offered == {NOT_SET, str(tree[0][0].id), str(tree[3][0].id)}
    assert [o["value"] for o in _input(view, "Objectives")["element"]["initial_options"]] == ["12", "21"]
    sam = tree[3][0]
    filled = stakeholder_modal(Callback.STAKEHOLDER_FORM, stakeholder=sam, tree=tree)
    assert _input(filled, "Slack user")["element"]["initial_users"] == ["USAM"]
    assert _input(filled, "Side")["element"]["initial_option"]["value"] == "ours"
    assert "Objectives" not in _labels(filled)  # a plan without objectives


def test_linked_objectives_default_to_the_stakeholders_own():
    person = Person("Raj", objectives=[type("O", (), {"id": 21})()])
    view = stakeholder_modal(Callback.STAKEHOLDER_FORM, stakeholder=person, objectives=OBJECTIVES)
    assert [o["value"] for o in _input(view, "Objectives")["element"]["initial_options"]] == ["21"]


def test_reports_to_keeps_the_current_manager_when_the_list_is_cut():
    people = [Person(f"P{n}") for n in range(200)]
    me = Person("Me", reports_to_id=people[150].id)
    view = stakeholder_modal(Callback.STAKEHOLDER_FORM, stakeholder=me, tree=tree_of(people + [me]))
    assert validate_view(view) == []
    options = _input(view, "Reports to")["element"]["options"]
    assert len(options) == 100
    assert _input(view, "Reports to")["element"]["initial_option"]["value"] == str(people[150].id)


def test_hostile_text_in_the_form_stays_plain_text():
    boss = Person(HOSTILE, title="x" * 150)
    view = stakeholder_modal(Callback.STAKEHOLDER_FORM, stakeholder=Person(HOSTILE, notes=HOSTILE),
                             tree=tree_of([boss]))
    assert validate_view(view) == []  # option texts cut to 75
    assert _input(view, "Name")["element"]["initial_value"] == HOSTILE  # an input shows it as typed


def test_field_errors_map_onto_the_forms_inputs():
    view = stakeholder_modal(Callback.STAKEHOLDER_FORM, tree=org_chart(TODAY), objectives=OBJECTIVES)
    inputs = {b["block_id"] for b in view["blocks"] if b["type"] == "input"}
    errors = {"name": "required", "reports_to": "would make a loop", "objectives": "must be objectives",
              "last_contact_on": "can't be in the future", "role": "must be one of …",
              "plan": "was changed by someone else"}
    mapped = stakeholder_block_ids(errors)
    assert mapped == {"name": "required", "reports_to_id": "would make a loop",
                      "objective_ids": "must be objectives", "last_contact_on": "can't be in the future",
                      "role": "must be one of …", "plan": "was changed by someone else"}
    assert set(mapped) - {"plan"} <= inputs
    assert stakeholder_block_ids({"reports_to": "a", "reports_to_id": "b"}) == {"reports_to_id": "a; b"}


def test_a_submitted_form_reads_as_storages_fields():
    state = {"values": {
        "name": {"value": {"type": "plain_text_input", "value": "Raj"}},
        "title": {"value": {"type": "plain_text_input", "value": None}},
        "side": {"value": {"type": "static_select", "selected_option": {"value": "ours"}}},
        "slack_user_id": {"value": {"type": "multi_users_select", "selected_users": ["URAJ"]}},
        "role": {"value": {"type": "static_select", "selected_option": {"value": "champion"}}},
        "influence": {"value": {"type": "static_select", "selected_option": {"value": NOT_SET}}},
        "stance": {"value": {"type": "static_select", "selected_option": None}},
        "reports_to_id": {"value": {"type": "static_select", "selected_option": {"value": "42"}}},
        "last_contact_on": {"value": {"type": "datepicker", "selected_date": "2026-02-27"}},
        "notes": {"value": {"type": "plain_text_input", "value": "likes data"}},
        "objective_ids": {"value": {"type": "multi_static_select",
                                    "selected_options": [{"value": "11"}, {"value": "x"}]}},
    }}
    view = stakeholder_modal(Callback.STAKEHOLDER_FORM, objectives=OBJECTIVES)
    values = form_values({**view, "state": state})
    assert values["objective_ids"] == ["11", "x"]
    assert stakeholder_form_input(values) == {
        "name": "Raj", "title": "", "side": "ours", "slack_user_id": "URAJ", "role": "champion",
        "influence": None, "stance": None, "reports_to_id": 42,
        "last_contact_on": dt.date(2026, 2, 27), "notes": "likes data", "objective_ids": [11],
    }
    cleared = stakeholder_form_input({"name": "Raj", "reports_to_id": NOT_SET, "slack_user_id": []})
    assert cleared["reports_to_id"] is None and cleared["slack_user_id"] is None
    assert cleared["objective_ids"] is None  # no "Objectives" in the form: links left alone
