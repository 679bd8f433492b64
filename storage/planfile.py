"""Plan files: whole plans as JSON or YAML, for import and export (RUN_CONTRACT "Plan file").

Shape (every key optional unless the rules of storage/plans.py require it)::

    plans:
      - name, account, start_date, end_date, status, owner, team: [user ids],
        vision, customer_goals, our_goals,
        strategies:
          - title, description,
            objectives:
              - title, description, measure_unit, target_value, current_value,
                action_items:
                  - title, assignee, due_date, status (open | done),
                    done_at, done_by, team_only, notes
        swot:    [{kind, text, team_only}]          # team_only defaults to true
        reviews: [{held_on, attendees, notes, decisions, next_qbr_date}]

Decisions:
- Export writes keys in the order above and leaves out empty optional values (empty
  text, empty lists, `team_only` at its default), so files stay small and the same
  plan always gives the same bytes. Dates are `YYYY-MM-DD` (plain YAML dates, JSON
  strings); `done_at` is UTC to the second, `YYYY-MM-DDTHH:MM:SSZ`.
- `done_at` and `done_by` are exported for done items, so export → import → export is
  identical. A file that marks an item done without `done_at` gets the time of the
  import; `done_at`/`done_by` on an open item are an error.
- Numbers (`target_value`, `current_value`) are written as integers when whole, else
  as decimals; a value a float cannot carry exactly is written as a string.
- Import reads the file plan by plan (iter_plan_file) and never holds it whole: memory
  is one batch of plans (BATCH_PLANS, fewer when they hold BATCH_ITEMS action items),
  whatever the size of the file. Each entry is checked in Python with the rules of
  storage/plans.py (clean_text, check_dates, check_due_date, …; plain values take a
  fast path that gives the same answer) as it is read; the first bad entry stops the
  import and is named by path: `plans[3].strategies[1].title: required`. Unknown keys
  are errors. Each batch is written table by table inside the caller's ONE
  transaction, so all or nothing is that transaction's: on an error, batches before it
  have been written and the caller rolls back (storage.db.transaction does, and so does
  `accountplan import`). PostgreSQL takes ids from the sequences in one query per table
  and batch and the rows by COPY; SQLite gets one executemany per table and batch
  through the driver; others one SQLAlchemy executemany. bench/bench_import.py: 10,001
  plans (601,500 action items, a 107 MB JSON file) within 2× of a bare bulk insert of
  the same rows, in ~105 MB of RSS (bench/README.md).
- One `imported` change-log entry per plan. Accounts are shared per workspace by name.
- JSON is read with the standard library's decoder from a sliding buffer, one plan at
  a time (json.JSONDecoder.raw_decode): the same values, duplicate-key rule and error
  messages (line and column in the file) as json.loads of the whole text.
- YAML is read by storage/fastyaml.py (plain block YAML, as export and PyYAML write it,
  read exactly as PyYAML would, ~9 times faster), one plan's lines at a time; from the
  first plan it does not take, by PyYAML's safe loader (which also refuses duplicate
  keys) composing one plan node at a time. Both stream; JSON is the fastest for bulk.
"""

from __future__ import annotations

import datetime as dt
import json
import operator
import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from decimal import Decimal
from functools import lru_cache
from types import SimpleNamespace
from typing import Any, TextIO

import yaml
from sqlalchemy import insert, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from yaml.composer import Composer, ComposerError
from yaml.constructor import ConstructorError
from yaml.events import (
    MappingEndEvent,
    MappingStartEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)

from storage import fastyaml
from storage.errors import ValidationError
from storage.models import (
    NAME_MAX,
    SLACK_ID_MAX,
    TEXT_MAX,
    TITLE_MAX,
    Account,
    AccountPlan,
    ActionItem,
    ChangeLogEntry,
    ItemStatus,
    Objective,
    PlanMember,
    QbrReview,
    Strategy,
    SwotEntry,
    SwotKind,
    utcnow,
)
from storage.plans import (
    ActionItemInput,
    ObjectiveInput,
    check_dates,
    clean_status,
    clean_swot_kind,
    clean_text,
    clean_user_id,
    load_plan_tree,
)
from storage.plans.rules import item_fields, objective_fields

FORMATS = ("json", "yaml")

PLAN_KEYS = (
    "name", "account", "start_date", "end_date", "status", "owner", "team",
    "vision", "customer_goals", "our_goals", "strategies", "swot", "reviews",
)
STRATEGY_KEYS = ("title", "description", "objectives")
OBJECTIVE_KEYS = (
    "title", "description", "measure_unit", "target_value", "current_value", "action_items",
)
ITEM_KEYS = ("title", "assignee", "due_date", "status", "done_at", "done_by", "team_only", "notes")
SWOT_KEYS = ("kind", "text", "team_only")
REVIEW_KEYS = ("held_on", "attendees", "notes", "decisions", "next_qbr_date")

SWOT_ORDER = {kind: index for index, kind in enumerate(SwotKind)}  # S, W, O, T


class PlanFileError(ValidationError):
    """A plan file is wrong at `path` (e.g. `plans[0].strategies[2].title`)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(path, message)
        self.path = path
        if not path:
            self.args = (message,)


# ---------------------------------------------------------------------------
# Reading a plan file one plan at a time (iter_plan_file)


class _YamlLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Safe YAML (libyaml when present) that refuses duplicate keys."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if not _hashable(key):
                continue  # the parent class reports it
            if key in seen:
                raise ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


if issubclass(_YamlLoader, Composer):  # pure-Python PyYAML: composes node by node already
    _YamlStream = _YamlLoader
else:

    class _YamlStream(Composer, _YamlLoader):  # type: ignore[no-redef, misc]
        """_YamlLoader that composes one node at a time: PyYAML's own Composer over
        libyaml's events (libyaml composes only whole documents)."""

        def __init__(self, stream) -> None:
            _YamlLoader.__init__(self, stream)
            Composer.__init__(self)


