"""Digests: channel subscriptions, when they run next, and what a digest says.

Nothing here knows Slack. A subscription is a (plan, channel) pair with a schedule in
the subscriber's time zone; `next_run` turns that schedule into the next UTC instant.
`digest_content` gathers everything one digest shows, already filtered for its
audience: for `Audience.EXTERNAL` (a channel shared with another organisation) no
team-only action item and no change-log line about one (or about SWOT) leaves the
database, so no renderer can show it by mistake.

Choices where the issue is silent:
- Only the plan's owner and team may post digests, change subscriptions or publish the
  plan: these speak for the plan to other people. Reading stays open to the workspace.
- Every two weeks: fourteen days after the previous scheduled run, so the rhythm holds.
  Monthly: the first <weekday> of each month (the modal asks for a weekday, and "first
  Monday" is how people put monthly meetings in calendars; dates like the 31st would
  skip months).
- Times are wall-clock times in the subscription's zone (zoneinfo), so 09:00 stays
  09:00 across daylight-saving changes. A time that does not exist that day (the
  spring-forward gap) runs at the first instant after it; an ambiguous one (fall back)
  runs at its first occurrence.
- A missed run (the scheduler was down) sends one digest, then the next slot in the
  future: never a burst of old ones.
- "Since the last digest": the later of the last digest posted to that channel and the
  last QBR; a first digest looks back `FIRST_DIGEST_LOOKBACK` days.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import and_, case, false, func, or_, select, true
from sqlalchemy.orm import Session

from storage.domain import SUBSCRIPTIONS_MAX
from storage.errors import NotFound, ValidationError
from storage.models import (
    AccountPlan,
    ActionItem,
    Audience,
    ChangeLogEntry,
    DigestFrequency,
    DigestPost,
    DigestReason,
    DigestSubscription,
    ItemStatus,
    Objective,
    PlanCanvas,
    PlanStatus,
    QbrReview,
    Strategy,
    SwotEntry,
    utcnow,
)
from storage.plans import Actor, PlanProgress, Progress, get_editable_plan, get_plan
from storage.plans.rules import is_id
from storage.plans.writes import lock_plan
from storage.upsert import insert_missing, upsert

DUE_SOON_DAYS = 14
FIRST_DIGEST_LOOKBACK = 14
LIST_LIMIT = 50  # items per list in one digest; the rest is counted
CHANGES_LIMIT = 50
ERROR_MAX = 255

# What may appear in a customer channel's "what changed": lines about these entities,
# and about action items that are (still) there and not team-only.
_SHAREABLE_ENTITIES = ("plan", "strategy", "objective", "review")


# ---------------------------------------------------------------------------
# Schedules


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError("timezone", f"unknown time zone {name!r}") from None


def _at(day: dt.date, time_of_day: dt.time, tz: ZoneInfo) -> dt.datetime:
    """The UTC instant of a wall-clock time on a day in a zone (DST-safe)."""
    local = dt.datetime.combine(day, time_of_day, tzinfo=tz)
    # A time in the spring-forward gap does not exist; zoneinfo reads it with the
    # offset from before the change, which lands just after the gap in UTC: fine.
    return local.astimezone(dt.timezone.utc)


def _first_weekday(year: int, month: int, weekday: int) -> dt.date:
    first = dt.date(year, month, 1)
    return first + dt.timedelta(days=(weekday - first.weekday()) % 7)


def next_run(
    frequency: DigestFrequency | str,
    weekday: int,
    time_of_day: dt.time,
    timezone: str,
    *,
    after: dt.datetime,
    previous: dt.datetime | None = None,
) -> dt.datetime | None:
    """The first scheduled instant strictly after `after` (UTC), or None for "only
    after QBRs". `previous` (the run just due) keeps every-two-weeks on its rhythm."""
    frequency = DigestFrequency(frequency)
    if frequency == DigestFrequency.NONE:
        return None
    tz = zone(timezone)
    local_day = after.astimezone(tz).date()
    if frequency == DigestFrequency.MONTHLY:
        year, month = local_day.year, local_day.month
        while True:
            candidate = _at(_first_weekday(year, month, weekday), time_of_day, tz)
            if candidate > after:
                return candidate
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    step = 7 if frequency == DigestFrequency.WEEKLY else 14
    if previous is not None and frequency == DigestFrequency.BIWEEKLY:
        day = previous.astimezone(tz).date() + dt.timedelta(days=step)
    else:
        day = local_day + dt.timedelta(days=(weekday - local_day.weekday()) % 7)
        step = 7  # the first run is simply the next such weekday
    candidate = _at(day, time_of_day, tz)
    while candidate <= after:
        day += dt.timedelta(days=step)
        candidate = _at(day, time_of_day, tz)
    return candidate


