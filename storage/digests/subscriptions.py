"""Digest subscriptions: a (plan, channel) pair with a schedule in the subscriber's time
zone, when it runs next (UTC), and what the scheduler records of each run."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.domain import SUBSCRIPTIONS_MAX
from storage.errors import NotFound, ValidationError
from storage.models import (
    AccountPlan,
    Audience,
    DigestFrequency,
    DigestPost,
    DigestReason,
    DigestSubscription,
    utcnow,
)
from storage.plans import Actor, get_editable_plan
from storage.plans.rules import is_id
from storage.plans.writes import lock_plan
from storage.reminder_calendar import known_zone, zone
from storage.upsert import insert_missing


ERROR_MAX = 255


# ---------------------------------------------------------------------------
# Schedules


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


def _clean_timezone(value: str) -> str:
    """The subscriber's zone as Slack gave it: refused here, when it is saved, if this
    machine does not know it (the scheduler would fall back to UTC)."""
    if known_zone(value) is None:
        raise ValidationError("timezone", f"unknown time zone {value!r}")
    return value


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
    timezone = _clean_timezone(data.timezone)
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
            frequency=frequency, weekday=weekday, time_of_day=time_of_day, timezone=timezone,
            after_qbr=bool(data.after_qbr), last_error="", created_at=now,
        )], keys=("plan_id", "channel_id"))
        subscription = session.scalars(query).one()
    subscription.frequency = frequency
    subscription.weekday = weekday
    subscription.time_of_day = time_of_day
    subscription.timezone = timezone
    subscription.after_qbr = bool(data.after_qbr)
    subscription.next_run_at = next_run(frequency, weekday, time_of_day, timezone, after=now)
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
