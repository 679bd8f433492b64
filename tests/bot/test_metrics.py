"""GET /metrics: Prometheus text format, requests by kind and outcome, ack and answer
latency, the after-ack queue, Slack Web API calls by method and status, scheduler passes,
the database pool; in one process, added up across `serve --workers 2`
(prometheus_client's multiprocess mode), and in Socket Mode on a port of its own."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from bot.runtime import metrics
from bot.scheduler import passes
from tests.bot import signing
from tests.bot.test_reminders_scheduler import UNHURRIED
from tests.bot.test_reminders_sending import seed
from tests.bot.test_server import ENV_VARS, environ, free_port, get  # noqa: F401 - a fixture

OUR_VARS = ("ACCOUNTPLAN_LOG_FORMAT", "ACCOUNTPLAN_METRICS_PORT")


def samples(text: str) -> dict[tuple[str, tuple], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(found: dict, name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def scrape(slack) -> dict:
    reply = slack.get("/metrics")
    assert reply.status == 200
    assert reply.headers["content-type"].startswith("text/plain; version=")
    return samples(reply.body)


def in_process() -> dict:
    return samples(metrics.exposition()[0].decode())


def eventually(read, check, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while True:
        found = read()
        if check(found) or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def test_requests_by_kind_and_outcome_and_ack_latency(slack):
    before = scrape(slack)
    assert slack.command("/accountplan", "help").status == 200
    assert slack.app_home_opened().status == 200
    assert slack.command("/not-ours", "").status == 404  # no listener
    unsigned = signing.encode_form(signing.slash_command("/accountplan", "help"))
    assert slack.request("POST", "/slack/events", unsigned.encode(),
                         {"Content-Type": signing.FORM}).status == 401
    after = scrape(slack)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    requests = "accountplan_slack_requests_total"
    assert delta(requests, kind="command", outcome="ok") == 1
    assert delta(requests, kind="event", outcome="ok") == 1
    assert delta(requests, kind="command", outcome="unhandled") == 1
    assert delta(requests, kind="unknown", outcome="rejected") == 1
    assert delta("accountplan_slack_ack_seconds_count", kind="command") == 2
    assert delta("accountplan_slack_ack_seconds_bucket", kind="command", le="3.0") == 2
    assert delta("accountplan_slack_ack_seconds_count", kind="unknown") == 0
    assert 0 < delta("accountplan_slack_ack_seconds_sum", kind="command") < 6
    # /health and /metrics themselves are not Slack requests
    assert sum(v for (name, _), v in after.items() if name == requests) - \
        sum(v for (name, _), v in before.items() if name == requests) == 4


def test_slack_api_calls_by_method_and_status(slack, slack_api):
    before = scrape(slack)
    client = WebClient(token="xoxb-test", base_url=slack_api.url,
                       retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)])
    slack_api.rate_limit("chat.postMessage", retry_after=0, times=1)
    client.chat_postMessage(channel="C1", text="hello")  # 429, then ok
    slack_api.error("conversations.info", "channel_not_found")
    with pytest.raises(SlackApiError):
        client.conversations_info(channel="C404")
    after = scrape(slack)

    def delta(**labels: str) -> float:
        name = "accountplan_slack_api_calls_total"
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta(method="chat.postMessage", status="http_429") == 1
    assert delta(method="chat.postMessage", status="ok") == 1
    assert delta(method="conversations.info", status="channel_not_found") == 1


def test_status_and_kind_labels():
    assert metrics.slack_status(200, '{"ok":true,"channel":"C1"}') == "ok"
    assert metrics.slack_status(200, '{"ok": false, "error": "not_in_channel"}') == "not_in_channel"
    assert metrics.slack_status(503, "") == "http_503"
    assert metrics.method_of("https://slack.com/api/chat.postMessage?x=1") == "chat.postMessage"
    assert metrics.method_of("https://slack.com/api/<script>") == "other"
    assert metrics.kind_of({"command": "/accountplan", "text": "help"}) == "command"
    assert metrics.kind_of({"type": "event_callback", "event": {}}) == "event"
    assert metrics.kind_of({"type": "view_submission"}) == "view_submission"
    assert metrics.kind_of({"type": "message_action"}) == "shortcut"
    assert metrics.kind_of({"type": "block_suggestion"}) == "options"
    assert metrics.kind_of({"type": "something_new"}) == "other"
    assert metrics.kind_of("not a payload") == "other"
    assert metrics.outcome_of(200) == "ok" and metrics.outcome_of(413) == "rejected"
    assert metrics.outcome_of(404) == "unhandled" and metrics.outcome_of(500) == "error"


def test_answers_and_the_after_ack_queue(slack, slack_api):
    """`new` answers after its ack (the modal): its answer is counted once that is done."""
    before = scrape(slack)
    slack.command("/accountplan", "new")
    slack.wait_for("views.open")
    slack.command("/accountplan", "help")
    slack_api.error("views.open", "internal_error")
    slack.command("/accountplan", "new")

    def delta(found: dict, outcome: str) -> float:
        name = "accountplan_slack_answer_seconds_count"
        return value(found, name, kind="command", outcome=outcome) - \
            value(before, name, kind="command", outcome=outcome)

    after = eventually(lambda: scrape(slack), lambda found: delta(found, "error") == 1)
    assert (delta(after, "ok"), delta(after, "error")) == (2, 1)
    assert value(after, "accountplan_slack_answer_seconds_bucket", kind="command", outcome="ok",
                 le="60.0") >= 2
    assert ("accountplan_after_ack_queued", ()) in after  # nothing waits now: 0
    assert value(after, "accountplan_after_ack_queued") == value(before, "accountplan_after_ack_queued")


def test_database_pool_in_use_and_size(engine):
    metrics.watch_pool(engine)
    metrics.watch_pool(engine)  # once per engine
    before = in_process()
    assert value(before, "accountplan_db_pool_size") >= 1
    with engine.connect(), engine.connect():
        during = in_process()
    after = in_process()
    in_use = "accountplan_db_pool_in_use"
    assert value(during, in_use) - value(before, in_use) == 2
    assert value(after, in_use) == value(before, in_use)
    assert value(after, "accountplan_db_pool_size") == value(before, "accountplan_db_pool_size")


def test_scheduler_passes_sends_and_due_reminders(session_factory, settings, slack_api, monkeypatch):
    monkeypatch.setattr(passes, "observers", [metrics.observe_pass])
    seed(session_factory)  # an item assigned to someone, due 2025-03-10

    def failing(context, now):
        raise RuntimeError("a job that fails")

    def run(day: int) -> passes.PassReport:
        context = passes.make_context(settings, session_factory, UNHURRIED)
        return passes.run_pass(context, dt.datetime(2025, 3, day, 12, tzinfo=dt.timezone.utc),
                               jobs=[*passes.JOBS, failing])

    before = in_process()
    assert run(3).sent["deliver_notifications"] == 1  # the assignment DM
    report = run(7)  # due soon: its reminder goes out
    assert (report.reminders_due, report.sent["send_item_reminders"]) == (1, 1)
    slack_api.error("chat.postMessage", "channel_not_found")
    report = run(11)  # overdue: due again, and Slack refuses it
    assert (report.reminders_due, report.sent["send_item_reminders"]) == (1, 0)
    after = in_process()

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("accountplan_scheduler_pass_seconds_count") == 3
    assert delta("accountplan_scheduler_pass_seconds_sum") > 0
    assert delta("accountplan_scheduler_sent_total", job="deliver_notifications") == 1
    assert delta("accountplan_scheduler_sent_total", job="send_item_reminders") == 1
    assert delta("accountplan_reminders_due_total") == 2
    assert delta("accountplan_scheduler_job_failures_total", job="failing") == 3


def test_socket_mode_serves_health_and_metrics_on_its_port(environ, slack_api, tmp_path, monkeypatch):  # noqa: F811
    from slack_bolt.adapter.socket_mode import SocketModeHandler
    from slack_bolt.request import BoltRequest

    port = free_port()
    seen = {}

    def start(self):  # instead of connecting to Slack: what the port answers meanwhile
        command = signing.slash_command("/accountplan", "help")
        seen["ack"] = self.app.dispatch(BoltRequest(mode="socket_mode", body=command)).status
        base = f"http://127.0.0.1:{port}"
        seen["health"] = get(base + "/health")
        seen["metrics"] = get(base + "/metrics")
        seen["events"] = get(base + "/slack/events")[0]

    monkeypatch.setattr(SocketModeHandler, "start", start)
    for name in OUR_VARS:
        monkeypatch.delenv(name, raising=False)
    environ(SLACK_BOT_TOKEN="xoxb-1", SLACK_APP_TOKEN="xapp-1-socket", SLACK_API_URL=slack_api.url,
            DATABASE_URL=f"sqlite:///{tmp_path / 'a.db'}", ACCOUNTPLAN_METRICS_PORT=str(port))
    before = in_process()
    from bot.server import serve

    assert serve(no_scheduler=True) == 0
    assert seen["ack"] == 200 and seen["health"] == (200, "ok\n") and seen["events"] == 404
    status, text = seen["metrics"]
    found = samples(text)
    assert status == 200
    assert value(found, "accountplan_slack_requests_total", kind="command", outcome="ok") - \
        value(before, "accountplan_slack_requests_total", kind="command", outcome="ok") == 1
    assert value(found, "accountplan_slack_api_calls_total", method="auth.test", status="ok") >= 1
    with pytest.raises(urllib.error.URLError):  # stopped with serve
        urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2)


def test_metrics_added_up_across_workers(slack_api, tmp_path):
    """serve --workers 2: whichever worker answers /metrics counts every worker's requests
    (and the scheduler's passes, in its own process), the folder it kept them in is gone
    once serve stops, and with ACCOUNTPLAN_LOG_FORMAT=json every line written is JSON,
    one for each request."""
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in ENV_VARS and k not in OUR_VARS and k != metrics.MULTIPROC_ENV}
    env.update(SLACK_BOT_TOKEN="xoxb-metrics", SLACK_SIGNING_SECRET=signing.SIGNING_SECRET,
               SLACK_API_URL=slack_api.url, DATABASE_URL=f"sqlite:///{tmp_path / 'm.db'}",
               PORT=str(port), TMPDIR=str(tmp_path), ACCOUNTPLAN_LOG_FORMAT="json")
    code = "import sys; from bot.server import serve; sys.exit(serve(workers=2))"
    process = subprocess.Popen([sys.executable, "-c", code], cwd=tmp_path, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                assert get(base + "/health")[0] == 200
                break
            except (urllib.error.URLError, ConnectionError):
                assert process.poll() is None, process.communicate()[0]
                assert time.monotonic() < deadline, "serve did not start"
                time.sleep(0.1)
        sent = 8
        for _ in range(sent):
            body = signing.encode_form(signing.slash_command("/accountplan", "help"))
            request = urllib.request.Request(base + "/slack/events", data=body.encode(),
                                             headers=signing.signed_headers(body, signing.FORM))
            with urllib.request.urlopen(request, timeout=10) as response:
                assert response.status == 200
        folders = list(tmp_path.glob("accountplan-metrics-*"))
        assert len(folders) == 1 and list(folders[0].glob("*.db"))
        # the scheduler's process makes its first pass as it starts
        eventually(lambda: samples(get(base + "/metrics")[1]),
                   lambda found: value(found, "accountplan_scheduler_pass_seconds_count") >= 1, 30)
        for _ in range(4):  # any worker may answer; each says the same
            status, text = get(base + "/metrics")
            assert status == 200
            found = samples(text)
            assert value(found, "accountplan_slack_requests_total", kind="command", outcome="ok") == sent
            assert value(found, "accountplan_slack_ack_seconds_count", kind="command") == sent
            assert value(found, "accountplan_slack_answer_seconds_count", kind="command", outcome="ok") == sent
            # each worker checks its token at start (the second may still be starting)
            assert value(found, "accountplan_slack_api_calls_total", method="auth.test", status="ok") >= 1
            assert value(found, "accountplan_scheduler_pass_seconds_count") >= 1
            assert ("accountplan_after_ack_queued", ()) in found
            # each process's pool: the workers' (5 each, SQLite's default) and the scheduler's
            assert value(found, "accountplan_db_pool_size") >= 10
            assert ("accountplan_db_pool_in_use", ()) in found
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=20)[0]
    assert process.returncode == 0, output
    assert "Traceback" not in output
    lines = [json.loads(line) for line in output.splitlines() if line.strip()]
    requests = [line for line in lines if line["message"] == "slack request"]
    assert len(requests) == sent
    assert {(r["kind"], r["name"], r["outcome"], r["status"]) for r in requests} == \
        {("command", "help", "ok", 200)}
    assert len({r["request_id"] for r in requests}) == sent
    assert not list(Path(tmp_path).glob("accountplan-metrics-*")), "the metrics folder outlived serve"
