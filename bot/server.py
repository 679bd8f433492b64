"""`accountplan serve`: Socket Mode, or HTTP on waitress, plus /health, /metrics and the
scheduler. One log line per Slack request (bot/runtime/request_log.py), plain or JSON
(ACCOUNTPLAN_LOG_FORMAT)."""

from __future__ import annotations

import importlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.error import BoltError
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from bot.app import create_app, shutdown
from bot.config import ConfigError, Settings, one_line
from bot.runtime import metrics, request_log
from bot.runtime.request_guard import MAX_BODY_BYTES, guard
from storage import migrate
from storage.db import is_sqlite, make_engine, make_session_factory

# Each HTTP thread serves one request at a time and waits up to 3 s for its listener
# to ack (listeners run on the app's own, larger pool: bot/app.py LISTENER_THREADS).
HTTP_THREADS = 16

# waitress itself refuses larger bodies (413) without reading them, as a backstop; up to
# this the request guard answers (413 over MAX_BODY_BYTES, with one log line).
SERVER_MAX_BODY_BYTES = 8 * MAX_BODY_BYTES

log = logging.getLogger("accountplan.server")

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def database_ok(engine: Engine) -> bool:
    try:
        with engine.connect() as connection:
            connection.execute(text("select 1"))
        return True
    except Exception as error:  # noqa: BLE001 - any failure means "not reachable"
        log.warning("health check: database not reachable (%s)", type(error).__name__)
        return False


def make_wsgi_app(bolt_app: App, engine: Engine) -> WsgiApp:
    """The whole HTTP surface as one WSGI callable.

    POST /slack/events: every Slack request, behind bot/runtime/request_guard.py (size, signature,
    well-formed body, before Bolt reads anything), each logged and counted from its
    arrival (bot/runtime/request_log.py); in OAuth mode GET /slack/install and
    GET /slack/oauth_redirect; GET /health and GET /metrics (`monitoring`).
    """
    metrics.hook_slack_calls()
    metrics.watch_pool(engine)
    bolt = SlackRequestHandler(bolt_app, path="/slack/events")
    slack = request_log.logged(guard(bolt_app, bolt, "/slack/events"), "/slack/events")
    return monitoring(engine, otherwise=slack)


