"""Changing a strategy's objectives: add, edit, delete."""

from __future__ import annotations

from sqlalchemy.orm import Session

from storage.domain import Actor
from storage.models import Objective, Strategy
from storage.plans.permissions import get_editable_plan
from storage.plans.reads import get_record
from storage.plans.rules import ObjectiveInput, objective_fields
from storage.plans.writes import (
    check_version,
    flush_or_conflict,
    lock_plan,
    log_change,
    log_edit,
    next_position,
    remove_child,
    set_fields,
    still_there,
)


def add_objective(
    session: Session, actor: Actor, strategy_id: int, data: ObjectiveInput
) -> Objective:
    strategy = get_record(session, Strategy, actor.team_id, strategy_id, "strategy")
    plan = get_editable_plan(session, actor, strategy.plan_id)
    fields = objective_fields(data)
    fields.setdefault("shared_with_customer", plan.share_with_customer_by_default)
    lock_plan(session, strategy.plan_id)
    still_there(session, Strategy, strategy.id, "strategy")
    objective = Objective(
        team_id=actor.team_id,
        plan_id=strategy.plan_id,
        strategy_id=strategy.id,
        position=next_position(session, Objective, Objective.strategy_id, strategy.id),
        **fields,
    )
    session.add(objective)
    flush_or_conflict(session)
    log_change(session, actor, strategy.plan_id, "objective", objective.id, "created", f"added objective “{objective.title}”")
    return objective


def update_objective(
    session: Session,
    actor: Actor,
    objective_id: int,
    data: ObjectiveInput,
    *,
    expected_version: int | None = None,
) -> Objective:
    objective = get_record(session, Objective, actor.team_id, objective_id, "objective")
    get_editable_plan(session, actor, objective.plan_id)
    check_version(objective, expected_version)
    changed = set_fields(objective, objective_fields(data))
    flush_or_conflict(session)
    log_edit(session, actor, objective, "objective", changed, f"edited objective “{objective.title}”")
    return objective


def delete_objective(session: Session, actor: Actor, objective_id: int) -> None:
    objective = get_record(session, Objective, actor.team_id, objective_id, "objective")
    get_editable_plan(session, actor, objective.plan_id)
    remove_child(session, actor, objective, "objective", f"deleted objective “{objective.title}”")
