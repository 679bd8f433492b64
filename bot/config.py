"""Settings from the environment (see RUN_CONTRACT.md), each mistake one clear error.

`Settings.from_env()` reads and checks everything at once, so `accountplan serve` can
stop before it opens a socket with one line that names the variable and says what to
do. Nothing here talks to Slack or to the database. Also the few names every entry
point shares: LOCAL_TEAM (the CLI's workspace without Slack), `one_line` (an error
as the one line people read) and `engine_of` (the database behind a session factory).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker

from storage.db import DEFAULT_DATABASE_URL

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_PORT = 3000
DEFAULT_TIMEZONE = "UTC"
DEFAULT_RETENTION_DAYS = 90
LOG_FORMATS = ("plain", "json")

BOT_TOKEN_PREFIXES = ("xoxb-", "xoxe.xoxb-")
APP_TOKEN_PREFIX = "xapp-"

# `accountplan demo/export/import` without --team, on a database with no plans yet:
# a local workspace that Slack does not know. The scheduler sends nothing of it
# (bot/slack/workspaces.py: no client for it).
LOCAL_TEAM = "T0LOCAL"


class ConfigError(Exception):
    """Missing or contradictory configuration; the message is one line for people."""


def one_line(text: object) -> str:
    """`text` (an error, a message) on one line, its whitespace folded; an error that
    says nothing is named by its type."""
    folded = " ".join(str(text).split())
    if not folded and isinstance(text, BaseException):
        return type(text).__name__
    return folded


def engine_of(session_factory: sessionmaker[Session]) -> Engine:
    """The engine a session factory was made with (storage.db.make_session_factory): for
    what works beside the sessions on the same database (the OAuth installation store,
    the shared rate budget, the pruning turn)."""
    return session_factory.kw["bind"]


@dataclass(frozen=True, repr=False)
class Settings:
    bot_token: str | None = None
    signing_secret: str | None = None
    app_token: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    slack_api_url: str = DEFAULT_SLACK_API_URL
    database_url: str = DEFAULT_DATABASE_URL
    port: int = DEFAULT_PORT
    timezone: str = DEFAULT_TIMEZONE
    # Sent notifications, finished reminders and old digest posts are kept this long
    # (storage/retention.py).
    retention_days: int = DEFAULT_RETENTION_DAYS
    # One line per log record: "plain" (time LEVEL logger: message) or "json".
    log_format: str = "plain"
    # Socket Mode: GET /health and /metrics on this port (None: no HTTP at all). Over
    # HTTP they are on `port`, with everything else.
    metrics_port: int | None = None

    @property
    def socket_mode(self) -> bool:
        return self.app_token is not None

    @property
    def oauth(self) -> bool:
        """Multi-workspace: installations come from the OAuth flow, kept in the database."""
        return self.client_id is not None

    def __repr__(self) -> str:
        def secret(value: str | None) -> str:
            return "<set>" if value else "None"

        url = make_url(self.database_url).render_as_string(hide_password=True)
        return (
            f"Settings(bot_token={secret(self.bot_token)}, "
            f"signing_secret={secret(self.signing_secret)}, "
            f"app_token={secret(self.app_token)}, client_id={self.client_id!r}, "
            f"client_secret={secret(self.client_secret)}, "
            f"slack_api_url={self.slack_api_url!r}, database_url={url!r}, "
            f"port={self.port}, timezone={self.timezone!r}, retention_days={self.retention_days}, "
            f"log_format={self.log_format!r}, metrics_port={self.metrics_port})"
        )

    __str__ = __repr__

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        def get(name: str) -> str | None:
            value = (environ.get(name) or "").strip()
            return value or None

        bot_token = get("SLACK_BOT_TOKEN")
        signing_secret = get("SLACK_SIGNING_SECRET")
        app_token = get("SLACK_APP_TOKEN")
        client_id = get("SLACK_CLIENT_ID")
        client_secret = get("SLACK_CLIENT_SECRET")

        if client_id and not client_secret:
            raise ConfigError(
                "SLACK_CLIENT_SECRET is not set but SLACK_CLIENT_ID is: set both for OAuth "
                "installs (Basic Information > App Credentials), or neither"
            )
        if client_secret and not client_id:
            raise ConfigError(
                "SLACK_CLIENT_ID is not set but SLACK_CLIENT_SECRET is: set both for OAuth "
                "installs (Basic Information > App Credentials), or neither"
            )
        if bot_token and client_id:
            raise ConfigError(
                "SLACK_BOT_TOKEN and SLACK_CLIENT_ID are both set: unset SLACK_BOT_TOKEN for "
                "OAuth installs, or SLACK_CLIENT_ID/SLACK_CLIENT_SECRET for one workspace"
            )
        if not bot_token and not client_id:
            raise ConfigError(
                "SLACK_BOT_TOKEN is not set: set it to the bot token (xoxb-…) for one "
                "workspace, or set SLACK_CLIENT_ID and SLACK_CLIENT_SECRET for OAuth installs"
            )
        if bot_token and not bot_token.startswith(BOT_TOKEN_PREFIXES):
            raise ConfigError(
                "SLACK_BOT_TOKEN is not a bot token: use the Bot User OAuth Token, "
                "which starts with xoxb-"
            )
        if app_token and not app_token.startswith(APP_TOKEN_PREFIX):
            raise ConfigError(
                "SLACK_APP_TOKEN is not an app-level token: use one that starts with xapp- "
                "(Basic Information > App-Level Tokens, scope connections:write), or unset it"
            )
        if app_token and client_id:
            raise ConfigError(
                "SLACK_APP_TOKEN (Socket Mode) cannot serve the OAuth install pages that "
                "SLACK_CLIENT_ID asks for: unset SLACK_APP_TOKEN to serve HTTP"
            )
        if not app_token and not signing_secret:
            raise ConfigError(
                "SLACK_SIGNING_SECRET is not set: HTTP mode needs it to verify requests "
                "from Slack (Basic Information > App Credentials), or set SLACK_APP_TOKEN "
                "for Socket Mode"
            )

        # Socket Mode serves /health and /metrics only when asked for, by either variable.
        metrics_port = None
        if get("ACCOUNTPLAN_METRICS_PORT"):
            if not app_token:
                raise ConfigError(
                    "ACCOUNTPLAN_METRICS_PORT is set but Socket Mode is not: over HTTP /health "
                    "and /metrics are served on PORT with everything else, so unset it"
                )
            metrics_port = _port(get("ACCOUNTPLAN_METRICS_PORT"), "ACCOUNTPLAN_METRICS_PORT")
        elif app_token and get("PORT"):
            metrics_port = _port(get("PORT"))

        return cls(
            bot_token=bot_token,
            signing_secret=signing_secret,
            app_token=app_token,
            client_id=client_id,
            client_secret=client_secret,
            slack_api_url=_api_url(get("SLACK_API_URL") or DEFAULT_SLACK_API_URL),
            database_url=_database_url(get("DATABASE_URL") or DEFAULT_DATABASE_URL),
            port=_port(get("PORT")),
            timezone=_timezone(get("ACCOUNTPLAN_TIMEZONE") or DEFAULT_TIMEZONE),
            retention_days=_retention_days(get("ACCOUNTPLAN_RETENTION_DAYS")),
            log_format=_log_format(get("ACCOUNTPLAN_LOG_FORMAT")),
            metrics_port=metrics_port,
        )


def _api_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(
            f"SLACK_API_URL is not an http(s) URL ({url!r}): set it to the base of the "
            f"Slack Web API, such as {DEFAULT_SLACK_API_URL}, or unset it"
        )
    # WebClient appends the method name to base_url as is.
    return url if url.endswith("/") else url + "/"


def _database_url(url: str) -> str:
    try:
        make_url(url)
    except ArgumentError:
        raise ConfigError(
            "DATABASE_URL is not a database URL: use e.g. postgresql://user:password@host/db "
            "or sqlite:///accountplan.db"
        ) from None
    return url


def _port(value: str | None, name: str = "PORT") -> int:
    if value is None:
        return DEFAULT_PORT
    if not value.isdigit() or not 1 <= int(value) <= 65535:
        raise ConfigError(
            f"{name} must be a whole number from 1 to 65535 (got {value!r}): set it to the "
            "HTTP port to listen on, or unset it" + (" for 3000" if name == "PORT" else "")
        )
    return int(value)


def _log_format(value: str | None) -> str:
    if value is None:
        return LOG_FORMATS[0]
    if value.lower() not in LOG_FORMATS:
        raise ConfigError(
            f"ACCOUNTPLAN_LOG_FORMAT must be plain or json (got {value!r}): json writes each "
            "log line as one JSON object, or unset it for plain lines"
        )
    return value.lower()


def _timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ConfigError(
            f"ACCOUNTPLAN_TIMEZONE is not a known time zone ({name!r}): use an IANA name "
            "such as Europe/Berlin or America/New_York, or unset it for UTC"
        ) from None
    return name


def _retention_days(value: str | None) -> int:
    if value is None:
        return DEFAULT_RETENTION_DAYS
    if not value.isdigit() or int(value) < 1:
        raise ConfigError(
            f"ACCOUNTPLAN_RETENTION_DAYS must be a whole number of days, 1 or more (got "
            f"{value!r}): how long sent notifications and finished reminders are kept, or "
            f"unset it for {DEFAULT_RETENTION_DAYS}"
        )
    return int(value)
