"""Block Kit limits, checked the way Slack checks them before it accepts a payload.

`validate_message(payload)` and `validate_view(view)` return a list of problems, each a
string naming where ("blocks[2].elements[0].text") and what; an empty list means Slack
would accept it as far as these limits go. The fake Web API (tests/bot/slack_api.py)
runs them on every message and view the app sends, and the request driver on every
acknowledgement body, so a test fails when the app builds something Slack rejects.

Limits: https://docs.slack.dev/reference/block-kit (blocks, elements, composition
objects, views) and chat.postMessage (text).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

MESSAGE_TEXT_MAX = 40_000
MESSAGE_BLOCKS_MAX = 50
VIEW_BLOCKS_MAX = 100
VIEW_TITLE_MAX = 24
VIEW_BUTTON_MAX = 24  # submit, close
PRIVATE_METADATA_MAX = 3000
CALLBACK_ID_MAX = 255
EXTERNAL_ID_MAX = 255
BLOCK_ID_MAX = 255
ACTION_ID_MAX = 255
SECTION_TEXT_MAX = 3000
SECTION_FIELDS_MAX = 10
SECTION_FIELD_TEXT_MAX = 2000
HEADER_TEXT_MAX = 150
CONTEXT_ELEMENTS_MAX = 10
ACTIONS_ELEMENTS_MAX = 25
MARKDOWN_BLOCK_TEXT_MAX = 12_000
INPUT_LABEL_MAX = 2000
INPUT_HINT_MAX = 2000
PLACEHOLDER_MAX = 150
BUTTON_TEXT_MAX = 75
BUTTON_VALUE_MAX = 2000
URL_MAX = 3000
ALT_TEXT_MAX = 2000
OPTION_TEXT_MAX = 75
OPTION_VALUE_MAX = 150
OPTION_DESCRIPTION_MAX = 75
SELECT_OPTIONS_MAX = 100
OPTION_GROUPS_MAX = 100
OPTION_GROUP_LABEL_MAX = 75
CHECKBOX_OPTIONS_MAX = 10
OVERFLOW_OPTIONS = (1, 5)
PLAIN_TEXT_INPUT_MAX = 3000
CONFIRM_TITLE_MAX = 100
CONFIRM_TEXT_MAX = 300
CONFIRM_BUTTON_MAX = 30

TEXT_TYPES = ("plain_text", "mrkdwn")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
TIME_RE = re.compile(r"^\d{2}:\d{2}$")

SELECT_MENUS = {
    "static_select", "external_select", "users_select", "conversations_select",
    "channels_select", "multi_static_select", "multi_external_select",
    "multi_users_select", "multi_conversations_select", "multi_channels_select",
}
INPUT_ELEMENTS = SELECT_MENUS | {
    "plain_text_input", "datepicker", "timepicker", "datetimepicker", "checkboxes",
    "radio_buttons", "number_input", "email_text_input", "url_text_input",
    "file_input", "rich_text_input",
}
INTERACTIVE_ELEMENTS = INPUT_ELEMENTS | {"button", "overflow", "workflow_button"}
BLOCK_TYPES = {
    "section", "header", "context", "actions", "input", "divider", "image",
    "rich_text", "markdown", "video", "file", "context_actions", "table",
}


def _text_of(obj: Any) -> Any:
    return obj.get("text") if isinstance(obj, dict) else obj


class _Checker:
    def __init__(self) -> None:
        self.problems: list[str] = []
        self.block_ids: set[str] = set()

    def add(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")

    def length(self, where: str, value: Any, limit: int) -> None:
        if isinstance(value, str) and len(value) > limit:
            self.add(where, f"longer than {limit} characters ({len(value)})")

    def string(self, where: str, value: Any, limit: int, *, required: bool = False) -> None:
        if value is None:
            if required:
                self.add(where, "missing")
            return
        if not isinstance(value, str):
            self.add(where, f"must be a string, not {type(value).__name__}")
            return
        if required and not value:
            self.add(where, "must not be empty")
        self.length(where, value, limit)

    # composition objects -------------------------------------------------------------

    def text(self, where: str, obj: Any, limit: int, *, plain_only: bool = False,
             required: bool = True) -> None:
        if obj is None:
            if required:
                self.add(where, "missing")
            return
        if not isinstance(obj, dict):
            self.add(where, "must be a text object")
            return
        kind = obj.get("type")
        if kind not in TEXT_TYPES:
            self.add(where, f"text object type must be plain_text or mrkdwn, not {kind!r}")
        elif plain_only and kind != "plain_text":
            self.add(where, "must be plain_text")
        value = obj.get("text")
        if not isinstance(value, str) or not value:
            self.add(where, "text must be a non-empty string")
            return
        self.length(where, value, limit)

    def option(self, where: str, option: Any, *, plain_only: bool) -> None:
        if not isinstance(option, dict):
            self.add(where, "must be an option object")
            return
        self.text(f"{where}.text", option.get("text"), OPTION_TEXT_MAX, plain_only=plain_only)
        self.string(f"{where}.value", option.get("value"), OPTION_VALUE_MAX, required=True)
        self.text(f"{where}.description", option.get("description"), OPTION_DESCRIPTION_MAX,
                  plain_only=plain_only, required=False)
        self.string(f"{where}.url", option.get("url"), URL_MAX)

    def options(self, where: str, element: dict, limit: int, *, plain_only: bool) -> list[dict]:
        options = element.get("options")
        groups = element.get("option_groups")
        found: list[dict] = []
        if options is not None:
            if not isinstance(options, list):
                self.add(f"{where}.options", "must be a list")
                return found
            if len(options) > limit:
                self.add(f"{where}.options", f"more than {limit} options ({len(options)})")
            for i, option in enumerate(options):
                self.option(f"{where}.options[{i}]", option, plain_only=plain_only)
            found = [o for o in options if isinstance(o, dict)]
        if groups is not None:
            if options is not None:
                self.add(where, "has both options and option_groups")
            if len(groups) > OPTION_GROUPS_MAX:
                self.add(f"{where}.option_groups", f"more than {OPTION_GROUPS_MAX} groups")
            for g, group in enumerate(groups):
                gwhere = f"{where}.option_groups[{g}]"
                self.text(f"{gwhere}.label", group.get("label"), OPTION_GROUP_LABEL_MAX,
                          plain_only=True)
                group_options = group.get("options") or []
                if len(group_options) > SELECT_OPTIONS_MAX:
                    self.add(f"{gwhere}.options", f"more than {SELECT_OPTIONS_MAX} options")
                for i, option in enumerate(group_options):
                    self.option(f"{gwhere}.options[{i}]", option, plain_only=True)
                found += [o for o in group_options if isinstance(o, dict)]
        return found

    def confirm(self, where: str, confirm: Any) -> None:
        if confirm is None:
            return
        if not isinstance(confirm, dict):
            self.add(where, "must be a confirmation dialog object")
            return
        self.text(f"{where}.title", confirm.get("title"), CONFIRM_TITLE_MAX, plain_only=True)
        self.text(f"{where}.text", confirm.get("text"), CONFIRM_TEXT_MAX)
        self.text(f"{where}.confirm", confirm.get("confirm"), CONFIRM_BUTTON_MAX, plain_only=True)
        self.text(f"{where}.deny", confirm.get("deny"), CONFIRM_BUTTON_MAX, plain_only=True)

    # elements --------------------------------------------------------------------

    def element(self, where: str, element: Any, allowed: Iterable[str]) -> None:
        if not isinstance(element, dict):
            self.add(where, "must be an element object")
            return
        kind = element.get("type")
        allowed = set(allowed)
        if kind not in allowed:
            self.add(where, f"element type {kind!r} is not allowed here")
            return
        if kind in INTERACTIVE_ELEMENTS:
            self.string(f"{where}.action_id", element.get("action_id"), ACTION_ID_MAX)
            self.confirm(f"{where}.confirm", element.get("confirm"))
        if "placeholder" in element:
            self.text(f"{where}.placeholder", element["placeholder"], PLACEHOLDER_MAX,
                      plain_only=True)

        if kind == "button":
            self.text(f"{where}.text", element.get("text"), BUTTON_TEXT_MAX, plain_only=True)
            self.string(f"{where}.value", element.get("value"), BUTTON_VALUE_MAX)
            self.string(f"{where}.url", element.get("url"), URL_MAX)
            if element.get("style") not in (None, "primary", "danger"):
                self.add(f"{where}.style", "must be primary or danger")
        elif kind == "image":
            self.string(f"{where}.alt_text", element.get("alt_text"), ALT_TEXT_MAX, required=True)
            if not element.get("image_url") and not element.get("slack_file"):
                self.add(where, "image needs image_url or slack_file")
        elif kind in ("static_select", "multi_static_select"):
            options = self.options(where, element, SELECT_OPTIONS_MAX, plain_only=True)
            if element.get("options") is None and element.get("option_groups") is None:
                self.add(where, "needs options or option_groups")
            self.initial_options(where, element, options)
        elif kind == "overflow":
            options = element.get("options") or []
            low, high = OVERFLOW_OPTIONS
            if not low <= len(options) <= high:
                self.add(f"{where}.options", f"overflow needs {low} to {high} options ({len(options)})")
            for i, option in enumerate(options):
                self.option(f"{where}.options[{i}]", option, plain_only=True)
        elif kind in ("checkboxes", "radio_buttons"):
            options = self.options(where, element, CHECKBOX_OPTIONS_MAX, plain_only=False)
            if not options:
                self.add(f"{where}.options", "needs at least one option")
            self.initial_options(where, element, options)
        elif kind == "plain_text_input":
            for key in ("max_length", "min_length"):
                value = element.get(key)
                if value is not None and not (isinstance(value, int) and 0 <= value <= PLAIN_TEXT_INPUT_MAX):
                    self.add(f"{where}.{key}", f"must be a whole number up to {PLAIN_TEXT_INPUT_MAX}")
            low, high = element.get("min_length"), element.get("max_length")
            if isinstance(low, int) and isinstance(high, int) and low > high:
                self.add(where, "min_length is greater than max_length")
            initial = element.get("initial_value")
            self.string(f"{where}.initial_value", initial, PLAIN_TEXT_INPUT_MAX)
            if isinstance(initial, str) and isinstance(high, int) and len(initial) > high:
                self.add(f"{where}.initial_value", f"longer than its max_length ({high})")
        elif kind == "datepicker":
            initial = element.get("initial_date")
            if initial is not None and not (isinstance(initial, str) and DATE_RE.match(initial)):
                self.add(f"{where}.initial_date", "must be YYYY-MM-DD")
        elif kind == "timepicker":
            initial = element.get("initial_time")
            if initial is not None and not (isinstance(initial, str) and TIME_RE.match(initial)):
                self.add(f"{where}.initial_time", "must be HH:mm")
        elif kind == "number_input":
            if not isinstance(element.get("is_decimal_allowed"), bool):
                self.add(f"{where}.is_decimal_allowed", "required (true or false)")

    def initial_options(self, where: str, element: dict, options: list[dict]) -> None:
        """Slack wants an initial option to match one of the options exactly."""
        known = {(_text_of(o.get("text")), o.get("value")) for o in options}
        if element.get("initial_option") is not None:
            chosen = [("initial_option", element["initial_option"])]
        else:
            chosen = [(f"initial_options[{i}]", o)
                      for i, o in enumerate(element.get("initial_options") or [])]
        for key, option in chosen:
            if not isinstance(option, dict) or (_text_of(option.get("text")), option.get("value")) not in known:
                self.add(f"{where}.{key}", "must be one of the element's options")

    # blocks ----------------------------------------------------------------------

    def blocks(self, blocks: Any, limit: int, surface: str) -> None:
        if blocks is None:
            return
        if not isinstance(blocks, list):
            self.add("blocks", "must be a list")
            return
        if len(blocks) > limit:
            self.add("blocks", f"more than {limit} blocks in a {surface} ({len(blocks)})")
        for i, block in enumerate(blocks):
            self.block(f"blocks[{i}]", block)

    def block(self, where: str, block: Any) -> None:
        if not isinstance(block, dict):
            self.add(where, "must be a block object")
            return
        kind = block.get("type")
        if kind not in BLOCK_TYPES:
            self.add(f"{where}.type", f"unknown block type {kind!r}")
            return
        block_id = block.get("block_id")
        if block_id is not None:
            self.string(f"{where}.block_id", block_id, BLOCK_ID_MAX, required=True)
            if block_id in self.block_ids:
                self.add(f"{where}.block_id", f"{block_id!r} is used by another block")
            self.block_ids.add(block_id)

        if kind == "section":
            if block.get("text") is None and not block.get("fields"):
                self.add(where, "a section needs text or fields")
            self.text(f"{where}.text", block.get("text"), SECTION_TEXT_MAX, required=False)
            fields = block.get("fields")
            if fields is not None:
                if len(fields) > SECTION_FIELDS_MAX:
                    self.add(f"{where}.fields", f"more than {SECTION_FIELDS_MAX} fields ({len(fields)})")
                for i, field in enumerate(fields):
                    self.text(f"{where}.fields[{i}]", field, SECTION_FIELD_TEXT_MAX)
            if block.get("accessory") is not None:
                self.element(f"{where}.accessory", block["accessory"],
                             INTERACTIVE_ELEMENTS - {"plain_text_input", "number_input",
                                                     "email_text_input", "url_text_input",
                                                     "file_input", "rich_text_input"} | {"image"})
        elif kind == "header":
            self.text(f"{where}.text", block.get("text"), HEADER_TEXT_MAX, plain_only=True)
        elif kind == "context":
            elements = block.get("elements") or []
            if not elements:
                self.add(f"{where}.elements", "a context block needs elements")
            if len(elements) > CONTEXT_ELEMENTS_MAX:
                self.add(f"{where}.elements", f"more than {CONTEXT_ELEMENTS_MAX} elements ({len(elements)})")
            for i, element in enumerate(elements):
                if isinstance(element, dict) and element.get("type") == "image":
                    self.element(f"{where}.elements[{i}]", element, {"image"})
                else:
                    self.text(f"{where}.elements[{i}]", element, SECTION_TEXT_MAX)
        elif kind == "actions":
            elements = block.get("elements") or []
            if not elements:
                self.add(f"{where}.elements", "an actions block needs elements")
            if len(elements) > ACTIONS_ELEMENTS_MAX:
                self.add(f"{where}.elements", f"more than {ACTIONS_ELEMENTS_MAX} elements ({len(elements)})")
            seen: set[str] = set()
            for i, element in enumerate(elements):
                self.element(f"{where}.elements[{i}]", element,
                             INTERACTIVE_ELEMENTS - {"plain_text_input", "number_input",
                                                     "email_text_input", "url_text_input",
                                                     "file_input", "rich_text_input"})
                action_id = element.get("action_id") if isinstance(element, dict) else None
                if action_id is not None:
                    if action_id in seen:
                        self.add(f"{where}.elements[{i}].action_id",
                                 f"{action_id!r} is used twice in this block")
                    seen.add(action_id)
        elif kind == "input":
            self.text(f"{where}.label", block.get("label"), INPUT_LABEL_MAX, plain_only=True)
            self.text(f"{where}.hint", block.get("hint"), INPUT_HINT_MAX, plain_only=True,
                      required=False)
            self.element(f"{where}.element", block.get("element"), INPUT_ELEMENTS)
        elif kind == "image":
            self.string(f"{where}.alt_text", block.get("alt_text"), ALT_TEXT_MAX, required=True)
            self.string(f"{where}.image_url", block.get("image_url"), URL_MAX)
            self.text(f"{where}.title", block.get("title"), 2000, plain_only=True, required=False)
        elif kind == "markdown":
            self.string(f"{where}.text", block.get("text"), MARKDOWN_BLOCK_TEXT_MAX, required=True)


def validate_blocks(blocks: Any, *, limit: int = MESSAGE_BLOCKS_MAX, surface: str = "message") -> list[str]:
    checker = _Checker()
    checker.blocks(blocks, limit, surface)
    return checker.problems


def validate_message(payload: dict[str, Any]) -> list[str]:
    """A message as sent to chat.postMessage / chat.update / a response_url / an ack."""
    checker = _Checker()
    if not isinstance(payload, dict):
        return ["message: must be an object"]
    checker.string("text", payload.get("text"), MESSAGE_TEXT_MAX)
    checker.blocks(payload.get("blocks"), MESSAGE_BLOCKS_MAX, "message")
    response_type = payload.get("response_type")
    if response_type not in (None, "ephemeral", "in_channel"):
        checker.add("response_type", "must be ephemeral or in_channel")
    return checker.problems


def validate_view(view: dict[str, Any]) -> list[str]:
    """A modal or Home tab view as sent to views.open/push/update/publish or in an ack."""
    checker = _Checker()
    if not isinstance(view, dict):
        return ["view: must be an object"]
    kind = view.get("type")
    if kind not in ("modal", "home"):
        checker.add("type", f"view type must be modal or home, not {kind!r}")
    blocks = view.get("blocks")
    if blocks is None:
        checker.add("blocks", "missing")
    checker.blocks(blocks, VIEW_BLOCKS_MAX, kind or "view")
    if kind == "modal":
        checker.text("title", view.get("title"), VIEW_TITLE_MAX, plain_only=True)
    else:
        checker.text("title", view.get("title"), VIEW_TITLE_MAX, plain_only=True, required=False)
    for key in ("submit", "close"):
        checker.text(key, view.get(key), VIEW_BUTTON_MAX, plain_only=True, required=False)
    has_input = any(isinstance(b, dict) and b.get("type") == "input" for b in blocks or [])
    if kind == "modal" and has_input and view.get("submit") is None:
        checker.add("submit", "a modal with input blocks needs a submit button")
    checker.string("private_metadata", view.get("private_metadata"), PRIVATE_METADATA_MAX)
    checker.string("callback_id", view.get("callback_id"), CALLBACK_ID_MAX)
    checker.string("external_id", view.get("external_id"), EXTERNAL_ID_MAX)
    return checker.problems


def validate_view_submission_response(response: dict[str, Any], view: dict[str, Any]) -> list[str]:
    """The body an app acks a view_submission with (`response_action` …)."""
    if not response:
        return []
    action = response.get("response_action")
    if action == "errors":
        errors = response.get("errors")
        if not isinstance(errors, dict) or not errors:
            return ["errors: must name at least one block"]
        inputs = {b.get("block_id") for b in view.get("blocks", []) if b.get("type") == "input"}
        problems = []
        for block_id, message in errors.items():
            if block_id not in inputs:
                problems.append(f"errors.{block_id}: no input block with this block_id in the view")
            if not isinstance(message, str) or not message:
                problems.append(f"errors.{block_id}: message must be a non-empty string")
            elif len(message) > 2000:
                problems.append(f"errors.{block_id}: longer than 2000 characters")
        return problems
    if action in ("update", "push"):
        return [f"view.{p}" for p in validate_view(response.get("view") or {})]
    if action == "clear":
        return []
    return [f"response_action: unknown {action!r}"]


def validate_options_response(response: dict[str, Any]) -> list[str]:
    """The body an app acks a block_suggestion (external select) with."""
    checker = _Checker()
    checker.options("options response", response, SELECT_OPTIONS_MAX, plain_only=True)
    return checker.problems
