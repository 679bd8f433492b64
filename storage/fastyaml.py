"""A fast reader for plain block YAML, such as plan files (export's and PyYAML's own
default style), that gives exactly what PyYAML's safe loader gives, or steps aside.

PyYAML, even with libyaml, builds a Python object per token, event and node: about
10 s for a plan file of 1,000 plans of 60 action items. This reads such files line by
line instead (about 10 times faster), and hands every scalar's typing to PyYAML's own
resolver and constructors, so `yes`, `1e3`, `0x1F`, `2025-01-01` and `~` mean what
PyYAML says they mean.

It understands only: block mappings with plain keys, block sequences (indented or
not), plain scalars (also over several lines), single-quoted and one-line double-quoted
scalars, literal blocks (`|`, `|-`, `|+`), one-line flow sequences of plain scalars,
blank lines and whole-line comments. Anything else (anchors, tags, flow mappings,
folded blocks, documents markers, tabs in indentation, comments after values, ...)
raises `Unsupported`, and the caller uses PyYAML. Errors too are left to PyYAML, so
their messages stay PyYAML's.
"""

from __future__ import annotations

import re
from functools import lru_cache

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import ScalarNode
from yaml.resolver import Resolver

_CLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class Unsupported(Exception):
    """Not in the subset: use PyYAML."""


_KEY_LINE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*):(?: +(.*))?$")
_RESOLVER = Resolver()
_CONSTRUCTOR = SafeConstructor()
_STR = "tag:yaml.org,2002:str"
_CONSTRUCT = {
    "tag:yaml.org,2002:null": lambda node: None,
    "tag:yaml.org,2002:bool": _CONSTRUCTOR.construct_yaml_bool,
    "tag:yaml.org,2002:int": _CONSTRUCTOR.construct_yaml_int,
    "tag:yaml.org,2002:float": _CONSTRUCTOR.construct_yaml_float,
    "tag:yaml.org,2002:timestamp": _CONSTRUCTOR.construct_yaml_timestamp,
}
# A plain scalar may not start with an indicator; we also refuse what we do not parse.
_NOT_PLAIN_START = set("-?:,[]{}#&*!|>'\"%@`")


@lru_cache(maxsize=1024)
def _plain_string(key: str) -> bool:
    """Whether a plain key is a string to PyYAML (`yes`, `on`, `null` are not)."""
    return _RESOLVER.resolve(ScalarNode, key, (True, False)) == _STR


@lru_cache(maxsize=8192)
def _plain(text: str):
    """A plain scalar's value, typed as PyYAML types it (values are immutable: str,
    int, float, bool, None, date, datetime; so repeated ones are shared)."""
    tag = _RESOLVER.resolve(ScalarNode, text, (True, False))
    if tag == _STR:
        return text
    construct = _CONSTRUCT.get(tag)
    if construct is None:  # merge keys, `=`, ...
        raise Unsupported(tag)
    return construct(ScalarNode(tag, text))


# What PyYAML's reader refuses, and the line breaks other than \n that it knows.
_AWKWARD = re.compile(
    "[^\x0A\x20-\x7E\xA0-\u2027\u202A-\uD7FF\uE000-\uFEFE\uFF00-\uFFFD\U00010000-\U0010FFFF]"
)


