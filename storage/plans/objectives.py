"""Changing a strategy's objectives: add, edit, delete."""

from __future__ import annotations

from sqlalchemy.orm import Session

from storage.domain import Actor
from storage.models import Objective, Strategy
from storage.plans.part_edits import editable_part, insert_part, save_edit
from storage.plans.rules import ObjectiveInput, objective_fields
from storage.plans.writes import check_version, lock_plan, next_position, remove_child, still_there


def add_objective(
    session: Session, actor: Actor, strategy_id: int, data: ObjectiveInput
) -> Objective:
    strategy, plan = editable_part(session, actor, "strategy", strategy_id)
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
    insert_part(session, actor, objective, "objective")
    return objective


def update_objective(
    session: Session,
    actor: Actor,
    objective_id: int,
    data: ObjectiveInput,
    *,
    expected_version: int | None = None,
) -> Objective:
    objective, _ = editable_part(session, actor, "objective", objective_id)
    check_version(objective, expected_version)
    save_edit(session, actor, objective, "objective", objective_fields(data))
    return objective


def delete_objective(session: Session, actor: Actor, objective_id: int) -> None:
    objective, _ = editable_part(session, actor, "objective", objective_id)
    remove_child(session, actor, objective, "objective", f"deleted objective “{objective.title}”")