# ---------------------------------------------------------------------------
# Subscriptions


@dataclass
class SubscriptionInput:
    channel_id: str | None
    frequency: DigestFrequency | str | None = DigestFrequency.WEEKLY
    weekday: int | str | None = 0
    time_of_day: dt.time | str | None = dt.time(9, 0)
    timezone: str = "UTC"
    after_qbr: bool = True


def _clean_channel(value: str | None) -> str:
    channel = (value or "").strip()
    if not channel:
        raise ValidationError("channel", "choose a channel")
    if not (channel.isascii() and channel.isalnum() and len(channel) <= 32):
        raise ValidationError("channel", "not a Slack channel id")
    return channel


def _clean_time(value: dt.time | str | None) -> dt.time:
    if isinstance(value, dt.time):
        return value.replace(second=0, microsecond=0, tzinfo=None)
    try:
        return dt.time.fromisoformat((value or "").strip())
    except ValueError:
        raise ValidationError("time_of_day", "choose a time") from None


def _clean_weekday(value: int | str | None) -> int:
    try:
        weekday = int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValidationError("weekday", "choose a day of the week") from None
    if not 0 <= weekday <= 6:
        raise ValidationError("weekday", "choose a day of the week")
    return weekday


def _clean_frequency(value: DigestFrequency | str | None) -> DigestFrequency:
    try:
        return DigestFrequency(value)
    except ValueError:
        raise ValidationError("frequency", "choose how often") from None


def save_subscription(
    session: Session, actor: Actor, plan_id: int, data: SubscriptionInput, *, now: dt.datetime | None = None
) -> DigestSubscription:
    """Add a channel to a plan's digests, or change its schedule (one per channel).

    Saving again also restarts a subscription that stopped on an error.
    """
    plan = get_editable_plan(session, actor, plan_id)
    now = now or utcnow()
    channel = _clean_channel(data.channel_id)
    frequency = _clean_frequency(data.frequency)
    weekday = _clean_weekday(data.weekday)
    time_of_day = _clean_time(data.time_of_day)
    zone(data.timezone)
    if frequency == DigestFrequency.NONE and not data.after_qbr:
        raise ValidationError("frequency", "choose a schedule, or tick “after each QBR”")
    # Two people adding the same channel (or the 20th and 21st) at once: one at a time,
    # and the row either one made is the one row (uq plan_id, channel_id).
    lock_plan(session, plan.id)
    query = select(DigestSubscription).where(
        DigestSubscription.plan_id == plan.id, DigestSubscription.channel_id == channel
    )
    subscription = session.scalars(query).one_or_none()
    if subscription is None:
        count = session.scalar(
            select(func.count(DigestSubscription.id)).where(DigestSubscription.plan_id == plan.id)
        )
        if count >= SUBSCRIPTIONS_MAX:
            raise ValidationError("channel", f"a plan can send digests to at most {SUBSCRIPTIONS_MAX} channels")
        insert_missing(session, DigestSubscription, [dict(
            team_id=actor.team_id, plan_id=plan.id, channel_id=channel, created_by=actor.user_id,
            frequency=frequency, weekday=weekday, time_of_day=time_of_day, timezone=data.timezone,
            after_qbr=bool(data.after_qbr), last_error="", created_at=now,
        )], keys=("plan_id", "channel_id"))
        subscription = session.scalars(query).one()
    subscription.frequency = frequency
    subscription.weekday = weekday
    subscription.time_of_day = time_of_day
    subscription.timezone = data.timezone
    subscription.after_qbr = bool(data.after_qbr)
    subscription.next_run_at = next_run(frequency, weekday, time_of_day, data.timezone, after=now)
    subscription.last_error = ""
    subscription.locked_until = None
    session.flush()
    return subscription


