"""Moving: up/down among siblings, or (objectives, action items) to another parent in
the same plan."""

from __future__ import annotations

from sqlalchemy.orm import Session

from storage.domain import Actor
from storage.errors import ValidationError
from storage.models import ActionItem, Objective, Strategy
from storage.plans.part_edits import editable_part
from storage.plans.reads import PARTS, get_record
from storage.plans.writes import (
    flush_or_conflict,
    lock_plan,
    log_change,
    next_position,
    renumber,
    siblings_of,
    still_there,
)


def move(
    session: Session,
    actor: Actor,
    entity: str,
    record_id: int,
    *,
    offset: int = 0,
    to_parent_id: int | None = None,
):
    """Move a record `offset` places (-1 up, +1 down), or to the end of another parent."""
    model = PARTS.get(entity)
    if model is None:
        raise ValidationError("entity", f"cannot move a {entity}")
    record, _ = editable_part(session, actor, entity, record_id)

    if to_parent_id is not None:
        if model is Objective:
            parent = get_record(session, Strategy, actor.team_id, to_parent_id, "strategy")
            parent_attr, parent_col = "strategy_id", Objective.strategy_id
        elif model is ActionItem:
            parent = get_record(session, Objective, actor.team_id, to_parent_id, "objective")
            parent_attr, parent_col = "objective_id", ActionItem.objective_id
        else:
            raise ValidationError("parent", f"a {entity} stays in its plan")
        if parent.plan_id != record.plan_id:
            raise ValidationError("parent", "can only move within the same plan")
        lock_plan(session, record.plan_id)
        still_there(session, type(parent), parent.id, "strategy" if model is Objective else "objective")
        siblings = siblings_of(session, record)
        if getattr(record, parent_attr) != parent.id:
            old_siblings = [s for s in siblings if s.id != record.id]
            record.position = next_position(session, model, parent_col, parent.id)
            setattr(record, parent_attr, parent.id)
            renumber(old_siblings)
    elif offset:
        lock_plan(session, record.plan_id)
        siblings = siblings_of(session, record)
        index = next(i for i, s in enumerate(siblings) if s.id == record.id)
        new_index = max(0, min(len(siblings) - 1, index + offset))
        siblings.insert(new_index, siblings.pop(index))
        renumber(siblings)
    flush_or_conflict(session)
    log_change(session, actor, record.plan_id, entity, record.id, "moved", f"moved a {entity.replace('_', ' ')}")
    return record
