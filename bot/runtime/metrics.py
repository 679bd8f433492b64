"""Prometheus metrics, served at GET /metrics (text exposition format): over HTTP on
$PORT, in Socket Mode on ACCOUNTPLAN_METRICS_PORT or $PORT (bot/server.py).

Slack requests (counted by bot/runtime/request_log.py, one record per request):

    accountplan_slack_requests_total{kind, outcome}      requests, at their ack
    accountplan_slack_ack_seconds{kind}                  time to acknowledge (histogram)
    accountplan_slack_answer_seconds{kind, outcome}      time until the answer is done (histogram)
    accountplan_after_ack_queued                         work waiting for the after-ack pool

kind: command, shortcut, action, view_submission, view_closed, options, event,
url_verification, other; "unknown" for requests refused before anyone could tell what
they were (bot/runtime/request_guard.py). The requests' outcome is the HTTP answer: ok
(2xx), unhandled (404: no listener), rejected (any other 4xx), error (5xx). The ack time
runs from the request reaching the app to its answer (with process_before_response, the
answer is the ack); Slack gives up after 3 s. The answer time runs until the work after
the ack is done too, and its outcome is what the person got: ok, refused (a rule said
no), overloaded (too busy to answer in time), bad_request, error.

Slack Web API calls, every attempt (retries too):

    accountplan_slack_api_calls_total{method, status}    status: ok, Slack's error code
                                                         (ratelimited, …), http_<code>,
                                                         connection_error

The scheduler (bot/scheduler/passes.py tells `observe_pass` of each pass):

    accountplan_scheduler_pass_seconds                   one pass of every job (histogram)
    accountplan_scheduler_sent_total{job}                messages each job sent
                                                         (send_item_reminders: reminder DMs,
                                                         run_due_digests: digests posted,
                                                         send_checkins: progress check-ins, …)
    accountplan_scheduler_job_failures_total{job}        jobs that raised
    accountplan_reminders_due_total                      reminder DMs that came due

The database (`watch_pool`): accountplan_db_pool_in_use (connections checked out) and
accountplan_db_pool_size (the pools' steady size; up to as many again overflow).

Several processes (`serve --workers N`, and the scheduler's own process beside them):
prometheus_client's multiprocess mode. `serve` calls `use_multiprocess()` before anything
is measured; each process then writes its samples to files in PROMETHEUS_MULTIPROC_DIR
(a fresh temporary folder, removed when `serve` stops, unless that variable is set
already), and whichever worker answers /metrics adds up all of them. The gauges add up
the processes alive ("livesum"): `process_gone(pid)` drops a process that ended.

Slack API calls are counted by wrapping slack_sdk's one HTTP attempt
(`BaseClient._perform_urllib_http_request_internal`) once per process: every WebClient
goes through it, Bolt's per-request clients included. Nothing here sees a token.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import threading
import weakref
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
ACK_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 5.0, 10.0)
# Answers: a modal within 2.5 s, a message within seconds, background work within 60 s.
ANSWER_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 2.5, 3.0, 5.0, 10.0, 30.0, 60.0)
PASS_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
KINDS = ("command", "shortcut", "action", "view_submission", "view_closed", "options", "event",
         "url_verification", "other", "unknown")

_PAYLOAD_KINDS = {
    "shortcut": "shortcut", "message_action": "shortcut", "block_actions": "action",
    "interactive_message": "action", "view_submission": "view_submission",
    "view_closed": "view_closed", "block_suggestion": "options",
    "event_callback": "event", "url_verification": "url_verification",
}
_METHOD = re.compile(r"[A-Za-z][A-Za-z0-9._]{0,63}")
_OK = re.compile(r'"ok"\s*:\s*(true|false)')
_ERROR = re.compile(r'"error"\s*:\s*"([a-z0-9_]{1,64})"')

_lock = threading.Lock()
_metrics: dict[str, Any] | None = None
_registry = None
_created_dir: str | None = None
_created_by: int | None = None  # the process that made it (forked workers must not remove it)
_hooked = False
_pools: weakref.WeakSet = weakref.WeakSet()  # engines whose pools are watched


# ---------------------------------------------------------------------------
# Set-up


def use_multiprocess() -> str:
    """Before the workers are forked: from now on samples go to files in
    PROMETHEUS_MULTIPROC_DIR (created here unless set). Returns the folder."""
    global _created_dir, _created_by, _metrics
    with _lock:
        _metrics = None  # anything this process measured so far stays out (made again on use)
        directory = os.environ.get(MULTIPROC_ENV)
        if not directory:
            directory = tempfile.mkdtemp(prefix="accountplan-metrics-")
            os.environ[MULTIPROC_ENV] = directory  # inherited by the workers and the scheduler
            _created_dir, _created_by = directory, os.getpid()
        os.makedirs(directory, exist_ok=True)
        from prometheus_client import values  # noqa: PLC0415

        values.ValueClass = values.get_value_class()  # chosen at import: choose again
    return directory


def cleanup() -> None:
    """Remove the folder use_multiprocess() created (when `serve` stops), in the process
    that created it only: a worker leaving runs through the same code after its fork."""
    global _created_dir
    if _created_dir is not None and _created_by == os.getpid():
        shutil.rmtree(_created_dir, ignore_errors=True)
        if os.environ.get(MULTIPROC_ENV) == _created_dir:
            del os.environ[MULTIPROC_ENV]
        _created_dir = None


def multiprocess() -> bool:
    return bool(os.environ.get(MULTIPROC_ENV))


def process_gone(pid: int) -> None:
    """A worker or the scheduler's process ended: its gauges no longer count."""
    if multiprocess():
        from prometheus_client import multiprocess as mp  # noqa: PLC0415

        mp.mark_process_dead(pid)


