"""Keeping to Slack's rate limits when the scheduler sends many DMs at once.

Slack limits each Web API method per workspace (tiers: 20+, 50+, 100+ a minute) and
chat.postMessage also per channel (about one message a second, short bursts allowed)
and per workspace (a limit Slack does not publish: "several hundred a minute").
A pass with thousands of due reminders must not send as fast as it can and then live
on 429s. So every call first takes a slot from token buckets: one per (workspace,
method), and for chat.postMessage one per (workspace, channel) too. Slots are reserved
in order, so concurrent senders queue up instead of racing for the same token.

When Slack answers 429 anyway (another instance shares the workspace's quota, or the
real limit is lower than ours), the whole workspace pauses for Retry-After: no other
call to it goes out meanwhile (`PauseOnRateLimit`, a slack_sdk retry handler, tells the
limiter; the call itself is retried after Retry-After).

The limits are per process: several instances each keep to them, and Slack's 429s
with the pause keep the sum in check.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState


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
    "users.info": TIER_4,
    "views.publish": TIER_4,
}
OTHER_METHODS = TIER_2  # a method not listed: the common tier
PER_CHANNEL = Limit(1.0, 1)  # chat.postMessage in one channel (a person's DM)
CHANNEL_METHODS = ("chat.postMessage",)


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
        with self._lock:
            self.waited += waited
        return waited

    def pause(self, team_id: str, seconds: float) -> None:
        """Slack said 429: nothing more to this workspace for `seconds`."""
        with self._lock:
            self.pauses += 1
            until = self._clock() + max(0.0, seconds)
            self._paused_until[team_id] = max(self._paused_until.get(team_id, 0.0), until)


class Unlimited(RateLimiter):
    """For single calls made right after a request: Slack's 429 handling is enough."""

    def acquire(self, team_id: str, method: str, channel: str | None = None) -> float:
        return 0.0


def retry_after(response: HttpResponse | None, default: float = 1.0) -> float:
    if response is None:
        return default
    for name, values in response.headers.items():
        if name.lower() == "retry-after":
            value = values[0] if isinstance(values, list) else values
            try:
                return float(value)
            except (TypeError, ValueError):
                return default
    return default


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
        self.limiter.pause(self.team_id, retry_after(response))
        super().prepare_for_next_attempt(state=state, request=request, response=response, error=error)
