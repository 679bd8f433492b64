"""The scheduler's reminder jobs, and the same work done right after a request.

Jobs (bot/scheduler.py runs them in this order, each `job(context, now) -> sent`):
- sync_new_plans: reminder rows for plans written in bulk (import, copy);
- refresh_time_zones: users.info for people with reminders coming up whose zone is
  unknown or stale;
- deliver_notifications: assignment / unassignment / done DMs and DM redraws that
  were not sent right after their request (Slack failed then, or the process died);
- send_item_reminders: due soon, overdue and snoozed reminders;
- send_weekly_summaries: Monday's list of open items.

Each sending job claims due rows in batches (storage.claims: a lease, committed before
anything is sent), lets storage decide in one transaction what each row needs (most
only move on: storage.reminders.prepare_*), then sends the DMs on a few threads,
every Web API call first taking a slot from the rate limiter, and records each outcome
under the lease. Right before each send `begin_attempt` checks that the lease is still
this pass's and notes the attempt: a pass whose lease ran out, or a row that changed
meanwhile, sends nothing, and a send whose outcome is unknown is looked for in the DM
before it is tried again (bot/notify.py). So each DM goes out once.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from functools import partial

from slack_sdk import WebClient
from sqlalchemy import ColumnElement
from sqlalchemy.orm import Session, sessionmaker

from blocks import reminders as messages
from bot.config import Settings
from bot.jobs import JobContext, NotInstalled, by_turns
from bot.notify import Outcome, Throttle, outcome_of, post_dm, update_dm
from bot.ratelimit import Unlimited
from storage import people, reminders
from storage.claims import begin_attempt, claim_due, lease_end
from storage.db import transaction
from storage.models import ItemReminder, Notification, NotificationKind, WeeklySummary, utcnow
from storage.reminder_calendar import zone

log = logging.getLogger(__name__)

LEASE = dt.timedelta(minutes=10)  # a batch is sent well within it, even paused by 429s
# A batch is a few seconds of sending at Slack's pace: claiming more would only make
# other instances wait for rows this one cannot send yet.
BATCH = 25
MAX_BATCHES = 2000  # per job and pass: 50,000 DMs; the next pass goes on
TIMEZONES_PER_PASS = 50

Send = Callable[[WebClient, Throttle], Outcome]
RecordSent = Callable[[Session, Outcome], bool]


# ---------------------------------------------------------------------------
# Housekeeping jobs


def sync_new_plans(context: JobContext, now: dt.datetime) -> int:
    for _ in range(MAX_BATCHES):
        with transaction(context.session_factory) as session:
            if not reminders.sync_new_plans(session):
                break
    return 0


def refresh_time_zones(context: JobContext, now: dt.datetime) -> int:
    with transaction(context.session_factory) as session:
        wanted = reminders.people_needing_timezones(session, now=now, limit=TIMEZONES_PER_PASS)
    for team_id, user_id in wanted:
        fetch_time_zone(context, team_id, user_id, now)
    return 0


def fetch_time_zone(context: JobContext, team_id: str, user_id: str, now: dt.datetime) -> None:
    """Ask Slack for someone's time zone and keep it (their reminders move if it changed)."""
    try:
        client = context.client_for_team(team_id)
        context.limiter.acquire(team_id, "users.info")
        user = client.users_info(user=user_id)["user"]
    except NotInstalled:  # nothing to ask: try again only when the cache would be stale
        with transaction(context.session_factory) as session:
            people.record_lookup_failed(session, team_id, user_id, "not_installed", now=now)
        return
    except Exception as error:  # noqa: BLE001 - sorted below
        outcome = outcome_of(error)
        if outcome.permanent:
            with transaction(context.session_factory) as session:
                people.record_lookup_failed(session, team_id, user_id, outcome.error, now=now)
        log.info("time zone of %s not fetched: %s", user_id, outcome.error)
        return
    with transaction(context.session_factory) as session:
        reminders.set_timezone(session, team_id, user_id, user.get("tz"), now=now)


# ---------------------------------------------------------------------------
# Sending


def _batches(context: JobContext, model, now: dt.datetime, where: Sequence[ColumnElement[bool]]):
    """Claimed ids, a batch at a time, with the lease they are held by."""
    for _ in range(MAX_BATCHES):
        ids = claim_due(context.session_factory, model, now=now, lease=LEASE, limit=BATCH, where=where)
        if not ids:
            return
        yield ids, lease_end(now, LEASE)


def _deliver(context: JobContext, model, out: reminders.Outgoing, *, held_until: dt.datetime,
             now: dt.datetime, send: Send, record_sent: RecordSent) -> bool:
    with transaction(context.session_factory) as session:
        # Wall-clock time: it is compared with Slack's message times if the outcome is lost.
        if not begin_attempt(session, model, out.row_id, held_until=held_until, now=utcnow()):
            log.info("%s: no longer held by this pass; not sent", out.key)
            return False
    try:
        client = context.client_for_team(out.team_id)
        outcome = send(client, partial(context.limiter.acquire, out.team_id))
    except NotInstalled:
        outcome = Outcome(error="not_installed", permanent=True)
    except Exception:  # noqa: BLE001 - a bug or a failed token refresh: later, carefully
        log.exception("%s: sending failed", out.key)
        outcome = Outcome(error="internal_error", uncertain=True)
    if outcome.error == "ratelimited":
        context.limiter.pause(out.team_id, outcome.retry_after or 1.0)
    with transaction(context.session_factory) as session:
        if outcome.sent:
            kept = record_sent(session, outcome)
        else:
            kept = reminders.record_failure(
                session, model, out.row_id, held_until=held_until, now=now, error=outcome.error,
                permanent=outcome.permanent, uncertain=outcome.uncertain, retry_after=outcome.retry_after)
    if outcome.error:
        log.warning("%s to %s not sent: %s (%s)", out.key, out.user_id, outcome.error,
                    "for good" if outcome.permanent else "will retry")
    if not kept:
        log.info("%s: the row changed while its DM went out; its new state stands", out.key)
    return outcome.sent


