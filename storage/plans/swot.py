"""Changing a plan's SWOT: add, edit (to another kind too), delete."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.domain import Actor
from storage.models import SwotEntry, SwotKind
from storage.plans.permissions import get_editable_plan
from storage.plans.reads import get_record
from storage.plans.rules import swot_fields
from storage.plans.writes import (
    check_version,
    flush_or_conflict,
    lock_plan,
    log_change,
    remove_child,
    renumber,
    siblings_of,
)


def add_swot_entry(
    session: Session,
    actor: Actor,
    plan_id: int,
    kind: SwotKind | str,
    text: str,
    *,
    team_only: bool = True,
) -> SwotEntry:
    plan = get_editable_plan(session, actor, plan_id)
    swot_kind, clean = swot_fields(kind, text)
    lock_plan(session, plan.id)
    entry = SwotEntry(
        team_id=actor.team_id,
        plan_id=plan.id,
        kind=swot_kind,
        text=clean,
        team_only=team_only,
        position=_next_position_swot(session, plan.id, swot_kind),
    )
    session.add(entry)
    flush_or_conflict(session)
    log_change(session, actor, plan.id, "swot", entry.id, "created", f"added {swot_kind.value}")
    return entry


def _next_position_swot(session: Session, plan_id: int, kind: SwotKind) -> int:
    highest = session.scalar(
        select(func.max(SwotEntry.position)).where(
            SwotEntry.plan_id == plan_id, SwotEntry.kind == kind
        )
    )
    return 0 if highest is None else highest + 1


def update_swot_entry(
    session: Session,
    actor: Actor,
    entry_id: int,
    kind: SwotKind | str,
    text: str,
    *,
    team_only: bool = True,
    expected_version: int | None = None,
) -> SwotEntry:
    entry = get_record(session, SwotEntry, actor.team_id, entry_id, "SWOT entry")
    get_editable_plan(session, actor, entry.plan_id)
    check_version(entry, expected_version)
    new_kind, new_text = swot_fields(kind, text)
    if new_kind != entry.kind:
        # Read before changing anything (autoflush would write the entry half-moved, and
        # bump its version twice); the kind it leaves closes ranks.
        lock_plan(session, entry.plan_id)
        left_behind = [e for e in siblings_of(session, entry, unchanged=True) if e.id != entry.id]
        entry.position = _next_position_swot(session, entry.plan_id, new_kind)
        entry.kind = new_kind
        renumber(left_behind)
    entry.text = new_text
    entry.team_only = team_only
    flush_or_conflict(session)
    log_change(session, actor, entry.plan_id, "swot", entry.id, "updated", f"edited {entry.kind.value}")
    return entry


def delete_swot_entry(session: Session, actor: Actor, entry_id: int) -> None:
    entry = get_record(session, SwotEntry, actor.team_id, entry_id, "SWOT entry")
    get_editable_plan(session, actor, entry.plan_id)
    remove_child(session, actor, entry, "swot", f"deleted {entry.kind.value}")