def metrics() -> dict[str, Any]:
    """This process's metric objects, made on first use."""
    global _metrics, _registry
    if _metrics is not None:
        return _metrics
    with _lock:
        if _metrics is None:
            _registry, _metrics = _make()
    return _metrics


def _make() -> tuple[Any, dict[str, Any]]:
    from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram  # noqa: PLC0415

    registry = CollectorRegistry(auto_describe=True)
    return registry, {
        "requests": Counter(
            "accountplan_slack_requests", "Requests from Slack, counted at their acknowledgement",
            ("kind", "outcome"), registry=registry),
        "ack": Histogram(
            "accountplan_slack_ack_seconds",
            "Seconds from a Slack request reaching the app to its acknowledgement",
            ("kind",), buckets=ACK_BUCKETS, registry=registry),
        "answer": Histogram(
            "accountplan_slack_answer_seconds",
            "Seconds from a Slack request reaching the app to its answer being done "
            "(the ack and the work after it), by what the person got",
            ("kind", "outcome"), buckets=ANSWER_BUCKETS, registry=registry),
        "queued": Gauge(
            "accountplan_after_ack_queued", "Work waiting for a thread of the after-ack pool",
            multiprocess_mode="livesum", registry=registry),
        "api": Counter(
            "accountplan_slack_api_calls",
            "Slack Web API calls (each attempt) by method and status",
            ("method", "status"), registry=registry),
        "pass": Histogram(
            "accountplan_scheduler_pass_seconds", "Seconds one scheduler pass took (every job once)",
            buckets=PASS_BUCKETS, registry=registry),
        "sent": Counter(
            "accountplan_scheduler_sent", "Messages the scheduler's jobs sent, by job",
            ("job",), registry=registry),
        "failures": Counter(
            "accountplan_scheduler_job_failures", "Scheduler jobs that raised, by job",
            ("job",), registry=registry),
        "due": Counter(
            "accountplan_reminders_due", "Reminder DMs that came due in scheduler passes",
            registry=registry),
        "pool_in_use": Gauge(
            "accountplan_db_pool_in_use", "Database connections checked out of the pools",
            multiprocess_mode="livesum", registry=registry),
        "pool_size": Gauge(
            "accountplan_db_pool_size", "The database pools' steady size (overflow aside)",
            multiprocess_mode="livesum", registry=registry),
    }


def exposition() -> tuple[bytes, str]:
    """(body, content type) of GET /metrics: this process's samples, or in multiprocess
    mode every process's, added up."""
    from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest  # noqa: PLC0415

    metrics()
    if multiprocess():
        from prometheus_client import multiprocess as mp  # noqa: PLC0415

        registry = CollectorRegistry()
        mp.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(_registry), CONTENT_TYPE_LATEST


PUSHGATEWAY_ENV = "ACCOUNTPLAN_PUSHGATEWAY_URL"
TICK_JOB = "accountplan_tick"


def push_after_tick(environ: Any = os.environ) -> str | None:
    """`accountplan tick` from cron lives for seconds, too short to be scraped: when
    ACCOUNTPLAN_PUSHGATEWAY_URL is set, its samples (the pass, what it sent, its Slack
    calls) go to that Prometheus Pushgateway once, replacing the previous tick's group
    (job="accountplan_tick"), with the time of this push. Returns the problem, if any:
    a gateway that does not answer must not fail the tick that already sent its DMs."""
    gateway = (environ.get(PUSHGATEWAY_ENV) or "").strip()
    if not gateway:
        return None
    from prometheus_client import Gauge, push_to_gateway  # noqa: PLC0415

    metrics()
    last = Gauge("accountplan_tick_last_push_timestamp_seconds", "When the last tick pushed its samples",
                 registry=None)
    last.set_to_current_time()
    _registry.register(last)
    try:
        push_to_gateway(gateway, job=TICK_JOB, registry=_registry, timeout=10)
    except Exception as error:  # noqa: BLE001 - reported by the caller, never raised
        return f"could not push metrics to {urlsplit(gateway).netloc or gateway}: {type(error).__name__}"
    finally:
        _registry.unregister(last)
    return None


