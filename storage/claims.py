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
"""

from __future__ import annotations

import datetime as dt
from typing import TypeVar

from sqlalchemy import or_, select, update
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
) -> list[int]:
    """Ids of the rows this pass now holds (lease committed), oldest due first."""
    due = getattr(model, due_column)
    with session_factory() as session, session.begin():
        candidates = list(session.scalars(
            select(model.id)
            .where(due.is_not(None), due <= now, _free(model, now))
            .order_by(due, model.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ))
        claimed = []
        for row_id in candidates:
            result = session.execute(
                update(model)
                .where(model.id == row_id, _free(model, now))
                .values(locked_until=now + lease)
                .execution_options(synchronize_session=False)
            )
            if result.rowcount == 1:
                claimed.append(row_id)
    return claimed


def release(session: Session, model, row_id: int) -> None:
    """Give a lease back early (e.g. nothing could be sent and it should retry soon)."""
    session.execute(update(model).where(model.id == row_id).values(locked_until=None)
                    .execution_options(synchronize_session=False))
