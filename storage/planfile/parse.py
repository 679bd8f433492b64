"""What every reader of a plan file shares: its format, the text it is read from, the
error that names where it is wrong, and the shape of its top level."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, TextIO

from storage.errors import ValidationError


FORMATS = ("json", "yaml")


class PlanFileError(ValidationError):
    """A plan file is wrong at `path` (e.g. `plans[0].strategies[2].title`)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(path, message)
        self.path = path
        if not path:
            self.args = (message,)


def hashable(value) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def guess_format(text: str, filename: str | None = None) -> str:
    """`json` or `yaml`, from the file name's extension or else from the text (its first
    characters are enough)."""
    if filename:
        lowered = filename.lower()
        if lowered.endswith(".json"):
            return "json"
        if lowered.endswith((".yaml", ".yml")):
            return "yaml"
    return "json" if text.lstrip().startswith(("{", "[")) else "yaml"


def file_format(fmt: str | None) -> str:
    fmt = (fmt or "").strip().lower()
    if fmt == "yml":
        fmt = "yaml"
    if fmt not in FORMATS:
        raise PlanFileError("", f"unknown plan file format {fmt!r}: use json or yaml")
    return fmt


READ_CHARS = 1 << 20  # characters read from a stream at a time


class Source:
    """Text read forward once, from a string or a text stream; what was read ahead to
    look at the start is served again first."""

    def __init__(self, stream: TextIO | None, head: str = "") -> None:
        self._stream = stream
        self._head = head

    def first_char(self) -> str:
        """The first character that is not white space, "" when there is none."""
        while True:
            stripped = self._head.lstrip()
            if stripped:
                return stripped[0]
            data = self._stream.read(READ_CHARS) if self._stream is not None else ""
            if not data:
                return ""
            self._head += data

    def read(self, at_least: int = 0) -> str:
        """The next READ_CHARS characters, or `at_least` when more ("" at the end)."""
        size = max(READ_CHARS, at_least)
        if self._head:
            data, self._head = self._head[:size], self._head[size:]
            return data
        return self._stream.read(size) if self._stream is not None else ""


PLANS = ("plans",)  # the top-level lists of a file of plans
PARTS = ("plans", "templates")  # … of a file of plans, templates or both


def not_a_plan_file(sections: tuple[str, ...] = PLANS) -> PlanFileError:
    lists = " or ".join(f"`{name}:`" for name in sections)
    return PlanFileError("", f"a plan file is a mapping with a {lists} list")


def unknown_part(key, sections: tuple[str, ...] = PLANS) -> PlanFileError:
    return PlanFileError(str(key), f"unknown field (expected {' or '.join(sections)})")


def parts_of(document, sections: tuple[str, ...] = PLANS) -> Iterator[tuple[str, Any]]:
    """(top-level list's name, entry) of an already parsed document (a list is plans), in
    file order; a document with none of `sections` needs `plans`."""
    if isinstance(document, list):
        yield from (("plans", entry) for entry in document)
        return
    if not isinstance(document, dict):
        raise not_a_plan_file(sections)
    unknown = [key for key in document if key not in sections]
    if unknown:
        raise unknown_part(unknown[0], sections)
    if not document:
        raise PlanFileError("plans", "required")
    for key, entries in document.items():
        if entries is None:
            raise PlanFileError(key, "required")
        if not isinstance(entries, list):
            raise PlanFileError(key, "must be a list")
        yield from ((key, entry) for entry in entries)


def plans_of(document) -> list:
    """The `plans` list of an already parsed document (or the list itself)."""
    return [entry for _, entry in parts_of(document)]