def serve_metrics(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    body, content_type = exposition()
    start_response("200 OK", [("Content-Type", content_type), ("Content-Length", str(len(body)))])
    return [body] if environ.get("REQUEST_METHOD") == "GET" else []


# ---------------------------------------------------------------------------
# Slack Web API calls


def slack_status(status: int, body: Any) -> str:
    if status != 200:
        return f"http_{status}"
    head = body[:512] if isinstance(body, str) else ""
    ok = _OK.search(head)
    if ok is None:
        return "ok" if not isinstance(body, str) else "http_200"  # a file, or not Slack's JSON
    if ok.group(1) == "true":
        return "ok"
    error = _ERROR.search(head)
    return error.group(1) if error else "error"


def method_of(url: str) -> str:
    name = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]
    return name if _METHOD.fullmatch(name) else "other"


def count_api_call(method: str, status: str) -> None:
    metrics()["api"].labels(method, status).inc()


def hook_slack_calls() -> None:
    """Count every Slack Web API attempt in this process (once; later calls do nothing)."""
    global _hooked
    from urllib.error import HTTPError  # noqa: PLC0415

    from slack_sdk.web.base_client import BaseClient  # noqa: PLC0415

    with _lock:
        if _hooked:
            return
        original = BaseClient._perform_urllib_http_request_internal

        def counted(self, url, req):  # noqa: ANN001 - slack_sdk's own signature
            method = method_of(url)
            try:
                response = original(self, url, req)
            except HTTPError as error:
                count_api_call(method, f"http_{error.code}")
                raise
            except Exception:
                count_api_call(method, "connection_error")
                raise
            count_api_call(method, slack_status(response.get("status", 0), response.get("body")))
            return response

        BaseClient._perform_urllib_http_request_internal = counted
        _hooked = True


# ---------------------------------------------------------------------------
# Requests from Slack (bot/runtime/request_log.py) and the after-ack pool


def kind_of(payload: Any) -> str:
    """What a Slack request is, from its parsed body (Bolt's `request.body`)."""
    if not isinstance(payload, dict):
        return "other"
    if "command" in payload:
        return "command"
    return _PAYLOAD_KINDS.get(payload.get("type"), "other")


def outcome_of(status: int) -> str:
    if status == 404:
        return "unhandled"
    if 200 <= status < 400:
        return "ok"
    return "rejected" if status < 500 else "error"


def count_request(kind: str, status: int, seconds: float) -> None:
    """A request acknowledged (or refused) with HTTP `status`, `seconds` after it arrived."""
    recorded = metrics()
    recorded["requests"].labels(kind, outcome_of(status)).inc()
    if kind != "unknown":
        recorded["ack"].labels(kind).observe(seconds)


def observe_answer(kind: str, outcome: str, seconds: float) -> None:
    if kind != "unknown":
        metrics()["answer"].labels(kind, outcome).observe(seconds)


def queued(change: int) -> None:
    """Work added to (+1) or taken from (-1) an after-ack pool's queue."""
    metrics()["queued"].inc(change)


# ---------------------------------------------------------------------------
# The scheduler and the database


def observe_pass(report: Any) -> None:
    """A scheduler pass's report (bot/scheduler/passes.py PassReport): its `seconds`,
    `sent` by job, `failed` jobs and `reminders_due`."""
    recorded = metrics()
    recorded["pass"].observe(report.seconds)
    for job, count in report.sent.items():
        recorded["sent"].labels(job).inc(count)
    for job in report.failed:
        recorded["failures"].labels(job).inc()
    recorded["due"].inc(report.reminders_due)


_COUNTED = "accountplan.metrics.checked_out"  # on a connection record while it is out


def watch_pool(engine: Any) -> None:
    """Count `engine`'s connections in use and its pool's size (once per engine)."""
    from sqlalchemy import event  # noqa: PLC0415

    with _lock:
        if engine in _pools:
            return
        _pools.add(engine)
    size = getattr(engine.pool, "size", None)
    metrics()["pool_size"].inc(size() if callable(size) else 0)

    def checked_out(_dbapi_connection, record, _proxy) -> None:
        # record_info lasts as long as the pool's record, through reconnects and invalidation
        record.record_info[_COUNTED] = True
        metrics()["pool_in_use"].inc()

    def checked_in(_dbapi_connection, record) -> None:
        if record is not None and record.record_info.pop(_COUNTED, False):
            metrics()["pool_in_use"].dec()

    event.listen(engine, "checkout", checked_out)
    event.listen(engine, "checkin", checked_in)
