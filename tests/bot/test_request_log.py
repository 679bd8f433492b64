"""One log line per Slack request (bot/runtime/request_log.py): its fields, written once
when the ack and the work after it are done, never a secret or what a person typed;
plain key=value or JSON; the request id on the lines logged for the request."""

from __future__ import annotations

import io
import json
import logging
import re
import threading
import time
from collections.abc import Iterator

import pytest
from slack_bolt.request import BoltRequest

from bot.runtime import request_log
from bot.runtime.after_ack import AfterAck, Answer
from bot.runtime.request_log import JsonFormatter, PlainFormatter, RequestRecord
from tests.bot import signing
from tests.bot.conftest import BOT_TOKEN

FAKE_TOKEN = "xoxb-1234-5678-FAKEtokenVALUE"
HOSTILE = f"{FAKE_TOKEN} <!channel> <@U999|boss> &lt;script&gt; naïve\nFORGED request_id=x"
# Never in any line: tokens, secrets, what a person typed, where answers go.
FORBIDDEN = ("xoxb-", "FAKEtoken", "<!channel>", "!channel", "U999", "boss", "script", "FORGED",
             "naïve", signing.SIGNING_SECRET, BOT_TOKEN, "/response/", "v0=")
TRIGGER_ID = re.compile(r"[0-9]+\.[0-9]{10}\.[0-9a-f]{32}")  # the fake Web API's trigger ids
REQUEST_FIELDS = ("request_id", "team", "user", "kind", "name", "outcome", "status", "ack_ms",
                  "total_ms")


