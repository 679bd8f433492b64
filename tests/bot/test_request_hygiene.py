"""Bad requests to POST /slack/events: a 4xx at once, one clean log line, never a 500.

Over real HTTP (tests/bot/conftest.py `app_server`, request verification on) unless a
test says otherwise; bot/runtime/request_guard.py answers before Bolt reads anything.
"""

from __future__ import annotations

import http.client
import io
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
from slack_bolt.middleware.request_verification import RequestVerification
from slack_bolt.request import BoltRequest
from slack_bolt.response import BoltResponse

from bot import server
from bot.app import create_app
from bot.runtime import request_guard
from bot.runtime.request_guard import MAX_BODY_BYTES, clean, guard
from bot.server import make_wsgi_app
from tests.bot import signing
from tests.bot.conftest import start_wsgi_server, stop_listeners

GUARD_LOGGER = request_guard.log.name
LINE_LIMIT = 300  # a rejection's log line stays well under this


@dataclass
class Answer:
    status: int
    body: str
    headers: dict[str, str]
    elapsed: float


def send(url: str, body: bytes, headers: dict[str, str], *, chunked: bool = False,
         path: str = "/slack/events") -> Answer:
    """POST exactly these headers (no Content-Length unless given, or chunked) and body."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    started = time.monotonic()
    try:
        connection.putrequest("POST", path, skip_accept_encoding=True)
        for name, value in headers.items():
            connection.putheader(name, value)
        if chunked:
            connection.putheader("Transfer-Encoding", "chunked")
            connection.endheaders()
            for start in range(0, len(body), 65536):
                piece = body[start:start + 65536]
                connection.send(b"%x\r\n%s\r\n" % (len(piece), piece))
            connection.send(b"0\r\n\r\n")
        else:
            connection.endheaders(body or None)
        response = connection.getresponse()
        text = response.read().decode("utf-8", "replace")
        return Answer(response.status, text, {k.lower(): v for k, v in response.getheaders()},
                      time.monotonic() - started)
    finally:
        connection.close()


def with_length(body: bytes, headers: dict[str, str]) -> dict[str, str]:
    return {**headers, "Content-Length": str(len(body))}


def signed(body: bytes, content_type: str | None = signing.FORM, *,
           timestamp: int | str | None = None, secret: str = signing.SIGNING_SECRET) -> dict[str, str]:
    """Headers as Slack sends them (any timestamp, signed over it as given), plus Content-Length."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    headers = {"X-Slack-Request-Timestamp": str(timestamp),
               "X-Slack-Signature": signing.signature(body, timestamp, secret)}
    if content_type is not None:
        headers["Content-Type"] = content_type
    return with_length(body, headers)


def guard_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == GUARD_LOGGER]


def assert_no_traceback(caplog) -> None:
    assert [r.getMessage()[:200] for r in caplog.records if r.exc_info] == []
    assert [r.getMessage()[:200] for r in caplog.records if r.levelno >= logging.ERROR] == []


def assert_one_clean_line(caplog, status: int, reason: str) -> str:
    lines = guard_lines(caplog)
    assert len(lines) == 1, lines
    line = lines[0]
    assert line.startswith(f"rejected slack request: status={status} reason={reason} ")
    assert len(line) < LINE_LIMIT and "\n" not in line and "\r" not in line
    assert signing.SIGNING_SECRET not in line
    return line


HELP = signing.encode_form(signing.slash_command("/accountplan", "help")).encode()
SECRET_HEX = "0" * 64


# ----------------------------------------------------------------------------- the table


@dataclass
class Case:
    build: Callable[[], tuple[bytes, dict[str, str]]]
    status: int
    reason: str | None  # the guard's reason; None: waitress refuses before the app runs
    chunked: bool = False


def now() -> int:
    return int(time.time())


