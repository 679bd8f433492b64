"""Claiming due rows so that any number of scheduler passes can run at once.

A row is due when `next_run_at <= now` and nobody holds a lease on it
(`locked_until` empty or past). `claim_due` takes a lease on up to `limit` due rows
and commits it at once, before anything is sent; the caller sends, then records the
result (moving `next_run_at` on and clearing the lease). A pass that dies after
claiming leaves the lease to run out, and the next pass takes the row again.

On PostgreSQL `FOR UPDATE SKIP LOCKED` keeps concurrent passes off each other's
candidates; every database also gets a guarded UPDATE (`… WHERE locked_until is
still free`), so a row is only ever claimed by the pass whose UPDATE matched it,
which is what makes this safe on SQLite, where there is no row locking.

A lease can run out while its pass is still at work (a very slow Slack), and another
pass may then take the row. `begin_attempt` is the fence: right before sending, it
checks that the row still carries this pass's lease (and notes that a send begins), so
at most one of them sends; the results are recorded under the same condition.

`claim_due_groups` claims whole groups instead (a person's reminders): every due row of
each group it takes, so rows that go out together (one DM listing them) are never
split between two passes. Its claims take turns (an advisory lock on PostgreSQL; on
SQLite one UPDATE statement is atomic and a group goes whole to the first UPDATE).
"""

from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Sequence
from typing import TypeVar

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

T = TypeVar("T")


def _free(model, now: dt.datetime):
    return or_(model.locked_until.is_(None), model.locked_until < now)


def claim_due(
    session_factory: sessionmaker[Session],
    model: type[T],
    *,
    now: dt.datetime,
    lease: dt.timedelta,
    limit: int = 100,
    due_column: str = "next_run_at",
    where: Sequence[ColumnElement[bool]] = (),
) -> list[int]:
    """Ids of the rows this pass now holds (lease committed), oldest due first.

    `where` narrows the candidates (e.g. one action item's rows, right after a request).
    The lease ends at `lease_end(now, lease)`.
    """
    due = getattr(model, due_column)
    with session_factory() as session, session.begin():
        candidates = list(session.scalars(
            select(model.id)
            .where(due.is_not(None), due <= now, _free(model, now), *where)
            .order_by(due, model.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ))
        if not candidates:
            return []
        # One guarded UPDATE for the batch (RETURNING: PostgreSQL, SQLite 3.35+): the
        # rows it matched are this pass's; one per row cost a round trip each.
        won = set(session.scalars(
            update(model)
            .where(model.id.in_(candidates), _free(model, now))
            .values(locked_until=lease_end(now, lease))
            .returning(model.id)
            .execution_options(synchronize_session=False)
        ))
    return [row_id for row_id in candidates if row_id in won]


def claim_due_groups(
    session_factory: sessionmaker[Session],
    model: type[T],
    *,
    now: dt.datetime,
    lease: dt.timedelta,
    group_by: tuple[str, str] = ("team_id", "assignee_id"),
    limit: int = 25,
    where: Sequence[ColumnElement[bool]] = (),
) -> list[int]:
    """Ids of every due row of up to `limit` groups (rows alike in both `group_by`
    columns), oldest due first, lease committed. Another pass gets none of a group's
    rows that were due and free when this one took it."""
    outer, inner = (getattr(model, column) for column in group_by)
    due = model.next_run_at
    is_due = (due.is_not(None), due <= now, _free(model, now), *where)
    for _ in range(3):  # a group lost to another pass between look and claim: look again
        with session_factory() as session, session.begin():
            if session.get_bind().dialect.name == "postgresql":
                session.execute(select(func.pg_advisory_xact_lock(_lock_key(model))))
            looked = session.execute(
                select(outer, inner).where(*is_due).order_by(due, model.id).limit(limit * GROUP_SCAN)
            ).all()
            groups = list(dict.fromkeys((a, b) for a, b in looked))[:limit]
            if not groups:
                return []
            members: dict[object, list[object]] = {}
            for a, b in groups:
                members.setdefault(a, []).append(b)
            won = sorted(session.scalars(
                update(model)
                .where(*is_due, or_(*(and_(outer == a, inner.in_(bs)) for a, bs in members.items())))
                .values(locked_until=lease_end(now, lease))
                .returning(model.id)
                .execution_options(synchronize_session=False)
            ))
        if won:
            return won
    return []


GROUP_SCAN = 8  # due rows looked at per group wanted (a group often has several)


def _lock_key(model) -> int:
    """The advisory lock a table's group claims take turns by."""
    return zlib.crc32(f"accountplan.claim.{model.__tablename__}".encode()) & 0x7FFFFFFF


def lease_end(now: dt.datetime, lease: dt.timedelta) -> dt.datetime:
    """The `locked_until` a claim made at `now` wrote: what the pass holds the row by."""
    return now + lease


def begin_attempt(session: Session, model, row_id: int, *, held_until: dt.datetime,
                  now: dt.datetime) -> bool:
    """True when the row is still this pass's (lease unchanged): note a send begins.

    False: the lease ran out and another pass took the row, or the row changed (a
    change clears the lease); this pass must not send it.
    """
    result = session.execute(
        update(model)
        .where(model.id == row_id, model.locked_until == held_until)
        .values(attempted_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1
