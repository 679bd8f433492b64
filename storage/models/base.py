"""The declarative base every table shares: naming convention, UTC datetimes, enums as
VARCHAR + CHECK, and the optimistic version counter.

Every table carries `team_id` (the Slack workspace) so that every query can be scoped
to the workspace it came from without a join. Children carry `plan_id` too, so that a
plan's whole tree, its progress and its deletion are one indexed query per table.
Ordered children have a `position` (0-based, dense within the parent).
Records that people edit have a `version` (SQLAlchemy's version counter): an UPDATE
that lost a race matches no row and raises instead of silently overwriting.
Children are deleted by the database (ON DELETE CASCADE, `passive_deletes`): deleting a
plan of hundreds of items is a few statements, not one load per objective. SQLite
enforces this only with PRAGMA foreign_keys=ON, which storage.db.make_engine sets.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import DateTime, Enum, Integer, MetaData
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class UTC(TypeDecorator):
    """Timezone-aware UTC datetimes on every database (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: store UTC with tzinfo")
        value = value.astimezone(dt.timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc)




def str_enum(cls: type[enum.StrEnum], name: str) -> Enum:
    # VARCHAR + CHECK on every database: no native PostgreSQL ENUM types to migrate.
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=16,
        values_callable=lambda e: [m.value for m in e],
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Versioned:
    """Optimistic concurrency: `version` goes up by one on every UPDATE."""

    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UTC, nullable=False, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(
        UTC, nullable=False, default=utcnow, onupdate=utcnow
    )

