"""Every hot query is narrowed by an index to the rows it returns (issue 8).

Each case calls the real storage function, records the statements it sends
(`before_cursor_execute`), then asks the database how it runs each of them, with the
same parameters: SQLite `EXPLAIN QUERY PLAN`, PostgreSQL `EXPLAIN (FORMAT JSON)`. A
statement fails the check when it reads more than the rows it returns:

- a table read whole: SQLite `SCAN t` (with or without an index) or an AUTOMATIC index
  (built by reading the table); PostgreSQL a `Seq Scan`, or an index scan with no
  `Index Cond` (the whole index);
- action items found by workspace alone (an index used for team_id only): every item of
  the workspace, the 600,000 rows of issue 8;
- any other table found by workspace alone and then sorted (every plan of the workspace
  read to show a page), or found by workspace alone at all unless the case allows it
  (see WALK and MATCH).

The database is built by the migrations, as in production. It holds 1,000 plans of 50
owners (12,000 action items, their reminders and change log) in the workspace the
queries look at, and 200 in another. PostgreSQL: the data is ANALYZEd, and every EXPLAIN
runs after `SET LOCAL enable_seqscan = off` (and hash and merge joins off) in a
transaction of its own: on tables this small a Seq Scan, or a hash join over a whole
table, costs less than looking rows up by an index, and the planner would rightly take
it; with them off, a Seq Scan or a whole-index scan left in a plan means that no index
fits the query. SQLite: no ANALYZE (storage.db never runs it, so production plans come
from SQLite's built-in guesses, which do not depend on how many rows there are).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest
from sqlalchemy import Connection, Engine, event, func, insert, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from bench.data import Shape, bulk_plans
from storage import digests, migrate, reminders
from storage import plans as ops
from storage.claims import claim_due, claim_due_groups
from storage.db import make_engine, make_session_factory
from storage.digests import SubscriptionInput
from storage.models import (
    AccountPlan,
    Audience,
    Base,
    ChangeLogEntry,
    DigestSubscription,
    ItemReminder,
    Notification,
    WeeklySummary,
)
from storage.plans import ReviewInput
from tests.conftest import _postgres_admin_engine, postgres_engine_in

from .conftest import MEMBER, OWNER, TEAM, make_item, make_objective, make_plan, make_strategy

OTHER_TEAM = "T0OTHER"
NOW = dt.datetime(2025, 6, 2, 9, 0, tzinfo=dt.timezone.utc)
SINCE = dt.datetime(2025, 5, 1, tzinfo=dt.timezone.utc)
LATER = dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc)
PAGE = 20
PEOPLE = 50
# What an operation may read of a whole workspace (found by team_id alone):
# WALK: in the order of an index, stopping after the page (a page of all the workspace's
# plans, ix_account_plans_team_order), or counting index entries (how many plans there
# are) – but never to sort them all; MATCH: rows matched against a typed fragment, which
# no b-tree can serve (LIKE '%…%' on account names).
WALK, MATCH = "walk", "match"
COLUMNS = {table.name: {column.name for column in table.columns} for table in Base.metadata.sorted_tables}


# ---------------------------------------------------------------------------
# Recording and explaining


@dataclass(frozen=True)
class Statement:
    sql: str
    parameters: object


@contextmanager
def recording(engine: Engine) -> Iterator[list[Statement]]:
    """The statements sent to the database inside the block, with their parameters."""
    statements: list[Statement] = []

    def record(_conn, _cursor, sql, parameters, _context, executemany):
        if not executemany:
            statements.append(Statement(sql, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _explainable(sql: str) -> bool:
    return sql.lstrip().split(None, 1)[0].upper() in {"SELECT", "UPDATE", "DELETE", "WITH"}


def _table(name: str) -> str | None:
    """The table behind a name in a plan: SQLAlchemy aliases it as account_plans_1."""
    if name in COLUMNS:
        return name
    base = re.sub(r"_\d+$", "", name)
    return base if base in COLUMNS else None


@dataclass
class _Reads:
    problems: list[str]
    by_workspace: list[str]  # tables searched by team_id alone
    sorts: bool = False

    def verdict(self, sql: str, *, allowed: dict[str, str]) -> list[str]:
        problems = list(self.problems)
        for table in self.by_workspace:
            if table == "action_items":
                problems.append("action_items found by workspace alone (every item of the workspace)")
            elif allowed.get(table) == MATCH or (allowed.get(table) == WALK and not self.sorts):
                continue
            elif self.sorts:
                problems.append(f"{table} found by workspace alone, then sorted")
            else:
                problems.append(f"{table} found by workspace alone")
        short = " ".join(sql.split())[:240]
        return [f"{problem}: {short}" for problem in problems]


def _sqlite_reads(connection: Connection, statement: Statement) -> _Reads:
    reads = _Reads([], [])
    rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement.sql, statement.parameters)
    for row in rows:
        detail = row[-1]
        if detail.startswith("USE TEMP B-TREE"):
            reads.sorts = True
        found = re.match(r"(SCAN|SEARCH) (\S+)(?: USING (.*))?$", detail)
        if not found:
            continue
        how, name, using = found.group(1), found.group(2), found.group(3) or ""
        table = _table(name)
        if table is None:  # a subquery (MATERIALIZE mine … SCAN mine), a constant row
            continue
        if how == "SCAN":
            reads.problems.append(f"reads all of {table} ({detail})")
        elif "AUTOMATIC" in using:
            reads.problems.append(f"builds an index on {table} by reading all of it ({detail})")
        else:
            terms = re.search(r"\((.*)\)$", using)
            columns = {re.split(r"[=<>]", term)[0].strip() for term in terms.group(1).split(" AND ")} if terms else set()
            if columns == {"team_id"}:
                reads.by_workspace.append(table)
    return reads


def _index_tables(connection: Connection) -> dict[str, str]:
    return dict(connection.execute(text(
        "select indexname, tablename from pg_indexes where schemaname = current_schema()")).all())


def _condition_columns(condition: str, table: str) -> set[str]:
    condition = re.sub(r"'(?:[^']|'')*'", "", condition)  # literals
    condition = re.sub(r"::(?:timestamp with(?:out)? time zone|character varying|[a-z_]+)(?:\[\])?", "", condition)
    return set(re.findall(r"[a-z_][a-z0-9_]*", condition)) & COLUMNS[table]


def _postgres_reads(connection: Connection, statement: Statement, indexes: dict[str, str]) -> _Reads:
    reads = _Reads([], [])
    (plan,) = connection.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement.sql, statement.parameters).one()
    if isinstance(plan, str):
        plan = json.loads(plan)

    def walk(node: dict) -> None:
        kind = node["Node Type"]
        if kind in ("Sort", "Incremental Sort"):
            reads.sorts = True
        relation = node.get("Relation Name") or indexes.get(node.get("Index Name", ""))
        table = _table(relation) if relation else None
        if table is not None:
            if kind == "Seq Scan":
                reads.problems.append(f"reads all of {table} (Seq Scan)")
            elif kind in ("Index Scan", "Index Only Scan", "Bitmap Index Scan"):
                condition = node.get("Index Cond")
                if not condition:
                    reads.problems.append(f"reads all of {table} ({kind} of {node['Index Name']} with no Index Cond)")
                elif _condition_columns(condition, table) == {"team_id"}:
                    reads.by_workspace.append(table)
        for child in node.get("Plans", []):
            walk(child)

    walk(plan[0]["Plan"])
    return reads


# With these off PostgreSQL takes an index wherever one fits the query (see the module
# docstring): hash and merge joins would read a small table whole instead of looking up
# a few rows by key, as they should at this size but not at a workspace's.
_PLANNER_OFF = ("enable_seqscan", "enable_hashjoin", "enable_mergejoin")


@contextmanager
def explaining(connection: Connection) -> Iterator[Callable[[list[Statement], bool], list[str]]]:
    """`check(statements, allowed)`: the whole-table reads among the statements.

    On PostgreSQL, in a transaction with enable_seqscan off (SET LOCAL: it ends with the
    transaction, which the caller rolls back).
    """
    postgres = connection.dialect.name == "postgresql"
    indexes: dict[str, str] = {}
    if postgres:
        for setting in _PLANNER_OFF:
            connection.exec_driver_sql(f"SET LOCAL {setting} = off")
        indexes = _index_tables(connection)

    def check(statements: list[Statement], allowed: dict[str, str] | None = None) -> list[str]:
        problems = []
        for statement in statements:
            if not _explainable(statement.sql):
                continue
            reads = (_postgres_reads(connection, statement, indexes) if postgres
                     else _sqlite_reads(connection, statement))
            problems += reads.verdict(statement.sql, allowed=allowed or {})
        return problems

    yield check


# ---------------------------------------------------------------------------
# A workspace with some size: plans of many owners, their items and reminders


@dataclass
class Facts:
    plan_id: int  # a plan with everything (SWOT, review, changes, subscriptions)
    plan_name: str
    page: list[int]  # the first page of the list


def _fill(engine: Engine) -> Facts:
    # 60 people own 20 plans each (a teammate on each, who has all their items), in two
    # workspaces: 1,000 plans and 12,000 action items in the one the queries look at.
    for person in range(PEOPLE + 10):
        bulk_plans(engine, team_id=TEAM if person < PEOPLE else OTHER_TEAM, plans=20,
                   shape=Shape(strategies=2, objectives=2, items=3), owner=f"UOWN{person}",
                   member=f"UMEM{person}", name_prefix=f"Plan {person}",
                   start=dt.date(2023 + person % 3, 1 + person % 12, 1))
    with engine.begin() as connection:  # what people did to them: 5 changes a plan
        plans = connection.execute(select(AccountPlan.id, AccountPlan.team_id)).all()
        connection.execute(insert(ChangeLogEntry), [
            dict(team_id=team_id, plan_id=plan_id, actor_id="UOWN0", at=SINCE + dt.timedelta(days=n),
                 entity="action_item", entity_id=n, action="updated", summary="edited")
            for plan_id, team_id in plans for n in range(5)])
    factory = make_session_factory(engine)
    with factory() as session, session.begin():
        plan = make_plan(session, name="Newton Memorial 2025", account="Newton Memorial Hospital")
        for s in range(2):
            strategy = make_strategy(session, plan, title=f"Strategy {s}")
            objective = make_objective(session, strategy, title=f"Objective {s}", target_value=5)
            for i in range(3):
                item = make_item(session, objective, title=f"Item {s}.{i}", due=dt.date(2025, 5 + i, 10))
            ops.set_action_item_done(session, MEMBER, item.id)
        ops.add_swot_entry(session, OWNER, plan.id, "threat", "Generics")
        ops.add_review(session, OWNER, plan.id, ReviewInput(held_on=dt.date(2025, 1, 15)))
        for channel in ("C0TEAM", "C0SHARED"):
            digests.save_subscription(session, OWNER, plan.id, SubscriptionInput(channel_id=channel), now=NOW)
        facts = Facts(plan.id, plan.name, [])
    with factory() as session, session.begin():
        while reminders.sync_new_plans(session):
            pass
        # Two plans the scheduler has not seen yet (written in bulk since its last pass).
        session.execute(update(AccountPlan).where(AccountPlan.id.in_(
            select(AccountPlan.id).order_by(AccountPlan.id.desc()).limit(2).scalar_subquery()))
            .values(reminders_synced=False))
        # Most reminders wait for a later day; a few are due now.
        for model in (ItemReminder, Notification, WeeklySummary, DigestSubscription):
            session.execute(update(model).values(next_run_at=LATER))
            first = select(model.id).order_by(model.id).limit(5).scalar_subquery()
            session.execute(update(model).where(model.id.in_(first)).values(next_run_at=NOW - dt.timedelta(hours=1)))
        facts.page = list(session.scalars(
            select(AccountPlan.id).where(AccountPlan.team_id == TEAM).order_by(AccountPlan.id).limit(PAGE)))
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
    return facts


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request, tmp_path_factory) -> Iterator[tuple[Engine, Facts]]:
    """A migrated database of its own (this module changes leases and drops indexes)."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('query_plans') / 'plans.db'}")
        drop = None
    else:
        schema = f"{request.getfixturevalue('postgres_schema')}_qplans"
        admin = _postgres_admin_engine()
        with admin.begin() as connection:
            connection.execute(text(f'create schema "{schema}"'))
        engine = postgres_engine_in(schema, pool_size=2, max_overflow=2)

        def drop() -> None:
            with admin.begin() as connection:
                connection.execute(text(f'drop schema "{schema}" cascade'))
            admin.dispose()
    try:
        migrate.upgrade(engine)
        yield engine, _fill(engine)
    finally:
        engine.dispose()
        if drop:
            drop()


