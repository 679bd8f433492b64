"""The names storage/ and blocks/ share: statuses, kinds, field limits, choice lists.

A leaf: it imports nothing of the project, so blocks/ (which never queries) may import
it as freely as storage/ does, and a form's limits and choices are the very ones the
operations check. Nothing here touches a database.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

@dataclass(frozen=True)
class Actor:
    """Who acts: the plan's workspace and the person.

    `external` is true for a person whose own organisation is not this workspace (a
    customer in a Slack Connect channel), or whose organisation could not be checked.
    Such a person never changes or copies a plan and only ever reads its customer view.
    """

    team_id: str
    user_id: str
    external: bool = False


# Field sizes, chosen to fit Slack's input and display limits (plain_text_input
# max_length, section text 3000, option text 75 for titles shown in menus after
# truncation).
NAME_MAX = 150
TITLE_MAX = 255
TEXT_MAX = 3000
SLACK_ID_MAX = 32


class PlanStatus(enum.StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    COMPLETED = "completed"
    ARCHIVED = "archived"


class ItemStatus(enum.StrEnum):
    OPEN = "open"
    DONE = "done"


class SwotKind(enum.StrEnum):
    STRENGTH = "strength"
    WEAKNESS = "weakness"
    OPPORTUNITY = "opportunity"
    THREAT = "threat"


class Audience(enum.StrEnum):
    """Who may read what we publish: the team sees everything; a channel shared with
    another organisation (a customer) never sees SWOT or team-only items."""

    TEAM = "team"
    EXTERNAL = "external"


class DigestFrequency(enum.StrEnum):
    WEEKLY = "weekly"
    BIWEEKLY = "biweekly"
    MONTHLY = "monthly"
    NONE = "none"  # only after each QBR


# Reminder lead times a plan may choose (days before the due date; 0: on the day).
DEFAULT_LEAD_DAYS = 1
LEAD_DAY_CHOICES = (0, 1, 2, 3, 5, 7, 14)

SUBSCRIPTIONS_MAX = 20  # digest channels per plan (each is a line in the settings modal)

# Labels people read in forms, for each value above.
PLAN_STATUS_LABELS = {PlanStatus.DRAFT: "Draft", PlanStatus.ACTIVE: "Active",
                      PlanStatus.COMPLETED: "Completed", PlanStatus.ARCHIVED: "Archived"}
SWOT_KIND_LABELS = {SwotKind.STRENGTH: "Strength", SwotKind.WEAKNESS: "Weakness",
                    SwotKind.OPPORTUNITY: "Opportunity", SwotKind.THREAT: "Threat"}
FREQUENCY_LABELS = {DigestFrequency.WEEKLY: "Weekly", DigestFrequency.BIWEEKLY: "Every two weeks",
                    DigestFrequency.MONTHLY: "Monthly (first weekday of the month)",
                    DigestFrequency.NONE: "None (only after each QBR)"}


def lead_days_label(days: int) -> str:
    if days == 0:
        return "On the due date"
    if days % 7 == 0:
        weeks = days // 7
        return f"{weeks} week{'s' if weeks > 1 else ''} before"
    return f"{days} day{'s' if days > 1 else ''} before"
