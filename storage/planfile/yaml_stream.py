"""YAML plan files read one plan at a time (storage/fastyaml.py plan by plan, else
PyYAML node by node)."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator

import yaml
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
from storage.planfile.parse import PlanFileError, Source, hashable, plans_of


class YamlLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Safe YAML (libyaml when present) that refuses duplicate keys."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if not hashable(key):
                continue  # the parent class reports it
            if key in seen:
                raise ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


if issubclass(YamlLoader, Composer):  # pure-Python PyYAML: composes node by node already
    _YamlStream = YamlLoader
else:

    class _YamlStream(Composer, YamlLoader):  # type: ignore[no-redef, misc]
        """YamlLoader that composes one node at a time: PyYAML's own Composer over
        libyaml's events (libyaml composes only whole documents)."""

        def __init__(self, stream) -> None:
            YamlLoader.__init__(self, stream)
            Composer.__init__(self)


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


def yaml_entries(source: Source) -> Iterator:
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
    """The plans of a YAML stream as yaml.load(…, YamlLoader) reads it, one plan node at
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
            if not hashable(key):
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
