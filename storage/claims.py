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
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TypeVar

from sqlalchemy import ColumnElement, or_, select, update
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
