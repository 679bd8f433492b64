"""Bulk inserts: many rows of one table in a few statements whatever their number, and
the new ids read back in the order of the rows (plan file import, deep copy)."""

from __future__ import annotations

import operator
from collections.abc import Callable

from sqlalchemy import insert, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session


def insert_rows(
    session: Session, model, rows: list[dict], *, ids: bool = False, parent: str | None = None
) -> list[int]:
    """Insert `rows` (dicts with the same keys) into `model`'s table; with `ids`, return
    the new ids in the order of `rows`.

    PostgreSQL: ids come from the table's sequence in one query, rows go in with COPY.
    SQLite: one executemany through the driver, values converted by the columns' own
    bind processors (as SQLAlchemy would convert them, less its work per row).
    Elsewhere: one executemany. The ids of children of new plans are read back by
    (`parent` column, position), a few SELECTs. (SQLite cannot batch INSERT … RETURNING
    in a known order: SQLAlchemy would send one INSERT per row.) Without `parent`:
    INSERT … RETURNING.

    Columns the rows leave out get their Python-side default here (`version`, the
    timestamps, …: worked out once for all the rows), as the driver's paths (COPY,
    sqlite3's executemany) apply none; server defaults apply as usual. The rows are not
    in the session: read them by query (a parent's collection loads lazily after).
    """
    if not rows:
        return []
    table = model.__table__
    rows = _with_defaults(table, rows)
    connection = session.connection()
    if connection.dialect.name == "postgresql" and connection.dialect.driver == "psycopg":
        return _pg_copy(session, table, rows, ids=ids)
    if ids and parent is None:
        statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
        return list(session.execute(statement, rows).scalars())
    if connection.dialect.name == "sqlite":
        _sqlite_executemany(connection, table, rows)
    else:
        session.execute(insert(table), rows)
    if not ids:
        return []
    # Every row belongs to a plan the caller has just created (an import, a copy), so
    # (parent, position) names it.
    plan_ids = sorted({row["plan_id"] for row in rows})
    found: dict[tuple[int, int], int] = {}
    for start in range(0, len(plan_ids), CHUNK):
        query = select(table.c.id, table.c[parent], table.c.position).where(
            table.c.plan_id.in_(plan_ids[start:start + CHUNK])
        )
        found.update(((parent_id, position), new_id) for new_id, parent_id, position in session.execute(query))
    return [found[(row[parent], row["position"])] for row in rows]


CHUNK = 500  # ids per IN (…): well below every database's bound-parameter limit


def _with_defaults(table, rows: list[dict]) -> list[dict]:
    """`rows` with the Python-side default of every column they leave out."""
    defaults = {}
    for column in table.c:
        default = column.default
        if column.name in rows[0] or default is None:
            continue
        if default.is_scalar:
            defaults[column.name] = default.arg
        elif default.is_callable:  # SQLAlchemy wraps a callable to take the context
            defaults[column.name] = default.arg(None)
    return [dict(defaults, **row) for row in rows] if defaults else rows


def _sqlite_executemany(connection, table, rows: list[dict]) -> None:
    dialect = connection.dialect
    names = list(rows[0])
    quote = dialect.identifier_preparer.quote
    statement = (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(n) for n in names)}) "
        f"VALUES ({', '.join('?' * len(names))})"
    )
    columns = []
    for name in names:
        values = list(map(operator.itemgetter(name), rows))
        processor = table.c[name].type._cached_bind_processor(dialect)
        columns.append(values if processor is None else _converted(values, processor))
    connection.exec_driver_sql(statement, list(zip(*columns)))


def _converted(values: list, processor: Callable) -> list:
    """processor(value) of each value, once per distinct value (a batch repeats its
    timestamps, statuses and dates). Values of one column that are equal convert to
    the same (True and 1, "open" and ItemStatus.OPEN, Decimal 5 and 5.0)."""
    cache: dict = {}
    result = []
    for value in values:
        try:
            converted = cache[value]
        except KeyError:
            converted = cache[value] = processor(value)
        except TypeError:  # not hashable (a JSON value)
            converted = processor(value)
        result.append(converted)
    return result


def _pg_copy(session: Session, table, rows: list[dict], *, ids: bool) -> list[int]:
    new_ids: list[int] = []
    if ids:
        sequence = session.execute(
            text("select pg_get_serial_sequence(:table, 'id')"), {"table": table.name}
        ).scalar_one()
        new_ids = sorted(
            session.execute(
                text("select nextval(:sequence) from generate_series(1, :n)"),
                {"sequence": sequence, "n": len(rows)},
            ).scalars()
        )
        for row, new_id in zip(rows, new_ids):
            row["id"] = new_id
    names = list(rows[0])
    quote = session.connection().dialect.identifier_preparer.quote
    statement = f"COPY {quote(table.name)} ({', '.join(quote(n) for n in names)}) FROM STDIN"
    dbapi = session.connection().connection.dbapi_connection
    values = operator.itemgetter(*names) if len(names) > 1 else (lambda row: (row[names[0]],))
    # psycopg adapts every value; our enums are StrEnums, so they go in by value.
    try:
        with dbapi.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(values(row))
    except dbapi.Error as error:  # as SQLAlchemy would have raised it (IntegrityError, …)
        raise DBAPIError.instance(statement, None, error, type(dbapi).Error) from None
    return new_ids
