"""Prometheus metrics, served at GET /metrics in HTTP mode (text exposition format).

    accountplan_slack_requests_total{kind, outcome}   requests at POST /slack/events
    accountplan_slack_ack_seconds{kind}               time to acknowledge (histogram)
    accountplan_slack_api_calls_total{method, status} Slack Web API calls, each attempt

kind: command, shortcut, action, view_submission, view_closed, options, event,
url_verification, other; "rejected" for requests the guard refused before anyone could
tell what they were (bot/runtime/request_guard.py). outcome: ok (2xx), unhandled (404: no
listener), rejected (any other 4xx), error (5xx). The ack time runs from the request
reaching the app to its answer (with process_before_response, the answer is the ack);
Slack gives up after 3 s. status: ok, Slack's error code (ratelimited, channel_not_found,
…), http_<code> (429, 5xx), or connection_error; every attempt counts, retries too.

Several processes (`serve --workers N`, and the scheduler's own process beside them):
prometheus_client's multiprocess mode. `serve` calls `use_multiprocess()` before anything
is measured; each process then writes its samples to files in PROMETHEUS_MULTIPROC_DIR
(a fresh temporary folder, removed when `serve` stops, unless that variable is set
already), and whichever worker answers /metrics adds up all of them.

Slack API calls are counted by wrapping slack_sdk's one HTTP attempt
(`BaseClient._perform_urllib_http_request_internal`) once per process: every WebClient
goes through it, Bolt's per-request clients included. Nothing here sees a token.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
ACK_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 5.0, 10.0)
KINDS = ("command", "shortcut", "action", "view_submission", "view_closed", "options", "event",
         "url_verification", "other", "rejected")
CONTEXT_KEY = "accountplan.metrics"  # WSGI environ: what the inner layer found out

_PAYLOAD_KINDS = {
    "shortcut": "shortcut", "message_action": "shortcut", "block_actions": "action",
    "interactive_message": "action", "view_submission": "view_submission",
    "view_closed": "view_closed", "block_suggestion": "options",
}
_METHOD = re.compile(r"[A-Za-z][A-Za-z0-9._]{0,63}")
_OK = re.compile(r'"ok"\s*:\s*(true|false)')
_ERROR = re.compile(r'"error"\s*:\s*"([a-z0-9_]{1,64})"')

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

_lock = threading.Lock()
_metrics: dict[str, Any] | None = None
_registry = None
_created_dir: str | None = None
_created_by: int | None = None  # the process that made it (forked workers must not remove it)
_hooked = False


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


def metrics() -> dict[str, Any]:
    """This process's metric objects, made on first use."""
    global _metrics, _registry
    if _metrics is not None:
        return _metrics
    with _lock:
        if _metrics is None:
            from prometheus_client import CollectorRegistry, Counter, Histogram  # noqa: PLC0415

            _registry = CollectorRegistry(auto_describe=True)
            _metrics = {
                "requests": Counter(
                    "accountplan_slack_requests", "Requests from Slack at POST /slack/events",
                    ("kind", "outcome"), registry=_registry),
                "ack": Histogram(
                    "accountplan_slack_ack_seconds",
                    "Seconds from a Slack request reaching the app to its acknowledgement",
                    ("kind",), buckets=ACK_BUCKETS, registry=_registry),
                "api": Counter(
                    "accountplan_slack_api_calls",
                    "Slack Web API calls (each attempt) by method and status",
                    ("method", "status"), registry=_registry),
            }
    return _metrics


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
# Requests from Slack


def kind_of(body: bytes, content_type: str) -> str:
    """What a (verified, well-formed) Slack request is, from its body."""
    try:
        text = body.decode("utf-8")
        if content_type.startswith("application/json"):
            payload = json.loads(text)
        else:
            form = dict(parse_qsl(text, keep_blank_values=True))
            if "command" in form:
                return "command"
            if "payload" not in form:
                return "other"
            payload = json.loads(form["payload"])
    except (ValueError, UnicodeDecodeError):
        return "other"
    if not isinstance(payload, dict):
        return "other"
    kind = payload.get("type")
    if kind == "event_callback":
        return "event"
    if kind == "url_verification":
        return "url_verification"
    return _PAYLOAD_KINDS.get(kind, "other")


def outcome_of(status: int) -> str:
    if status == 404:
        return "unhandled"
    if 200 <= status < 400:
        return "ok"
    return "rejected" if status < 500 else "error"


def measured(outer: WsgiApp, path: str = "/slack/events") -> WsgiApp:
    """Count and time every POST `path` that `outer` (the guard) answers."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "POST" or environ.get("PATH_INFO") != path:
            return outer(environ, start_response)
        started = time.perf_counter()
        found: dict[str, Any] = {}
        environ[CONTEXT_KEY] = found  # the guard copies environ; this dict is shared
        status_code = [500]

        def recording_start_response(status: str, headers, exc_info=None):
            status_code[0] = int(status.split(" ", 1)[0])
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        try:
            return outer(environ, recording_start_response)
        finally:
            kind = found.get("kind", "rejected")
            recorded = metrics()
            recorded["requests"].labels(kind, outcome_of(status_code[0])).inc()
            if kind != "rejected":
                recorded["ack"].labels(kind).observe(time.perf_counter() - started)

    return app


def classified(inner: WsgiApp) -> WsgiApp:
    """Between the guard and Bolt: note what the request is (its body is read already)."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        found = environ.get(CONTEXT_KEY)
        if found is not None and environ.get("REQUEST_METHOD") == "POST":
            stream = environ.get("wsgi.input")
            if isinstance(stream, io.BytesIO):
                found["kind"] = kind_of(stream.getvalue(), environ.get("CONTENT_TYPE") or "")
        return inner(environ, start_response)

    return app


def serve_metrics(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    body, content_type = exposition()
    start_response("200 OK", [("Content-Type", content_type), ("Content-Length", str(len(body)))])
    return [body] if environ.get("REQUEST_METHOD") == "GET" else []