class Lines:
    """Every line the process logs meanwhile, formatted as `serve` would."""

    def __init__(self, formatter: logging.Formatter) -> None:
        self.stream = io.StringIO()
        self.handler = logging.StreamHandler(self.stream)
        self.handler.setFormatter(formatter)
        self.handler.setLevel(logging.INFO)
        self.json = isinstance(formatter, JsonFormatter)

    def all(self) -> list[str]:
        return [line for line in self.stream.getvalue().splitlines() if line]

    def requests(self) -> list[dict]:
        """The request lines, as dicts of their fields."""
        found = []
        for line in self.all():
            if self.json:
                entry = json.loads(line)
                if entry["message"] in ("slack request", "rejected slack request"):
                    found.append(entry)
            elif ": slack request: " in line or ": rejected slack request: " in line:
                found.append(parse_plain(line))
        return found

    def wait_for_requests(self, count: int, timeout: float = 10.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while len(self.requests()) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.requests()


def parse_plain(line: str) -> dict:
    """`… slack request: key=value key=value …` as a dict (every value a string)."""
    fields = line.split(" slack request: ", 1)[1].split(" ")
    assert all("=" in field for field in fields), line
    parsed = dict(field.split("=", 1) for field in fields)
    assert len(parsed) == len(fields), f"a key twice: {line}"
    return parsed


def of_kind(lines: list[dict], kind: str) -> dict:
    (line,) = [line for line in lines if line["kind"] == kind]
    return line


def capture(caplog, formatter: logging.Formatter) -> Iterator[Lines]:
    caplog.set_level(logging.INFO)
    lines = Lines(formatter)
    root = logging.getLogger()
    root.addHandler(lines.handler)
    try:
        yield lines
    finally:
        root.removeHandler(lines.handler)


@pytest.fixture
def plain_lines(caplog) -> Iterator[Lines]:
    yield from capture(caplog, PlainFormatter())


@pytest.fixture
def json_lines(caplog) -> Iterator[Lines]:
    yield from capture(caplog, JsonFormatter())


def assert_clean(text: str) -> None:
    for forbidden in FORBIDDEN:
        assert forbidden not in text, f"{forbidden!r} in {text!r}"
    assert not TRIGGER_ID.search(text), text


# ----------------------------------------------------------------------------- over HTTP


def test_a_command_is_one_plain_line_with_its_fields_and_nothing_typed(slack, slack_api, plain_lines):
    reply = slack.command("/accountplan", f"show {HOSTILE}")
    assert reply.status == 200
    (line,) = plain_lines.wait_for_requests(1)
    assert tuple(line) == REQUEST_FIELDS
    assert line["team"] == signing.TEAM_ID and line["user"] == signing.USER_ID
    assert (line["kind"], line["name"], line["status"]) == ("command", "show", "200")
    assert line["outcome"] == "ok"  # "no plan matches" is an answer, by response URL
    assert len(line["request_id"]) == 16 and int(line["request_id"], 16) >= 0
    assert 0 <= float(line["ack_ms"]) <= float(line["total_ms"]) < 10_000
    slack.command("/accountplan", HOSTILE)  # not a word of ours: the guide, named "other"
    slack.command("/accountplan", "")
    lines = plain_lines.wait_for_requests(3)
    assert [(x["name"], x["outcome"]) for x in lines[1:]] == [("other", "ok"), ("help", "ok")]
    assert len({x["request_id"] for x in lines}) == 3
    assert_clean(plain_lines.stream.getvalue())


def test_json_lines_parse_and_carry_the_same_fields(slack, slack_api, json_lines):
    slack.command("/accountplan", f"list {HOSTILE}")
    slack.app_home_opened()
    lines = json_lines.wait_for_requests(2)
    for line in json_lines.all():  # every line of the process, not only the requests'
        json.loads(line)
    command, event = sorted(lines, key=lambda line: line["kind"])  # written as each one ends
    assert {"time", "level", "logger", "message", *REQUEST_FIELDS} <= set(command)
    assert (command["kind"], command["name"], command["outcome"], command["status"]) == \
        ("command", "list", "ok", 200)
    assert isinstance(command["ack_ms"], float) and command["total_ms"] >= command["ack_ms"]
    assert (event["kind"], event["name"], event["user"]) == ("event", "app_home_opened", signing.USER_ID)
    assert command["logger"] == "accountplan.requests" and command["level"] == "INFO"
    assert_clean(json_lines.stream.getvalue())


def test_form_values_never_reach_the_line(slack, slack_api, plain_lines):
    slack.command("/accountplan", "new")
    form = slack.wait_for("views.open")
    reply = slack.submit_view(form, {"Plan name": HOSTILE.replace("\n", " "), "Account": HOSTILE,
                                     "Start date": "2025-01-01", "End date": "2025-12-31"})
    assert reply.status == 200
    submission = of_kind(plain_lines.wait_for_requests(2), "view_submission")
    assert (submission["kind"], submission["outcome"]) == ("view_submission", "ok")
    assert submission["name"] == form.params["view"]["callback_id"]
    assert_clean(plain_lines.stream.getvalue())


def test_field_errors_are_refused(slack, slack_api, plain_lines):
    slack.command("/accountplan", "new")
    form = slack.wait_for("views.open")
    reply = slack.submit_view(form, {"Plan name": "X", "Account": "A", "Start date": "2025-06-01",
                                     "End date": "2025-01-01"})
    assert reply.json["response_action"] == "errors"
    assert of_kind(plain_lines.wait_for_requests(2), "view_submission")["outcome"] == "refused"


def test_the_line_waits_for_the_work_after_the_ack(slack, slack_api, plain_lines):
    """`new` acks at once and opens its modal after: the line comes once the modal is open."""
    opened_when_written = []

    class Watch(logging.Handler):
        def emit(self, record):
            if record.name == "accountplan.requests":
                opened_when_written.append(len(slack_api.calls_to("views.open")))

    watch = Watch()
    logging.getLogger().addHandler(watch)
    try:
        assert slack.command("/accountplan", "new").status == 200
        slack.wait_for("views.open")
        (line,) = plain_lines.wait_for_requests(1)
    finally:
        logging.getLogger().removeHandler(watch)
    assert opened_when_written == [1]
    assert float(line["total_ms"]) >= float(line["ack_ms"])


def test_errors_after_the_ack_carry_the_request_id(slack, slack_api, plain_lines):
    slack_api.error("views.open", "internal_error")
    assert slack.command("/accountplan", "new").status == 200
    (line,) = plain_lines.wait_for_requests(1)
    assert line["outcome"] == "error"
    failures = [x for x in plain_lines.all() if " ERROR " in x]  # the traceback follows it
    assert failures and failures[0].endswith(f" request_id={line['request_id']}"), plain_lines.all()
    assert "after-ack work for /accountplan failed" in failures[0]


def test_an_error_after_the_ack_is_json_with_the_request_id(slack, slack_api, json_lines):
    slack_api.error("views.open", "internal_error")
    slack.command("/accountplan", "new")
    (line,) = json_lines.wait_for_requests(1)
    errors = [json.loads(x) for x in json_lines.all() if json.loads(x)["level"] == "ERROR"]
    assert errors and errors[0]["request_id"] == line["request_id"]
    assert "Traceback" in errors[0]["error"] and "\n" not in json_lines.all()[0]


def test_a_request_refused_before_bolt_is_one_line(app_server, slack_api, plain_lines):
    from tests.bot.test_request_hygiene import send, with_length

    body = signing.encode_form(signing.slash_command("/accountplan", HOSTILE)).encode()
    answer = send(app_server.url, body, with_length(body, {"Content-Type": signing.FORM}))
    assert answer.status == 401
    (line,) = plain_lines.requests()
    assert list(line)[:2] == ["status", "reason"] and line["reason"] == "missing_timestamp"
    assert (line["kind"], line["outcome"]) == ("unknown", "bad_request")
    assert "user" not in line and "team" not in line
    assert len(plain_lines.all()) == 1 and " WARNING accountplan.request_guard: " in plain_lines.all()[0]
    assert_clean(plain_lines.stream.getvalue())


def test_a_bad_signature_in_json(slack, json_lines):
    body = signing.encode_form(signing.slash_command("/accountplan", HOSTILE))
    reply = slack.post(body, signing.FORM, secret="not-the-secret")
    assert reply.status == 401
    (line,) = json_lines.requests()
    assert line["message"] == "rejected slack request"
    assert (line["status"], line["reason"], line["kind"], line["outcome"], line["user"]) == \
        (401, "bad_signature", "unknown", "bad_request", None)
    assert_clean(json_lines.stream.getvalue())


# ----------------------------------------------------------------------------- Socket Mode


def socket_mode(payload: dict) -> BoltRequest:
    """What Bolt's Socket Mode adapter dispatches (slack_bolt.adapter.socket_mode.internals)."""
    return BoltRequest(mode="socket_mode", body=payload, headers=None)


def test_socket_mode_requests_are_logged_by_the_same_path(bolt_app, slack_api, plain_lines):
    command = signing.slash_command("/accountplan", f"swot {HOSTILE}",
                                    response_url=slack_api.response_url(channel="C1"),
                                    trigger_id=slack_api.trigger_id())
    assert bolt_app.dispatch(socket_mode(command)).status == 200
    home = signing.event_envelope(signing.app_home_opened(signing.USER_ID), team=signing.TEAM_ID,
                                  bot_user=slack_api.bot_user_id)
    assert bolt_app.dispatch(socket_mode(home)).status == 200
    first, second = sorted(plain_lines.wait_for_requests(2), key=lambda line: line["kind"])
    assert (first["kind"], first["name"], first["outcome"], first["status"]) == \
        ("command", "swot", "ok", "200")
    assert (second["kind"], second["name"], second["team"]) == ("event", "app_home_opened", "T1")
    assert_clean(plain_lines.stream.getvalue())


# ----------------------------------------------------------------------------- the record itself


def test_the_line_is_written_once_after_the_last_of_ack_and_work(plain_lines):
    pool = AfterAck(workers=1)
    release = threading.Event()
    record = RequestRecord()
    token = request_log.enter(record)
    try:
        pool.submit(lambda: release.wait(5), answer=Answer.MESSAGE)
        pool.submit(lambda: None, answer=Answer.BACKGROUND)
    finally:
        request_log.leave(token)
    record.acked(200)
    assert plain_lines.requests() == []  # the work is still running
    release.set()
    pool.shutdown()
    (line,) = plain_lines.requests()
    assert line["outcome"] == "ok" and float(line["total_ms"]) >= float(line["ack_ms"])
    record.release()  # late: nothing more is written
    record.acked(200)
    assert len(plain_lines.requests()) == 1


def test_outcomes_keep_the_worst_of_what_happened(plain_lines):
    from storage.errors import NotFound

    def run(*works, answer=Answer.MESSAGE, received_at=None):
        pool = AfterAck(workers=1, report=lambda error, kwargs: None, on_overload=lambda kwargs: None)
        record = RequestRecord()
        token = request_log.enter(record)
        try:
            for work in works:
                pool.submit(work, answer=answer, received_at=received_at)
        finally:
            request_log.leave(token)
        record.acked(200)
        pool.shutdown()
        return plain_lines.requests()[-1]["outcome"]

    def refuse():
        raise NotFound("That plan is no longer there.")

    def fail():
        raise RuntimeError("boom")

    assert run(lambda: None) == "ok"
    assert run(refuse) == "refused"
    assert run(refuse, fail, refuse) == "error"
    assert run(lambda: None, answer=Answer.MODAL, received_at=time.monotonic() - 10) == "overloaded"


def test_the_id_is_on_the_bolt_context(bolt_app, slack_api, plain_lines):
    seen = {}

    @bolt_app.shortcut("see_the_id")
    def see(ack, context):
        seen["id"] = context["request_id"]
        seen["record"] = context["request"]
        ack()

    assert bolt_app.dispatch(socket_mode(signing.global_shortcut("see_the_id"))).status == 200
    (line,) = plain_lines.wait_for_requests(1)
    assert seen["id"] == line["request_id"] == seen["record"].id
    assert (line["kind"], line["name"]) == ("shortcut", "see_the_id")


def test_a_listener_failing_before_its_ack_is_an_error(bolt_app, slack_api, plain_lines):
    @bolt_app.shortcut("fails_at_once")
    def fails(ack):
        raise RuntimeError("before the ack")

    assert bolt_app.dispatch(socket_mode(signing.global_shortcut("fails_at_once"))).status == 200
    (line,) = plain_lines.wait_for_requests(1)
    assert line["outcome"] == "error"
    failure = next(x for x in plain_lines.all() if " ERROR " in x)
    assert failure.split(" request_id=")[1].split()[0] == line["request_id"]


def test_clean_values_cannot_forge_fields():
    assert request_log.clean("a b=c\nd") == "a?b=c?d"
    assert request_log.plain({"name": request_log.clean("x kind=ok"), "user": None}) == "name=x?kind=ok"
