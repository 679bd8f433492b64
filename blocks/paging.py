"""Paging a modal's body: cutting a list of blocks into pages that each fit a modal's
100 blocks with the same header on every page, and the "Previous page" / "Next page"
pager under them. Used by the plan view and its SWOT view."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from blocks.ids import Action
from blocks.inputs import MODAL_BLOCKS_MAX
from blocks.kit import actions, button, context

PAGE_PAGER_BLOCKS = 2  # the pager's actions + context


@dataclass(frozen=True)
class Page:
    number: int  # 0-based
    count: int


class Entry(NamedTuple):
    """One block of a paged body: its group (a strategy's index, -1 for none), how to
    build it, and the action item it shows (None for other blocks): a page's item ids
    are known before any item is, so a big plan's view loads only that page's items."""
    group: int
    build: Callable[[], dict[str, Any]]
    item_id: int | None = None


def pager(plan_id: int, page: Page) -> list[dict[str, Any]]:
    if page.count <= 1:
        return []
    buttons = []
    if page.number > 0:
        buttons.append(button("Previous page", Action.PREVIOUS_PAGE, f"{plan_id}:{page.number - 1}"))
    if page.number < page.count - 1:
        buttons.append(button("Next page", Action.NEXT_PAGE, f"{plan_id}:{page.number + 1}"))
    return [actions(*buttons, block_id="pager"), context(f"Page {page.number + 1} of {page.count}")]


def paginate(
    head: list[dict[str, Any]],
    body: list[Entry],
    tail: list[dict[str, Any]],
    continued,
    *,
    limit: int = MODAL_BLOCKS_MAX,
) -> list[list[Entry]]:
    """Cut `body` into pages that fit `limit` with `head` on each and `tail` (blocks)
    at the end. A page that starts inside a group (a strategy) gets `continued(group)`
    first. Returns each page's entries.
    """
    room = limit - len(head) - PAGE_PAGER_BLOCKS - 1  # 1: a "continued" line
    pages: list[list[Entry]] = []
    current: list[Entry] = []
    last_group = None
    for entry in body:
        if len(current) >= room:
            pages.append(current)
            starts_inside = continued is not None and entry.group == last_group and entry.group >= 0
            current = [Entry(entry.group, lambda g=entry.group: continued(g))] if starts_inside else []
        current.append(entry)
        last_group = entry.group
    if tail and len(current) + len(tail) > room + 1:
        pages.append(current)
        current = []
    current += [Entry(-1, lambda b=block: b) for block in tail]
    pages.append(current)
    return pages


def build_page(page: list[Entry]) -> list[dict[str, Any]]:
    return [entry.build() for entry in page]
