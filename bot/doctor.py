"""`accountplan doctor`: is this configuration ready to serve? One line per check.

    OK    configuration: one workspace (SLACK_BOT_TOKEN), Socket Mode
    OK    database: postgresql+psycopg://app:***@db/accountplan reachable, schema current (0005)
    FAIL  bot token scopes: lacks im:read (…): add it in OAuth & Permissions > Scopes, …

Each line is OK, WARN (works, but worth a look) or FAIL (with what to do); SKIP says a
check could not run because of an earlier FAIL. The checks: the configuration
(Settings.from_env), the database (reachable, schema current), the Slack API URL
(reachable), the bot token (auth.test) and its scopes (the x-oauth-scopes header Slack
sends back) or, in OAuth mode, the installations' scopes, and the mode: Socket Mode
(SLACK_APP_TOKEN opens a connection with apps.connections.open) or HTTP (the signing
secret). Exit code 1 when any check fails.

No secret is ever printed: messages name variables, never their values, and every line
is scrubbed of the tokens, secrets and database password as a last guard.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import Engine, inspect, make_url, select, text
from sqlalchemy.exc import ArgumentError

from bot.config import (
    APP_TOKEN_PREFIX,
    BOT_TOKEN_PREFIXES,
    DEFAULT_SLACK_API_URL,
    ConfigError,
    Settings,
    one_line,
)
from storage.db import DEFAULT_DATABASE_URL, is_sqlite, make_engine, normalize_url

OK, WARN, FAIL, SKIP = "OK", "WARN", "FAIL", "SKIP"
TIMEOUT_SECONDS = 10  # one Slack call
SIGNING_SECRET = re.compile(r"[0-9a-f]{32}")
SCOPES_HEADER = "x-oauth-scopes"
APP_TOKEN_SCOPE = "connections:write"

# What Slack's auth errors mean for the person at the terminal.
TOKEN_ERRORS = {
    "invalid_auth": "is not a valid token (mistyped, or from another app)",
    "not_authed": "was not sent",
    "token_revoked": "was revoked (the app was uninstalled or the token reset)",
    "account_inactive": "belongs to a deactivated user or workspace",
    "token_expired": "has expired (token rotation is on: turn it off for a fixed token, or use OAuth mode)",
    "not_allowed_token_type": "is the wrong kind of token",
}


@dataclass(frozen=True)
class Check:
    status: str
    name: str
    message: str

    def line(self) -> str:
        return f"{self.status:<4}  {self.name}: {self.message}"


def _header(headers: Any, name: str) -> str | None:
    for key, value in dict(headers or {}).items():
        if key.lower() == name:
            return value
    return None


def _slack_error(error: SlackApiError) -> str | None:
    data = getattr(error.response, "data", None)
    return data.get("error") if isinstance(data, dict) else None


def _public_url(url: str) -> str:
    """A URL to show: without any user:password@ part."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


