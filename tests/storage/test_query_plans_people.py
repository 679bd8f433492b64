"""The hot queries of issue 12 are narrowed by an index to the rows they return: a plan's
stakeholders, its health and a page of plans' health, progress summaries and an owner's
objectives, the check-in scheduler (plans to look at, due rows to claim, answers) and
the workspace's templates. The same check as tests/storage/test_query_plans.py (its
recording and EXPLAIN helpers), on the same workspace of 1,000 plans, with stakeholders,
check-in rows and templates added."""

from __future__ import annotations

import datetime as dt
import sqlite3

import pytest
from sqlalchemy import insert, select, update
from sqlalchemy.orm import sessionmaker

from storage import checkins, health, people, progress, templates
from storage import stakeholders as sh
from storage.domain import StakeholderRole, StakeholderSide
from storage.models import (
    AccountPlan,
    CheckinRequest,
    Objective,
    ObjectiveStakeholder,
    PlanStatus,
    PlanTemplate,
    Stakeholder,
)
from storage.db import make_engine, make_session_factory

from .conftest import OWNER, TEAM
from .test_query_plans import (  # noqa: F401 - db: the filled database, a fixture
    NOW,
    PAGE,
    WALK,
    Operation,
    _PLANNER_OFF,
    _job,
    _problems,
    recording,
    _read,
    db,
)

LATER = NOW + dt.timedelta(days=30)
KNOWN: dict[str, object] = {}  # ids the operations act on, looked up once by the fixture


@pytest.fixture(scope="module")
def people_db(db):
    """`db` with three stakeholders a plan, owners on half the objectives, a check-in row
    per active plan (a few due now), and twenty templates."""
    engine, facts = db
    with make_session_factory(engine)() as session, session.begin():
        plans = session.execute(select(AccountPlan.id, AccountPlan.team_id, AccountPlan.owner_id,
                                       AccountPlan.status)).all()
        stamps = dict(version=1, created_at=NOW, updated_at=NOW)
        session.execute(insert(Stakeholder), [
            dict(team_id=team, plan_id=plan_id, position=n, name=f"Person {n}", title="", notes="",
                 side=StakeholderSide.CUSTOMER, role=list(StakeholderRole)[n], **stamps)
            for plan_id, team, _, _ in plans for n in range(3)])
        session.execute(update(Objective).where(Objective.id % 2 == 0).values(owner_id="UMEM3"))
        # Each objective linked to its plan's first stakeholder.
        first = {plan_id: stakeholder_id for plan_id, stakeholder_id in session.execute(
            select(Stakeholder.plan_id, Stakeholder.id).where(Stakeholder.position == 0))}
        session.execute(insert(ObjectiveStakeholder), [
            dict(objective_id=objective_id, stakeholder_id=first[plan_id], team_id=team)
            for objective_id, plan_id, team in session.execute(
                select(Objective.id, Objective.plan_id, Objective.team_id))])
        active = [(plan_id, team, owner) for plan_id, team, owner, status in plans if status == PlanStatus.ACTIVE]
        session.execute(insert(CheckinRequest), [
            dict(team_id=team, plan_id=plan_id, owner_id=owner, round_key="qbr:2025-06-13",
                 send_on=NOW.date(), sent_at=NOW, next_run_at=NOW if n < 5 else LATER, sends=1, failures=0,
                 last_error="", created_at=NOW)
            for n, (plan_id, team, owner) in enumerate(active)])
        # The scheduler looked at every active plan today but a few.
        session.execute(update(AccountPlan).where(AccountPlan.status == PlanStatus.ACTIVE)
                        .values(checkins_checked_on=NOW.date()))
        few = (select(AccountPlan.id).where(AccountPlan.status == PlanStatus.ACTIVE)
               .order_by(AccountPlan.id.desc()).limit(3))
        session.execute(update(AccountPlan).where(AccountPlan.id.in_(few.scalar_subquery()))
                        .values(checkins_checked_on=None))
        session.execute(insert(PlanTemplate), [
            dict(team_id=team, name=f"Template {n}", owner_id="UOWN0", body={"strategies": [], "swot": []}, **stamps)
            for team in (TEAM, "T0OTHER") for n in range(20)])
        # Owners are people the scheduler DMs: their time zones are kept (storage.people),
        # among a few hundred others of each workspace.
        people.ensure(session, {(team, owner) for _, team, owner, _ in plans} | {(TEAM, "UMEM3")}
                      | {(team, f"UPERSON{n}") for team in (TEAM, "T0OTHER") for n in range(300)})
        KNOWN["checkin_plan"] = session.scalar(select(CheckinRequest.plan_id).order_by(CheckinRequest.id).limit(1))
        KNOWN["checkin_ids"] = list(session.scalars(select(CheckinRequest.id).order_by(CheckinRequest.id).limit(3)))
        KNOWN["owner"] = session.scalar(select(AccountPlan.owner_id).where(AccountPlan.id == facts.plan_id))
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
    return engine, facts


