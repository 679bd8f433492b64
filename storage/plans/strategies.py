"""Changing a plan's strategies: add, edit, delete."""

from __future__ import annotations

from sqlalchemy.orm import Session

from storage.domain import Actor
from storage.models import Strategy
from storage.plans.part_edits import editable_part, insert_part, save_edit
from storage.plans.permissions import get_editable_plan
from storage.plans.rules import strategy_fields
from storage.plans.writes import check_version, lock_plan, next_position, remove_child


def add_strategy(
    session: Session, actor: Actor, plan_id: int, title: str, description: str = "",
    *, shared_with_customer: bool | None = None,
) -> Strategy:
    """`shared_with_customer` None: the plan's share_with_customer_by_default."""
    plan = get_editable_plan(session, actor, plan_id)
    fields = strategy_fields(title, description, shared_with_customer)
    fields.setdefault("shared_with_customer", plan.share_with_customer_by_default)
    lock_plan(session, plan.id)
    strategy = Strategy(
        team_id=actor.team_id,
        plan_id=plan.id,
        position=next_position(session, Strategy, Strategy.plan_id, plan.id),
        **fields,
    )
    insert_part(session, actor, strategy, "strategy")
    return strategy


def update_strategy(
    session: Session,
    actor: Actor,
    strategy_id: int,
    title: str,
    description: str = "",
    *,
    expected_version: int | None = None,
    shared_with_customer: bool | None = None,
) -> Strategy:
    """`shared_with_customer` None: left as it is."""
    strategy, _ = editable_part(session, actor, "strategy", strategy_id)
    check_version(strategy, expected_version)
    save_edit(session, actor, strategy, "strategy", strategy_fields(title, description, shared_with_customer))
    return strategy


def delete_strategy(session: Session, actor: Actor, strategy_id: int) -> None:
    strategy, _ = editable_part(session, actor, "strategy", strategy_id)
    remove_child(session, actor, strategy, "strategy", f"deleted strategy “{strategy.title}”")
