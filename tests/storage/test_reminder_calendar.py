"""The reminder calendar: 09:00 local, lead days, weekends, overdue cadence, snoozes, DST."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from storage.reminder_calendar import (
    MAX_OVERDUE,
    Cadence,
    Kind,
    Sent,
    after_sending,
    at_nine,
    due_now,
    local_day,
    next_at,
    next_monday_at_nine,
    snooze_until,
    summary_due,
    zone,
)

UTC = dt.timezone.utc
LA, BERLIN, KOLKATA = ZoneInfo("America/Los_Angeles"), ZoneInfo("Europe/Berlin"), ZoneInfo("Asia/Kolkata")


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def run(cadence: Cadence, start: dt.datetime, end: dt.datetime, sent: Sent = Sent()):
    """Every reminder from `start` to `end`, as the scheduler would send them:
    [(kind, local time)]."""
    out = []
    when = next_at(cadence, sent, not_before=start)
    while when is not None and when <= end:
        kind = due_now(cadence, sent, when)
        assert kind is not None, f"next_at said {when} but nothing was due then"
        out.append((kind, when.astimezone(cadence.tz)))
        sent = after_sending(sent, kind, cadence, when)
        following = next_at(cadence, sent, not_before=when)
        assert following is None or following > when
        when = following
    return out


def test_nine_in_the_morning_is_local_in_every_zone():
    day = dt.date(2025, 3, 3)
    assert at_nine(day, LA) == utc(2025, 3, 3, 17)
    assert at_nine(day, BERLIN) == utc(2025, 3, 3, 8)
    assert at_nine(day, KOLKATA) == utc(2025, 3, 3, 3, 30)


def test_summer_time_moves_the_utc_instant_not_the_local_hour():
    # Los Angeles springs forward on 9 March 2025, Berlin on 30 March.
    assert at_nine(dt.date(2025, 3, 7), LA) == utc(2025, 3, 7, 17)
    assert at_nine(dt.date(2025, 3, 10), LA) == utc(2025, 3, 10, 16)
    assert at_nine(dt.date(2025, 3, 28), BERLIN) == utc(2025, 3, 28, 8)
    assert at_nine(dt.date(2025, 3, 31), BERLIN) == utc(2025, 3, 31, 7)


def test_unknown_zone_falls_back_to_the_default_then_utc():
    assert zone("Mars/Olympus_Mons", "Europe/Berlin") == BERLIN
    assert zone(None, "Asia/Kolkata") == KOLKATA
    assert zone("nope", "also nope") == ZoneInfo("UTC")


@pytest.mark.parametrize("due, lead, expected", [
    (dt.date(2025, 3, 5), 1, dt.date(2025, 3, 4)),    # Wednesday: Tuesday
    (dt.date(2025, 3, 3), 1, dt.date(2025, 2, 28)),   # Monday: the Friday before, not Sunday
    (dt.date(2025, 3, 3), 0, dt.date(2025, 3, 3)),    # on the day
    (dt.date(2025, 3, 8), 0, dt.date(2025, 3, 7)),    # due on a Saturday: Friday
    (dt.date(2025, 3, 14), 7, dt.date(2025, 3, 7)),   # a week before
])
def test_due_soon_day(due, lead, expected):
    assert Cadence(due, lead, BERLIN).soon_day == expected


def test_a_whole_life_due_soon_then_five_working_days_overdue():
    due = dt.date(2025, 3, 6)  # a Thursday
    reminders = run(Cadence(due, 1, BERLIN), utc(2025, 3, 1), utc(2025, 4, 1))
    assert [(k, t.strftime("%a %d %H:%M")) for k, t in reminders] == [
        (Kind.SOON, "Wed 05 09:00"),
        (Kind.OVERDUE, "Fri 07 09:00"),
        (Kind.OVERDUE, "Mon 10 09:00"),
        (Kind.OVERDUE, "Tue 11 09:00"),
        (Kind.OVERDUE, "Wed 12 09:00"),
        (Kind.OVERDUE, "Thu 13 09:00"),
    ]
    assert sum(1 for k, _ in reminders if k == Kind.OVERDUE) == MAX_OVERDUE


def test_across_the_summer_time_change_it_stays_nine_local():
    due = dt.date(2025, 3, 7)  # Friday before Los Angeles springs forward
    reminders = run(Cadence(due, 1, LA), utc(2025, 3, 1), utc(2025, 4, 1))
    assert all(t.hour == 9 and t.minute == 0 for _, t in reminders)
    utc_hours = [t.astimezone(UTC).hour for _, t in reminders]
    assert utc_hours[:2] == [17, 16]  # Thu 6 (PST), then Mon 10 (PDT)


def test_a_missed_due_soon_slot_is_caught_up_the_same_day():
    # Assigned, imported or rescheduled on Tuesday at 15:00 Berlin, due Wednesday: the
    # 09:00 heads-up is past. It goes out at once (it used to be skipped for good).
    cadence = Cadence(dt.date(2025, 3, 5), 1, BERLIN)
    afternoon = dt.datetime(2025, 3, 4, 15, tzinfo=BERLIN)
    assert due_now(cadence, Sent(), afternoon) == Kind.SOON
    assert due_now(cadence, Sent(), dt.datetime(2025, 3, 4, 8, 59, tzinfo=BERLIN)) is None  # not before 09:00
    # Told about it already that day (the assignment DM): the due day's 09:00 instead.
    told = Sent(last_at=afternoon - dt.timedelta(hours=1))
    assert due_now(cadence, told, afternoon) is None
    assert next_at(cadence, told, not_before=afternoon) == dt.datetime(2025, 3, 5, 9, tzinfo=BERLIN)
    assert due_now(cadence, told, dt.datetime(2025, 3, 5, 9, tzinfo=BERLIN)) == Kind.SOON


def test_a_missed_heads_up_is_not_caught_up_on_a_weekend():
    cadence = Cadence(dt.date(2025, 3, 10), 1, BERLIN)  # due Monday: heads-up on Friday 7
    saturday = dt.datetime(2025, 3, 8, 11, tzinfo=BERLIN)  # imported on Saturday
    assert due_now(cadence, Sent(), saturday) is None
    monday = dt.datetime(2025, 3, 10, 9, tzinfo=BERLIN)
    assert next_at(cadence, Sent(), not_before=saturday) == monday
    assert due_now(cadence, Sent(), monday) == Kind.SOON  # "due today"


def test_a_missed_overdue_reminder_is_caught_up_but_never_twice_a_day():
    cadence = Cadence(dt.date(2025, 3, 5), 1, BERLIN)
    back = dt.datetime(2025, 3, 7, 14, tzinfo=BERLIN)  # down at 09:00 on Friday
    assert due_now(cadence, Sent(soon=True), back) == Kind.OVERDUE
    sent = after_sending(Sent(soon=True), Kind.OVERDUE, cadence, back)
    # Rescheduled that afternoon to another past date (counted afresh): not again today.
    moved = Cadence(dt.date(2025, 3, 6), 1, BERLIN)
    afresh = Sent(last_at=sent.last_at)
    later = back + dt.timedelta(hours=2)
    assert due_now(moved, afresh, later) is None
    assert next_at(moved, afresh, not_before=later) == dt.datetime(2025, 3, 10, 9, tzinfo=BERLIN)


def test_a_due_soon_reminder_missed_by_an_outage_still_goes_out_on_the_due_day():
    cadence = Cadence(dt.date(2025, 3, 5), 1, BERLIN)
    back = dt.datetime(2025, 3, 5, 11, tzinfo=BERLIN)  # the scheduler was down over Tuesday
    assert due_now(cadence, Sent(), back) == Kind.SOON
    after_due = dt.datetime(2025, 3, 6, 11, tzinfo=BERLIN)
    assert due_now(cadence, Sent(), after_due) == Kind.OVERDUE  # not "due soon" any more


def test_one_reminder_a_day_and_none_on_weekends():
    cadence = Cadence(dt.date(2025, 3, 5), 1, BERLIN)
    morning = dt.datetime(2025, 3, 7, 9, 0, 30, tzinfo=BERLIN)
    sent = after_sending(Sent(soon=True), Kind.OVERDUE, cadence, morning)
    assert due_now(cadence, sent, morning + dt.timedelta(hours=5)) is None
    saturday = dt.datetime(2025, 3, 8, 10, tzinfo=BERLIN)
    assert due_now(cadence, sent, saturday) is None
    assert next_at(cadence, sent, not_before=saturday) == dt.datetime(2025, 3, 10, 9, tzinfo=BERLIN)


def test_a_snooze_is_one_reminder_then_the_cadence_goes_on_counting_it():
    cadence = Cadence(dt.date(2025, 3, 5), 1, BERLIN)
    clicked = dt.datetime(2025, 3, 6, 9, 5, tzinfo=BERLIN)  # Thursday, first overdue reminder
    sent = after_sending(Sent(soon=True), Kind.OVERDUE, cadence, dt.datetime(2025, 3, 6, 9, tzinfo=BERLIN))
    snoozed = Sent(sent.soon, sent.overdue, snooze_until(clicked, 7, BERLIN), sent.last_at)
    assert snoozed.snoozed_until == dt.datetime(2025, 3, 13, 9, tzinfo=BERLIN)
    reminders = run(cadence, clicked, utc(2025, 4, 1), snoozed)
    assert [(k, t.strftime("%a %d")) for k, t in reminders] == [
        (Kind.SNOOZED, "Thu 13"), (Kind.OVERDUE, "Fri 14"), (Kind.OVERDUE, "Mon 17"),
        (Kind.OVERDUE, "Tue 18"),  # 1 before the snooze + the snoozed one + 3 = 5
    ]


def test_snoozing_on_friday_for_a_day_means_monday():
    friday = dt.datetime(2025, 3, 7, 10, tzinfo=KOLKATA)
    assert snooze_until(friday, 1, KOLKATA) == dt.datetime(2025, 3, 10, 9, tzinfo=KOLKATA)


def test_no_due_date_no_reminders_but_a_snooze_still_rings():
    cadence = Cadence(None, 1, BERLIN)
    assert next_at(cadence, Sent(), not_before=utc(2025, 3, 1)) is None
    asked = Sent(snoozed_until=utc(2025, 3, 4, 8))
    assert next_at(cadence, asked, not_before=utc(2025, 3, 1)) == utc(2025, 3, 4, 8)
    assert due_now(cadence, asked, utc(2025, 3, 4, 8)) == Kind.SNOOZED


def test_reopened_long_after_the_due_date_starts_overdue_reminders_from_now():
    cadence = Cadence(dt.date(2025, 1, 6), 1, BERLIN)
    now = dt.datetime(2025, 6, 4, 15, tzinfo=BERLIN)  # a Wednesday afternoon
    assert next_at(cadence, Sent(), not_before=now) == dt.datetime(2025, 6, 5, 9, tzinfo=BERLIN)


def test_weekly_summary_on_monday_nine_local_once():
    sunday_night_utc = utc(2025, 3, 2, 22)  # already Monday 03:30 in Kolkata
    assert next_monday_at_nine(KOLKATA, not_before=sunday_night_utc) == dt.datetime(2025, 3, 3, 9, tzinfo=KOLKATA)
    assert next_monday_at_nine(LA, not_before=sunday_night_utc) == dt.datetime(2025, 3, 3, 9, tzinfo=LA)
    monday = dt.datetime(2025, 3, 3, 9, 0, 10, tzinfo=LA)
    assert summary_due(LA, monday, None)
    assert not summary_due(LA, monday, monday - dt.timedelta(seconds=5))
    assert not summary_due(LA, monday + dt.timedelta(days=1), None)  # Tuesday: next week's
    assert next_monday_at_nine(LA, not_before=monday, skip_day=local_day(monday, LA)) == \
        dt.datetime(2025, 3, 10, 9, tzinfo=LA)
