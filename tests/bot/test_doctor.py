"""`accountplan doctor` against the fake Slack Web API and a real database (SQLite, and
PostgreSQL in a schema of its own): one line per check, exit 1 when one fails, and no
secret ever printed."""

from __future__ import annotations

import socket
from types import SimpleNamespace

import pytest
from slack_sdk.oauth.installation_store import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore

from bot import cli
from bot.app import BOT_SCOPES
from storage.db import make_engine
from tests.conftest import POSTGRES_URL, _fresh_postgres_schema

BOT_TOKEN = "xoxb-1111-2222-doctorbotsecret"
APP_TOKEN = "xapp-1-A111-3333-doctorappsecret"
SIGNING_SECRET = "0123456789abcdef0123456789abcdef"
CLIENT_SECRET = "fedcba9876543210fedcba9876543210"
DB_PASSWORD = "d0ct0r-db-password"
SECRETS = (BOT_TOKEN, APP_TOKEN, SIGNING_SECRET, CLIENT_SECRET, DB_PASSWORD)
SLACK_VARIABLES = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "SLACK_CLIENT_ID",
                   "SLACK_CLIENT_SECRET", "SLACK_API_URL", "DATABASE_URL", "PORT",
                   "ACCOUNTPLAN_TIMEZONE")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request, tmp_path) -> SimpleNamespace:
    """An empty database (url) and how to bring it up to date (upgrade())."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'doctor.db'}"
    else:
        url = f"{POSTGRES_URL}?options=-csearch_path%3D{_fresh_postgres_schema(request)}"

    def upgrade() -> None:
        from storage import migrate

        engine = make_engine(url)
        try:
            migrate.upgrade(engine)
        finally:
            engine.dispose()

    return SimpleNamespace(url=url, kind=request.param, upgrade=upgrade)


@pytest.fixture
def doctor(monkeypatch, capsys, slack_api, database):
    """doctor(**env) runs `accountplan doctor` with exactly these variables (besides a
    current database and SLACK_API_URL on the fake API unless given)."""

    def run(upgrade: bool = True, **env: str | None) -> SimpleNamespace:
        if upgrade:
            database.upgrade()
        for name in SLACK_VARIABLES:
            monkeypatch.delenv(name, raising=False)
        env = {"DATABASE_URL": database.url, "SLACK_API_URL": slack_api.url, **env}
        for name, value in env.items():
            if value is not None:
                monkeypatch.setenv(name, value)
        code = cli.main(["doctor"])
        out, err = capsys.readouterr()
        for secret in SECRETS:
            assert secret not in out + err, f"doctor printed a secret: {out + err}"
        lines = out.splitlines()
        checks = {line[6:].split(":", 1)[0]: line[:4].strip() for line in lines[:-1]}
        return SimpleNamespace(code=code, out=out, err=err, lines=lines, checks=checks,
                               line=lambda name: next(l for l in lines if l[6:].startswith(name + ":")))

    return run


SINGLE_HTTP = dict(SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET)
SOCKET = dict(SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_APP_TOKEN=APP_TOKEN)


def test_all_well_over_http(doctor, slack_api):
    result = doctor(**SINGLE_HTTP)
    assert result.code == 0, result.out
    assert result.checks == {"configuration": "OK", "database": "OK", "Slack API": "OK",
                             "bot token": "OK", "bot token scopes": "OK", "HTTP mode": "OK"}
    assert result.lines[-1] == "ready to serve"
    assert "one workspace (SLACK_BOT_TOKEN), HTTP on port 3000" in result.line("configuration")
    assert "schema current" in result.line("database")
    assert "@accountplan in workspace Account Plan Test (T1)" in result.line("bot token")
    assert f"every scope the app needs ({len(BOT_SCOPES)})" in result.line("bot token scopes")
    assert [call.token for call in slack_api.calls_to("auth.test")] == [BOT_TOKEN]
    assert result.err == ""


def test_all_well_in_socket_mode(doctor, slack_api):
    result = doctor(**SOCKET)
    assert result.code == 0, result.out
    assert result.checks["Socket Mode"] == "OK"
    assert "HTTP mode" not in result.checks
    assert "Socket Mode (SLACK_APP_TOKEN)" in result.line("configuration")
    (call,) = slack_api.calls_to("apps.connections.open")
    assert call.token == APP_TOKEN


def test_missing_scopes_are_named_with_why_and_what_to_do(doctor, slack_api):
    slack_api.scopes = [scope for scope in BOT_SCOPES if scope not in ("im:read", "canvases:write")]
    result = doctor(**SINGLE_HTTP)
    assert result.code == 1
    line = result.line("bot token scopes")
    assert line.startswith("FAIL")
    assert "im:read (" in line and "canvases:write (" in line and "chat:write " not in line
    assert "reinstall" in line
    assert "1 problem" in result.lines[-1]


def test_no_scopes_header_is_a_warning(doctor, slack_api):
    slack_api.scopes = None
    result = doctor(**SINGLE_HTTP)
    assert result.code == 0
    assert result.checks["bot token scopes"] == "WARN"
    assert result.lines[-1] == "ready to serve (1 warning)"


@pytest.mark.parametrize(("error", "says"), [
    ("invalid_auth", "is not a valid token"),
    ("token_revoked", "was revoked"),
    ("something_new", "was refused (something_new)"),
])
def test_a_refused_bot_token(doctor, slack_api, error, says):
    slack_api.error("auth.test", error)
    result = doctor(**SINGLE_HTTP)
    assert result.code == 1
    line = result.line("bot token")
    assert line.startswith("FAIL") and says in line and "Bot User OAuth Token" in line
    assert "bot token scopes" not in result.checks


def test_socket_mode_token_without_connections_write(doctor, slack_api):
    slack_api.app_token_scopes = ["authorizations:read"]
    result = doctor(**SOCKET)
    assert result.code == 1
    assert result.checks["Socket Mode"] == "FAIL"
    assert "lacks the scope connections:write" in result.line("Socket Mode")


def test_socket_mode_token_refused(doctor, slack_api):
    slack_api.error("apps.connections.open", "invalid_auth")
    result = doctor(**SOCKET)
    assert result.code == 1
    assert "generate a new app-level token" in result.line("Socket Mode")


def test_not_an_app_token(doctor):
    result = doctor(SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_APP_TOKEN="xoxp-" + APP_TOKEN)
    assert result.code == 1
    assert result.checks["configuration"] == "FAIL"
    assert result.checks["Socket Mode"] == "FAIL"
    assert "xapp-" in result.line("Socket Mode")
    assert result.checks["bot token"] == "OK"  # the other checks still run


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_slack_api_unreachable(doctor, slack_api):
    result = doctor(**SINGLE_HTTP, SLACK_API_URL=f"http://127.0.0.1:{closed_port()}/api/")
    assert result.code == 1
    assert result.checks["Slack API"] == "FAIL"
    assert "cannot reach http://127.0.0.1:" in result.line("Slack API")
    assert result.checks["bot token"] == "SKIP"
    assert slack_api.calls == []


def test_slack_api_url_that_is_not_the_api(doctor, slack_api):
    result = doctor(**SINGLE_HTTP, SLACK_API_URL=slack_api.base_url + "/not-the-api/")
    assert result.code == 1
    assert "not as the Slack Web API" in result.line("Slack API")


def test_slack_api_url_with_credentials_is_shown_without_them(doctor, slack_api):
    url = slack_api.url.replace("http://", f"http://proxyuser:{DB_PASSWORD}@")
    result = doctor(**SINGLE_HTTP, SLACK_API_URL=url)
    assert "proxyuser" not in result.out  # and the password: checked for every run


def test_configuration_failure_still_checks_the_rest(doctor):
    result = doctor(SLACK_BOT_TOKEN=BOT_TOKEN)  # HTTP mode without a signing secret
    assert result.code == 1
    assert result.checks["configuration"] == "FAIL"
    assert "SLACK_SIGNING_SECRET is not set" in result.line("configuration")
    assert result.checks["database"] == result.checks["bot token"] == "OK"
    assert result.checks["HTTP mode"] == "FAIL"


def test_signing_secret_mixups(doctor):
    odd = doctor(SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET="not-a-signing-secret-at-all")
    assert odd.code == 0 and odd.checks["HTTP mode"] == "WARN"


def test_schema_not_current(doctor, database):
    result = doctor(upgrade=False, **SINGLE_HTTP)
    line = result.line("database")
    if database.kind == "sqlite":
        assert result.code == 0 and line.startswith("OK") and "does not exist yet" in line
    else:
        assert result.code == 1 and line.startswith("FAIL") and "accountplan db upgrade" in line


@pytest.mark.postgres
def test_database_unreachable_without_printing_its_password(doctor):
    url = f"postgresql://app:{DB_PASSWORD}@127.0.0.1:{closed_port()}/accountplan"
    result = doctor(upgrade=False, **SINGLE_HTTP, DATABASE_URL=url)
    assert result.code == 1
    line = result.line("database")
    assert line.startswith("FAIL") and "cannot use postgresql+psycopg://app:***@127.0.0.1" in line
    assert "check DATABASE_URL" in line


def test_sqlite_in_a_folder_that_does_not_exist(doctor, tmp_path):
    result = doctor(upgrade=False, **SINGLE_HTTP, DATABASE_URL=f"sqlite:///{tmp_path}/nowhere/x.db")
    assert result.code == 1
    assert "does not exist" in result.line("database")
    assert not (tmp_path / "nowhere").exists()


def test_a_database_url_that_is_not_one(doctor):
    result = doctor(upgrade=False, **SINGLE_HTTP, DATABASE_URL=f"not a url {DB_PASSWORD}")
    assert result.code == 1
    assert result.checks["configuration"] == result.checks["database"] == "FAIL"


OAUTH = dict(SLACK_CLIENT_ID="1.2", SLACK_CLIENT_SECRET=CLIENT_SECRET,
             SLACK_SIGNING_SECRET=SIGNING_SECRET)


def install(url: str, team_id: str, scopes) -> None:
    engine = make_engine(url)
    try:
        store = SQLAlchemyInstallationStore(client_id="1.2", engine=engine)
        store.create_tables()
        store.save(Installation(app_id="A1", team_id=team_id, user_id="U1", bot_token="xoxb-" + team_id,
                                bot_id="B1", bot_user_id="UBOT", bot_scopes=list(scopes)))
    finally:
        engine.dispose()


def test_oauth_mode_checks_the_installations(doctor, database):
    result = doctor(**OAUTH)
    assert result.code == 0
    assert result.checks["installations"] == "WARN"
    assert "/slack/install" in result.line("installations")

    install(database.url, "T1", BOT_SCOPES)
    install(database.url, "T2", [scope for scope in BOT_SCOPES if scope != "mpim:read"])
    result = doctor(**OAUTH)
    assert result.code == 1
    line = result.line("installations")
    assert line.startswith("FAIL") and "1 of 2 workspaces" in line and "T2 (mpim:read)" in line

    install(database.url, "T2", BOT_SCOPES)  # installed again, approving the new scope
    result = doctor(**OAUTH)
    assert result.code == 0, result.out
    assert "2 workspaces, each with every scope" in result.line("installations")
    assert "bot token" not in result.checks


def test_signing_secret_that_is_the_client_secret(doctor):
    result = doctor(**{**OAUTH, "SLACK_SIGNING_SECRET": CLIENT_SECRET})
    assert result.code == 1
    assert "is the client secret" in result.line("HTTP mode")