# ---------------------------------------------------------------------------
# The hot operations: what a command, a view or a job runs


def _read(work: Callable[[Session, Facts], object]) -> Callable[[sessionmaker, Facts], None]:
    def run(factory: sessionmaker, facts: Facts) -> None:
        with factory() as session:
            work(session, facts)
    return run


def _count(**filters):
    """What `/accountplan list` and App Home count when there is more than a page."""
    def work(session: Session, facts: Facts) -> None:
        ops.count_plans(session, TEAM, at_most=1000, **filters)
    return _read(work)


def _claim(model) -> Callable[[sessionmaker, Facts], None]:
    def run(factory: sessionmaker, facts: Facts) -> None:
        claim_due(factory, model, now=NOW, lease=dt.timedelta(minutes=5), limit=3)
    return run


def _job(work: Callable[[Session], object]) -> Callable[[sessionmaker, Facts], None]:
    def run(factory: sessionmaker, facts: Facts) -> None:
        with factory() as session:  # rolled back: every backend sees the same rows
            work(session)
    return run


@dataclass(frozen=True)
class Operation:
    name: str
    run: Callable[[sessionmaker, Facts], None]
    # Tables it may find by team_id alone (see WALK and MATCH).
    workspace_reads: dict[str, str] = field(default_factory=dict)


