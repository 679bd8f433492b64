"""Reading a plan file one plan at a time: the reader of its format, over its text or
a stream."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TextIO

from storage.planfile.json_stream import json_entries
from storage.planfile.parse import Source, file_format, guess_format
from storage.planfile.yaml_stream import yaml_entries


def iter_plan_file(
    source: str | TextIO, fmt: str | None = None, *, filename: str | None = None
) -> Iterator:
    """The entries of a plan file's `plans` list one by one, read as they are needed
    (entries not yet checked: import_plans does that). `source` is the text or a text
    stream (read once, forward); `fmt` json or yaml, else guessed from `filename` or
    from the first characters. Problems of the file itself raise PlanFileError when
    they are reached, so entries before them have been given out already.
    """
    text = Source(None, source) if isinstance(source, str) else Source(source)
    if fmt is None:
        fmt = guess_format(text.first_char(), filename)
    if file_format(fmt) == "json":
        return json_entries(text)
    return yaml_entries(text)


def parse_plan_file(text: str, fmt: str | None = None) -> list:
    """The `plans` list of a plan file, whole (entries not yet checked)."""
    return list(iter_plan_file(text, fmt))
