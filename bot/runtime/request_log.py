"""One log line per Slack request, and the request's id on every line logged for it.

Each request gets a `RequestRecord` where it enters the app: `logged` (WSGI, around the
guard of POST /slack/events), or Bolt's dispatch (`observe_app`: Socket Mode, and
anything that calls `App.dispatch` itself). From Bolt's parsed request it learns who
and what (`identify`); it is put on the Bolt context (`context["request"]`,
`context["request_id"]`) and in a context variable of the thread, which the after-ack
pool (bot/runtime/after_ack.py) carries over to the work it runs for the request.

The line is written once, when the last of the ack and the work after it is done:

    slack request: request_id=5f0c2a9e81d4b7a3 team=T1 user=U1 kind=command name=show
        outcome=ok status=200 ack_ms=4.2 total_ms=318.6

- request_id: 16 hex digits, new for each request; every other line logged while the
  request (or its after-ack work) runs ends with it too (`PlainFormatter`, `JsonFormatter`);
- team, user: the workspace (or the enterprise of an org-wide install) and the person;
- kind: command, action, view_submission, view_closed, options, shortcut, event,
  url_verification, other; unknown when refused before anyone could tell;
- name: the /accountplan word (show, new, …; "help" for none, "other" for a word that is
  not one: never the rest of the text), the action_id, the callback_id, the event type;
- outcome: what the person got: ok, refused (a rule said no: a form's field errors,
  "not yours"), overloaded (too busy to answer in time), bad_request (refused before
  Bolt, or by it), error (something failed: they got an apology, or Slack's error);
- status: the HTTP status of the ack; ack_ms, total_ms: from the request arriving to its
  ack, and to the end of the work after it.

Never a token, a secret, a signature, message text, form values or a response_url: the
line is made of the fields above only, each user-controlled value cleaned to visible
ASCII and capped (`clean`). A request the guard refuses before Bolt (bot/runtime/
request_guard.py) is the guard's one line, `rejected slack request: status=401
reason=bad_signature size=… type=… ip=…` followed by the same fields.

ACCOUNTPLAN_LOG_FORMAT=json writes every line of the process as one JSON object
(`configure_logging`), the request's fields as keys of their own.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import io
import json
import logging
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt import App, BoltContext, BoltRequest, BoltResponse
from slack_bolt.listener.listener_error_handler import ListenerErrorHandler

from bot.runtime import metrics
from storage.errors import PlanError

log = logging.getLogger("accountplan.requests")
# The guard's refusals keep the guard's logger (bot/runtime/request_guard.py).
REFUSALS_LOGGER = "accountplan.request_guard"

CONTEXT_KEY = "request"  # the RequestRecord, on the Bolt context
REQUEST_ID_KEY = "request_id"  # its id, on the Bolt context (and on log records, if given)
FORMATS = ("plain", "json")

# Longest value of any user-controlled field in a log line.
LOG_VALUE_CHARS = 48

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

_UNSAFE = re.compile(r"[^\x21-\x7e]")  # anything but visible ASCII (spaces, controls, …)
_SEVERITY = {"ok": 0, "refused": 1, "overloaded": 2, "bad_request": 3, "error": 4}
_FIELDS = "accountplan_request"  # a request line's fields, on its log record
_MESSAGE = "accountplan_message"
_current: contextvars.ContextVar[RequestRecord | None] = contextvars.ContextVar(
    "accountplan_request", default=None)


def clean(value: object, limit: int = LOG_VALUE_CHARS) -> str:
    """A user-controlled value safe for one log line: visible ASCII only, capped."""
    text = _UNSAFE.sub("?", str(value))
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _cleaned(value: object) -> str | None:
    return clean(value) if isinstance(value, str) and value else None


# ---------------------------------------------------------------------------
# The record


class RequestRecord:
    """One request, from its arrival to the end of the work after its ack.

    It waits for one ack and for every piece of after-ack work that `hold`s it; the
    last `release` writes the line. Safe to carry on a Bolt context (copies are itself).
    """

    def __init__(self) -> None:
        self.id = secrets.token_hex(8)
        self.started = time.perf_counter()
        self.kind: str | None = None
        self.name: str | None = None
        self.team: str | None = None
        self.user: str | None = None
        self.status: int | None = None
        self.ack_ms: float | None = None
        self.refusal: dict[str, Any] | None = None  # the guard's reason and details
        self._outcome = "ok"
        self._pending = 1  # the ack
        self._acked = False
        self._done = False
        self._lock = threading.Lock()

    def __copy__(self) -> RequestRecord:
        return self

    def __deepcopy__(self, memo: dict) -> RequestRecord:
        return self

    @property
    def outcome(self) -> str:
        return self._outcome

    def note(self, outcome: str) -> None:
        """What the person got, if worse than what is known so far."""
        with self._lock:
            if _SEVERITY[outcome] > _SEVERITY[self._outcome]:
                self._outcome = outcome

    def hold(self) -> bool:
        """Work after the ack begins for this request (False: the line is written already)."""
        with self._lock:
            if self._done:
                return False
            self._pending += 1
            return True

    def acked(self, status: int) -> None:
        """The ack (HTTP `status`) went back; counted in /metrics, then `release`d."""
        with self._lock:
            if self._acked:
                return
            self._acked = True
            seconds = time.perf_counter() - self.started
            self.ack_ms, self.status = seconds * 1000, status
            self.kind = self.kind or "unknown"
        if status == 404 or status >= 500:
            self.note("error")
        elif status >= 400:
            self.note("bad_request")
        metrics.count_request(self.kind, status, seconds)
        self.release()

    def release(self) -> None:
        with self._lock:
            if self._done:
                return
            self._pending -= 1
            if self._pending > 0:
                return
            self._done = True
            seconds = time.perf_counter() - self.started
        self._write(seconds)

    def fields(self, total_ms: float) -> dict[str, Any]:
        found: dict[str, Any] = dict(self.refusal or {})
        found.update(request_id=self.id, team=self.team, user=self.user, kind=self.kind,
                     name=self.name, outcome=self._outcome)
        if self.refusal is None:
            found["status"] = self.status
        found.update(ack_ms=round(self.ack_ms or 0.0, 1), total_ms=round(total_ms, 1))
        return found

    def _write(self, seconds: float) -> None:
        fields = self.fields(seconds * 1000)
        if self.refusal is not None:
            logger, message, level = logging.getLogger(REFUSALS_LOGGER), "rejected slack request", logging.WARNING
        else:
            logger, message = log, "slack request"
            level = logging.WARNING if self._outcome == "bad_request" else logging.INFO
        logger.log(level, "%s: %s", message, plain(fields), extra={_FIELDS: fields, _MESSAGE: message})
        metrics.observe_answer(self.kind or "unknown", self._outcome, seconds)


def plain(fields: dict[str, Any]) -> str:
    return " ".join(f"{key}={value}" for key, value in fields.items() if value is not None)


def current() -> RequestRecord | None:
    """The request this thread works for, if any."""
    return _current.get()


def enter(record: RequestRecord | None) -> contextvars.Token:
    return _current.set(record)


def leave(token: contextvars.Token) -> None:
    _current.reset(token)


def record_of(context: Any) -> RequestRecord | None:
    record = context.get(CONTEXT_KEY) if isinstance(context, dict) else None
    return record if isinstance(record, RequestRecord) else None


def outcome_for(error: Exception) -> str:
    """What a person got when their request's work raised `error`."""
    from bot.runtime.ui import TooLate  # noqa: PLC0415 - ui builds on the after-ack pool

    if isinstance(error, TooLate):
        return "overloaded"
    return "refused" if isinstance(error, PlanError) else "error"


