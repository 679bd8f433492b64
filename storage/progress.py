"""Objective owners and the progress they report: who is asked about an objective, what
they said (on track, at risk, off track, a one-line note, the current value of a
measurable one) and when.

An objective's owner is a Slack user; None means the plan's owner (so a plan handed to
someone else hands its unassigned objectives with it). The owner and team of the plan
set owners; progress may be recorded by them or by the objective's own owner, who need
not be on the team. Nobody from another organisation does either.

A progress update is logged as entity "objective_progress", which the customer's
digest leaves out (storage/digests.py shares only plan, strategy, objective and review
changes): an "at risk" and its note are the team's.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from storage import checkins, people
from storage.domain import (
    PROGRESS_NOTE_MAX,
    Actor,
    ObjectiveStatus,
)
from storage.errors import PermissionDenied, ValidationError
from storage.models import AccountPlan, Objective, Strategy, utcnow
from storage.plans.permissions import can_edit, get_editable_plan, require_internal
from storage.plans.reads import get_plan, get_record
from storage.plans.rules import FieldErrors, clean_decimal, clean_text, clean_user_id
from storage.plans.writes import check_version, flush_or_conflict, log_change


def owner_of(objective: Objective, plan: AccountPlan) -> str:
    """Who is asked about the objective: its owner, else the plan's."""
    return objective.owner_id or plan.owner_id


def set_objective_owner(session: Session, actor: Actor, objective_id: int, owner_id: str | None, *,
                        expected_version: int | None = None) -> Objective:
    """Make `owner_id` the objective's owner (None or the plan's owner: follow the plan's
    owner). The plan's check-ins are worked out again today, so a new owner is asked in
    the round under way."""
    objective = get_record(session, Objective, actor.team_id, objective_id, "objective")
    plan = get_editable_plan(session, actor, objective.plan_id)
    check_version(objective, expected_version)
    owner = clean_user_id(owner_id, "owner", required=False)
    stored = None if owner in (None, plan.owner_id) else owner
    if stored == objective.owner_id:
        return objective
    objective.owner_id = stored
    flush_or_conflict(session)
    log_change(session, actor, plan.id, "objective", objective.id, "owner",
               f"made <@{stored or plan.owner_id}> owner of objective “{objective.title}”")
    checkins.plan_rounds_changed(session, plan.id)
    people.ensure(session, [(plan.team_id, stored or plan.owner_id)])
    return objective


def _note(value: str | None) -> str:
    """One line: line breaks become spaces."""
    text = clean_text(value, "note", max_len=PROGRESS_NOTE_MAX * 4, required=False)
    text = " ".join(text.split())
    if len(text) > PROGRESS_NOTE_MAX:
        raise ValidationError("note", f"must be at most {PROGRESS_NOTE_MAX} characters")
    return text


def _status(value: ObjectiveStatus | str | None) -> ObjectiveStatus:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValidationError("status", "required")
    try:
        return ObjectiveStatus(str(value).strip().lower())
    except ValueError:
        allowed = ", ".join(s.value for s in ObjectiveStatus)
        raise ValidationError("status", f"must be one of {allowed}") from None


def record_progress(session: Session, actor: Actor, objective_id: int,
                    status: ObjectiveStatus | str | None, note: str | None = "",
                    current_value: Decimal | float | int | str | None = None,
                    expected_version: int | None = None, *, now: dt.datetime | None = None) -> Objective:
    """What the owner says about the objective: status, note, and for a measurable one
    its current value (None or blank: unchanged). Every field error at once; Conflict if
    the objective changed since `expected_version`. Marks the owner's check-in of the
    plan answered once all their objectives are updated."""
    require_internal(actor)
    objective = get_record(session, Objective, actor.team_id, objective_id, "objective")
    plan = get_plan(session, actor.team_id, objective.plan_id)
    owner = owner_of(objective, plan)
    if actor.user_id != owner and not can_edit(plan, actor):
        raise PermissionDenied(f"Only the owner of this objective and the team of “{plan.name}” "
                               "can update its progress.")
    check_version(objective, expected_version)
    errors = FieldErrors()
    fields = dict(
        progress_status=errors.check(_status, status),
        progress_note=errors.check(_note, note),
        current_value=errors.check(clean_decimal, current_value, "current_value"),
    )
    if fields["current_value"] is not None and objective.target_value is None:
        errors.add("current_value", "this objective has no target to measure against")
    errors.done()
    moment = now or utcnow()
    objective.progress_status = fields["progress_status"]
    objective.progress_note = fields["progress_note"]
    if fields["current_value"] is not None:
        objective.current_value = fields["current_value"]
    objective.progress_updated_at = moment
    objective.progress_updated_by = actor.user_id
    flush_or_conflict(session)
    summary = f"“{objective.title}”: {objective.progress_status.value.replace('_', ' ')}"
    log_change(session, actor, plan.id, "objective_progress", objective.id, "updated",
               summary + (f" ({objective.progress_note})" if objective.progress_note else ""))
    checkins.mark_answered(session, plan.team_id, plan.id, owner, plan_owner_id=plan.owner_id, now=moment)
    return objective


@dataclass(frozen=True)
class ProgressSummary:
    """What owners said since a moment (the QBR digest: "since the last QBR: 3 of 5
    objectives updated, 1 at risk"). The statuses count every objective's latest word."""

    total: int = 0
    updated: int = 0  # objectives with a progress update after `since`
    on_track: int = 0
    at_risk: int = 0
    off_track: int = 0


def progress_summary(session: Session, team_id: str, plan_id: int, *,
                     since: dt.datetime | None) -> ProgressSummary:
    """One query whatever the plan's size. `since` None: every update counts."""
    plan = get_plan(session, team_id, plan_id)
    updated = Objective.progress_updated_at.is_not(None)
    if since is not None:
        updated = and_(updated, Objective.progress_updated_at > since)

    def count(condition):
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    row = session.execute(
        select(func.count(Objective.id), count(updated),
               *(count(Objective.progress_status == status) for status in ObjectiveStatus))
        .where(Objective.team_id == team_id, Objective.plan_id == plan.id)
    ).one()
    total, fresh, on_track, at_risk, off_track = (int(value or 0) for value in row)
    return ProgressSummary(total, fresh, on_track, at_risk, off_track)


def objectives_owned_by(session: Session, team_id: str, plan_id: int, owner_id: str) -> list[Objective]:
    """The objectives of a plan someone is asked about, in reading order (one query)."""
    plan = get_plan(session, team_id, plan_id)
    return list(session.scalars(
        select(Objective).join(Strategy, Strategy.id == Objective.strategy_id)
        .where(Objective.team_id == team_id, Objective.plan_id == plan.id,
               checkins.owned_by(owner_id, plan.owner_id))
        .order_by(Strategy.position, Objective.position, Objective.id)
    ))


__all__ = [
    "ProgressSummary",
    "objectives_owned_by",
    "owner_of",
    "progress_summary",
    "record_progress",
    "set_objective_owner",
]
