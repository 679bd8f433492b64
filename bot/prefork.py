"""`accountplan serve --workers N`: several worker processes behind one port.

One Python process uses about one core (the GIL), so a busy app on a 2-core machine
answers about half as fast as it could. gunicorn's pre-fork server (the field's standard
on Linux) runs N workers behind one listening socket; each builds its own engine,
Bolt app and after-ack pool after the fork (nothing database- or thread-related is
inherited), with `gthread` workers for the same threads per process as waitress.

The scheduler runs in one process of its own, started beside the workers and stopped
with them: its claims would make every send happen once from any number of processes,
and its rate budget is shared by all of them (bot/slack/ratelimit.py), but one is enough.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from typing import Any

from gunicorn.app.base import BaseApplication

from bot.config import Settings

log = logging.getLogger("accountplan.server")

# Seconds a worker may take to finish its requests on shutdown or restart.
GRACEFUL_SECONDS = 10


def build_wsgi_app(settings: Settings):
    """In each worker, after the fork: its own engine, Bolt app and WSGI callable."""
    from bot.runtime import metrics, request_log  # noqa: PLC0415
    from bot.app import create_app  # noqa: PLC0415
    from bot.server import make_wsgi_app  # noqa: PLC0415
    from storage.db import make_engine, make_session_factory  # noqa: PLC0415

    metrics.hook_slack_calls()  # before create_app: its auth.test counts too
    request_log.configure_logging(settings.log_format)
    engine = make_engine(settings.database_url)
    return make_wsgi_app(create_app(settings, make_session_factory(engine)), engine)


def run_scheduler() -> None:
    """The scheduler's own process (a new interpreter: it shares nothing with the
    workers), configured from the same environment as `serve`."""
    from bot.runtime import metrics, request_log  # noqa: PLC0415
    from bot.scheduler import passes  # noqa: PLC0415
    from bot.server import count_passes  # noqa: PLC0415
    from storage.db import make_engine, make_session_factory  # noqa: PLC0415

    metrics.hook_slack_calls()  # its sends count in /metrics too (PROMETHEUS_MULTIPROC_DIR)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    settings = Settings.from_env()
    request_log.configure_logging(settings.log_format)
    count_passes(passes)
    engine = make_engine(settings.database_url)
    metrics.watch_pool(engine)
    try:
        passes.run_forever(settings, make_session_factory(engine))
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        engine.dispose()


class _Server(BaseApplication):
    def __init__(self, settings: Settings, options: dict[str, Any]) -> None:
        self._settings = settings
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self):
        return build_wsgi_app(self._settings)


def serve_prefork(settings: Settings, *, workers: int, scheduler: bool, threads: int) -> int:
    from bot.runtime import metrics, request_log  # noqa: PLC0415

    scheduler_process = None
    if scheduler:
        scheduler_process = subprocess.Popen(
            [sys.executable, "-c", "from bot.prefork import run_scheduler; run_scheduler()"])
        log.info("scheduler started (process %s)", scheduler_process.pid)
    serving_pid = os.getpid()  # workers are forks of this process: they must not stop it

    def on_exit(_arbiter) -> None:
        if os.getpid() != serving_pid or scheduler_process is None:
            return
        if scheduler_process.poll() is None:
            scheduler_process.terminate()
            try:
                scheduler_process.wait(GRACEFUL_SECONDS)
            except subprocess.TimeoutExpired:
                scheduler_process.kill()
        metrics.process_gone(scheduler_process.pid)

    def child_exit(_arbiter, worker) -> None:
        metrics.process_gone(worker.pid)  # its gauges (after-ack queue, pool in use) no longer count

    routes = "POST /slack/events, GET /health, GET /metrics"
    if settings.oauth:
        routes += ", GET /slack/install, GET /slack/oauth_redirect"
    log.info("serving HTTP on port %d with %d workers: %s", settings.port, workers, routes)
    options = {
        "bind": f"0.0.0.0:{settings.port}",
        "workers": workers,
        "worker_class": "gthread",
        "threads": threads,
        "graceful_timeout": GRACEFUL_SECONDS,
        "timeout": 60,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "warning",
        "proc_name": "accountplan",
        "on_exit": on_exit,
        "child_exit": child_exit,
        # Slack's requests are small and the guard (bot/runtime/request_guard.py) limits bodies.
        "limit_request_field_size": 16384,
    }
    logconfig = request_log.gunicorn_logconfig(settings.log_format)  # JSON: gunicorn's lines too
    if logconfig is not None:
        options["logconfig_dict"] = logconfig
    try:
        _Server(settings, options).run()
    finally:
        on_exit(None)
    return 0
