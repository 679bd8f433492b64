"""Posting digests: check the channel, render, post, record.

Every digest, whatever asked for it (the `digest` subcommand, the "Post digest"
button, a schedule, a QBR), goes through `post_digest`:

1. ask Slack now who reads the channel (bot/slack/channels.py: shared with another
   organisation, or unknown → external);
2. gather the content for that audience (storage/digests.py filters team-only parts
   out in the query) and render it (blocks/digest.py);
3. post the summary, then the rest in its thread;
4. record the DigestPost ("since the last digest" starts there next time).

No database transaction is open while Slack is called. The scheduled jobs
(`run_due_digests`, `run_qbr_nudges`) are called as `job(context, now)` (a context with
`.session_factory` and `.client_for_team`, like the scheduler's) or as
`job(settings, session_factory, client_for_team, now)`, and return how many messages
they sent; several scheduler passes may run at once (storage.claims leases), and
nothing is sent twice.

Scheduled digests go out only for active plans: a draft is not ready for readers, and a
completed or archived plan has nothing new to say. Its subscriptions keep their
schedule and resume when the plan is active again; digests on demand and after a QBR
work for a plan in any state, because a person asked for them.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy.orm import Session, sessionmaker

from blocks import digest as digest_blocks
from bot.slack.channels import ChannelCheck, check_channel, withdraw_team_canvas
from bot.slack.errors import TRANSIENT_ERRORS, error_code, explain
from storage import digests, plans
from storage.claims import claim_due
from storage.db import transaction
from storage.models import (
    Audience,
    DigestReason,
    DigestSubscription,
    PlanStatus,
    utcnow,
)

log = logging.getLogger(__name__)

LEASE = dt.timedelta(minutes=10)  # one pass's hold on a due subscription
RETRY_AFTER = dt.timedelta(minutes=30)  # a passing failure is tried again this much later

ClientForTeam = Callable[[str], WebClient]


@dataclass(frozen=True)
class Posted:
    """What became of one digest (or canvas link) in one channel."""

    channel_id: str
    audience: Audience
    ts: str = ""
    error: str = ""  # Slack's error code, "" when it was posted

    @property
    def ok(self) -> bool:
        return not self.error

    @property
    def permanent(self) -> bool:
        return bool(self.error) and self.error not in TRANSIENT_ERRORS


def refusal(check: ChannelCheck) -> str:
    """Why not to try posting at all, from what conversations.info said ("" = go on)."""
    if check.is_archived:
        return "is_archived"
    if not check.error and check.is_private and not check.is_member:
        return "not_in_channel"
    return ""


def today_in(timezone: str | None, now: dt.datetime) -> dt.date:
    try:
        return now.astimezone(ZoneInfo(timezone or "UTC")).date()
    except (ValueError, KeyError):
        return now.astimezone(dt.timezone.utc).date()


def user_timezone(client: WebClient, user_id: str, default: str = "UTC") -> str:
    """A person's Slack time zone (their "today" for due dates), else `default`."""
    try:
        return client.users_info(user=user_id)["user"].get("tz") or default
    except (SlackApiError, SlackClientError, OSError, KeyError, TypeError):
        return default


def post_messages(client: WebClient, channel_id: str, messages: list[dict]) -> tuple[str, str, str]:
    """Post the first message and the rest in its thread: (channel, ts, error).

    A failing reply is logged and ends the thread; the summary is already out.
    """
    try:
        response = client.chat_postMessage(channel=channel_id, unfurl_links=False,
                                           unfurl_media=False, **messages[0])
    except (SlackApiError, SlackClientError, OSError) as error:
        return channel_id, "", error_code(error)
    channel, ts = response.get("channel") or channel_id, response["ts"]
    for reply in messages[1:]:
        try:
            client.chat_postMessage(channel=channel, thread_ts=ts, unfurl_links=False,
                                    unfurl_media=False, **reply)
        except (SlackApiError, SlackClientError, OSError) as error:
            log.warning("digest thread in %s cut short: %s", channel, error_code(error))
            break
    return channel, ts, ""


