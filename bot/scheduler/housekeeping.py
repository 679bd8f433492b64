"""The scheduler's housekeeping: pruning what it is done with (storage/retention.py).

`prune` is a scheduler job like the others (`job(context, now)`), but runs at most once
an hour per database, whichever instance's pass comes first: the turn is claimed in
the shared database (storage.rate_budget.claim_turn, one row), so two instances never
prune at once. `now` is the pass's (a replayed `tick --now` prunes as of then, never
more than today's retention allows). It sends nothing.
"""

from __future__ import annotations

import datetime as dt
import logging

from bot.config import engine_of
from bot.scheduler.job_context import JobContext
from storage import rate_budget, retention

log = logging.getLogger(__name__)

PRUNE_EVERY = dt.timedelta(hours=1)
PRUNE_TURN = "prune"


def prune(context: JobContext, now: dt.datetime) -> int:
    """Delete what ended more than ACCOUNTPLAN_RETENTION_DAYS ago, if it is this
    database's turn; returns 0 (no messages)."""
    if not rate_budget.claim_turn(engine_of(context.session_factory), PRUNE_TURN, now=now.timestamp(),
                                  every=PRUNE_EVERY.total_seconds()):
        return 0
    report = retention.prune(context.session_factory, now=now,
                             retention=dt.timedelta(days=context.settings.retention_days))
    if report.total:
        log.info("%s", report)
    return 0
