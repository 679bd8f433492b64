"""YAML plan files read one plan at a time: PyYAML's safe loader (libyaml's parser when
present) composing one plan node at a time.

PyYAML builds a Python object per token, event and node, so YAML is several times
slower to import than JSON (README: import a big file as JSON); memory stays one plan
whatever the size of the file.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

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

from storage.planfile.parse import PLANS, PlanFileError, Source, hashable, not_a_plan_file, parts_of, unknown_part


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


_SEQ_TAGS = (None, "!", "tag:yaml.org,2002:seq")
_MAP_TAGS = (None, "!", "tag:yaml.org,2002:map")


def yaml_entries(source: Source, sections: tuple[str, ...] = PLANS) -> Iterator[tuple[str, Any]]:
    """(top-level list's name, entry) of a YAML plan file as yaml.load(…, YamlLoader)
    reads it, one entry node at a time; errors as PlanFileError with the file's line
    numbers."""
    loader = _YamlStream(source)
    try:
        yield from _yaml_parts(loader, sections)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        problem = getattr(error, "problem", None) or str(error)
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
        raise PlanFileError("", f"not valid YAML: {problem}{where}") from None
    except (ValueError, OverflowError) as error:  # e.g. a timestamp such as 2025-13-45
        raise PlanFileError("", f"not valid YAML: {error}") from None
    finally:
        loader.dispose()


def _yaml_parts(loader, sections: tuple[str, ...]) -> Iterator[tuple[str, Any]]:
    loader.get_event()  # stream start
    if loader.check_event(StreamEndEvent):  # no document: as yaml.load's None
        raise not_a_plan_file(sections)
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
            if key not in sections:
                raise unknown_part(key, sections)
            yield from ((key, entry) for entry in _yaml_list(loader, key))
        loader.get_event()
        if not seen:
            raise PlanFileError("plans", "required")
    elif isinstance(event, SequenceStartEvent):
        yield from (("plans", entry) for entry in _yaml_list(loader, "plans"))
    else:
        yield from parts_of(loader.construct_document(loader.compose_node(None, None)), sections)
    loader.get_event()  # document end
    if not loader.check_event(StreamEndEvent):
        raise ComposerError(
            "expected a single document in the stream", document.start_mark,
            "but found another document", loader.get_event().start_mark,
        )


def _yaml_list(loader, key: str) -> Iterator:
    """The items of the `key` list (or of the top-level list) that starts here."""
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
        raise PlanFileError(key, "required")
    if not isinstance(value, list):
        raise PlanFileError(key, "must be a list")
    yield from value
