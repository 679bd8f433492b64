"""The Block Kit validator that the fake Slack API applies to everything the app sends."""

from __future__ import annotations

import pytest

from tests.blockkit import (
    validate_message,
    validate_options_response,
    validate_view,
    validate_view_submission_response,
)


def plain(text: str) -> dict:
    return {"type": "plain_text", "text": text}


def section(text: str = "hi", **extra) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}, **extra}


def button(text: str = "Go", action_id: str = "go", **extra) -> dict:
    return {"type": "button", "text": plain(text), "action_id": action_id, **extra}


def option(text: str, value: str | None = None) -> dict:
    return {"text": plain(text), "value": value if value is not None else text}


def modal(*blocks: dict, **extra) -> dict:
    return {"type": "modal", "title": plain("Plan"), "submit": plain("Save"),
            "blocks": list(blocks), **extra}


def text_input(label: str = "Name", **element) -> dict:
    return {"type": "input", "block_id": label.lower(), "label": plain(label),
            "element": {"type": "plain_text_input", "action_id": "value", **element}}


def one(problems: list[str], fragment: str) -> None:
    assert len(problems) == 1, problems
    assert fragment in problems[0], problems


def test_a_good_message_and_modal_have_no_problems():
    message = {
        "text": "Plan updated",
        "blocks": [
            {"type": "header", "text": plain("Newton Memorial")},
            section("*Strategy*", fields=[{"type": "mrkdwn", "text": "a"}]),
            {"type": "actions", "elements": [button("Done", "done"), button("Edit", "edit")]},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": "2 of 3 done"}]},
            {"type": "divider"},
        ],
    }
    assert validate_message(message) == []
    view = modal(
        text_input("Name", max_length=200),
        {"type": "input", "block_id": "due", "label": plain("Due"),
         "element": {"type": "datepicker", "action_id": "d", "initial_date": "2025-03-01"}},
        {"type": "input", "block_id": "status", "label": plain("Status"),
         "element": {"type": "static_select", "action_id": "s",
                     "options": [option("Open"), option("Done")], "initial_option": option("Open")}},
        private_metadata='{"id": 1}', callback_id="plan_new_form",
    )
    assert validate_view(view) == []


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        ({"text": "x" * 40_001}, "text: longer than 40000"),
        ({"blocks": [section()] * 51}, "more than 50 blocks"),
        ({"blocks": [section("x" * 3001)]}, "blocks[0].text: longer than 3000"),
        ({"blocks": [section(fields=[{"type": "mrkdwn", "text": "a"}] * 11)]}, "more than 10 fields"),
        ({"blocks": [{"type": "section", "fields": [{"type": "mrkdwn", "text": "x" * 2001}]}]},
         "fields[0]: longer than 2000"),
        ({"blocks": [{"type": "header", "text": plain("x" * 151)}]}, "longer than 150"),
        ({"blocks": [{"type": "header", "text": {"type": "mrkdwn", "text": "x"}}]}, "must be plain_text"),
        ({"blocks": [section(accessory=button("x" * 76))]}, "accessory.text: longer than 75"),
        ({"blocks": [section(accessory=button(action_id="a" * 256))]}, "action_id: longer than 255"),
        ({"blocks": [section(accessory=button(value="v" * 2001))]}, "value: longer than 2000"),
        ({"blocks": [{"type": "actions", "elements": [button(action_id=str(i)) for i in range(26)]}]},
         "more than 25 elements"),
        ({"blocks": [{"type": "actions", "elements": [button(), button()]}]}, "used twice in this block"),
        ({"blocks": [{"type": "context", "elements": [{"type": "mrkdwn", "text": "a"}] * 11}]},
         "more than 10 elements"),
        ({"blocks": [section(block_id="b"), section(block_id="b")]}, "used by another block"),
        ({"blocks": [section(block_id="b" * 256)]}, "block_id: longer than 255"),
        ({"blocks": [{"type": "section", "text": {"type": "markdown", "text": "x"}}]},
         "type must be plain_text or mrkdwn"),
        ({"blocks": [section("")]}, "non-empty"),
        ({"blocks": [{"type": "sectoin"}]}, "unknown block type"),
        ({"blocks": [section(accessory={"type": "static_select", "action_id": "s",
                                        "options": [option(str(i)) for i in range(101)]})]},
         "more than 100 options"),
        ({"blocks": [section(accessory={"type": "static_select", "action_id": "s",
                                        "options": [option("x" * 76, "v")]})]},
         "options[0].text: longer than 75"),
        ({"blocks": [section(accessory={"type": "static_select", "action_id": "s",
                                        "options": [option("t", "v" * 151)]})]},
         "options[0].value: longer than 150"),
        ({"blocks": [section(accessory={"type": "overflow", "action_id": "o",
                                        "options": [option(str(i)) for i in range(6)]})]},
         "overflow needs 1 to 5 options"),
        ({"response_type": "loud", "text": "x"}, "response_type"),
    ],
)
def test_message_limits(payload, fragment):
    one(validate_message(payload), fragment)


