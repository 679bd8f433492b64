"""A plan's health (storage/domain.PlanHealth) as people read it.

- `health_headline`: "Health 72/100 · Needs attention", the plan header's line;
- `health_parts`: each part with its points, e.g. "Objectives updated in the last
  30 days 15/25 (3 of 5 objectives)";
- `health_figure`: the compact figure of a list row, App Home and digests
  (":large_yellow_circle: health 72").

Health is the team's own reading of a plan (it counts stakeholder coverage): it is shown
to the team only, never in a customer view or a customer channel.
"""

from __future__ import annotations

from typing import Any

from blocks.kit import context, esc
from storage.domain import PlanHealth

MARKS = {"Healthy": ":large_green_circle:", "Needs attention": ":large_yellow_circle:",
         "At risk": ":red_circle:"}
PART_TEXT_MAX = 300


def health_headline(health: PlanHealth) -> str:
    return f"{MARKS.get(health.label, '')} *Health {health.score}/100 · {health.label}*".strip()


def health_parts(health: PlanHealth) -> list[str]:
    """One mrkdwn line per part (our words, escaped anyway: storage writes them)."""
    lines = []
    for part in health.parts:
        line = f"{esc(part.name, 120)} *{part.points}/{part.max_points}*"
        if part.detail:
            line += f" ({esc(part.detail, 150)})"
        lines.append(line)
    return lines


def health_figure(health: PlanHealth | None) -> str:
    """" · :large_yellow_circle: health 72" for a list row; "" without a health."""
    if health is None:
        return ""
    return f" · {MARKS.get(health.label, '')} health {health.score}".replace("  ", " ")


def health_blocks(health: PlanHealth) -> list[dict[str, Any]]:
    """The plan header's health: the headline, then its parts (one context block)."""
    return [context(health_headline(health), "\n".join(health_parts(health)), block_id="health")]
