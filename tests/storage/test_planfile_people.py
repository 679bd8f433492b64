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
    checked = check_stakeholders(ENTRIES, date_of)
    owner, names = check_objective_people({"owner": "U0OWNS", "stakeholders": ["Cy Diaz", "Ada Obi"]}, checked)
    assert (owner, names) == ("U0OWNS", [2, 0])
    stamp = dict(version=1, created_at=dt.datetime.now(dt.timezone.utc), updated_at=dt.datetime.now(dt.timezone.utc))
    write_stakeholders(session, plan.team_id, stamp,
                       [(plan.id, SimpleNamespace(stakeholders=checked.columns, bosses=checked.bosses))],
                       [(plan.id, objective.id, names)])
    entries, linked, _ = plan_people(session, OWNER.team_id, plan.id)
    assert entries == ENTRIES
    assert sorted(linked[objective.id]) == ["Ada Obi", "Cy Diaz"]


@pytest.mark.parametrize("entries, path, message", [
    ([{"name": ""}], "stakeholders[0].name", "required"),
    ([{"name": "A", "role": "boss"}], "stakeholders[0].role", "must be one of"),
    ([{"name": "A", "slack_user": "not an id"}], "stakeholders[0].slack_user", "Slack user id"),
    ([{"name": "A", "last_contact_on": "yesterday"}], "stakeholders[0].last_contact_on", "must be a date"),
    ([{"name": "A", "mood": "fine"}], "stakeholders[0].mood", "unknown field"),
    ([{"name": "A", "reports_to": "Nobody"}], "stakeholders[0].reports_to", "no stakeholder"),
    ([{"name": "A"}, {"name": "A"}, {"name": "B", "reports_to": "A"}], "stakeholders[2].reports_to",
     "2 stakeholders are named “A”: give each of them a `ref` (such as “A (2)”) and refer to that"),
    ([{"name": "A", "ref": "X"}, {"name": "B", "ref": "X"}], "stakeholders[1].ref", "ref of stakeholders[0]"),
    ([{"name": "A", "ref": "B"}, {"name": "B"}], "stakeholders[0].ref", "another stakeholder's name"),
    ([{"name": "A", "ref": 2}], "stakeholders[0].ref", "must be text"),
    ([{"name": "A", "reports_to": "B"}, {"name": "B", "reports_to": "A"}], "stakeholders[0].reports_to", "loop"),
    ([{"name": "A", "reports_to": "A"}], "stakeholders[0].reports_to", "loop"),
    ("Ada", "stakeholders", "must be a list"),
])
def test_each_mistake_is_named_by_its_place(entries, path, message):
    with pytest.raises(ValidationError) as raised:
        check_stakeholders(entries, date_of)
    assert raised.value.field == path and message in raised.value.message


def test_an_objectives_people_must_be_the_plans():
    checked = check_stakeholders([{"name": "A"}, {"name": "B"}, {"name": "B", "ref": "B (2)"}], date_of)
    for raw, path in [({"stakeholders": ["Z"]}, "stakeholders[0]"), ({"stakeholders": ["A", "B"]}, "stakeholders[1]"),
                      ({"stakeholders": "A"}, "stakeholders"), ({"owner": "no way"}, "owner")]:
        with pytest.raises(ValidationError) as raised:
            check_objective_people(raw, checked)
        assert raised.value.field == path
    assert check_objective_people({}, checked) == (None, [])
    # A ref picks one of two of the same name; a name then still means the one of it.
    assert check_objective_people({"stakeholders": ["B (2)", "A", "A"]}, checked) == (None, [2, 0])


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


# ---------------------------------------------------------------------------
# Two people of one name; customer-owned items; the people the scheduler will DM

