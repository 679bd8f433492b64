"""When reminders fall due: pure date and time rules, no database and no Slack.

Every reminder goes out at 09:00 in the recipient's own time zone. Times are UTC
everywhere else; a zone is used only here, to turn "09:00 on that day" into an instant
(`zoneinfo`, so summer time is right in every zone).

An action item's reminders (`Cadence` is its calendar, `Sent` what went out already):

- Due soon: `lead_days` before the due date (0: on the day itself). When that day is
  a Saturday or Sunday it moves back to the Friday before: a heads-up for a Monday
  deadline is more use on Friday than on Sunday.
- Overdue: on the first working day (Monday to Friday) after the due date, then on
  each working day after that, at most `MAX_OVERDUE` times in all. ("The day after"
  a Friday deadline is taken to be Monday: nobody is reminded on a weekend.)
- A snooze asks for quiet until a moment, then for one reminder at that moment; the
  cadence goes on after it. A snoozed reminder of an overdue item counts among the five.
- At most one reminder a day per item.

A missed slot is caught up while it still means something (`due_now`, which every
pass asks first, also for rows it has just scheduled: an import, a copy, a change, a
new time zone). "Missed" is any 09:00 nobody sent at: the first pass after an import,
an instance down at 09:00, an item rescheduled after its slot.
- The due-soon reminder goes out at once, from 09:00 on its day, on any working day
  up to the due date itself (afterwards the overdue ones take over).
- An overdue reminder goes out at once, from 09:00 on a working day, unless one (or
  any DM about the item: an assignment DM counts) went out that local day already.
- An assignment DM that goes out once the due-soon day has come counts as the due-soon
  reminder (storage.reminders.record_notification_sent): no second DM saying the same.
`next_at` is the next slot from `not_before` on, for a row `due_now` had nothing for.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, replace
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

LOCAL_TIME = dt.time(9, 0)
MAX_OVERDUE = 5
MONDAY = 0
UTC = dt.timezone.utc


class Kind(enum.StrEnum):
    SOON = "soon"  # due in a few days, tomorrow or today
    OVERDUE = "overdue"
    SNOOZED = "snoozed"  # the one reminder a snooze asked for


# ---------------------------------------------------------------------------
# Days and zones


def known_zone(name: str | None) -> ZoneInfo | None:
    """The zone called `name`, or None when there is no such zone (or no name)."""
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            pass
    return None


def zone(name: str | None, default: str = "UTC") -> ZoneInfo:
    """The zone called `name` (as Slack's users.info spells it), else `default`, else
    UTC: never an error, so a zone name Slack sends (or tzdata drops) that this
    machine does not know never stops a scheduler pass. Forms that take a zone check it
    with known_zone first."""
    for candidate in (name, default):
        found = known_zone(candidate)
        if found is not None:
            return found
    return ZoneInfo("UTC")


def at_nine(day: dt.date, tz: ZoneInfo) -> dt.datetime:
    """09:00 on `day` in `tz`, as a UTC instant (09:00 exists on every day of every zone)."""
    return dt.datetime.combine(day, LOCAL_TIME, tzinfo=tz).astimezone(UTC)


def local_day(moment: dt.datetime, tz: ZoneInfo) -> dt.date:
    return moment.astimezone(tz).date()


def is_working_day(day: dt.date) -> bool:
    return day.weekday() < 5


def next_working_day(day: dt.date) -> dt.date:
    """The first working day strictly after `day`."""
    day += dt.timedelta(days=1)
    while not is_working_day(day):
        day += dt.timedelta(days=1)
    return day


def working_day_from(day: dt.date) -> dt.date:
    """`day` itself when it is a working day, else the Monday after."""
    return day if is_working_day(day) else next_working_day(day)


def snooze_until(now: dt.datetime, days: int, tz: ZoneInfo) -> dt.datetime:
    """The end of a snooze of `days` days asked for at `now`: 09:00 local that many days
    later, on a working day."""
    return at_nine(working_day_from(local_day(now, tz) + dt.timedelta(days=days)), tz)


# ---------------------------------------------------------------------------
# An action item's reminders


@dataclass(frozen=True)
class Cadence:
    due: dt.date | None
    lead_days: int
    tz: ZoneInfo

    @property
    def soon_day(self) -> dt.date | None:
        if self.due is None:
            return None
        day = self.due - dt.timedelta(days=max(0, self.lead_days))
        while not is_working_day(day):  # back to the Friday before
            day -= dt.timedelta(days=1)
        return day


@dataclass(frozen=True)
class Sent:
    """What went out for the current due date (ItemReminder's columns)."""

    soon: bool = False
    overdue: int = 0
    snoozed_until: dt.datetime | None = None
    last_at: dt.datetime | None = None

    @property
    def soon_pending(self) -> bool:
        return not self.soon and self.overdue == 0


def due_now(cadence: Cadence, sent: Sent, now: dt.datetime) -> Kind | None:
    """The reminder to send at `now`, if any."""
    if sent.snoozed_until is not None:
        return Kind.SNOOZED if sent.snoozed_until <= now else None
    if cadence.due is None:
        return None
    today = local_day(now, cadence.tz)
    if sent.last_at is not None and local_day(sent.last_at, cadence.tz) >= today:
        return None  # one a day
    if not is_working_day(today) or now < at_nine(today, cadence.tz):
        return None  # reminders go out from 09:00 on working days only
    soon_day = cadence.soon_day
    if sent.soon_pending and soon_day is not None and soon_day <= today <= cadence.due:
        return Kind.SOON  # on its day, or caught up later while the item is not yet due
    if today > cadence.due and sent.overdue < MAX_OVERDUE:
        return Kind.OVERDUE
    return None


def next_at(cadence: Cadence, sent: Sent, *, not_before: dt.datetime) -> dt.datetime | None:
    """When the next reminder falls due, looking forward from `not_before` (None: never).

    Days up to the one of the last reminder are skipped (one a day).
    """
    if sent.snoozed_until is not None:
        return max(sent.snoozed_until, not_before)  # asked for: never skipped
    if cadence.due is None:
        return None
    tz = cadence.tz
    done_through = local_day(sent.last_at, tz) if sent.last_at is not None else None

    def open_day(day: dt.date) -> bool:
        return at_nine(day, tz) >= not_before and (done_through is None or day > done_through)

    candidates = []
    soon_day = cadence.soon_day
    if sent.soon_pending and soon_day is not None:
        # Its day, or (missed) the next working day that is still not after the due date.
        day = max(soon_day, local_day(not_before, tz) - dt.timedelta(days=1))
        while day <= cadence.due and not (is_working_day(day) and open_day(day)):
            day += dt.timedelta(days=1)
        if day <= cadence.due:
            candidates.append(at_nine(day, tz))
    if sent.overdue < MAX_OVERDUE:
        day = next_working_day(cadence.due)
        # Jump close to not_before first: an item reopened long after its due date
        # should not walk the calendar a day at a time.
        start = local_day(not_before, tz) - dt.timedelta(days=1)
        if start > day:
            day = working_day_from(start)
        while not open_day(day):
            day = next_working_day(day)
        candidates.append(at_nine(day, tz))
    return min(candidates, default=None)


def after_sending(sent: Sent, kind: Kind, cadence: Cadence, now: dt.datetime) -> Sent:
    """What went out once the reminder `kind` was sent at `now`."""
    overdue = cadence.due is not None and local_day(now, cadence.tz) > cadence.due
    if kind == Kind.OVERDUE or (kind == Kind.SNOOZED and overdue):
        return replace(sent, overdue=sent.overdue + 1, snoozed_until=None, last_at=now)
    return replace(sent, soon=True, snoozed_until=None, last_at=now)


# ---------------------------------------------------------------------------
# Weekly summaries


def next_monday_at_nine(tz: ZoneInfo, *, not_before: dt.datetime,
                        skip_day: dt.date | None = None) -> dt.datetime:
    """The first Monday 09:00 (local) at or after `not_before`, other than `skip_day`."""
    day = local_day(not_before, tz)
    day += dt.timedelta(days=(MONDAY - day.weekday()) % 7)
    while at_nine(day, tz) < not_before or day == skip_day:
        day += dt.timedelta(days=7)
    return at_nine(day, tz)


def summary_due(tz: ZoneInfo, now: dt.datetime, last_sent_at: dt.datetime | None) -> bool:
    """A summary goes out on Monday from 09:00 local, once; a pass that comes later in
    the week (the scheduler was down) leaves it for the next Monday."""
    today = local_day(now, tz)
    if today.weekday() != MONDAY or now < at_nine(today, tz):
        return False
    return last_sent_at is None or local_day(last_sent_at, tz) != today
