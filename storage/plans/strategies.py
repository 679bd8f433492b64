"""Changing a plan's strategies: add, edit, delete."""

from __future__ import annotations

from sqlalchemy.orm import Session

from storage.domain import Actor
from storage.models import Strategy
from storage.plans.permissions import get_editable_plan
from storage.plans.reads import get_record
from storage.plans.rules import strategy_fields
from storage.plans.writes import (
    check_version,
    flush_or_conflict,
    lock_plan,
    log_change,
    log_edit,
    next_position,
    remove_child,
    set_fields,
)


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
    session.add(strategy)
    flush_or_conflict(session)
    log_change(session, actor, plan.id, "strategy", strategy.id, "created", f"added strategy “{strategy.title}”")
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
    strategy = get_record(session, Strategy, actor.team_id, strategy_id, "strategy")
    get_editable_plan(session, actor, strategy.plan_id)
    check_version(strategy, expected_version)
    changed = set_fields(strategy, strategy_fields(title, description, shared_with_customer))
    flush_or_conflict(session)
    log_edit(session, actor, strategy, "strategy", changed, f"edited strategy “{strategy.title}”")
    return strategy


def delete_strategy(session: Session, actor: Actor, strategy_id: int) -> None:
    strategy = get_record(session, Strategy, actor.team_id, strategy_id, "strategy")
    get_editable_plan(session, actor, strategy.plan_id)
    remove_child(session, actor, strategy, "strategy", f"deleted strategy “{strategy.title}”")