def delete_subscription(session: Session, actor: Actor, subscription_id: int) -> int:
    """Remove a subscription; returns its plan's id."""
    subscription = get_subscription(session, actor.team_id, subscription_id)
    get_editable_plan(session, actor, subscription.plan_id)
    session.delete(subscription)
    session.flush()
    return subscription.plan_id


def get_subscription(session: Session, team_id: str, subscription_id: int) -> DigestSubscription:
    found = None
    if is_id(subscription_id):
        found = session.scalars(
            select(DigestSubscription).where(
                DigestSubscription.id == subscription_id, DigestSubscription.team_id == team_id
            )
        ).one_or_none()
    if found is None:
        raise NotFound("That digest subscription is gone already.")
    return found


def subscriptions_of(session: Session, team_id: str, plan_id: int) -> list[DigestSubscription]:
    return list(session.scalars(
        select(DigestSubscription)
        .where(DigestSubscription.team_id == team_id, DigestSubscription.plan_id == plan_id)
        .order_by(DigestSubscription.created_at, DigestSubscription.id)
    ))


def qbr_subscriptions(session: Session, team_id: str, plan_id: int) -> list[DigestSubscription]:
    """Channels that get the digest after each QBR (not those stopped on an error)."""
    return [s for s in subscriptions_of(session, team_id, plan_id) if s.after_qbr and not s.last_error]


def require_sharer(session: Session, actor: Actor, plan_id: int) -> AccountPlan:
    """The plan, if `actor` may post it to channels (owner and team); else PermissionDenied."""
    return get_editable_plan(session, actor, plan_id)


def held(session: Session, subscription_id: int, held_until: dt.datetime | None) -> DigestSubscription | None:
    """The subscription if this scheduler pass still holds its lease (`held_until` as
    claimed; None: no lease involved), read from the database, not the session's cache.

    A pass slower than its lease may have lost the row to another pass, and saving the
    subscription in Slack clears the lease: either way this pass must neither post nor
    record anything for it.
    """
    subscription = session.get(DigestSubscription, subscription_id, populate_existing=True)
    if subscription is None:  # removed meanwhile
        return None
    if held_until is not None and subscription.locked_until != held_until:
        return None
    return subscription


def record_sent(session: Session, subscription_id: int, *, now: dt.datetime,
                held_until: dt.datetime | None = None) -> None:
    """A scheduled digest went out: move the schedule on and give the lease back."""
    subscription = held(session, subscription_id, held_until)
    if subscription is None:
        return
    subscription.last_sent_at = now
    subscription.last_error = ""
    subscription.next_run_at = next_run(
        subscription.frequency, subscription.weekday, subscription.time_of_day,
        subscription.timezone, after=now, previous=subscription.next_run_at,
    )
    subscription.locked_until = None


def record_skipped(session: Session, subscription_id: int, *, now: dt.datetime,
                   held_until: dt.datetime | None = None) -> None:
    """Nothing to send this time (the plan is not active): just move the schedule on."""
    subscription = held(session, subscription_id, held_until)
    if subscription is None:
        return
    subscription.next_run_at = next_run(
        subscription.frequency, subscription.weekday, subscription.time_of_day,
        subscription.timezone, after=now, previous=subscription.next_run_at,
    )
    subscription.locked_until = None


def record_failed(
    session: Session, subscription_id: int, error: str, *, permanent: bool,
    retry_at: dt.datetime | None = None, held_until: dt.datetime | None = None,
) -> None:
    """A digest could not be posted. A permanent failure (the channel is gone, the app
    was removed from it) stops the subscription until someone saves it again; a
    passing one keeps the slot and is retried when the lease `retry_at` runs out."""
    subscription = held(session, subscription_id, held_until)
    if subscription is None:
        return
    subscription.last_error = error[:ERROR_MAX]
    if permanent:
        subscription.next_run_at = None
        subscription.locked_until = None
    else:
        subscription.locked_until = retry_at


def record_post(
    session: Session,
    *,
    team_id: str,
    plan_id: int,
    channel_id: str,
    message_ts: str,
    reason: DigestReason,
    audience: Audience,
    posted_by: str | None,
    now: dt.datetime | None = None,
) -> DigestPost:
    post = DigestPost(
        team_id=team_id, plan_id=plan_id, channel_id=channel_id, message_ts=message_ts,
        reason=reason, audience=audience, posted_by=posted_by, posted_at=now or utcnow(),
    )
    session.add(post)
    session.flush()
    return post


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
    hidden: bool = False  # team-only parts exist that this audience does not see
    next_qbr: dt.date | None = None
    qbr_due_by: dt.date | None = None  # no next QBR set: when one is due (reminder rule)
    review: QbrReview | None = None  # the QBR this digest reports (after a QBR)


def last_digest_at(session: Session, plan_id: int, channel_id: str) -> dt.datetime | None:
    return session.scalar(
        select(func.max(DigestPost.posted_at)).where(
            DigestPost.plan_id == plan_id, DigestPost.channel_id == channel_id
        )
    )


def since_for(
    session: Session, plan_id: int, channel_id: str, *, now: dt.datetime, exclude_review: int | None = None
) -> dt.datetime:
    """Where "since the last digest" starts for a channel (see the module docstring)."""
    reviews = select(func.max(QbrReview.created_at)).where(QbrReview.plan_id == plan_id)
    if exclude_review is not None:
        reviews = reviews.where(QbrReview.id != exclude_review)
    marks = [m for m in (last_digest_at(session, plan_id, channel_id), session.scalar(reviews)) if m]
    return max(marks) if marks else now - dt.timedelta(days=FIRST_DIGEST_LOOKBACK)


