"""Rate budgets that every instance shares: one atomic statement reserves a call's slot.

A budget is a row of `rate_budgets` (storage/models/rate_budgets.py RateBudget) per (workspace,
bucket): a Web API method, "#" + a channel, or the workspace's "pause". Each holds
`next_free_at`, the time the last reserved call may go (virtual scheduling, GCRA: a
token bucket of `burst` calls refilled every `spacing` seconds). A reservation is one
INSERT … ON CONFLICT DO UPDATE … RETURNING over all of a call's buckets at once:

    next_free_at = max(next_free_at + spacing, now - (burst - 1) × spacing, paused until)

and the call goes at max(now, the largest next_free_at returned). Rows are locked in
the order given (method first, then channel), so concurrent reservations queue up on
the row locks for a few microseconds and never deadlock; SQLite writes one at a time.

Time is the database's clock (PostgreSQL `clock_timestamp()`, SQLite `julianday('now')`) in
seconds since the epoch, returned with every answer: instances on machines whose clocks
differ wait the same, and each sleeps `go - now` on its own clock. Tests may pass `now`.

Nothing here knows Slack; bot/slack/ratelimit.py says which buckets a call takes.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from functools import cache

from sqlalchemy import Connection, Engine, TextClause, text
from sqlalchemy.exc import OperationalError

PAUSE = "pause"
JOBS_TEAM = ""  # database-wide budgets: housekeeping jobs
SQLITE_LOCK_STEP = 0.0005  # seconds between tries for SQLite's write lock


def _sql_now(dialect: str, injected: bool) -> str:
    if injected:
        return "CAST(:now AS DOUBLE PRECISION)" if dialect == "postgresql" else ":now"
    if dialect == "postgresql":
        # clock_timestamp(), not now(): now() is when the transaction began, before any
        # wait for the row lock. A reservation that queued behind others then counted
        # from a moment already past and took that much more burst than the budget has
        # (seen as a 429 from the Web API with three ticks on a busy machine).
        return "CAST(extract(epoch from clock_timestamp()) AS DOUBLE PRECISION)"
    return "((julianday('now') - 2440587.5) * 86400.0)"


def _greatest(dialect: str) -> str:
    return "greatest" if dialect == "postgresql" else "max"


@cache
def _reserve_sql(dialect: str, buckets: int, injected: bool) -> TextClause:
    now, greatest = _sql_now(dialect, injected), _greatest(dialect)
    # :team is one parameter in two places: one type for both (PostgreSQL asks).
    paused = ("coalesce((SELECT p.next_free_at FROM rate_budgets p "
              f"WHERE p.team_id = CAST(:team AS VARCHAR) AND p.bucket = '{PAUSE}'), 0)")
    rows = ",\n".join(
        f"(CAST(:team AS VARCHAR), :bucket_{n}, {greatest}({now} - :lead_{n}, {paused}), :spacing_{n})"
        for n in range(buckets))
    if dialect == "postgresql":
        # A reservation lost in a crash costs nothing (the next one starts from the row
        # as it was), so its commit need not wait for the disk: synchronous_commit off
        # for this statement's own transaction only.
        rows = (f"SELECT * FROM (VALUES {rows}) AS v (team_id, bucket, next_free_at, spacing) "
                "WHERE set_config('synchronous_commit', 'off', true) = 'off'")
    else:
        rows = "VALUES " + rows
    return text(f"""
        INSERT INTO rate_budgets AS b (team_id, bucket, next_free_at, spacing)
        {rows}
        ON CONFLICT (team_id, bucket) DO UPDATE SET
            next_free_at = {greatest}(b.next_free_at + excluded.spacing, excluded.next_free_at),
            spacing = excluded.spacing
        RETURNING next_free_at, {now}
    """)


@cache
def _pause_sql(dialect: str, injected: bool) -> TextClause:
    now, greatest = _sql_now(dialect, injected), _greatest(dialect)
    return text(f"""
        INSERT INTO rate_budgets AS b (team_id, bucket, next_free_at, spacing)
        VALUES (:team, '{PAUSE}', {now} + :seconds, 0)
        ON CONFLICT (team_id, bucket) DO UPDATE SET
            next_free_at = {greatest}(b.next_free_at, excluded.next_free_at)
        RETURNING next_free_at, {now}
    """)


@cache
def _paused_sql(dialect: str, injected: bool) -> TextClause:
    return text(f"""
        SELECT (SELECT next_free_at FROM rate_budgets WHERE team_id = :team AND bucket = '{PAUSE}'),
               {_sql_now(dialect, injected)}
    """)


def _run(engine: Engine | Connection, statement: TextClause, params: dict, *, durable: bool = True) -> list:
    """One statement in its own transaction (an engine in AUTOCOMMIT mode: one round
    trip) or in the caller's (a connection)."""
    if isinstance(engine, Connection):
        return engine.execute(statement, params).all()
    if durable or engine.dialect.name != "sqlite":
        with engine.begin() as connection:
            return connection.execute(statement, params).all()
    # SQLite: the same, its commit not waiting for the disk (WAL stays consistent), and
    # waiting for the write lock in short steps of our own rather than SQLite's (1, 2,
    # 5, 10 … ms: a reservation is a fraction of a millisecond, the commits it waits
    # behind a few). The connection goes back to the pool as it came.
    with engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT")
        synchronous = int(connection.exec_driver_sql("PRAGMA synchronous").scalar())
        busy_timeout = int(connection.exec_driver_sql("PRAGMA busy_timeout").scalar())
        connection.exec_driver_sql("PRAGMA synchronous = NORMAL")
        connection.exec_driver_sql("PRAGMA busy_timeout = 0")
        try:
            deadline = time.monotonic() + busy_timeout / 1000
            while True:
                try:
                    return connection.execute(statement, params).all()
                except OperationalError as error:
                    if "locked" not in str(error.orig) or time.monotonic() > deadline:
                        raise
                    time.sleep(SQLITE_LOCK_STEP)
        finally:
            connection.exec_driver_sql(f"PRAGMA busy_timeout = {busy_timeout}")
            connection.exec_driver_sql(f"PRAGMA synchronous = {synchronous}")