def _hashable(value) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


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


def _format(fmt: str | None) -> str:
    fmt = (fmt or "").strip().lower()
    if fmt == "yml":
        fmt = "yaml"
    if fmt not in FORMATS:
        raise PlanFileError("", f"unknown plan file format {fmt!r}: use json or yaml")
    return fmt


READ_CHARS = 1 << 20  # characters read from a stream at a time


class _Source:
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

    def read(self, size: int) -> str:
        if self._head:
            data, self._head = self._head[:size], self._head[size:]
            return data
        return self._stream.read(size) if self._stream is not None else ""

    def lines(self) -> Iterator[str]:
        """Its lines, each with its "\\n" (the last one may have none)."""
        head, self._head = self._head, ""
        start = 0
        while (end := head.find("\n", start)) >= 0:
            yield head[start:end + 1]
            start = end + 1
        tail = head[start:]
        del head
        if self._stream is not None:
            for line in self._stream:
                if tail:
                    line, tail = tail + line, ""
                yield line
        if tail:
            yield tail


def iter_plan_file(
    source: str | TextIO, fmt: str | None = None, *, filename: str | None = None
) -> Iterator:
    """The entries of a plan file's `plans` list one by one, read as they are needed
    (entries not yet checked: import_plans does that). `source` is the text or a text
    stream (read once, forward); `fmt` json or yaml, else guessed from `filename` or
    from the first characters. Problems of the file itself raise PlanFileError when
    they are reached, so entries before them have been given out already.
    """
    text = _Source(None, source) if isinstance(source, str) else _Source(source)
    if fmt is None:
        fmt = guess_format(text.first_char(), filename)
    if _format(fmt) == "json":
        return _json_entries(text)
    return _yaml_entries(text)


def parse_plan_file(text: str, fmt: str | None = None) -> list:
    """The `plans` list of a plan file, whole (entries not yet checked)."""
    return list(iter_plan_file(text, fmt))


def plans_of(document) -> list:
    """The `plans` list of an already parsed document (or the list itself)."""
    if isinstance(document, list):
        return document
    if not isinstance(document, dict):
        raise PlanFileError("", "a plan file is a mapping with a `plans:` list")
    unknown = [key for key in document if key != "plans"]
    if unknown:
        raise PlanFileError(str(unknown[0]), "unknown field (expected plans)")
    plans = document.get("plans")
    if plans is None:
        raise PlanFileError("plans", "required")
    if not isinstance(plans, list):
        raise PlanFileError("plans", "must be a list")
    return plans


# -- JSON: the standard library's decoder, one plan at a time from a sliding buffer --

_JSON_SPACE = re.compile(r"[ \t\n\r]*")


class _JsonReader:
    """Reads values out of a text stream with json's own decoder (same values, same
    duplicate-key rule, same error messages as json.loads of the whole text, positions
    counted over the whole text), holding only the part of the text not yet decoded."""

    def __init__(self, source: _Source) -> None:
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
        data = self.source.read(max(READ_CHARS, len(buf)))
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


def _json_entries(source: _Source) -> Iterator:
    reader = _JsonReader(source)
    first = reader.peek()
    if first == "[":
        yield from reader.items()
        reader.end()
        return
    if first != "{":
        reader.value()  # "Expecting value" unless it is JSON
        reader.end()
        raise PlanFileError("", "a plan file is a mapping with a `plans:` list")
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
        if key != "plans":
            raise PlanFileError(key, "unknown field (expected plans)")
        if reader.peek() == "[":
            yield from reader.items()
        else:
            value = reader.value()
            raise PlanFileError("plans", "required" if value is None else "must be a list")
    reader.pos += 1
    reader.end()
    if not seen:
        raise PlanFileError("plans", "required")


# -- YAML: storage/fastyaml.py plan by plan, else PyYAML node by node ---------------
#
# A plan file as export (and PyYAML) writes it is `plans:` then one item line per plan
# at one indentation, every other line of the plan deeper. The lines of one plan go to
# fastyaml as a document of their own. fastyaml takes only YAML whose every construct
# ends within its lines (no quoted scalar or flow collection over several lines, no
# anchors), so what it reads from those lines is what PyYAML reads from the whole file.
# At the first plan it does not take (or anything else unusual), PyYAML's composer
# reads the rest of the file, one plan node at a time.

_SEQ_TAGS = (None, "!", "tag:yaml.org,2002:seq")
_MAP_TAGS = (None, "!", "tag:yaml.org,2002:map")
_UNSURE = object()


def _blank_or_comment(line: str) -> bool:
    stripped = line.strip(" \n")
    return not stripped or stripped.startswith("#")


