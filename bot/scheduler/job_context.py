"""What a scheduler job gets: `JobContext`, and how it sends many DMs at once.

A job is `job(context, now) -> int` (how many messages it sent). `now` is the pass's
time (real, or `accountplan tick --now`); everything due at or before it is done.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from slack_sdk import WebClient
from sqlalchemy.orm import Session, sessionmaker

from bot.config import Settings
from bot.slack.ratelimit import RateLimiter

T = TypeVar("T")

SEND_THREADS = 8  # Web API calls in flight at once; the rate limiter sets the pace


@dataclass
class JobContext:
    settings: Settings
    session_factory: sessionmaker[Session]
    # A client for the workspace; raises NotInstalled (bot/slack/workspaces.py) when there is none.
    client_for_team: Callable[[str], WebClient]
    limiter: RateLimiter
    send_threads: int = SEND_THREADS
    # Work a job leaves to a later job of the same pass (a users.list listing begun
    # before the DMs went out, finished after them: bot/scheduler/time_zone_jobs.py).
    carry: dict[str, Any] = field(default_factory=dict)

    @property
    def default_timezone(self) -> str:
        """ACCOUNTPLAN_TIMEZONE: for people whose own zone Slack has not told us."""
        return self.settings.timezone

    def each(self, work: Callable[[T], bool], items: Sequence[T]) -> int:
        """Run `work` on every item (on a few threads when there are several); how many
        returned True."""
        if len(items) <= 1 or self.send_threads <= 1:
            return sum(1 for item in items if work(item))
        with ThreadPoolExecutor(max_workers=self.send_threads, thread_name_prefix="send") as pool:
            return sum(1 for done in pool.map(work, items) if done)


Job = Callable[[JobContext, dt.datetime], int]


def by_turns(items: Iterable[T], key: Callable[[T], object]) -> list[T]:
    """Items reordered so that consecutive ones go to different people where possible:
    one person's five reminders then wait on their channel's limit (one a second)
    while the others go out, instead of holding up every sender."""
    queues: dict[object, list[T]] = {}
    for item in items:
        queues.setdefault(key(item), []).append(item)
    ordered: list[T] = []
    while queues:
        for name in list(queues):
            ordered.append(queues[name].pop(0))
            if not queues[name]:
                del queues[name]
    return ordered
