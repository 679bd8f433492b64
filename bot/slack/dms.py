"""Getting one DM to Slack, once: post it, redraw it, and read what an error means.

`post_dm` posts to the person (channel = their user id: Slack puts it in our DM with
them and answers with that channel's id; no conversations.open, a Tier 3 method, for
every DM). Each DM carries message metadata naming it (`key`), and a DM that stands for
several rows (reminders of several items in one DM) names each of them (`keys`, space
separated). When an earlier attempt ended without an answer (a time-out, a crash before
the result was written), the next attempt first looks for those keys in the DM's recent
history (conversations.history, scope im:history) and does not post again what arrived.

Slack's 429s, 5xx and lost connections are retried by the client itself (slack_sdk
retry handlers, bot/slack/clients.py); what is left comes back as an `Outcome`:
- sent: channel and ts;
- passing (ratelimited, server errors, time-outs): try again later, the row stays due;
  `uncertain` when Slack may have posted it anyway (no answer came);
- permanent (user_not_found, account_inactive, channel_not_found, …): record it and
  stop; trying again cannot help.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.slack.errors import TRANSIENT_ERRORS, retry_after

log = logging.getLogger(__name__)

METADATA_EVENT = "accountplan_dm"
# How far before an unanswered attempt to look for its DM (clocks differ a little).
HISTORY_MARGIN = dt.timedelta(minutes=2)
HISTORY_PAGE = 100

# (method, channel) -> waits for a rate-limit slot (bot/slack/ratelimit.py).
Throttle = Callable[[str, str | None], Any]


def no_throttle(_method: str, _channel: str | None = None) -> None:
    return None


@dataclass(frozen=True)
class Outcome:
    channel: str | None = None
    ts: str | None = None
    error: str = ""
    permanent: bool = False
    uncertain: bool = False  # Slack may have done it although no answer came
    retry_after: float | None = None

    @property
    def sent(self) -> bool:
        return not self.error and bool(self.ts)


def outcome_of(error: Exception) -> Outcome:
    """What an exception from a Web API call means for the row that sent it."""
    if isinstance(error, SlackApiError):
        status = error.response.status_code
        code = str(error.response.get("error") or f"http_{status}")
        if status == 429:
            return Outcome(error="ratelimited", retry_after=retry_after(getattr(error.response, "headers", None)))
        if status >= 500 or code in TRANSIENT_ERRORS:
            return Outcome(error=code)
        return Outcome(error=code, permanent=True)
    # No answer at all (time-out, connection lost after the request left): it may
    # have been done.
    if isinstance(error, (TimeoutError, OSError, SlackClientError)):
        return Outcome(error=type(error).__name__.lower()[:60] or "timeout", uncertain=True)
    raise error


def channel_of(client: WebClient, user_id: str, throttle: Throttle) -> str:
    throttle("conversations.open", None)
    return client.conversations_open(users=user_id)["channel"]["id"]


def find_posted(client: WebClient, *, channel: str, key: str, since: dt.datetime,
                throttle: Throttle = no_throttle) -> str | None:
    """The ts of our DM named `key` posted since `since`, if it is there."""
    return find_posted_keys(client, channel=channel, keys=[key], since=since, throttle=throttle).get(key)


def find_posted_keys(client: WebClient, *, channel: str, keys: list[str], since: dt.datetime,
                     throttle: Throttle = no_throttle) -> dict[str, str]:
    """{key: ts} of those `keys` that a DM of ours posted since `since` names."""
    oldest = (since - HISTORY_MARGIN).timestamp()
    throttle("conversations.history", channel)
    history = client.conversations_history(channel=channel, oldest=f"{oldest:.6f}",
                                           limit=HISTORY_PAGE, include_all_metadata=True)
    wanted, found = set(keys), {}
    for message in history.get("messages") or []:
        metadata = message.get("metadata") or {}
        if metadata.get("event_type") != METADATA_EVENT:
            continue
        payload = metadata.get("event_payload") or {}
        named = {payload.get("key"), *str(payload.get("keys") or "").split()}
        for key in named & wanted:
            found.setdefault(key, message.get("ts"))
    return found


def post_dm(client: WebClient, *, user_id: str, message: dict[str, Any], key: str,
            dm_channel: str | None = None, maybe_sent_since: dt.datetime | None = None,
            throttle: Throttle = no_throttle, keys: list[str] | None = None) -> Outcome:
    """Post `message` to the person, unless an earlier attempt (`maybe_sent_since`) did.
    `keys`: the rows a DM listing several stands for (each looked for on its own)."""
    try:
        if maybe_sent_since is not None:
            channel = dm_channel or channel_of(client, user_id, throttle)
            ts = find_posted(client, channel=channel, key=key, since=maybe_sent_since, throttle=throttle)
            if ts is not None:
                log.info("DM %s had arrived before its answer was lost: not posted again", key)
                return Outcome(channel=channel, ts=ts)
        throttle("chat.postMessage", user_id)
        payload = {"key": key, **({"keys": " ".join(keys)} if keys else {})}
        response = client.chat_postMessage(
            channel=user_id,
            metadata={"event_type": METADATA_EVENT, "event_payload": payload},
            **message,
        )
        return Outcome(channel=response.get("channel"), ts=response.get("ts"))
    except Exception as error:  # noqa: BLE001 - sorted into passing and permanent
        return outcome_of(error)


def update_dm(client: WebClient, *, channel: str, ts: str, message: dict[str, Any],
              throttle: Throttle = no_throttle) -> Outcome:
    """Redraw an earlier DM (chat.update does the same thing however often it is sent)."""
    try:
        throttle("chat.update", None)
        response = client.chat_update(channel=channel, ts=ts, **message)
        return Outcome(channel=response.get("channel") or channel, ts=response.get("ts") or ts)
    except Exception as error:  # noqa: BLE001 - sorted into passing and permanent
        outcome = outcome_of(error)
        # chat.update has nothing to lose twice: an unknown outcome is simply retried.
        return Outcome(error=outcome.error, permanent=outcome.permanent,
                       retry_after=outcome.retry_after)
