"""The migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage import migrate
from storage import plans as ops
from storage.db import make_engine
from storage.models import Base
from tests.conftest import schema_with_models

from .conftest import OWNER, make_tree


def _differences(engine: Engine) -> list:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)


def test_upgrade_builds_the_models_schema_exactly(empty_engine):
    migrate.upgrade(empty_engine)
    assert _differences(empty_engine) == []


def test_the_comparison_does_see_a_difference(empty_engine):
    """Guard for the test above: an empty database differs from the models."""
    differences = _differences(empty_engine)
    assert {d[1].name for d in differences if d[0] == "add_table"} == set(Base.metadata.tables)


def test_is_current_only_after_upgrade(empty_engine):
    assert migrate.is_current(empty_engine) is False
    migrate.upgrade(empty_engine)
    assert migrate.is_current(empty_engine) is True


def test_upgrade_twice_is_harmless(empty_engine):
    migrate.upgrade(empty_engine)
    migrate.upgrade(empty_engine)
    assert migrate.is_current(empty_engine) and _differences(empty_engine) == []


def _names(engine: Engine) -> dict:
    """Every named constraint and index, per table: what later migrations refer to by name."""
    inspector = inspect(engine)
    names = {}
    for table in Base.metadata.tables:
        names[table] = sorted(
            [c["name"] for c in inspector.get_check_constraints(table)]
            + [c["name"] for c in inspector.get_unique_constraints(table)]
            + [c["name"] for c in inspector.get_foreign_keys(table)]
            + [i["name"] for i in inspector.get_indexes(table)]
        )
    return names


@pytest.fixture
def models_engine(empty_engine, tmp_path) -> Iterator[Engine]:
    """A second empty database of the same kind, built by Base.metadata.create_all."""
    if empty_engine.dialect.name == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'models.db'}")
        Base.metadata.create_all(engine)
        yield engine
        engine.dispose()
        return
    with empty_engine.begin() as connection:
        schema = connection.execute(text("select current_schema()")).scalar() + "_models"
    with schema_with_models(empty_engine, schema, pool_size=1, max_overflow=0) as engine:
        yield engine


def test_constraint_and_index_names_match_the_models(empty_engine, models_engine):
    # compare_metadata does not look at CHECK constraints nor at every name; later
    # migrations refer to them by name, so they must be the same however the
    # database was built.
    migrate.upgrade(empty_engine)
    assert _names(empty_engine) == _names(models_engine)


# Known, not yet indexed: a plan deleted sets its copies' copied_from_id to NULL
# (plans are few per workspace; left for a later migration).
UNINDEXED_FOREIGN_KEYS = {("account_plans", "copied_from_id")}


@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection")
def test_every_foreign_key_is_the_leading_column_of_an_index(empty_engine):
    """ON DELETE CASCADE / SET NULL look the referencing rows up by their foreign key:
    without an index that is a scan of the whole table on every delete."""
    migrate.upgrade(empty_engine)
    schema = inspect(empty_engine)
    missing = set()
    for table in schema.get_table_names():
        leading = {index["column_names"][0] for index in schema.get_indexes(table) if index["column_names"]}
        leading |= {unique["column_names"][0] for unique in schema.get_unique_constraints(table)}
        leading |= set(schema.get_pk_constraint(table)["constrained_columns"][:1])
        for key in schema.get_foreign_keys(table):
            if key["constrained_columns"][0] not in leading:
                missing.add((table, key["constrained_columns"][0]))
    assert missing == UNINDEXED_FOREIGN_KEYS


def test_migrated_database_refuses_unknown_enum_values(empty_engine):
    migrate.upgrade(empty_engine)
    with Session(empty_engine) as session:
        plan, *_ = make_tree(session)
        ops.add_swot_entry(session, OWNER, plan.id, "threat", "Generics")
        session.commit()
    # Going around the ORM, as a hand-written SQL fix might: the database still refuses.
    for table, column, bad in [
        ("account_plans", "status", "paused"),
        ("action_items", "status", "late"),
        ("swot_entries", "kind", "risk"),
    ]:
        with pytest.raises(IntegrityError), empty_engine.begin() as connection:
            connection.execute(text(f"update {table} set {column} = :bad"), {"bad": bad})
