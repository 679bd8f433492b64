"""What Slack says of people (users.info) when something is posted for them: their
time zone ("today" in a digest), their display names (a canvas), and whether they
belong to another organisation (`from_elsewhere`: the one rule, for requests
(bot/runtime/audience.py) and for the DMs the scheduler sends alike). A failed lookup
falls back, it never stops the posting."""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

NAMES_MAX = 50  # users.info lookups for one canvas; the rest keep their ids


def belongs(person_team: str | None, person_enterprise: str | None, workspace: str) -> bool:
    """The person's own team is the workspace (or, for an org-wide install whose plans
    are kept under the enterprise id, their organisation is)."""
    if not person_team and not person_enterprise:
        return False
    return person_team == workspace or (workspace.startswith("E") and person_enterprise == workspace)


def enterprise_of(user: dict[str, Any]) -> str | None:
    enterprise = user.get("enterprise_user")
    return enterprise.get("enterprise_id") if isinstance(enterprise, dict) else None


def from_elsewhere(user: Any, workspace: str) -> bool:
    """A users.info (or users.list) user of another organisation than `workspace`; one
    Slack describes without a team counts as another organisation too."""
    if not isinstance(user, dict):
        return True
    # is_stranger: Slack's mark of someone from another workspace seen through a shared
    # channel. Guests (is_restricted) are the workspace's own accounts: a request they
    # make carries the workspace as their team, so they count as of it here too.
    if user.get("is_stranger"):
        return True
    return not belongs(user.get("team_id"), enterprise_of(user), workspace)


def user_timezone(client: WebClient, user_id: str, default: str = "UTC") -> str:
    """A person's Slack time zone (their "today" for due dates), else `default`."""
    try:
        return client.users_info(user=user_id)["user"].get("tz") or default
    except (SlackApiError, SlackClientError, OSError, KeyError, TypeError):
        return default


def display_names(client: WebClient, user_ids: set[str]) -> dict[str, str]:
    """{user id: display name} for up to NAMES_MAX people; the rest keep their ids."""
    names = {}
    for user_id in sorted(user_ids)[:NAMES_MAX]:
        try:
            found = client.users_info(user=user_id)["user"]
        except (SlackApiError, SlackClientError, OSError, KeyError, TypeError):
            continue
        profile = found.get("profile") or {}
        name = profile.get("display_name") or profile.get("real_name") or found.get("real_name")
        if name:
            names[user_id] = name
    return names
