"""Fixtures for driving the Slack app end to end, over real HTTP, on both databases.

    slack_api   the fake Slack Web API (tests/bot/slack_api.py); the test fails at
                teardown if the app sent it anything Slack would reject
    settings    single-workspace Settings pointing SLACK_API_URL at slack_api
    bolt_app    create_app(settings, session_factory), request verification ON
    app_server  bot.server.make_wsgi_app(bolt_app, engine) on waitress, 127.0.0.1:<free>
    slack       a SlackDriver (tests/bot/driver.py): signed requests to app_server

`session_factory` and `engine` come from tests/conftest.py, so every test using them
runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import waitress
from waitress import wasyncore
from slack_bolt import App
from sqlalchemy import Engine

from bot.app import create_app, shutdown
from bot.config import Settings
from bot.server import make_wsgi_app
from tests.bot import signing
from tests.bot.driver import SlackDriver
from tests.bot.slack_api import FakeSlackAPI

BOT_TOKEN = "xoxb-test-token"


@pytest.fixture
def slack_api() -> Iterator[FakeSlackAPI]:
    api = FakeSlackAPI().start()
    try:
        yield api
    finally:
        api.stop()
    if api.violations:
        pytest.fail(
            "the app sent Slack what Slack would reject:\n  " + "\n  ".join(api.violations),
            pytrace=False,
        )


@pytest.fixture
def settings(slack_api: FakeSlackAPI) -> Settings:
    return Settings(
        bot_token=BOT_TOKEN,
        signing_secret=signing.SIGNING_SECRET,
        slack_api_url=slack_api.url,
        timezone="UTC",
    )


def stop_listeners(app: App) -> None:
    """Wait for listeners and their after-ack work, so the database outlives them."""
    shutdown(app)


@pytest.fixture
def bolt_app(settings: Settings, session_factory) -> Iterator[App]:
    app = create_app(settings, session_factory)
    yield app
    stop_listeners(app)


@dataclass
class AppServer:
    url: str
    server: object
    thread: threading.Thread

    def stop(self) -> None:
        self.server.close()  # type: ignore[attr-defined]
        self.thread.join(timeout=10)
        self.server.task_dispatcher.shutdown()  # type: ignore[attr-defined]


def start_wsgi_server(wsgi_app) -> AppServer:
    """Serve a WSGI app on waitress on 127.0.0.1:<free port> in a background thread."""
    server = waitress.create_server(wsgi_app, host="127.0.0.1", port=0, threads=8,
                                    ident="accountplan-test")

    def run() -> None:
        # server.run() polls every second (waitress takes whole seconds); a short poll
        # lets stop() return at once (5 ms, not 20: every app_server test pays it once).
        # The loop ends when close() empties the map.
        wasyncore.loop(timeout=0.005, map=server._map, use_poll=server.adj.asyncore_use_poll)

    thread = threading.Thread(target=run, name="app-server", daemon=True)
    thread.start()
    return AppServer(f"http://127.0.0.1:{server.effective_port}", server, thread)


@pytest.fixture
def app_server(bolt_app: App, engine: Engine) -> Iterator[AppServer]:
    running = start_wsgi_server(make_wsgi_app(bolt_app, engine))
    yield running
    running.stop()


@pytest.fixture
def slack(app_server: AppServer, slack_api: FakeSlackAPI) -> SlackDriver:
    return SlackDriver(app_server.url, slack_api)
