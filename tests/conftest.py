"""Shared fixtures: a fresh database per test, on SQLite and on PostgreSQL.

PostgreSQL: TEST_POSTGRES_URL (default: the local server on 127.0.0.1:5432, database
`test`). Each test run works in a schema of its own, so runs never see each other.
When no server answers, PostgreSQL tests skip with the reason, unless
REQUIRE_POSTGRES=1 (as in .ci/run), where they fail instead.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import Engine, event, text
from sqlalchemy.orm import Session, sessionmaker

from storage.db import make_engine, make_session_factory
from storage.models import Base

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
REQUIRE_POSTGRES = os.environ.get("REQUIRE_POSTGRES") == "1"


def _postgres_admin_engine() -> Engine:
    return make_engine(POSTGRES_URL, pool_size=2, max_overflow=2)


@pytest.fixture(scope="session")
def postgres_schema() -> Iterator[str]:
    """A schema of this test run's own on the PostgreSQL server (or skip/fail)."""
    engine = _postgres_admin_engine()
    try:
        with engine.connect() as connection:
            connection.execute(text("select 1"))
    except Exception as error:  # noqa: BLE001 - any failure means "no server"
        engine.dispose()
        reason = f"PostgreSQL not reachable at {POSTGRES_URL}: {type(error).__name__}"
        if REQUIRE_POSTGRES:
            pytest.fail(reason + " (REQUIRE_POSTGRES=1)", pytrace=False)
        pytest.skip(reason)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with engine.begin() as connection:
        connection.execute(text(f'create schema "{schema}"'))
    try:
        yield schema
    finally:
        with engine.begin() as connection:
            connection.execute(text(f'drop schema "{schema}" cascade'))
        engine.dispose()


def postgres_engine_in(schema: str, **kwargs) -> Engine:
    engine = make_engine(POSTGRES_URL, **kwargs)

    @event.listens_for(engine, "connect")
    def _search_path(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute(f'set search_path to "{schema}"')
        cursor.close()
        dbapi_connection.commit()

    return engine


@contextmanager
def schema_with_models(admin: Engine, schema: str, **kwargs) -> Iterator[Engine]:
    """An engine on a new PostgreSQL schema `schema` holding the models' tables (created
    with `admin`, and dropped with everything in it afterwards)."""
    with admin.begin() as connection:
        connection.execute(text(f'create schema "{schema}"'))
    engine = postgres_engine_in(schema, **kwargs)
    try:
        Base.metadata.create_all(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(text(f'drop schema "{schema}" cascade'))


def _fresh_postgres_schema(request) -> str:
    """A new empty schema for one test, inside this run's schema namespace."""
    base = request.getfixturevalue("postgres_schema")
    schema = f"{base}_{uuid.uuid4().hex[:6]}"
    admin = _postgres_admin_engine()
    with admin.begin() as connection:
        connection.execute(text(f'create schema "{schema}"'))
    admin.dispose()

    def drop() -> None:
        admin = _postgres_admin_engine()
        with admin.begin() as connection:
            connection.execute(text(f'drop schema "{schema}" cascade'))
        admin.dispose()

    request.addfinalizer(drop)
    return schema


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_engine(request, tmp_path) -> Iterator[Engine]:
    """An engine on an empty database (no tables): for migration tests."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'test.db'}")
    else:
        engine = postgres_engine_in(_fresh_postgres_schema(request), pool_size=5, max_overflow=5)
    yield engine
    engine.dispose()


# `engine`: the current schema is built once per backend per run and emptied before
# every test. Building it for each test (create_all, and on PostgreSQL a schema created
# and dropped) took 0.13 s of the 0.16 s a typical bot test costs; emptying takes 2-5 ms.
# Migrations are still tested on brand-new databases (`empty_engine`).


@pytest.fixture(scope="session")
def _sqlite_engine(tmp_path_factory) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('shared') / 'test.db'}")
    Base.metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def _postgres_engine(postgres_schema) -> Iterator[Engine]:
    admin = _postgres_admin_engine()
    try:
        with schema_with_models(admin, f"{postgres_schema}_shared", pool_size=5, max_overflow=5) as engine:
            yield engine
    finally:
        admin.dispose()


_OURS = {table.name for table in Base.metadata.sorted_tables}
# Children first. One round trip: 22 DELETEs on empty tables cost 2 ms, where TRUNCATE
# costs 110-160 ms on PostgreSQL (it makes new files for every table).
_EMPTY_ALL = "; ".join(f'delete from "{table.name}"' for table in reversed(Base.metadata.sorted_tables))
# As in a new database, ids start at 1 again (SQLite does so by itself: no AUTOINCREMENT).
_RESTART_IDS = """select setval(c.oid, 1, false) from pg_class c
    join pg_namespace n on n.oid = c.relnamespace
    where c.relkind = 'S' and n.nspname = current_schema()"""


def empty_database(engine: Engine) -> None:
    """As good as a database made just now: every row deleted, every id restarted, and
    tables that are not ours dropped (slack_sdk's OAuth stores create theirs on use)."""
    postgres = engine.dialect.name == "postgresql"
    with engine.begin() as connection:
        if postgres:
            # A connection some earlier test left in a transaction holding locks would
            # make this wait for ever: an error saying so instead.
            connection.exec_driver_sql("set local lock_timeout = '10s'")
            names = connection.exec_driver_sql(
                "select tablename from pg_tables where schemaname = current_schema()").scalars()
        else:
            names = connection.exec_driver_sql(
                "select name from sqlite_master where type = 'table' and name not like 'sqlite_%'"
            ).scalars()
        for name in set(names) - _OURS:
            connection.exec_driver_sql(f'drop table "{name}"' + (" cascade" if postgres else ""))
        if postgres:
            connection.exec_driver_sql(_EMPTY_ALL)
            connection.exec_driver_sql(_RESTART_IDS)
        else:
            for table in reversed(Base.metadata.sorted_tables):  # sqlite3 runs one statement a call
                connection.execute(table.delete())


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request) -> Engine:
    """An engine on a database with the current schema and no rows, on SQLite and PostgreSQL."""
    engine = request.getfixturevalue(f"_{request.param}_engine")
    empty_database(engine)
    return engine


@pytest.fixture
def session_factory(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


@pytest.fixture
def session(session_factory) -> Iterator[Session]:
    """One session, in one transaction that the test may commit."""
    with session_factory() as session:
        yield session
