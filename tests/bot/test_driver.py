"""The request driver: modals filled by label, buttons pressed by text, as Slack would."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.bot.driver import fill


def plain(text: str) -> dict:
    return {"type": "plain_text", "text": text}


def option(text: str, value: str) -> dict:
    return {"text": plain(text), "value": value}


def field(label: str, block_id: str, element: dict, **extra) -> dict:
    return {"type": "input", "block_id": block_id, "label": plain(label),
            "element": {"action_id": "value", **element}, **extra}


STATUSES = [option("Draft", "draft"), option("Active", "active")]
FORM = {
    "type": "modal",
    "callback_id": "probe_form",
    "private_metadata": '{"plan": 7}',
    "title": plain("Probe"),
    "submit": plain("Save"),
    "blocks": [
        field("Plan name", "name", {"type": "plain_text_input", "max_length": 20}),
        field("Start date", "start_date", {"type": "datepicker", "initial_date": "2025-01-01"}),
        field("Status", "status", {"type": "static_select", "options": STATUSES,
                                   "initial_option": STATUSES[0]}),
        field("Owner", "owner", {"type": "users_select"}),
        field("Team", "team", {"type": "multi_users_select"}, optional=True),
        field("Share in", "channel", {"type": "conversations_select"}, optional=True),
        field("Options", "options", {"type": "checkboxes", "options": [
            option("Copy SWOT", "swot"), option("Copy team", "team")]}, optional=True),
        field("Target", "target", {"type": "number_input", "is_decimal_allowed": True},
              optional=True),
        {"type": "actions", "block_id": "buttons", "elements": [
            {"type": "button", "action_id": "preview", "text": plain("Preview"), "value": "7"},
        ]},
    ],
}


def test_fill_builds_state_values_by_label_keeping_initial_values():
    state = fill(FORM, {
        "Plan name": "Newton 2025", "Owner": "U1", "Team": ["U2", "U3"],
        "Share in": "C9", "Options": ["Copy SWOT"], "Target": 12.5,
    })["values"]
    assert state["name"]["value"] == {"type": "plain_text_input", "value": "Newton 2025"}
    assert state["start_date"]["value"]["selected_date"] == "2025-01-01"  # untouched
    assert state["status"]["value"]["selected_option"] == STATUSES[0]
    assert state["owner"]["value"]["selected_user"] == "U1"
    assert state["team"]["value"]["selected_users"] == ["U2", "U3"]
    assert state["channel"]["value"]["selected_conversation"] == "C9"
    assert state["options"]["value"]["selected_options"] == [option("Copy SWOT", "swot")]
    assert state["target"]["value"]["value"] == "12.5"


def test_fill_accepts_dates_option_values_and_block_ids():
    state = fill(FORM, {"name": "X", "Start date": dt.date(2025, 2, 3), "Status": "active",
                        "owner": "U1"})["values"]
    assert state["start_date"]["value"]["selected_date"] == "2025-02-03"
    assert state["status"]["value"]["selected_option"] == STATUSES[1]


def test_fill_refuses_what_the_slack_client_would_refuse():
    with pytest.raises(ValueError, match="required input 'Plan name' is empty"):
        fill(FORM, {"Owner": "U1"})
    with pytest.raises(ValueError, match="max_length"):
        fill(FORM, {"Plan name": "x" * 21, "Owner": "U1"})
    with pytest.raises(LookupError, match="labels: \\['Plan name'"):
        fill(FORM, {"Name of the plan": "x"})
    with pytest.raises(LookupError, match="options: \\['Draft', 'Active'\\]"):
        fill(FORM, {"Plan name": "x", "Owner": "U1", "Status": "Archived"})
    assert fill(FORM, {}, check_required=False)["values"]["name"]["value"]["value"] is None


@pytest.fixture
def probe(bolt_app):
    """An app surface exercising the driver: a command opening FORM, its submission, a button."""
    seen: dict = {}

    @bolt_app.command("/probe")
    def open_form(ack, body, client):
        ack()
        client.views_open(trigger_id=body["trigger_id"], view=FORM)

    @bolt_app.view("probe_form")
    def submitted(ack, view, body):
        seen["state"] = view["state"]["values"]
        seen["metadata"] = view["private_metadata"]
        name = view["state"]["values"]["name"]["value"]["value"]
        if name == "taken":
            ack(response_action="errors", errors={"name": "That name is taken"})
        elif name == "next":
            ack(response_action="update", view={**FORM, "title": plain("Step 2")})
        else:
            ack()

    @bolt_app.action("preview")
    def preview(ack, body, action, client):
        ack()
        seen["action"] = action
        seen["view_state"] = body["view"]["state"]["values"]
        client.chat_postMessage(channel="C1", text="preview", blocks=[
            {"type": "section", "text": {"type": "mrkdwn", "text": "Preview"}},
            {"type": "actions", "elements": [
                {"type": "button", "action_id": "done", "text": plain("Mark done"), "value": "42"},
                {"type": "overflow", "action_id": "menu", "options": [
                    option("Edit", "edit:42"), option("Delete", "delete:42")]},
            ]},
        ])

    @bolt_app.action("done")
    def done(ack, action, body):
        ack()
        seen["done"] = (action["value"], body["channel"]["id"], body["message"]["ts"])

    @bolt_app.action("menu")
    def menu(ack, action):
        ack()
        seen["menu"] = action["selected_option"]["value"]

    return seen


def test_a_modal_round_trip(slack, probe):
    assert slack.command("/probe").status == 200
    modal = slack.wait_for("views.open")
    assert modal.view["id"].startswith("V")

    reply = slack.submit_view(modal, {"Plan name": "taken", "Owner": "U1"})
    assert reply.json == {"response_action": "errors", "errors": {"name": "That name is taken"}}
    assert probe["metadata"] == '{"plan": 7}'

    reply = slack.submit_view(modal, {"Plan name": "next", "Owner": "U1"})
    assert slack.api.view(modal.view["id"])["title"]["text"] == "Step 2"  # applied, as Slack does

    reply = slack.submit_view(modal, {"Plan name": "Newton", "Owner": "U1"})
    assert reply.status == 200 and reply.body == "" and reply.elapsed < 3
    assert probe["state"]["owner"]["value"]["selected_user"] == "U1"


def test_buttons_by_text_in_views_and_messages(slack, probe):
    slack.command("/probe")
    modal = slack.wait_for("views.open")
    reply = slack.click(modal, "Preview", fields={"Plan name": "typed so far"})
    assert reply.status == 200
    message = slack.wait_for("chat.postMessage")
    assert probe["action"]["value"] == "7"
    assert probe["view_state"]["name"]["value"]["value"] == "typed so far"

    slack.click(message, "Mark done")
    slack.choose(message, "Delete")
    with pytest.raises(LookupError, match="there are: \\['Mark done'\\]"):
        slack.click(message, "Archive")
    deadline_ok = _wait(lambda: "done" in probe and "menu" in probe)
    assert deadline_ok
    assert probe["done"] == ("42", "C1", message.message["ts"])
    assert probe["menu"] == "delete:42"


def _wait(condition, timeout: float = 5.0) -> bool:
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True
