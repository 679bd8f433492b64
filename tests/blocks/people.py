"""Stakeholders, health and check-in inputs as plain objects (blocks never queries)."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field
from types import SimpleNamespace

from storage.domain import (
    HealthPart,
    Influence,
    PlanHealth,
    StakeholderRole,
    StakeholderSide,
    Stance,
)

_ids = itertools.count(10_000)


@dataclass
class Person:
    """Shaped like storage's Stakeholder."""

    name: str
    title: str = ""
    side: StakeholderSide = StakeholderSide.CUSTOMER
    slack_user_id: str | None = None
    role: StakeholderRole | None = None
    influence: Influence | None = None
    stance: Stance | None = None
    reports_to_id: int | None = None
    last_contact_on: dt.date | None = None
    notes: str = ""
    objectives: list = field(default_factory=list)
    id: int = field(default_factory=lambda: next(_ids))


def tree_of(people: list[Person]) -> list[tuple[Person, int]]:
    """[(person, depth)]: roots first, each one's reports under them (as storage's
    stakeholder_tree orders them)."""
    children: dict[int | None, list[Person]] = {}
    for person in people:
        children.setdefault(person.reports_to_id, []).append(person)
    out: list[tuple[Person, int]] = []

    def walk(parent: int | None, depth: int) -> None:
        for person in children.get(parent, []):
            out.append((person, depth))
            walk(person.id, depth + 1)

    walk(None, 0)
    return out


def org_chart(today: dt.date) -> list[tuple[Person, int]]:
    """A CMO (sponsor) with a pharmacy director under her and a buyer under him, and our
    own account manager."""
    cmo = Person("Dr. Jane Smith", "Chief Medical Officer", role=StakeholderRole.SPONSOR,
                 influence=Influence.HIGH, stance=Stance.SUPPORTER,
                 last_contact_on=today - dt.timedelta(days=10))
    pharmacy = Person("Raj Patel", "Director of Pharmacy", role=StakeholderRole.DECISION_MAKER,
                      influence=Influence.MEDIUM, stance=Stance.NEUTRAL, reports_to_id=cmo.id,
                      last_contact_on=today - dt.timedelta(days=60))
    buyer = Person("Lee Wong", "Buyer", role=StakeholderRole.BLOCKER, stance=Stance.OPPONENT,
                   reports_to_id=pharmacy.id)
    ours = Person("Sam Seller", "Account manager", side=StakeholderSide.OURS, slack_user_id="USAM",
                  last_contact_on=today)
    return tree_of([cmo, pharmacy, buyer, ours])


def health(score: int = 72, stale: frozenset[int] = frozenset()) -> PlanHealth:
    return PlanHealth(score, (
        HealthPart("Objectives updated in the last 30 days", 15, 25, "3 of 5 objectives"),
        HealthPart("Overdue action items", 20, 20, "none overdue"),
        HealthPart("Progress against time elapsed", 12, 20, "40% done, 66% of the time gone"),
        HealthPart("Stakeholder coverage", 13, 20, "no champion named"),
        HealthPart("A QBR in the last 90 days", 12, 15, "last QBR 2 Mar 2026"),
    ), stale)


def plan_ref(plan_id: int, name: str) -> SimpleNamespace:
    return SimpleNamespace(id=plan_id, name=name)
