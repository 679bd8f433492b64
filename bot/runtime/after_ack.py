"""Work that happens after the ack, on a pool of its own, in the order of its deadline.

Listeners acknowledge at once (Slack wants that within 3 s, whatever the database is
doing) and hand the rest of their work here. What people wait for has deadlines of
different kinds, and the pool serves the earliest deadline first:

- `Answer.MODAL`: a modal opened with the request's trigger_id, which Slack honours
  for 3 s from when it sent the request (we keep 2.5 s);
- `Answer.MESSAGE`: an answer by response_url or a message (good for 30 minutes, but
  a person is looking at the conversation: a few seconds);
- `Answer.BACKGROUND`: App Home redraws, follow-up DMs, redraws of a view after a
  save: nobody is blocked on them.

So a burst of slow `list` answers never pushes a `show` past its trigger's life, and a
Home redraw waits behind both. When the pool is so far behind that a modal would open
too late, the work still runs and says so at once (`too_late_for_modal`) instead of
failing after the deadline; work the pool estimates it cannot start in time is told
early (`on_overload`), before it waits in vain.

Work runs for its request (bot/runtime/request_log.py): the request's record waits for
it before writing its log line, learns how it ended, and lines logged meanwhile carry
the request's id. How much waits is in /metrics (`accountplan_after_ack_queued`).

Measured before this (bench/bench_slack_ack.py, FIFO pool): `show` of a 1,500-item plan
at concurrency 8 had acks of 30 s when that work ran on Bolt's own listener pool.
"""

from __future__ import annotations

import enum
import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from slack_bolt import BoltContext

from bot.runtime import metrics, request_log
from bot.runtime.request_log import RequestRecord

log = logging.getLogger(__name__)

# Threads for after-ack work. It is mostly Python (loading and rendering plans) that
# holds the GIL: every busy worker takes a share of it from the threads that ack.
# Measured with bench/bench_slack_ack.py on 2 cores: 8 workers let `mine` at
# concurrency 32 push ack p99 to 460 ms; fewer workers leave more to the acks.
AFTER_ACK_WORKERS = 4
CONTEXT_KEY = "after_ack"
RECEIVED_AT_KEY = "received_at"
# A trigger_id is valid for 3 s from Slack's side; keep a margin for the network.
MODAL_BUDGET_SECONDS = 2.5


class Answer(enum.Enum):
    """What kind of answer a piece of work gives, and so its deadline (seconds after
    the request arrived)."""

    MODAL = MODAL_BUDGET_SECONDS
    MESSAGE = 10.0
    BACKGROUND = 60.0


# Told what went wrong in after-ack work: (the error, the work's keyword arguments).
Reporter = Callable[[Exception, dict[str, Any]], None]
# Told that work will not start in time: (the work's keyword arguments).
OverloadReporter = Callable[[dict[str, Any]], None]


def _log_only(error: Exception, kwargs: dict[str, Any]) -> None:
    log.error("after-ack work failed", exc_info=error)


def _ignore_overload(kwargs: dict[str, Any]) -> None:
    log.warning("after-ack work will start too late for its answer")