class Doctor:
    def __init__(self, environ: Mapping[str, str] = os.environ, *,
                 timeout: int = TIMEOUT_SECONDS) -> None:
        self.environ = environ
        self.timeout = timeout
        self.settings: Settings | None = None
        self.engine: Engine | None = None
        self.api_reachable = False

    # ------------------------------------------------------------------ inputs

    def get(self, name: str) -> str | None:
        return (self.environ.get(name) or "").strip() or None

    @property
    def bot_token(self) -> str | None:
        return self.settings.bot_token if self.settings else self.get("SLACK_BOT_TOKEN")

    @property
    def app_token(self) -> str | None:
        return self.settings.app_token if self.settings else self.get("SLACK_APP_TOKEN")

    @property
    def client_id(self) -> str | None:
        return self.settings.client_id if self.settings else self.get("SLACK_CLIENT_ID")

    @property
    def signing_secret(self) -> str | None:
        return self.settings.signing_secret if self.settings else self.get("SLACK_SIGNING_SECRET")

    @property
    def api_url(self) -> str:
        if self.settings:
            return self.settings.slack_api_url
        url = self.get("SLACK_API_URL") or DEFAULT_SLACK_API_URL
        return url if url.endswith("/") else url + "/"

    @property
    def database_url(self) -> str:
        return normalize_url(self.get("DATABASE_URL") or DEFAULT_DATABASE_URL)

    def secrets(self) -> list[str]:
        values = [self.get(name) for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN",
                                              "SLACK_SIGNING_SECRET", "SLACK_CLIENT_SECRET")]
        for url in (self.get("DATABASE_URL"), self.get("SLACK_API_URL")):
            try:
                values.append(make_url(url).password if url and "://" in url else None)
            except (ArgumentError, ValueError):
                pass
            try:
                values.append(urlsplit(url or "").password)
            except ValueError:
                pass
        return sorted({v for v in values if v and len(v) >= 4}, key=len, reverse=True)

    def scrub(self, line: str) -> str:
        for secret in self.secrets():
            line = line.replace(secret, "[hidden]")
        return line

    def client(self, token: str | None = None) -> WebClient:
        return WebClient(token=token, base_url=self.api_url, timeout=self.timeout)

    # ------------------------------------------------------------------ checks

    def checks(self) -> Iterator[Check]:
        steps: list[Callable[[], Iterator[Check]]] = [
            self.check_configuration, self.check_database, self.check_slack_api,
            self.check_token, self.check_mode,
        ]
        try:
            for step in steps:
                for check in step():
                    yield Check(check.status, check.name, self.scrub(one_line(check.message)))
        finally:
            if self.engine is not None:
                self.engine.dispose()

    def check_configuration(self) -> Iterator[Check]:
        try:
            self.settings = Settings.from_env(self.environ)
        except ConfigError as error:
            yield Check(FAIL, "configuration", str(error))
            return
        settings = self.settings
        who = ("OAuth installs (SLACK_CLIENT_ID), any number of workspaces" if settings.oauth
               else "one workspace (SLACK_BOT_TOKEN)")
        how = "Socket Mode (SLACK_APP_TOKEN)" if settings.socket_mode else f"HTTP on port {settings.port}"
        yield Check(OK, "configuration", f"{who}, {how}")

    def check_database(self) -> Iterator[Check]:
        name = "database"
        try:
            engine = make_engine(self.database_url)
        except ArgumentError:
            yield Check(FAIL, name, "DATABASE_URL is not a database URL: use e.g. "
                                    "postgresql://user:password@host/db or sqlite:///accountplan.db")
            return
        except ModuleNotFoundError as error:
            yield Check(FAIL, name, f"DATABASE_URL needs the database driver {error.name}, not installed: "
                                    "pip install the app again (`pip install .` includes psycopg)")
            return
        shown = engine.url.render_as_string(hide_password=True)
        sqlite = is_sqlite(engine)
        if sqlite and engine.url.database and engine.url.database != ":memory:" \
                and not engine.url.database.startswith("file:"):
            path = Path(engine.url.database)
            if not path.exists():
                engine.dispose()
                if not path.parent.is_dir():
                    yield Check(FAIL, name, f"{shown}: the folder {path.parent} does not exist: "
                                            "create it or point DATABASE_URL elsewhere")
                else:
                    yield Check(OK, name, f"{shown} does not exist yet: `accountplan serve` creates "
                                          "it (for several instances use PostgreSQL)")
                return
        try:
            with engine.connect() as connection:
                connection.execute(text("select 1"))
                state = _schema_state(connection)
        except Exception as error:  # noqa: BLE001 - any failure is "not reachable", said as such
            engine.dispose()
            original = getattr(error, "orig", None) or error
            reason = (str(original).strip().splitlines() or [type(original).__name__])[0]
            yield Check(FAIL, name, f"cannot use {shown} ({type(original).__name__}: {reason}): check "
                                    "DATABASE_URL, and that the server runs and lets this machine in")
            return
        self.engine = engine
        current, heads, unknown = state
        at = ", ".join(sorted(current)) or "empty"
        if unknown:
            yield Check(FAIL, name, f"{shown}: the schema ({at}) is newer than this version of "
                                    "accountplan knows: deploy the newer version (or the database "
                                    "belongs to something else)")
        elif current == heads:
            yield Check(OK, name, f"{shown} reachable, schema current ({at})")
        elif sqlite:
            yield Check(OK, name, f"{shown} reachable; schema {'at ' + at if current else 'empty'}: "
                                  "`accountplan serve` and `tick` upgrade SQLite on start")
        else:
            where = f"at {at}, this version needs {', '.join(sorted(heads))}" if current else "empty"
            yield Check(FAIL, name, f"{shown} reachable, but the schema is not up to date ({where}): "
                                    "run `accountplan db upgrade`")

    def check_slack_api(self) -> Iterator[Check]:
        name = "Slack API"
        url = _public_url(self.api_url)
        parts = urlsplit(self.api_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            yield Check(FAIL, name, f"SLACK_API_URL is not an http(s) URL ({url}): unset it for "
                                    f"{DEFAULT_SLACK_API_URL}")
            return
        try:
            response = self.client().api_test()
        except SlackApiError as error:
            status = getattr(error.response, "status_code", "?")
            yield Check(FAIL, name, f"{url} answers, but not as the Slack Web API (HTTP {status}, "
                                    f"{_slack_error(error) or 'not JSON'}): check SLACK_API_URL "
                                    "(it ends in /api/)")
            return
        except Exception as error:  # noqa: BLE001 - DNS, refused, TLS, timeout: all "unreachable"
            reason = getattr(error, "reason", None) or error
            yield Check(FAIL, name, f"cannot reach {url} ({type(error).__name__}: {one_line(str(reason))}): "
                                    "check the network, a proxy (HTTPS_PROXY) or SLACK_API_URL")
            return
        if not response.get("ok"):
            yield Check(FAIL, name, f"{url} answered api.test with {response.get('error')}: "
                                    "check SLACK_API_URL")
            return
        self.api_reachable = True
        yield Check(OK, name, f"{url} answers")

    def check_token(self) -> Iterator[Check]:
        if self.client_id:
            yield from self.check_installations()
            return
        name = "bot token"
        token = self.bot_token
        if not token:
            yield Check(SKIP, name, "no SLACK_BOT_TOKEN (see configuration)")
            return
        if not token.startswith(BOT_TOKEN_PREFIXES):
            yield Check(SKIP, name, "SLACK_BOT_TOKEN is not a bot token (see configuration)")
            return
        if not self.api_reachable:
            yield Check(SKIP, name, "the Slack API is not reachable (see above)")
            return
        try:
            response = self.client(token).auth_test()
        except SlackApiError as error:
            code = _slack_error(error)
            meaning = TOKEN_ERRORS.get(code or "", f"was refused ({code or 'no answer'})")
            yield Check(FAIL, name, f"SLACK_BOT_TOKEN {meaning}: copy the Bot User OAuth Token again "
                                    "(OAuth & Permissions; install the app to the workspace first)")
            return
        except Exception as error:  # noqa: BLE001
            yield Check(FAIL, name, f"auth.test failed ({type(error).__name__}): try again, or check "
                                    "SLACK_API_URL")
            return
        if not response.get("bot_id"):
            yield Check(FAIL, name, "SLACK_BOT_TOKEN is not a bot's token: use the Bot User OAuth Token")
            return
        yield Check(OK, name, f"valid: @{response.get('user')} in workspace {response.get('team')} "
                              f"({response.get('team_id')})")
        yield self._scopes_check(_header(response.headers, SCOPES_HEADER))

    def _scopes_check(self, header: str | None) -> Check:
        from bot.app import BOT_SCOPES  # noqa: PLC0415
        from bot.manifest import SCOPE_REASONS  # noqa: PLC0415

        name = "bot token scopes"
        if header is None:
            return Check(WARN, name, "Slack did not say which scopes the token holds (no x-oauth-scopes "
                                     "header): compare OAuth & Permissions > Scopes with `accountplan "
                                     "manifest`")
        held = {scope.strip() for scope in header.split(",") if scope.strip()}
        missing = [scope for scope in BOT_SCOPES if scope not in held]
        if not missing:
            return Check(OK, name, f"holds every scope the app needs ({len(BOT_SCOPES)})")
        why = "; ".join(f"{scope} ({SCOPE_REASONS.get(scope, 'needed')})" for scope in missing)
        return Check(FAIL, name, f"lacks {why}: add them in OAuth & Permissions > Scopes (or update "
                                 "the app from `accountplan manifest`), reinstall the app to the "
                                 "workspace, and copy the new bot token into SLACK_BOT_TOKEN")

    def check_installations(self) -> Iterator[Check]:
        from bot.app import BOT_SCOPES  # noqa: PLC0415

        name = "installations"
        if self.engine is None:
            yield Check(SKIP, name, "the database is not reachable (see above)")
            return
        from slack_sdk.oauth.installation_store.sqlalchemy import (  # noqa: PLC0415
            SQLAlchemyInstallationStore,
        )

        bots = SQLAlchemyInstallationStore(client_id=self.client_id, engine=self.engine).bots
        try:
            with self.engine.connect() as connection:
                if not inspect(connection).has_table(bots.name):
                    rows = []
                else:
                    rows = connection.execute(
                        select(bots.c.enterprise_id, bots.c.team_id, bots.c.bot_scopes)
                        .where(bots.c.client_id == self.client_id)
                        .order_by(bots.c.installed_at.desc())
                    ).all()
        except Exception as error:  # noqa: BLE001
            yield Check(FAIL, name, f"cannot read the installations ({type(error).__name__})")
            return
        latest: dict[tuple[Any, Any], str] = {}
        for enterprise_id, team_id, scopes in rows:
            latest.setdefault((enterprise_id, team_id), scopes or "")
        if not latest:
            yield Check(WARN, name, "no workspace has installed the app yet: open "
                                    "https://YOUR-HOST/slack/install")
            return
        lacking = []
        for (enterprise_id, team_id), scopes in latest.items():
            held = {scope.strip() for scope in scopes.split(",")}
            missing = [scope for scope in BOT_SCOPES if scope not in held]
            if missing:
                lacking.append(f"{team_id or enterprise_id} ({', '.join(missing)})")
        if lacking:
            yield Check(FAIL, name, f"{len(lacking)} of {len(latest)} workspaces lack scopes the app needs: "
                                    f"{'; '.join(lacking[:10])}{' …' if len(lacking) > 10 else ''}: "
                                    "someone there opens https://YOUR-HOST/slack/install again")
        else:
            yield Check(OK, name, f"{len(latest)} workspace{'s' if len(latest) != 1 else ''}, "
                                  "each with every scope the app needs")

    def check_mode(self) -> Iterator[Check]:
        if self.app_token:
            yield from self.check_socket_mode()
        else:
            yield from self.check_signing_secret()

    def check_socket_mode(self) -> Iterator[Check]:
        name = "Socket Mode"
        token = self.app_token or ""
        if not token.startswith(APP_TOKEN_PREFIX):
            yield Check(FAIL, name, "SLACK_APP_TOKEN is not an app-level token: generate one that starts "
                                    f"with xapp- (Basic Information > App-Level Tokens, scope "
                                    f"{APP_TOKEN_SCOPE}), or unset it to serve HTTP")
            return
        if not self.api_reachable:
            yield Check(SKIP, name, "the Slack API is not reachable (see above)")
            return
        try:
            self.client().apps_connections_open(app_token=token)
        except SlackApiError as error:
            code = _slack_error(error)
            if code == "missing_scope":
                advice = (f"SLACK_APP_TOKEN lacks the scope {APP_TOKEN_SCOPE}: generate an app-level "
                          "token with it (Basic Information > App-Level Tokens)")
            else:
                meaning = TOKEN_ERRORS.get(code or "", f"was refused ({code or 'no answer'})")
                advice = (f"SLACK_APP_TOKEN {meaning}: generate a new app-level token with "
                          f"{APP_TOKEN_SCOPE} (Basic Information > App-Level Tokens), and check "
                          "that Socket Mode is on (Settings > Socket Mode)")
            yield Check(FAIL, name, advice)
            return
        except Exception as error:  # noqa: BLE001
            yield Check(FAIL, name, f"apps.connections.open failed ({type(error).__name__}): try again")
            return
        yield Check(OK, name, "SLACK_APP_TOKEN opens connections (apps.connections.open)")

    def check_signing_secret(self) -> Iterator[Check]:
        name = "HTTP mode"
        secret = self.signing_secret
        if not secret:
            yield Check(FAIL, name, "SLACK_SIGNING_SECRET is not set: copy Basic Information > App "
                                    "Credentials > Signing Secret (or set SLACK_APP_TOKEN for Socket Mode)")
            return
        if secret == self.get("SLACK_CLIENT_SECRET"):
            yield Check(FAIL, name, "SLACK_SIGNING_SECRET is the client secret: copy the Signing Secret "
                                    "(Basic Information > App Credentials) instead")
            return
        if not SIGNING_SECRET.fullmatch(secret):
            yield Check(WARN, name, "SLACK_SIGNING_SECRET does not look like a Slack signing secret "
                                    "(32 hexadecimal characters): check it is Basic Information > App "
                                    "Credentials > Signing Secret, not the verification token")
            return
        yield Check(OK, name, "SLACK_SIGNING_SECRET is set; Slack must reach https://YOUR-HOST/slack/events "
                              "(check from outside: curl https://YOUR-HOST/health)")


def _schema_state(connection) -> tuple[set[str], set[str], set[str]]:
    """(revisions the database is at, the newest this code knows, revisions it does not know)."""
    from alembic.runtime.migration import MigrationContext  # noqa: PLC0415
    from alembic.script import ScriptDirectory  # noqa: PLC0415

    from storage.migrate import alembic_config  # noqa: PLC0415

    script = ScriptDirectory.from_config(alembic_config())
    heads = set(script.get_heads())
    if not inspect(connection).has_table("alembic_version"):
        return set(), heads, set()
    current = set(MigrationContext.configure(connection).get_current_heads())
    known = {revision.revision for revision in script.walk_revisions()}
    return current, heads, current - known


def run(environ: Mapping[str, str] = os.environ, out=None) -> int:
    """Print one line per check; 0 when nothing failed, else 1."""
    import sys  # noqa: PLC0415

    out = out or sys.stdout
    doctor = Doctor(environ)
    failed = warned = 0
    for check in doctor.checks():
        print(check.line(), file=out, flush=True)
        failed += check.status == FAIL
        warned += check.status == WARN
    if failed:
        print(f"{failed} problem{'s' if failed != 1 else ''}: fix the FAIL lines above, then run "
              "`accountplan doctor` again", file=out)
        return 1
    print("ready to serve" + (f" ({warned} warning{'s' if warned != 1 else ''})" if warned else ""),
          file=out)
    return 0
