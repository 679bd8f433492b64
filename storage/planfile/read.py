"""Reading a plan file one entry at a time: the reader of its format, over its text or
a stream."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, TextIO

from storage.planfile.json_stream import json_entries
from storage.planfile.parse import PARTS, PLANS, Source, file_format, guess_format
from storage.planfile.yaml_stream import yaml_entries


def iter_file_parts(
    source: str | TextIO, fmt: str | None = None, *, filename: str | None = None,
    sections: tuple[str, ...] = PARTS,
) -> Iterator[tuple[str, Any]]:
    """(top-level list's name, entry) of a plan file, entry by entry in file order, read
    as they are needed (entries not yet checked): "plans" and "templates" entries (or
    only `sections`). `source` is the text or a text stream (read once, forward); `fmt`
    json or yaml, else guessed from `filename` or from the first characters. Problems
    of the file itself raise PlanFileError when they are reached, so entries before
    them have been given out already.
    """
    text = Source(None, source) if isinstance(source, str) else Source(source)
    if fmt is None:
        fmt = guess_format(text.first_char(), filename)
    if file_format(fmt) == "json":
        return json_entries(text, sections)
    return yaml_entries(text, sections)


def iter_plan_file(
    source: str | TextIO, fmt: str | None = None, *, filename: str | None = None
) -> Iterator:
    """The entries of a plan file's `plans` list one by one, as iter_file_parts reads
    them (a file of plans only: any other top-level key is an error)."""
    return (entry for _, entry in iter_file_parts(source, fmt, filename=filename, sections=PLANS))


def parse_plan_file(text: str, fmt: str | None = None) -> list:
    """The `plans` list of a plan file, whole (entries not yet checked)."""
    return list(iter_plan_file(text, fmt))
