"""Migration 0006 on a database that has plans: nothing of them is lost (on SQLite a
rebuilt table would cascade-delete its children), the new columns start at their
defaults, the expression index of account_plans stays, the new enum columns refuse
unknown values, and it goes down and up again."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage import migrate
from storage.migrate import alembic_config
from storage.models import ActionItem, Objective, Strategy

from .conftest import make_tree

COUNTED = {"strategies": Strategy, "objectives": Objective, "action_items": ActionItem}


def _counts(engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {name: connection.scalar(text(f"select count(*) from {name}")) for name in COUNTED}


def _fill_at_0005(engine) -> None:
    """Plans written the way a 0005 database has them (the 0005 columns only)."""
    migrate.upgrade(engine, "0005")
    with engine.begin() as connection:
        connection.execute(text(
            "insert into accounts (id, team_id, name, created_at) values (1, 'T1', 'Acme', '2025-01-01')"))
        connection.execute(text(
            "insert into account_plans (id, team_id, account_id, name, start_date, end_date, status, owner_id,"
            " vision, customer_goals, our_goals, qbr_reminder_days, reminder_lead_days, reminders_synced,"
            " version, created_at, updated_at) values (1, 'T1', 1, 'Plan', '2025-01-01', '2025-12-31',"
            " 'active', 'U1', '', '', '', 90, 1, true, 1, '2025-01-01', '2025-01-01')"))
        connection.execute(text(
            "insert into strategies (id, team_id, plan_id, position, title, description, version, created_at,"
            " updated_at) values (1, 'T1', 1, 0, 'S', '', 1, '2025-01-01', '2025-01-01')"))
        connection.execute(text(
            "insert into objectives (id, team_id, plan_id, strategy_id, position, title, description,"
            " measure_unit, version, created_at, updated_at) values (1, 'T1', 1, 1, 0, 'O', '', '', 1,"
            " '2025-01-01', '2025-01-01')"))
        connection.execute(text(
            "insert into action_items (id, team_id, plan_id, objective_id, position, title, notes, status,"
            " team_only, version, created_at, updated_at) values (1, 'T1', 1, 1, 0, 'A', '', 'open', false, 1,"
            " '2025-01-01', '2025-01-01')"))


def _has_lower_name_index(engine) -> bool:
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            sql = "select count(*) from sqlite_master where name = 'ix_account_plans_team_lower_name'"
        else:
            sql = ("select count(*) from pg_indexes where schemaname = current_schema()"
                   " and indexname = 'ix_account_plans_team_lower_name'")
        return connection.scalar(text(sql)) == 1


def test_upgrade_keeps_every_plan_and_starts_the_new_columns_at_their_defaults(empty_engine):
    _fill_at_0005(empty_engine)
    migrate.upgrade(empty_engine)
    assert _counts(empty_engine) == {"strategies": 1, "objectives": 1, "action_items": 1}
    assert _has_lower_name_index(empty_engine)
    with empty_engine.connect() as connection:
        plan = connection.execute(text(
            "select checkin_lead_days, monthly_checkins, checkins_checked_on from account_plans")).one()
        objective = connection.execute(text(
            "select owner_id, progress_status, progress_note, progress_updated_at from objectives")).one()
    assert (plan[0], bool(plan[1]), plan[2]) == (5, False, None)
    assert tuple(objective) == (None, None, "", None)


def test_down_and_up_again_keeps_the_plans(empty_engine):
    _fill_at_0005(empty_engine)
    migrate.upgrade(empty_engine)
    migrate.downgrade(empty_engine, "0005")
    assert "stakeholders" not in inspect(empty_engine).get_table_names()
    assert _counts(empty_engine) == {"strategies": 1, "objectives": 1, "action_items": 1}
    migrate.upgrade(empty_engine)
    assert migrate.is_current(empty_engine) and _has_lower_name_index(empty_engine)
    assert _counts(empty_engine) == {"strategies": 1, "objectives": 1, "action_items": 1}


def test_the_new_enum_columns_refuse_unknown_values(empty_engine):
    migrate.upgrade(empty_engine)
    with Session(empty_engine) as session:
        plan, *_ = make_tree(session)
        session.commit()
        plan_id = plan.id
    with empty_engine.begin() as connection:
        connection.execute(text(
            "insert into stakeholders (team_id, plan_id, position, name, title, side, notes, version,"
            " created_at, updated_at) values ('T0TEAM', :plan, 0, 'Ada', '', 'customer', '', 1,"
            " '2025-01-01', '2025-01-01')"), {"plan": plan_id})
    for table, column, bad in [
        ("objectives", "progress_status", "sideways"),
        ("stakeholders", "side", "partner"),
        ("stakeholders", "role", "boss"),
        ("stakeholders", "influence", "huge"),
        ("stakeholders", "stance", "hostile"),
    ]:
        with pytest.raises(IntegrityError), empty_engine.begin() as connection:
            connection.execute(text(f"update {table} set {column} = :bad"), {"bad": bad})
