"""Reading modal submissions: `view.state.values` → {block_id: python value}.

Block ids are the field names the plan operations use, so a ValidationError(field)
maps straight back onto the input the person typed in.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any


def element_value(element: dict[str, Any]) -> Any:
    """The value of one input element, by its type; None when left empty."""
    kind = element.get("type")
    if kind in ("plain_text_input", "number_input", "email_text_input", "url_text_input"):
        value = element.get("value")
        return value if value not in ("", None) else None
    if kind == "datepicker":
        value = element.get("selected_date")
        return dt.date.fromisoformat(value) if value else None
    if kind in ("static_select", "external_select", "radio_buttons"):
        option = element.get("selected_option")
        return option.get("value") if option else None
    if kind == "users_select":
        return element.get("selected_user")
    if kind == "multi_users_select":
        return list(element.get("selected_users") or [])
    if kind == "conversations_select":
        return element.get("selected_conversation")
    if kind == "channels_select":
        return element.get("selected_channel")
    if kind == "checkboxes":
        return [o["value"] for o in element.get("selected_options") or []]
    if kind == "timepicker":
        return element.get("selected_time")
    return element.get("value")


def form_values(view: dict[str, Any]) -> dict[str, Any]:
    """{block_id: value} for every input of a submitted view (one element per block)."""
    values: dict[str, Any] = {}
    for block_id, elements in (view.get("state") or {}).get("values", {}).items():
        for element in elements.values():
            values[block_id] = element_value(element)
    return values


def metadata(view: dict[str, Any]) -> dict[str, Any]:
    """The record ids a view carries in private_metadata (JSON)."""
    raw = view.get("private_metadata") or "{}"
    try:
        data = json.loads(raw)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def encode_metadata(**data: Any) -> str:
    return json.dumps({k: v for k, v in data.items() if v is not None}, separators=(",", ":"))
