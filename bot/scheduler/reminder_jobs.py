"""The scheduler's reminder jobs, and the same work done right after a request.

Jobs (bot/scheduler/passes.py runs them in this order, each `job(context, now) -> sent`,
with the time zone jobs of bot/scheduler/time_zone_jobs.py around the sending ones):
- sync_new_plans: reminder rows for plans written in bulk (import, copy);
- deliver_notifications: assignment / unassignment / done DMs and DM redraws that
  were not sent right after their request (Slack failed then, or the process died);
- send_item_reminders: due soon, overdue and snoozed reminders, one DM per person for
  everything due at once (at most REMINDERS_MAX items a DM; more go in several);
- send_weekly_summaries: Monday's list of open items.

Each sending job claims due rows in batches (storage.claims: a lease, committed before
anything is sent), lets storage decide in one transaction what each row needs (most
only move on: storage.reminders.prepare_*), then sends the DMs on a few threads,
every Web API call first taking a slot from the rate limiter, and records each outcome
under the lease. Right before each send `begin_attempt` checks that the lease is still
this pass's and notes the attempt: a pass whose lease ran out, or a row that changed
meanwhile, sends nothing, and a send whose outcome is unknown is looked for in the DM
before it is tried again (bot/slack/dms.py). So each DM goes out once.

A person from another organisation (Slack Connect) is told only of action items shown
to customers (shared, under a shared objective and strategy: ItemFacts.shared). Before
a DM that would tell of anything else goes out, `outside_organisation` asks (storage
keeps what Slack said; users.info when it never said): theirs, the items they may not
see are left out of it, and a DM left with nothing is withheld (recorded, never
posted); when Slack cannot say, those items wait for a later pass. Reminders are the
exception: a customer's are not DMed to them at all (bot/scheduler/customer_reminders.py
posts them in the plan's customer channel, or tells the item's follow-up owner).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import partial

from slack_sdk import WebClient
from sqlalchemy import ColumnElement
from sqlalchemy.orm import Session, sessionmaker

from blocks import customer_items as customer_messages
from blocks import reminders as messages
from bot.config import Settings
from bot.scheduler import customer_reminders
from bot.scheduler.job_context import JobContext, by_turns
from bot.scheduler.time_zone_jobs import fetch_time_zone
from bot.slack.dms import Outcome, Throttle, channel_of, find_posted_keys, outcome_of, post_dm, update_dm
from bot.slack.ratelimit import Unlimited
from bot.slack.users import from_elsewhere
from bot.slack.workspaces import NotInstalled
from storage import people, reminders
from storage.claims import begin_attempt, claim_due, claim_due_groups, lease_end
from storage.db import transaction
from storage.models import ItemReminder, Notification, NotificationKind, WeeklySummary, utcnow
from storage.reminder_calendar import zone

log = logging.getLogger(__name__)

LEASE = dt.timedelta(minutes=10)  # a batch is sent well within it, even paused by 429s
# A batch is a few seconds of sending at Slack's pace: claiming more would only make
# other instances wait for rows this one cannot send yet.
BATCH = 25
MAX_BATCHES = 2000  # per job and pass: 50,000 DMs; the next pass goes on
# context.carry: reminder DMs that came due this pass (its report and /metrics count them)
DUE_COUNT = "reminder DMs due"
# The error a row waits with when Slack could not say whether its person belongs to
# another organisation (the row is tried again later, like any passing error).
CHECK_FAILED = "person_check_failed"

Send = Callable[[WebClient, Throttle], Outcome]
RecordSent = Callable[[Session, Outcome], bool]


# ---------------------------------------------------------------------------
# Reminder rows for plans written in bulk


def sync_new_plans(context: JobContext, now: dt.datetime) -> int:
    for _ in range(MAX_BATCHES):
        with transaction(context.session_factory) as session:
            if not reminders.sync_new_plans(session):
                break
    return 0


# ---------------------------------------------------------------------------
# People from another organisation


def outside_organisation(context: JobContext, out: reminders.Outgoing, known: bool | None) -> bool | None:
    """Whether the person `out` goes to belongs to another organisation: `known` (what
    storage kept), else users.info's answer (kept from now on). None: Slack could not say."""
    if known is not None:
        return known
    try:
        client = context.client_for_team(out.team_id)
    except NotInstalled:
        return False  # nothing goes to anyone there: sending says so (not_installed, for good)
    try:
        context.limiter.acquire(out.team_id, "users.info")
        user = client.users_info(user=out.user_id)["user"]
    except Exception as error:  # noqa: BLE001 - Slack's error or a bug: cannot say
        log.info("%s: whether %s is from another organisation is unknown (%s)", out.key, out.user_id,
                 type(error).__name__)
        return None
    external = from_elsewhere(user, out.team_id)
    with transaction(context.session_factory) as session:
        people.record_organisation(session, out.team_id, out.user_id, external)
    return external


def _wait_for_check(context: JobContext, model, row_id: int, *, held_until: dt.datetime, now: dt.datetime) -> None:
    with transaction(context.session_factory) as session:
        reminders.record_failure(session, model, row_id, held_until=held_until, now=now, error=CHECK_FAILED,
                                 permanent=False)


