"""How every Web API client of the app is made: on SLACK_API_URL, retrying lost
connections, 5xx and 429s (slack_sdk's retry handlers). Bolt's own client
(bot/app.py), the OAuth token refreshes and the scheduler's clients per workspace
(bot/slack/workspaces.py) all start here."""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from bot.config import Settings

# Rotated bot tokens are refreshed when they expire within this many minutes.
TOKEN_ROTATION_MINUTES = 120


def make_client(settings: Settings, token: str | None = None, *,
                client_class: type[WebClient] = WebClient) -> WebClient:
    """A WebClient on SLACK_API_URL that retries rate limits, 5xx and lost connections."""
    return client_class(
        token=token,
        base_url=settings.slack_api_url,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=2),
            RateLimitErrorRetryHandler(max_retry_count=2),
            ServerErrorRetryHandler(max_retry_count=2),
        ],
    )