@pytest.mark.parametrize(
    ("view", "fragment"),
    [
        (modal(*[section()] * 101), "more than 100 blocks"),
        ({**modal(section()), "title": plain("x" * 25)}, "title: longer than 24"),
        ({**modal(section()), "submit": plain("x" * 25)}, "submit: longer than 24"),
        ({**modal(section()), "close": plain("x" * 25)}, "close: longer than 24"),
        (modal(section(), private_metadata="x" * 3001), "private_metadata: longer than 3000"),
        (modal(section(), callback_id="c" * 256), "callback_id: longer than 255"),
        (modal({**text_input(), "label": plain("x" * 2001)}), "label: longer than 2000"),
        (modal({**text_input(), "hint": plain("x" * 2001)}), "hint: longer than 2000"),
        (modal(text_input(placeholder=plain("x" * 151))), "placeholder: longer than 150"),
        (modal(text_input(max_length=3001)), "max_length"),
        (modal(text_input(min_length=10, max_length=5)), "min_length is greater"),
        (modal(text_input(initial_value="abcdef", max_length=5)), "longer than its max_length"),
        (modal({"type": "input", "block_id": "d", "label": plain("Due"),
                "element": {"type": "datepicker", "action_id": "d", "initial_date": "1/3/2025"}}),
         "must be YYYY-MM-DD"),
        (modal({"type": "input", "block_id": "s", "label": plain("Status"),
                "element": {"type": "static_select", "action_id": "s", "options": [option("Open")],
                            "initial_option": option("Closed")}}),
         "must be one of the element's options"),
        (modal({"type": "input", "block_id": "n", "label": plain("Target"),
                "element": {"type": "number_input", "action_id": "n"}}), "is_decimal_allowed"),
        (modal({"type": "input", "label": plain("x"), "element": button()}), "not allowed here"),
        ({**modal(text_input()), "submit": None}, "needs a submit button"),
        ({"type": "dialog", "blocks": []}, "view type must be modal or home"),
    ],
)
def test_view_limits(view, fragment):
    one(validate_view(view), fragment)


def test_home_needs_no_title_and_allows_100_blocks():
    assert validate_view({"type": "home", "blocks": [section()] * 100}) == []


def test_view_submission_errors_must_name_input_blocks():
    view = modal(text_input("Name"))
    assert validate_view_submission_response({"response_action": "errors",
                                              "errors": {"name": "required"}}, view) == []
    one(validate_view_submission_response({"response_action": "errors",
                                           "errors": {"end_date": "too early"}}, view),
        "no input block with this block_id")
    one(validate_view_submission_response({"response_action": "update",
                                           "view": {**view, "title": plain("x" * 30)}}, view),
        "view.title")
    assert validate_view_submission_response({}, view) == []


def test_options_response():
    assert validate_options_response({"options": [option("Newton")]}) == []
    one(validate_options_response({"options": [option("x" * 80, "v")]}), "longer than 75")
