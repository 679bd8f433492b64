"""A plan's health, 0-100, and its parts: the same few grouped queries for one plan of
any size (`plan_health`) or a page of plans (`health_by_plan`).

The score (the parts' maximums add up to 100; each part is rounded to a whole point):
- 25: objectives updated in the last 30 days: 25 × updated / all. An objective's last
  update is its latest progress update, else when it was written (a new objective is
  not stale). No objectives: 0 ("no objectives yet").
- 20: overdue action items: 20 × (1 − overdue / open); overdue is open with a due date
  before today. No open items: 20.
- 20: progress against time: 20 × min(1, done share / elapsed share), the done share of
  the plan's action items against the share of the plan's dates gone by today. Not
  started yet: 20. Started with no action items: 0 ("no action items yet").
- 20: stakeholder coverage: a customer-side sponsor 7, decision maker 7, champion 6.
- 15: a QBR in the last 90 days (the last review held within 90 days of today); a plan
  that started less than 90 days ago (or has not started) meets it ("first QBR not
  due yet").
Stale objectives (`stale_objective_ids`): no update for 30 days, counted as above
(storage.domain.objective_is_stale says the same of one objective).

Stakeholder coverage is about the team's assessment: health is for the team's eyes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from storage.domain import (
    OBJECTIVE_STALE_DAYS,
    HealthPart,
    ItemStatus,
    PlanHealth,
    StakeholderRole,
    StakeholderSide,
)
from storage.errors import NotFound
from storage.models import AccountPlan, ActionItem, Objective, Stakeholder
from storage.plans.rules import is_id

QBR_DAYS = 90
OBJECTIVES_PART = "Objectives updated in the last 30 days"
OVERDUE_PART = "Overdue action items"
PACE_PART = "Progress against time"
COVERAGE_PART = "Stakeholder coverage"
QBR_PART = "QBR in the last 90 days"
# Customer-side roles and their points, in the order the detail names them.
COVERAGE = ((StakeholderRole.SPONSOR, "sponsor", 7), (StakeholderRole.DECISION_MAKER, "decision maker", 7),
            (StakeholderRole.CHAMPION, "champion", 6))


def _fresh_since(today: dt.date) -> dt.datetime:
    """Updated at or after this moment: not stale on `today` (midnight UTC)."""
    day = today - dt.timedelta(days=OBJECTIVE_STALE_DAYS - 1)
    return dt.datetime.combine(day, dt.time(0), tzinfo=dt.timezone.utc)


def _count(condition):
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _objectives_part(total: int, fresh: int) -> HealthPart:
    if not total:
        return HealthPart(OBJECTIVES_PART, 0, 25, "no objectives yet")
    return HealthPart(OBJECTIVES_PART, round(25 * fresh / total), 25, f"{fresh} of {total} objectives")


def _overdue_part(open_items: int, overdue: int) -> HealthPart:
    if not open_items:
        return HealthPart(OVERDUE_PART, 20, 20, "no open action items")
    detail = f"{overdue} of {open_items} open items overdue" if overdue else "none overdue"
    return HealthPart(OVERDUE_PART, round(20 * (1 - overdue / open_items)), 20, detail)


def _pace_part(start: dt.date, end: dt.date, today: dt.date, total: int, done: int) -> HealthPart:
    if today <= start:
        return HealthPart(PACE_PART, 20, 20, "not started yet")
    if not total:
        return HealthPart(PACE_PART, 0, 20, "no action items yet")
    span = (end - start).days
    elapsed = 1.0 if span <= 0 else min(1.0, (today - start).days / span)
    done_share = done / total
    points = round(20 * min(1.0, done_share / elapsed))
    return HealthPart(PACE_PART, points, 20,
                      f"{round(100 * done_share)} % of items done, {round(100 * elapsed)} % of the time gone")


def _coverage_part(roles: set[StakeholderRole]) -> HealthPart:
    named = [label for role, label, _ in COVERAGE if role in roles]
    missing = [label for role, label, _ in COVERAGE if role not in roles]
    points = sum(p for role, _, p in COVERAGE if role in roles)
    if not missing:
        detail = "sponsor, decision maker and champion named"
    elif not named:
        detail = "no sponsor, decision maker or champion named"
    else:
        detail = f"{', '.join(named)} named; no {' or '.join(missing)}"
    return HealthPart(COVERAGE_PART, points, 20, detail)


def _qbr_part(start: dt.date, last_review: dt.date | None, today: dt.date) -> HealthPart:
    if last_review is not None and (today - last_review).days <= QBR_DAYS:
        return HealthPart(QBR_PART, 15, 15, f"last QBR {last_review.isoformat()}")
    if (today - start).days < QBR_DAYS:
        return HealthPart(QBR_PART, 15, 15, "first QBR not due yet")
    detail = f"last QBR {last_review.isoformat()}" if last_review else "no QBR yet"
    return HealthPart(QBR_PART, 0, 15, detail)


def _health(session: Session, team_id: str, plan_ids: Sequence[int], today: dt.date, *,
            stale_ids: bool) -> dict[int, PlanHealth]:
    ids = sorted({plan_id for plan_id in plan_ids if is_id(plan_id)})
    if not ids:
        return {}
    plans = session.execute(
        select(AccountPlan.id, AccountPlan.start_date, AccountPlan.end_date, AccountPlan.last_review_date)
        .where(AccountPlan.team_id == team_id, AccountPlan.id.in_(ids))
    ).all()
    ids = [plan.id for plan in plans]
    if not ids:
        return {}
    last_update = func.coalesce(Objective.progress_updated_at, Objective.created_at)
    fresh = last_update >= _fresh_since(today)
    objectives = {plan_id: (int(total), int(up)) for plan_id, total, up in session.execute(
        select(Objective.plan_id, func.count(), _count(fresh))
        .where(Objective.team_id == team_id, Objective.plan_id.in_(ids)).group_by(Objective.plan_id)
    )}
    is_open = ActionItem.status == ItemStatus.OPEN
    # From the plans (by id, in the workspace) to their items by (plan_id, status), as
    # storage.plans.progress_by_plan does: with `action_items.team_id = ?` SQLite would
    # pick the (team_id, assignee_id, status) index and read the workspace's items.
    items = {plan_id: tuple(int(n) for n in counts) for plan_id, *counts in session.execute(
        select(AccountPlan.id, func.count(), _count(ActionItem.status == ItemStatus.DONE),
               _count(is_open), _count(is_open & (ActionItem.due_date < today)))
        .join(ActionItem, ActionItem.plan_id == AccountPlan.id)
        .where(AccountPlan.team_id == team_id, AccountPlan.id.in_(ids)).group_by(AccountPlan.id)
    )}
    roles: dict[int, set[StakeholderRole]] = {}
    for plan_id, role in session.execute(
        select(Stakeholder.plan_id, Stakeholder.role).distinct()
        .where(Stakeholder.team_id == team_id, Stakeholder.plan_id.in_(ids),
               Stakeholder.side == StakeholderSide.CUSTOMER,
               Stakeholder.role.in_([role for role, _, _ in COVERAGE]))
    ):
        roles.setdefault(plan_id, set()).add(role)
    stale: dict[int, set[int]] = {}
    if stale_ids:
        for plan_id, objective_id in session.execute(
            select(Objective.plan_id, Objective.id)
            .where(Objective.team_id == team_id, Objective.plan_id.in_(ids), or_(~fresh, last_update.is_(None)))
        ):
            stale.setdefault(plan_id, set()).add(objective_id)
    result = {}
    for plan in plans:
        total, done, open_items, overdue = items.get(plan.id, (0, 0, 0, 0))
        parts = (
            _objectives_part(*objectives.get(plan.id, (0, 0))),
            _overdue_part(open_items, overdue),
            _pace_part(plan.start_date, plan.end_date, today, total, done),
            _coverage_part(roles.get(plan.id, set())),
            _qbr_part(plan.start_date, plan.last_review_date, today),
        )
        result[plan.id] = PlanHealth(sum(p.points for p in parts), parts,
                                     frozenset(stale.get(plan.id, ())))
    return result


def plan_health(session: Session, team_id: str, plan_id: int, today: dt.date) -> PlanHealth:
    """The plan's health on `today`, with its stale objectives: 5 queries whatever its
    size. NotFound for a plan of another workspace (or none)."""
    found = _health(session, team_id, [plan_id], today, stale_ids=True)
    if plan_id not in found:
        raise NotFound(f"No plan with id {plan_id} in this workspace.")
    return found[plan_id]


def health_by_plan(session: Session, team_id: str, plan_ids: Sequence[int],
                   today: dt.date) -> dict[int, PlanHealth]:
    """{plan id: health} for a page of plans (lists, App Home, digests): 4 queries
    however many plans and items. Plans of other workspaces are left out; the stale
    objectives are not listed here (`stale_objective_ids` empty: lists show the score)."""
    return _health(session, team_id, plan_ids, today, stale_ids=False)
