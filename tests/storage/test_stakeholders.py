"""Key stakeholders: the form's rules, the org chart, links to objectives, and who may
read and change them (only owner and team change; never anyone from another
organisation, never an external audience; other workspaces see nothing)."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from sqlalchemy import func, insert, select

from storage import plans as ops
from storage import stakeholders as sh
from storage.domain import (
    STAKEHOLDERS_MAX,
    Actor,
    Audience,
    Influence,
    StakeholderRole,
    StakeholderSide,
    Stance,
    stakeholder_is_stale,
)
from storage.errors import Conflict, NotFound, PermissionDenied, ValidationError
from storage.models import ChangeLogEntry, Objective, ObjectiveStakeholder, Stakeholder
from storage.stakeholders import StakeholderInput

from .conftest import (
    MEMBER,
    OUTSIDER,
    OWNER,
    STRANGER,
    counting,
    make_objective,
    make_plan,
    make_strategy,
    make_tree,
)

EXTERNAL = Actor(OWNER.team_id, "UCUSTOMER", external=True)


def person(name="Dana Reyes", **fields) -> StakeholderInput:
    return StakeholderInput(name=name, **fields)


def names(tree) -> list[tuple[str, int]]:
    return [(s.name, depth) for s, depth in tree]


def test_add_keeps_every_field_and_lists_in_order(session, tree):
    plan, _, objective, _ = tree
    ceo = sh.add_stakeholder(session, OWNER, plan.id, person(
        "Ada Obi", title="CEO", side="customer", slack_user_id="U0ADA", role="sponsor", influence="high",
        stance="supporter", last_contact_on=dt.date(2025, 2, 1), notes="Met at the summit",
        objective_ids=[objective.id]))
    cfo = sh.add_stakeholder(session, MEMBER, plan.id, person(
        "Ben Cole", title="CFO", role=StakeholderRole.DECISION_MAKER, reports_to_id=ceo.id, stance="neutral"))
    session.commit()

    listed = sh.list_stakeholders(session, MEMBER, plan.id)
    assert [s.id for s in listed] == [ceo.id, cfo.id]
    assert [s.position for s in listed] == [0, 1]
    ada = listed[0]
    assert (ada.title, ada.side, ada.slack_user_id, ada.role, ada.influence, ada.stance) == (
        "CEO", StakeholderSide.CUSTOMER, "U0ADA", StakeholderRole.SPONSOR, Influence.HIGH, Stance.SUPPORTER)
    assert (ada.last_contact_on, ada.notes, ada.objective_ids) == (dt.date(2025, 2, 1), "Met at the summit",
                                                                   [objective.id])
    assert listed[1].reports_to_id == ceo.id and listed[1].influence is None
    logged = session.scalars(select(ChangeLogEntry.summary).where(ChangeLogEntry.entity == "stakeholder")).all()
    assert logged == ["added stakeholder “Ada Obi”", "added stakeholder “Ben Cole”"]


def test_every_field_error_of_the_form_at_once(session, tree):
    plan, *_ = tree
    other_plan = make_plan(session, name="Other plan")
    other_objective = make_objective(session, make_strategy(session, other_plan))
    elsewhere = sh.add_stakeholder(session, OWNER, other_plan.id, person("Elsewhere"))
    with pytest.raises(ValidationError) as raised:
        sh.add_stakeholder(session, OWNER, plan.id, StakeholderInput(
            name="  ", title="x" * 151, side="partner", slack_user_id="not an id", role="boss",
            influence="huge", stance="hostile", reports_to_id=elsewhere.id,
            last_contact_on=dt.date.today() + dt.timedelta(days=30), notes="\x00",
            objective_ids=[other_objective.id]))
    assert set(raised.value.errors) == {"name", "title", "side", "slack_user", "role", "influence", "stance",
                                        "reports_to", "last_contact_on", "notes", "objectives"}
    assert raised.value.errors["name"] == "required"
    assert session.scalar(select(func.count()).select_from(Stakeholder)
                          .where(Stakeholder.plan_id == plan.id)) == 0


def test_org_chart_is_an_indented_tree_by_position(session, plan):
    def add(name, boss=None):
        return sh.add_stakeholder(session, OWNER, plan.id, person(name, reports_to_id=boss))

    ceo = add("CEO")
    cfo = add("CFO", ceo.id)
    cmo = add("CMO", ceo.id)
    add("Controller", cfo.id)
    add("Buyer")  # reports to nobody: a second root
    add("Brand lead", cmo.id)
    session.commit()
    tree = sh.stakeholder_tree(sh.list_stakeholders(session, OWNER, plan.id))
    assert names(tree) == [("CEO", 0), ("CFO", 1), ("Controller", 2), ("CMO", 1), ("Brand lead", 2),
                           ("Buyer", 0)]


def test_the_tree_survives_a_loop_it_never_gets(session):
    a = SimpleNamespace(id=1, position=0, reports_to_id=2, name="A")
    b = SimpleNamespace(id=2, position=1, reports_to_id=1, name="B")
    c = SimpleNamespace(id=3, position=2, reports_to_id=3, name="C")
    assert names(sh.stakeholder_tree([a, b, c])) == [("C", 0), ("A", 0), ("B", 1)]


def test_reports_to_never_makes_a_loop(session, plan):
    a = sh.add_stakeholder(session, OWNER, plan.id, person("A"))
    b = sh.add_stakeholder(session, OWNER, plan.id, person("B", reports_to_id=a.id))
    c = sh.add_stakeholder(session, OWNER, plan.id, person("C", reports_to_id=b.id))
    session.commit()
    with pytest.raises(ValidationError) as raised:
        sh.update_stakeholder(session, OWNER, a.id, person("A", reports_to_id=c.id))
    assert raised.value.errors == {"reports_to": "would make a loop: that person reports to this one"}
    session.rollback()
    with pytest.raises(ValidationError) as raised:
        sh.update_stakeholder(session, OWNER, a.id, person("A", reports_to_id=a.id))
    assert raised.value.field == "reports_to"
    session.rollback()
    sh.update_stakeholder(session, OWNER, c.id, person("C", reports_to_id=a.id))  # moving sideways is fine
    session.commit()
    assert names(sh.stakeholder_tree(sh.list_stakeholders(session, OWNER, plan.id))) == [
        ("A", 0), ("B", 1), ("C", 1)]


def test_update_checks_the_version_and_keeps_links_unless_given(session, tree):
    plan, _, objective, _ = tree
    s = sh.add_stakeholder(session, OWNER, plan.id, person(objective_ids=[objective.id]))
    session.commit()
    version = s.version
    sh.update_stakeholder(session, MEMBER, s.id, person("Dana R.", stance="opponent"), expected_version=version)
    session.commit()
    assert (s.name, s.stance, s.objective_ids) == ("Dana R.", Stance.OPPONENT, [objective.id])
    assert s.version == version + 1
    with pytest.raises(Conflict):
        sh.update_stakeholder(session, OWNER, s.id, person("Stale form"), expected_version=version)
    session.rollback()
    sh.update_stakeholder(session, OWNER, s.id, person("Dana R.", objective_ids=[]))
    session.commit()
    assert s.objective_ids == []


def test_two_saves_from_one_version_one_wins(session_factory, tree):
    plan, *_ = tree
    with session_factory() as first:
        s = sh.add_stakeholder(first, OWNER, plan.id, person())
        first.commit()
        stakeholder_id = s.id
    with session_factory() as one, session_factory() as two:
        a = sh.get_stakeholder(one, OWNER, stakeholder_id)
        b = sh.get_stakeholder(two, MEMBER, stakeholder_id)
        sh.update_stakeholder(one, OWNER, a.id, person("One"), expected_version=1)
        one.commit()
        with pytest.raises(Conflict):
            sh.update_stakeholder(two, MEMBER, b.id, person("Two"), expected_version=1)
            two.commit()


def test_linking_objectives_of_the_plan_only(session, tree):
    plan, strategy, objective, _ = tree
    second = make_objective(session, strategy, "Second")
    s = sh.add_stakeholder(session, OWNER, plan.id, person())
    sh.set_stakeholder_objectives(session, OWNER, s.id, [second.id, objective.id, second.id])
    session.commit()
    assert sorted(s.objective_ids) == sorted([objective.id, second.id])
    with pytest.raises(ValidationError) as raised:
        sh.set_stakeholder_objectives(session, OWNER, s.id, [objective.id, 2**40])
    assert raised.value.field == "objectives"
    session.rollback()
    ops.delete_objective(session, OWNER, second.id)  # its links go with it
    session.commit()
    session.expire_all()
    assert sh.get_stakeholder(session, OWNER, s.id).objective_ids == [objective.id]


def test_log_contact_moves_the_date_forward_only(session, plan):
    s = sh.add_stakeholder(session, OWNER, plan.id, person(last_contact_on=dt.date(2025, 3, 1)))
    sh.log_contact(session, MEMBER, s.id, on=dt.date(2025, 2, 1))
    assert s.last_contact_on == dt.date(2025, 3, 1)
    sh.log_contact(session, MEMBER, s.id, on=dt.date(2025, 4, 2))
    assert s.last_contact_on == dt.date(2025, 4, 2)
    sh.log_contact(session, MEMBER, s.id)
    assert s.last_contact_on == dt.datetime.now(dt.timezone.utc).date()
    with pytest.raises(ValidationError):
        sh.log_contact(session, MEMBER, s.id, on=dt.date.today() + dt.timedelta(days=5))


def test_stale_after_sixty_days_without_contact():
    today = dt.date(2025, 6, 30)
    assert stakeholder_is_stale(SimpleNamespace(last_contact_on=None), today)
    assert not stakeholder_is_stale(SimpleNamespace(last_contact_on=today - dt.timedelta(days=59)), today)
    assert stakeholder_is_stale(SimpleNamespace(last_contact_on=today - dt.timedelta(days=60)), today)


def test_delete_hands_reports_to_the_manager_and_closes_the_gap(session, plan):
    boss = sh.add_stakeholder(session, OWNER, plan.id, person("Boss"))
    middle = sh.add_stakeholder(session, OWNER, plan.id, person("Middle", reports_to_id=boss.id))
    report = sh.add_stakeholder(session, OWNER, plan.id, person("Report", reports_to_id=middle.id))
    session.commit()
    sh.delete_stakeholder(session, MEMBER, middle.id)
    session.commit()
    listed = sh.list_stakeholders(session, OWNER, plan.id)
    assert [(s.name, s.position, s.reports_to_id) for s in listed] == [("Boss", 0, None), ("Report", 1, boss.id)]
    sh.delete_stakeholder(session, OWNER, boss.id)
    session.commit()
    assert report.reports_to_id is None


def test_a_plan_holds_at_most_its_limit(session, plan):
    session.execute(insert(Stakeholder), [
        dict(team_id=plan.team_id, plan_id=plan.id, position=i, name=f"P{i}", title="", notes="",
             side=StakeholderSide.CUSTOMER, version=1)
        for i in range(STAKEHOLDERS_MAX)])
    with pytest.raises(ValidationError) as raised:
        sh.add_stakeholder(session, OWNER, plan.id, person("One too many"))
    assert "at most 200" in raised.value.errors["name"]


def test_only_owner_and_team_change_and_strangers_read(session, plan):
    s = sh.add_stakeholder(session, OWNER, plan.id, person())
    session.commit()
    changes = [
        lambda a: sh.add_stakeholder(session, a, plan.id, person("New")),
        lambda a: sh.update_stakeholder(session, a, s.id, person("Edited")),
        lambda a: sh.set_stakeholder_objectives(session, a, s.id, []),
        lambda a: sh.log_contact(session, a, s.id, on=dt.date(2025, 1, 2)),
        lambda a: sh.delete_stakeholder(session, a, s.id),
    ]
    for change in changes:
        with pytest.raises(PermissionDenied):
            change(STRANGER)
        session.rollback()
    assert [x.name for x in sh.list_stakeholders(session, STRANGER, plan.id)] == ["Dana Reyes"]


def test_never_an_outsider_nor_an_external_audience(session, plan):
    s = sh.add_stakeholder(session, OWNER, plan.id, person())
    session.commit()
    reads_and_changes = [
        lambda a: sh.list_stakeholders(session, a, plan.id),
        lambda a: sh.get_stakeholder(session, a, s.id),
        lambda a: sh.add_stakeholder(session, a, plan.id, person("New")),
        lambda a: sh.update_stakeholder(session, a, s.id, person("Edited")),
        lambda a: sh.log_contact(session, a, s.id),
        lambda a: sh.delete_stakeholder(session, a, s.id),
    ]
    # Someone from another organisation, even on the plan's own team: refused.
    external_member = Actor(MEMBER.team_id, MEMBER.user_id, external=True)
    for operation in reads_and_changes:
        for actor in (EXTERNAL, external_member):
            with pytest.raises(PermissionDenied):
                operation(actor)
            session.rollback()
        with pytest.raises(NotFound):  # another workspace: as if nothing were there
            operation(OUTSIDER)
        session.rollback()
    assert sh.list_stakeholders(session, OWNER, plan.id, audience=Audience.EXTERNAL) == []


def test_deleting_the_plan_deletes_its_stakeholders_and_links(session, tree):
    plan, _, objective, _ = tree
    s = sh.add_stakeholder(session, OWNER, plan.id, person(objective_ids=[objective.id]))
    sh.add_stakeholder(session, OWNER, plan.id, person("Report", reports_to_id=s.id))
    session.commit()
    ops.delete_plan(session, OWNER, plan.id)
    session.commit()
    assert session.scalar(select(func.count()).select_from(Stakeholder)) == 0
    assert session.scalar(select(func.count()).select_from(ObjectiveStakeholder)) == 0


def _copy(session, plan, **options):
    return ops.deep_copy_plan(session, MEMBER, plan.id, ops.CopyOptions(
        name="Next year", start_date=dt.date(2026, 1, 1), end_date=dt.date(2026, 12, 31), **options))


def test_a_deep_copy_carries_the_stakeholders_their_chart_and_links(session, tree):
    plan, strategy, objective, _ = tree
    second = make_objective(session, strategy, "Second")
    boss = sh.add_stakeholder(session, OWNER, plan.id, person("Boss", role="sponsor", stance="supporter",
                                                              last_contact_on=dt.date(2025, 3, 1),
                                                              objective_ids=[second.id]))
    sh.add_stakeholder(session, OWNER, plan.id, person("Report", reports_to_id=boss.id, notes="Ally",
                                                       objective_ids=[objective.id, second.id]))
    session.commit()
    copy = _copy(session, plan)
    session.commit()
    copied = sh.list_stakeholders(session, MEMBER, copy.id)
    objectives = {o.id: o.title for o in session.scalars(select(Objective).where(Objective.plan_id == copy.id))}
    assert [(s.name, s.role, s.stance, s.last_contact_on, s.notes) for s in copied] == [
        ("Boss", StakeholderRole.SPONSOR, Stance.SUPPORTER, dt.date(2025, 3, 1), ""),
        ("Report", None, None, None, "Ally")]
    assert copied[1].reports_to_id == copied[0].id
    assert [sorted(objectives[i] for i in s.objective_ids) for s in copied] == [
        ["Second"], ["Explain outcomes", "Second"]]
    assert [s.name for s in sh.list_stakeholders(session, OWNER, plan.id)] == ["Boss", "Report"]  # untouched

    without_links = _copy(session, plan, objectives=False, action_items=False)
    assert [s.objective_ids for s in sh.list_stakeholders(session, MEMBER, without_links.id)] == [[], []]
    without = _copy(session, plan, stakeholders=False)
    assert sh.list_stakeholders(session, MEMBER, without.id) == []


def test_copying_stakeholders_takes_the_same_statements_for_few_or_many(engine, session, tree):
    plan, _, objective, _ = tree
    other, _, other_objective, _ = make_tree(session, name="Many people")  # the same tree
    for source, count, linked in ((plan, 3, objective), (other, 60, other_objective)):
        first = sh.add_stakeholder(session, OWNER, source.id, person("P0", objective_ids=[linked.id]))
        for n in range(1, count):
            sh.add_stakeholder(session, OWNER, source.id, person(f"P{n}", reports_to_id=first.id,
                                                                 objective_ids=[linked.id]))
    session.commit()
    counts = []
    for source in (plan, other):
        with counting(engine) as counter:
            _copy(session, source)
            session.flush()  # its change-log entry: counted here, not in the next copy
        counts.append(counter.count)
    assert counts[0] == counts[1]
