"""The fake Slack Web API itself: answers, recording, fault injection, validation."""

from __future__ import annotations

import json
import time
import urllib.request

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from tests.bot.slack_api import FakeSlackAPI


@pytest.fixture
def api():
    with FakeSlackAPI() as api:
        yield api


@pytest.fixture
def client(api):
    # No retry handlers: these tests look at single answers.
    return WebClient(token="xoxb-test", base_url=api.url, retry_handlers=[])


def test_records_calls_with_decoded_params(api, client):
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}]
    posted = client.chat_postMessage(channel="C1", text="hi", blocks=blocks)
    assert posted["ok"] and posted["channel"] == "C1" and posted["ts"]

    call = api.wait_for("chat.postMessage")
    assert call.token == "xoxb-test"
    assert call.params["blocks"] == blocks  # sent form-encoded as JSON text, decoded here
    assert call.message["ts"] == posted["ts"]
    assert api.messages[("C1", posted["ts"])]["blocks"] == blocks


def test_json_bodies_are_decoded_too(api):
    request = urllib.request.Request(
        api.url + "chat.postMessage",
        data=json.dumps({"channel": "C1", "text": "json"}).encode(),
        headers={"Content-Type": "application/json", "Authorization": "Bearer xoxb-x"},
    )
    assert json.load(urllib.request.urlopen(request))["ok"]
    assert api.calls_to("chat.postMessage")[0].params == {"channel": "C1", "text": "json"}


def test_default_answers(api, client):
    assert client.auth_test()["team_id"] == "T1"
    assert client.auth_test()["bot_id"] == "BBOT"
    assert client.conversations_open(users="U7")["channel"]["id"] == "D7"
    assert client.chat_postMessage(channel="U7", text="dm")["channel"] == "D7"
    assert client.conversations_info(channel="C1")["channel"]["is_ext_shared"] is False
    assert client.users_info(user="U7")["user"]["tz"] == "UTC"
    assert client.chat_postEphemeral(channel="C1", user="U7", text="x")["message_ts"]
    assert client.canvases_create(title="Plan")["canvas_id"].startswith("F")
    assert client.api_call("anything.unknown")["ok"]


def test_views_get_ids_and_keep_them_across_updates(api, client):
    view = {"type": "modal", "title": {"type": "plain_text", "text": "Plan"},
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "a"}}]}
    opened = client.views_open(trigger_id=api.trigger_id(), view=view)["view"]
    assert opened["id"].startswith("V") and opened["hash"]
    assert opened["blocks"][0]["block_id"]  # filled in, as Slack does

    updated = client.views_update(view_id=opened["id"], hash=opened["hash"], view=view)["view"]
    assert updated["id"] == opened["id"] and updated["hash"] != opened["hash"]
    with pytest.raises(SlackApiError) as stale:
        client.views_update(view_id=opened["id"], hash=opened["hash"], view=view)
    assert stale.value.response["error"] == "hash_conflict"

    home = client.views_publish(user_id="U1", view={"type": "home", "blocks": []})["view"]
    assert api.home["U1"]["id"] == home["id"]


def test_users_and_channels_are_configurable(api, client):
    api.set_user("U2", tz="Europe/Berlin", real_name="Ada")
    api.set_channel("C9", is_ext_shared=True)
    assert client.users_info(user="U2")["user"]["tz"] == "Europe/Berlin"
    assert client.users_info(user="U2")["user"]["real_name"] == "Ada"
    assert client.conversations_info(channel="C9")["channel"]["is_ext_shared"] is True


def test_overrides_merge_or_replace(api, client):
    api.on("chat.postMessage", {"ts": "123.456"})
    assert client.chat_postMessage(channel="C1", text="x")["ts"] == "123.456"
    api.on("users.info", lambda call: {"ok": False, "error": "user_not_found"})
    with pytest.raises(SlackApiError):
        client.users_info(user="U404")


