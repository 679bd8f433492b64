"""A reservation answers with the database's clock as it was when the slot was taken,
not when its transaction began: one that queued behind another instance's row lock
would otherwise sleep that much longer and go late, bunching with the calls reserved
after it (PostgreSQL's now() is the transaction's start; clock_timestamp() is now)."""

from __future__ import annotations

import threading
import time

from sqlalchemy import text

from storage import rate_budget

BUCKET = [("chat.postMessage", 0.05, 1)]


def test_a_reservation_that_waited_for_the_lock_answers_with_the_clock_after_the_wait(engine):
    rate_budget.reserve(engine, "T1", BUCKET)  # the row exists: the next ones queue on its lock
    answered: list[tuple[float, float]] = []
    with engine.connect() as holder:
        with holder.begin():
            rate_budget.reserve(holder, "T1", BUCKET)  # holds the row until this commits
            waiting = threading.Thread(target=lambda: answered.append(rate_budget.reserve(engine, "T1", BUCKET)))
            waiting.start()
            time.sleep(0.5)
            released = holder.execute(text(
                "SELECT CAST(extract(epoch from clock_timestamp()) AS DOUBLE PRECISION)"
                if engine.dialect.name == "postgresql" else
                "SELECT (julianday('now') - 2440587.5) * 86400.0")).scalar()
        waiting.join(10)
    ((go, clock),) = answered
    assert clock >= released - 0.01  # not the moment it began to wait, half a second before
    assert go - clock < 0.2  # its slot is one spacing after the holder's, not 0.5 s away
