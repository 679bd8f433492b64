"""App Home: my open action items (overdue first) with "Mark done", my plans, "New plan"."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from blocks.ids import Action
from blocks.kit import actions, button, context, divider, header, section
from blocks.messages import open_item_block, plan_line
from storage.domain import PlanHealth

HOME_BLOCKS_MAX = 100
ITEMS_MAX = 40
PLANS_MAX = 30


def home_view(
    items: Sequence[tuple[Any, str]],
    plans: Sequence[Any],
    progress: dict[int, Any],
    *,
    today: dt.date,
    more_items: int = 0,
    more_plans: int = 0,
    summary_muted: bool | None = None,
    health: Mapping[int, PlanHealth] | None = None,
) -> dict[str, Any]:
    """`summary_muted` (None: not shown) adds the weekly summary's on/off button;
    `health` ({plan id: PlanHealth}) each plan's compact health figure."""
    health = health or {}
    toggle = None
    if summary_muted is not None:
        toggle = (button("Unmute weekly summary", Action.UNMUTE_SUMMARY) if summary_muted
                  else button("Mute weekly summary", Action.MUTE_SUMMARY))
    blocks: list[dict[str, Any]] = [
        header("Account plans"),
        actions(button("New plan", Action.NEW_PLAN, style="primary"), toggle, block_id="home_actions"),
    ]
    if summary_muted is not None:
        blocks.append(context(
            "Weekly summary of your open action items: muted." if summary_muted
            else "Weekly summary of your open action items: Mondays at 09:00 your time."))
    blocks.append(header("My open action items"))
    if not items:
        blocks.append(context("Nothing open. :tada:"))
    blocks += [open_item_block(item, plan_name, today=today) for item, plan_name in items[:ITEMS_MAX]]
    if more_items:
        blocks.append(context(f"…and {more_items} more: `/accountplan mine` lists them."))
    blocks += [divider(), header("My plans")]
    if not plans:
        blocks.append(context("You own or share no plan yet: *New plan* starts one."))
    for plan in plans[:PLANS_MAX]:
        blocks.append(section(plan_line(plan, progress.get(plan.id), health.get(plan.id)),
                              accessory=button("Open", Action.OPEN_PLAN, str(plan.id))))
    if more_plans:
        blocks.append(context(f"…and {more_plans} more: `/accountplan list mine` lists them."))
    return {"type": "home", "blocks": blocks[:HOME_BLOCKS_MAX]}
