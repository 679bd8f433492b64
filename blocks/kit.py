"""Small builders on top of slack_sdk's Block Kit models.

slack_sdk validates most limits as it serialises (and raises rather than letting Slack
reject a payload); these helpers add what it leaves to us: escaping user text for
mrkdwn, `verbatim: true` so nothing in it is auto-linked into a mention, and
truncating user text to the limits of the place it goes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    Option,
    OverflowMenuElement,
    PlainTextObject,
)

from blocks.text import escape_mrkdwn, truncate

SECTION_TEXT_MAX = 3000
OPTION_TEXT_MAX = 75
HEADER_MAX = 150
CONTEXT_ELEMENT_MAX = 2000
BLOCK_ID_MAX = 255


def esc(text: str | None, limit: int | None = None) -> str:
    """User text made safe for mrkdwn (optionally shortened first, so no entity is cut)."""
    text = text or ""
    if limit is not None:
        text = truncate(text, limit)
    return escape_mrkdwn(text)


def mrkdwn(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=truncate(text, SECTION_TEXT_MAX), verbatim=True)


def plain(text: str, limit: int) -> PlainTextObject:
    return PlainTextObject(text=truncate(text or " ", limit), emoji=True)


def section(text: str, *, block_id: str | None = None, accessory=None) -> dict[str, Any]:
    """A mrkdwn section (text cut to the section limit) with an optional accessory (an
    element model, validated as it is written out, or a dict one of these builders made).

    Written as a dict, not through SectionBlock: the model parsed a dict accessory back
    into a model and wrote it out again, 0.1-0.2 ms a section, a third of a big plan
    page's CPU. What the model checked is checked here: the text limit, and the
    block_id's (255); tests validate every payload against Block Kit limits.
    """
    block: dict[str, Any] = {"type": "section", "text": _mrkdwn_dict(text)}
    if block_id is not None:
        if len(block_id) > BLOCK_ID_MAX:
            raise ValueError(f"block_id longer than {BLOCK_ID_MAX} characters")
        block["block_id"] = block_id
    if accessory is not None:
        block["accessory"] = accessory if isinstance(accessory, dict) else accessory.to_dict()
    return block


def _mrkdwn_dict(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": truncate(text, SECTION_TEXT_MAX), "verbatim": True}


def context(*texts: str, block_id: str | None = None) -> dict[str, Any]:
    elements = [mrkdwn(truncate(t, CONTEXT_ELEMENT_MAX)) for t in texts if t][:10]
    return ContextBlock(elements=elements, block_id=block_id).to_dict()


def header(text: str, *, block_id: str | None = None) -> dict[str, Any]:
    return HeaderBlock(text=plain(text, HEADER_MAX), block_id=block_id).to_dict()


def divider() -> dict[str, Any]:
    return {"type": "divider"}


def button(
    text: str,
    action_id: str,
    value: str = "",
    *,
    style: str | None = None,
    confirm: ConfirmObject | None = None,
) -> ButtonElement:
    return ButtonElement(
        text=plain(text, 75),
        action_id=action_id,
        value=value or None,
        style=style,
        confirm=confirm,
    )


def actions(*elements, block_id: str | None = None) -> dict[str, Any]:
    return ActionsBlock(elements=[e for e in elements if e is not None][:25], block_id=block_id).to_dict()


def option(label: str, value: str) -> Option:
    return Option(value=value, text=plain(label, OPTION_TEXT_MAX))


def overflow(action_id: str, choices: Sequence[tuple[str, str]]) -> OverflowMenuElement:
    """An overflow menu of (label, value) pairs: at most 5 options."""
    return OverflowMenuElement(action_id=action_id, options=[option(l, v) for l, v in choices][:5])


@lru_cache(maxsize=64)
def _record_menu_template(action_id: str, choices: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    return overflow(action_id, [(label, f"{verb}:{{id}}") for label, verb in choices]).to_dict()


def record_menu(action_id: str, choices: Sequence[tuple[str, str]], record_id: int) -> dict[str, Any]:
    """The same overflow menu for many records ((label, verb) pairs, values "verb:id").

    Built and validated once through slack_sdk, then stamped with each record's id:
    validating 85 identical menus cost most of a big plan page's time.
    """
    template = _record_menu_template(action_id, tuple(choices))
    options = [{**o, "value": o["value"].replace("{id}", str(record_id))} for o in template["options"]]
    return {**template, "options": options}


def confirm(title: str, text: str, yes: str, *, danger: bool = True) -> ConfirmObject:
    return ConfirmObject(
        title=plain(title, 100),
        text=mrkdwn(text),
        confirm=plain(yes, 30),
        deny=plain("Cancel", 30),
        style="danger" if danger else None,
    )


def user(user_id: str | None) -> str:
    """A Slack user mention; Slack renders the name. Ids are ours, not user text."""
    if not user_id:
        return "_unassigned_"
    return f"<@{user_id}>" if user_id.isalnum() else esc(user_id)


def day(value: dt.date | None) -> str:
    return value.strftime("%-d %b %Y") if value else "no date"


def progress_bar(percent: int, width: int = 10) -> str:
    filled = max(0, min(width, round(percent * width / 100)))
    return "▰" * filled + "▱" * (width - filled)
