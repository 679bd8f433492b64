"""Requests as Slack sends them: payload builders and the v0 request signature.

Every builder returns plain data shaped like Slack's own (slash command form fields,
interactive payloads, Events API envelopes). `encode_*` turn them into the HTTP body
Slack would send, and `signed_headers` signs a body the way Slack does:

    X-Slack-Signature: v0=hex(HMAC-SHA256(secret, "v0:{timestamp}:{body}"))

so request verification stays on in tests.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from typing import Any
from urllib.parse import urlencode

SIGNING_SECRET = "test-signing-secret-0123456789abcdef"
TEAM_ID = "T1"
TEAM_DOMAIN = "accountplan-test"
ENTERPRISE_ID = None
API_APP_ID = "A0ACCOUNTPLAN"
USER_ID = "U1"
CHANNEL_ID = "C1"
CHANNEL_NAME = "general"
VERIFICATION_TOKEN = "legacy-verification-token"  # deprecated; sent by Slack, unused

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"

_counter = itertools.count(1)


def _next() -> int:
    return next(_counter)


def action_ts() -> str:
    return f"{time.time():.6f}"


def signature(body: str | bytes, timestamp: str | int, secret: str = SIGNING_SECRET) -> str:
    raw = body.encode() if isinstance(body, str) else body
    base = b"v0:" + str(timestamp).encode() + b":" + raw
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed_headers(
    body: str | bytes,
    content_type: str,
    *,
    secret: str = SIGNING_SECRET,
    timestamp: int | None = None,
) -> dict[str, str]:
    timestamp = int(time.time()) if timestamp is None else timestamp
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": str(timestamp),
        "X-Slack-Signature": signature(body, timestamp, secret),
    }


# ----------------------------------------------------------------------------- bodies


def encode_form(fields: dict[str, Any]) -> str:
    return urlencode({k: "" if v is None else v for k, v in fields.items()})


def encode_interactive(payload: dict[str, Any]) -> str:
    """Interactivity requests: a form body with one field, payload=<json>."""
    return urlencode({"payload": json.dumps(payload)})


def encode_event(envelope: dict[str, Any]) -> str:
    return json.dumps(envelope)


# ----------------------------------------------------------------------------- people


def user_object(user: str, team: str) -> dict[str, Any]:
    return {"id": user, "username": user.lower(), "name": user.lower(), "team_id": team}


def team_object(team: str) -> dict[str, Any]:
    return {"id": team, "domain": TEAM_DOMAIN}


def enterprise_fields(enterprise: str | None) -> dict[str, Any]:
    return {
        "enterprise": {"id": enterprise, "name": "Test Org"} if enterprise else None,
        "is_enterprise_install": False,
    }


# ----------------------------------------------------------------------------- payloads


def slash_command(
    command: str,
    text: str = "",
    *,
    user: str = USER_ID,
    team: str = TEAM_ID,
    channel: str = CHANNEL_ID,
    channel_name: str = CHANNEL_NAME,
    response_url: str = "",
    trigger_id: str = "",
    enterprise: str | None = ENTERPRISE_ID,
) -> dict[str, str]:
    fields = {
        "token": VERIFICATION_TOKEN,
        "team_id": team,
        "team_domain": TEAM_DOMAIN,
        "channel_id": channel,
        "channel_name": channel_name,
        "user_id": user,
        "user_name": user.lower(),
        "command": command,
        "text": text,
        "api_app_id": API_APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id,
    }
    if enterprise:
        fields["enterprise_id"] = enterprise
        fields["enterprise_name"] = "Test Org"
    return fields


def block_actions(
    actions: list[dict[str, Any]],
    *,
    user: str = USER_ID,
    team: str = TEAM_ID,
    view: dict[str, Any] | None = None,
    message: dict[str, Any] | None = None,
    channel: str | None = None,
    state: dict[str, Any] | None = None,
    response_url: str | None = None,
    trigger_id: str = "",
    is_ephemeral: bool = False,
    enterprise: str | None = ENTERPRISE_ID,
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": user_object(user, team),
        "api_app_id": API_APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id,
        "team": team_object(team),
        **enterprise_fields(enterprise),
        "actions": actions,
    }
    if view is not None:
        payload["container"] = {"type": "view", "view_id": view.get("id")}
        payload["view"] = view
    else:
        channel = channel or CHANNEL_ID
        message = message or {}
        payload["container"] = {
            "type": "message",
            "message_ts": message.get("ts"),
            "channel_id": channel,
            "is_ephemeral": is_ephemeral,
        }
        payload["channel"] = {"id": channel, "name": CHANNEL_NAME}
        payload["message"] = message
        payload["response_url"] = response_url
        payload["state"] = state or {"values": {}}
    return payload


def action(
    action_id: str,
    *,
    block_id: str = "",
    type: str = "button",  # noqa: A002 - Slack's field name
    value: str | None = None,
    text: str | None = None,
    selected_option: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """One entry of a block_actions payload's `actions`."""
    entry: dict[str, Any] = {
        "type": type,
        "action_id": action_id,
        "block_id": block_id,
        "action_ts": action_ts(),
    }
    if text is not None:
        entry["text"] = {"type": "plain_text", "text": text, "emoji": True}
    if value is not None:
        entry["value"] = value
    if selected_option is not None:
        entry["selected_option"] = selected_option
    entry.update(extra)
    return entry


