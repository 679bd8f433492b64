"""The guard in front of Bolt on POST /slack/events: refuse bad requests before parsing.

In this order, each refusal immediate, plain text, and logged as one bounded line
(`rejected slack request: status=401 reason=bad_signature size=… type=… ip=…` and the
request's fields: bot/runtime/request_log.py; never the body nor a header's secret
value, every user-controlled value cleaned and capped):

1. Content-Length: missing 411, not a number 400, over MAX_BODY_BYTES 413 (the body is
   not read).
2. When the Bolt app verifies requests: X-Slack-Request-Timestamp and X-Slack-Signature
   present and well formed, the timestamp within SignatureVerifier's five minutes, else
   401 (the body is not read).
3. The body, read up to Content-Length (shorter than announced: 400), is UTF-8, else 400.
   (slack_sdk's SignatureVerifier checks text, so a body that is not UTF-8 cannot be
   verified at all; Slack never sends one.)
4. The signature, by Bolt's own slack_sdk SignatureVerifier, else 401.
5. A body at all, else 400; Content-Type form or JSON, else 415; a body Bolt can parse
   (JSON bodies and form `payload` fields are JSON objects), else 400.

Only then does Bolt see the request, with the body already read handed on unchanged.
"""

from __future__ import annotations

import io
import json
import logging
import re
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl

from slack_bolt import App
from slack_bolt.middleware.request_verification import RequestVerification
from slack_bolt.request import BoltRequest
from slack_sdk.signature import SignatureVerifier

from bot.runtime import request_log
from bot.runtime.request_log import clean

# Slack's own payloads (the largest are view submissions of big modals) stay well
# under this; a larger body is refused with 413 before it is read.
MAX_BODY_BYTES = 1024 * 1024

# SignatureVerifier's window: a timestamp further than this from now is stale.
TIMESTAMP_TOLERANCE_SECONDS = 60 * 5

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"

log = logging.getLogger(request_log.REFUSALS_LOGGER)

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

_TIMESTAMP = re.compile(r"[0-9]{1,12}", re.ASCII)
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}", re.ASCII)
_DIGITS = re.compile(r"[0-9]{1,19}", re.ASCII)

_MESSAGES = {
    400: "bad request",
    401: "invalid or missing Slack request signature",
    411: "Content-Length required",
    413: f"request body too large (limit {MAX_BODY_BYTES} bytes)",
    415: "unsupported content type (Slack sends form or JSON bodies)",
}
_STATUS_LINES = {
    400: "400 Bad Request",
    401: "401 Unauthorized",
    411: "411 Length Required",
    413: "413 Content Too Large",
    415: "415 Unsupported Media Type",
}


