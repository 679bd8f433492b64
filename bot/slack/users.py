"""What Slack says of people (users.info) when something is posted for them: their
time zone ("today" in a digest), their display names (a canvas). A failed lookup
falls back, it never stops the posting."""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

NAMES_MAX = 50  # users.info lookups for one canvas; the rest keep their ids


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