def post_digest(
    client: WebClient,
    session_factory: sessionmaker[Session],
    *,
    team_id: str,
    plan_id: int,
    channel_id: str,
    reason: DigestReason,
    posted_by: str | None,
    timezone: str = "UTC",
    review_id: int | None = None,
    now: dt.datetime | None = None,
) -> Posted:
    """Post one plan's digest to one channel, for whoever reads that channel now."""
    now = now or utcnow()
    check = check_channel(client, channel_id)
    refused = refusal(check)
    if refused:
        return Posted(channel_id, check.audience, error=refused)
    if check.external:
        withdraw_team_canvas(client, session_factory, plan_id, channel_id)
    with transaction(session_factory) as session:
        since = digests.since_for(session, plan_id, channel_id, now=now, exclude_review=review_id)
        content = digests.digest_content(
            session, team_id, plan_id, audience=check.audience, since=since,
            today=today_in(timezone, now), review_id=review_id,
        )
        messages = digest_blocks.digest_messages(content)
    channel, ts, error = post_messages(client, channel_id, messages)
    if error:
        return Posted(channel_id, check.audience, error=error)
    with transaction(session_factory) as session:
        digests.record_post(session, team_id=team_id, plan_id=plan_id, channel_id=channel,
                            message_ts=ts, reason=reason, audience=check.audience,
                            posted_by=posted_by, now=now)
    return Posted(channel, check.audience, ts=ts)


# ---------------------------------------------------------------------------
# After a QBR


def after_qbr(
    client: WebClient,
    session_factory: sessionmaker[Session],
    *,
    team_id: str,
    plan_id: int,
    review_id: int,
    posted_by: str,
    timezone: str = "UTC",
) -> list[Posted]:
    """Post the QBR digest to every channel that wants one, then ask the owner (DM) to
    review the objectives against the decisions. Returns what became of each channel."""
    with transaction(session_factory) as session:
        channels = [(s.id, s.channel_id) for s in digests.qbr_subscriptions(session, team_id, plan_id)]
        plan = plans.get_plan(session, team_id, plan_id)
        review = next(r for r in plan.reviews if r.id == review_id)
        dm = digest_blocks.qbr_review_dm(plan, review)
        owner = plan.owner_id
    results = []
    for subscription_id, channel_id in channels:
        posted = post_digest(client, session_factory, team_id=team_id, plan_id=plan_id,
                             channel_id=channel_id, reason=DigestReason.QBR, posted_by=posted_by,
                             timezone=timezone, review_id=review_id)
        if posted.error and posted.permanent:
            with transaction(session_factory) as session:
                digests.record_failed(session, subscription_id, explain(posted.error), permanent=True)
        results.append(posted)
    try:
        client.chat_postMessage(channel=owner, **dm)
    except (SlackApiError, SlackClientError, OSError) as error:
        log.warning("QBR review DM to %s not sent: %s", owner, error_code(error))
    return results


# ---------------------------------------------------------------------------
# Scheduled jobs


def _job_arguments(args: tuple) -> tuple[sessionmaker[Session], ClientForTeam, dt.datetime]:
    """(session_factory, client_for_team, now) from either calling convention:

        job(context, now)                                      the scheduler's jobs: a
            context with .session_factory and .client_for_team (bot/scheduler/job_context.py JobContext)
        job(settings, session_factory, client_for_team, now)   plain arguments
    """
    if len(args) == 2:
        context, now = args
        return context.session_factory, context.client_for_team, now
    _settings, session_factory, client_for_team, now = args
    return session_factory, client_for_team, now


