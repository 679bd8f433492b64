"""The names storage/ and blocks/ share: statuses, kinds, field limits, choice lists.

A leaf: it imports nothing of the project, so blocks/ (which never queries) may import
it as freely as storage/ does, and a form's limits and choices are the very ones the
operations check. Nothing here touches a database.
"""

from __future__ import annotations

import datetime as dt
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
    """Who may read what we publish: the team sees everything; an external audience (a
    channel shared with another organisation, or a person from one) sees an allow-list:
    the strategies, objectives and action items marked "Shared with customer" whose
    parents are shared too, and never SWOT, QBR reviews or stakeholders."""

    TEAM = "team"
    EXTERNAL = "external"


def shown_to_customer(*records) -> bool:
    """Whether an external audience sees a record: it and each of its parents (pass them
    all, e.g. strategy, objective, item) are marked shared with the customer. Anything
    without the mark (SWOT, a review) is not."""
    return all(bool(getattr(record, "shared_with_customer", False)) for record in records)


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


# -- The people behind the plan (stakeholders), objective progress, plan health --------

class StakeholderSide(enum.StrEnum):
    CUSTOMER = "customer"
    OURS = "ours"


class StakeholderRole(enum.StrEnum):
    """Their part in the customer's decision."""

    SPONSOR = "sponsor"
    DECISION_MAKER = "decision_maker"
    CHAMPION = "champion"
    INFLUENCER = "influencer"
    USER = "user"
    BLOCKER = "blocker"


class Influence(enum.StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class Stance(enum.StrEnum):
    SUPPORTER = "supporter"
    NEUTRAL = "neutral"
    OPPONENT = "opponent"


class ObjectiveStatus(enum.StrEnum):
    """How an objective is going, as its owner last said in a progress check-in."""

    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    OFF_TRACK = "off_track"


STAKEHOLDERS_MAX = 200          # per plan: the view pages them, the canvas tables them
STAKEHOLDER_STALE_DAYS = 60     # not contacted for longer: flagged
OBJECTIVE_STALE_DAYS = 30       # no progress update for longer: marked stale
PROGRESS_NOTE_MAX = 200         # the one-line note of a check-in
DEFAULT_CHECKIN_LEAD_DAYS = 5   # progress asked for this many days before the next QBR
CHECKIN_LEAD_DAY_CHOICES = (2, 3, 5, 7, 10, 14)
CHECKIN_REMINDER_WORKING_DAYS = 2  # no answer after this many working days: one reminder

STAKEHOLDER_SIDE_LABELS = {StakeholderSide.CUSTOMER: "Customer", StakeholderSide.OURS: "Ours"}
STAKEHOLDER_ROLE_LABELS = {
    StakeholderRole.SPONSOR: "Sponsor", StakeholderRole.DECISION_MAKER: "Decision maker",
    StakeholderRole.CHAMPION: "Champion", StakeholderRole.INFLUENCER: "Influencer",
    StakeholderRole.USER: "User", StakeholderRole.BLOCKER: "Blocker"}
INFLUENCE_LABELS = {Influence.HIGH: "High", Influence.MEDIUM: "Medium", Influence.LOW: "Low"}
STANCE_LABELS = {Stance.SUPPORTER: "Supporter", Stance.NEUTRAL: "Neutral",
                 Stance.OPPONENT: "Opponent"}
OBJECTIVE_STATUS_LABELS = {ObjectiveStatus.ON_TRACK: "On track",
                           ObjectiveStatus.AT_RISK: "At risk",
                           ObjectiveStatus.OFF_TRACK: "Off track"}


@dataclass(frozen=True)
class HealthPart:
    """One part of a plan's health score: what it measures and the points it earned."""

    name: str       # e.g. "Objectives updated in the last 30 days"
    points: int
    max_points: int
    detail: str     # plain words, e.g. "3 of 5 objectives"


@dataclass(frozen=True)
class PlanHealth:
    """A plan's health, 0-100: the sum of its parts (their max_points add up to 100)."""

    score: int
    parts: tuple[HealthPart, ...]
    stale_objective_ids: frozenset[int] = frozenset()

    @property
    def label(self) -> str:
        return "Healthy" if self.score >= 75 else "Needs attention" if self.score >= 50 else "At risk"


def stakeholder_is_stale(stakeholder, today: dt.date) -> bool:
    """Not contacted for STAKEHOLDER_STALE_DAYS days or more (or never): flagged.
    `stakeholder`: anything with `last_contact_on` (a date or None)."""
    last = stakeholder.last_contact_on
    return last is None or (today - last).days >= STAKEHOLDER_STALE_DAYS


def objective_is_stale(objective, today: dt.date) -> bool:
    """No progress update for OBJECTIVE_STALE_DAYS days or more: marked stale. An
    objective never updated counts from when it was written (a new one is not stale).
    `objective`: anything with `progress_updated_at` and `created_at` (UTC datetimes);
    storage.health counts the same way in SQL."""
    last = objective.progress_updated_at or objective.created_at
    if last is None:
        return True
    return (today - last.astimezone(dt.timezone.utc).date()).days >= OBJECTIVE_STALE_DAYS

