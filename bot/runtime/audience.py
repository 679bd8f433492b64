"""Who is looking: the one decision point for the Slack Connect boundary.

Every request that reads or changes a plan asks `looking(client, context, body)` (or,
for someone who is not the requester, `person_is_external`). A request is answered for
`Audience.TEAM` only when both hold:

- **the person** belongs to the plan's workspace. Slack sends the workspace of the
  conversation as `team.id` and the person's own organisation as `user.team_id`
  (interactive payloads); slash commands and events carry no such field, so we ask
  users.info (cached per process). A person of another organisation, or one we could
  not check, is external in every conversation, DMs included: they never change or copy
  a plan (storage refuses an external `Actor`) and read only a customer view of plans
  the team put in front of them (an item of theirs, a digest in their channel).
- **the conversation** is not shared with another organisation (bot/slack/channels.py:
  shared, pending or unknown means external). A modal or App Home has no conversation;
  a modal opened for an external audience says so in its private_metadata, and
  everything opened from it stays external.

Anything else is `Audience.EXTERNAL`: the customer view (only the parts shared with the
customer, under shared parents; no SWOT, QBR notes or controls) or a polite refusal. The
same rule of who is from another organisation (bot/slack/users.py `from_elsewhere`)
decides which DMs about action items may go to a person (bot/scheduler/reminder_jobs.py).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from slack_bolt import BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from blocks.forms import metadata
from bot.slack.channels import check_channel
from bot.slack.users import from_elsewhere
from storage.models import Audience
from storage.plans import Actor

log = logging.getLogger(__name__)

LOOKING_KEY = "looking"
# Seconds to wait for users.info before deciding "external": short, since a modal
# must open within Slack's 3 s.
PERSON_CHECK_TIMEOUT = 1.5
# How long a person's organisation is remembered; it does not change in practice.
PERSON_TTL_SECONDS = 3600.0

OUTSIDER_REFUSED = ("This account plan is kept by the account team. Ask them to share "
                    "the parts meant for you in your shared channel.")
SHARED_CONVERSATION_NOTE = ("This conversation includes people from another organisation, "
                            "so this is what they may see. Open it from my App Home for the "
                            "whole plan.")
NOT_IN_SHARED = ("That isn't shown in conversations that include people from another "
                 "organisation. Try it in my App Home or Messages tab.")


@dataclass(frozen=True)
class Looking:
    """The answer for one request: who acts, and what they may be shown."""

    actor: Actor
    audience: Audience
    channel_id: str | None = None

    @property
    def external(self) -> bool:
        return self.audience == Audience.EXTERNAL

    @property
    def outsider(self) -> bool:
        """The person themself is from another organisation (not just the channel)."""
        return self.actor.external


class People:
    """Which organisation people belong to, as users.info says; safe to carry on a
    Bolt context (copies are the same object). Failures are not remembered."""

    def __init__(self, ttl: float = PERSON_TTL_SECONDS) -> None:
        self._ttl = ttl
        self._known: dict[tuple[str, str], tuple[bool, float]] = {}
        self._lock = threading.Lock()

    def __copy__(self) -> People:
        return self

    def __deepcopy__(self, memo: dict) -> People:
        return self

    def remember(self, workspace: str, user_id: str, external: bool) -> None:
        with self._lock:
            self._known[(workspace, user_id)] = (external, time.monotonic() + self._ttl)

    def known(self, workspace: str, user_id: str) -> bool | None:
        with self._lock:
            found = self._known.get((workspace, user_id))
        if found is None or found[1] < time.monotonic():
            return None
        return found[0]

    def is_external(self, client: WebClient, workspace: str, user_id: str) -> bool:
        cached = self.known(workspace, user_id)
        if cached is not None:
            return cached
        quick = WebClient(token=client.token, base_url=client.base_url,
                          timeout=PERSON_CHECK_TIMEOUT, retry_handlers=[])
        try:
            user = quick.users_info(user=user_id).get("user")
        except (SlackApiError, SlackClientError, OSError, ValueError) as error:
            log.info("users.info %s failed (%s): treating the person as external", user_id,
                     type(error).__name__)
            return True
        if not isinstance(user, dict):
            return True
        external = from_elsewhere(user, workspace)
        self.remember(workspace, user_id, external)
        return external


def person_team_in(body: dict[str, Any]) -> tuple[str | None, str | None] | None:
    """The person's own (team, enterprise) when the payload says it; None when it does
    not (slash commands, most events)."""
    user = body.get("user")
    if isinstance(user, dict) and user.get("team_id"):
        enterprise = body.get("enterprise")
        return user["team_id"], enterprise.get("id") if isinstance(enterprise, dict) else None
    event = body.get("event")
    if isinstance(event, dict) and event.get("user_team"):
        return event["user_team"], None
    return None


def conversation_of(body: dict[str, Any]) -> str | None:
    """The conversation a request came from, if any (modals and App Home have none)."""
    if body.get("channel_id"):  # slash commands
        return str(body["channel_id"])
    container = body.get("container") or {}
    if container.get("type") == "view":
        return None
    if container.get("channel_id"):
        return str(container["channel_id"])
    channel = body.get("channel")
    if isinstance(channel, dict) and channel.get("id"):
        return str(channel["id"])
    return None


def _from_app_dm(body: dict[str, Any], channel_id: str) -> bool:
    """A button on a message in a DM: the app posts into DMs only to the person it
    opened them with, who is the one clicking, so the person check decides alone."""
    return body.get("type") == "block_actions" and channel_id.startswith("D")


def looking(client: WebClient, context: BoltContext, body: dict[str, Any]) -> Looking:
    """Decide (once per request) who is looking; see the module docstring."""
    found = context.get(LOOKING_KEY)
    if isinstance(found, Looking):
        return found
    from bot.runtime.middleware import actor_of  # the middleware fills the actor from the payload

    actor = actor_of(context)
    channel_id = conversation_of(body)
    audience = Audience.EXTERNAL if actor.external else Audience.TEAM
    view = body.get("view")
    if audience == Audience.TEAM and isinstance(view, dict) and metadata(view).get("audience") == Audience.EXTERNAL:
        audience = Audience.EXTERNAL
    if audience == Audience.TEAM and channel_id and not _from_app_dm(body, channel_id):
        audience = check_channel(client, channel_id).audience
    result = Looking(actor, audience, channel_id)
    context[LOOKING_KEY] = result
    return result


def person_is_external(client: WebClient, context: BoltContext, workspace: str, user_id: str) -> bool:
    """For someone other than the requester (an assignee whose App Home we redraw)."""
    return context[PEOPLE_KEY].is_external(client, workspace, user_id)


PEOPLE_KEY = "people"
