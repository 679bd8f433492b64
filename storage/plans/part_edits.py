"""The steps that adding, editing and deleting a strategy, objective or action item
share (strategies.py, objectives.py, action_items.py): finding the part on a plan the
actor may change, inserting a new one, saving an edit. Each caller keeps its own
checks, locks and reminders around them, in the order it needs."""

from __future__ import annotations

from sqlalchemy.orm import Session

from storage.domain import Actor
from storage.models import AccountPlan
from storage.plans.permissions import get_editable_plan
from storage.plans.reads import PARTS, get_record
from storage.plans.writes import flush_or_conflict, log_change, log_edit, set_fields


def _what(entity: str) -> str:
    return entity.replace("_", " ")  # "action_item" -> "action item", as messages say it


def editable_part(session: Session, actor: Actor, entity: str, record_id: int) -> tuple[object, AccountPlan]:
    """The part (PARTS[entity]) of this workspace and its plan; NotFound if there is no
    such part, PermissionDenied if the actor may not change the plan."""
    record = get_record(session, PARTS[entity], actor.team_id, record_id, _what(entity))
    return record, get_editable_plan(session, actor, record.plan_id)


def insert_part(session: Session, actor: Actor, record, entity: str) -> None:
    """Add a new part (built after lock_plan, its position read under the lock), flush
    it (a lost race is a Conflict) and log it."""
    session.add(record)
    flush_or_conflict(session)
    log_change(session, actor, record.plan_id, entity, record.id, "created",
               f"added {_what(entity)} “{record.title}”")


def save_edit(session: Session, actor: Actor, record, entity: str, fields: dict) -> None:
    """Set the part's fields, flush (a lost race is a Conflict) and log which changed."""
    changed = set_fields(record, fields)
    flush_or_conflict(session)
    log_edit(session, actor, record, entity, changed, f"edited {_what(entity)} “{record.title}”")