def _indentation(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _item_marker(line: str) -> int | None:
    """The indentation of a block sequence item's line (`- …` or `-`), else None."""
    indent = _indentation(line)
    if line[indent:indent + 1] == "-" and line[indent + 1:indent + 2] in (" ", "\n", ""):
        return indent
    return None


def _yaml_entries(source: _Source) -> Iterator:
    lines = source.lines()
    head: list[str] = []  # lines read before the first plan's
    for line in lines:
        head.append(line)
        if not _blank_or_comment(line):
            break
    prefix = ""  # what each plan's lines need in front to be a document
    if head and head[-1].rstrip(" \n") == "plans:":
        prefix = "plans:\n"
        for line in lines:
            head.append(line)
            if not _blank_or_comment(line):
                break
    indent = _item_marker(head[-1]) if head and not _blank_or_comment(head[-1]) else None
    if indent is None or (indent and not prefix):  # anything else: PyYAML, whole
        yield from _yaml_nodes(_Replay("", head, lines), line_shift=0)
        return
    marker, deeper = " " * indent + "-", " " * (indent + 1)
    plan, start = [head[-1]], len(head) - 1  # the plan's lines; the first's index
    for line in lines:
        if line.startswith(deeper):  # most lines: within the plan
            plan.append(line)
        elif line.startswith(marker) and _item_marker(line) == indent:
            entry = _fast_yaml_entry(prefix, plan)
            if entry is _UNSURE:
                plan.append(line)
                break
            yield entry
            plan, start = [line], start + len(plan)
        elif _blank_or_comment(line):
            plan.append(line)
        else:  # less indented: the list ends, or something unusual: PyYAML decides
            plan.append(line)
            break
    else:
        entry = _fast_yaml_entry(prefix, plan)
        if entry is not _UNSURE:
            yield entry
            return
    # From this plan's first line on, PyYAML reads the rest: its line numbers shifted to
    # the file's (the prefix is a line of its own).
    shift = start - prefix.count("\n")
    yield from _yaml_nodes(_Replay(prefix, plan, lines), line_shift=shift)


def _fast_yaml_entry(prefix: str, lines: list[str]):
    try:
        document = fastyaml.load(prefix + "".join(lines))
    except Exception:  # noqa: BLE001 - fastyaml.Unsupported, or anything odd: PyYAML decides
        return _UNSURE
    if prefix:
        document = document.get("plans") if type(document) is dict and len(document) == 1 else None
    if type(document) is list and len(document) == 1:
        return document[0]
    return _UNSURE


class _Replay:
    """A stream for PyYAML: `prefix`, the lines already read, then the rest of `lines`."""

    def __init__(self, prefix: str, pending: list[str], lines: Iterator[str]) -> None:
        self.pieces = deque([prefix, *pending])
        self.lines = lines

    def read(self, size: int = -1) -> str:
        out: list[str] = []
        length = 0
        while size < 0 or length < size:
            if self.pieces:
                piece = self.pieces.popleft()
            else:
                piece = next(self.lines, None)
                if piece is None:
                    break
            out.append(piece)
            length += len(piece)
        return "".join(out)


def _yaml_nodes(stream: _Replay, *, line_shift: int) -> Iterator:
    """The plans of a YAML stream as yaml.load(…, _YamlLoader) reads it, one plan node at
    a time; errors as PlanFileError with the file's line numbers."""
    loader = _YamlStream(stream)
    try:
        yield from _yaml_plans(loader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        problem = getattr(error, "problem", None) or str(error)
        where = f" at line {mark.line + 1 + line_shift} column {mark.column + 1}" if mark else ""
        raise PlanFileError("", f"not valid YAML: {problem}{where}") from None
    except (ValueError, OverflowError) as error:  # e.g. a timestamp such as 2025-13-45
        raise PlanFileError("", f"not valid YAML: {error}") from None
    finally:
        loader.dispose()


def _yaml_plans(loader) -> Iterator:
    loader.get_event()  # stream start
    if loader.check_event(StreamEndEvent):  # no document: as yaml.load's None
        raise PlanFileError("", "a plan file is a mapping with a `plans:` list")
    document = loader.get_event()
    event = loader.peek_event()
    if isinstance(event, MappingStartEvent) and event.anchor is None and event.tag in _MAP_TAGS:
        loader.get_event()
        seen: set = set()
        while not loader.check_event(MappingEndEvent):
            key_node = loader.compose_node(None, None)
            key = loader.construct_document(key_node)
            if not _hashable(key):
                raise ConstructorError(
                    "while constructing a mapping", event.start_mark, "found unhashable key",
                    key_node.start_mark,
                )
            if key in seen:
                raise ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
            if key != "plans":
                raise PlanFileError(str(key), "unknown field (expected plans)")
            yield from _yaml_list(loader)
        loader.get_event()
        if not seen:
            raise PlanFileError("plans", "required")
    elif isinstance(event, SequenceStartEvent):
        yield from _yaml_list(loader)
    else:
        yield from plans_of(loader.construct_document(loader.compose_node(None, None)))
    loader.get_event()  # document end
    if not loader.check_event(StreamEndEvent):
        raise ComposerError(
            "expected a single document in the stream", document.start_mark,
            "but found another document", loader.get_event().start_mark,
        )


def _yaml_list(loader) -> Iterator:
    """The items of the `plans` list (or of the top-level list) that starts here."""
    event = loader.peek_event()
    if isinstance(event, SequenceStartEvent) and event.anchor is None and event.tag in _SEQ_TAGS:
        loader.get_event()
        index = 0
        while not loader.check_event(SequenceEndEvent):
            yield loader.construct_document(loader.compose_node(None, index))
            index += 1
        loader.get_event()
        return
    value = loader.construct_document(loader.compose_node(None, None))
    if value is None:
        raise PlanFileError("plans", "required")
    if not isinstance(value, list):
        raise PlanFileError("plans", "must be a list")
    yield from value


# ---------------------------------------------------------------------------
# Checking entries (relative field paths bubble up and get their prefix on the way)


def _join(prefix: str, field: str) -> str:
    if not field:
        return prefix
    return prefix + field if field.startswith("[") else f"{prefix}.{field}"


def _each(items: list, name: str, check: Callable) -> list:
    result = []
    for index, raw in enumerate(items):
        try:
            result.append(check(raw))
        except ValidationError as error:
            raise ValidationError(_join(f"{name}[{index}]", error.field), error.message) from None
    return result


def _mapping(raw, keys: Sequence[str]) -> dict:
    if not isinstance(raw, dict):
        raise ValidationError("", "must be a mapping of fields")
    for key in raw:
        if key not in keys:
            raise ValidationError(str(key), f"unknown field (expected one of {', '.join(keys)})")
    return raw


def _text(raw: dict, key: str) -> str | None:
    value = raw.get(key)
    if value is None or isinstance(value, str):
        return value
    raise ValidationError(key, "must be text (put it in quotes)")


def _list(raw: dict, key: str) -> list:
    value = raw.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValidationError(key, "must be a list")
    return value


def _bool(raw: dict, key: str, default: bool) -> bool:
    value = raw.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise ValidationError(key, "must be true or false")
    return value


def _date(raw: dict, key: str) -> dt.date | None:
    value = raw.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValidationError(key, "must be a date (YYYY-MM-DD)")


def _datetime(raw: dict, key: str) -> dt.datetime | None:
    value = raw.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            value = None
    if not isinstance(value, dt.datetime):
        raise ValidationError(key, "must be a UTC time (YYYY-MM-DDTHH:MM:SSZ)")
    if value.tzinfo is None:  # a time without zone is UTC
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc).replace(microsecond=0)


def _number(raw: dict, key: str):
    value = raw.get(key)
    if isinstance(value, bool) or not (value is None or isinstance(value, (int, float, str, Decimal))):
        raise ValidationError(key, "must be a number")
    return value


def _item_status(raw: dict) -> ItemStatus:
    value = raw.get("status")
    try:
        return ItemStatus(str(value or ItemStatus.OPEN).strip().lower())
    except ValueError:
        allowed = ", ".join(s.value for s in ItemStatus)
        raise ValidationError("status", f"must be one of {allowed}") from None


# Fast paths. Most values of a big file are plain: printable ASCII text, Slack ids,
# whole numbers. For those the rules' answer is known without running them (it is the
# value itself); anything else, and every error, goes through the rules themselves, so
# results and messages are the rules' own.


def _plain_text(value, max_len: int) -> bool:
    """Whether clean_text gives `value` back unchanged: printable ASCII (no NUL, no control
    characters, nothing invisible), not empty, no space at either end, not too long."""
    return (
        type(value) is str
        and 0 < len(value) <= max_len
        and value.isascii()
        and value.isprintable()
        and value[0] != " "
        and value[-1] != " "
    )


def _plain_id(value) -> bool:
    """Whether clean_user_id gives `value` back unchanged."""
    return type(value) is str and 0 < len(value) <= SLACK_ID_MAX and value.isascii() and value.isalnum()


def _clean_text(raw: dict, key: str, *, max_len: int, required: bool) -> str:
    """clean_text(_text(raw, key), key, …)."""
    value = raw.get(key)
    if _plain_text(value, max_len):
        return value
    return clean_text(_text(raw, key), key, max_len=max_len, required=required)


def _optional_text(value, max_len: int) -> str | None:
    """clean_text(value or "", required=False) for a plain value or none, else None."""
    if value is None or value == "":
        return ""
    return value if _plain_text(value, max_len) else None


_ITEM_STATUSES = {None: ItemStatus.OPEN, "": ItemStatus.OPEN, "open": ItemStatus.OPEN, "done": ItemStatus.DONE}


_ITEM_KEY_SET = frozenset(ITEM_KEYS)
_iso_date = lru_cache(maxsize=4096)(dt.date.fromisoformat)  # a file has few distinct dates


def _fast_item(raw: dict, window, now: dt.datetime) -> dict | None:
    """_check_item of a plain action item, or None to let the rules decide."""
    get = raw.get
    title, assignee, notes = get("title"), get("assignee"), get("notes")
    if not (_plain_text(title, TITLE_MAX) and _plain_id(assignee)):
        return None
    if notes is None:
        notes = ""
    elif notes != "" and not _plain_text(notes, TEXT_MAX):
        return None
    team_only = get("team_only")
    if team_only is None:
        team_only = False
    elif type(team_only) is not bool:
        return None
    due = get("due_date")
    if type(due) is str:
        try:
            due = _iso_date(due)
        except ValueError:
            return None
    elif due is not None and type(due) is not dt.date:
        return None
    if due is not None and not (window.start_date <= due <= window.end_date):
        return None
    status = get("status")
    status = _ITEM_STATUSES.get(status) if status is None or type(status) is str else None
    done_at, done_by = get("done_at"), get("done_by")
    if status is ItemStatus.DONE:
        if done_at is None:
            done_at = now
        else:
            try:
                done_at = _datetime(raw, "done_at") or now
            except ValidationError:
                return None
        if done_by is not None and not _plain_id(done_by):
            return None
    elif status is None or done_at is not None or done_by is not None:
        return None
    return {
        "title": title, "notes": notes, "assignee_id": assignee, "due_date": due,
        "team_only": team_only, "status": status, "done_at": done_at, "done_by": done_by,
    }


def _fast_decimal(value) -> Decimal | None | bool:
    """clean_decimal of a plain number or none; False to let the rules decide."""
    if value is None:
        return None
    if type(value) is int and -10**14 < value < 10**14:
        return Decimal(value)  # the same Decimal as Decimal(str(value))
    return False


def _fast_objective_fields(raw: dict) -> dict | None:
    """objective_fields of a plain objective, or None to let it decide."""
    title = raw.get("title")
    description = _optional_text(raw.get("description"), TEXT_MAX)
    unit = _optional_text(raw.get("measure_unit"), NAME_MAX)
    target = _fast_decimal(raw.get("target_value"))
    current = _fast_decimal(raw.get("current_value"))
    if not _plain_text(title, TITLE_MAX) or description is None or unit is None:
        return None
    if target is False or current is False or (current is not None and target is None):
        return None
    return dict(
        title=title, description=description, measure_unit=unit, target_value=target,
        current_value=current,
    )


class _Checked(SimpleNamespace):
    """One plan, checked: column values per table, children nested; `items` counts its
    action items."""


def _check_plan(raw, default_owner: str | None, now: dt.datetime) -> _Checked:
    raw = _mapping(raw, PLAN_KEYS)
    name = _clean_text(raw, "name", max_len=NAME_MAX, required=True)
    account = _clean_text(raw, "account", max_len=NAME_MAX, required=True)
    start, end = check_dates(_date(raw, "start_date"), _date(raw, "end_date"))
    status = clean_status(_text(raw, "status"))
    owner = clean_user_id(_text(raw, "owner") or default_owner, "owner", required=True)
    team: list[str] = []
    for index, user in enumerate(_list(raw, "team")):
        if user is not None and not isinstance(user, str):
            raise ValidationError(f"team[{index}]", "must be a Slack user id such as U0123ABCD")
        user = clean_user_id(user, f"team[{index}]", required=False)
        # As storage.plans.plan_edits._set_members: the owner is not listed again, nobody twice.
        if user and user != owner and user not in team:
            team.append(user)
    columns = dict(
        name=name,
        start_date=start,
        end_date=end,
        status=status,
        owner_id=owner,
        vision=_clean_text(raw, "vision", max_len=TEXT_MAX, required=False),
        customer_goals=_clean_text(raw, "customer_goals", max_len=TEXT_MAX, required=False),
        our_goals=_clean_text(raw, "our_goals", max_len=TEXT_MAX, required=False),
    )
    window = SimpleNamespace(start_date=start, end_date=end)
    strategies = _each(
        _list(raw, "strategies"), "strategies", lambda s: _check_strategy(s, window, now)
    )
    swot = _each(_list(raw, "swot"), "swot", _check_swot)
    reviews = _each(_list(raw, "reviews"), "reviews", _check_review)
    return _Checked(
        columns=columns, account=account, team=team, strategies=strategies, swot=swot,
        reviews=reviews, items=sum(len(o[1]) for s in strategies for o in s[1]),
    )


def _check_strategy(raw, window, now) -> tuple[dict, list]:
    raw = _mapping(raw, STRATEGY_KEYS)
    columns = dict(
        title=_clean_text(raw, "title", max_len=TITLE_MAX, required=True),
        description=_clean_text(raw, "description", max_len=TEXT_MAX, required=False),
    )
    objectives = _each(
        _list(raw, "objectives"), "objectives", lambda o: _check_objective(o, window, now)
    )
    return columns, objectives


def _check_objective(raw, window, now) -> tuple[dict, list]:
    raw = _mapping(raw, OBJECTIVE_KEYS)
    columns = _fast_objective_fields(raw) or objective_fields(
        ObjectiveInput(
            title=_text(raw, "title"),
            description=_text(raw, "description") or "",
            measure_unit=_text(raw, "measure_unit") or "",
            target_value=_number(raw, "target_value"),
            current_value=_number(raw, "current_value"),
        )
    )
    items = _each(_list(raw, "action_items"), "action_items", lambda i: _check_item(i, window, now))
    return columns, items


def _check_item(raw, window, now) -> dict:
    if type(raw) is dict and _ITEM_KEY_SET.issuperset(raw):
        columns = _fast_item(raw, window, now)
        if columns is not None:
            return columns
    raw = _mapping(raw, ITEM_KEYS)
    columns = item_fields(
        window,
        ActionItemInput(
            title=_text(raw, "title"),
            assignee_id=_text(raw, "assignee"),
            due_date=_date(raw, "due_date"),
            notes=_text(raw, "notes") or "",
            team_only=_bool(raw, "team_only", False),
        ),
    )
    status = _item_status(raw)
    done_at = _datetime(raw, "done_at")
    done_by = clean_user_id(_text(raw, "done_by"), "done_by", required=False)
    if status == ItemStatus.DONE:
        done_at = done_at or now
    elif done_at is not None:
        raise ValidationError("done_at", "only for items with status done")
    elif done_by is not None:
        raise ValidationError("done_by", "only for items with status done")
    columns.update(status=status, done_at=done_at, done_by=done_by)
    return columns


def _check_swot(raw) -> dict:
    raw = _mapping(raw, SWOT_KEYS)
    return dict(
        kind=clean_swot_kind(_text(raw, "kind")),
        text=_clean_text(raw, "text", max_len=TEXT_MAX, required=True),
        team_only=_bool(raw, "team_only", True),
    )


def _check_review(raw) -> dict:
    raw = _mapping(raw, REVIEW_KEYS)
    held_on = _date(raw, "held_on")
    next_qbr = _date(raw, "next_qbr_date")
    # As plans.add_review.
    if held_on is None:
        raise ValidationError("held_on", "required")
    if next_qbr is not None and next_qbr <= held_on:
        raise ValidationError("next_qbr_date", "must be after the review date")
    columns = dict(held_on=held_on, next_qbr_date=next_qbr)
    for key in ("attendees", "notes", "decisions"):
        columns[key] = _clean_text(raw, key, max_len=TEXT_MAX, required=False)
    return columns


def check_plans(
    entries: list, *, default_owner: str | None = None, now: dt.datetime | None = None
) -> list[_Checked]:
    """Every entry checked, or PlanFileError naming the first bad one. No database."""
    now = (now or utcnow()).replace(microsecond=0)
    try:
        return _each(entries, "plans", lambda raw: _check_plan(raw, default_owner, now))
    except PlanFileError:
        raise
    except ValidationError as error:
        raise PlanFileError(error.field, error.message) from None


# ---------------------------------------------------------------------------
# Import

BATCH_PLANS = 250  # plans checked and written together (fewer when they hold many items)
BATCH_ITEMS = 15_000  # action items in a batch, at most (unless one plan has more)


def _insert(
    session: Session, model, rows: list[dict], *, ids: bool = False, parent: str | None = None
) -> list[int]:
    """Insert `rows` (dicts with the same keys) into `model`'s table; with `ids`, return
    the new ids in the order of `rows`.

    PostgreSQL: ids come from the table's sequence in one query, rows go in with COPY.
    SQLite: one executemany through the driver, values converted by the columns' own
    bind processors (as SQLAlchemy would convert them, less its work per row).
    Elsewhere: one executemany. The ids of children of new plans are read back by
    (`parent` column, position), a few SELECTs. (SQLite cannot batch INSERT … RETURNING
    in a known order: SQLAlchemy would send one INSERT per row.) Without `parent`:
    INSERT … RETURNING.
    """
    if not rows:
        return []
    table = model.__table__
    connection = session.connection()
    if connection.dialect.name == "postgresql" and connection.dialect.driver == "psycopg":
        return _pg_copy(session, table, rows, ids=ids)
    if ids and parent is None:
        statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
        return list(session.execute(statement, rows).scalars())
    if connection.dialect.name == "sqlite":
        _sqlite_executemany(connection, table, rows)
    else:
        session.execute(insert(table), rows)
    if not ids:
        return []
    # Every row belongs to a plan created by this import: (parent, position) names it.
    plan_ids = sorted({row["plan_id"] for row in rows})
    found: dict[tuple[int, int], int] = {}
    for start in range(0, len(plan_ids), _CHUNK):
        query = select(table.c.id, table.c[parent], table.c.position).where(
            table.c.plan_id.in_(plan_ids[start:start + _CHUNK])
        )
        found.update(((parent_id, position), new_id) for new_id, parent_id, position in session.execute(query))
    return [found[(row[parent], row["position"])] for row in rows]


_CHUNK = 500  # ids per IN (…): well below every database's bound-parameter limit


def _sqlite_executemany(connection, table, rows: list[dict]) -> None:
    dialect = connection.dialect
    names = list(rows[0])
    quote = dialect.identifier_preparer.quote
    statement = (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(n) for n in names)}) "
        f"VALUES ({', '.join('?' * len(names))})"
    )
    columns = []
    for name in names:
        values = list(map(operator.itemgetter(name), rows))
        processor = table.c[name].type._cached_bind_processor(dialect)
        columns.append(values if processor is None else _converted(values, processor))
    connection.exec_driver_sql(statement, list(zip(*columns)))


