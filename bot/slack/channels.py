"""Channels: who will read what we post there (the one place that decides), and
posting there.

Every path that publishes a plan outside a private modal (on-demand, scheduled and
after-QBR digests, canvases) asks `check_channel` at the moment of posting, because a
channel can be shared with a customer at any time. A channel shared with another
organisation, or about to be (a pending invitation), is `Audience.EXTERNAL`: only the
parts shared with the customer go there. When Slack cannot tell us (an error, a timeout, a private
channel we cannot see), the answer is EXTERNAL too: the failure leaves things out, it
never lets them through.

`is_shared` is also true for channels shared between workspaces of one Enterprise Grid
organisation; we cannot tell those from customer channels with the bot's scopes, so
they count as external as well.

`refusal` says from the check when not to try posting at all (archived, a private
channel without the app); `post_messages` posts a message and the rest in its thread
(`post_all_or_nothing`: and takes it back when the thread is cut short).
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy.orm import Session, sessionmaker

from bot.slack.errors import error_code
from storage import digests
from storage.db import transaction
from storage.models import Audience

log = logging.getLogger(__name__)

# Seconds to wait for conversations.info before deciding "external" (and posting the
# customer-safe version). Short: a digest should not wait long on a slow API.
CHECK_TIMEOUT = 5.0

_SHARED_FLAGS = ("is_ext_shared", "is_shared", "is_pending_ext_shared")
_PENDING_LISTS = ("pending_shared", "pending_connected_team_ids")


@dataclass(frozen=True)
class ChannelCheck:
    channel_id: str
    audience: Audience
    # What we know of the bot's place in the channel, to explain a refusal early.
    is_private: bool = False
    is_member: bool = True
    is_archived: bool = False
    name: str = ""
    error: str = ""  # the check itself failed (→ EXTERNAL)

    @property
    def external(self) -> bool:
        return self.audience == Audience.EXTERNAL


def audience_from_info(channel: dict[str, Any] | None) -> Audience:
    """The audience of a channel as conversations.info describes it (None: unknown)."""
    if not isinstance(channel, dict):
        return Audience.EXTERNAL
    if any(channel.get(flag) for flag in _SHARED_FLAGS):
        return Audience.EXTERNAL
    if any(channel.get(key) for key in _PENDING_LISTS):
        return Audience.EXTERNAL
    return Audience.TEAM


def _quick(client: WebClient) -> WebClient:
    """The same client (credentials, API, rate budget), with a short timeout and no retries."""
    quick = copy.copy(client)
    quick.timeout, quick.retry_handlers = CHECK_TIMEOUT, []
    return quick


def check_channel(client: WebClient, channel_id: str) -> ChannelCheck:
    """Ask Slack now whether `channel_id` is shared outside the organisation."""
    try:
        response = _quick(client).conversations_info(channel=channel_id)
        channel = response.get("channel")
    except SlackApiError as error:
        reason = str(error.response.get("error") or "error")
        log.info("conversations.info %s failed (%s): treating it as external", channel_id, reason)
        return ChannelCheck(channel_id, Audience.EXTERNAL, error=reason)
    except (SlackClientError, OSError, ValueError) as error:  # timeouts, lost connections
        log.info("conversations.info %s failed (%s): treating it as external", channel_id, error)
        return ChannelCheck(channel_id, Audience.EXTERNAL, error=type(error).__name__)
    if not isinstance(channel, dict):
        return ChannelCheck(channel_id, Audience.EXTERNAL, error="no channel in the answer")
    private = bool(channel.get("is_private") or channel.get("is_group") or channel.get("is_mpim"))
    return ChannelCheck(
        channel_id,
        audience_from_info(channel),
        is_private=private,
        # DMs and group DMs carry no is_member; the bot is in those it can see.
        is_member=bool(channel.get("is_member", True)),
        is_archived=bool(channel.get("is_archived")),
        name=str(channel.get("name") or ""),
    )


def refusal(check: ChannelCheck) -> str:
    """Why not to try posting at all, from what conversations.info said ("" = go on)."""
    if check.is_archived:
        return "is_archived"
    if not check.error and check.is_private and not check.is_member:
        return "not_in_channel"
    return ""


def post_messages(client: WebClient, channel_id: str, messages: list[dict]) -> tuple[str, str, str]:
    """Post the first message and the rest in its thread: (channel, ts, error).

    A failing reply is logged and ends the thread; the summary is already out.
    """
    channel, ts, error, _ = _post_thread(client, channel_id, messages)
    return channel, ts, "" if ts else error


def post_all_or_nothing(client: WebClient, channel_id: str, messages: list[dict]) -> tuple[str, str, str]:
    """As `post_messages`, for what must be read whole (a request the customer agrees
    to): when a reply fails, what was posted is deleted again and the error returned."""
    channel, ts, error, posted = _post_thread(client, channel_id, messages)
    if not error:
        return channel, ts, ""
    for message_ts in reversed(posted):
        try:
            client.chat_delete(channel=channel, ts=message_ts)
        except (SlackApiError, SlackClientError, OSError) as failed:
            log.warning("cut-short thread in %s: %s not deleted (%s)", channel, message_ts, error_code(failed))
    return channel, "", error


def _post_thread(client: WebClient, channel_id: str, messages: list[dict]) -> tuple[str, str, str, list[str]]:
    """(channel, ts of the first, the first error, ts of every message posted)."""
    try:
        response = client.chat_postMessage(channel=channel_id, unfurl_links=False,
                                           unfurl_media=False, **messages[0])
    except (SlackApiError, SlackClientError, OSError) as error:
        return channel_id, "", error_code(error), []
    channel, ts = response.get("channel") or channel_id, response["ts"]
    posted = [ts]
    for reply in messages[1:]:
        try:
            answer = client.chat_postMessage(channel=channel, thread_ts=ts, unfurl_links=False,
                                             unfurl_media=False, **reply)
        except (SlackApiError, SlackClientError, OSError) as error:
            log.warning("thread in %s cut short: %s", channel, error_code(error))
            return channel, ts, error_code(error), posted
        posted.append(answer["ts"])
    return channel, ts, "", posted


def withdraw_team_canvas(client: WebClient, session_factory: sessionmaker[Session], plan_id: int,
                         channel_id: str) -> bool:
    """A channel that is external now loses access to the plan's team canvas.

    Called wherever a check finds a channel external before we post there (digests,
    canvases): access given while the channel was internal must not outlive its
    sharing with a customer. We do not record which channels had access, so we ask Slack
    to remove it from this one; a canvas never shared there answers with an error we
    can ignore. True when Slack confirmed the removal.
    """
    with transaction(session_factory) as session:
        canvas_id = digests.canvas_id_for(session, plan_id, Audience.TEAM)
    if not canvas_id:
        return False
    try:
        _quick(client).canvases_access_delete(canvas_id=canvas_id, channel_ids=[channel_id])
    except SlackApiError as error:
        log.info("team canvas %s: access for %s not removed (%s)", canvas_id, channel_id,
                 error.response.get("error"))
        return False
    except (SlackClientError, OSError, ValueError) as error:
        log.warning("team canvas %s: access for %s not removed (%s)", canvas_id, channel_id,
                    type(error).__name__)
        return False
    log.info("team canvas %s: access for external channel %s removed", canvas_id, channel_id)
    return True
