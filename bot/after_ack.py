"""Work that happens after the ack, on a pool of its own.

Bolt runs listeners on its listener pool and, with process_before_response off, an HTTP
request waits on that pool only until its listener calls ack(). A listener that goes on
working after its ack (loading a big plan, calling Slack) keeps holding a pool thread;
with enough of those, the next request's listener cannot even start and its ack misses
Slack's 3 seconds. Measured with bench/bench_slack_ack.py: `show` of a 1,500-item plan at
concurrency 8 had acks of 30 s before this. So listeners acknowledge, then hand the
rest of their work to this pool, and the listener pool stays free for acks.

Slack's trigger_id (needed to open a modal) lives 3 s from when Slack sent the request:
work that starts too late to use it says so (`too_late_for_modal`) instead of failing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from slack_bolt import BoltContext

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


class AfterAck:
    """The pool; safe to carry on a Bolt context (copies are the same object)."""

    def __init__(self, workers: int = AFTER_ACK_WORKERS) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="after-ack")

    def __copy__(self) -> AfterAck:
        return self

    def __deepcopy__(self, memo: dict) -> AfterAck:
        return self

    def submit(self, work: Callable[..., None], **kwargs: Any) -> Future:
        return self._pool.submit(self._run, work, kwargs)

    @staticmethod
    def _run(work: Callable[..., None], kwargs: dict[str, Any]) -> None:
        try:
            work(**kwargs)
        except Exception:  # noqa: BLE001 - nobody waits on this future: log it
            log.exception("after-ack work %s failed", getattr(work, "__qualname__", work))

    def shutdown(self) -> None:
        """Finish everything submitted, then stop (tests, shutdown)."""
        self._pool.shutdown(wait=True)


def acked(handler: Callable[..., None]) -> Callable[..., None]:
    """A listener that acknowledges at once, then runs
    `handler(body=, client=, context=, payload=, respond=)` on the after-ack pool."""

    def listener(ack, body, client, context, payload, respond) -> None:
        ack()
        context[CONTEXT_KEY].submit(handler, body=body, client=client, context=context,
                                    payload=payload, respond=respond)

    listener.__name__ = listener.__qualname__ = f"acked_{handler.__name__}"
    return listener


def received_at(context: BoltContext) -> float:
    return context.get(RECEIVED_AT_KEY) or time.monotonic()


def too_late_for_modal(context: BoltContext) -> bool:
    return time.monotonic() - received_at(context) > MODAL_BUDGET_SECONDS