CASES = {
    "no-headers-payload-not-json": Case(
        lambda: (b"payload=%7Bnot", with_length(b"payload=%7Bnot", {})), 401, "missing_timestamp"),
    "timestamp-abc": Case(
        lambda: (HELP, with_length(HELP, {"Content-Type": signing.FORM,
                                          "X-Slack-Request-Timestamp": "abc",
                                          "X-Slack-Signature": "v0=" + SECRET_HEX})),
        401, "bad_timestamp"),
    "timestamp-empty": Case(
        lambda: (HELP, {**signed(HELP), "X-Slack-Request-Timestamp": ""}), 401, "bad_timestamp"),
    "timestamp-with-plus-sign-signed-as-sent": Case(
        lambda: (HELP, signed(HELP, timestamp=f"+{now()}")), 401, "bad_timestamp"),
    "timestamp-forty-digits": Case(
        lambda: (HELP, signed(HELP, timestamp="9" * 40)), 401, "bad_timestamp"),
    "timestamp-ten-minutes-old": Case(
        lambda: (HELP, signed(HELP, timestamp=now() - 600)), 401, "stale_timestamp"),
    "timestamp-ten-minutes-ahead": Case(
        lambda: (HELP, signed(HELP, timestamp=now() + 600)), 401, "stale_timestamp"),
    "signature-missing": Case(
        lambda: (HELP, {k: v for k, v in signed(HELP).items() if k != "X-Slack-Signature"}),
        401, "missing_signature"),
    "signature-other-scheme": Case(
        lambda: (HELP, {**signed(HELP), "X-Slack-Signature": "v1=" + SECRET_HEX}),
        401, "bad_signature"),
    "signature-wrong-secret": Case(
        lambda: (HELP, signed(HELP, secret="not-the-secret")), 401, "bad_signature"),
    "signature-of-another-body": Case(
        lambda: (HELP + b"&text=admin", with_length(HELP + b"&text=admin", signed(HELP))),
        401, "bad_signature"),
    "unsigned-invalid-utf8": Case(
        lambda: (b"text=\xff\xfe\xc3", with_length(b"text=\xff\xfe\xc3",
                                                   {"Content-Type": signing.FORM})),
        401, "missing_timestamp"),
    "signed-invalid-utf8": Case(
        lambda: (b"text=\xff\xfe\xc3", signed(b"text=\xff\xfe\xc3")), 400, "bad_encoding"),
    "signed-payload-not-json": Case(
        lambda: (b"payload=%7Bnot", signed(b"payload=%7Bnot")), 400, "bad_payload"),
    "signed-payload-json-array": Case(
        lambda: (b"payload=%5B1%5D", signed(b"payload=%5B1%5D")), 400, "bad_payload"),
    "json-array": Case(
        lambda: (b"[1, 2]", signed(b"[1, 2]", signing.JSON)), 400, "bad_json"),
    "json-string-with-charset": Case(
        lambda: (b'"text"', signed(b'"text"', "application/json; charset=utf-8")), 400, "bad_json"),
    "json-cut-short": Case(
        lambda: (b'{"type": ', signed(b'{"type": ', signing.JSON)), 400, "bad_json"),
    "form-body-that-looks-like-json": Case(
        lambda: (b"{not json", signed(b"{not json")), 400, "bad_json"),
    "json-object-bolt-cannot-read": Case(
        lambda: (b'{"team": 5}', signed(b'{"team": 5}', signing.JSON)), 400, "unreadable_body"),
    "text-plain": Case(lambda: (HELP, signed(HELP, "text/plain")), 415, "unsupported_content_type"),
    "no-content-type": Case(lambda: (HELP, signed(HELP, None)), 415, "unsupported_content_type"),
    "multipart": Case(
        lambda: (HELP, signed(HELP, "multipart/form-data; boundary=x")), 415,
        "unsupported_content_type"),
    "empty-body": Case(lambda: (b"", signed(b"")), 400, "empty_body"),
    "no-content-length": Case(
        lambda: (b"", {k: v for k, v in signed(b"").items() if k != "Content-Length"}),
        411, "missing_content_length"),
    "over-the-limit-signed": Case(
        lambda: (b"x" * (MAX_BODY_BYTES + 1), signed(b"x" * (MAX_BODY_BYTES + 1))),
        413, "body_too_large"),
    "over-the-limit-chunked": Case(
        lambda: (b"x" * (2 * MAX_BODY_BYTES),
                 {"Content-Type": signing.FORM, "X-Slack-Request-Timestamp": str(now())}),
        413, "body_too_large", chunked=True),
    "content-length-not-a-number": Case(
        lambda: (b"", {**signed(HELP), "Content-Length": "abc"}), 400, None),
    "content-length-huge-body-small": Case(
        lambda: (HELP, {**signed(HELP), "Content-Length": str(10**12)}), 413, None),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_malformed_requests_get_a_4xx_and_one_clean_log_line(app_server, slack_api, caplog, case):
    caplog.set_level(logging.INFO)
    body, headers = case.build()
    answer = send(app_server.url, body, headers, chunked=case.chunked)
    assert answer.status == case.status, answer
    assert answer.elapsed < 3
    assert_no_traceback(caplog)
    if case.reason is None:  # waitress itself refused it: the app never ran
        assert guard_lines(caplog) == []
        return
    assert_one_clean_line(caplog, case.status, case.reason)
    assert answer.headers["content-type"].startswith("text/plain")
    assert 0 < len(answer.body) < 100 and "Traceback" not in answer.body
    assert [c.method for c in slack_api.calls if c.method != "auth.test"] == []


# ----------------------------------------------------------------------------- big and hostile bodies


def test_five_megabytes_unsigned_are_refused_in_one_short_line(app_server, caplog):
    caplog.set_level(logging.INFO)
    # Bolt logged a bad signature's whole body at INFO; make sure it would show here.
    caplog.set_level(logging.INFO, logger=f"slack_bolt.{RequestVerification.__name__}")
    body = (b"payload=BODYMARKER" + b"A" * 1000 + b"\n") * (5 * 1024 * 1024 // 1019)
    assert len(body) > 5 * 1024 * 1024 - 2048
    for _ in range(3):
        answer = send(app_server.url, body, with_length(body, {"Content-Type": signing.FORM}))
        assert answer.status == 413 and answer.elapsed < 3
        assert "BODYMARKER" not in answer.body
        assert_no_traceback(caplog)
        line = assert_one_clean_line(caplog, 413, "body_too_large")
        assert f"size={len(body)} " in line and "ip=127.0.0.1" in line
        assert "BODYMARKER" not in caplog.text and len(caplog.text) < LINE_LIMIT
        caplog.clear()


def test_newlines_in_a_body_forge_no_log_lines(app_server, caplog):
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.INFO, logger=f"slack_bolt.{RequestVerification.__name__}")
    forged = b"payload=x\n2025-01-01 00:00:00 ERROR accountplan: FORGED admin login\r\nFORGED"
    for headers, reason in (
        ({"Content-Type": signing.FORM}, "missing_timestamp"),
        ({**signed(forged), "X-Slack-Signature": "v0=" + SECRET_HEX}, "bad_signature"),
    ):
        caplog.clear()
        answer = send(app_server.url, forged, with_length(forged, headers))
        assert answer.status == 401
        # waitress may add its own "task queue depth" warning on a busy machine: the
        # request itself makes exactly one line, and nothing of its body reaches the log.
        ours = [r for r in caplog.records if not r.name.startswith("waitress")]
        assert len(ours) == 1, [r.getMessage() for r in ours]
        assert_one_clean_line(caplog, 401, reason)
        assert "FORGED" not in caplog.text
        assert all(r.getMessage().count("\n") == 0 for r in caplog.records)


def test_hostile_header_values_are_cleaned_in_the_log_line(app_server, caplog):
    caplog.set_level(logging.INFO)
    # waitress refuses control characters in a header itself (400, the app never runs)
    answer = send(app_server.url, HELP, {**signed(HELP), "Content-Type": "text/plain\x1b[2J"})
    assert answer.status == 400 and guard_lines(caplog) == []
    # tabs, spaces and non-ASCII reach the app: the line stays one line, fields unforgeable
    hostile = "text/plain\t reason=ok ip=10.0.0.1 " + "\u00e9" * 200
    answer = send(app_server.url, HELP, {**signed(HELP), "Content-Type": hostile})
    assert answer.status == 415
    assert_no_traceback(caplog)
    line = assert_one_clean_line(caplog, 415, "unsupported_content_type")
    assert "\t" not in line and "\u00e9" not in line
    fields = line.split(" ")
    assert [f for f in fields if f.startswith(("reason=", "ip="))] == [
        "reason=unsupported_content_type", "ip=127.0.0.1"]


def test_a_good_signed_request_still_works(slack, slack_api, caplog):
    caplog.set_level(logging.INFO)
    reply = slack.command("/accountplan", "help")
    assert reply.status == 200 and "Account plans" in reply.body
    challenge = json.dumps({"token": signing.VERIFICATION_TOKEN, "challenge": "c-123",
                            "type": "url_verification"})
    reply = slack.post(challenge, signing.JSON)  # a JSON body passes too
    assert reply.status == 200 and "c-123" in reply.body
    assert reply.elapsed < 3
    assert guard_lines(caplog) == []


def test_health_and_unknown_routes_are_untouched(slack):
    assert (slack.get("/health").status, slack.get("/health").body) == (200, "ok\n")
    assert slack.get("/slack/events").status == 404
    assert send(slack.app_url, HELP, signed(HELP), path="/elsewhere").status == 404


# ----------------------------------------------------------------------------- verification off


def test_without_request_verification_hygiene_still_applies(settings, session_factory, engine,
                                                            caplog):
    caplog.set_level(logging.INFO)
    app = create_app(settings, session_factory, request_verification=False)
    running = start_wsgi_server(make_wsgi_app(app, engine))
    try:
        # no signature needed ...
        unsigned = with_length(HELP, {"Content-Type": signing.FORM})
        answer = send(running.url, HELP, unsigned)
        assert answer.status == 200 and "Account plans" in answer.body
        # ... but a body Bolt would choke on, bad UTF-8 and a huge body are still refused
        for body, status, reason in ((b"payload=%7Bnot", 400, "bad_payload"),
                                     (b"text=\xff\xfe", 400, "bad_encoding"),
                                     (b"x" * (5 * 1024 * 1024), 413, "body_too_large")):
            caplog.clear()
            answer = send(running.url, body, with_length(body, {"Content-Type": signing.FORM}))
            assert answer.status == status
            assert_one_clean_line(caplog, status, reason)
        assert_no_traceback(caplog)
    finally:
        running.stop()
        stop_listeners(app)


# ----------------------------------------------------------------------------- the guard itself


class Input:
    """wsgi.input that counts what is read from it."""

    def __init__(self, data: bytes) -> None:
        self.stream = io.BytesIO(data)
        self.read_bytes = 0

    def read(self, size: int = -1) -> bytes:
        chunk = self.stream.read(size)
        self.read_bytes += len(chunk)
        return chunk


def call(wsgi_app, environ: dict) -> tuple[str, bytes]:
    seen = {}

    def start_response(status, headers):
        seen["status"] = status

    body = b"".join(wsgi_app(environ, start_response))
    return seen["status"], body


def post_environ(body_stream, content_length: str | None, **extra) -> dict:
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/slack/events", "wsgi.input": body_stream,
               "CONTENT_TYPE": signing.FORM, "REMOTE_ADDR": "192.0.2.7", **extra}
    if content_length is not None:
        environ["CONTENT_LENGTH"] = content_length
    return environ


