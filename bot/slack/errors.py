"""What Slack's refusals mean, in one place: which error codes pass by themselves, an
exception's error code, the code in words for people, and how long Slack asks us to
wait (Retry-After).

Every sender reads them here: DMs (bot/slack/dms.py), digests and canvases
(bot/publishing/), QBR nudges (bot/scheduler/digest_jobs.py) and the rate limiter's 429
handler (bot/slack/ratelimit.py).
"""

from __future__ import annotations

from collections.abc import Mapping

from slack_sdk.errors import SlackApiError, SlackClientError

# Errors that go away by themselves (trying again later can work); any other code is
# for good. "connection_error" is ours: a Slack call that got no answer (error_code).
# team_added_to_org: the workspace is moving into an Enterprise Grid org, for a while.
TRANSIENT_ERRORS = frozenset({
    "ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout",
    "connection_error", "team_added_to_org",
})

_EXPLANATIONS = {
    "not_in_channel": "I'm not in that private channel: invite @Account Plans to it first "
                      "(type /invite @Account Plans there).",
    "channel_not_found": "I can't see that channel. If it is private, invite @Account Plans to "
                         "it first (type /invite @Account Plans there).",
    "is_archived": "That channel is archived.",
    "restricted_action": "Slack doesn't let apps post in that channel (posting is restricted).",
    "connection_error": "Slack could not be reached; try again in a moment.",
}


def error_code(error: Exception) -> str:
    """Slack's error code; "connection_error" for a Slack call that got no answer; the
    exception's type for anything else (a bug is never mistaken for a network fault)."""
    if isinstance(error, SlackApiError):
        return str(error.response.get("error") or "error")
    if isinstance(error, (SlackClientError, OSError)):
        return "connection_error"
    return type(error).__name__


def explain(error: str) -> str:
    """A Slack error code in words for people (mrkdwn-safe: our own text)."""
    return _EXPLANATIONS.get(error, f"Slack refused it ({error}).")


def retry_after(headers: Mapping[str, str | list[str]] | None) -> float | None:
    """Seconds of a Retry-After header (a SlackResponse's headers, or a retry handler's
    HttpResponse's, whose values are lists); None when there is none or it is no number."""
    for name, value in (headers or {}).items():
        if name.lower() == "retry-after":
            value = value[0] if isinstance(value, list) else value
            try:
                return float(value)
            except (TypeError, ValueError):
                return None
    return None