def view_submission(
    view: dict[str, Any],
    *,
    user: str = USER_ID,
    team: str = TEAM_ID,
    trigger_id: str = "",
    enterprise: str | None = ENTERPRISE_ID,
) -> dict[str, Any]:
    """`view` must already carry its `state` (see tests/bot/driver.py fill)."""
    return {
        "type": "view_submission",
        "team": team_object(team),
        "user": user_object(user, team),
        "api_app_id": API_APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id,
        "view": view,
        "response_urls": [],
        **enterprise_fields(enterprise),
    }


def view_closed(
    view: dict[str, Any],
    *,
    user: str = USER_ID,
    team: str = TEAM_ID,
    is_cleared: bool = False,
    enterprise: str | None = ENTERPRISE_ID,
) -> dict[str, Any]:
    return {
        "type": "view_closed",
        "team": team_object(team),
        "user": user_object(user, team),
        "api_app_id": API_APP_ID,
        "token": VERIFICATION_TOKEN,
        "view": view,
        "is_cleared": is_cleared,
        **enterprise_fields(enterprise),
    }


def global_shortcut(
    callback_id: str,
    *,
    user: str = USER_ID,
    team: str = TEAM_ID,
    trigger_id: str = "",
    enterprise: str | None = ENTERPRISE_ID,
) -> dict[str, Any]:
    return {
        "type": "shortcut",
        "token": VERIFICATION_TOKEN,
        "action_ts": action_ts(),
        "team": team_object(team),
        "user": user_object(user, team),
        "callback_id": callback_id,
        "trigger_id": trigger_id,
        **enterprise_fields(enterprise),
    }


def message_shortcut(
    callback_id: str,
    message: dict[str, Any],
    *,
    user: str = USER_ID,
    team: str = TEAM_ID,
    channel: str = CHANNEL_ID,
    trigger_id: str = "",
    response_url: str = "",
    enterprise: str | None = ENTERPRISE_ID,
) -> dict[str, Any]:
    return {
        "type": "message_action",
        "token": VERIFICATION_TOKEN,
        "action_ts": action_ts(),
        "team": team_object(team),
        "user": user_object(user, team),
        "channel": {"id": channel, "name": CHANNEL_NAME},
        "callback_id": callback_id,
        "trigger_id": trigger_id,
        "response_url": response_url,
        "message_ts": message.get("ts"),
        "message": message,
        **enterprise_fields(enterprise),
    }


def block_suggestion(
    action_id: str,
    value: str,
    *,
    block_id: str = "",
    user: str = USER_ID,
    team: str = TEAM_ID,
    view: dict[str, Any] | None = None,
    enterprise: str | None = ENTERPRISE_ID,
) -> dict[str, Any]:
    """An external select asking for options (the app answers in the ack body)."""
    payload: dict[str, Any] = {
        "type": "block_suggestion",
        "user": user_object(user, team),
        "api_app_id": API_APP_ID,
        "token": VERIFICATION_TOKEN,
        "action_id": action_id,
        "block_id": block_id,
        "value": value,
        "team": team_object(team),
        **enterprise_fields(enterprise),
    }
    if view is not None:
        payload["container"] = {"type": "view", "view_id": view.get("id")}
        payload["view"] = view
    else:
        payload["container"] = {"type": "message", "channel_id": CHANNEL_ID}
        payload["channel"] = {"id": CHANNEL_ID, "name": CHANNEL_NAME}
    return payload


def event_envelope(
    event: dict[str, Any],
    *,
    team: str = TEAM_ID,
    bot_user: str = "UBOT",
    enterprise: str | None = ENTERPRISE_ID,
) -> dict[str, Any]:
    event = {"event_ts": action_ts(), **event}
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": team,
        "enterprise_id": enterprise,
        "api_app_id": API_APP_ID,
        "event": event,
        "type": "event_callback",
        "event_id": f"Ev{_next():08d}",
        "event_time": int(time.time()),
        "authorizations": [
            {
                "enterprise_id": enterprise,
                "team_id": team,
                "user_id": bot_user,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
    }


def app_home_opened(
    user: str = USER_ID,
    *,
    tab: str = "home",
    channel: str | None = None,
    view: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The event (to wrap in `event_envelope`) sent when someone opens the App Home."""
    event: dict[str, Any] = {
        "type": "app_home_opened",
        "user": user,
        "channel": channel or "D" + user[1:],
        "tab": tab,
    }
    if view is not None:
        event["view"] = view
    return event
