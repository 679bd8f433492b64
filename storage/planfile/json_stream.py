"""JSON plan files read one plan at a time: the standard library's decoder over a
sliding buffer."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from storage.planfile.parse import PLANS, PlanFileError, Source, not_a_plan_file, unknown_part


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict:
    result = dict(pairs)
    if len(result) == len(pairs):
        return result
    seen: set = set()
    for key, _ in pairs:
        if key in seen:
            raise ValueError(f"duplicate key {key!r}")
        seen.add(key)
    raise AssertionError("unreachable")  # pragma: no cover


_JSON_SPACE = re.compile(r"[ \t\n\r]*")


class _JsonReader:
    """Reads values out of a text stream with json's own decoder (same values, same
    duplicate-key rule, same error messages as json.loads of the whole text, positions
    counted over the whole text), holding only the part of the text not yet decoded."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.buf = ""
        self.pos = 0  # next character in buf
        self.eof = False
        self.line = 0  # line breaks before buf[0]
        self.column = 0  # column of buf[0] in its line, from 0
        self.decoder = json.JSONDecoder(object_pairs_hook=_no_duplicates)

    def more(self) -> None:
        """Drop what was decoded; read at least as much again as is left (so that one
        value larger than a read is decoded in a few attempts, not one per read)."""
        buf, pos = self.buf, self.pos
        if pos:
            breaks = buf.count("\n", 0, pos)
            if breaks:
                self.line += breaks
                self.column = pos - buf.rfind("\n", 0, pos) - 1
            else:
                self.column += pos
            buf = buf[pos:]
        data = self.source.read(len(buf))
        self.eof = not data
        self.buf, self.pos = buf + data, 0

    def peek(self) -> str:
        """The next character after white space, "" at the end."""
        while True:
            self.pos = _JSON_SPACE.match(self.buf, self.pos).end()
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if self.eof:
                return ""
            self.more()

    def value(self):
        self.peek()
        while True:
            try:
                value, end = self.decoder.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as error:
                # Not wrong, only cut short by the end of what was read: read on.
                cut = error.pos >= len(self.buf) - 64 or error.msg.startswith("Unterminated string")
                if cut and not self.eof:
                    self.more()
                    continue
                raise self.error(error.msg, error.pos) from None
            except ValueError as error:  # duplicate key
                raise PlanFileError("", f"not valid JSON: {error}") from None
            if end == len(self.buf) and not self.eof:  # a number may go on
                self.more()
                continue
            self.pos = end
            return value

    def error(self, message: str, pos: int) -> PlanFileError:
        line = self.line + self.buf.count("\n", 0, pos) + 1
        start = self.buf.rfind("\n", 0, pos)
        column = pos - start if start >= 0 else self.column + pos + 1
        return PlanFileError("", f"not valid JSON: {message} at line {line} column {column}")

    def expect(self, char: str, message: str) -> None:
        if self.peek() != char:
            raise self.error(message, self.pos)
        self.pos += 1

    def items(self) -> Iterator:
        """The values of the array that starts here, one by one."""
        self.expect("[", "Expecting value")
        if self.peek() == "]":
            self.pos += 1
            return
        while True:
            yield self.value()
            if self.peek() == "]":
                self.pos += 1
                return
            self.expect(",", "Expecting ',' delimiter")

    def end(self) -> None:
        if self.peek():
            raise self.error("Extra data", self.pos)


def json_entries(source: Source, sections: tuple[str, ...] = PLANS) -> Iterator[tuple[str, Any]]:
    """(top-level list's name, entry) of a JSON plan file, one entry at a time."""
    reader = _JsonReader(source)
    first = reader.peek()
    if first == "[":
        yield from (("plans", entry) for entry in reader.items())
        reader.end()
        return
    if first != "{":
        reader.value()  # "Expecting value" unless it is JSON
        reader.end()
        raise not_a_plan_file(sections)
    reader.pos += 1
    seen: set[str] = set()
    while reader.peek() != "}" or not seen:
        if seen:
            reader.expect(",", "Expecting ',' delimiter")
        elif reader.peek() == "}":
            break
        if reader.peek() != '"':
            raise reader.error("Expecting property name enclosed in double quotes", reader.pos)
        key = reader.value()
        reader.expect(":", "Expecting ':' delimiter")
        if key in seen:
            raise PlanFileError("", f"not valid JSON: duplicate key {key!r}")
        seen.add(key)
        if key not in sections:
            raise unknown_part(key, sections)
        if reader.peek() == "[":
            yield from ((key, entry) for entry in reader.items())
        else:
            value = reader.value()
            raise PlanFileError(key, "required" if value is None else "must be a list")
    reader.pos += 1
    reader.end()
    if not seen:
        raise PlanFileError("plans", "required")
