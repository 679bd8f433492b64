"""Progress check-in rounds: pure date rules, no database (storage/checkins.py has the
rows and the scheduler's side, and the rules in words).

Days are the owner's local days; a DM goes out at 09:00 there on a working day
(storage.reminder_calendar: Monday to Friday).
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

from storage.domain import CHECKIN_REMINDER_WORKING_DAYS, PlanStatus
from storage.reminder_calendar import (
    LOCAL_TIME,
    at_nine,
    is_working_day,
    local_day,
    next_working_day,
    working_day_from,
)

QBR, MONTH = "qbr", "month"


@dataclass(frozen=True)
class CheckinRound:
    key: str  # "qbr:2026-12-10" or "month:2026-12"
    send_on: dt.date  # the working day the DM is meant for
    last_day: dt.date  # the round is open until then (the QBR, the month's end)
    qbr_date: dt.date | None = None  # the QBR it prepares (None: monthly)


def next_qbr_on(latest_next_qbr: dt.date | None, last_review_date: dt.date | None,
                qbr_reminder_days: int | None) -> dt.date | None:
    """`next_qbr_date` from the latest review's next QBR date and the plan's columns."""
    if latest_next_qbr is not None:
        return latest_next_qbr
    if last_review_date is not None and qbr_reminder_days and qbr_reminder_days > 0:
        return last_review_date + dt.timedelta(days=qbr_reminder_days)
    return None


def next_qbr_date(plan) -> dt.date | None:
    """The latest review's next QBR date; else the last review + the plan's QBR period
    (`qbr_reminder_days`); else None (no review yet). `plan`: an AccountPlan (its
    `reviews` are read)."""
    latest = max(plan.reviews, key=lambda r: (r.held_on, r.id or 0), default=None)
    return next_qbr_on(latest.next_qbr_date if latest else None, plan.last_review_date,
                       plan.qbr_reminder_days)


def _back_to_working_day(day: dt.date) -> dt.date:
    while not is_working_day(day):
        day -= dt.timedelta(days=1)
    return day


def _first_working_day(year: int, month: int) -> dt.date:
    return working_day_from(dt.date(year, month, 1))


_FROM_PLAN = object()


def plan_checkin_rounds(plan, today: dt.date, *, next_qbr=_FROM_PLAN) -> list[CheckinRound]:
    """The rounds open on `today` (see the module's docstring). `plan`: anything with
    the plan's status, start_date, end_date, checkin_lead_days and monthly_checkins;
    `next_qbr`: its next QBR date if known (else `next_qbr_date(plan)`)."""
    if plan.status != PlanStatus.ACTIVE or today > plan.end_date:
        return []
    qbr = next_qbr_date(plan) if next_qbr is _FROM_PLAN else next_qbr
    rounds = []
    qbr_send = None
    if qbr is not None:
        qbr_send = _back_to_working_day(qbr - dt.timedelta(days=max(0, plan.checkin_lead_days)))
        if qbr_send <= today <= qbr:
            rounds.append(CheckinRound(f"{QBR}:{qbr.isoformat()}", qbr_send, qbr, qbr))
    if plan.monthly_checkins:
        send = _first_working_day(today.year, today.month)
        month_end = dt.date(today.year, today.month, calendar.monthrange(today.year, today.month)[1])
        qbr_this_month = qbr_send is not None and (qbr_send.year, qbr_send.month) == (today.year, today.month)
        if plan.start_date <= send <= today and not qbr_this_month:
            rounds.append(CheckinRound(f"{MONTH}:{today:%Y-%m}", send, min(month_end, plan.end_date)))
    return rounds


def round_last_day(key: str) -> dt.date | None:
    """The last day a round is open, from its key (the QBR; the month's last day);
    None for a key this version does not know."""
    kind, _, when = key.partition(":")
    try:
        if kind == QBR:
            return dt.date.fromisoformat(when)
        if kind == MONTH:
            year, month = (int(part) for part in when.split("-"))
            return dt.date(year, month, calendar.monthrange(year, month)[1])
    except ValueError:
        return None
    return None


def round_holds(key: str, plan, qbr: dt.date | None, today: dt.date) -> bool:
    """Whether a row's round still stands on the owner's `today`."""
    return any(r.key == key for r in plan_checkin_rounds(plan, today, next_qbr=qbr))


def reminder_day(sent_day: dt.date) -> dt.date:
    """When an unanswered check-in sent on `sent_day` is reminded: that many working
    days later (Friday → Tuesday)."""
    day = sent_day
    for _ in range(CHECKIN_REMINDER_WORKING_DAYS):
        day = next_working_day(day)
    return day


def next_slot(now: dt.datetime, tz, not_before: dt.date | None = None) -> dt.datetime:
    """09:00 local on the first working day from `not_before` (default: today) on; in the
    past (due at once) when that is today and 09:00 has gone."""
    today = local_day(now, tz)
    return at_nine(working_day_from(max(today, not_before or today)), tz)


def working_time(now: dt.datetime, tz) -> bool:
    local = now.astimezone(tz)
    return is_working_day(local.date()) and local.time() >= LOCAL_TIME
