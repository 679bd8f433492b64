"""Templates in plan files (storage/templates/files.py through storage/planfile):
`templates:` beside or instead of `plans:`, read entry by entry like plans, written back
the same, the first bad entry named by its place. On SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json

import pytest
import yaml
from sqlalchemy import func, select

from storage import planfile, templates
from storage.models import AccountPlan, PlanTemplate
from storage.planfile import PlanFileError, export_plans, import_file, import_plan_file, iter_file_parts

from .conftest import MEMBER, OWNER, make_tree

BODY = {"strategies": [{"title": "Grow", "description": "", "objectives": [
    {"title": "Listings", "description": "Formularies", "measure_unit": "IDNs", "target_value": "12.5",
     "action_items": [{"title": "Meet the board", "due_offset_days": 30}, {"title": "Follow up",
                                                                           "due_offset_days": None}]}]}],
        "swot": [{"kind": "strength", "text": "What do they value in us?"}]}


def _count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_plans_and_templates_round_trip(session, fmt):
    plan, *_ = make_tree(session)
    templates.add_template(session, OWNER, "Hospital", BODY)
    templates.add_template(session, MEMBER, "Blank-ish", {"strategies": [], "swot": []})
    session.commit()
    both = export_plans(session, OWNER.team_id, [plan.id], fmt, templates=True)
    alone = export_plans(session, OWNER.team_id, [], fmt, templates=True)
    document = yaml.safe_load(alone) if fmt == "yaml" else json.loads(alone)
    assert list(document) == ["templates"]
    assert [(t["name"], t["owner"]) for t in document["templates"]] == [("Blank-ish", "UMEMBER"), ("Hospital", "UOWNER")]
    assert document["templates"][1]["strategies"][0]["objectives"][0]["target_value"] == "12.5"

    imported = import_file(session, "T0TPL", both, fmt)
    session.commit()
    assert len(imported.plans) == 1 and len(imported.templates) == 2
    assert export_plans(session, "T0TPL", imported.plans, fmt, templates=True) == both
    only = import_file(session, "T0TPL2", alone, fmt)
    assert only.plans == [] and len(only.templates) == 2
    assert export_plans(session, "T0TPL2", [], fmt, templates=True) == alone
    # Owned as the file says; the built-ins are never written.
    assert {t.owner_id for t in session.scalars(select(PlanTemplate).where(PlanTemplate.team_id == "T0TPL2"))} == {
        "UOWNER", "UMEMBER"}
    assert "builtin" not in alone and "Key account plan" not in alone


def test_templates_before_plans_and_the_importer_owns_those_that_name_nobody(session):
    text = (
        "templates:\n  - name: First\n    strategies: []\n"
        "plans:\n  - name: P\n    account: A\n    start_date: 2025-01-01\n    end_date: 2025-12-31\n"
        "templates:\n  - name: Second\n"
    )
    with pytest.raises(PlanFileError, match="duplicate key 'templates'"):
        import_file(session, "T0ORDER", text, actor_id="UIMPORTS")
    session.rollback()
    text = text.rsplit("templates:", 1)[0]
    imported = import_file(session, "T0ORDER", text, actor_id="UIMPORTS")
    (template,) = session.scalars(select(PlanTemplate).where(PlanTemplate.team_id == "T0ORDER"))
    assert (template.name, template.owner_id, len(imported.plans)) == ("First", "UIMPORTS", 1)


@pytest.mark.parametrize(("text", "error"), [
    ("templates:\n  - name: A\n  - name: B\n    mood: x\n", "templates[1].mood: unknown field (expected one of name, owner, "
                                                         "strategies, swot)"),
    ("templates:\n  - name: A\n  - name: a\n", "templates[1].name: a template of this name exists: choose another"),
    ("templates:\n  - name: A\n  - name: B\n    strategies: [{title: ''}]\n",
     "templates[1]: strategies[0].title: required"),
    ("templates:\n  - name: Key account plan\n", "templates[0].name: a built-in template has this name: choose another"),
    ("templates:\n  - name: A\n    owner: not a user\n", "templates[0].owner: must be a Slack user id such as U0123ABCD"),
    ("templates:\n  - {name: A, owner: UX}\n  - name: B\n", "templates[1].owner: required"),  # no owner, no importer
    ("templates: 3\n", "templates: must be a list"),
    ("plans: []\ntemplate: []\n", "template: unknown field (expected plans or templates)"),
    ("{}\n", "plans: required"),
    ("just text\n", "a plan file is a mapping with a `plans:` or `templates:` list"),
])
@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_a_bad_template_is_named_and_nothing_is_written(session, text, error, fmt):
    plans = "plans:\n  - {name: P, account: A, start_date: 2025-01-01, end_date: 2025-12-31, owner: UOWNER}\n"
    if text.startswith("templates"):
        text = plans + text
    if fmt == "json":
        document = yaml.safe_load(text)
        text = json.dumps(document, default=str) if isinstance(document, dict) else '"just text"'
    with pytest.raises(PlanFileError) as raised:
        import_file(session, "T0BADTPL", text, fmt, actor_id=None if "owner: required" in error else "UIMPORTS")
    assert str(raised.value) == error
    session.rollback()
    assert _count(session, PlanTemplate) == 0 and _count(session, AccountPlan) == 0


def test_a_file_of_plans_only_still_refuses_templates(session):
    with pytest.raises(PlanFileError, match=r"^templates: unknown field \(expected plans\)$"):
        import_plan_file(session, "T0P", "plans: []\ntemplates: []\n")


@pytest.mark.parametrize(("fmt", "bound"), [("json", 3_000), ("yaml", 40_000)])
def test_templates_are_read_one_by_one_too(monkeypatch, fmt, bound):
    monkeypatch.setattr(planfile.parse, "READ_CHARS", 1000)
    entries = [{"name": f"T{n}", "owner": "UOWNER", **BODY} for n in range(400)]
    plans = [{"name": f"P{n}", "account": "A"} for n in range(100)]
    text = planfile.dump_plan_file(plans, fmt, templates=entries)

    class Tracking(io.StringIO):
        served = 0

        def read(self, size=-1):
            data = super().read(size)
            self.served += len(data)
            return data

    stream = Tracking(text)
    seen = []
    for section, entry in iter_file_parts(stream, fmt):
        seen.append((section, entry["name"]))
        assert stream.served - text.index(f"{entry['name']}") < bound
    assert seen == [("plans", p["name"]) for p in plans] + [("templates", t["name"]) for t in entries]
