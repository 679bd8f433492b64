"""Changing a plan itself: create, edit (its team too), set its status, delete."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage import reminders
from storage.domain import Actor
from storage.errors import PermissionDenied
from storage.models import AccountPlan, ActionItem, PlanMember, PlanStatus, utcnow
from storage.plans.permissions import get_editable_plan, require_internal
from storage.plans.rules import PlanInput, clean_status, clean_team, plan_fields
from storage.plans.writes import (
    account_named,
    check_version,
    flush_or_conflict,
    lock_plan,
    log_change,
)


def create_plan(session: Session, actor: Actor, data: PlanInput) -> AccountPlan:
    require_internal(actor)
    errors, fields = plan_fields(data, actor.user_id)
    errors.done()
    start, end = fields.pop("dates")
    team = fields.pop("team")
    with session.no_autoflush:
        fields["account"] = account_named(session, actor.team_id, fields["account"])
        plan = AccountPlan(team_id=actor.team_id, start_date=start, end_date=end, **fields)
        session.add(plan)
        _set_members(session, plan, team)
    flush_or_conflict(session)
    log_change(session, actor, plan.id, "plan", plan.id, "created", f"created plan “{plan.name}”")
    return plan


def update_plan(
    session: Session,
    actor: Actor,
    plan_id: int,
    data: PlanInput,
    *,
    expected_version: int | None = None,
) -> AccountPlan:
    """Save the plan form. Every path that loses a race to another save is a Conflict
    with nothing saved: the columns and the team are set without autoflush, and the
    one flush (`flush_or_conflict`) runs the plan's versioned UPDATE first."""
    plan = get_editable_plan(session, actor, plan_id)
    check_version(plan, expected_version)
    errors, fields = plan_fields(data, plan.owner_id)
    if fields["dates"] is not None:
        start, end = fields["dates"]
        # Items' due dates stay inside the plan: no item is added or moved meanwhile.
        lock_plan(session, plan.id)
        early, late = session.execute(
            select(func.min(ActionItem.due_date), func.max(ActionItem.due_date)).where(
                ActionItem.plan_id == plan.id
            )
        ).one()
        if early is not None and early < start:
            errors.add("start_date", f"an action item is due {early.isoformat()}, before this date")
        if late is not None and late > end:
            errors.add("end_date", f"an action item is due {late.isoformat()}, after this date")
    errors.done()
    owner = fields["owner_id"]
    if owner != plan.owner_id and actor.user_id != plan.owner_id:
        raise PermissionDenied("Only the plan's owner can hand it to someone else.")

    previous_status = plan.status
    with session.no_autoflush:
        if plan.account.name != fields["account"]:
            plan.account = account_named(session, actor.team_id, fields["account"])
        plan.name = fields["name"]
        plan.start_date, plan.end_date = fields["dates"]
        plan.status = fields["status"]
        plan.owner_id = owner
        plan.vision = fields["vision"]
        plan.customer_goals = fields["customer_goals"]
        plan.our_goals = fields["our_goals"]
        if "share_with_customer_by_default" in fields:
            plan.share_with_customer_by_default = fields["share_with_customer_by_default"]
        _set_members(session, plan, fields["team"])
    flush_or_conflict(session)
    log_change(session, actor, plan.id, "plan", plan.id, "updated", f"edited plan “{plan.name}”")
    if plan.status != previous_status:
        reminders.plan_changed(session, plan.id)
    return plan


def _set_members(session: Session, plan: AccountPlan, user_ids: Iterable[str]) -> None:
    """The plan's team becomes `user_ids` (the owner aside).

    A change of team alone changes no column of the plan, and would not be checked
    against its version: it bumps updated_at so that the plan's versioned UPDATE goes
    first in the flush, and a plan someone else saved meanwhile is a Conflict. Call it
    under `session.no_autoflush` once the plan's columns are set (loading the team
    would flush them outside `flush_or_conflict`).
    """
    wanted = [user for user in clean_team(user_ids) if user != plan.owner_id]
    current = {m.user_id: m for m in plan.members}
    changed = False
    for user, member in current.items():
        if user not in wanted:
            plan.members.remove(member)
            changed = True
    for user in wanted:
        if user not in current:
            plan.members.append(PlanMember(user_id=user, team_id=plan.team_id))
            changed = True
    if changed:
        plan.updated_at = utcnow()


def set_plan_status(
    session: Session, actor: Actor, plan_id: int, status: PlanStatus | str
) -> AccountPlan:
    plan = get_editable_plan(session, actor, plan_id)
    previous_status = plan.status
    plan.status = clean_status(status)
    flush_or_conflict(session)
    log_change(session, actor, plan.id, "plan", plan.id, "status", f"set status to {plan.status.value}")
    if plan.status != previous_status:
        reminders.plan_changed(session, plan.id)
    return plan


def delete_plan(session: Session, actor: Actor, plan_id: int) -> None:
    plan = get_editable_plan(session, actor, plan_id)
    if actor.user_id != plan.owner_id:
        raise PermissionDenied("Only the plan's owner can delete it.")
    log_change(session, actor, plan.id, "plan", plan.id, "deleted", f"deleted plan “{plan.name}”")
    session.delete(plan)
    flush_or_conflict(session)
