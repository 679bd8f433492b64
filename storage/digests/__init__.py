"""Digests: channel subscriptions, when they run next, and what a digest says.

Modules: subscriptions (schedules, subscriptions, what each run records), content
(what a digest says, per audience), commitments (what each side owes next), canvases
(the rows of published canvases), qbr (QBR reminders).

Nothing here knows Slack. A subscription is a (plan, channel) pair with a schedule in
the subscriber's time zone; `next_run` turns that schedule into the next UTC instant.
`digest_content` gathers everything one digest shows, already filtered for its
audience: for `Audience.EXTERNAL` (a channel shared with another organisation) only
the allow-list leaves the database (the strategies, objectives and action items marked
"Shared with customer" under shared parents, and change-log lines about them, the plan
and its QBRs), so no renderer can show anything else by mistake; `hidden` says that
something was left out, without naming it.

Choices where the issue is silent:
- Only the plan's owner and team may post digests, change subscriptions or publish the
  plan: these speak for the plan to other people. Reading stays open to the workspace.
- Every two weeks: fourteen days after the previous scheduled run, so the rhythm holds.
  Monthly: the first <weekday> of each month (the modal asks for a weekday, and "first
  Monday" is how people put monthly meetings in calendars; dates like the 31st would
  skip months).
- Times are wall-clock times in the subscription's zone (zoneinfo), so 09:00 stays
  09:00 across daylight-saving changes. A time that does not exist that day (the
  spring-forward gap) runs at the first instant after it; an ambiguous one (fall back)
  runs at its first occurrence.
- A missed run (the scheduler was down) sends one digest, then the next slot in the
  future: never a burst of old ones.
- "Since the last digest": the later of the last digest posted to that channel and the
  last QBR; a first digest looks back `FIRST_DIGEST_LOOKBACK` days.
"""

from storage.digests.canvases import canvas_id_for, save_canvas
from storage.digests.commitments import COMMITMENTS_LIMIT, Commitments
from storage.digests.content import (
    CHANGES_LIMIT,
    DUE_SOON_DAYS,
    FIRST_DIGEST_LOOKBACK,
    LIST_LIMIT,
    DigestContent,
    digest_content,
    last_digest_at,
    since_for,
)
from storage.digests.qbr import (
    QbrNudge,
    claim_qbr_nudges,
    qbr_due_date,
    qbr_period_start,
    release_qbr_nudge,
)
from storage.digests.subscriptions import (
    ERROR_MAX,
    SUBSCRIPTIONS_MAX,
    SubscriptionInput,
    delete_subscription,
    get_subscription,
    held,
    next_run,
    qbr_subscriptions,
    record_failed,
    record_post,
    record_sent,
    record_skipped,
    require_sharer,
    save_subscription,
    subscriptions_of,
)
from storage.reminder_calendar import zone  # the one zone(): unknown names fall back to UTC

__all__ = [
    "ERROR_MAX",
    "SUBSCRIPTIONS_MAX",
    "SubscriptionInput",
    "zone",
    "next_run",
    "save_subscription",
    "delete_subscription",
    "get_subscription",
    "subscriptions_of",
    "qbr_subscriptions",
    "require_sharer",
    "held",
    "record_sent",
    "record_skipped",
    "record_failed",
    "record_post",
    "CHANGES_LIMIT",
    "DUE_SOON_DAYS",
    "FIRST_DIGEST_LOOKBACK",
    "LIST_LIMIT",
    "DigestContent",
    "COMMITMENTS_LIMIT",
    "Commitments",
    "digest_content",
    "last_digest_at",
    "since_for",
    "canvas_id_for",
    "save_canvas",
    "QbrNudge",
    "claim_qbr_nudges",
    "qbr_due_date",
    "qbr_period_start",
    "release_qbr_nudge",
]
