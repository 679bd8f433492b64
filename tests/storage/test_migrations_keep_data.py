"""Upgrading a SQLite database that already has plans, from the first revisions to the
newest, keeps every plan, strategy, objective and action item.

Alembic rebuilds a SQLite table to change it; with foreign keys on, dropping the old
copy of a referenced table cascade-deleted its children (0003 rebuilt account_plans and
every strategy went). storage.migrate.upgrade turns foreign keys off while it runs.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text

from storage import migrate
from storage.db import make_engine

TABLES = ("accounts", "account_plans", "plan_members", "strategies", "objectives", "action_items",
          "swot_entries")


def _fill_at_0002(engine) -> None:
    migrate.upgrade(engine, "0002")
    stamp = "'2025-01-01 00:00:00'"
    with engine.begin() as connection:
        connection.execute(text(f"insert into accounts (id, team_id, name, created_at) values (1, 'T1', 'Acme', {stamp})"))
        connection.execute(text(
            "insert into account_plans (id, team_id, account_id, name, start_date, end_date, status, owner_id,"
            " vision, customer_goals, our_goals, qbr_reminder_days, version, created_at, updated_at)"
            f" values (1, 'T1', 1, 'Plan', '2025-01-01', '2025-12-31', 'active', 'U1', '', '', '', 90, 1, {stamp}, {stamp})"))
        connection.execute(text("insert into plan_members (plan_id, user_id, team_id) values (1, 'U2', 'T1')"))
        connection.execute(text(
            "insert into strategies (id, team_id, plan_id, position, title, description, version, created_at,"
            f" updated_at) values (1, 'T1', 1, 0, 'S', '', 1, {stamp}, {stamp})"))
        connection.execute(text(
            "insert into objectives (id, team_id, plan_id, strategy_id, position, title, description,"
            f" measure_unit, version, created_at, updated_at) values (1, 'T1', 1, 1, 0, 'O', '', '', 1, {stamp}, {stamp})"))
        connection.execute(text(
            "insert into action_items (id, team_id, plan_id, objective_id, position, title, notes, status,"
            f" team_only, version, created_at, updated_at) values (1, 'T1', 1, 1, 0, 'A', '', 'open', 0, 1, {stamp}, {stamp})"))
        connection.execute(text(
            "insert into swot_entries (id, team_id, plan_id, kind, position, text, team_only, version,"
            f" created_at, updated_at) values (1, 'T1', 1, 'strength', 0, 'Good', 1, 1, {stamp}, {stamp})"))


def _counts(engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {name: connection.scalar(text(f"select count(*) from {name}")) for name in TABLES}


def test_upgrading_a_sqlite_database_with_plans_to_the_newest_keeps_them(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        _fill_at_0002(engine)
        before = _counts(engine)
        assert all(before.values()), before

        migrate.upgrade(engine)

        assert _counts(engine) == before
        with engine.connect() as connection:  # the pooled connection enforces foreign keys again
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()


def test_a_migration_leaving_broken_references_is_rolled_back(tmp_path):
    """The check before the commit: rows pointing nowhere stop the upgrade, nothing changes."""
    engine = make_engine(f"sqlite:///{tmp_path / 'broken.db'}")
    try:
        _fill_at_0002(engine)
        with engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
            connection.exec_driver_sql("delete from strategies")  # objectives now point nowhere
            connection.commit()
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            connection.commit()
        with pytest.raises(RuntimeError, match="pointing nowhere"):
            migrate.upgrade(engine, "0003")
        with engine.connect() as connection:
            assert connection.exec_driver_sql("select version_num from alembic_version").scalar() == "0002"
    finally:
        engine.dispose()