def _converted(values: list, processor: Callable) -> list:
    """processor(value) of each value, once per distinct value (a batch repeats its
    timestamps, statuses and dates). Values of one column that are equal convert to
    the same (True and 1, "open" and ItemStatus.OPEN, Decimal 5 and 5.0)."""
    cache: dict = {}
    result = []
    for value in values:
        try:
            converted = cache[value]
        except KeyError:
            converted = cache[value] = processor(value)
        except TypeError:  # not hashable (a JSON value)
            converted = processor(value)
        result.append(converted)
    return result


def _pg_copy(session: Session, table, rows: list[dict], *, ids: bool) -> list[int]:
    new_ids: list[int] = []
    if ids:
        sequence = session.execute(
            text("select pg_get_serial_sequence(:table, 'id')"), {"table": table.name}
        ).scalar_one()
        new_ids = sorted(
            session.execute(
                text("select nextval(:sequence) from generate_series(1, :n)"),
                {"sequence": sequence, "n": len(rows)},
            ).scalars()
        )
        for row, new_id in zip(rows, new_ids):
            row["id"] = new_id
    names = list(rows[0])
    quote = session.connection().dialect.identifier_preparer.quote
    statement = f"COPY {quote(table.name)} ({', '.join(quote(n) for n in names)}) FROM STDIN"
    dbapi = session.connection().connection.dbapi_connection
    values = operator.itemgetter(*names) if len(names) > 1 else (lambda row: (row[names[0]],))
    # psycopg adapts every value; our enums are StrEnums, so they go in by value.
    try:
        with dbapi.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(values(row))
    except dbapi.Error as error:  # as SQLAlchemy would have raised it (IntegrityError, …)
        raise DBAPIError.instance(statement, None, error, type(dbapi).Error) from None
    return new_ids


