"""Engine, sessions and URL normalisation for the one shared database."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

DEFAULT_DATABASE_URL = "sqlite:///accountplan.db"
PG_CONNECT_TIMEOUT_SECONDS = 3


def normalize_url(url: str) -> str:
    """Accept the URL spellings RUN_CONTRACT promises and pick the psycopg 3 driver."""
    url = url.strip()
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def database_url() -> str:
    return normalize_url(os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL)


def is_sqlite(url_or_engine: str | Engine) -> bool:
    name = url_or_engine.dialect.name if isinstance(url_or_engine, Engine) else url_or_engine
    return str(name).startswith("sqlite")


def make_engine(url: str | None = None, **kwargs) -> Engine:
    url = normalize_url(url or database_url())
    if is_sqlite(url):
        # Listener threads share the engine; SQLite needs this to allow it.
        kwargs.setdefault("connect_args", {"check_same_thread": False,
                                           "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        engine = create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # pragma: no cover - trivial
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            if not url.endswith(":memory:") and "mode=memory" not in url:
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    # A server that does not answer at all is an error in seconds, not minutes.
    kwargs.setdefault("connect_args", {"connect_timeout": PG_CONNECT_TIMEOUT_SECONDS})
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 10)
    return create_engine(url, **kwargs)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session], *, wait_seconds: float | None = None) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error.

    `wait_seconds` bounds how long it waits on other writers' locks (and, on
    PostgreSQL, on any one statement): for work that must answer Slack within its 3 s,
    a busy or locked database becomes an error to tell people about, not a silent wait.
    """
    with factory() as session, session.begin():
        if wait_seconds is None:
            yield session
            return
        sqlite = is_sqlite(session.get_bind())
        _limit_waits(session, wait_seconds, sqlite)
        try:
            yield session
        finally:
            if sqlite:  # the pragma stays on the pooled connection: put it back
                session.execute(text(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}"))


SQLITE_BUSY_TIMEOUT_MS = 30_000  # what make_engine gives every connection


def _limit_waits(session: Session, seconds: float, sqlite: bool) -> None:
    ms = max(1, int(seconds * 1000))
    if sqlite:
        session.execute(text(f"PRAGMA busy_timeout = {ms}"))
    else:  # SET LOCAL: only for this transaction
        session.execute(text(f"SET LOCAL lock_timeout = {ms}"))
        session.execute(text(f"SET LOCAL statement_timeout = {ms}"))


MIGRATIONS_DIR = Path(__file__).with_name("migrations")
