"""A Web API client per workspace for work done outside any request (the scheduler).

Single workspace (SLACK_BOT_TOKEN): that token. OAuth mode: the installation that
slack_sdk's SQLAlchemy installation store keeps for the workspace, whose bot token is
refreshed first when it expires within TOKEN_ROTATION_MINUTES (token rotation). Bolt
does this in its authorize step for requests; a scheduler pass has no request, so it
does it here, through the same store, and saves the new token for everyone.

Each client retries like the app's (bot/slack/clients.py: lost connections, 5xx, 429)
but its 429 handler also pauses the whole workspace in the rate limiter
(bot/slack/ratelimit.py), and it takes a slot from the limiter before every call whose caller
did not take one (`PacedClient`): whatever a pass sends keeps to the workspace's
budget. Tokens are never logged.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.token_rotation import TokenRotator
from slack_sdk.web import SlackResponse
from sqlalchemy import Engine

from bot.config import LOCAL_TEAM, Settings
from bot.slack.clients import TOKEN_ROTATION_MINUTES, make_client
from bot.slack.ratelimit import PauseOnRateLimit, RateLimiter

log = logging.getLogger(__name__)

SEND_TIMEOUT = 30  # seconds for one Web API call (slack_sdk's default)


class NotInstalled(Exception):
    """No token for this workspace (not installed, uninstalled, or the CLI's LOCAL_TEAM)."""


class PacedClient(WebClient):
    """A workspace's client that waits for a rate-limit slot before each Web API call
    (pages of a paginated answer too), unless its caller has just taken one."""

    limiter: RateLimiter
    workspace: str  # whose budget (not WebClient's team_id, which becomes a parameter)

    def api_call(self, api_method: str, **kwargs: Any) -> SlackResponse:  # type: ignore[override]
        self.limiter.before_call(self.workspace, api_method, _channel_of(kwargs))
        return super().api_call(api_method, **kwargs)

    def _request_for_pagination(self, api_url: str, req_args: dict[str, dict[str, Any]]) -> dict[str, Any]:
        self.limiter.before_call(self.workspace, api_url.rstrip("/").rsplit("/", 1)[-1])
        return super()._request_for_pagination(api_url=api_url, req_args=req_args)


def _channel_of(kwargs: dict[str, Any]) -> str | None:
    for part in ("json", "params", "data"):
        arguments = kwargs.get(part)
        if isinstance(arguments, dict) and arguments.get("channel"):
            return str(arguments["channel"])
    return None


class Workspaces:
    """`client_for(team_id)`: one client per workspace until `start_pass()`, so a
    rotated token is looked at once a pass. Safe to call from the pass's send threads
    (one refresh per workspace, never two at once)."""

    def __init__(self, settings: Settings, engine: Engine, limiter: RateLimiter, *,
                 timeout: int = SEND_TIMEOUT) -> None:
        self.settings = settings
        self.limiter = limiter
        self.timeout = timeout
        self._clients: dict[str, WebClient] = {}
        self._lock = threading.Lock()
        self._store: SQLAlchemyInstallationStore | None = None
        self._rotator: TokenRotator | None = None
        if settings.oauth:
            assert settings.client_id and settings.client_secret
            self._store = SQLAlchemyInstallationStore(client_id=settings.client_id, engine=engine)
            self._store.create_tables()  # `tick` may run before `serve` ever did
            self._rotator = TokenRotator(client_id=settings.client_id,
                                         client_secret=settings.client_secret,
                                         client=make_client(settings))

    def start_pass(self) -> None:
        with self._lock:
            self._clients.clear()

    def client_for(self, team_id: str) -> WebClient:
        with self._lock:
            client = self._clients.get(team_id)
            if client is None:
                client = self._clients[team_id] = self._client(team_id, self._token(team_id))
            return client

    def _client(self, team_id: str, token: str) -> WebClient:
        client = make_client(self.settings, token, client_class=PacedClient)
        client.limiter, client.workspace = self.limiter, team_id
        client.timeout = self.timeout
        client.retry_handlers = [
            PauseOnRateLimit(self.limiter, team_id) if isinstance(h, RateLimitErrorRetryHandler) else h
            for h in client.retry_handlers
        ]
        return client

    def _token(self, team_id: str) -> str:
        if team_id == LOCAL_TEAM:
            raise NotInstalled(team_id)
        if not self.settings.oauth:
            assert self.settings.bot_token
            return self.settings.bot_token
        assert self._store is not None and self._rotator is not None
        # Org-wide installs keep the enterprise id where a team id would be (bot/runtime/middleware.py).
        enterprise = team_id.startswith("E")
        installation = self._store.find_installation(
            enterprise_id=team_id if enterprise else None,
            team_id=None if enterprise else team_id,
            is_enterprise_install=enterprise,
        )
        if installation is None or not installation.bot_token:
            raise NotInstalled(team_id)
        refreshed = self._rotator.perform_token_rotation(
            installation=installation, minutes_before_expiration=TOKEN_ROTATION_MINUTES)
        if refreshed is not None:
            self._store.save(refreshed)
            log.info("refreshed the bot token of workspace %s", team_id)
            installation = refreshed
        return installation.bot_token
