"""What a plan's progress chart shows (blocks/charts.py draws it), for one audience.

For `Audience.EXTERNAL` only the allow-list leaves the database, as for the digest's
text (storage/digests/content.py): action items shown to customers (shared, under a
shared objective of a shared strategy) and measurable objectives that are shared under
a shared strategy. Three queries by the plan's id (ix_action_items_plan_status), so the
cost follows the plan's size, never the workspace's.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import ActionItem, Audience, ItemStatus, Objective, Strategy
from storage.plans import get_plan
from storage.plans.reads import item_shown_to_customer, with_parents


@dataclass(frozen=True)
class Measure:
    """One measurable objective: "3 of 5 IDNs"."""

    title: str
    current: Decimal | None
    target: Decimal
    unit: str


@dataclass(frozen=True)
class ProgressFacts:
    plan_name: str
    start: dt.date
    end: dt.date
    total_items: int
    done_on: list[dt.date | None] = field(default_factory=list)  # per done item (None: no date)
    measures: list[Measure] = field(default_factory=list)  # in the plan's order


def progress_facts(session: Session, team_id: str, plan_id: int, *, audience: Audience) -> ProgressFacts:
    """The chart's facts for whoever reads: the whole plan for the team, the shared part
    for an external audience."""
    plan = get_plan(session, team_id, plan_id)  # the workspace's plan, or NotFound
    external = audience == Audience.EXTERNAL

    def items(query):
        query = query.where(ActionItem.plan_id == plan.id, ActionItem.team_id == team_id)
        return with_parents(query).where(item_shown_to_customer()) if external else query

    total = session.scalar(items(select(func.count(ActionItem.id)))) or 0
    done_at = session.scalars(
        items(select(ActionItem.done_at)).where(ActionItem.status == ItemStatus.DONE)
    )
    done_on = [_day(at) for at in done_at]

    measures = (
        select(Objective.title, Objective.current_value, Objective.target_value, Objective.measure_unit)
        .join(Strategy, Strategy.id == Objective.strategy_id)
        .where(Objective.plan_id == plan.id, Objective.team_id == team_id,
               Objective.target_value.is_not(None))
        .order_by(Strategy.position, Strategy.id, Objective.position, Objective.id)
    )
    if external:
        measures = measures.where(Strategy.shared_with_customer.is_(True),
                                  Objective.shared_with_customer.is_(True))
    return ProgressFacts(
        plan_name=plan.name, start=plan.start_date, end=plan.end_date, total_items=int(total),
        done_on=done_on,
        measures=[Measure(title, current, target, unit or "")
                  for title, current, target, unit in session.execute(measures)],
    )


def _day(at: dt.datetime | None) -> dt.date | None:
    """The UTC day an item was done (SQLite hands back naive UTC datetimes)."""
    if at is None:
        return None
    if at.tzinfo is not None:
        at = at.astimezone(dt.timezone.utc)
    return at.date()