def _accounts(
    session: Session, team_id: str, names: Iterable[str], now: dt.datetime, known: dict[str, int]
) -> dict[str, int]:
    """The ids of the workspace's accounts by name, those not in `known` found or
    created (and added to `known`)."""
    wanted = [name for name in dict.fromkeys(names) if name not in known]
    found: dict[str, int] = {}
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start:start + _CHUNK]
        rows = session.execute(
            select(Account.name, Account.id).where(
                Account.team_id == team_id, Account.name.in_(chunk)
            )
        )
        found.update((name, account_id) for name, account_id in rows)
    missing = [name for name in wanted if name not in found]
    new_ids = _insert(
        session,
        Account,
        [dict(team_id=team_id, name=name, created_at=now) for name in missing],
        ids=True,
    )
    found.update(zip(missing, new_ids))
    known.update(found)
    return known


def import_plans(
    session: Session,
    team_id: str,
    data,
    *,
    actor_id: str | None = None,
    batch_plans: int = BATCH_PLANS,
    batch_items: int = BATCH_ITEMS,
) -> list[int]:
    """Create every plan of `data` in `team_id`: a parsed plan file, its `plans` list, or
    an iterator of entries (iter_plan_file's), read once, in order.

    Entries are checked as they come and written in batches (`batch_plans` plans, or
    fewer holding `batch_items` action items), so memory holds one batch whatever the
    size of the file. All or nothing is the caller's transaction: nothing is committed
    here, and on an error (PlanFileError naming the first bad entry, or a file error
    reached part way) the batches before it have been written in that transaction:
    roll it back (storage.db.transaction does). `actor_id` is recorded as the importer
    and is the owner of plans that name none; without it each plan's owner is recorded
    and `owner` is required. Returns the new plan ids in file order.
    """
    team_id = clean_text(team_id, "team_id", max_len=SLACK_ID_MAX, required=True)
    actor_id = clean_user_id(actor_id, "actor", required=False)
    now = utcnow().replace(microsecond=0)
    entries = data if isinstance(data, Iterator) else plans_of(data)
    plan_ids: list[int] = []
    accounts: dict[str, int] = {}
    batch: list[_Checked] = []
    items = 0
    for index, raw in enumerate(entries):
        try:
            plan = _check_plan(raw, actor_id, now)
        except PlanFileError:
            raise
        except ValidationError as error:
            raise PlanFileError(_join(f"plans[{index}]", error.field), error.message) from None
        batch.append(plan)
        items += plan.items
        if len(batch) >= batch_plans or items >= batch_items:
            if not plan_ids:
                session.flush()  # anything pending goes first, as the ORM would have done
            plan_ids += _write_plans(session, team_id, actor_id, now, batch, accounts)
            batch, items = [], 0
    if batch:
        if not plan_ids:
            session.flush()
        plan_ids += _write_plans(session, team_id, actor_id, now, batch, accounts)
    return plan_ids


