"""Bulk data for benchmarks: whole plans written with one multi-row INSERT per table
and batch, the fewest statements that can put them in the database.

It writes the same rows `accountplan import` would (minus change-log entries), so it is
also the "least work" baseline beside which the import benchmark is read.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Engine, func, insert, select

from storage.models import (
    Account,
    AccountPlan,
    ActionItem,
    ItemStatus,
    Objective,
    PlanMember,
    PlanStatus,
    Strategy,
    SwotEntry,
    SwotKind,
    utcnow,
)

BATCH = 5_000


@dataclass(frozen=True)
class Shape:
    strategies: int = 5
    objectives: int = 4
    items: int = 3


def _chunks(rows: list[dict], size: int = BATCH):
    for start in range(0, len(rows), size):
        yield rows[start:start + size]


def _next_id(connection, model) -> int:
    return (connection.scalar(select(func.max(model.id))) or 0) + 1


def bulk_plans(
    engine: Engine,
    *,
    team_id: str,
    plans: int,
    shape: Shape = Shape(),
    owner: str = "U0OWNER",
    member: str = "U0MEMBER",
    name_prefix: str = "Plan",
    start: dt.date = dt.date(2025, 1, 1),
) -> list[int]:
    """Insert `plans` whole plans of `shape` with explicit ids; returns the plan ids."""
    now = utcnow()
    end = start.replace(year=start.year + 1) - dt.timedelta(days=1)
    stamps = {"version": 1, "created_at": now, "updated_at": now}
    rows: dict[type, list[dict]] = {m: [] for m in (Account, AccountPlan, PlanMember, Strategy,
                                                     Objective, ActionItem, SwotEntry)}
    with engine.begin() as connection:
        ids = {m: _next_id(connection, m) for m in (Account, AccountPlan, Strategy, Objective,
                                                     ActionItem, SwotEntry)}
        plan_ids = []
        for p in range(plans):
            account_id, plan_id = ids[Account], ids[AccountPlan]
            ids[Account] += 1
            ids[AccountPlan] += 1
            plan_ids.append(plan_id)
            rows[Account].append({"id": account_id, "team_id": team_id,
                                  "name": f"{name_prefix} account {account_id}", "created_at": now})
            rows[AccountPlan].append({
                "id": plan_id, "team_id": team_id, "account_id": account_id,
                "name": f"{name_prefix} {plan_id}", "start_date": start, "end_date": end,
                "status": PlanStatus.ACTIVE if p % 2 else PlanStatus.DRAFT, "owner_id": owner,
                "vision": "", "customer_goals": "", "our_goals": "", **stamps,
            })
            rows[PlanMember].append({"plan_id": plan_id, "user_id": member, "team_id": team_id})
            for s in range(shape.strategies):
                strategy_id = ids[Strategy]
                ids[Strategy] += 1
                rows[Strategy].append({"id": strategy_id, "team_id": team_id, "plan_id": plan_id,
                                       "position": s, "title": f"Strategy {s + 1}", "description": "",
                                       "shared_with_customer": True, **stamps})
                for o in range(shape.objectives):
                    objective_id = ids[Objective]
                    ids[Objective] += 1
                    rows[Objective].append({
                        "id": objective_id, "team_id": team_id, "plan_id": plan_id,
                        "strategy_id": strategy_id, "position": o, "title": f"Objective {s + 1}.{o + 1}",
                        "description": "", "measure_unit": "", "shared_with_customer": True, **stamps,
                    })
                    for i in range(shape.items):
                        item_id = ids[ActionItem]
                        ids[ActionItem] += 1
                        rows[ActionItem].append({
                            "id": item_id, "team_id": team_id, "plan_id": plan_id,
                            "objective_id": objective_id, "position": i,
                            "title": f"Action item {item_id}", "notes": "", "assignee_id": member,
                            "due_date": start + dt.timedelta(days=(item_id % 300)),
                            "status": ItemStatus.DONE if item_id % 3 == 0 else ItemStatus.OPEN,
                            "shared_with_customer": item_id % 5 != 0, **stamps,
                        })
            for k, kind in enumerate(SwotKind):
                rows[SwotEntry].append({"id": ids[SwotEntry], "team_id": team_id, "plan_id": plan_id,
                                        "kind": kind, "position": 0, "text": f"{kind.value} {k}",
                                        "team_only": True, **stamps})
                ids[SwotEntry] += 1
        for model, table_rows in rows.items():
            for chunk in _chunks(table_rows):
                connection.execute(insert(model), chunk)
        if engine.dialect.name == "postgresql":
            # Explicit ids leave the sequences behind; move them past what we wrote.
            for model in (Account, AccountPlan, Strategy, Objective, ActionItem, SwotEntry):
                table = model.__tablename__
                connection.exec_driver_sql(
                    f"select setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(select coalesce(max(id), 1) from {table}))")
    return plan_ids