class AfterAck:
    """The pool; safe to carry on a Bolt context (copies are the same object).

    Work that raises is handed to `report` (bot/runtime/ui.py report_failure tells the person
    where they acted), so nothing fails in silence.
    """

    def __init__(self, workers: int = AFTER_ACK_WORKERS, report: Reporter = _log_only,
                 on_overload: OverloadReporter = _ignore_overload) -> None:
        self._report = report
        self._on_overload = on_overload
        self._heap: list[tuple[float, int, Answer, Callable[..., None], dict[str, Any],
                               RequestRecord | None]] = []
        self._order = itertools.count()
        self._ready = threading.Condition()
        self._closing = False
        self._busy = 0
        # Seconds one piece of work takes, smoothed: to tell early when a deadline is
        # out of reach, and to drop modal work that could no longer open in time.
        # Starts optimistic so that a cold app never refuses.
        self._typical = 0.05
        self._threads = [threading.Thread(target=self._serve, name=f"after-ack-{n}", daemon=True)
                         for n in range(workers)]
        for thread in self._threads:
            thread.start()

    def __copy__(self) -> AfterAck:
        return self

    def __deepcopy__(self, memo: dict) -> AfterAck:
        return self

    def submit(self, work: Callable[..., None], *, answer: Answer = Answer.BACKGROUND,
               received_at: float | None = None, **kwargs: Any) -> None:
        """Queue `work(**kwargs)`, due `answer`'s seconds after `received_at` (monotonic;
        default now)."""
        deadline = (received_at if received_at is not None else time.monotonic()) + answer.value
        record = request_log.current() or request_log.record_of(kwargs.get("context"))
        with self._ready:
            if self._closing:
                raise RuntimeError("the after-ack pool is shut down")
            if answer is Answer.MODAL and self._wait_estimate(deadline) > deadline - time.monotonic():
                overloaded = True
            else:
                overloaded = False
                held = record if record is not None and record.hold() else None
                heapq.heappush(self._heap, (deadline, next(self._order), answer, work, kwargs, held))
                metrics.queued(+1)
                self._ready.notify()
        if overloaded:
            if record is not None:
                record.note("overloaded")
            self._safely(self._on_overload, kwargs)

    def _wait_estimate(self, deadline: float) -> float:
        """Seconds until a worker is free for work due at `deadline` (call locked)."""
        ahead = sum(1 for due, *_ in self._heap if due <= deadline) + self._busy
        rounds = ahead // len(self._threads)
        return rounds * self._typical

    def queued(self) -> int:
        with self._ready:
            return len(self._heap)

    def _serve(self) -> None:
        while True:
            with self._ready:
                while not self._heap and not self._closing:
                    self._ready.wait()
                if not self._heap:
                    return  # closing, and nothing left
                deadline, _, answer, work, kwargs, record = heapq.heappop(self._heap)
                metrics.queued(-1)
                # A modal that cannot open in time any more is not drawn for nothing
                # (measured: 44 full plan views in 10 s of overload, each thrown away,
                # while list and mine waited behind them): say so and move on.
                expired = answer is Answer.MODAL and time.monotonic() + self._typical > deadline
                if not expired:
                    self._busy += 1
            self._work_on(work, kwargs, record, expired=expired)

    def _work_on(self, work: Callable[..., None], kwargs: dict[str, Any],
                 record: RequestRecord | None, *, expired: bool) -> None:
        """Run (or, expired, tell the person about) one piece of work, as part of its
        request: lines logged meanwhile carry its id, and its record learns the end."""
        token = request_log.enter(record)
        try:
            if expired:
                if record is not None:
                    record.note("overloaded")
                self._safely(self._on_overload, kwargs)
                return
            started = time.monotonic()
            try:
                self._run(work, kwargs, record)
            finally:
                took = time.monotonic() - started
                with self._ready:
                    self._busy -= 1
                    self._typical = 0.8 * self._typical + 0.2 * took
                    self._ready.notify_all()
        finally:
            request_log.leave(token)
            if record is not None:
                record.release()

    def _run(self, work: Callable[..., None], kwargs: dict[str, Any],
             record: RequestRecord | None = None) -> None:
        try:
            work(**kwargs)
        except Exception as error:  # noqa: BLE001 - nobody waits on this work: report it
            if record is not None:
                record.note(request_log.outcome_for(error))
            try:
                self._report(error, kwargs)
            except Exception:  # noqa: BLE001 - telling failed too: the log is all that is left
                log.exception("after-ack work %s failed, and telling the person failed",
                              getattr(work, "__qualname__", work))

    def _safely(self, tell: Callable[[dict[str, Any]], None], kwargs: dict[str, Any]) -> None:
        try:
            tell(kwargs)
        except Exception:  # noqa: BLE001
            log.exception("could not tell a person that we are overloaded")

    def idle(self) -> bool:
        with self._ready:
            return not self._heap and self._busy == 0

    def shutdown(self) -> None:
        """Finish everything submitted, then stop (tests, shutdown)."""
        with self._ready:
            self._closing = True
            self._ready.notify_all()
        for thread in self._threads:
            thread.join()


def acked(handler: Callable[..., None], answer: Answer = Answer.MODAL) -> Callable[..., None]:
    """A listener that acknowledges at once, then runs
    `handler(body=, client=, context=, payload=, respond=)` on the after-ack pool.
    Buttons and shortcuts mostly open a modal: `Answer.MODAL` unless told otherwise."""

    def listener(ack, body, client, context, payload, respond) -> None:
        ack()
        context[CONTEXT_KEY].submit(handler, answer=answer, received_at=received_at(context),
                                    body=body, client=client, context=context,
                                    payload=payload, respond=respond)

    listener.__name__ = listener.__qualname__ = f"acked_{handler.__name__}"
    return listener


def received_at(context: BoltContext) -> float:
    return context.get(RECEIVED_AT_KEY) or time.monotonic()


def too_late_for_modal(context: BoltContext) -> bool:
    return time.monotonic() - received_at(context) > MODAL_BUDGET_SECONDS
