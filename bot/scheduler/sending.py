"""How the scheduler's DM jobs send (bot/scheduler/reminder_jobs.py's reminders,
summaries and notifications, bot/scheduler/checkin_jobs.py's check-ins).

Each sending job claims due rows in batches (storage.claims: a lease, committed before
anything is sent), lets storage decide in one transaction what each row needs (most
only move on: storage.reminders.prepare_*, storage.checkins.prepare_checkins), then
sends the DMs on a few threads, every Web API call first taking a slot from the rate
limiter, and records each outcome under the lease (`send_due`). Right before each send
`begin_attempt` checks that the lease is still this pass's and notes the attempt: a
pass whose lease ran out, or a row that changed meanwhile, sends nothing, and a send
whose outcome is unknown is looked for in the DM before it is tried again
(bot/slack/dms.py). So each DM goes out once.

Whether a person belongs to another organisation (Slack Connect) is asked here too
(`outside_organisation`: storage keeps what Slack said; users.info when it never said).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import partial

from slack_sdk import WebClient
from sqlalchemy import ColumnElement
from sqlalchemy.orm import Session

from bot.scheduler.job_context import JobContext
from bot.slack.dms import Outcome, Throttle, channel_of, find_posted_keys, outcome_of, post_dm
from bot.slack.users import from_elsewhere
from bot.slack.workspaces import NotInstalled
from storage import people, reminders
from storage.claims import begin_attempt, claim_due, claim_due_groups, lease_end
from storage.db import transaction
from storage.models import utcnow

log = logging.getLogger(__name__)

LEASE = dt.timedelta(minutes=10)  # a batch is sent well within it, even paused by 429s
# A batch is a few seconds of sending at Slack's pace: claiming more would only make
# other instances wait for rows this one cannot send yet.
BATCH = 25
MAX_BATCHES = 2000  # per job and pass: 50,000 DMs; the next pass goes on
# The error a row waits with when Slack could not say whether its person belongs to
# another organisation (the row is tried again later, like any passing error).
CHECK_FAILED = "person_check_failed"

Send = Callable[[WebClient, Throttle], Outcome]
RecordSent = Callable[[Session, Outcome], bool]


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


def outside_or_wait(context: JobContext, model, out: reminders.Outgoing, *, held_until: dt.datetime,
                    now: dt.datetime) -> bool | None:
    """outside_organisation for the person of `out`, one row of `model`; when Slack
    cannot say (None), the row waits for a later pass, like any passing error."""
    outside = outside_organisation(context, out, out.external)
    if outside is None:
        with transaction(context.session_factory) as session:
            reminders.record_failure(session, model, out.row_id, held_until=held_until, now=now,
                                     error=CHECK_FAILED, permanent=False)
    return outside


# ---------------------------------------------------------------------------
# A sending job


def send_due(context: JobContext, model, now: dt.datetime, *, prepare: Callable, deliver: Callable,
             dms: Callable[[list], Sequence] = list, where: Sequence[ColumnElement[bool]] = (),
             group_by: tuple[str, str] | None = None) -> int:
    """A sending job: `model`'s due rows claimed a batch at a time (with `group_by`, all
    of a person's due rows in the same batch: storage.claims.claim_due_groups), storage's
    `prepare(session, ids, now=, default_tz=, held_until=)` in one transaction, then
    `deliver(context, dm, held_until=, now=) -> sent` for each of `dms(prepared)` on the
    context's threads. How many were sent."""
    sent = 0
    for _ in range(MAX_BATCHES):
        if group_by is None:
            ids = claim_due(context.session_factory, model, now=now, lease=LEASE, limit=BATCH, where=where)
        else:
            ids = claim_due_groups(context.session_factory, model, now=now, lease=LEASE, group_by=group_by,
                                   limit=BATCH, where=where)
        if not ids:
            break
        held = lease_end(now, LEASE)
        with transaction(context.session_factory) as session:
            due = prepare(session, ids, now=now, default_tz=context.default_timezone, held_until=held)
        sent += context.each(partial(deliver, context, held_until=held, now=now), dms(due))
    return sent


# ---------------------------------------------------------------------------
# One DM


def deliver_row(context: JobContext, model, out: reminders.Outgoing, *, held_until: dt.datetime,
                now: dt.datetime, send: Send, record_sent: RecordSent) -> bool:
    """One row's message: the attempt begun (or nothing sent: no longer held), `send`,
    then the outcome recorded under the lease (`record_sent`, or a failure)."""
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


def post(out: reminders.Outgoing, message: dict) -> Send:
    """Posting `message` as `out`'s DM (looked for first when an earlier attempt may have posted it)."""
    return lambda client, throttle: post_dm(
        client, user_id=out.user_id, message=message, key=out.key, dm_channel=out.dm_channel,
        maybe_sent_since=out.maybe_sent_since, throttle=throttle)


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