class Rejected(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def verifier_of(bolt_app: App) -> SignatureVerifier | None:
    """The SignatureVerifier Bolt itself uses, or None when request verification is off.

    Bolt has no public accessor: its RequestVerification middleware is found among the
    app's middleware. If Bolt ever stores it elsewhere this fails loudly at start-up
    rather than quietly letting unsigned requests through.
    """
    middleware = getattr(bolt_app, "_middleware_list", None)
    if middleware is None:
        raise RuntimeError("cannot tell whether the Bolt app verifies requests")
    for item in middleware:
        if isinstance(item, RequestVerification):
            return item.verifier
    return None


class _WithholdBody(logging.Filter):
    """Bolt logs a bad-signature request with its whole body (INFO); keep one short line.

    The guard refuses such requests before Bolt sees them, so this only matters if
    both disagree (a timestamp just at the edge of the window).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if str(record.msg).startswith("Invalid request signature"):
            record.msg, record.args = "Invalid request signature detected (body withheld)", None
        return True


def quiet_bolt_body_logging() -> None:
    bolt_logger = logging.getLogger(f"slack_bolt.{RequestVerification.__name__}")
    if not any(isinstance(f, _WithholdBody) for f in bolt_logger.filters):
        bolt_logger.addFilter(_WithholdBody())


def guard(bolt_app: App, inner: WsgiApp, path: str = "/slack/events") -> WsgiApp:
    """`inner` (Bolt's WSGI handler) behind the checks above for POST `path`."""
    verifier = verifier_of(bolt_app)
    quiet_bolt_body_logging()

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "POST" or environ.get("PATH_INFO") != path:
            return inner(environ, start_response)
        try:
            body = _check(environ, verifier)
        except Rejected as rejected:
            return _refuse(environ, start_response, rejected)
        passed = dict(environ)
        passed["wsgi.input"] = io.BytesIO(body)
        passed["CONTENT_LENGTH"] = str(len(body))
        return inner(passed, start_response)

    return app


def _check(environ: dict[str, Any], verifier: SignatureVerifier | None) -> bytes:
    length = _content_length(environ)
    headers = _signature_headers(environ) if verifier is not None else None
    body = _read(environ, length)
    text = _utf8(body)
    if verifier is not None and headers is not None and not verifier.is_valid(text, *headers):
        raise Rejected(401, "bad_signature")
    _check_parseable(environ, text)
    return body


def _content_length(environ: dict[str, Any]) -> int:
    declared = str(environ.get("CONTENT_LENGTH") or "").strip()
    if not declared:
        raise Rejected(411, "missing_content_length")
    if not _DIGITS.fullmatch(declared):
        raise Rejected(400, "bad_content_length")
    length = int(declared)
    if length > MAX_BODY_BYTES:
        raise Rejected(413, "body_too_large")
    return length


def _read(environ: dict[str, Any], length: int) -> bytes:
    stream = environ.get("wsgi.input") or io.BytesIO()
    chunks, remaining = [], length
    while remaining > 0:
        chunk = stream.read(remaining)
        if not chunk:
            raise Rejected(400, "truncated_body")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def _signature_headers(environ: dict[str, Any]) -> tuple[str, str]:
    timestamp = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP")
    signature = environ.get("HTTP_X_SLACK_SIGNATURE")
    if timestamp is None:
        raise Rejected(401, "missing_timestamp")
    if not _TIMESTAMP.fullmatch(timestamp):
        raise Rejected(401, "bad_timestamp")
    if abs(time.time() - int(timestamp)) > TIMESTAMP_TOLERANCE_SECONDS:
        raise Rejected(401, "stale_timestamp")
    if signature is None:
        raise Rejected(401, "missing_signature")
    if not _SIGNATURE.fullmatch(signature):
        raise Rejected(401, "bad_signature")
    return timestamp, signature


def _utf8(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise Rejected(400, "bad_encoding") from None


def _media_type(environ: dict[str, Any]) -> str:
    return str(environ.get("CONTENT_TYPE") or "").split(";", 1)[0].strip().lower()


def _json_object(text: str, reason: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        raise Rejected(400, reason) from None
    if not isinstance(value, dict):
        raise Rejected(400, reason)
    return value


def _check_parseable(environ: dict[str, Any], text: str) -> None:
    """Refuse what Bolt's parser (slack_bolt.request.internals.parse_body) would choke on."""
    if not text:
        raise Rejected(400, "empty_body")
    media_type = _media_type(environ)
    if media_type not in (FORM, JSON):
        raise Rejected(415, "unsupported_content_type")
    if media_type == JSON or text.startswith("{"):
        _json_object(text, "bad_json")
    elif "payload" in text:
        payload = dict(parse_qsl(text, keep_blank_values=True)).get("payload")
        if payload is not None:
            _json_object(payload, "bad_payload")
    try:  # the rest of Bolt's reading (context ids out of the body), exactly as Bolt does it
        BoltRequest(body=text, query=environ.get("QUERY_STRING", ""),
                    headers={"content-type": environ.get("CONTENT_TYPE", "")})
    except Exception:  # noqa: BLE001 - whatever Bolt would have raised, as a 500
        raise Rejected(400, "unreadable_body") from None


def _refuse(environ: dict[str, Any], start_response: Callable[..., Any],
            rejected: Rejected) -> list[bytes]:
    request_log.refused(
        rejected.status,
        rejected.reason,
        size=clean(environ.get("CONTENT_LENGTH") or "-", 20),
        content_type=clean(environ.get("CONTENT_TYPE") or "-"),
        ip=clean(environ.get("REMOTE_ADDR") or "-"),
    )
    body = (_MESSAGES[rejected.status] + "\n").encode()
    start_response(
        _STATUS_LINES[rejected.status],
        [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))],
    )
    return [body]
