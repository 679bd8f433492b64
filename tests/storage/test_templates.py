"""Plan templates: the built-ins, saving a plan's structure (without dates, people,
progress or notes), starting a plan from any template, names, and who may change them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from storage import progress, templates
from storage import plans as ops
from storage.domain import Actor, ItemStatus, SwotKind
from storage.errors import Conflict, NotFound, PermissionDenied, ValidationError
from storage.models import ActionItem, PlanTemplate, SwotEntry

from .conftest import (
    MEMBER,
    OUTSIDER,
    OWNER,
    STRANGER,
    bulk_tree,
    counting,
    make_item,
    make_objective,
    make_plan,
    make_strategy,
    plan_input,
)

EXTERNAL = Actor(OWNER.team_id, "UCUSTOMER", external=True)
NEW_START, NEW_END = dt.date(2026, 1, 1), dt.date(2026, 6, 30)


def structure(plan) -> list:
    return [(s.title, [(o.title, o.measure_unit, o.target_value,
                        [(a.title, a.due_date) for a in o.action_items]) for o in s.objectives])
            for s in plan.strategies]


def new_plan(session, key: str, actor=MEMBER, **fields):
    data = plan_input(name=fields.pop("name", "From a template"), start_date=NEW_START, end_date=NEW_END, **fields)
    return templates.create_plan_from_template(session, actor, data, key)


def test_the_built_ins_come_first_then_the_workspaces_by_name(session, tree):
    plan, *_ = tree
    templates.save_as_template(session, OWNER, plan.id, "Zeta")
    templates.save_as_template(session, MEMBER, plan.id, "Alpha")
    session.commit()
    listed = templates.list_templates(session, STRANGER)
    assert [(t.key, t.name, t.builtin) for t in listed[:2]] == [
        ("builtin:key_account", "Key account plan", True), ("builtin:goals", "Customer goals / our goals", True)]
    assert [t.name for t in listed[2:]] == ["Alpha", "Zeta"]
    assert listed[2].key == f"template:{listed[2].template_id}" and listed[2].owner_id == MEMBER.user_id
    assert (listed[2].strategies, listed[2].objectives, listed[2].action_items) == (1, 1, 1)
    assert [t.builtin for t in templates.list_templates(session, OUTSIDER)] == [True, True]


@pytest.mark.parametrize("key", ["builtin:key_account", "builtin:goals"])
def test_a_plan_from_each_built_in(session, key):
    plan = new_plan(session, key)
    session.commit()
    _, _, body = templates.BUILTIN[key]
    tree = ops.load_plan_tree(session, OWNER.team_id, plan.id)
    assert [s.title for s in tree.strategies] == [s["title"] for s in body["strategies"]]
    items = [a for s in tree.strategies for o in s.objectives for a in o.action_items]
    assert len(items) == sum(len(o["action_items"]) for s in body["strategies"] for o in s["objectives"])
    assert {a.assignee_id for a in items} == {MEMBER.user_id}  # the plan's owner hands them out
    assert all(NEW_START <= a.due_date <= NEW_END and a.status == ItemStatus.OPEN for a in items)
    first = body["strategies"][0]["objectives"][0]["action_items"][0]
    assert tree.strategies[0].objectives[0].action_items[0].due_date == NEW_START + dt.timedelta(
        days=first["due_offset_days"])
    assert [(e.kind, e.team_only) for e in tree.swot_entries] == [
        (SwotKind.OPPORTUNITY, True), (SwotKind.STRENGTH, True), (SwotKind.THREAT, True), (SwotKind.WEAKNESS, True)]
    measurable = [o for s in tree.strategies for o in s.objectives if o.target_value is not None]
    assert measurable and all(o.current_value == 0 for o in measurable)
    assert not tree.reminders_synced  # the scheduler builds the items' reminders


def test_save_keeps_the_structure_and_drops_dates_people_progress_and_notes(session, tree):
    plan, strategy, objective, item = tree
    measured = make_objective(session, strategy, "Win IDNs", measure_unit="IDNs", target_value="3.50",
                              current_value=2)
    make_item(session, measured, "Undated")
    ops.update_action_item(session, OWNER, item.id, ops.ActionItemInput(
        title=item.title, assignee_id=MEMBER.user_id, due_date=dt.date(2025, 3, 1), notes="Secret note"))
    ops.add_swot_entry(session, OWNER, plan.id, "threat", "Generics in Q3")
    progress.record_progress(session, OWNER, measured.id, "at_risk", "Budget freeze")
    progress.set_objective_owner(session, OWNER, objective.id, MEMBER.user_id)
    template = templates.save_as_template(session, OWNER, plan.id, "  Hospital plan ")
    session.commit()
    assert template.name == "Hospital plan" and template.owner_id == OWNER.user_id
    assert template.body == {
        "strategies": [{"title": "Improve awareness", "description": "", "objectives": [
            {"title": "Explain outcomes", "description": "", "measure_unit": "", "target_value": None,
             "action_items": [{"title": "Share the latest study", "due_offset_days": 59}]},
            {"title": "Win IDNs", "description": "", "measure_unit": "IDNs", "target_value": "3.5",
             "action_items": [{"title": "Undated", "due_offset_days": None}]},
        ]}],
        "swot": [{"kind": "threat", "text": "Generics in Q3"}],
    }
    copy = new_plan(session, templates.template_key(template), actor=STRANGER)
    session.commit()
    copied = ops.load_plan_tree(session, OWNER.team_id, copy.id)
    assert structure(copied) == [("Improve awareness", [
        ("Explain outcomes", "", None, [("Share the latest study", NEW_START + dt.timedelta(days=59))]),
        ("Win IDNs", "IDNs", Decimal("3.5"), [("Undated", None)])])]
    objectives = copied.strategies[0].objectives
    assert [(o.owner_id, o.progress_status, o.progress_note, o.current_value) for o in objectives] == [
        (None, None, "", None), (None, None, "", Decimal(0))]
    assert objectives[0].action_items[0].notes == "" and copied.owner_id == STRANGER.user_id


def test_due_dates_stay_inside_a_shorter_plan(session):
    plan = make_plan(session, start_date=dt.date(2025, 1, 1), end_date=dt.date(2025, 1, 31))
    item_far = make_item(session, make_objective(session, make_strategy(session, plan)), "Late",
                         due=dt.date(2025, 1, 31))
    template = templates.save_as_template(session, OWNER, plan.id, "Short")
    data = plan_input(name="Shorter", start_date=dt.date(2026, 1, 1), end_date=dt.date(2026, 1, 10))
    copy = templates.create_plan_from_template(session, OWNER, data, templates.template_key(template))
    assert session.scalar(select(ActionItem.due_date).where(ActionItem.plan_id == copy.id)) == dt.date(2026, 1, 10)
    assert item_far.due_date == dt.date(2025, 1, 31)


def test_every_field_error_at_once_with_the_template(session):
    with pytest.raises(ValidationError) as raised:
        templates.create_plan_from_template(session, OWNER, plan_input(name="", end_date=None), "template:99999")
    assert set(raised.value.errors) == {"name", "end_date", "template"}
    for key in ("builtin:nope", "template:abc", "template:" + "9" * 30, "", None):
        with pytest.raises(ValidationError) as raised:
            templates.create_plan_from_template(session, OWNER, plan_input(), key)
        assert set(raised.value.errors) == {"template"}


def test_names_are_unique_in_a_workspace_whatever_the_case(session, tree):
    plan, *_ = tree
    templates.save_as_template(session, OWNER, plan.id, "Hospital plan")
    session.commit()
    for name in ("hospital PLAN", "Key account plan", "", "x" * 151):
        with pytest.raises(ValidationError) as raised:
            templates.save_as_template(session, OWNER, plan.id, name)
        assert raised.value.field == "name"
        session.rollback()
    other = ops.create_plan(session, OUTSIDER, plan_input())
    templates.save_as_template(session, OUTSIDER, other.id, "Hospital plan")  # another workspace: fine
    session.commit()
    assert session.scalar(select(func.count()).select_from(PlanTemplate)) == 2


def test_a_broken_body_is_refused_with_every_place_named(session):
    with pytest.raises(ValidationError) as raised:
        templates.add_template(session, OWNER, "Broken", {
            "strategies": [{"title": "", "objectives": [{"title": "O", "target_value": "lots",
                                                         "action_items": [{"title": "A", "due_offset_days": -3}]}]}],
            "swot": [{"kind": "risk", "text": "x"}]})
    message = raised.value.errors["template"]
    for place in ("strategies[0].title", "strategies[0].objectives[0].target_value",
                  "strategies[0].objectives[0].action_items[0].due_offset_days", "swot[0].kind"):
        assert place in message
    with pytest.raises(ValidationError):
        templates.check_body(["not", "a", "body"])


def test_owner_or_any_plan_owner_renames_and_deletes(session, tree):
    plan, *_ = tree
    template = templates.save_as_template(session, MEMBER, plan.id, "Mine")
    session.commit()
    templates.rename_template(session, MEMBER, template.id, "Renamed", expected_version=template.version)
    session.commit()
    assert template.name == "Renamed"
    with pytest.raises(Conflict):
        templates.rename_template(session, OWNER, template.id, "Again", expected_version=1)
    session.rollback()
    with pytest.raises(PermissionDenied):  # owns no plan and did not make it
        templates.rename_template(session, STRANGER, template.id, "Theirs")
    session.rollback()
    with pytest.raises(PermissionDenied):
        templates.delete_template(session, STRANGER, template.id)
    session.rollback()
    for actor in (EXTERNAL, Actor(MEMBER.team_id, MEMBER.user_id, external=True)):
        with pytest.raises(PermissionDenied):
            templates.delete_template(session, actor, template.id)
        session.rollback()
    with pytest.raises(NotFound):
        templates.delete_template(session, OUTSIDER, template.id)
    session.rollback()
    templates.delete_template(session, OWNER, template.id)  # owns a plan here
    session.commit()
    assert session.scalar(select(func.count()).select_from(PlanTemplate)) == 0


def test_people_from_other_organisations_never_see_or_use_templates(session, tree):
    plan, *_ = tree
    template = templates.save_as_template(session, OWNER, plan.id, "Ours")
    session.commit()
    for operation in (
        lambda: templates.list_templates(session, EXTERNAL),
        lambda: templates.get_template(session, EXTERNAL, template.id),
        lambda: templates.template_body(session, EXTERNAL, "builtin:goals"),
        lambda: templates.save_as_template(session, EXTERNAL, plan.id, "Theirs"),
        lambda: templates.create_plan_from_template(session, EXTERNAL, plan_input(), "builtin:goals"),
    ):
        with pytest.raises(PermissionDenied):
            operation()
        session.rollback()
    with pytest.raises(ValidationError):  # another workspace's key: no such template here
        templates.create_plan_from_template(session, OUTSIDER, plan_input(), templates.template_key(template))


def test_a_plan_from_a_template_in_a_fixed_number_of_statements(engine, session):
    small, big = make_plan(session, name="Small"), make_plan(session, name="Big")
    bulk_tree(session, small, 1, 1, 2)
    bulk_tree(session, big, 6, 5, 10)
    keys = [templates.template_key(templates.save_as_template(session, OWNER, p.id, p.name)) for p in (small, big)]
    session.commit()
    counts = []
    for n, key in enumerate(keys):
        with counting(engine) as counter:
            new_plan(session, key, name=f"Copy {n}")
            session.flush()  # its change log too
        counts.append(counter.count)
    assert counts[0] == counts[1]
    assert session.scalar(select(func.count()).select_from(SwotEntry)) == 0


def test_templates_go_out_to_a_file_and_come_back(session, tree):
    plan, *_ = tree
    templates.save_as_template(session, OWNER, plan.id, "Hospital plan")
    templates.add_template(session, OWNER, "Empty", {"strategies": [], "swot": []})
    session.commit()
    entries = templates.export_templates(session, MEMBER)
    assert [e["name"] for e in entries] == ["Empty", "Hospital plan"]
    assert entries[1]["strategies"][0]["objectives"][0]["action_items"] == [
        {"title": "Share the latest study", "due_offset_days": 59}]
    created = templates.import_templates(session, OUTSIDER, entries)  # into another workspace
    session.commit()
    assert [t.name for t in created] == ["Empty", "Hospital plan"]
    assert templates.export_templates(session, OUTSIDER) == entries
    for bad, path in [([{"name": "X", "plans": []}], "templates[0].plans"), ([{"name": "Empty"}], "templates[0].name"),
                      ([{"name": "Y", "strategies": [{"title": ""}]}], "templates[0]"), ("x", "templates")]:
        with pytest.raises(ValidationError) as raised:
            templates.import_templates(session, OUTSIDER, bad)
        assert raised.value.field == path
        session.rollback()
    with pytest.raises(PermissionDenied):
        templates.export_templates(session, EXTERNAL)
