"""QBR reminders: when a plan's next QBR is due, and claiming the owners to remind so
that concurrent scheduler passes never remind twice."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import AccountPlan, PlanStatus


def qbr_due_date(plan: AccountPlan) -> dt.date | None:
    """When the next QBR is due by the reminder rule (None: reminders are off)."""
    if not plan.qbr_reminder_days or plan.qbr_reminder_days <= 0:
        return None
    base = plan.last_review_date or plan.start_date
    return base + dt.timedelta(days=plan.qbr_reminder_days)


def qbr_period_start(plan: AccountPlan, today: dt.date) -> dt.date | None:
    """The start of the reminder period `today` is in, or None when no QBR is due yet.

    Overdue by one period → one reminder; still nothing logged a period later → one more.
    """
    due = qbr_due_date(plan)
    if due is None or today < due:
        return None
    periods = (today - due).days // plan.qbr_reminder_days
    return due + dt.timedelta(days=periods * plan.qbr_reminder_days)


@dataclass(frozen=True)
class QbrNudge:
    plan_id: int
    team_id: str
    owner_id: str
    name: str
    due: dt.date
    last_review: dt.date | None
    nudged_at: dt.datetime  # this claim
    previously_nudged_at: dt.datetime | None  # put back if the reminder cannot be sent


def claim_qbr_nudges(session: Session, *, now: dt.datetime, limit: int = 200) -> list[QbrNudge]:
    """Active plans whose QBR is overdue and whose owner was not reminded this period,
    each claimed by a guarded UPDATE of qbr_nudged_at so that concurrent scheduler
    passes never remind twice (the caller commits before sending)."""
    today = now.astimezone(dt.timezone.utc).date()
    # Columns, not entities: a plan already in this session's identity map would come
    # back with the qbr_nudged_at it had when loaded, and the guard below needs the
    # value in the database.
    candidates = session.execute(
        select(AccountPlan.id, AccountPlan.team_id, AccountPlan.owner_id, AccountPlan.name,
               AccountPlan.start_date, AccountPlan.last_review_date, AccountPlan.qbr_reminder_days,
               AccountPlan.qbr_nudged_at).where(
            AccountPlan.status == PlanStatus.ACTIVE,
            AccountPlan.qbr_reminder_days > 0,
            AccountPlan.end_date >= today,  # a plan that is over needs no more QBRs
        ).order_by(AccountPlan.id)
    ).all()
    claimed: list[QbrNudge] = []
    for plan in candidates:
        if len(claimed) >= limit:
            break
        period = qbr_period_start(plan, today)
        if period is None:
            continue
        period_start = dt.datetime.combine(period, dt.time(0), tzinfo=dt.timezone.utc)
        if plan.qbr_nudged_at is not None and plan.qbr_nudged_at >= period_start:
            continue
        table = AccountPlan.__table__
        guard = table.c.qbr_nudged_at.is_(None) if plan.qbr_nudged_at is None else (
            table.c.qbr_nudged_at == plan.qbr_nudged_at)
        # Core UPDATE: not an edit of the plan, so its version (and anyone's open edit
        # form) stays as it is; updated_at is kept for the same reason.
        result = session.execute(
            table.update().where(table.c.id == plan.id, guard)
            .values(qbr_nudged_at=now, updated_at=table.c.updated_at)
        )
        if result.rowcount == 1:
            claimed.append(QbrNudge(plan.id, plan.team_id, plan.owner_id, plan.name,
                                    qbr_due_date(plan), plan.last_review_date, now, plan.qbr_nudged_at))
    return claimed


def release_qbr_nudge(session: Session, nudge: QbrNudge) -> None:
    """The reminder could not be sent: undo the claim so a later pass tries again."""
    table = AccountPlan.__table__
    session.execute(
        table.update().where(table.c.id == nudge.plan_id, table.c.qbr_nudged_at == nudge.nudged_at)
        .values(qbr_nudged_at=nudge.previously_nudged_at, updated_at=table.c.updated_at)
    )
