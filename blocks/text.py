"""The one escaping policy: user text reaches Slack and documents only through here.

- `escape_mrkdwn` for Slack mrkdwn (Block Kit `mrkdwn` text, message `text`).
- `escape_markdown` for Markdown documents read outside Slack (the written plan).
- `render(template_name, **data)`: the one Jinja2 environment. Every `{{ … }}` output
  is escaped for the template's kind, chosen by its name:

      *.mrkdwn.j2  → escape_mrkdwn
      *.md.j2      → escape_markdown
      *.txt.j2     → nothing (Slack `plain_text`, which Slack never interprets)

  Jinja's HTML autoescape is not used: Slack would show `&#39;` literally. Text that
  is already safe (built by our own code, e.g. `<@U123>` mentions) is wrapped in
  `Trusted(...)`, which the finalizer passes through unchanged. Concatenating a Trusted
  with anything gives a plain str again, which is escaped: mistakes fail closed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from jinja2 import BaseLoader, Environment, PackageLoader, StrictUndefined, pass_context

ELLIPSIS = "…"


class Trusted(str):
    """Text our own code built and vouches for: rendered as is."""

    __slots__ = ()


# ---------------------------------------------------------------------------
# Escapers

_MRKDWN = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


def escape_mrkdwn(text: object) -> str:
    """Slack mrkdwn: only &, < and > are control characters (links, mentions, !channel).

    `*bold*`, `_it_` and backticks stay as the user typed them (Slack's own composer
    behaves the same); what they cannot do is link, mention or ping anyone.
    """
    if isinstance(text, Trusted):
        return text
    return str(text).translate(_MRKDWN)


_MARKDOWN_CHARS = "\\`*_[]<>#|~"
_MARKDOWN = str.maketrans({c: "\\" + c for c in _MARKDOWN_CHARS})
# At the start of a line: list markers, setext underlines, ordered-list numbers, quotes.
_LINE_START = re.compile(r"^([ \t]*)(?:([-+=])|(\d{1,9})([.)]))", re.MULTILINE)


def escape_markdown(text: object) -> str:
    """Markdown (CommonMark/GFM): user text stays text.

    Backslash-escapes \\ ` * _ [ ] < > # | ~ anywhere, so no emphasis, code, link,
    image, autolink, HTML, heading, table or strikethrough can come from user text, and
    a leading `-`, `+`, `=` or `1.` so no list or heading starts inside it.
    """
    if isinstance(text, Trusted):
        return text
    escaped = str(text).translate(_MARKDOWN)
    return _LINE_START.sub(_escape_line_start, escaped)


def _escape_line_start(match: re.Match) -> str:
    indent, marker, number, dot = match.groups()
    if marker:
        return f"{indent}\\{marker}"
    return f"{indent}{number}\\{dot}"


def markdown_lines(text: object) -> Trusted:
    """Multi-line user text as one Markdown paragraph that keeps its line breaks."""
    lines = [escape_markdown(line).rstrip() for line in str(text).strip().splitlines()]
    paragraphs: list[list[str]] = [[]]
    for line in lines:
        if line:
            paragraphs[-1].append(line)
        elif paragraphs[-1]:
            paragraphs.append([])
    return Trusted("\n\n".join("  \n".join(p) for p in paragraphs if p))


def truncate(text: str, limit: int, *, escape: Callable[[str], str] | None = None) -> str:
    """`text` cut to at most `limit` characters, ending in "…" when cut.

    With `escape`, the result is escaped and still at most `limit` characters long: the
    raw text is cut before escaping, so an entity such as `&amp;` is never cut in half.
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    text = str(text)
    if escape is None:
        if len(text) <= limit:
            return text
        return _safe_cut(text, limit - 1).rstrip() + ELLIPSIS
    escaped = escape(text)
    if len(escaped) <= limit:
        return escaped
    # Longest prefix whose escaped form plus the ellipsis fits (binary search).
    low, high = 0, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if len(escape(text[:middle].rstrip())) + 1 <= limit:
            low = middle
        else:
            high = middle - 1
    return escape(text[:low].rstrip()) + ELLIPSIS


_ENTITIES = ("&amp;", "&lt;", "&gt;")


def _safe_cut(text: str, length: int) -> str:
    """`text[:length]`, moved back so that it does not end inside an `&amp;`-style
    entity or inside a `<…>` Slack token (mention, link) of already-escaped text."""
    head = text[:length]
    amp = head.rfind("&")
    if amp != -1 and any(
        text.startswith(entity, amp) and amp + len(entity) > length for entity in _ENTITIES
    ):
        head = head[:amp]
    less = head.rfind("<")
    if less != -1 and ">" not in head[less:] and text.find(">", less) != -1:
        head = head[:less]
    return head


# ---------------------------------------------------------------------------
# Templates

_ESCAPERS: dict[str, Callable[[object], str]] = {
    ".mrkdwn.j2": escape_mrkdwn,
    ".md.j2": escape_markdown,
    ".txt.j2": str,
}


def escaper_for(template_name: str | None) -> Callable[[object], str]:
    for suffix, escaper in _ESCAPERS.items():
        if template_name and template_name.endswith(suffix):
            return escaper
    raise ValueError(
        f"template {template_name!r}: name it *.mrkdwn.j2, *.md.j2 or *.txt.j2 so its "
        "escaping is known"
    )


@pass_context
def _lines(context, value) -> Trusted:
    """Multi-line user text, escaped, keeping its line breaks in the template's kind."""
    escaper = escaper_for(context.name)
    if escaper is escape_markdown:
        return markdown_lines(value)
    return Trusted(escaper(str(value).strip()))


@pass_context
def _finalize(context, value):
    if value is None:
        return ""
    if isinstance(value, Trusted):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return escaper_for(context.name)(value)


def make_environment(loader: BaseLoader | None = None) -> Environment:
    """The Jinja2 environment of blocks/templates (or of `loader`, for tests), escaping
    every output by the template's kind."""
    environment = Environment(
        loader=loader or PackageLoader("blocks", "templates"),
        autoescape=False,  # HTML escaping is wrong for Slack and Markdown: see above
        finalize=_finalize,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters["clip"] = truncate
    environment.filters["lines"] = _lines
    environment.filters["trusted"] = Trusted
    return environment


@lru_cache(maxsize=1)
def environment() -> Environment:
    return make_environment()


def render(template_name: str, **data) -> str:
    """Render blocks/templates/`template_name` with `data`, every output escaped."""
    escaper_for(template_name)  # fail before rendering on an unknown kind
    return environment().get_template(template_name).render(**data)
