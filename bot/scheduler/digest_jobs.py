"""The scheduler's digest jobs: scheduled digests and QBR nudges, each
`job(context, now) -> messages sent` like every job of the pass (bot/scheduler/passes.py).

Each claims what is due at `now` (storage.claims leases, storage.digests' claims), so
several scheduler passes may run at once and nothing is sent twice. Posting a digest
is bot/publishing/digest_posts.py's, the same for every path.

Scheduled digests go out only for active plans: a draft is not ready for readers, and a
completed or archived plan has nothing new to say. Its subscriptions keep their
schedule and resume when the plan is active again.
"""

from __future__ import annotations

import datetime as dt
import logging

from slack_sdk.errors import SlackApiError, SlackClientError

from blocks import digest as digest_blocks
from bot.publishing.digest_posts import Posted, post_digest
from bot.scheduler.job_context import JobContext
from bot.slack.errors import TRANSIENT_ERRORS, error_code, explain
from storage import digests, plans
from storage.claims import claim_due
from storage.db import transaction
from storage.models import Audience, DigestReason, DigestSubscription, PlanStatus

log = logging.getLogger(__name__)

LEASE = dt.timedelta(minutes=10)  # one pass's hold on a due subscription
RETRY_AFTER = dt.timedelta(minutes=30)  # a passing failure is tried again this much later


def run_due_digests(context: JobContext, now: dt.datetime) -> int:
    """Post every scheduled digest due at `now`; returns how many were posted.

    Each due subscription is leased first (storage.claims), so concurrent passes share
    the work. After posting: a DigestPost, last_sent_at, the next slot, lease cleared.
    A permanent Slack error (channel gone, app removed, archived) stops the subscription
    with the reason in last_error, shown in the Digest settings modal; a passing one
    (rate limits, Slack down) is tried again after RETRY_AFTER.
    """
    session_factory, client_for_team = context.session_factory, context.client_for_team
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


def run_qbr_nudges(context: JobContext, now: dt.datetime) -> int:
    """DM the owner of every active plan with no QBR for its reminder period (once a
    period; see storage.digests.claim_qbr_nudges). Returns how many were sent.

    A reminder Slack could not take for now (rate limits, server errors, no answer) is
    released for a later pass; one Slack refuses for good (the owner is gone, the app
    uninstalled) or that failed on a bug stays claimed, so it is not retried every pass
    until the next period.
    """
    session_factory, client_for_team = context.session_factory, context.client_for_team
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