def _visible(audience: Audience):
    return ActionItem.team_only.is_(false()) if audience == Audience.EXTERNAL else true()


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
    visible = _visible(audience)
    soon = today + dt.timedelta(days=DUE_SOON_DAYS)
    is_open = ActionItem.status == ItemStatus.OPEN
    is_done_since = and_(ActionItem.status == ItemStatus.DONE, ActionItem.done_at > since)
    is_due_soon = and_(is_open, ActionItem.due_date >= today, ActionItem.due_date <= soon)
    is_overdue = and_(is_open, ActionItem.due_date < today)

    strategies = list(session.scalars(
        select(Strategy).where(Strategy.plan_id == plan.id).order_by(Strategy.position, Strategy.id)
    ))
    objectives: dict[int, list[Objective]] = {s.id: [] for s in strategies}
    for objective in session.scalars(
        select(Objective).where(Objective.plan_id == plan.id).order_by(Objective.position, Objective.id)
    ):
        objectives.setdefault(objective.strategy_id, []).append(objective)

    # Progress and every count in one pass over the plan's items.
    def count(condition):
        return func.sum(case((and_(condition, visible), 1), else_=0))

    rows = session.execute(
        select(
            ActionItem.objective_id,
            count(true()),
            count(ActionItem.status == ItemStatus.DONE),
            count(is_done_since),
            count(is_due_soon),
            count(is_overdue),
            func.sum(case((ActionItem.team_only.is_(True), 1), else_=0)),
        )
        .where(ActionItem.plan_id == plan.id)
        .group_by(ActionItem.objective_id)
    ).all()
    progress = PlanProgress()
    totals = dict.fromkeys(("done", "due_soon", "overdue"), 0)
    team_only_items = 0
    strategy_of = {o.id: s_id for s_id, objs in objectives.items() for o in objs}
    for objective_id, total, done, done_since, due_soon, overdue, team_only in rows:
        shown = Progress(int(done or 0), int(total or 0))
        progress.objectives[objective_id] = shown
        strategy_id = strategy_of.get(objective_id)
        if strategy_id is not None:
            progress.strategies[strategy_id] = progress.strategy(strategy_id) + shown
        progress.plan = progress.plan + shown
        totals["done"] += int(done_since or 0)
        totals["due_soon"] += int(due_soon or 0)
        totals["overdue"] += int(overdue or 0)
        team_only_items += int(team_only or 0)

    def items(condition, order) -> list[ActionItem]:
        return list(session.scalars(
            select(ActionItem).where(ActionItem.plan_id == plan.id, condition, visible)
            .order_by(*order, ActionItem.id).limit(list_limit)
        ))

    done_items = items(is_done_since, [ActionItem.done_at])
    due_soon = items(is_due_soon, [ActionItem.due_date])
    overdue = items(is_overdue, [ActionItem.due_date])

    changes_query = select(ChangeLogEntry).where(
        ChangeLogEntry.team_id == team_id, ChangeLogEntry.plan_id == plan.id, ChangeLogEntry.at > since
    )
    hidden_changes = 0
    if audience == Audience.EXTERNAL:
        shareable_item = select(ActionItem.id).where(
            ActionItem.plan_id == plan.id, ActionItem.team_only.is_(False)
        )
        shareable = or_(
            ChangeLogEntry.entity.in_(_SHAREABLE_ENTITIES),
            and_(ChangeLogEntry.entity == "action_item", ChangeLogEntry.entity_id.in_(shareable_item)),
        )
        all_changes = session.scalar(select(func.count()).select_from(changes_query.subquery()))
        changes_query = changes_query.where(shareable)
    changes_count = session.scalar(select(func.count()).select_from(changes_query.subquery()))
    if audience == Audience.EXTERNAL:
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

    hidden = audience == Audience.EXTERNAL and (team_only_items > 0 or hidden_changes > 0
                                                 or _has_team_only_swot(session, plan.id))
    return DigestContent(
        plan=plan, audience=audience, today=today, since=since, strategies=strategies,
        objectives=objectives, progress=progress, done=done_items, due_soon=due_soon,
        overdue=overdue, changes=changes,
        counts={**totals, "changes": changes_count}, hidden=hidden,
        next_qbr=next_qbr, qbr_due_by=due_by, review=review,
    )


def _has_team_only_swot(session: Session, plan_id: int) -> bool:
    return session.scalar(
        select(SwotEntry.id).where(SwotEntry.plan_id == plan_id, SwotEntry.team_only.is_(True)).limit(1)
    ) is not None


# ---------------------------------------------------------------------------
# Canvases: one per plan and audience, updated in place


def canvas_id_for(session: Session, plan_id: int, audience: Audience) -> str | None:
    return session.scalar(
        select(PlanCanvas.canvas_id).where(PlanCanvas.plan_id == plan_id, PlanCanvas.audience == audience)
    )


def save_canvas(session: Session, *, team_id: str, plan_id: int, audience: Audience, canvas_id: str) -> None:
    """Remember the plan's canvas for an audience (a new one replaces a deleted one).

    One statement (INSERT … ON CONFLICT DO UPDATE): two people publishing at once end
    with one row, the later canvas."""
    upsert(session, PlanCanvas,
           dict(team_id=team_id, plan_id=plan_id, audience=audience, canvas_id=canvas_id, updated_at=utcnow()),
           keys=("plan_id", "audience"), update=("canvas_id", "updated_at"))


# ---------------------------------------------------------------------------
# QBR reminders


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


__all__ = [
    "DigestContent",
    "SubscriptionInput",
    "claim_qbr_nudges",
    "delete_subscription",
    "digest_content",
    "next_run",
    "save_subscription",
    "since_for",
]