def _write_plans(
    session: Session,
    team_id: str,
    actor_id: str | None,
    now: dt.datetime,
    plans: list[_Checked],
    accounts: dict[str, int],
) -> list[int]:
    """Write checked plans table by table (a few statements per table); their ids."""
    accounts = _accounts(session, team_id, (p.account for p in plans), now, accounts)
    stamp = dict(team_id=team_id, version=1, created_at=now, updated_at=now)
    plan_ids = _insert(
        session,
        AccountPlan,
        [
            dict(
                p.columns,
                **stamp,
                account_id=accounts[p.account],
                last_review_date=max((r["held_on"] for r in p.reviews), default=None),
            )
            for p in plans
        ],
        ids=True,
    )

    members, strategy_rows, strategy_children = [], [], []
    swot_rows, review_rows, log_rows = [], [], []
    for plan_id, p in zip(plan_ids, plans):
        members += [dict(plan_id=plan_id, user_id=u, team_id=team_id) for u in p.team]
        for position, (columns, objectives) in enumerate(p.strategies):
            strategy_rows.append(dict(columns, **stamp, plan_id=plan_id, position=position))
            strategy_children.append((plan_id, objectives))
        positions: dict[SwotKind, int] = {}
        for entry in p.swot:
            position = positions[entry["kind"]] = positions.get(entry["kind"], -1) + 1
            swot_rows.append(dict(entry, **stamp, plan_id=plan_id, position=position))
        review_rows += [
            dict(r, team_id=team_id, plan_id=plan_id, created_by=actor_id or p.columns["owner_id"], created_at=now)
            for r in p.reviews
        ]
        objectives = sum(len(s[1]) for s in p.strategies)
        log_rows.append(
            dict(
                team_id=team_id,
                plan_id=plan_id,
                actor_id=actor_id or p.columns["owner_id"],
                at=now,
                entity="plan",
                entity_id=plan_id,
                action="imported",
                summary=(
                    f"imported plan “{p.columns['name']}” ({len(p.strategies)} strategies, "
                    f"{objectives} objectives, {p.items} action items)"
                )[:TEXT_MAX],
                details=None,
            )
        )
    _insert(session, PlanMember, members)
    strategy_ids = _insert(session, Strategy, strategy_rows, ids=True, parent="plan_id")

    objective_rows, objective_children = [], []
    for strategy_id, (plan_id, objectives) in zip(strategy_ids, strategy_children):
        for position, (columns, items) in enumerate(objectives):
            objective_rows.append(
                dict(columns, **stamp, plan_id=plan_id, strategy_id=strategy_id, position=position)
            )
            objective_children.append((plan_id, items))
    objective_ids = _insert(session, Objective, objective_rows, ids=True, parent="strategy_id")

    item_rows = [
        dict(
            columns,
            **stamp,
            plan_id=plan_id,
            objective_id=objective_id,
            position=position,
            created_by=actor_id,
        )
        for objective_id, (plan_id, items) in zip(objective_ids, objective_children)
        for position, columns in enumerate(items)
    ]
    _insert(session, ActionItem, item_rows)
    _insert(session, SwotEntry, swot_rows)
    _insert(session, QbrReview, review_rows)
    _insert(session, ChangeLogEntry, log_rows)
    return plan_ids


