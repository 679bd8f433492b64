"""bot.runtime.ui.errors_for: every field error of a submission on its own input at once."""

from __future__ import annotations

from bot.runtime.ui import errors_for
from storage.errors import Conflict, ValidationError

VIEW = {"blocks": [
    {"type": "section", "block_id": "intro"},
    {"type": "input", "block_id": "name"},
    {"type": "input", "block_id": "start_date"},
    {"type": "input", "block_id": "end_date"},
    {"type": "input", "block_id": "status"},
]}


def test_every_field_error_lands_on_its_input():
    error = ValidationError.of({"name": "required", "end_date": "must be on or after the start date",
                                "status": "must be one of draft, active"})
    assert errors_for(VIEW, error) == {"name": "required", "end_date": "must be on or after the start date",
                                       "status": "must be one of draft, active"}


def test_errors_of_fields_the_form_lacks_go_to_the_first_input_joined():
    error = ValidationError.of({"end_date": "too early", "team": "not a user", "objectives": "need strategies"})
    assert errors_for(VIEW, error) == {"end_date": "too early", "name": "not a user; need strategies"}
    error = ValidationError.of({"name": "required", "team": "not a user"})
    assert errors_for(VIEW, error) == {"name": "required; not a user"}


def test_one_error_and_other_errors_as_before():
    assert errors_for(VIEW, ValidationError("end_date", "too early")) == {"end_date": "too early"}
    assert errors_for(VIEW, Conflict("Someone else changed this")) == {"name": "Someone else changed this"}
    assert errors_for({"blocks": []}, ValidationError("x", "y")) == {"_": "y"}
    assert errors_for(VIEW, ValidationError("name", "x" * 400)) == {"name": "x" * 150}