OPERATIONS = [
    Operation("list all", _read(lambda s, f: ops.list_plans(s, TEAM, limit=PAGE)), {"account_plans": WALK}),
    Operation("list mine", _read(lambda s, f: ops.list_plans(s, TEAM, user_id="UMEM3", limit=PAGE))),
    Operation("list owner", _read(lambda s, f: ops.list_plans(s, TEAM, user_id=OWNER.user_id, limit=PAGE))),
    Operation("list status", _read(lambda s, f: ops.list_plans(s, TEAM, status="active", limit=PAGE))),
    Operation("list mine active", _read(lambda s, f: ops.list_plans(
        s, TEAM, user_id="UMEM3", status="active", limit=PAGE))),
    Operation("list account", _read(lambda s, f: ops.list_plans(s, TEAM, account="newton", limit=PAGE)),
              {"account_plans": WALK, "accounts": MATCH}),
    Operation("count all", _count(), {"account_plans": WALK}),
    Operation("count mine", _count(user_id="UMEM3")),
    Operation("count status", _count(status="draft")),
    Operation("progress_by_plan", _read(lambda s, f: ops.progress_by_plan(s, TEAM, f.page))),
    Operation("find_plans id", _read(lambda s, f: ops.find_plans(s, TEAM, f"#{f.plan_id}"))),
    Operation("find_plans name", _read(lambda s, f: ops.find_plans(s, TEAM, f.plan_name.upper()))),
    Operation("load_plan_tree", _read(lambda s, f: ops.load_plan_tree(s, TEAM, f.plan_id))),
    Operation("plan_progress", _read(lambda s, f: ops.plan_progress(s, TEAM, f.plan_id))),
    # A plan view page: the tree without items, the item outline, then one page's items.
    Operation("load_plan_tree without items", _read(lambda s, f: ops.load_plan_tree(
        s, TEAM, f.plan_id, with_items=False))),
    Operation("item_outline", _read(lambda s, f: ops.item_outline(s, TEAM, f.plan_id))),
    Operation("items_by_id", _read(lambda s, f: ops.items_by_id(
        s, TEAM, [i for ids in ops.item_outline(s, TEAM, f.plan_id).values() for i in ids][:PAGE]))),
    Operation("open_items_for", _read(lambda s, f: ops.open_items_for(s, TEAM, "UMEM3", limit=PAGE))),
    Operation("count_open_items", _read(lambda s, f: ops.count_open_items(s, TEAM, "UMEM3"))),
    # What an external audience reads: the same indexes, the allow-list on the way.
    Operation("progress_by_plan external", _read(lambda s, f: ops.progress_by_plan(
        s, TEAM, f.page, audience=Audience.EXTERNAL))),
    Operation("load_plan_tree external", _read(lambda s, f: ops.load_plan_tree(
        s, TEAM, f.plan_id, audience=Audience.EXTERNAL))),
    Operation("plan_progress external", _read(lambda s, f: ops.plan_progress(
        s, TEAM, f.plan_id, audience=Audience.EXTERNAL))),
    Operation("item_outline external", _read(lambda s, f: ops.item_outline(
        s, TEAM, f.plan_id, audience=Audience.EXTERNAL))),
    Operation("items_by_id external", _read(lambda s, f: ops.items_by_id(
        s, TEAM, [i for ids in ops.item_outline(s, TEAM, f.plan_id).values() for i in ids][:PAGE],
        audience=Audience.EXTERNAL))),
    Operation("open_items_for external", _read(lambda s, f: ops.open_items_for(
        s, TEAM, "UMEM3", limit=PAGE, audience=Audience.EXTERNAL))),
    Operation("digest_content team", _read(lambda s, f: digests.digest_content(
        s, TEAM, f.plan_id, audience=Audience.TEAM, since=SINCE, today=NOW.date()))),
    Operation("digest_content external", _read(lambda s, f: digests.digest_content(
        s, TEAM, f.plan_id, audience=Audience.EXTERNAL, since=SINCE, today=NOW.date()))),
    Operation("changes_since", _read(lambda s, f: ops.changes_since(s, TEAM, f.plan_id, SINCE))),
    Operation("claim item reminders", _claim(ItemReminder)),
    Operation("claim item reminders by person", lambda factory, facts: claim_due_groups(
        factory, ItemReminder, now=NOW, lease=dt.timedelta(minutes=5), limit=3)),
    Operation("claim notifications", _claim(Notification)),
    Operation("claim weekly summaries", _claim(WeeklySummary)),
    Operation("claim digests", _claim(DigestSubscription)),
    Operation("sync_new_plans", _job(lambda s: reminders.sync_new_plans(s))),
    Operation("claim_qbr_nudges", _job(lambda s: digests.claim_qbr_nudges(s, now=NOW, limit=5))),
]