def never_called(environ, start_response):
    raise AssertionError("Bolt must not see this request")


def test_an_oversized_body_is_refused_without_reading_it(bolt_app, caplog):
    app = guard(bolt_app, never_called)
    stream = Input(b"x" * (5 * 1024 * 1024))
    status, _ = call(app, post_environ(stream, str(5 * 1024 * 1024)))
    assert status.startswith("413") and stream.read_bytes == 0
    for length, expected in ((None, "411"), ("", "411"), ("-1", "400"), ("12abc", "400"),
                             ("1" * 40, "400")):
        stream = Input(b"x" * 10)
        status, _ = call(app, post_environ(stream, length))
        assert status.startswith(expected), (length, status)
        assert stream.read_bytes == 0
    stream = Input(b"x" * 10)  # unsigned: refused before its body is read
    assert call(app, post_environ(stream, "10"))[0].startswith("401") and stream.read_bytes == 0


def test_the_guard_reads_only_the_announced_length_and_hands_it_on(bolt_app):
    seen = {}

    def inner(environ, start_response):
        seen["body"] = environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))
        start_response("200 OK", [])
        return [b""]

    body = HELP
    headers = signed(body)
    stream = Input(body + b"trailing bytes beyond Content-Length")
    status, _ = call(guard(bolt_app, inner), post_environ(
        stream, str(len(body)), HTTP_X_SLACK_REQUEST_TIMESTAMP=headers["X-Slack-Request-Timestamp"],
        HTTP_X_SLACK_SIGNATURE=headers["X-Slack-Signature"]))
    assert status == "200 OK" and seen["body"] == body and stream.read_bytes == len(body)
    # a body shorter than announced is a 400, not a hang or a 500
    headers = signed(b"short")
    status, _ = call(guard(bolt_app, never_called), post_environ(
        Input(b"short"), "100", HTTP_X_SLACK_REQUEST_TIMESTAMP=headers["X-Slack-Request-Timestamp"],
        HTTP_X_SLACK_SIGNATURE=headers["X-Slack-Signature"]))
    assert status.startswith("400")


