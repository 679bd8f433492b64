"""The people of a plan in a plan file (storage/planfile/people.py): stakeholders and
objective owners checked with the form's rules, references by name, and what is
written comes back out the same."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from storage.errors import ValidationError
from storage.planfile.people import check_objective_people, check_stakeholders, plan_people, write_stakeholders

from .conftest import OWNER, make_tree

ENTRIES = [
    {"name": "Ada Obi", "title": "CEO", "slack_user": "U0ADA", "role": "sponsor", "influence": "high",
     "stance": "supporter", "last_contact_on": dt.date(2025, 2, 1), "notes": "Met at the summit"},
    {"name": "Ben Cole", "side": "ours", "role": "champion", "reports_to": "Ada Obi"},
    {"name": "Cy Diaz", "reports_to": "Ben Cole"},
]


def date_of(entry, key):
    value = entry.get(key)
    if value is None or isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        raise ValidationError(key, "must be a date (YYYY-MM-DD)") from None


def test_written_and_read_back_the_same(session):
    plan, _, objective, _ = make_tree(session)
    columns, bosses, _ = check_stakeholders(ENTRIES, date_of)
    owner, names = check_objective_people({"owner": "U0OWNS", "stakeholders": ["Cy Diaz", "Ada Obi"]}, columns)
    assert (owner, names) == ("U0OWNS", ["Cy Diaz", "Ada Obi"])
    stamp = dict(version=1, created_at=dt.datetime.now(dt.timezone.utc), updated_at=dt.datetime.now(dt.timezone.utc))
    write_stakeholders(session, plan.team_id, stamp, [(plan.id, SimpleNamespace(stakeholders=columns, bosses=bosses))],
                       [(plan.id, objective.id, names)])
    entries, linked = plan_people(session, OWNER.team_id, plan.id)
    assert entries == ENTRIES
    assert sorted(linked[objective.id]) == ["Ada Obi", "Cy Diaz"]


@pytest.mark.parametrize("entries, path, message", [
    ([{"name": ""}], "stakeholders[0].name", "required"),
    ([{"name": "A", "role": "boss"}], "stakeholders[0].role", "must be one of"),
    ([{"name": "A", "slack_user": "not an id"}], "stakeholders[0].slack_user", "Slack user id"),
    ([{"name": "A", "last_contact_on": "yesterday"}], "stakeholders[0].last_contact_on", "must be a date"),
    ([{"name": "A", "mood": "fine"}], "stakeholders[0].mood", "unknown field"),
    ([{"name": "A", "reports_to": "Nobody"}], "stakeholders[0].reports_to", "no stakeholder"),
    ([{"name": "A"}, {"name": "A"}, {"name": "B", "reports_to": "A"}], "stakeholders[2].reports_to", "2 stakeholders"),
    ([{"name": "A", "reports_to": "B"}, {"name": "B", "reports_to": "A"}], "stakeholders[0].reports_to", "loop"),
    ([{"name": "A", "reports_to": "A"}], "stakeholders[0].reports_to", "loop"),
    ("Ada", "stakeholders", "must be a list"),
])
def test_each_mistake_is_named_by_its_place(entries, path, message):
    with pytest.raises(ValidationError) as raised:
        check_stakeholders(entries, date_of)
    assert raised.value.field == path and message in raised.value.message


def test_an_objectives_people_must_be_the_plans():
    columns, _, _ = check_stakeholders([{"name": "A"}, {"name": "B"}, {"name": "B"}], date_of)
    for raw, path in [({"stakeholders": ["Z"]}, "stakeholders[0]"), ({"stakeholders": ["A", "B"]}, "stakeholders[1]"),
                      ({"stakeholders": "A"}, "stakeholders"), ({"owner": "no way"}, "owner")]:
        with pytest.raises(ValidationError) as raised:
            check_objective_people(raw, columns)
        assert raised.value.field == path
    assert check_objective_people({}, columns) == (None, [])


# ---------------------------------------------------------------------------
# In whole plan files: import → export → import, on SQLite and PostgreSQL

PEOPLE_FILE = """\
plans:
  - name: People plan
    account: Acme Health
    start_date: 2025-01-01
    end_date: 2025-12-31
    status: active
    owner: UOWNER
    strategies:
      - title: Win the board
        shared_with_customer: true
        objectives:
          - title: Formulary listing
            shared_with_customer: true
            owner: UOWNS
            stakeholders: [Ada Obi, Cy Diaz]
            action_items:
              - title: Meet the board
                assignee: UOWNS
                status: open
                shared_with_customer: true
          - title: Owned by the plan's owner
            shared_with_customer: false
    stakeholders:
      - name: Ada Obi
        title: CEO
        slack_user: U0ADA
        role: sponsor
        influence: high
        stance: supporter
        last_contact_on: 2025-02-01
        notes: Met at the summit
      - name: Ben Cole
        side: ours
        role: champion
        reports_to: Ada Obi
      - name: Cy Diaz
        role: blocker
        stance: opponent
        reports_to: Ben Cole
      - name: Dee Fox
        reports_to: Ada Obi