def import_plan_file(
    session: Session,
    team_id: str,
    source: str | TextIO,
    fmt: str | None = None,
    *,
    actor_id: str | None = None,
    filename: str | None = None,
) -> list[int]:
    """import_plans of iter_plan_file(source): the text of a plan file or a text stream,
    read plan by plan."""
    entries = iter_plan_file(source, fmt, filename=filename)
    return import_plans(session, team_id, entries, actor_id=actor_id)


# ---------------------------------------------------------------------------
# Export


def _export_number(value: Decimal | None):
    if value is None:
        return None
    value = Decimal(value)
    if value == value.to_integral_value():
        return int(value)
    text = format(value.normalize(), "f")
    as_float = float(text)
    return as_float if repr(as_float) == text else text


def _utc_second(value: dt.datetime) -> dt.datetime:
    return value.astimezone(dt.timezone.utc).replace(microsecond=0)


def _utc_text(value: dt.datetime) -> str:
    return _utc_second(value).strftime("%Y-%m-%dT%H:%M:%SZ")


def _put(target: dict, key: str, value) -> None:
    """Set `key` unless the value is empty (None, "", [])."""
    if value is None or value == "" or value == []:
        return
    target[key] = value


def _value(enum_or_text) -> str:
    return getattr(enum_or_text, "value", enum_or_text)