def test_the_guard_uses_bolts_own_verifier_when_verification_is_on(bolt_app, settings,
                                                                   session_factory):
    assert request_guard.verifier_of(bolt_app).is_valid(
        HELP.decode(), signed(HELP)["X-Slack-Request-Timestamp"], signed(HELP)["X-Slack-Signature"])
    unverified = create_app(settings, session_factory, request_verification=False)
    try:
        assert request_guard.verifier_of(unverified) is None
    finally:
        stop_listeners(unverified)


def test_clean_keeps_log_values_on_one_short_line():
    assert clean("10.0.0.1") == "10.0.0.1"
    assert clean("a\nb\rc\x1bd\te f\x00é") == "a?b?c?d?e?f??"
    assert clean("x" * 500) == "x" * 45 + "..."
    assert len(clean("y" * 500, 20)) == 20


def test_bolt_never_logs_a_bad_signature_body(bolt_app, engine, caplog):
    """Should Bolt ever see one (the guard refuses them first), its INFO line has no body."""
    make_wsgi_app(bolt_app, engine)  # installs the filter on Bolt's logger
    name = f"slack_bolt.{RequestVerification.__name__}"
    verification = RequestVerification(signing.SIGNING_SECRET)  # sets its level from root
    caplog.set_level(logging.DEBUG, logger=name)
    body = "text=BODYMARKER\nFORGED line"
    request = BoltRequest(body=body, headers={"content-type": signing.FORM,
                                              "x-slack-request-timestamp": str(now()),
                                              "x-slack-signature": "v0=" + SECRET_HEX})
    response = verification.process(
        req=request, resp=BoltResponse(status=200), next=lambda: BoltResponse(status=200))
    assert response.status == 401
    messages = [r.getMessage() for r in caplog.records if r.name == name]
    assert messages and all("BODYMARKER" not in m and "\n" not in m for m in messages)


def test_waitress_refuses_far_larger_bodies_itself(monkeypatch):
    import waitress

    seen = {}

    class Server:
        def run(self):
            pass

        def close(self):
            pass

    def create_server(app, **kwargs):
        seen.update(kwargs)
        return Server()

    monkeypatch.setattr(waitress, "create_server", create_server)
    thread = threading.Thread(target=server._serve_http, args=(lambda e, s: [], 0))
    thread.start()
    thread.join(10)
    assert seen["max_request_body_size"] == server.SERVER_MAX_BODY_BYTES > MAX_BODY_BYTES