def reserve(engine: Engine | Connection, team_id: str, buckets: Sequence[tuple[str, float, int]], *,
            now: float | None = None) -> tuple[float, float]:
    """Take the next slot of each (bucket, spacing seconds, burst) of the workspace, in
    one statement and its own transaction: (when the call may go, the database's now)."""
    statement = _reserve_sql(engine.dialect.name, len(buckets), now is not None)
    params: dict = {"team": team_id, "now": now}
    for n, (bucket, spacing, burst) in enumerate(buckets):
        params[f"bucket_{n}"] = bucket
        params[f"spacing_{n}"] = float(spacing)
        params[f"lead_{n}"] = float(max(0, burst - 1) * spacing)
    rows = _run(engine, statement, params, durable=False)
    clock = float(rows[0][1])
    return max([clock, *(float(row[0]) for row in rows)]), clock


def pause(engine: Engine | Connection, team_id: str, seconds: float, *,
          now: float | None = None) -> tuple[float, float]:
    """Nothing more to the workspace for `seconds` (a longer pause already set stays):
    (paused until, the database's now)."""
    (until, clock), = _run(engine, _pause_sql(engine.dialect.name, now is not None),
                           {"team": team_id, "seconds": float(max(0.0, seconds)), "now": now})
    return float(until), float(clock)


def paused_until(engine: Engine | Connection, team_id: str, *,
                 now: float | None = None) -> tuple[float, float]:
    """(until when the workspace is paused, 0 if never; the database's now)."""
    (until, clock), = _run(engine, _paused_sql(engine.dialect.name, now is not None),
                           {"team": team_id, "now": now})
    return float(until or 0.0), float(clock)


@cache
def _claim_sql(dialect: str) -> TextClause:
    return text("""
        INSERT INTO rate_budgets AS b (team_id, bucket, next_free_at, spacing)
        VALUES (:team, :bucket, :next, :every)
        ON CONFLICT (team_id, bucket) DO UPDATE SET next_free_at = excluded.next_free_at,
            spacing = excluded.spacing
        WHERE b.next_free_at <= :now OR b.next_free_at > :next
        RETURNING next_free_at
    """)


def claim_turn(connection: Engine | Connection, name: str, *, now: float, every: float) -> bool:
    """A database-wide job's turn: True for one caller at most every `every` seconds of
    `now` (the scheduler pass's time). A turn claimed further ahead than `every` (a pass
    replayed in the future, `tick --now`) does not hold the others back."""
    rows = _run(connection, _claim_sql(connection.dialect.name),
                {"team": JOBS_TEAM, "bucket": name, "now": float(now), "next": float(now + every),
                 "every": float(every)})
    return bool(rows)


@cache
def _idle_sql(dialect: str) -> TextClause:
    return text("""
        DELETE FROM rate_budgets WHERE (team_id, bucket) IN (
            SELECT team_id, bucket FROM rate_budgets
            WHERE team_id <> :jobs AND next_free_at < :before
            ORDER BY team_id, bucket LIMIT :batch)
    """)


def delete_idle(connection: Engine | Connection, *, before: float, batch: int) -> int:
    """Delete up to `batch` workspace budgets whose last slot went before `before`
    (seconds since the epoch): an idle bucket is full, the same as no row at all."""
    statement = _idle_sql(connection.dialect.name)
    params = {"jobs": JOBS_TEAM, "before": float(before), "batch": batch}
    if isinstance(connection, Connection):
        return connection.execute(statement, params).rowcount
    with connection.begin() as c:
        return c.execute(statement, params).rowcount