def run_due_digests(*args) -> int:
    """Post every scheduled digest due at `now`; returns how many were posted.

    Called as `run_due_digests(context, now)` or
    `run_due_digests(settings, session_factory, client_for_team, now)`.

    Each due subscription is leased first (storage.claims), so concurrent passes share
    the work. After posting: a DigestPost, last_sent_at, the next slot, lease cleared.
    A permanent Slack error (channel gone, app removed, archived) stops the subscription
    with the reason in last_error, shown in the Digest settings modal; a passing one
    (rate limits, Slack down) is tried again after RETRY_AFTER.
    """
    session_factory, client_for_team, now = _job_arguments(args)
    posted_count = 0
    lease_end = now + LEASE  # what claim_due wrote into locked_until
    for subscription_id in claim_due(session_factory, DigestSubscription, now=now, lease=LEASE):
        with transaction(session_factory) as session:
            # Still ours? (A pass slower than its lease may have lost it; see held().)
            subscription = digests.held(session, subscription_id, lease_end)
            if subscription is None:
                continue
            plan = plans.get_plan(session, subscription.team_id, subscription.plan_id)
            if plan.status != PlanStatus.ACTIVE:
                digests.record_skipped(session, subscription_id, now=now, held_until=lease_end)
                continue
            job = (subscription.team_id, subscription.plan_id, subscription.channel_id,
                   subscription.timezone)
        team_id, plan_id, channel_id, timezone = job
        try:
            posted = post_digest(client_for_team(team_id), session_factory, team_id=team_id,
                                 plan_id=plan_id, channel_id=channel_id, reason=DigestReason.SCHEDULED,
                                 posted_by=None, timezone=timezone, now=now)
        except Exception:  # noqa: BLE001 - one broken digest must not stop the others
            log.exception("scheduled digest %s failed", subscription_id)
            posted = Posted(channel_id, Audience.EXTERNAL, error="internal_error")
        with transaction(session_factory) as session:
            if posted.ok:
                digests.record_sent(session, subscription_id, now=now, held_until=lease_end)
                posted_count += 1
            else:
                digests.record_failed(session, subscription_id, explain(posted.error),
                                      permanent=posted.permanent, retry_at=now + RETRY_AFTER,
                                      held_until=lease_end)
    return posted_count


def run_qbr_nudges(*args) -> int:
    """DM the owner of every active plan with no QBR for its reminder period (once a
    period; see storage.digests.claim_qbr_nudges). Returns how many were sent.

    Called like run_due_digests. A reminder Slack could not take for now (rate limits,
    server errors, no answer) is released for a later pass; one Slack refuses for good
    (the owner is gone, the app uninstalled) or that failed on a bug stays claimed, so it
    is not retried every pass until the next period.
    """
    session_factory, client_for_team, now = _job_arguments(args)
    with transaction(session_factory) as session:
        nudges = digests.claim_qbr_nudges(session, now=now)
    sent = 0
    for nudge in nudges:
        message = digest_blocks.qbr_nudge_dm(nudge.plan_id, nudge.name, due=nudge.due,
                                             last_review=nudge.last_review)
        try:
            client = client_for_team(nudge.team_id)
        except Exception as error:  # noqa: BLE001 - not installed, or its token not refreshed yet
            log.info("QBR reminder for plan %s waits: no Slack client for %s (%s)", nudge.plan_id,
                     nudge.team_id, type(error).__name__)
            with transaction(session_factory) as session:
                digests.release_qbr_nudge(session, nudge)
            continue
        try:
            client.chat_postMessage(channel=nudge.owner_id, **message)
            sent += 1
        except (SlackApiError, SlackClientError, OSError) as error:
            code = error_code(error)
            if code not in TRANSIENT_ERRORS:
                log.warning("QBR reminder for plan %s refused (%s): not retried this period",
                            nudge.plan_id, code)
                continue
            log.info("QBR reminder for plan %s not sent yet (%s): retried next pass", nudge.plan_id, code)
            with transaction(session_factory) as session:
                digests.release_qbr_nudge(session, nudge)
        except Exception:  # noqa: BLE001 - one failed reminder must not stop the others
            log.exception("QBR reminder for plan %s failed: not retried this period", nudge.plan_id)
    return sent