def _post(out: reminders.Outgoing, message: dict) -> Send:
    return lambda client, throttle: post_dm(
        client, user_id=out.user_id, message=message, key=out.key, dm_channel=out.dm_channel,
        maybe_sent_since=out.maybe_sent_since, throttle=throttle)


def send_item_reminders(context: JobContext, now: dt.datetime, *,
                        where: Sequence[ColumnElement[bool]] = ()) -> int:
    sent = 0
    for ids, held in _batches(context, ItemReminder, now, where):
        with transaction(context.session_factory) as session:
            due = reminders.prepare_item_reminders(session, ids, now=now, held_until=held,
                                                   default_tz=context.default_timezone)

        def one(reminder: reminders.DueReminder, held=held) -> bool:
            message = messages.reminder_message(reminder.facts, reminder.kind.value,
                                                today=reminder.today, assigned_by=reminder.assigned_by)
            return _deliver(
                context, ItemReminder, reminder, held_until=held, now=now, send=_post(reminder, message),
                record_sent=lambda session, outcome: reminders.record_reminder_sent(
                    session, reminder, held_until=held, now=now, channel=outcome.channel, ts=outcome.ts))

        sent += context.each(one, by_turns(due, key=lambda r: (r.team_id, r.user_id)))
    return sent


def send_weekly_summaries(context: JobContext, now: dt.datetime) -> int:
    sent = 0
    for ids, held in _batches(context, WeeklySummary, now, ()):
        with transaction(context.session_factory) as session:
            due = reminders.prepare_summaries(session, ids, now=now, held_until=held,
                                              default_tz=context.default_timezone)

        def one(summary: reminders.DueSummary, held=held) -> bool:
            message = messages.summary_message(summary.items, today=summary.today, more=summary.more)
            return _deliver(
                context, WeeklySummary, summary, held_until=held, now=now, send=_post(summary, message),
                record_sent=lambda session, outcome: reminders.record_summary_sent(
                    session, summary, held_until=held, now=now, channel=outcome.channel, ts=outcome.ts))

        sent += context.each(one, due)
    return sent


def _notification_send(note: reminders.DueNotification) -> Send:
    facts, details = note.facts, note.details
    if note.kind == NotificationKind.DM_UPDATE:
        message = messages.closed_message(
            title=details.get("title") or (facts.title if facts else "An action item"),
            plan_id=details.get("plan_id"), plan_name=details.get("plan_name"),
            state=details.get("state", "done"), actor=note.actor_id, to=details.get("to"))
        return lambda client, throttle: update_dm(client, channel=details["channel"], ts=details["ts"],
                                                  message=message, throttle=throttle)
    if note.kind == NotificationKind.ASSIGNED:
        message = messages.assignment_message(facts, assigned_by=note.actor_id, today=note.today)
    elif note.kind == NotificationKind.DONE:
        message = messages.done_notice(facts, actor=note.actor_id)
    else:
        message = messages.unassigned_notice(
            title=details.get("title") or (facts.title if facts else "An action item"),
            plan_id=details.get("plan_id"), plan_name=details.get("plan_name"),
            actor=note.actor_id, to=details.get("to"))
    return _post(note, message)


def deliver_notifications(context: JobContext, now: dt.datetime, *,
                          where: Sequence[ColumnElement[bool]] = ()) -> int:
    sent = 0
    for ids, held in _batches(context, Notification, now, where):
        with transaction(context.session_factory) as session:
            due = reminders.prepare_notifications(session, ids, now=now, held_until=held,
                                                  default_tz=context.default_timezone)

        def one(note: reminders.DueNotification, held=held) -> bool:
            return _deliver(
                context, Notification, note, held_until=held, now=now, send=_notification_send(note),
                record_sent=lambda session, outcome: reminders.record_notification_sent(
                    session, note.row_id, held_until=held, now=now, channel=outcome.channel, ts=outcome.ts))

        sent += context.each(one, by_turns(due, key=lambda n: (n.team_id, n.user_id)))
    return sent


# ---------------------------------------------------------------------------
# Right after a request


def right_after_change(settings: Settings, session_factory: sessionmaker[Session],
                       client: WebClient, item_id: int, *, now: dt.datetime | None = None) -> None:
    """What a change to an action item set going, done now rather than at the next pass:
    its notifications (with the request's client, already authorized), the assignee's
    time zone if unknown, and the item's next reminder. Whatever fails here is left for
    the scheduler, which finds the rows still due."""
    now = now or utcnow()
    context = JobContext(settings, session_factory, client_for_team=lambda _team: client,
                         limiter=Unlimited(), send_threads=1)
    deliver_notifications(context, now, where=(Notification.action_item_id == item_id,))
    with transaction(session_factory) as session:
        assignee = reminders.assignee_of(session, item_id)
        stale = people.stale_among(session, [assignee], now=now) if assignee else []
    for team_id, user_id in stale:
        fetch_time_zone(context, team_id, user_id, now)
    send_item_reminders(context, now, where=(ItemReminder.action_item_id == item_id,))


def local_zone(session: Session, team_id: str, user_id: str, default: str):
    return zone(people.timezone_names(session, [(team_id, user_id)]).get((team_id, user_id)), default)