def refused(status: int, reason: str, *, size: str, content_type: str, ip: str) -> None:
    """The guard refused this request before Bolt: its line says why. Written at the
    ack (`logged`), or now when the guard runs on its own."""
    refusal = {"status": status, "reason": reason, "size": size, "type": content_type, "ip": ip}
    record = current()
    if record is None:
        record = RequestRecord()
        record.refusal = refusal
        record.acked(status)
        return
    record.refusal = refusal


# ---------------------------------------------------------------------------
# Where requests come in


def logged(outer: WsgiApp, path: str = "/slack/events") -> WsgiApp:
    """A record for every POST `path` (`outer`: the guard, then Bolt), acknowledged with
    the HTTP status `outer` answers."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "POST" or environ.get("PATH_INFO") != path:
            return outer(environ, start_response)
        record = RequestRecord()
        token = enter(record)
        status = [500]

        def recording_start_response(line: str, headers, exc_info=None):
            status[0] = int(line.split(" ", 1)[0])
            return start_response(line, headers, exc_info) if exc_info else start_response(line, headers)

        try:
            return outer(environ, recording_start_response)
        finally:
            leave(token)
            record.acked(status[0])

    return app


def observe_app(app: App, command_words: frozenset[str] = frozenset()) -> None:
    """Every request `app` dispatches is identified on its record and its context: the
    record `logged` began (HTTP), else one of its own, acknowledged when dispatch
    returns (Socket Mode). Failures before the ack count in its outcome.
    `command_words`: the /accountplan words the app answers (anything else is logged as
    "other", so a log line never carries what a person typed)."""
    dispatch = app.dispatch

    def observed(req: BoltRequest) -> BoltResponse:
        _observe_errors(app)
        record, token = current(), None
        if record is None:
            record = RequestRecord()
            token = enter(record)
        try:
            try:
                identify(record, req, command_words)
            except Exception:  # noqa: BLE001 - the log line must never cost the request
                log.exception("could not identify a request")
            req.context[CONTEXT_KEY] = record
            req.context[REQUEST_ID_KEY] = record.id
            response = dispatch(req)
        except BaseException:
            if token is not None:
                leave(token)
                record.acked(500)
            raise
        if record.kind == "view_submission" and _field_errors(response):
            record.note("refused")
        if token is not None:
            leave(token)
            record.acked(response.status)
        return response

    app.dispatch = observed  # type: ignore[method-assign]


def identify(record: RequestRecord, req: BoltRequest, words: frozenset[str]) -> None:
    body = req.body if isinstance(req.body, dict) else {}
    context: BoltContext = req.context
    record.kind = metrics.kind_of(body)
    record.team = _cleaned(context.team_id or context.enterprise_id)
    record.user = _cleaned(context.user_id)
    record.name = name_of(record.kind, body, words)


def name_of(kind: str, body: dict[str, Any], words: frozenset[str]) -> str | None:
    """The request's name: our own ids and Slack's types, never what a person typed."""
    if kind == "command":
        parts = str(body.get("text") or "").split(maxsplit=1)
        word = parts[0].lower() if parts else ""
        if word in words:
            return word
        return "help" if word in ("", "help") else "other"
    value: Any = None
    if kind == "action":
        actions = body.get("actions")
        first = actions[0] if isinstance(actions, list) and actions else None
        value = first.get("action_id") if isinstance(first, dict) else body.get("callback_id")
    elif kind == "options":
        value = body.get("action_id")
    elif kind in ("view_submission", "view_closed"):
        view = body.get("view")
        value = view.get("callback_id") if isinstance(view, dict) else None
    elif kind == "shortcut":
        value = body.get("callback_id")
    elif kind == "event":
        event = body.get("event")
        value = event.get("type") if isinstance(event, dict) else None
    else:
        value = body.get("type")
    return _cleaned(value)


class _ObservedErrors(ListenerErrorHandler):
    """The app's listener error handler (bot/runtime/ui.py on_listener_error), telling
    the request's record first: a listener failed before its ack."""

    def __init__(self, inner: ListenerErrorHandler) -> None:
        self.inner = inner

    def handle(self, error: Exception, request: BoltRequest, response: BoltResponse | None) -> None:
        record = record_of(request.context) or current()
        if record is not None:
            record.note(outcome_for(error))
        return self.inner.handle(error=error, request=request, response=response)


