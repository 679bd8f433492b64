"""The scheduler's reminder jobs, and the same work done right after a request.

Jobs (bot/scheduler/passes.py runs them in this order, each `job(context, now) -> sent`,
with the time zone jobs of bot/scheduler/time_zone_jobs.py around the sending ones):
- sync_new_plans: reminder rows for plans written in bulk (import, copy);
- deliver_notifications: assignment / unassignment / done DMs and DM redraws that
  were not sent right after their request (Slack failed then, or the process died);
- send_item_reminders: due soon, overdue and snoozed reminders, one DM per person for
  everything due at once (at most REMINDERS_MAX items a DM; more go in several);
- send_weekly_summaries: Monday's list of open items.

Each sending job is bot/scheduler/sending.py's `send_due`: rows claimed in batches
under a lease, storage deciding what each needs, each DM sent once at Slack's pace.

A person from another organisation (Slack Connect) is told only of action items shown
to customers (shared, under a shared objective and strategy: ItemFacts.shared). Before
a DM that would tell of anything else goes out, `sending.outside_organisation` asks
(storage keeps what Slack said; users.info when it never said): theirs, the items they
may not see are left out of it, and a DM left with nothing is withheld (recorded, never
posted); when Slack cannot say, those items wait for a later pass. Reminders are the
exception: a customer's are not DMed to them at all (bot/scheduler/customer_reminders.py
posts them in the plan's customer channel, or tells the item's follow-up owner).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace

from slack_sdk import WebClient
from sqlalchemy import ColumnElement
from sqlalchemy.orm import Session, sessionmaker

from blocks import customer_items as customer_messages
from blocks import reminders as messages
from bot.config import Settings
from bot.scheduler import customer_reminders
from bot.scheduler.job_context import JobContext, by_turns
from bot.scheduler.sending import (
    CHECK_FAILED,
    MAX_BATCHES,
    Send,
    deliver_row,
    outside_or_wait,
    outside_organisation,
    post,
    post_grouped_dm,
    send_due,
)
from bot.scheduler.time_zone_jobs import fetch_time_zone
from bot.slack.dms import update_dm
from bot.slack.ratelimit import Unlimited
from storage import people, reminders
from storage.claims import begin_attempt
from storage.db import transaction
from storage.models import ItemReminder, Notification, NotificationKind, WeeklySummary, utcnow
from storage.reminder_calendar import zone

log = logging.getLogger(__name__)

# context.carry: reminder DMs that came due this pass (its report and /metrics count them)
DUE_COUNT = "reminder DMs due"


# ---------------------------------------------------------------------------
# Reminder rows for plans written in bulk


def sync_new_plans(context: JobContext, now: dt.datetime) -> int:
    for _ in range(MAX_BATCHES):
        with transaction(context.session_factory) as session:
            if not reminders.sync_new_plans(session):
                break
    return 0


# ---------------------------------------------------------------------------
# Item reminders


def send_item_reminders(context: JobContext, now: dt.datetime, *,
                        where: Sequence[ColumnElement[bool]] = ()) -> int:
    """Claims a person's due reminders together (storage.claims.claim_due_groups), so
    they go out as one DM however many passes run."""

    def counted(due: list[reminders.DueReminder]) -> list[list[reminders.DueReminder]]:
        dms = reminder_dms(due)
        context.carry[DUE_COUNT] = context.carry.get(DUE_COUNT, 0) + len(dms)
        return by_turns(dms, key=lambda dm: (dm[0].team_id, dm[0].user_id))

    return send_due(context, ItemReminder, now, prepare=reminders.prepare_item_reminders,
                    deliver=_deliver_reminders, dms=counted, where=where, group_by=("team_id", "assignee_id"))


def reminder_dms(due: Sequence[reminders.DueReminder]) -> list[list[reminders.DueReminder]]:
    """One DM per person (overdue first, then soonest due), or several of at most
    REMINDERS_MAX items."""
    by_person: dict[tuple[str, str], list[reminders.DueReminder]] = {}
    for reminder in due:
        by_person.setdefault((reminder.team_id, reminder.user_id), []).append(reminder)
    dms = []
    for person in by_person.values():
        person.sort(key=lambda r: (r.facts.due_date is None, r.facts.due_date, r.facts.item_id))
        for start in range(0, len(person), messages.REMINDERS_MAX):
            dms.append(person[start:start + messages.REMINDERS_MAX])
    return dms


def _reminders_message(dm: Sequence[reminders.DueReminder]) -> dict:
    if len(dm) == 1:
        (one,) = dm
        return messages.reminder_message(one.facts, one.kind.value, today=one.today,
                                         assigned_by=one.assigned_by)
    return messages.reminders_message([r.facts for r in dm], today=dm[0].today)


def _deliver_reminders(context: JobContext, dm: Sequence[reminders.DueReminder], *,
                       held_until: dt.datetime, now: dt.datetime) -> bool:
    """One DM for `dm`'s reminders (one person's); each row is recorded once, with the
    DM that carried it. Rows no longer held right before the send are left out of it.
    Rows whose earlier attempt ended unknown are first looked for in the DM (each row
    names itself in the DM's metadata): found, they are recorded with that DM, not sent
    again."""
    first = dm[0]
    with transaction(context.session_factory) as session:
        wall = utcnow()  # compared with Slack's message times if the outcome is lost
        going = [r for r in dm if begin_attempt(session, ItemReminder, r.row_id, held_until=held_until, now=wall)]
    if len(going) < len(dm):
        log.info("%d of %s's reminders no longer held by this pass; not sent", len(dm) - len(going), first.user_id)
    # A customer's items go to the plan's customer channel or their follow-up owner.
    going, elsewhere = customer_reminders.route(context, going, held_until=held_until, now=now,
                                                outside=outside_organisation)
    going = _shown_to(context, going, held_until=held_until, now=now)
    if not going:
        return elsewhere > 0
    channel, found, outcome = post_grouped_dm(context, going, _reminders_message, what="reminders")
    kept = 0
    with transaction(context.session_factory) as session:
        for reminder in going:
            if reminder.key in found:
                kept += reminders.record_reminder_sent(session, reminder, held_until=held_until, now=now,
                                                       channel=channel, ts=found[reminder.key])
            elif outcome.sent:
                kept += reminders.record_reminder_sent(session, reminder, held_until=held_until, now=now,
                                                       channel=outcome.channel, ts=outcome.ts)
            else:
                reminders.record_failure(
                    session, ItemReminder, reminder.row_id, held_until=held_until, now=now, error=outcome.error,
                    permanent=outcome.permanent, uncertain=outcome.uncertain, retry_after=outcome.retry_after)
    posted = len(going) - len(found)
    if posted and outcome.error:
        log.warning("%d reminders to %s not sent: %s (%s)", posted, first.user_id, outcome.error,
                    "for good" if outcome.permanent else "will retry")
    if (found or outcome.sent) and kept < len(going):
        log.info("%d reminders to %s changed while their DM went out; their new state stands",
                 len(going) - kept, first.user_id)
    return bool(found) or outcome.sent or elsewhere > 0


def _shown_to(context: JobContext, going: list[reminders.DueReminder], *, held_until: dt.datetime,
              now: dt.datetime) -> list[reminders.DueReminder]:
    """One person's reminders that may go to them: all for the account team; for a
    person from another organisation those shown to customers (the rest withheld);
    when Slack cannot say, the rest wait for a later pass."""
    hidden = [r for r in going if not r.facts.shared]
    if not hidden:
        return going
    outside = outside_organisation(context, going[0], going[0].external)
    if outside is False:
        return going
    with transaction(context.session_factory) as session:
        for reminder in hidden:
            if outside:
                reminders.record_reminder_withheld(session, reminder, held_until=held_until, now=now)
            else:
                reminders.record_failure(session, ItemReminder, reminder.row_id, held_until=held_until, now=now,
                                         error=CHECK_FAILED, permanent=False)
    log.info("%d reminders to %s %s", len(hidden), going[0].user_id,
             "withheld: from another organisation, items not shared" if outside else "wait: person check failed")
    return [r for r in going if r.facts.shared]


# ---------------------------------------------------------------------------
# Weekly summaries


def _summary_for(context: JobContext, summary: reminders.DueSummary, *, held_until: dt.datetime,
                 now: dt.datetime) -> reminders.DueSummary | None:
    """The summary as its person may see it (see _shown_to); None when none goes now."""
    if summary.all_shown:
        return summary
    outside = outside_or_wait(context, WeeklySummary, summary, held_until=held_until, now=now)
    if outside is False:
        return summary
    if outside is None:  # waits for a later pass
        return None
    with transaction(context.session_factory) as session:
        items, more = reminders.open_items_of(session, summary.team_id, summary.user_id,
                                              limit=reminders.SUMMARY_ITEMS_MAX, shared_only=True)
        if not items:
            reminders.record_summary_withheld(session, summary, held_until=held_until, now=now)
            return None
    return replace(summary, items=items, more=more)


def send_weekly_summaries(context: JobContext, now: dt.datetime) -> int:
    return send_due(context, WeeklySummary, now, prepare=reminders.prepare_summaries, deliver=_deliver_summary)


def _deliver_summary(context: JobContext, summary: reminders.DueSummary, *, held_until: dt.datetime,
                     now: dt.datetime) -> bool:
    summary = _summary_for(context, summary, held_until=held_until, now=now)
    if summary is None:
        return False
    message = messages.summary_message(summary.items, today=summary.today, more=summary.more)
    return deliver_row(
        context, WeeklySummary, summary, held_until=held_until, now=now, send=post(summary, message),
        record_sent=lambda session, outcome: reminders.record_summary_sent(
            session, summary, held_until=held_until, now=now, channel=outcome.channel, ts=outcome.ts))


# ---------------------------------------------------------------------------
# Notifications


def _channel_redrawn(note: reminders.DueNotification) -> dict:
    """A customer's reminder in the customer channel, redrawn: "done" for an item still
    shown to customers (it, its objective and its strategy shared); anything else (not
    shown any more, reassigned, deleted) a line naming nothing. No buttons either way."""
    facts = note.facts
    if note.details.get("state", "done") == "done" and facts is not None and facts.done and facts.shared:
        return customer_messages.channel_done(facts, actor=note.actor_id)
    return customer_messages.channel_closed()


def _notification_send(note: reminders.DueNotification) -> Send:
    facts, details = note.facts, note.details
    if note.kind == NotificationKind.DM_UPDATE and details.get("in_channel"):
        message = _channel_redrawn(note)
        return lambda client, throttle: update_dm(client, channel=details["channel"], ts=details["ts"],
                                                  message=message, throttle=throttle)
    if note.kind == NotificationKind.DM_UPDATE and note.group:
        message = _group_redrawn(note)
        return lambda client, throttle: update_dm(client, channel=details["channel"], ts=details["ts"],
                                                  message=message, throttle=throttle)
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
    return post(note, message)


@dataclass(frozen=True)
class _Gone:
    """What a redraw says of an item that was deleted."""

    item_id: int
    title: str
    plan_name: str | None
    due_date: None = None


def _group_redrawn(note: reminders.DueNotification) -> dict:
    """A DM listing several items, redrawn: this item's line closed (done, deleted,
    reassigned), the others as they are now (struck when done)."""
    details = note.details
    this = note.facts or _Gone(note.item_id or 0, details.get("title") or "An action item",
                               details.get("plan_name"))
    closed = {f.item_id: {"state": "done", "actor": None} for f in note.group if f.done}
    closed[this.item_id] = {"state": details.get("state", "done"), "actor": note.actor_id,
                            "to": details.get("to")}
    items = sorted([*note.group, this], key=lambda f: f.item_id)
    return messages.reminders_message(items, today=note.today, closed=closed)


def _note_for(context: JobContext, note: reminders.DueNotification, *, held_until: dt.datetime,
              now: dt.datetime) -> reminders.DueNotification | None:
    """The notification as its person may see it: about an item not shown to customers
    (or gone), none to a person from another organisation (withheld); a DM it redraws
    keeps only the items shown. None when none goes now. A redraw of a customer's
    reminder in the customer channel goes to no person: it says only what the channel
    may see (_channel_redrawn)."""
    if note.kind == NotificationKind.DM_UPDATE and note.details.get("in_channel"):
        return note
    about_hidden = note.facts is None or not note.facts.shared
    if not about_hidden and all(f.shared for f in note.group):
        return note
    outside = outside_or_wait(context, Notification, note, held_until=held_until, now=now)
    if outside is False:
        return note
    if outside is None:  # waits for a later pass
        return None
    if about_hidden:
        with transaction(context.session_factory) as session:
            reminders.record_notification_withheld(session, note.row_id, held_until=held_until)
        log.info("%s to %s withheld: from another organisation, item not shared", note.key, note.user_id)
        return None
    return replace(note, group=tuple(f for f in note.group if f.shared))


def deliver_notifications(context: JobContext, now: dt.datetime, *,
                          where: Sequence[ColumnElement[bool]] = ()) -> int:
    return send_due(context, Notification, now, prepare=reminders.prepare_notifications,
                    deliver=_deliver_notification, where=where,
                    dms=lambda due: by_turns(due, key=lambda n: (n.team_id, n.user_id)))


def _deliver_notification(context: JobContext, note: reminders.DueNotification, *, held_until: dt.datetime,
                          now: dt.datetime) -> bool:
    note = _note_for(context, note, held_until=held_until, now=now)
    if note is None:
        return False
    return deliver_row(
        context, Notification, note, held_until=held_until, now=now, send=_notification_send(note),
        record_sent=lambda session, outcome: reminders.record_notification_sent(
            session, note.row_id, held_until=held_until, now=now, channel=outcome.channel, ts=outcome.ts,
            default_tz=context.default_timezone))


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