TWINS_FILE = """\
plans:
  - name: Twins plan
    account: Acme Health
    start_date: 2025-01-01
    end_date: 2025-12-31
    status: active
    owner: UOWNER
    team: [UFOLLOW]
    customer_channel: C0SHARED
    strategies:
      - title: Win the board
        shared_with_customer: true
        objectives:
          - title: Formulary listing
            shared_with_customer: true
            owner: UOWNS
            stakeholders: [Ada Obi, John Smith (2)]
            action_items:
              - title: Send the study
                assignee: UFOLLOW
                status: open
                shared_with_customer: true
                customer_contact: John Smith (2)
                follow_up: UFOLLOW
              - title: Sign the order
                assignee: U0CUSTOMER
                status: open
                shared_with_customer: true
                follow_up: UOWNER
              - title: Plain
                assignee: UPLAIN
                status: open
                shared_with_customer: false
    stakeholders:
      - name: Ada Obi
      - name: John Smith
        ref: John Smith (1)
        title: CFO
        reports_to: Ada Obi
      - name: John Smith
        ref: John Smith (2)
        title: Buyer
        reports_to: John Smith (1)
"""


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_two_people_of_one_name_and_a_customer_contacts_item_come_back_the_same(session, fmt):
    from sqlalchemy import select

    from storage.models import AccountPlan, ActionItem, Objective, ObjectiveStakeholder, Person, Stakeholder
    from storage.planfile import dump_plan_file, export_plans, import_plan_file, parse_plan_file

    text = TWINS_FILE if fmt == "yaml" else dump_plan_file(parse_plan_file(TWINS_FILE), "json")
    (plan_id,) = import_plan_file(session, "T0TWINS", text, fmt, actor_id="UIMPORTS")
    session.commit()
    people = session.scalars(select(Stakeholder).where(Stakeholder.plan_id == plan_id)
                             .order_by(Stakeholder.position)).all()
    ada, cfo, buyer = people
    assert (cfo.reports_to_id, buyer.reports_to_id, buyer.title) == (ada.id, cfo.id, "Buyer")
    (objective,) = session.scalars(select(Objective).where(Objective.plan_id == plan_id)).all()
    links = set(session.execute(select(ObjectiveStakeholder.stakeholder_id)
                                .where(ObjectiveStakeholder.objective_id == objective.id)).scalars())
    assert links == {buyer.id, ada.id}
    assert session.get(AccountPlan, plan_id).customer_channel_id == "C0SHARED"
    items = session.execute(select(ActionItem.title, ActionItem.assignee_id, ActionItem.customer_contact_id,
                                   ActionItem.follow_up_id).where(ActionItem.plan_id == plan_id)
                            .order_by(ActionItem.position)).all()
    assert items == [("Send the study", "UFOLLOW", buyer.id, "UFOLLOW"),
                     ("Sign the order", "U0CUSTOMER", None, "UOWNER"), ("Plain", "UPLAIN", None, None)]
    # As the app's own paths: the objective's owner, the assignees and follow-up owners
    # have a row the scheduler looks up before their first DM.
    assert set(session.scalars(select(Person.user_id).where(Person.team_id == "T0TWINS"))) == {
        "UOWNS", "UFOLLOW", "U0CUSTOMER", "UOWNER", "UPLAIN"}

    assert export_plans(session, "T0TWINS", [plan_id], fmt) == text
    again = import_plan_file(session, "T0TWINS2", text, fmt)
    session.commit()
    assert export_plans(session, "T0TWINS2", again, fmt) == text


def test_the_apps_twins_and_customer_items_export_with_refs_and_import_again(session):
    """Made in the app: two stakeholders of one name (and one literally named like a
    ref), a customer contact's item; the file refers to each one apart."""
    from storage.customer_items import CustomerOwner, add_item
    from storage.planfile import export_plans, import_plan_file
    from storage.plans import ActionItemInput
    from storage.stakeholders import StakeholderInput, add_stakeholder

    plan, _, objective, _ = make_tree(session)
    first = add_stakeholder(session, OWNER, plan.id, StakeholderInput(name="John Smith"))
    add_stakeholder(session, OWNER, plan.id, StakeholderInput(name="John Smith (2)"))
    second = add_stakeholder(session, OWNER, plan.id, StakeholderInput(name="John Smith", reports_to_id=first.id,
                                                                       objective_ids=[objective.id]))
    add_item(session, OWNER, objective.id, ActionItemInput("Send the study", None, None),
             CustomerOwner(contact_id=second.id))
    session.commit()
    text = export_plans(session, plan.team_id, [plan.id], "yaml")
    assert "ref: John Smith (1)" in text and "ref: John Smith (3)" in text  # (2) is someone's name
    assert "reports_to: John Smith (1)" in text and "stakeholders: [John Smith (3)]" in text
    assert "customer_contact: John Smith (3)" in text and f"follow_up: {OWNER.user_id}" in text
    ids = import_plan_file(session, "T0ELSEWHERE", text)
    assert export_plans(session, "T0ELSEWHERE", ids, "yaml") == text


