"""Ephemeral answers to one person: plan lists, "which plan?", my action items."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from blocks.health import health_figure
from blocks.ids import Action
from blocks.kit import button, context, day, esc, section, user
from blocks.plan_view import item_line
from storage.domain import PlanHealth

MESSAGE_BLOCKS_MAX = 50
LIST_MAX = 20  # plans or items in one message: 2 blocks of room each, under 50


def message(text: str, blocks: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A message payload: `text` is the notification fallback, escaped like the rest."""
    payload: dict[str, Any] = {"text": text}
    if blocks is not None:
        payload["blocks"] = blocks[:MESSAGE_BLOCKS_MAX]
    return payload


def notice(text: str) -> dict[str, Any]:
    """A short plain answer (errors, confirmations). `text` must be escaped already."""
    return message(text, [section(text)])


def plan_line(plan, progress, health: PlanHealth | None = None) -> str:
    """A plan in a list: name, account, status, dates, owner, progress, and the compact
    health figure when `health` is given (team lists only)."""
    share = f" · {progress.percent}% done" if progress and progress.total else ""
    return (
        f"*{esc(plan.name)}*\n{esc(plan.account.name)} · {plan.status.value.capitalize()}"
        f" · {day(plan.start_date)} – {day(plan.end_date)} · owner {user(plan.owner_id)}{share}"
        f"{health_figure(health)}"
    )


def plan_list(
    title: str,
    plans: Sequence[Any],
    progress: dict[int, Any],
    *,
    more: int = 0,
    more_at_least: bool = False,
    empty: str = "No plans yet. Create one with `/accountplan new`.",
    health: Mapping[int, PlanHealth] | None = None,
) -> dict[str, Any]:
    """`health` ({plan id: PlanHealth}) adds each plan's compact health figure.
    `more_at_least`: `more` is a floor (the count stopped there), shown as "980+"."""
    if not plans:
        return notice(empty)
    health = health or {}
    blocks = [section(f"*{esc(title)}*")]
    for plan in plans[:LIST_MAX]:
        blocks.append(section(plan_line(plan, progress.get(plan.id), health.get(plan.id)),
                              accessory=button("Open", Action.OPEN_PLAN, str(plan.id))))
    if more:
        counted = f"{more:,}+" if more_at_least else f"{more:,}"
        blocks.append(context(f"…and {counted} more. Narrow the list: `/accountplan list ACCOUNT`."))
    return message(f"{esc(title)}: {len(plans)} plans", blocks)


def plan_choices(query: str, plans: Sequence[Any]) -> dict[str, Any]:
    """Several plans match what someone typed: let them pick one."""
    blocks = [section(f"Several plans match “{esc(query, 200)}”. Which one?")]
    for plan in plans[:LIST_MAX]:
        blocks.append(section(plan_line(plan, None),
                              accessory=button("Open", Action.OPEN_PLAN, str(plan.id))))
    return message(f"Several plans match {esc(query, 200)}", blocks)


def open_item_block(item, plan_name: str, *, today: dt.date | None = None) -> dict[str, Any]:
    """One of a person's open action items, under its plan's name, with "Mark done"
    (`/accountplan mine` and App Home)."""
    return section(
        f"{item_line(item, today=today)}\n_{esc(plan_name, 200)}_",
        accessory=button("Mark done", Action.MARK_DONE, str(item.id), style="primary"),
    )


def my_items(
    items: Sequence[tuple[Any, str]], *, today: dt.date, more: int = 0
) -> dict[str, Any]:
    """(item, plan name) pairs, overdue first, each with "Mark done"."""
    if not items:
        return notice("You have no open action items. :tada:")
    blocks = [section("*Your open action items*")]
    blocks += [open_item_block(item, plan_name, today=today) for item, plan_name in items[:LIST_MAX]]
    if more:
        blocks.append(context(f"…and {more} more on your App Home."))
    return message(f"You have {len(items)} open action items", blocks)