class _Reader:
    def __init__(self, text: str) -> None:
        if _AWKWARD.search(text):
            raise Unsupported("tabs, carriage returns, other line breaks or unprintable characters")
        self.lines = text.split("\n")
        self.index = 0

    # -- lines -------------------------------------------------------------

    def skip_blank(self) -> None:
        """Move past blank lines and whole-line comments."""
        while self.index < len(self.lines):
            stripped = self.lines[self.index].strip()
            if stripped and not stripped.startswith("#"):
                return
            self.index += 1

    def peek(self) -> tuple[int, str] | None:
        """(indentation, content) of the next meaningful line, or None at the end."""
        self.skip_blank()
        if self.index >= len(self.lines):
            return None
        line = self.lines[self.index]
        content = line.lstrip(" ")
        if content.startswith(("---", "...")) and len(line) == len(content):
            raise Unsupported("document markers")
        return len(line) - len(content), content.rstrip(" ")

    # -- nodes -------------------------------------------------------------

    def document(self):
        first = self.peek()
        if first is None:
            return None
        indent, content = first
        if indent != 0:
            raise Unsupported("indented top level")
        if content.startswith("- ") or content == "-":
            value = self.sequence(0)
        elif _KEY_LINE.match(content):
            value = self.mapping(0)
        else:
            raise Unsupported("top level scalar")
        if self.peek() is not None:
            raise Unsupported("trailing content")
        return value

    def block(self, parent_indent: int, *, in_mapping: bool):
        """The value after `key:` with nothing on its line: a nested block, an indentless
        sequence (in a mapping) or null."""
        following = self.peek()
        if following is None:
            return None
        indent, content = following
        is_item = content.startswith("- ") or content == "-"
        if indent > parent_indent:
            if is_item:
                return self.sequence(indent)
            if _KEY_LINE.match(content):
                return self.mapping(indent)
            raise Unsupported("nested scalar on its own line")
        if indent == parent_indent and is_item and in_mapping:
            return self.sequence(indent)  # PyYAML's default style: "key:\n- item"
        return None

    def mapping(self, indent: int, first: str | None = None) -> dict:
        """A block mapping at `indent`; `first` is its first line's content when that
        line was already consumed (a mapping that starts on a "- " line)."""
        result: dict = {}
        while True:
            if first is not None:
                content, first = first, None
            else:
                following = self.peek()
                if following is None or following[0] < indent:
                    return result
                if following[0] > indent:
                    raise Unsupported("unexpected indentation")
                content = following[1]
                if content.startswith("- ") or content == "-":
                    return result  # an indentless sequence's next item
                self.index += 1
            match = _KEY_LINE.match(content)
            if match is None:
                raise Unsupported("not a plain key")
            key, rest = match.group(1), match.group(2)
            if not _plain_string(key) or key in result:
                raise Unsupported("key is not a plain string, or is repeated")
            result[key] = self.value(rest, indent)

    def sequence(self, indent: int) -> list:
        result: list = []
        while True:
            following = self.peek()
            if following is None or following[0] != indent:
                if following is not None and following[0] > indent:
                    raise Unsupported("unexpected indentation")
                return result
            content = following[1]
            if not (content.startswith("- ") or content == "-"):
                return result
            self.index += 1
            if content == "-":
                raise Unsupported("empty item")
            item = content[2:].lstrip(" ")
            item_indent = indent + (len(content) - len(item))
            if _KEY_LINE.match(item):
                result.append(self.mapping(item_indent, first=item))
            elif item.startswith("- "):
                raise Unsupported("nested sequence on one line")
            else:
                result.append(self.value(item, indent))

    def value(self, rest: str | None, indent: int):
        """A value that starts after `key:` or `- ` on a line at `indent`."""
        if rest is None or rest == "":
            return self.block(indent, in_mapping=True)
        head = rest[0]
        if head == "|":
            return self.literal(rest, indent)
        if head == "'":
            return self.single_quoted(rest, indent)
        if head == '"':
            return self.double_quoted(rest)
        if head == "[":
            return self.flow_sequence(rest)
        negative = head == "-" and len(rest) > 1 and rest[1] != " "  # -5, -x
        if (head in _NOT_PLAIN_START and not negative) or ": " in rest or " #" in rest or rest.endswith(":"):
            raise Unsupported("not a plain scalar")
        return _plain(self.plain_continued(rest, indent))

    def plain_continued(self, text: str, indent: int) -> str:
        """A plain scalar, with its continuation lines (more indented) folded in."""
        pieces = [text]
        blank_lines = 0
        while self.index < len(self.lines):
            line = self.lines[self.index]
            content = line.strip(" ")
            if not content:
                blank_lines += 1
                self.index += 1
                continue
            if len(line) - len(line.lstrip(" ")) <= indent:
                break
            if content.startswith("#") or ": " in content or " #" in content or content.endswith(":"):
                raise Unsupported("not a plain continuation")
            pieces.append("\n" * blank_lines if blank_lines else " ")
            pieces.append(content)
            blank_lines = 0
            self.index += 1
        # Blank lines after the scalar were not part of it: step back over them.
        self.index -= blank_lines
        return "".join(pieces)

    def literal(self, header: str, indent: int) -> str:
        chomping = {"|": "clip", "|-": "strip", "|+": "keep"}.get(header)
        if chomping is None:
            raise Unsupported("block scalar header")
        lines = []
        block_indent = None
        while self.index < len(self.lines):
            line = self.lines[self.index]
            if not line.strip(" "):
                if line and block_indent is None:
                    raise Unsupported("spaces before the first line of a literal")
                if block_indent is not None and len(line) > block_indent:
                    raise Unsupported("spaces on a blank literal line")
                lines.append("")
                self.index += 1
                continue
            spaces = len(line) - len(line.lstrip(" "))
            if block_indent is None:
                if spaces <= indent:
                    break
                block_indent = spaces
            elif spaces < block_indent:
                break
            lines.append(line[block_indent:])
            self.index += 1
        if self.index >= len(self.lines) and (not lines or lines[-1] != ""):
            raise Unsupported("literal without a final line break")
        # Trailing empty lines: kept, clipped to one newline, or stripped.
        content_end = len(lines)
        while content_end and lines[content_end - 1] == "":
            content_end -= 1
        trailing = len(lines) - content_end
        body = "\n".join(lines[:content_end])
        if not body:
            self.index -= trailing
            if chomping == "keep":
                raise Unsupported("empty kept literal")
            return ""
        if chomping == "strip":
            return body
        if chomping == "clip":
            return body + "\n"
        if self.index >= len(self.lines):
            raise Unsupported("kept literal at the end of the file")
        return body + "\n" * (trailing + 1)

    def single_quoted(self, rest: str, indent: int) -> str:
        """'…', with '' for a quote; over several lines, folded as YAML folds them."""
        pieces = [rest[1:]]
        closed = _closes(rest[1:])
        blank_lines = 0
        while not closed:
            if self.index >= len(self.lines):
                raise Unsupported("unterminated single-quoted")
            line = self.lines[self.index]
            self.index += 1
            content = line.strip(" ")
            if not content:
                blank_lines += 1
                continue
            if len(line) - len(line.lstrip(" ")) <= indent:
                raise Unsupported("single-quoted continuation not indented")
            pieces.append("\n" * blank_lines if blank_lines else " ")
            pieces.append(content)
            blank_lines = 0
            closed = _closes(content)
        text = "".join(pieces)[:-1]  # less the closing quote
        if "'" in text.replace("''", ""):
            raise Unsupported("quote inside single-quoted, or something after it")
        return text.replace("''", "'")

    @staticmethod
    def double_quoted(rest: str) -> str:
        if len(rest) < 2 or not rest.endswith('"') or rest.endswith('\\"'):
            raise Unsupported("double-quoted over several lines or with a comment")
        try:
            value = yaml.load(rest, Loader=_CLoader)  # noqa: S506 - a safe loader; escapes
        except yaml.YAMLError:
            raise Unsupported("double-quoted") from None
        if not isinstance(value, str):
            raise Unsupported("not a string")
        return value

    @staticmethod
    def flow_sequence(rest: str) -> list:
        if not rest.endswith("]") or rest.count("[") != 1 or rest.count("]") != 1:
            raise Unsupported("flow sequence")
        inner = rest[1:-1].strip(" ")
        if not inner:
            return []
        items = []
        for raw in inner.split(","):
            item = raw.strip(" ")
            if not item or item[0] in _NOT_PLAIN_START or any(c in item for c in ":#{}\"'"):
                raise Unsupported("flow item")
            items.append(_plain(item))
        return items


def _closes(segment: str) -> bool:
    """Whether a single-quoted scalar's line ends with its closing quote (an odd run of
    quotes at the end: '' is a quote inside)."""
    run = len(segment) - len(segment.rstrip("'"))
    return run % 2 == 1


def load(text: str):
    """The document in `text` as yaml.safe_load would give it; Unsupported when the
    text uses YAML this reader does not cover (then use PyYAML)."""
    return _Reader(text).document()