def plan_to_dict(plan) -> dict:
    """One plan loaded by load_plan_tree as a plan-file entry (plain, ordered, no empties).

    Dates stay `datetime.date`, `done_at` a UTC `datetime` to the second; numbers are
    int, float or (when a float cannot carry them exactly) str.
    """
    result: dict[str, Any] = dict(
        name=plan.name,
        account=plan.account.name,
        start_date=plan.start_date,
        end_date=plan.end_date,
        status=_value(plan.status),
        owner=plan.owner_id,
    )
    _put(result, "team", sorted(m.user_id for m in plan.members))
    _put(result, "vision", plan.vision)
    _put(result, "customer_goals", plan.customer_goals)
    _put(result, "our_goals", plan.our_goals)
    strategies = []
    for strategy in sorted(plan.strategies, key=lambda s: (s.position, s.id)):
        s: dict[str, Any] = dict(title=strategy.title)
        _put(s, "description", strategy.description)
        objectives = []
        for objective in sorted(strategy.objectives, key=lambda o: (o.position, o.id)):
            o: dict[str, Any] = dict(title=objective.title)
            _put(o, "description", objective.description)
            _put(o, "measure_unit", objective.measure_unit)
            _put(o, "target_value", _export_number(objective.target_value))
            _put(o, "current_value", _export_number(objective.current_value))
            items = []
            for item in sorted(objective.action_items, key=lambda i: (i.position, i.id)):
                i: dict[str, Any] = dict(title=item.title)
                _put(i, "assignee", item.assignee_id)
                _put(i, "due_date", item.due_date)
                i["status"] = _value(item.status)
                if _value(item.status) == ItemStatus.DONE.value:
                    _put(i, "done_at", _utc_second(item.done_at) if item.done_at else None)
                    _put(i, "done_by", item.done_by)
                if item.team_only:
                    i["team_only"] = True
                _put(i, "notes", item.notes)
                items.append(i)
            _put(o, "action_items", items)
            objectives.append(o)
        _put(s, "objectives", objectives)
        strategies.append(s)
    _put(result, "strategies", strategies)
    swot = []
    for entry in sorted(
        plan.swot_entries, key=lambda e: (SWOT_ORDER[SwotKind(e.kind)], e.position, e.id)
    ):
        e: dict[str, Any] = dict(kind=_value(entry.kind), text=entry.text)
        if not entry.team_only:
            e["team_only"] = False
        swot.append(e)
    _put(result, "swot", swot)
    reviews = []
    for review in sorted(plan.reviews, key=lambda r: (r.held_on, r.id)):
        r: dict[str, Any] = dict(held_on=review.held_on)
        _put(r, "attendees", review.attendees)
        _put(r, "notes", review.notes)
        _put(r, "decisions", review.decisions)
        _put(r, "next_qbr_date", review.next_qbr_date)
        reviews.append(r)
    _put(result, "reviews", reviews)
    return result


class _YamlDumper(yaml.SafeDumper):
    """Block style with indented lists (as in RUN_CONTRACT), `team` inline, multi-line
    text as literal blocks."""

    def increase_indent(self, flow=False, indentless=False):
        return super().increase_indent(flow, False)


class _FlowList(list):
    pass


def _represent_str(dumper, value: str):
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


def _represent_datetime(dumper, value: dt.datetime):
    # A plain YAML timestamp, written as in JSON: 2025-03-01T10:30:00Z.
    return dumper.represent_scalar("tag:yaml.org,2002:timestamp", _utc_text(value))


_YamlDumper.add_representer(str, _represent_str)
_YamlDumper.add_representer(dt.datetime, _represent_datetime)
_YamlDumper.add_representer(
    _FlowList,
    lambda dumper, value: dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=True),
)


def _json_default(value):
    if isinstance(value, dt.datetime):
        return _utc_text(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} to a plan file")


def dump_plan_file(plans: list[dict], fmt: str = "yaml") -> str:
    """The text of a plan file holding `plans` (entries as plan_to_dict gives them)."""
    fmt = _format(fmt)
    if fmt == "json":
        return json.dumps({"plans": plans}, indent=2, ensure_ascii=False, default=_json_default) + "\n"
    plans = [dict(p, team=_FlowList(p["team"])) if "team" in p else p for p in plans]
    return yaml.dump(
        {"plans": plans},
        Dumper=_YamlDumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=100_000,
    )


def export_plans(session: Session, team_id: str, plan_ids: Sequence[int], fmt: str = "yaml") -> str:
    """A plan file of the given plans of `team_id`, in the order given."""
    fmt = _format(fmt)
    return dump_plan_file(
        [plan_to_dict(load_plan_tree(session, team_id, plan_id)) for plan_id in plan_ids], fmt
    )
