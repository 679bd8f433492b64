"""Posting digests: check the channel, render, post, record.

Every digest, whatever asked for it (the `digest` subcommand, the "Post digest"
button, a schedule, a QBR), goes through `post_digest`:

1. ask Slack now who reads the channel (bot/slack/channels.py: shared with another
   organisation, or unknown → external);
2. gather the content for that audience (storage/digests keeps only the parts shared
   with the customer for an external one, in the query) and render it (blocks/digest.py);
3. post the summary, then the rest in its thread;
4. record the DigestPost ("since the last digest" starts there next time);
5. upload the progress chart (blocks/charts.py, drawn from storage/digests/charts.py for
   the same audience) into the summary's thread, with its alt text. A chart that cannot
   be drawn or uploaded is logged and left out: the digest is out already.

No database transaction is open while Slack is called. Digests on demand and after a
QBR work for a plan in any state, because a person asked for them; the scheduled ones
(bot/scheduler/digest_jobs.py) only for active plans.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from zoneinfo import ZoneInfo

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy.orm import Session, sessionmaker

from blocks import charts as chart_blocks
from blocks import digest as digest_blocks
from bot.slack.channels import check_channel, post_messages, refusal, withdraw_team_canvas
from bot.slack.errors import TRANSIENT_ERRORS, error_code, explain
from storage import digests, health, plans, progress
from storage.db import transaction
from storage.digests import charts as chart_facts
from storage.models import Audience, DigestReason, utcnow

log = logging.getLogger(__name__)

CHART_FILENAME = "progress.png"
CHART_TITLE_MAX = 120


@dataclass(frozen=True)
class Posted:
    """What became of one digest (or canvas link) in one channel."""

    channel_id: str
    audience: Audience
    ts: str = ""
    error: str = ""  # Slack's error code, "" when it was posted
    # With chart_later: draws and uploads the chart into the digest's thread (None: no
    # chart to come). A person waiting for "Digest posted" need not wait for the drawing.
    upload_chart: Callable[[], bool] | None = field(default=None, compare=False, repr=False)

    @property
    def ok(self) -> bool:
        return not self.error

    @property
    def permanent(self) -> bool:
        return bool(self.error) and self.error not in TRANSIENT_ERRORS


def today_in(timezone: str | None, now: dt.datetime) -> dt.date:
    try:
        return now.astimezone(ZoneInfo(timezone or "UTC")).date()
    except (ValueError, KeyError):
        return now.astimezone(dt.timezone.utc).date()


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
    chart_later: bool = False,
) -> Posted:
    """Post one plan's digest to one channel, for whoever reads that channel now; its
    chart follows in the thread, at once or (`chart_later`) when the caller calls
    `Posted.upload_chart`, after telling the person the digest is out."""
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
        team = {} if check.external else team_reading(session, content, now)
        messages = digest_blocks.digest_messages(content, **team)
        facts = chart_facts.progress_facts(session, team_id, plan_id, audience=check.audience)
    channel, ts, error = post_messages(client, channel_id, messages)
    if error:
        return Posted(channel_id, check.audience, error=error)
    with transaction(session_factory) as session:
        digests.record_post(session, team_id=team_id, plan_id=plan_id, channel_id=channel,
                            message_ts=ts, reason=reason, audience=check.audience,
                            posted_by=posted_by, now=now)
    upload = partial(upload_chart, client, channel, ts, facts, today_in(timezone, now))
    if chart_later:
        return Posted(channel, check.audience, ts=ts, upload_chart=upload)
    upload()
    return Posted(channel, check.audience, ts=ts)


def upload_chart(client: WebClient, channel_id: str, thread_ts: str,
                 facts: chart_facts.ProgressFacts, today: dt.date) -> bool:
    """Draw the progress chart and upload it into the digest's thread; True when it is
    there. Never raises: the digest it belongs to is posted and recorded already.

    The client retries 429s, 5xx and lost connections of each call (bot/slack/clients.py);
    the upload of the bytes themselves is not a Web API call, so a transient failure of
    the whole upload is tried once more here. Anything else (missing_scope: the app was
    not reinstalled with files:write) is logged.
    """
    try:
        chart = chart_blocks.progress_chart(facts, today)
    except Exception:  # a drawing bug must not turn a posted digest into a failure
        log.exception("progress chart for %s not drawn", channel_id)
        return False
    if chart is None:
        return False  # nothing to draw (no action items, no measurable objective)
    title = chart_blocks.clip(f"Progress of {facts.plan_name}", CHART_TITLE_MAX)
    for attempt in (1, 2):
        try:
            client.files_upload_v2(channel=channel_id, thread_ts=thread_ts, file=chart.png,
                                   filename=CHART_FILENAME, title=title, alt_txt=chart.alt_text)
            return True
        except (SlackApiError, SlackClientError, OSError) as error:
            code = error_code(error)
            if attempt == 1 and code in TRANSIENT_ERRORS:
                continue
            log.warning("progress chart not uploaded to the digest %s in %s: %s%s", thread_ts,
                        channel_id, code, " (reinstall the app to grant files:write)"
                        if code == "missing_scope" else "")
            return False
    return False


def team_reading(session: Session, content: digests.DigestContent, now: dt.datetime) -> dict:
    """What a team channel's digest adds (never a customer's): the plan's health, and what
    objective owners said since the QBR before the one reported (or the last one)."""
    plan = content.plan
    earlier = [r.held_on for r in plan.reviews if content.review is None or r.id != content.review.id]
    if content.review is not None:
        earlier = [day for day in earlier if day <= content.review.held_on]
    since = dt.datetime.combine(max(earlier), dt.time(0), tzinfo=dt.timezone.utc) if earlier else None
    return {"health": health.plan_health(session, plan.team_id, plan.id, now.astimezone(dt.timezone.utc).date()),
            "objective_updates": progress.progress_summary(session, plan.team_id, plan.id, since=since)}


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