def monitoring(engine: Engine, otherwise: WsgiApp | None = None) -> WsgiApp:
    """GET /health: 200 "ok" when the database answers, else 503; GET /metrics:
    Prometheus metrics (bot/runtime/metrics.py). Anything else goes to `otherwise`
    (none: 404)."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/health" and environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            status, body = ("200 OK", b"ok\n") if database_ok(engine) else (
                "503 Service Unavailable",
                b"database unavailable\n",
            )
            return _answer(environ, start_response, status, body)
        if environ.get("PATH_INFO") == "/metrics" and environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            return metrics.serve_metrics(environ, start_response)
        if otherwise is None:
            return _answer(environ, start_response, "404 Not Found", b"not found\n")
        return otherwise(environ, start_response)

    return app


def _answer(environ: dict[str, Any], start_response: Callable[..., Any], status: str,
            body: bytes) -> list[bytes]:
    start_response(
        status, [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))])
    return [body] if environ.get("REQUEST_METHOD") != "HEAD" else []


class StartupError(Exception):
    """The app cannot start; the message is one line for people."""


def prepare_database(engine: Engine) -> None:
    """SQLite: migrate to the newest schema. PostgreSQL: insist it is current already."""
    url = engine.url.render_as_string(hide_password=True)
    try:
        if is_sqlite(engine):
            migrate.upgrade(engine)
            current = True
        else:
            current = migrate.is_current(engine)
    except DBAPIError as error:  # unreachable, refused, no such folder: one line, no traceback
        reason = (str(error.orig) or type(error.orig).__name__).strip().splitlines()[0]
        raise StartupError(f"cannot use the database at {url} ({reason}): check DATABASE_URL") from None
    if not current:
        raise StartupError(
            f"the database schema at {url} is not up to date: run `accountplan db upgrade`"
        )


def start_scheduler(
    settings: Settings, session_factory: sessionmaker[Session]
) -> threading.Thread | None:
    """Run `bot.scheduler.passes.run_forever(settings, session_factory)` on a daemon thread."""
    scheduler = importlib.import_module("bot.scheduler.passes")  # loaded only when serving
    count_passes(scheduler)

    thread = threading.Thread(
        target=scheduler.run_forever,
        args=(settings, session_factory),
        name="scheduler",
        daemon=True,
    )
    thread.start()
    log.info("scheduler started")
    return thread


def count_passes(scheduler: Any) -> None:
    """Every pass of this process's scheduler in /metrics (bot/scheduler/passes.py tells
    its observers)."""
    observers = getattr(scheduler, "observers", None)
    if observers is not None and metrics.observe_pass not in observers:
        observers.append(metrics.observe_pass)


def default_workers() -> int:
    """One worker process per core: the GIL lets one process use about one core."""
    return max(1, os.cpu_count() or 1)


def serve(no_scheduler: bool = False, workers: int | None = None) -> int:
    """Start the app and serve until stopped; returns the process exit code.

    HTTP mode with more than one worker: gunicorn's pre-fork server, each worker with
    its own engine, Bolt app and after-ack pool, all behind one port; the scheduler then
    runs in one process of its own beside them (its claims make every send happen once
    however many processes run it; one process keeps one Slack pace). One worker, and
    Socket Mode: this process, on waitress.
    """
    try:
        settings = Settings.from_env()
    except ConfigError as error:
        print(f"accountplan: {error}", file=sys.stderr)
        return 2
    request_log.configure_logging(settings.log_format)
    metrics.hook_slack_calls()  # before create_app: its auth.test counts too

    engine = make_engine(settings.database_url)
    try:
        try:
            prepare_database(engine)
        except StartupError as error:
            print(f"accountplan: {error}", file=sys.stderr)
            return 2
        session_factory = make_session_factory(engine)
        try:
            app = create_app(settings, session_factory)
        except BoltError as error:
            # e.g. auth.test rejected SLACK_BOT_TOKEN; Bolt's message names no secret.
            print(f"accountplan: cannot start the Slack app: {one_line(error)}", file=sys.stderr)
            return 2

        workers = workers or default_workers()
        if settings.socket_mode or workers == 1:
            if not no_scheduler:
                start_scheduler(settings, session_factory)
            if settings.socket_mode:
                return _serve_socket_mode(app, settings, engine)
            return _serve_http(make_wsgi_app(app, engine), settings.port, oauth=settings.oauth)
        shutdown(app)  # checked the configuration and the token; each worker builds its own
    finally:
        engine.dispose()
    from bot.prefork import serve_prefork  # noqa: PLC0415 - gunicorn loads only here

    metrics.use_multiprocess()  # before the fork: the workers and the scheduler share /metrics
    try:
        return serve_prefork(settings, workers=workers, scheduler=not no_scheduler,
                             threads=HTTP_THREADS)
    finally:
        metrics.cleanup()


def _serve_socket_mode(app: App, settings: Settings, engine: Engine) -> int:
    """Socket Mode; GET /health and /metrics on settings.metrics_port when there is one."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler  # noqa: PLC0415

    metrics.watch_pool(engine)
    server = None
    if settings.metrics_port is not None:
        server = start_monitoring(monitoring(engine), settings.metrics_port)
        log.info("serving HTTP on port %d: GET /health, GET /metrics", settings.metrics_port)
    log.info("serving in Socket Mode")
    try:
        SocketModeHandler(app, settings.app_token).start()
    except KeyboardInterrupt:
        pass
    finally:
        if server is not None:
            stop_monitoring(server)
    return 0


def start_monitoring(wsgi_app: WsgiApp, port: int, host: str = "0.0.0.0") -> Any:
    """`wsgi_app` (/health, /metrics) on waitress on a daemon thread; returns the server
    (its `effective_port`; `close()` stops it)."""
    import waitress  # noqa: PLC0415

    server = waitress.create_server(wsgi_app, host=host, port=port, threads=2, ident="accountplan")
    server.loop_thread = threading.Thread(target=server.run, name="monitoring", daemon=True)
    server.loop_thread.start()
    return server


def stop_monitoring(server: Any, wait_seconds: float = 2.0) -> None:
    """Stop a server from start_monitoring: the port is closed when this returns.

    The close runs on the server's own loop thread (a trigger thunk). Closed from here,
    the listening socket stayed open while that thread's poll() still held it (up to
    its 1 s timeout): a connection made meanwhile was accepted by the kernel, then reset.
    """
    server.trigger.pull_trigger(server.close)
    server.loop_thread.join(wait_seconds)  # the loop ends when its last connection does
    server.task_dispatcher.shutdown()


def _serve_http(wsgi_app: WsgiApp, port: int, *, oauth: bool = False) -> int:
    import waitress  # noqa: PLC0415

    server = waitress.create_server(
        wsgi_app, host="0.0.0.0", port=port, threads=HTTP_THREADS, ident="accountplan",
        max_request_body_size=SERVER_MAX_BODY_BYTES,
    )
    if threading.current_thread() is threading.main_thread():
        # Stop as cleanly on SIGTERM (containers, systemd) as on Ctrl-C.
        signal.signal(signal.SIGTERM, _interrupt)
    routes = "POST /slack/events, GET /health, GET /metrics"
    if oauth:
        routes += ", GET /slack/install, GET /slack/oauth_redirect"
    log.info("serving HTTP on port %d: %s", port, routes)
    try:
        server.run()
    except KeyboardInterrupt:
        log.info("stopping")
    finally:
        server.close()
    return 0


def _interrupt(_signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt
