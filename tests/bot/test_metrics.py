"""GET /metrics: Prometheus text format, requests by kind and outcome, ack latency,
Slack Web API calls by method and status; in one process, and added up across
`serve --workers 2` (prometheus_client's multiprocess mode)."""

from __future__ import annotations

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
from tests.bot import signing
from tests.bot.test_server import ENV_VARS, free_port, get


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
    assert delta(requests, kind="rejected", outcome="rejected") == 1
    assert delta("accountplan_slack_ack_seconds_count", kind="command") == 2
    assert delta("accountplan_slack_ack_seconds_bucket", kind="command", le="3.0") == 2
    assert delta("accountplan_slack_ack_seconds_count", kind="rejected") == 0
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
    assert metrics.kind_of(b"command=%2Faccountplan&text=help", signing.FORM) == "command"
    assert metrics.kind_of(b'{"type":"event_callback","event":{}}', signing.JSON) == "event"
    assert metrics.kind_of(b"payload=%7B%22type%22%3A%22view_submission%22%7D", signing.FORM) == \
        "view_submission"
    assert metrics.kind_of(b"payload=%7B%22type%22%3A%22message_action%22%7D", signing.FORM) == "shortcut"
    assert metrics.kind_of(b"payload=%7B%22type%22%3A%22something_new%22%7D", signing.FORM) == "other"
    assert metrics.outcome_of(200) == "ok" and metrics.outcome_of(413) == "rejected"
    assert metrics.outcome_of(404) == "unhandled" and metrics.outcome_of(500) == "error"


def test_metrics_added_up_across_workers(slack_api, tmp_path):
    """serve --workers 2: whichever worker answers /metrics counts every worker's requests,
    and the folder it kept them in is gone once serve stops."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ENV_VARS and k != metrics.MULTIPROC_ENV}
    env.update(SLACK_BOT_TOKEN="xoxb-metrics", SLACK_SIGNING_SECRET=signing.SIGNING_SECRET,
               SLACK_API_URL=slack_api.url, DATABASE_URL=f"sqlite:///{tmp_path / 'm.db'}",
               PORT=str(port), TMPDIR=str(tmp_path))
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
        for _ in range(4):  # any worker may answer; each says the same
            status, text = get(base + "/metrics")
            assert status == 200
            found = samples(text)
            assert value(found, "accountplan_slack_requests_total", kind="command", outcome="ok") == sent
            assert value(found, "accountplan_slack_ack_seconds_count", kind="command") == sent
            # each worker checks its token at start (the second may still be starting)
            assert value(found, "accountplan_slack_api_calls_total", method="auth.test", status="ok") >= 1
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=20)[0]
    assert process.returncode == 0, output
    assert "Traceback" not in output
    assert not list(Path(tmp_path).glob("accountplan-metrics-*")), "the metrics folder outlived serve"
