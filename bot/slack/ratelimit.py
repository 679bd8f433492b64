"""Keeping to Slack's rate limits when the scheduler sends many DMs at once.

Slack limits each Web API method per workspace (tiers: 20+, 50+, 100+ a minute) and
chat.postMessage also per channel (about one message a second, short bursts allowed)
and per workspace (a limit Slack does not publish: "several hundred a minute").
A pass with thousands of due reminders must not send as fast as it can and then live
on 429s. So every call first takes a slot from token buckets: one per (workspace,
method), and for chat.postMessage one per (workspace, channel) too. Slots are reserved
in order, so concurrent senders queue up instead of racing for the same token.

When Slack answers 429 anyway (the real limit is lower than ours, or something else
spends the workspace's quota), the whole workspace pauses for Retry-After: no other
call to it goes out meanwhile (`PauseOnRateLimit`, a slack_sdk retry handler, tells the
limiter; the call itself is retried after Retry-After).

Two limiters keep the same limits:
- `SharedRateLimiter` (what the scheduler uses): the buckets and the pause are rows of
  the database every instance shares (storage/rate_budget.py), so any number of
  instances together keep to one budget per workspace and method, and a 429 one of
  them hears pauses them all. One statement reserves a call's slots; a caller that had
  to wait looks once more whether a pause came meanwhile.
- `RateLimiter`: the same in this process's memory (tests, tools; one process only).

Callers take a slot with `acquire(team, method, channel)` right before the call; the
scheduler's clients (bot/slack/workspaces.py) take one themselves for every call whose caller
did not (`before_call`), so digests, QBR reminders and anything added later keep to the
budget too, and no call takes two.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from bot.slack.errors import retry_after
from storage import rate_budget

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limit:
    per_second: float
    burst: int = 1


def per_minute(calls: int, burst: int) -> Limit:
    return Limit(calls / 60, burst)


TIER_2, TIER_3, TIER_4 = per_minute(20, 3), per_minute(50, 5), per_minute(100, 10)

# Per workspace and method. chat.postMessage: Slack's workspace-wide limit is not
# published; 300 a minute stays under "several hundred a minute".
DEFAULT_LIMITS: dict[str, Limit] = {
    "chat.postMessage": per_minute(300, 10),
    "chat.update": TIER_3,
    "conversations.open": TIER_3,
    "conversations.history": TIER_3,
    "conversations.info": TIER_3,
    "files.getUploadURLExternal": TIER_4,  # a digest's progress chart (two calls a digest)
    "files.completeUploadExternal": TIER_4,
    "users.info": TIER_4,
    "views.publish": TIER_4,
}
OTHER_METHODS = TIER_2  # a method not listed (users.list, canvases.*, …): the common tier
PER_CHANNEL = Limit(1.0, 1)  # chat.postMessage in one channel (a person's DM)
CHANNEL_METHODS = ("chat.postMessage",)
# A slot taken with acquire() is the one the caller's next call of that method (in the
# same thread, this soon) goes out on; a client does not take another for it.
CREDIT_SECONDS = 1.0


class TokenBucket:
    """`burst` tokens, refilled at `per_second`; a reservation may run into debt, and
    the debt says how long the caller waits."""

    def __init__(self, limit: Limit, now: float) -> None:
        self.rate = limit.per_second
        self.capacity = float(limit.burst)
        self.tokens = self.capacity
        self.updated = now

    def reserve(self, now: float) -> float:
        """Take a token; the time at which the caller may go."""
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        self.tokens -= 1
        return now if self.tokens >= 0 else now + (-self.tokens) / self.rate


class RateLimiter:
    def __init__(self, limits: dict[str, Limit] | None = None, *, per_channel: Limit = PER_CHANNEL,
                 other: Limit = OTHER_METHODS, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.limits = {**DEFAULT_LIMITS, **(limits or {})}
        self.per_channel = per_channel
        self.other = other
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, str], TokenBucket] = {}
        self._paused_until: dict[str, float] = {}
        self._local = threading.local()  # slots taken by acquire(), per thread
        self.waited = 0.0  # seconds spent waiting, for reports
        self.pauses = 0  # 429s heard

    def _bucket(self, key: tuple[str, str], limit: Limit, now: float) -> TokenBucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket(limit, now)
        return bucket

    def acquire(self, team_id: str, method: str, channel: str | None = None) -> float:
        """Wait for a slot to call `method` in this workspace (and channel); returns the
        seconds waited."""
        waited = self._wait_for_slot(team_id, method, channel)
        self._credits()[(team_id, method)] = time.monotonic()
        return waited

    def before_call(self, team_id: str, method: str, channel: str | None = None) -> float:
        """For a client, right before it calls `method`: the slot its caller has just
        taken with acquire(), else a new one."""
        taken = self._credits().pop((team_id, method), None)
        if taken is not None and time.monotonic() - taken < CREDIT_SECONDS:
            return 0.0
        return self._wait_for_slot(team_id, method, channel)

    def _credits(self) -> dict[tuple[str, str], float]:
        credits = getattr(self._local, "credits", None)
        if credits is None:
            credits = self._local.credits = {}
        return credits

    def _wait_for_slot(self, team_id: str, method: str, channel: str | None = None) -> float:
        """Take a slot and wait for it (the subclass's way: `_take_slot`); the seconds
        waited, counted in `waited` whichever limiter it is."""
        waited = self._take_slot(team_id, method, channel)
        with self._lock:
            self.waited += waited
        return waited

    def _take_slot(self, team_id: str, method: str, channel: str | None) -> float:
        """This process's buckets; the pause is waited out too. The seconds waited."""
        with self._lock:
            now = self._clock()
            go = self._bucket((team_id, method), self.limits.get(method, self.other), now).reserve(now)
            if channel and method in CHANNEL_METHODS:
                go = max(go, self._bucket((team_id, "#" + channel), self.per_channel, now).reserve(now))
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                go = max(go, self._paused_until.get(team_id, 0.0))
            if go <= now:
                break
            self._sleep(go - now)
            waited += go - now
        return waited

    def pause(self, team_id: str, seconds: float) -> None:
        """Slack said 429: nothing more to this workspace for `seconds` (the subclass's
        way: `_hold`), counted in `pauses` whichever limiter it is."""
        with self._lock:
            self.pauses += 1
        self._hold(team_id, seconds)

    def _hold(self, team_id: str, seconds: float) -> None:
        """The pause in this process's memory (a longer one already there stands)."""
        with self._lock:
            until = self._clock() + max(0.0, seconds)
            self._paused_until[team_id] = max(self._paused_until.get(team_id, 0.0), until)


class Unlimited(RateLimiter):
    """For single calls made right after a request: Slack's 429 handling is enough."""

    def _take_slot(self, team_id: str, method: str, channel: str | None) -> float:
        return 0.0


class SharedRateLimiter(RateLimiter):
    """The same limits, kept by every instance together: the buckets and the pauses are
    rows of the shared database (storage/rate_budget.py), on its clock.

    A call costs one statement (its slots in every bucket it takes, reserved together);
    a caller that then waits for its slot reads the workspace's pause once more before
    it goes: a 429 another instance heard meanwhile voids the slot, and the caller waits
    the pause out and takes a new one. `clock` (seconds, shared by the limiters of a
    test) replaces the database's clock in tests.
    """

    def __init__(self, engine: Engine, limits: dict[str, Limit] | None = None, *,
                 per_channel: Limit = PER_CHANNEL, other: Limit = OTHER_METHODS,
                 clock: Callable[[], float] | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        super().__init__(limits, per_channel=per_channel, other=other, sleep=sleep)
        # One statement, one transaction: no BEGIN/COMMIT round trips around it.
        self.engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._shared_clock = clock

    def _now(self) -> float | None:
        return self._shared_clock() if self._shared_clock is not None else None

    def _budgets(self, method: str, channel: str | None) -> list[tuple[str, float, int]]:
        limit = self.limits.get(method, self.other)
        buckets = [(method, 1.0 / limit.per_second, limit.burst)]
        if channel and method in CHANNEL_METHODS:
            buckets.append(("#" + channel, 1.0 / self.per_channel.per_second, self.per_channel.burst))
        return buckets

    def _take_slot(self, team_id: str, method: str, channel: str | None) -> float:
        buckets = self._budgets(method, channel)
        waited = 0.0
        while True:
            go, now = rate_budget.reserve(self.engine, team_id, buckets, now=self._now())
            if go <= now:
                break
            self._sleep(go - now)
            waited += go - now
            until, now = rate_budget.paused_until(self.engine, team_id, now=self._now())
            if until <= now:
                break
            self._sleep(until - now)  # then a new slot, queued behind the pause
            waited += until - now
        return waited

    def _hold(self, team_id: str, seconds: float) -> None:
        try:
            rate_budget.pause(self.engine, team_id, seconds, now=self._now())
        except SQLAlchemyError:  # the call itself still waits Retry-After
            log.warning("could not record the 429 pause of workspace %s", team_id, exc_info=True)


class PauseOnRateLimit(RateLimitErrorRetryHandler):
    """slack_sdk's 429 retry (wait Retry-After, try again), telling the limiter first so
    the rest of the workspace's calls wait too."""

    def __init__(self, limiter: RateLimiter, team_id: str, max_retry_count: int = 2) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.limiter = limiter
        self.team_id = team_id

    def prepare_for_next_attempt(self, *, state: RetryState, request: HttpRequest,
                                 response: HttpResponse | None = None,
                                 error: Exception | None = None) -> None:
        seconds = retry_after(response.headers) if response is not None else None
        self.limiter.pause(self.team_id, 1.0 if seconds is None else seconds)
        super().prepare_for_next_attempt(state=state, request=request, response=response, error=error)