@pytest.mark.parametrize(("item", "path", "message"), [
    ({"customer_contact": "John Smith"}, "customer_contact", "2 stakeholders are named “John Smith”"),
    ({"customer_contact": "Nobody"}, "customer_contact", "no stakeholder of this plan is named “Nobody”"),
    ({"customer_contact": "Ada Obi"}, "customer_contact", "customer contacts without Slack"),  # has Slack
    ({"customer_contact": "Ben Cole"}, "customer_contact", "customer contacts without Slack"),  # ours
    ({"customer_contact": "John Smith (1)", "follow_up": "UELSE"}, "follow_up", "on its team"),
    ({"assignee": "U0CUSTOMER", "follow_up": "UELSE"}, "follow_up", "on its team"),
    ({"customer_contact": "John Smith (1)", "assignee": "UOWNER", "follow_up": "UFOLLOW"}, "assignee",
     "assigned to its follow-up owner"),
    ({"customer_contact": "John Smith (1)", "assignee": "UELSE"}, "follow_up", "on its team"),
    ({"follow_up": "not a user"}, "follow_up", "Slack user id"),
])
def test_a_bad_customer_owner_is_named(session, item, path, message):
    from storage.planfile import PlanFileError, import_plans

    plan = {"name": "P", "account": "Acme", "start_date": "2025-01-01", "end_date": "2025-12-31",
            "owner": "UOWNER", "team": ["UFOLLOW"],
            "stakeholders": [{"name": "Ada Obi", "slack_user": "U0ADA"}, {"name": "Ben Cole", "side": "ours"},
                             {"name": "John Smith", "ref": "John Smith (1)"}, {"name": "John Smith"}],
            "strategies": [{"title": "S", "objectives": [{"title": "O", "action_items": [
                {"title": "Item", **item}]}]}]}
    with pytest.raises(PlanFileError) as raised:
        import_plans(session, "T0BAD", {"plans": [plan]})
    assert raised.value.path == f"plans[0].strategies[0].objectives[0].action_items[0].{path}"
    assert message in raised.value.message


def test_a_contacts_item_without_follow_up_is_followed_up_by_its_assignee_else_who_imports(session):
    from sqlalchemy import select

    from storage.models import ActionItem
    from storage.planfile import import_plans

    def plan(**item):
        return {"name": "P", "account": "Acme", "start_date": "2025-01-01", "end_date": "2025-12-31",
                "owner": "UOWNER", "team": ["UFOLLOW", "UIMPORTS"], "stakeholders": [{"name": "Cy"}],
                "strategies": [{"title": "S", "objectives": [{"title": "O", "action_items": [
                    {"title": "Item", "customer_contact": "Cy", **item}]}]}]}

    ids = import_plans(session, "T0DEF", {"plans": [plan(assignee="UFOLLOW"), plan()]}, actor_id="UIMPORTS")
    rows = session.execute(select(ActionItem.assignee_id, ActionItem.follow_up_id)
                           .where(ActionItem.plan_id.in_(ids)).order_by(ActionItem.plan_id)).all()
    assert rows == [("UFOLLOW", "UFOLLOW"), ("UIMPORTS", "UIMPORTS")]


def test_a_bad_customer_channel_is_named(session):
    from storage.planfile import PlanFileError, import_plans

    plan = {"name": "P", "account": "Acme", "start_date": "2025-01-01", "end_date": "2025-12-31",
            "owner": "UOWNER", "customer_channel": "#acme-shared"}
    with pytest.raises(PlanFileError) as raised:
        import_plans(session, "T0BAD", {"plans": [plan]})
    assert raised.value.path == "plans[0].customer_channel"
    assert "Slack channel" in raised.value.message
