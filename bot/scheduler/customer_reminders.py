"""Reminders of customer-owned action items: in the plan's customer channel, or to the
item's follow-up owner.

bot/scheduler/reminder_jobs.py hands each person's due reminders here first (`route`),
after their rows' attempts are begun. Reminders of a person from another organisation
(a Slack Connect user: storage.people keeps what Slack said, users.info asks when it
never said, once a person: the answer is kept; a check that fails counts as another
organisation) are the customer's and never go to them by DM:

- an item shown to customers (it, its objective and its strategy shared) in a plan
  with a customer channel: one message in that channel per item, mentioning the
  person, with "Mark done" and "Need more time" (bot/listeners/customer_items.py); the
  row keeps that message, which "done" redraws;
- otherwise (no customer channel, or an item the customer may not see): one DM to the
  item's follow-up owner saying whose item it is and why it was not posted there.

Each goes at Slack's pace (the rate limiter's slot for chat.postMessage in that
channel) and counts as the reminder of its day, in the customer's time zone (the row
is theirs). The reminders of a team member (items of a customer contact without
Slack included: the follow-up owner is their assignee) go on as DMs.

A channel post whose outcome was lost is not looked for before it is posted again
(the app cannot read channel history: no channels:history scope), so such a post may
come twice; a DM to the follow-up owner likewise.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable, Sequence
from functools import partial

from blocks import customer_items as messages
from bot.scheduler.job_context import JobContext
from bot.slack.dms import Outcome, post_dm
from bot.slack.workspaces import NotInstalled
from storage import reminders
from storage.db import transaction
from storage.models import ItemReminder

log = logging.getLogger(__name__)

# sending.outside_organisation, passed in by bot/scheduler/reminder_jobs.py.
Outside = Callable[[JobContext, reminders.Outgoing, "bool | None"], "bool | None"]


def route(context: JobContext, going: list[reminders.DueReminder], *, held_until: dt.datetime,
          now: dt.datetime, outside: Outside) -> tuple[list[reminders.DueReminder], int]:
    """One person's reminders: those that stay DMs to them, and how many messages went
    elsewhere (their customer items, as the module docstring says)."""
    if not going or going[0].external is False:  # the team's (storage knows): DMs as ever
        return going, 0
    # Not known to be the team's: Slack is asked (and the answer kept), whatever the
    # items, so a customer's reminder never goes to them as a DM by default.
    external = outside(context, going[0], going[0].external)
    if external is False:  # the team's: DMs as ever, and nobody asks Slack again
        return [dataclasses.replace(r, external=False) for r in going], 0
    if external is None:  # a failed check is external: no DM to them, the customer's way
        log.info("whether %s is a customer is unknown: their %d reminders go as a customer's",
                 going[0].user_id, len(going))
    sent = 0
    for reminder in going:
        if reminder.facts.customer_channel and reminder.facts.shared:
            sent += _post_in_channel(context, reminder, held_until=held_until, now=now)
    for why, rows in ((messages.NO_CHANNEL, [r for r in going if not r.facts.customer_channel]),
                      (messages.NOT_SHARED, [r for r in going if r.facts.customer_channel and not r.facts.shared])):
        by_follow_up: dict[str | None, list[reminders.DueReminder]] = {}
        for reminder in rows:
            by_follow_up.setdefault(reminder.facts.follow_up_id, []).append(reminder)
        for follow_up, theirs in by_follow_up.items():
            # As many DMs as it takes: each row is recorded with the DM that showed it.
            for start in range(0, len(theirs), messages.FOLLOW_UP_ITEMS_MAX):
                sent += _tell_follow_up(context, follow_up, theirs[start:start + messages.FOLLOW_UP_ITEMS_MAX],
                                        why, held_until=held_until, now=now)
    return [], sent


def _send(context: JobContext, team_id: str, send: Callable) -> Outcome:
    try:
        outcome = send(context.client_for_team(team_id), partial(context.limiter.acquire, team_id))
    except NotInstalled:
        outcome = Outcome(error="not_installed", permanent=True)
    except Exception:  # noqa: BLE001 - a bug or a failed token refresh: later, carefully
        log.exception("a customer item's reminder: sending failed")
        outcome = Outcome(error="internal_error", uncertain=True)
    if outcome.error == "ratelimited":
        context.limiter.pause(team_id, outcome.retry_after or 1.0)
    return outcome


def _failed(session, reminder: reminders.DueReminder, outcome: Outcome, *, held_until: dt.datetime,
            now: dt.datetime) -> None:
    reminders.record_failure(session, ItemReminder, reminder.row_id, held_until=held_until, now=now,
                             error=outcome.error, permanent=outcome.permanent, uncertain=outcome.uncertain,
                             retry_after=outcome.retry_after)
    log.warning("%s not sent: %s (%s)", reminder.key, outcome.error,
                "for good" if outcome.permanent else "will retry")


def _post_in_channel(context: JobContext, reminder: reminders.DueReminder, *, held_until: dt.datetime,
                     now: dt.datetime) -> int:
    """One message in the customer channel for one item shown to customers."""
    channel = reminder.facts.customer_channel
    message = messages.channel_reminder(reminder.facts, reminder.kind.value, today=reminder.today)
    outcome = _send(context, reminder.team_id, lambda client, throttle: post_dm(
        client, user_id=channel, message=message, key=reminder.key, dm_channel=channel, throttle=throttle))
    with transaction(context.session_factory) as session:
        if outcome.sent:
            reminders.record_reminder_sent(session, reminder, held_until=held_until, now=now,
                                           channel=outcome.channel or channel, ts=outcome.ts, dm=False)
        else:
            _failed(session, reminder, outcome, held_until=held_until, now=now)
    return int(outcome.sent)


def _tell_follow_up(context: JobContext, follow_up: str | None, rows: Sequence[reminders.DueReminder],
                    why: str, *, held_until: dt.datetime, now: dt.datetime) -> int:
    """One DM to the follow-up owner for a customer's items that may not go to the
    channel; with nobody to tell (no follow-up owner at all) the rows stop, saying so."""
    first = rows[0]
    if not follow_up:
        outcome = Outcome(error="no_follow_up_owner", permanent=True)
    else:
        message = messages.follow_up_reminder([r.facts for r in rows], customer=first.user_id, why=why,
                                              today=first.today)
        outcome = _send(context, first.team_id, lambda client, throttle: post_dm(
            client, user_id=follow_up, message=message, key=first.key,
            keys=[r.key for r in rows] if len(rows) > 1 else None, throttle=throttle))
    with transaction(context.session_factory) as session:
        for reminder in rows:
            if outcome.sent:
                reminders.record_reminder_forwarded(session, reminder, held_until=held_until, now=now)
            else:
                _failed(session, reminder, outcome, held_until=held_until, now=now)
    return int(outcome.sent)
