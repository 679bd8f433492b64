"""INSERT … ON CONFLICT on both databases: rows that concurrent passes or requests may
write at the same moment (a person's cached time zone, a plan's reminder rows)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def _insert(session: Session, model):
    dialect = session.get_bind().dialect.name
    return (postgresql if dialect == "postgresql" else sqlite).insert(model)


def insert_missing(session: Session, model, rows: Sequence[dict[str, Any]],
                   keys: Iterable[str]) -> None:
    """Insert the rows whose `keys` are not taken yet; leave the others as they are."""
    if rows:
        statement = _insert(session, model).on_conflict_do_nothing(index_elements=list(keys))
        session.execute(statement, list(rows))


def upsert(session: Session, model, values: dict[str, Any], keys: Sequence[str],
           update: Sequence[str]) -> None:
    """Insert the row, or update `update` columns of the one with the same `keys`."""
    statement = _insert(session, model).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=list(keys), set_={name: statement.excluded[name] for name in update}
    )
    session.execute(statement)


def upsert_many(session: Session, model, rows: Sequence[dict[str, Any]], keys: Sequence[str],
                update: Sequence[str]) -> None:
    """`upsert` for many rows with the same columns, in one statement per 1,000."""
    for start in range(0, len(rows), 1000):
        statement = _insert(session, model).values(list(rows[start:start + 1000]))
        statement = statement.on_conflict_do_update(
            index_elements=list(keys), set_={name: statement.excluded[name] for name in update}
        )
        session.execute(statement)
