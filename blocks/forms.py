"""Reading modal submissions: `view.state.values` → {block_id: python value}.

Block ids are the field names the plan operations use, so a ValidationError(field)
maps straight back onto the input the person typed in.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value != "" else None


def _option_value(option: Any) -> str | None:
    return _text(option.get("value")) if isinstance(option, dict) else None


def _texts(values: Any) -> list[str]:
    return [v for v in values if isinstance(v, str) and v] if isinstance(values, list) else []


def _date(value: Any) -> dt.date | None:
    if not isinstance(value, str) or not value.isascii():
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def element_value(element: Any) -> Any:
    """The value of one input element, by its type; None when left empty.

    A value no Slack client sends (a date that is no date, a list where text belongs,
    an option without a value) reads as empty: a required input then says "required",
    and the person is told, never a traceback.
    """
    if not isinstance(element, dict):
        return None
    kind = element.get("type")
    if kind == "datepicker":
        return _date(element.get("selected_date"))
    if kind in ("static_select", "external_select", "radio_buttons"):
        return _option_value(element.get("selected_option"))
    if kind == "users_select":
        return _text(element.get("selected_user"))
    if kind == "multi_static_select":
        options = element.get("selected_options")
        return [v for v in map(_option_value, options) if v is not None] if isinstance(options, list) else []
    if kind == "multi_users_select":
        return _texts(element.get("selected_users"))
    if kind == "conversations_select":
        return _text(element.get("selected_conversation"))
    if kind == "channels_select":
        return _text(element.get("selected_channel"))
    if kind == "checkboxes":
        options = element.get("selected_options")
        return [v for v in map(_option_value, options) if v is not None] if isinstance(options, list) else []
    if kind == "timepicker":
        return _text(element.get("selected_time"))
    return _text(element.get("value"))  # text, number, email and URL inputs


def _declared_inputs(view: dict[str, Any]) -> dict[str, Any] | None:
    """{block_id: element type} of the view's input blocks; None when it shows none."""
    blocks = view.get("blocks")
    if not isinstance(blocks, list):
        return None
    return {block["block_id"]: (block.get("element") or {}).get("type") for block in blocks
            if isinstance(block, dict) and block.get("type") == "input" and block.get("block_id")}


def form_values(view: dict[str, Any]) -> dict[str, Any]:
    """{block_id: value} for every input of a submitted view (one element per block).

    Each input is read as the element the view put there: state for a block the view
    does not have is not read, nor a type the view did not give it. A state of any
    other shape reads as inputs left empty."""
    declared = _declared_inputs(view)
    state = view.get("state")
    blocks = state.get("values") if isinstance(state, dict) else None
    values: dict[str, Any] = {}
    for block_id, elements in (blocks.items() if isinstance(blocks, dict) else ()):
        if declared is not None and block_id not in declared:
            continue
        for element in (elements.values() if isinstance(elements, dict) else [None]):
            if declared is not None and isinstance(element, dict):
                element = {**element, "type": declared[block_id]}
            values[block_id] = element_value(element)
    return values


# private_metadata's "audience" of a view shown as customers see it (storage's
# Audience.EXTERNAL; tests/blocks check they agree): what is opened from it stays so.
CUSTOMER_AUDIENCE = "external"


def metadata(view: dict[str, Any]) -> dict[str, Any]:
    """The record ids a view carries in private_metadata (JSON).

    We only ever write whole numbers (ids, versions, the page) and text there
    (`encode_metadata`): a value of any other kind (not JSON, not an object, a list,
    null, true, a fraction, text where a number belongs) was not written by us and is
    left out, so a listener finds a key holding a value like ours or no key at all."""
    raw = view.get("private_metadata") or "{}"
    try:
        data = json.loads(raw) if isinstance(raw, str) else None
    except (ValueError, RecursionError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {key: value for key, value in data.items() if _like_ours(key, value)}


# Keys of private_metadata that hold whole numbers, and those that hold text.
_NUMBER_KEYS = frozenset({"plan", "version", "page", "strategy", "objective", "item", "entry", "id",
                          "stakeholder"})
_TEXT_KEYS = frozenset({"parent", "mode", "audience", "entity", "tz", "source", "template"})


def _like_ours(key: str, value: Any) -> bool:
    number = isinstance(value, int) and not isinstance(value, bool)
    if key in _NUMBER_KEYS:
        return number
    if key in _TEXT_KEYS:
        return isinstance(value, str)
    return number or isinstance(value, str)


def block_errors(errors: Mapping[str, str], fields: Mapping[str, str]) -> dict[str, str]:
    """A ValidationError's `errors` ({storage field: message}) keyed by a form's block ids
    (`fields`: field name → block id). A field the form has no input for keeps its name,
    so the caller's usual rule (said on the first input) still shows it; two names of
    one input are joined."""
    found: dict[str, str] = {}
    for field, message in errors.items():
        block_id = fields.get(field, field)
        found[block_id] = f"{found[block_id]}; {message}" if block_id in found else message
    return found


def encode_metadata(**data: Any) -> str:
    return json.dumps({k: v for k, v in data.items() if v is not None}, separators=(",", ":"))