OPERATIONS = [
    Operation("list_stakeholders", _read(lambda s, f: sh.list_stakeholders(s, OWNER, f.plan_id))),
    Operation("plan_health", _read(lambda s, f: health.plan_health(s, TEAM, f.plan_id, NOW.date()))),
    Operation("health_by_plan", _read(lambda s, f: health.health_by_plan(s, TEAM, f.page[:PAGE], NOW.date()))),
    Operation("progress_summary", _read(lambda s, f: progress.progress_summary(s, TEAM, f.plan_id, since=None))),
    Operation("objectives_owned_by", _read(lambda s, f: progress.objectives_owned_by(
        s, TEAM, f.plan_id, KNOWN["owner"]))),
    Operation("mark_answered", _job(lambda s: checkins.mark_answered(
        s, TEAM, KNOWN["checkin_plan"], "UOWN0", plan_owner_id="UOWN0", now=NOW))),
    Operation("checkin_requests", _read(lambda s, f: checkins.checkin_requests(s, TEAM, f.plan_id))),
    Operation("schedule_checkins", _job(lambda s: checkins.schedule_checkins(s, NOW, limit=5))),
    Operation("claim check-ins", lambda factory, facts: checkins.claim_due_checkins(
        factory, now=NOW, lease=dt.timedelta(minutes=5), limit=3)),
    Operation("prepare check-ins", _job(lambda s: checkins.prepare_checkins(
        s, KNOWN["checkin_ids"], now=NOW, default_tz="UTC", held_until=None))),
    Operation("list_templates", _read(lambda s, f: templates.list_templates(s, OWNER)), {"plan_templates": WALK}),
]


@pytest.mark.parametrize("operation", OPERATIONS, ids=[o.name for o in OPERATIONS])
def test_every_hot_query_of_the_people_behind_the_plan_is_narrowed_by_an_index(people_db, operation):
    engine, facts = people_db
    with engine.connect() as connection:
        assert _problems(engine, connection, operation, facts) == []


_BY_NAME = {o.name: o for o in OPERATIONS}


@pytest.mark.parametrize("index, operation", [
    ("ix_stakeholders_plan_position", "list_stakeholders"),
    ("ix_checkin_requests_due", "claim check-ins"),
])
def test_the_check_flags_a_query_whose_index_is_gone(people_db, tmp_path, index, operation):
    engine, facts = people_db
    operation = _BY_NAME[operation]
    if engine.dialect.name == "sqlite":
        copy = tmp_path / "copy.db"  # a throwaway copy: pysqlite runs DDL outside any transaction
        with sqlite3.connect(engine.url.database) as source, sqlite3.connect(copy) as target:
            source.backup(target)
        scratch = make_engine(f"sqlite:///{copy}")
        try:
            with scratch.begin() as connection:
                connection.exec_driver_sql(f"DROP INDEX {index}")
            with scratch.connect() as connection:
                problems = _problems(scratch, connection, operation, facts)
        finally:
            scratch.dispose()
    else:
        with engine.connect() as connection:  # rolled back: DDL is transactional on PostgreSQL
            connection.exec_driver_sql(f"DROP INDEX {index}")
            in_transaction = sessionmaker(bind=connection, join_transaction_mode="create_savepoint")
            problems = _problems(engine, connection, operation, facts, in_transaction)
            connection.rollback()
    assert any("reads all of" in p or "found by workspace alone" in p for p in problems), problems


def test_the_scheduler_finds_the_plans_it_has_not_looked_at_by_their_index(people_db):
    """Narrowed by status alone (ix_account_plans_status_end) it would read every active
    plan of every workspace each pass: the check above does not flag that, so this asks
    for the index by name."""
    engine, facts = people_db
    with recording(engine) as statements:
        _BY_NAME["schedule_checkins"].run(make_session_factory(engine), facts)
    (looked,) = [s for s in statements if s.sql.lstrip().startswith("SELECT")
                 and "checkins_checked_on" in s.sql and "FROM account_plans" in s.sql]
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":  # as in the check above: an index wherever one fits
            for setting in _PLANNER_OFF:
                connection.exec_driver_sql(f"SET LOCAL {setting} = off")
            plan = connection.exec_driver_sql("EXPLAIN " + looked.sql, looked.parameters).all()
        else:
            plan = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + looked.sql, looked.parameters).all()
    assert "ix_account_plans_checkins" in " ".join(str(row[-1]) for row in plan)