def _observe_errors(app: App) -> None:
    runner = app.listener_runner
    if not isinstance(runner.listener_error_handler, _ObservedErrors):
        runner.listener_error_handler = _ObservedErrors(runner.listener_error_handler)


def _field_errors(response: BoltResponse) -> bool:
    body = response.body
    if not isinstance(body, str) or not body.startswith("{"):
        return False
    try:
        return json.loads(body).get("response_action") == "errors"
    except (ValueError, AttributeError):
        return False


# ---------------------------------------------------------------------------
# Log lines


def request_id_of(record: logging.LogRecord) -> str | None:
    """The id of the request a log line was written for: given, or the thread's."""
    given = record.__dict__.get(REQUEST_ID_KEY)
    if given:
        return str(given)
    working_for = current()
    return working_for.id if working_for is not None else None


class PlainFormatter(logging.Formatter):
    """`time LEVEL logger: message`, with ` request_id=…` on lines logged for a request."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging's name
        line = super().formatMessage(record)
        if _FIELDS not in record.__dict__:
            request_id = request_id_of(record)
            if request_id:
                line += f" request_id={request_id}"
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, request_id (when logged for
    a request), error (the traceback); a request's line has its fields as keys."""

    def format(self, record: logging.LogRecord) -> str:
        when = dt.datetime.fromtimestamp(record.created, dt.timezone.utc)
        line: dict[str, Any] = {"time": when.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                                "level": record.levelname, "logger": record.name}
        fields = record.__dict__.get(_FIELDS)
        if fields is not None:
            line["message"] = record.__dict__.get(_MESSAGE, "slack request")
            line.update(fields)
        else:
            line["message"] = record.getMessage()
            request_id = request_id_of(record)
            if request_id:
                line["request_id"] = request_id
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["error"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, default=str)


def formatter_for(log_format: str) -> logging.Formatter:
    return JsonFormatter() if log_format == "json" else PlainFormatter()


def configure_logging(log_format: str = "plain", stream: io.TextIOBase | None = None) -> None:
    """Log INFO and up to stderr in `log_format` (ACCOUNTPLAN_LOG_FORMAT), unless the
    process has its logging set up already (like logging.basicConfig)."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter_for(log_format))
    logging.basicConfig(level=logging.INFO, handlers=[handler])


def gunicorn_logconfig(log_format: str) -> dict[str, Any] | None:
    """gunicorn's own lines in JSON too (its `logconfig_dict`); None: its default."""
    if log_format != "json":
        return None
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json",
                                "stream": "ext://sys.stderr"}},
        "root": {"level": "INFO", "handlers": ["stderr"]},
        "loggers": {
            "gunicorn.error": {"level": "WARNING", "handlers": [], "propagate": True},
            # one line per request is ours; gunicorn's access lines stay off
            "gunicorn.access": {"level": "CRITICAL", "handlers": [], "propagate": False},
        },
    }