def test_rate_limit_answers_429_with_retry_after_for_the_next_calls(api, client):
    api.rate_limit("chat.postMessage", retry_after=7, times=2)
    for _ in range(2):
        with pytest.raises(SlackApiError) as limited:
            client.chat_postMessage(channel="C1", text="x")
        assert limited.value.response.status_code == 429
        assert limited.value.response.headers["Retry-After"] == "7"
    assert client.chat_postMessage(channel="C1", text="x")["ok"]
    assert [c.status for c in api.calls_to("chat.postMessage")] == [429, 429, 200]


def test_server_error_and_error_and_wildcard(api, client):
    api.server_error("users.info")
    with pytest.raises(SlackApiError) as failed:
        client.users_info(user="U1")
    assert failed.value.response.status_code == 500

    api.error("conversations.info", "channel_not_found")
    with pytest.raises(SlackApiError) as missing:
        client.conversations_info(channel="C404")
    assert missing.value.response["error"] == "channel_not_found"

    api.error("*", "fatal_error", times=1)
    with pytest.raises(SlackApiError):
        client.auth_test()
    assert client.auth_test()["ok"]


def test_slow_answers(api, client):
    api.slow("chat.postMessage", seconds=0.5, times=1)
    started = time.monotonic()
    client.chat_postMessage(channel="C1", text="x")
    assert time.monotonic() - started >= 0.5
    started = time.monotonic()
    client.chat_postMessage(channel="C1", text="x")
    assert time.monotonic() - started < 0.5


def test_wait_for_waits_for_a_later_call_and_times_out_helpfully(api, client):
    import threading

    threading.Timer(0.2, lambda: client.chat_postMessage(channel="C2", text="late")).start()
    call = api.wait_for("chat.postMessage", lambda c: c.params["channel"] == "C2", timeout=5)
    assert call.params["text"] == "late"
    with pytest.raises(AssertionError, match="no views.open call matched"):
        api.wait_for("views.open", timeout=0.1)


def test_calls_without_a_token_are_not_authed(api):
    client = WebClient(base_url=api.url, retry_handlers=[])
    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel="C1", text="x")
    assert raised.value.response["error"] == "not_authed"


def test_block_kit_violations_are_rejected_and_recorded(api, client):
    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel="C1", text="x", blocks=[{"type": "header", "text": {
            "type": "plain_text", "text": "x" * 151}}])
    assert raised.value.response["error"] == "invalid_blocks"
    with pytest.raises(SlackApiError):
        client.views_open(trigger_id=api.trigger_id(), view={
            "type": "modal", "title": {"type": "plain_text", "text": "A title far too long for Slack"},
            "blocks": []})
    assert len(api.violations) == 2
    assert "longer than 150" in api.violations[0] and "title" in api.violations[1]
    api.violations.clear()  # (the slack_api fixture would fail the test on them)


def test_missing_arguments_and_expired_triggers_are_violations(api, client):
    with pytest.raises(SlackApiError):
        client.api_call("chat.postMessage", params={"channel": "C1"})
    trigger = api.trigger_id()
    api._triggers[trigger] -= 5  # issued five seconds ago
    with pytest.raises(SlackApiError) as expired:
        client.views_open(trigger_id=trigger, view={"type": "modal", "title": {
            "type": "plain_text", "text": "x"}, "blocks": []})
    assert expired.value.response["error"] == "expired_trigger_id"
    assert "missing text or blocks" in api.violations[0]
    assert "3 s" in api.violations[1]
    api.violations.clear()


def test_response_urls_are_recorded_and_checked(api):
    url = api.response_url(channel="C1")
    request = urllib.request.Request(url, data=json.dumps({"text": "done"}).encode(),
                                     headers={"Content-Type": "application/json"})
    assert urllib.request.urlopen(request).status == 200
    call = api.wait_for("response_url")
    assert call.params == {"text": "done"} and call.url == url
