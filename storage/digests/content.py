"""What a digest says, already filtered for its audience: for a channel shared with
another organisation only the allow-list leaves the database (strategies, objectives
and action items marked "Shared with customer", under parents that are shared too),
and of the change log only lines about the plan, its QBRs and those shared parts."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import and_, case, func, not_, or_, select, true
from sqlalchemy.orm import Session

from storage.agreements import AgreementState, agreement_states
from storage.digests.commitments import Commitments, open_commitments, theirs_condition
from storage.digests.qbr import qbr_due_date
from storage.models import (
    AccountPlan,
    ActionItem,
    Audience,
    ChangeLogEntry,
    DigestPost,
    ItemStatus,
    Objective,
    QbrReview,
    Strategy,
    SwotEntry,
)
from storage.plans import PlanProgress, Progress, get_plan
from storage.plans.reads import item_shown_to_customer, with_parents
from storage.plans.writes import UPDATED_INTERNALLY


DUE_SOON_DAYS = 14
FIRST_DIGEST_LOOKBACK = 14
LIST_LIMIT = 50  # items per list in one digest; the rest is counted
CHANGES_LIMIT = 50

# What may appear in a customer channel's "what changed": lines about these entities,
# and about strategies, objectives and action items that are (still) there and shown.
_SHAREABLE_ENTITIES = ("plan", "review")


# ---------------------------------------------------------------------------
# What a digest says


@dataclass
class DigestContent:
    """Everything one digest shows, for one audience (plain data for blocks/digest.py)."""

    plan: AccountPlan
    audience: Audience
    today: dt.date
    since: dt.datetime
    strategies: list[Strategy]
    objectives: dict[int, list[Objective]]  # by strategy id, in order
    progress: PlanProgress
    done: list[ActionItem]
    due_soon: list[ActionItem]
    overdue: list[ActionItem]
    changes: list[ChangeLogEntry]
    counts: dict[str, int] = field(default_factory=dict)  # done, due_soon, overdue, changes
    hidden: bool = False  # parts exist that this audience does not see (kept within the team)
    next_qbr: dt.date | None = None
    qbr_due_by: dt.date | None = None  # no next QBR set: when one is due (reminder rule)
    review: QbrReview | None = None  # the QBR this digest reports (after a QBR)
    # What each side owes next (storage/digests/commitments.py), with its totals.
    commitments: Commitments = field(default_factory=Commitments)
    # The customer's agreement to the plan (and to objectives), and whether it holds.
    agreements: list[AgreementState] = field(default_factory=list)


def last_digest_at(session: Session, plan_id: int, channel_id: str) -> dt.datetime | None:
    return session.scalar(
        select(func.max(DigestPost.posted_at)).where(
            DigestPost.plan_id == plan_id, DigestPost.channel_id == channel_id
        )
    )


def since_for(
    session: Session, plan_id: int, channel_id: str, *, now: dt.datetime, exclude_review: int | None = None
) -> dt.datetime:
    """Where "since the last digest" starts for a channel (see storage/digests/__init__.py)."""
    reviews = select(func.max(QbrReview.created_at)).where(QbrReview.plan_id == plan_id)
    if exclude_review is not None:
        reviews = reviews.where(QbrReview.id != exclude_review)
    marks = [m for m in (last_digest_at(session, plan_id, channel_id), session.scalar(reviews)) if m]
    return max(marks) if marks else now - dt.timedelta(days=FIRST_DIGEST_LOOKBACK)


def _about_a_shown_part(plan_id: int, strategies: list[Strategy], objectives: dict[int, list[Objective]]):
    """A change-log line about a strategy, objective or action item of the plan that an
    external audience sees (still there, shared, under shared parents): the strategies
    and objectives shown are read already, the items are a subquery."""
    items = with_parents(select(ActionItem.id)).where(ActionItem.plan_id == plan_id, item_shown_to_customer())
    return or_(
        and_(ChangeLogEntry.entity == "strategy", ChangeLogEntry.entity_id.in_([s.id for s in strategies])),
        and_(ChangeLogEntry.entity == "objective",
             ChangeLogEntry.entity_id.in_([o.id for shown in objectives.values() for o in shown])),
        and_(ChangeLogEntry.entity == "action_item", ChangeLogEntry.entity_id.in_(items)),
    )


def digest_content(
    session: Session,
    team_id: str,
    plan_id: int,
    *,
    audience: Audience,
    since: dt.datetime,
    today: dt.date,
    review_id: int | None = None,
    list_limit: int = LIST_LIMIT,
) -> DigestContent:
    """A fixed handful of queries, whatever the plan's size (see bench/bench_digest.py)."""
    plan = get_plan(session, team_id, plan_id)
    external = audience == Audience.EXTERNAL
    visible = item_shown_to_customer() if external else true()
    soon = today + dt.timedelta(days=DUE_SOON_DAYS)
    is_open = ActionItem.status == ItemStatus.OPEN
    is_done_since = and_(ActionItem.status == ItemStatus.DONE, ActionItem.done_at > since)
    is_due_soon = and_(is_open, ActionItem.due_date >= today, ActionItem.due_date <= soon)
    is_overdue = and_(is_open, ActionItem.due_date < today)
    theirs = theirs_condition(team_id)

    strategies = list(session.scalars(
        select(Strategy).where(Strategy.plan_id == plan.id).order_by(Strategy.position, Strategy.id)
    ))
    objectives: dict[int, list[Objective]] = {s.id: [] for s in strategies}
    for objective in session.scalars(
        select(Objective).where(Objective.plan_id == plan.id).order_by(Objective.position, Objective.id)
    ):
        objectives.setdefault(objective.strategy_id, []).append(objective)
    hidden_parts = False
    if external:  # the allow-list: shared objectives of shared strategies
        every_part = len(strategies) + sum(map(len, objectives.values()))
        strategies = [s for s in strategies if s.shared_with_customer]
        objectives = {s.id: [o for o in objectives[s.id] if o.shared_with_customer] for s in strategies}
        hidden_parts = len(strategies) + sum(map(len, objectives.values())) < every_part

    def of_plan(query):
        """`query` over the plan's items; for a customer, joined with their parents."""
        query = query.where(ActionItem.plan_id == plan.id)
        return with_parents(query) if external else query

    # Progress and every count in one pass over the plan's items.
    def count(condition):
        return func.sum(case((and_(condition, visible), 1), else_=0))

    rows = session.execute(
        of_plan(select(
            ActionItem.objective_id,
            count(true()),
            count(ActionItem.status == ItemStatus.DONE),
            count(is_done_since),
            count(is_due_soon),
            count(is_overdue),
            count(and_(is_open, theirs)),
            count(and_(is_open, not_(theirs))),
            func.sum(case((visible, 0), else_=1)),
        ))
        .group_by(ActionItem.objective_id)
    ).all()
    progress = PlanProgress()
    totals = dict.fromkeys(("done", "due_soon", "overdue"), 0)
    owed = {"theirs": 0, "ours": 0}
    hidden_items = 0
    strategy_of = {o.id: s_id for s_id, objs in objectives.items() for o in objs}
    for objective_id, total, done, done_since, due_soon, overdue, owed_by_them, owed_by_us, not_shown in rows:
        hidden_items += int(not_shown or 0)
        strategy_id = strategy_of.get(objective_id)
        if strategy_id is None:
            continue  # an objective this audience does not see (nothing of it counted)
        shown = Progress(int(done or 0), int(total or 0))
        progress.objectives[objective_id] = shown
        progress.strategies[strategy_id] = progress.strategy(strategy_id) + shown
        progress.plan = progress.plan + shown
        totals["done"] += int(done_since or 0)
        totals["due_soon"] += int(due_soon or 0)
        totals["overdue"] += int(overdue or 0)
        owed["theirs"] += int(owed_by_them or 0)
        owed["ours"] += int(owed_by_us or 0)

    def items(condition, order) -> list[ActionItem]:
        return list(session.scalars(
            of_plan(select(ActionItem)).where(condition, visible)
            .order_by(*order, ActionItem.id).limit(list_limit)
        ))

    done_items = items(is_done_since, [ActionItem.done_at])
    due_soon = items(is_due_soon, [ActionItem.due_date])
    overdue = items(is_overdue, [ActionItem.due_date])
    commitments = open_commitments(session, team_id, of_plan, visible, external=external)
    commitments.ours_total, commitments.theirs_total = owed["ours"], owed["theirs"]

    changes_query = select(ChangeLogEntry).where(
        ChangeLogEntry.team_id == team_id, ChangeLogEntry.plan_id == plan.id, ChangeLogEntry.at > since
    )
    hidden_changes = 0
    if external:
        # An edit of fields the customer never sees is kept within the team too.
        shareable = and_(ChangeLogEntry.action != UPDATED_INTERNALLY,
                         or_(ChangeLogEntry.entity.in_(_SHAREABLE_ENTITIES),
                             _about_a_shown_part(plan.id, strategies, objectives)))
        all_changes = session.scalar(select(func.count()).select_from(changes_query.subquery()))
        changes_query = changes_query.where(shareable)
    changes_count = session.scalar(select(func.count()).select_from(changes_query.subquery()))
    if external:
        hidden_changes = all_changes - changes_count
    changes = list(session.scalars(
        changes_query.order_by(ChangeLogEntry.at.desc(), ChangeLogEntry.id.desc()).limit(CHANGES_LIMIT)
    ))
    changes.reverse()  # the latest CHANGES_LIMIT, oldest first

    latest = session.scalars(
        select(QbrReview).where(QbrReview.plan_id == plan.id)
        .order_by(QbrReview.held_on.desc(), QbrReview.id.desc()).limit(1)
    ).first()
    review = None
    if review_id is not None:
        review = latest if latest is not None and latest.id == review_id else session.scalars(
            select(QbrReview).where(QbrReview.plan_id == plan.id, QbrReview.id == review_id)
        ).one_or_none()
    next_qbr = latest.next_qbr_date if latest is not None else None
    due_by = None if next_qbr else qbr_due_date(plan)

    # Anything left out (a part not shared, a line about one, the SWOT, which never goes
    # to customers) is said to exist, never named.
    hidden = external and (hidden_parts or hidden_items > 0 or hidden_changes > 0
                           or _has_swot(session, plan.id))
    return DigestContent(
        plan=plan, audience=audience, today=today, since=since, strategies=strategies,
        objectives=objectives, progress=progress, done=done_items, due_soon=due_soon,
        overdue=overdue, changes=changes,
        counts={**totals, "changes": changes_count}, hidden=hidden,
        next_qbr=next_qbr, qbr_due_by=due_by, review=review, commitments=commitments,
        agreements=agreement_states(session, team_id, plan.id, audience=audience),
    )


def _has_swot(session: Session, plan_id: int) -> bool:
    return session.scalar(select(SwotEntry.id).where(SwotEntry.plan_id == plan_id).limit(1)) is not None