def _problems(engine: Engine, connection: Connection, operation: Operation, facts: Facts,
              session_factory: sessionmaker | None = None) -> list[str]:
    with recording(engine) as statements:
        operation.run(session_factory or make_session_factory(engine), facts)
    assert any(_explainable(s.sql) for s in statements), f"{operation.name} sent no query"
    with explaining(connection) as check:
        return check(statements, operation.workspace_reads)


@pytest.mark.parametrize("operation", OPERATIONS, ids=[o.name for o in OPERATIONS])
def test_every_hot_query_is_narrowed_by_an_index(db, operation):
    engine, facts = db
    with engine.connect() as connection:
        assert _problems(engine, connection, operation, facts) == []


# ---------------------------------------------------------------------------
# The check itself: without the index, the same query is flagged

_BY_NAME = {o.name: o for o in OPERATIONS}


@pytest.mark.parametrize("index, operation", [
    ("ix_action_items_plan_status", "progress_by_plan"),
    ("ix_account_plans_team_order", "list all"),
    ("ix_account_plans_team_lower_name", "find_plans name"),
])
def test_the_check_flags_a_query_whose_index_is_gone(db, tmp_path, index, operation):
    engine, facts = db
    operation = _BY_NAME[operation]
    if engine.dialect.name == "sqlite":
        # A throwaway copy: pysqlite runs DDL outside any transaction.
        copy = tmp_path / "copy.db"
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
        # Inside a transaction that is rolled back: DDL is transactional on PostgreSQL.
        with engine.connect() as connection:
            connection.exec_driver_sql(f"DROP INDEX {index}")
            in_transaction = sessionmaker(bind=connection, join_transaction_mode="create_savepoint")
            problems = _problems(engine, connection, operation, facts, in_transaction)
            connection.rollback()
    assert problems, f"nothing flagged for {operation.name} without {index}"
    assert any("found by workspace alone" in p or "reads all of" in p for p in problems)
