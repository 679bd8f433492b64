"""blocks/forms.py: reading submissions and private_metadata never fails, whatever a
client sends. Each case is one that tests/bot/test_fuzz.py found raising in a listener
(a traceback, and "Sorry, something went wrong" instead of a field error)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from blocks import modals
from blocks.forms import element_value, encode_metadata, form_values, metadata


@pytest.mark.parametrize("state, expected", [
    ({"type": "datepicker", "selected_date": "2025-02-30"}, None),  # was ValueError
    ({"type": "datepicker", "selected_date": "abc"}, None),
    ({"type": "datepicker", "selected_date": "١٢٣٤-٠١-٠١"}, None),
    ({"type": "datepicker", "selected_date": 20250101}, None),  # was TypeError
    ({"type": "datepicker", "selected_date": "2024-02-29"}, dt.date(2024, 2, 29)),
    ({"type": "static_select", "selected_option": ["x"]}, None),  # was AttributeError
    ({"type": "static_select", "selected_option": {"text": "no value"}}, None),
    ({"type": "static_select", "selected_option": {"value": 3}}, None),
    ({"type": "plain_text_input", "value": ["a", "b"]}, None),
    ({"type": "plain_text_input", "value": {"x": 1}}, None),
    ({"type": "number_input", "value": 5}, None),
    ({"type": "users_select", "selected_user": ["U1"]}, None),
    ({"type": "multi_users_select", "selected_users": "U1"}, []),
    ({"type": "multi_users_select", "selected_users": ["U1", None, 7, "U2"]}, ["U1", "U2"]),
    ({"type": "checkboxes", "selected_options": "team_only"}, []),
    ({"type": "checkboxes", "selected_options": [None, {"no": "value"}, {"value": "team_only"}]},
     ["team_only"]),  # was TypeError / KeyError
    ({"type": "conversations_select", "selected_conversation": {"id": "C1"}}, None),
    ({"type": "timepicker", "selected_time": 900}, None),
    ("not an element", None),
    (None, None),
])
def test_a_value_no_slack_client_sends_reads_as_empty(state, expected):
    assert element_value(state) == expected


def test_each_input_is_read_as_the_element_the_view_put_there():
    view = modals.action_item_modal("cb")
    view["state"] = {"values": {
        "title": {"value": {"type": "plain_text_input", "value": "Call"}},
        # a date as text in the date picker's block: was a str where storage needs a date
        "due_date": {"value": {"type": "plain_text_input", "value": "0002-01-01"}},
        "nope": {"value": {"type": "plain_text_input", "value": "not an input of this view"}},
    }}
    assert form_values(view) == {"title": "Call", "due_date": None}


@pytest.mark.parametrize("state", [None, {}, {"values": []}, {"values": "x"}, {"values": {"title": []}},
                                   {"values": {"title": "x"}}, {"values": {"title": {"value": "x"}}}])
def test_a_state_of_another_shape_reads_as_inputs_left_empty(state):
    view = {**modals.strategy_modal("cb"), "state": state}
    assert all(value is None for value in form_values(view).values())


@pytest.mark.parametrize("raw, expected", [
    ("", {}),
    ("{", {}),
    ("[]", {}),
    ("[" * 5000, {}),  # was RecursionError
    ('{"plan": {"id": 1}}', {}),  # was bound into SQL as the plan id
    ('{"plan": "1", "page": "x", "mode": 5}', {}),  # page "x": TypeError drawing the plan view
    ('{"plan": true, "version": 1.5}', {}),
    ('{"entity": [], "id": 1}', {"id": 1}),  # entity []: unhashable in the delete form
    ('{"plan": 99999999999999999999, "parent": "V1"}', {"plan": 99999999999999999999, "parent": "V1"}),
    (json.dumps({"plan": 1, "pad": "x" * 60_000}), {"plan": 1, "pad": "x" * 60_000}),
])
def test_private_metadata_keeps_only_values_like_ours(raw, expected):
    assert metadata({"private_metadata": raw}) == expected


def test_what_we_write_reads_back():
    raw = encode_metadata(plan=7, version=2, parent="V123", page=1, mode="swot", audience="external",
                          entity="action_item", id=9, tz="Europe/Berlin", source="shortcut")
    assert metadata({"private_metadata": raw}) == json.loads(raw)
