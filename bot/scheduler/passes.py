"""The scheduler: reminders and digests are rows in the database, not timers.

A pass runs every job in JOBS once with one `now`. Each job claims the rows due at
`now` (storage.claims: a lease committed before anything is sent), sends, and records
the result, so any number of passes can run at once, in threads or in processes on
several machines, and each message goes out once. A pass that dies leaves its leases
to run out; the next pass takes those rows again.

- `tick(now)`: one pass, then return the exit code (`accountplan tick [--now]`: cron,
  tests; `--now` replays any moment).
- `run_forever(settings, session_factory)`: a pass every PASS_INTERVAL seconds, for
  `accountplan serve` (bot/server.py starts it on a daemon thread).

To add a job, append `job(context: JobContext, now) -> int` (bot/scheduler/job_context.py)
to JOBS: that is every job's one signature.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker

from bot.config import ConfigError, Settings, engine_of
from bot.scheduler import checkin_jobs, digest_jobs, housekeeping, reminder_jobs, time_zone_jobs
from bot.scheduler.job_context import Job, JobContext
from bot.slack.ratelimit import RateLimiter, SharedRateLimiter
from bot.slack.workspaces import Workspaces
from storage.db import make_engine, make_session_factory
from storage.models import utcnow

log = logging.getLogger(__name__)

PASS_INTERVAL = 30.0  # seconds between passes of `serve`: reminders go out at 09:00:30 at worst

JOBS: list[Job] = [
    reminder_jobs.sync_new_plans,
    checkin_jobs.schedule_checkin_rounds,  # owners asked about today: their zones come next
    time_zone_jobs.refresh_time_zones,  # what Slack gives at once, so reminders use the right zone
    reminder_jobs.deliver_notifications,
    reminder_jobs.send_item_reminders,
    reminder_jobs.send_weekly_summaries,
    checkin_jobs.send_checkins,  # objective owners asked for progress before QBRs (and monthly)
    time_zone_jobs.finish_time_zones,  # the rest of a big listing: it holds no reminder back
    digest_jobs.run_due_digests,
    digest_jobs.run_qbr_nudges,
    housekeeping.prune,  # at most once an hour per database: what ended long ago goes
]


@dataclass
class PassReport:
    now: dt.datetime
    sent: dict[str, int] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)  # jobs that raised
    seconds: float = 0.0  # how long the pass took
    reminders_due: int = 0  # reminder DMs that came due (bot/scheduler/reminder_jobs.py)

    @property
    def total(self) -> int:
        return sum(self.sent.values())

    def __str__(self) -> str:
        parts = ", ".join(f"{name} {count}" for name, count in self.sent.items() if count)
        line = f"pass at {self.now.isoformat()}: {self.total} messages sent" + (f" ({parts})" if parts else "")
        if self.failed:
            line += f"; failed: {', '.join(self.failed)}"
        return line


# Told of every pass with its report (`serve` adds its metrics: bot/runtime/metrics.py).
observers: list[Callable[[PassReport], None]] = []


def make_context(settings: Settings, session_factory: sessionmaker[Session],
                 limiter: RateLimiter | None = None, workspaces: Workspaces | None = None) -> JobContext:
    """A pass's context; by default every Slack call keeps to the budgets every instance
    shares (bot/slack/ratelimit.py SharedRateLimiter)."""
    engine = engine_of(session_factory)
    workspaces = workspaces or Workspaces(settings, engine, limiter or SharedRateLimiter(engine))
    return JobContext(settings, session_factory, workspaces.client_for, workspaces.limiter)


def run_pass(context: JobContext, now: dt.datetime, jobs: list[Job] | None = None) -> PassReport:
    """Every job once; one that fails is logged and does not stop the others."""
    report = PassReport(now)
    started = time.perf_counter()
    for job in JOBS if jobs is None else jobs:
        name = getattr(job, "__name__", repr(job))
        try:
            report.sent[name] = int(job(context, now) or 0)
        except Exception:  # noqa: BLE001 - the next job and the next pass go on
            log.exception("scheduler job %s failed", name)
            report.failed.append(name)
    report.seconds = time.perf_counter() - started
    report.reminders_due = context.carry.pop(reminder_jobs.DUE_COUNT, 0)
    for observe in observers:
        try:
            observe(report)
        except Exception:  # noqa: BLE001 - counting must never stop the scheduler
            log.exception("scheduler pass observer failed")
    return report


def settings_for_jobs(environ: Mapping[str, str] = os.environ) -> Settings:
    """Settings as `serve` reads them, except that the scheduler answers no requests and
    so needs no SLACK_SIGNING_SECRET (a cron job should not have to hold it)."""
    env = dict(environ)
    if not (env.get("SLACK_SIGNING_SECRET") or "").strip():
        env["SLACK_SIGNING_SECRET"] = "not-used-outside-requests"
    return Settings.from_env(env)


def tick(now: dt.datetime) -> int:
    """One pass at `now`; the exit code of `accountplan tick` (0: every job ran)."""
    try:
        settings = settings_for_jobs()
    except ConfigError as error:
        print(f"accountplan: {error}", file=sys.stderr)
        return 2
    engine = make_engine(settings.database_url)
    try:
        report = run_pass(make_context(settings, make_session_factory(engine)), now)
    finally:
        engine.dispose()
    print(report)
    return 1 if report.failed else 0


def run_forever(settings: Settings, session_factory: sessionmaker[Session], *,
                interval: float = PASS_INTERVAL, stop: threading.Event | None = None) -> None:
    """A pass every `interval` seconds until `stop` is set (never, for `serve`)."""
    stop = stop or threading.Event()
    workspaces = None
    while not stop.is_set():
        try:
            # One limiter for every pass (its budgets and pauses are in the database).
            # Tokens are looked at again each pass (rotation).
            engine = engine_of(session_factory)
            workspaces = workspaces or Workspaces(settings, engine, SharedRateLimiter(engine))
            workspaces.start_pass()
            report = run_pass(make_context(settings, session_factory, workspaces=workspaces), utcnow())
            if report.total or report.failed:
                log.info("%s", report)
        except Exception:  # noqa: BLE001 - e.g. the database is away: try again next time
            log.exception("scheduler pass failed")
        stop.wait(interval)
