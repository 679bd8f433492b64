"""`accountplan tick` from cron pushes its samples to a Prometheus Pushgateway when
ACCOUNTPLAN_PUSHGATEWAY_URL says where (bot/runtime/metrics.py push_after_tick): a
process that lives for seconds is never scraped."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bot import cli
from bot.runtime import metrics
from storage import migrate
from storage.db import make_engine
from tests.bot.conftest import BOT_TOKEN
from tests.bot.test_cli import database  # noqa: F401 - the fixture
from tests.bot.test_rate_budget_processes import NOW, seed

REMINDED = ["U0R001", "U0R002"]


class Gateway:
    """A Pushgateway stand-in: records each push (method, path, body)."""

    def __init__(self, status: int = 200) -> None:
        self.pushes: list[tuple[str, str, str]] = []
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def _record(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                gateway.pushes.append((self.command, self.path, body))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_PUT = do_POST = _record

            def log_message(self, *args) -> None:  # quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def gateway():
    gateway = Gateway()
    yield gateway
    gateway.close()


@pytest.fixture
def tick_env(database, slack_api, monkeypatch):  # noqa: F811
    engine = make_engine(database)
    try:
        migrate.upgrade(engine)  # as the CLI does for SQLite (PostgreSQL: `db upgrade` above)
        seed(engine, reminded=REMINDED)
    finally:
        engine.dispose()
    monkeypatch.setenv("SLACK_API_URL", slack_api.url)
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    monkeypatch.setenv("ACCOUNTPLAN_TIMEZONE", "UTC")
    # A fresh registry: this test process measures other tests too, a tick process only itself.
    monkeypatch.setattr(metrics, "_metrics", None)
    monkeypatch.setattr(metrics, "_registry", None)
    for name in ("SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET",
                 "PROMETHEUS_MULTIPROC_DIR"):
        monkeypatch.delenv(name, raising=False)


def test_a_tick_pushes_what_it_did_to_the_gateway(tick_env, slack_api, gateway, monkeypatch, capsys):
    monkeypatch.setenv("ACCOUNTPLAN_PUSHGATEWAY_URL", gateway.url)
    assert cli.main(["tick", "--now", NOW.isoformat()]) == 0
    assert len([c for c in slack_api.calls_to("chat.postMessage") if c.ok]) == len(REMINDED)

    ((method, path, body),) = gateway.pushes
    assert (method, path) == ("PUT", "/metrics/job/accountplan_tick")  # replaces the last tick's
    assert "accountplan_scheduler_pass_seconds_count 1.0" in body
    assert 'accountplan_scheduler_sent_total{job="send_item_reminders"} 2.0' in body
    assert 'accountplan_slack_api_calls_total{method="chat.postMessage",status="ok"} 2.0' in body
    assert "accountplan_tick_last_push_timestamp_seconds" in body
    assert BOT_TOKEN not in body


def test_a_gateway_that_fails_does_not_fail_the_tick(tick_env, slack_api, monkeypatch, capsys):
    gateway = Gateway(status=500)
    try:
        monkeypatch.setenv("ACCOUNTPLAN_PUSHGATEWAY_URL", gateway.url)
        assert cli.main(["tick", "--now", NOW.isoformat()]) == 0  # the DMs went out
    finally:
        gateway.close()
    assert len([c for c in slack_api.calls_to("chat.postMessage") if c.ok]) == len(REMINDED)
    err = capsys.readouterr().err
    assert "could not push metrics to 127.0.0.1:" in err and "Traceback" not in err


def test_without_a_gateway_nothing_is_pushed(tick_env, slack_api, gateway, capsys):
    assert cli.main(["tick", "--now", NOW.isoformat()]) == 0
    assert gateway.pushes == []