"""


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_a_plans_people_go_out_and_come_back_the_same(session, fmt):
    from sqlalchemy import select

    from storage.models import Objective, ObjectiveStakeholder, Stakeholder
    from storage.planfile import dump_plan_file, export_plans, import_plan_file, parse_plan_file

    text = PEOPLE_FILE if fmt == "yaml" else dump_plan_file(parse_plan_file(PEOPLE_FILE), "json")
    (plan_id,) = import_plan_file(session, "T0PEOPLE", text, fmt)
    session.commit()
    people = session.scalars(select(Stakeholder).where(Stakeholder.plan_id == plan_id)
                             .order_by(Stakeholder.position)).all()
    by_id = {p.id: p.name for p in people}
    assert [(p.name, by_id.get(p.reports_to_id), p.team_id) for p in people] == [
        ("Ada Obi", None, "T0PEOPLE"), ("Ben Cole", "Ada Obi", "T0PEOPLE"), ("Cy Diaz", "Ben Cole", "T0PEOPLE"),
        ("Dee Fox", "Ada Obi", "T0PEOPLE")]
    objectives = session.scalars(select(Objective).where(Objective.plan_id == plan_id)
                                 .order_by(Objective.position)).all()
    assert [o.owner_id for o in objectives] == ["UOWNS", None]
    links = session.execute(select(ObjectiveStakeholder.objective_id, ObjectiveStakeholder.stakeholder_id,
                                   ObjectiveStakeholder.team_id)).all()
    assert sorted((o, by_id[s], t) for o, s, t in links) == [
        (objectives[0].id, "Ada Obi", "T0PEOPLE"), (objectives[0].id, "Cy Diaz", "T0PEOPLE")]

    exported = export_plans(session, "T0PEOPLE", [plan_id], fmt)
    assert exported == text
    again = import_plan_file(session, "T0PEOPLE2", exported, fmt)  # another workspace: the same again
    session.commit()
    assert export_plans(session, "T0PEOPLE2", again, fmt) == text


def test_people_added_in_the_app_round_trip(session):
    """Stakeholders, links and owners made by the app's own operations come back from a
    file as they were; an objective owned by the plan's owner follows the plan's."""
    from storage.planfile import export_plans, import_plan_file
    from storage.progress import set_objective_owner
    from storage.stakeholders import StakeholderInput, add_stakeholder

    plan, _, objective, _ = make_tree(session)
    boss = add_stakeholder(session, OWNER, plan.id, StakeholderInput(name="Ada Obi", role="sponsor"))
    add_stakeholder(session, OWNER, plan.id, StakeholderInput(name="Ben Cole", reports_to_id=boss.id,
                                                              objective_ids=[objective.id]))
    set_objective_owner(session, OWNER, objective.id, "U0OTHER")
    session.commit()
    first = export_plans(session, plan.team_id, [plan.id], "yaml")
    assert "owner: U0OTHER" in first and "stakeholders: [Ben Cole]" in first and "reports_to: Ada Obi" in first
    ids = import_plan_file(session, "T0ELSEWHERE", first)
    assert export_plans(session, "T0ELSEWHERE", ids, "yaml") == first
    to_owner = first.replace("    owner: U0OTHER", f"    owner: {plan.owner_id}")
    (same,) = import_plan_file(session, "T0THIRD", to_owner)
    assert "U0OTHER" not in export_plans(session, "T0THIRD", [same], "yaml")


@pytest.mark.parametrize(("change", "path", "message"), [
    ({"stakeholders": [{"name": "A"}, {"name": "B", "role": "boss"}]}, "plans[3].stakeholders[1].role",
     "must be one of"),
    ({"stakeholders": [{"name": "A", "reports_to": "B"}, {"name": "B", "reports_to": "A"}]},
     "plans[3].stakeholders[0].reports_to", "makes a loop"),
    ({"stakeholders": [{"name": "A"}], "strategies": [{"title": "S", "objectives": [
        {"title": "O", "stakeholders": ["A", "Zed"]}]}]},
     "plans[3].strategies[0].objectives[0].stakeholders[1]", "no stakeholder of this plan is named “Zed”"),
    ({"strategies": [{"title": "S", "objectives": [{"title": "O", "owner": "not a user"}]}]},
     "plans[3].strategies[0].objectives[0].owner", "Slack user id"),
    ({"stakeholders": [{"name": f"P{i}"} for i in range(201)]}, "plans[3].stakeholders[200]", "at most 200"),
])
def test_a_bad_person_is_named_and_nothing_is_written(session, change, path, message):
    from sqlalchemy import func, select

    from storage.models import AccountPlan, Stakeholder
    from storage.planfile import PlanFileError, import_plans

    def plan(n, **more):
        return {"name": f"P{n}", "account": "Acme", "start_date": "2025-01-01", "end_date": "2025-12-31",
                "owner": "UOWNER", "stakeholders": [{"name": "Ok"}], **more}

    with pytest.raises(PlanFileError) as raised:
        import_plans(session, "T0BAD", {"plans": [plan(0), plan(1), plan(2), plan(3, **change)]}, batch_plans=2)
    assert raised.value.path == path and message in raised.value.message, str(raised.value)
    assert str(raised.value).startswith(f"{path}: ")
    session.rollback()
    assert session.scalar(select(func.count()).select_from(AccountPlan)) == 0
    assert session.scalar(select(func.count()).select_from(Stakeholder)) == 0
