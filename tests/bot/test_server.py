"""`serve` start-up and the HTTP surface: /health, /slack/events, clean refusals."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from pathlib import Path
import sys
import time
import types
import urllib.error
import urllib.request

import pytest

from bot.server import make_wsgi_app, prepare_database, serve, start_scheduler
from storage import migrate
from storage.db import make_engine
from tests.bot import signing
from tests.bot.conftest import start_wsgi_server
from tests.conftest import POSTGRES_URL, _fresh_postgres_schema

ENV_VARS = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "SLACK_CLIENT_ID",
            "SLACK_CLIENT_SECRET", "SLACK_API_URL", "DATABASE_URL", "PORT", "ACCOUNTPLAN_TIMEZONE")


@pytest.fixture
def environ(monkeypatch):
    """A clean environment for serve(); returns a setter."""
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)

    def set_env(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(name, value)

    return set_env


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


# ----------------------------------------------------------------------------- HTTP


def test_health_answers_ok_when_the_database_does(slack):
    reply = slack.get("/health")
    assert (reply.status, reply.body) == (200, "ok\n")


def test_unknown_paths_and_methods_are_404(slack):
    assert slack.get("/nope").status == 404
    assert slack.get("/slack/events").status == 404
    assert slack.get("/slack/install").status == 404  # single workspace: no install pages


@pytest.mark.parametrize(
    "url",
    ["sqlite:////nonexistent-dir/accountplan.db", "postgresql://postgres@127.0.0.1:1/test"],
    ids=["broken-sqlite-path", "closed-postgres-port"],
)
def test_health_is_503_when_the_database_is_down(bolt_app, url):
    engine = make_engine(url)
    running = start_wsgi_server(make_wsgi_app(bolt_app, engine))
    try:
        status, body = get(running.url + "/health")
        assert status == 503 and "database" in body
    finally:
        running.stop()
        engine.dispose()


# ----------------------------------------------------------------------------- serve


def one_line_on_stderr(capsys) -> str:
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    return lines[0]


def test_serve_without_configuration_says_what_to_set(environ, capsys):
    assert serve() == 2
    line = one_line_on_stderr(capsys)
    assert line.startswith("accountplan: SLACK_BOT_TOKEN is not set")


def test_serve_names_a_bad_port(environ, capsys):
    environ(SLACK_BOT_TOKEN="xoxb-1", SLACK_SIGNING_SECRET="s", PORT="eighty")
    assert serve(no_scheduler=True) == 2
    assert "PORT" in one_line_on_stderr(capsys)


def test_serve_refuses_an_unreachable_database_in_one_line(environ, capsys):
    environ(SLACK_BOT_TOKEN="xoxb-1", SLACK_SIGNING_SECRET="s",
            DATABASE_URL="sqlite:////nonexistent-dir/accountplan.db")
    assert serve(no_scheduler=True) == 2
    line = one_line_on_stderr(capsys)
    assert "cannot use the database" in line and "DATABASE_URL" in line


def test_serve_refuses_a_token_slack_rejects(environ, capsys, slack_api, tmp_path):
    slack_api.error("auth.test", "invalid_auth")
    environ(SLACK_BOT_TOKEN="xoxb-revoked", SLACK_SIGNING_SECRET="s", SLACK_API_URL=slack_api.url,
            DATABASE_URL=f"sqlite:///{tmp_path / 'a.db'}")
    assert serve(no_scheduler=True) == 2
    line = one_line_on_stderr(capsys)
    assert "cannot start the Slack app" in line and "xoxb-revoked" not in line


@pytest.mark.postgres
def test_serve_wants_a_current_schema_on_postgresql(environ, capsys, request):
    schema = _fresh_postgres_schema(request)  # empty: never migrated
    separator = "&" if "?" in POSTGRES_URL else "?"
    environ(SLACK_BOT_TOKEN="xoxb-1", SLACK_SIGNING_SECRET="s",
            DATABASE_URL=f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}")
    assert serve(no_scheduler=True) == 2
    line = one_line_on_stderr(capsys)
    assert "run `accountplan db upgrade`" in line


def test_sqlite_is_migrated_on_start(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'new.db'}")
    try:
        prepare_database(engine)
        assert migrate.is_current(engine)
        prepare_database(engine)  # and again: nothing to do
    finally:
        engine.dispose()


def test_socket_mode_when_an_app_token_is_set(environ, slack_api, tmp_path, monkeypatch):
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    started = {}
    monkeypatch.setattr(SocketModeHandler, "start",
                        lambda self: started.update(token=self.app_token, url=self.client.web_client.base_url))
    environ(SLACK_BOT_TOKEN="xoxb-1", SLACK_APP_TOKEN="xapp-1-socket", SLACK_API_URL=slack_api.url,
            DATABASE_URL=f"sqlite:///{tmp_path / 'a.db'}")
    assert serve(no_scheduler=True) == 0
    assert started == {"token": "xapp-1-socket", "url": slack_api.url}


def test_start_scheduler_runs_bot_scheduler_when_there_is_one(monkeypatch, settings):
    ran = []
    module = types.ModuleType("bot.scheduler.passes")
    module.run_forever = lambda settings, session_factory: ran.append((settings, session_factory))
    monkeypatch.setitem(sys.modules, "bot.scheduler.passes", module)
    thread = start_scheduler(settings, "factory")
    thread.join(5)
    assert thread.daemon and ran == [(settings, "factory")]


# ----------------------------------------------------------------------------- end to end


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def children_of(pid: int) -> set[int]:
    """Every process below `pid` (Linux /proc)."""
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        for child in (task / "children").read_text().split():
            found |= {int(child)} | children_of(int(child))
    return found


@pytest.mark.parametrize("workers", [1, 2], ids=["waitress", "two-workers"])
def test_serve_end_to_end(slack_api, tmp_path, workers):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ENV_VARS}
    env.update(SLACK_BOT_TOKEN="xoxb-e2e", SLACK_SIGNING_SECRET=signing.SIGNING_SECRET,
               SLACK_API_URL=slack_api.url, DATABASE_URL=f"sqlite:///{tmp_path / 'e2e.db'}",
               PORT=str(port))
    code = f"import sys; from bot.server import serve; sys.exit(serve(workers={workers}))"
    process = subprocess.Popen([sys.executable, "-c", code], cwd=tmp_path, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                status, body = get(base + "/health")
                break
            except (urllib.error.URLError, ConnectionError):
                assert process.poll() is None, process.communicate()[0]
                assert time.monotonic() < deadline, "serve did not start"
                time.sleep(0.1)
        assert (status, body) == (200, "ok\n")

        body = signing.encode_form(signing.slash_command("/accountplan", "help"))
        request = urllib.request.Request(base + "/slack/events", data=body.encode(),
                                         headers=signing.signed_headers(body, signing.FORM))
        for _ in range(6):  # several requests: each worker answers the same
            request = urllib.request.Request(base + "/slack/events", data=body.encode(),
                                             headers=signing.signed_headers(body, signing.FORM))
            with urllib.request.urlopen(request, timeout=10) as response:
                assert response.status == 200 and b"Account plans" in response.read()
        processes = children_of(process.pid)
        if workers > 1:  # the workers and the scheduler's own process, all started by now
            deadline = time.monotonic() + 10
            while len(processes) < workers + 1 and time.monotonic() < deadline:
                time.sleep(0.1)
                processes = children_of(process.pid)
            assert len(processes) >= workers + 1, processes
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=20)[0]
    assert process.returncode == 0, output

    def alive() -> list[int]:
        found = []
        for pid in processes:
            try:
                if "zombie" not in Path(f"/proc/{pid}/status").read_text():
                    found.append(pid)
            except FileNotFoundError:  # gone
                pass
        return found

    deadline = time.monotonic() + 0.5  # given half a second to go, as before; no longer waited out
    while alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not alive(), "a process outlived serve"
    assert "Traceback" not in output
    assert "scheduler started" in output
    assert "xoxb-e2e" not in output and signing.SIGNING_SECRET not in output
    assert f"serving HTTP on port {port}" in output