# ---------------------------------------------------------------------------
# Sending
def post_grouped_dm(context: JobContext, going: Sequence, message_of: Callable[[list], dict], *,
                    what: str) -> tuple[str | None, dict[str, str], Outcome]:
    """One DM to one person carrying the rows `going` (each with key, user_id, team_id,
    dm_channel, maybe_sent_since): rows whose DM an earlier attempt may have posted are
    looked for first (found: {key: ts}, not posted again), the rest go in one message.
    Returns (channel, found, outcome); a 429 pauses the workspace for every pass."""
    first = going[0]
    channel, found, outcome = first.dm_channel, {}, Outcome(error="internal_error", uncertain=True)
    try:
        client = context.client_for_team(first.team_id)
        throttle = partial(context.limiter.acquire, first.team_id)
        earlier = [r for r in going if r.maybe_sent_since is not None]
        if earlier:
            channel = channel or channel_of(client, first.user_id, throttle)
            found = find_posted_keys(client, channel=channel, keys=[r.key for r in earlier],
                                     since=min(r.maybe_sent_since for r in earlier), throttle=throttle)
            if found:
                log.info("%d %s to %s had arrived before their answer was lost: not posted again",
                         len(found), what, first.user_id)
        posting = [r for r in going if r.key not in found]
        if posting:
            outcome = post_dm(client, user_id=first.user_id, message=message_of(posting),
                              key=posting[0].key, keys=[r.key for r in posting] if len(posting) > 1 else None,
                              dm_channel=channel, throttle=throttle)
    except NotInstalled:
        outcome = Outcome(error="not_installed", permanent=True)
    except Exception as error:  # noqa: BLE001 - the lookup failed, or a bug / a failed token refresh
        try:
            failed = outcome_of(error)
        except Exception:  # noqa: BLE001 - not Slack's: later, carefully
            log.exception("%s to %s: sending failed", what, first.user_id)
            failed = Outcome(error="internal_error")
        outcome = replace(failed, uncertain=True)  # an earlier attempt's DM is looked for again
    if outcome.error == "ratelimited":
        context.limiter.pause(first.team_id, outcome.retry_after or 1.0)
    return channel, found, outcome



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
    """Claims a person's due reminders together (storage.claims.claim_due_groups), so
    they go out as one DM however many passes run."""
    sent = 0
    for _ in range(MAX_BATCHES):
        ids = claim_due_groups(context.session_factory, ItemReminder, now=now, lease=LEASE,
                               limit=BATCH, where=where)
        if not ids:
            break
        held = lease_end(now, LEASE)
        with transaction(context.session_factory) as session:
            due = reminders.prepare_item_reminders(session, ids, now=now, held_until=held,
                                                   default_tz=context.default_timezone)
        dms = reminder_dms(due)
        context.carry[DUE_COUNT] = context.carry.get(DUE_COUNT, 0) + len(dms)
        sent += context.each(partial(_deliver_reminders, context, held_until=held, now=now),
                             by_turns(dms, key=lambda dm: (dm[0].team_id, dm[0].user_id)))
    return sent


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


def _summary_for(context: JobContext, summary: reminders.DueSummary, *, held_until: dt.datetime,
                 now: dt.datetime) -> reminders.DueSummary | None:
    """The summary as its person may see it (see _shown_to); None when none goes now."""
    if summary.all_shown:
        return summary
    outside = outside_organisation(context, summary, summary.external)
    if outside is False:
        return summary
    if outside is None:
        _wait_for_check(context, WeeklySummary, summary.row_id, held_until=held_until, now=now)
        return None
    with transaction(context.session_factory) as session:
        items, more = reminders.open_items_of(session, summary.team_id, summary.user_id,
                                              limit=reminders.SUMMARY_ITEMS_MAX, shared_only=True)
        if not items:
            reminders.record_summary_withheld(session, summary, held_until=held_until, now=now)
            return None
    return replace(summary, items=items, more=more)


def send_weekly_summaries(context: JobContext, now: dt.datetime) -> int:
    sent = 0
    for ids, held in _batches(context, WeeklySummary, now, ()):
        with transaction(context.session_factory) as session:
            due = reminders.prepare_summaries(session, ids, now=now, held_until=held,
                                              default_tz=context.default_timezone)

        def one(summary: reminders.DueSummary, held=held) -> bool:
            summary = _summary_for(context, summary, held_until=held, now=now)
            if summary is None:
                return False
            message = messages.summary_message(summary.items, today=summary.today, more=summary.more)
            return _deliver(
                context, WeeklySummary, summary, held_until=held, now=now, send=_post(summary, message),
                record_sent=lambda session, outcome: reminders.record_summary_sent(
                    session, summary, held_until=held, now=now, channel=outcome.channel, ts=outcome.ts))

        sent += context.each(one, due)
    return sent


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
    return _post(note, message)


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
    outside = outside_organisation(context, note, note.external)
    if outside is False:
        return note
    if outside is None:
        _wait_for_check(context, Notification, note.row_id, held_until=held_until, now=now)
        return None
    if about_hidden:
        with transaction(context.session_factory) as session:
            reminders.record_notification_withheld(session, note.row_id, held_until=held_until)
        log.info("%s to %s withheld: from another organisation, item not shared", note.key, note.user_id)
        return None
    return replace(note, group=tuple(f for f in note.group if f.shared))


def deliver_notifications(context: JobContext, now: dt.datetime, *,
                          where: Sequence[ColumnElement[bool]] = ()) -> int:
    sent = 0
    for ids, held in _batches(context, Notification, now, where):
        with transaction(context.session_factory) as session:
            due = reminders.prepare_notifications(session, ids, now=now, held_until=held,
                                                  default_tz=context.default_timezone)

        def one(note: reminders.DueNotification, held=held) -> bool:
            note = _note_for(context, note, held_until=held, now=now)
            if note is None:
                return False
            return _deliver(
                context, Notification, note, held_until=held, now=now, send=_notification_send(note),
                record_sent=lambda session, outcome: reminders.record_notification_sent(
                    session, note.row_id, held_until=held, now=now, channel=outcome.channel, ts=outcome.ts,
                    default_tz=context.default_timezone))

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
