"""The people of a plan in a plan file: its key stakeholders and who owns each objective.

    plans:
      - …
        strategies:
          - objectives:
              - …, owner: U0123ABCD, stakeholders: [Ada Obi, Ben Cole]
        stakeholders:
          - name, title, side (customer | ours), slack_user, role, influence, stance,
            reports_to (another stakeholder's name), last_contact_on, notes

Stakeholders are referred to by name (`reports_to`, an objective's `stakeholders`); a
name referred to must belong to one stakeholder of the plan. They are checked with the
rules of storage/stakeholders.py (the form's), `reports_to` never closes a loop, and
export writes them in position order leaving out empty values and `side: customer`.
A plan file is the team's: it carries the assessments (role, influence, stance).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, selectinload

from storage.bulk import insert_rows
from storage.domain import STAKEHOLDERS_MAX, StakeholderSide
from storage.errors import ValidationError
from storage.models import ObjectiveStakeholder, Stakeholder
from storage.plans import clean_user_id
from storage.stakeholders import StakeholderInput, stakeholder_fields

STAKEHOLDER_KEYS = ("name", "title", "side", "slack_user", "role", "influence", "stance", "reports_to",
                    "last_contact_on", "notes")


# ---------------------------------------------------------------------------
# Checking (field paths relative to the plan entry; the caller prefixes them)


def check_stakeholders(raw: Any, date_of) -> tuple[list[dict], list[str | None], dict[str, int]]:
    """The plan's `stakeholders` list checked: (columns of each, the name each reports
    to, {name referred to: its index}). `date_of(entry, key)` reads a date as the plan
    file's other dates are read."""
    if raw is None:
        return [], [], {}
    if not isinstance(raw, list):
        raise ValidationError("stakeholders", "must be a list")
    if len(raw) > STAKEHOLDERS_MAX:  # as storage.stakeholders.add_stakeholder
        raise ValidationError(f"stakeholders[{STAKEHOLDERS_MAX}]",
                              f"a plan holds at most {STAKEHOLDERS_MAX} stakeholders")
    columns, bosses = [], []
    for index, entry in enumerate(raw):
        where = f"stakeholders[{index}]"
        if not isinstance(entry, dict):
            raise ValidationError(where, "must be a mapping of fields")
        for key in entry:
            if key not in STAKEHOLDER_KEYS:
                raise ValidationError(f"{where}.{key}", f"unknown field (expected one of {', '.join(STAKEHOLDER_KEYS)})")
        texts = {key: entry.get(key) for key in ("name", "title", "side", "slack_user", "role", "influence",
                                                  "stance", "reports_to", "notes")}
        for key, value in texts.items():
            if value is not None and not isinstance(value, str):
                raise ValidationError(f"{where}.{key}", "must be text (put it in quotes)")
        try:
            day = date_of(entry, "last_contact_on")
        except ValidationError as error:
            raise ValidationError(f"{where}.{error.field}", error.message) from None
        errors, fields = stakeholder_fields(StakeholderInput(
            name=texts["name"] or "", title=texts["title"] or "", side=texts["side"],
            slack_user_id=texts["slack_user"], role=texts["role"], influence=texts["influence"],
            stance=texts["stance"], last_contact_on=day, notes=texts["notes"] or ""))
        if errors.errors:
            field, message = next(iter(errors.errors.items()))
            raise ValidationError(f"{where}.{field}", message)
        columns.append(fields)
        bosses.append((texts["reports_to"] or "").strip() or None)
    names: dict[str, list[int]] = {}
    for index, fields in enumerate(columns):
        names.setdefault(fields["name"], []).append(index)
    index_of = {}
    for index, boss in enumerate(bosses):
        if boss is not None:
            index_of[boss] = _one(names, boss, f"stakeholders[{index}].reports_to")
    _no_loops(bosses, index_of)
    return columns, bosses, index_of


def _one(names: dict[str, list[int]], name: str, where: str) -> int:
    found = names.get(name, [])
    if not found:
        raise ValidationError(where, f"no stakeholder of this plan is named “{name}”")
    if len(found) > 1:
        raise ValidationError(where, f"{len(found)} stakeholders are named “{name}”: name them apart to refer to one")
    return found[0]


def _no_loops(bosses: list[str | None], index_of: dict[str, int]) -> None:
    for start in range(len(bosses)):
        seen = {start}
        current = bosses[start]
        while current is not None:
            boss = index_of[current]
            if boss in seen:
                raise ValidationError(f"stakeholders[{start}].reports_to", "makes a loop of people reporting to each other")
            seen.add(boss)
            current = bosses[boss]


def check_objective_people(raw: dict, columns: Sequence[dict]) -> tuple[str | None, list[str]]:
    """An objective's `owner` (a Slack user id or none) and `stakeholders` (names of the
    plan's stakeholders, `columns` as check_stakeholders gave them)."""
    owner = raw.get("owner")
    if owner is not None and not isinstance(owner, str):
        raise ValidationError("owner", "must be a Slack user id such as U0123ABCD")
    owner = clean_user_id(owner, "owner", required=False)
    people = raw.get("stakeholders")
    if people is None:
        return owner, []
    if not isinstance(people, list):
        raise ValidationError("stakeholders", "must be a list")
    names: dict[str, list[int]] = {}
    for index, fields in enumerate(columns):
        names.setdefault(fields["name"], []).append(index)
    result = []
    for index, name in enumerate(people):
        if not isinstance(name, str):
            raise ValidationError(f"stakeholders[{index}]", "must be a stakeholder's name")
        _one(names, name.strip(), f"stakeholders[{index}]")
        if name.strip() not in result:
            result.append(name.strip())
    return owner, result


# ---------------------------------------------------------------------------
# Writing (an import batch: the plans and their objectives are written already)


def write_stakeholders(session: Session, team_id: str, stamp: dict, plans: Sequence[tuple[int, Any]],
                       objective_people: Sequence[tuple[int, int, list[str]]]) -> None:
    """`plans`: (plan id, checked plan with `stakeholders` and `bosses`);
    `objective_people`: (plan id, objective id, names). A few statements per batch."""
    rows = [{**columns, **stamp, "team_id": team_id, "plan_id": plan_id, "position": position, "reports_to_id": None}
            for plan_id, checked in plans for position, columns in enumerate(checked.stakeholders)]
    if not rows:
        return
    ids = insert_rows(session, Stakeholder, rows, ids=True, parent="plan_id")
    id_of = {(row["plan_id"], row["position"]): new_id for row, new_id in zip(rows, ids)}
    by_name = {(plan_id, columns["name"]): id_of[(plan_id, position)]
               for plan_id, checked in plans for position, columns in enumerate(checked.stakeholders)}
    bosses = [dict(stakeholder=id_of[(plan_id, position)], boss=by_name[(plan_id, boss)])
              for plan_id, checked in plans for position, boss in enumerate(checked.bosses) if boss]
    if bosses:
        table = Stakeholder.__table__
        session.execute(table.update().where(table.c.id == bindparam("stakeholder"))
                        .values(reports_to_id=bindparam("boss")), bosses)
    insert_rows(session, ObjectiveStakeholder, [
        dict(objective_id=objective_id, stakeholder_id=by_name[(plan_id, name)], team_id=team_id)
        for plan_id, objective_id, names in objective_people for name in names])


# ---------------------------------------------------------------------------
# Export


def plan_people(session: Session, team_id: str, plan_id: int) -> tuple[list[dict], dict[int, list[str]]]:
    """(the plan's `stakeholders` entries, {objective id: names of its stakeholders}) for
    export: two queries."""
    stakeholders = list(session.scalars(
        select(Stakeholder).where(Stakeholder.team_id == team_id, Stakeholder.plan_id == plan_id)
        .order_by(Stakeholder.position, Stakeholder.id).options(selectinload(Stakeholder.objectives))
    ))
    names = {s.id: s.name for s in stakeholders}
    entries, linked = [], {}
    for s in stakeholders:
        entry: dict[str, Any] = {"name": s.name}
        for key, value in (("title", s.title),
                           ("side", None if s.side == StakeholderSide.CUSTOMER else s.side.value),
                           ("slack_user", s.slack_user_id), ("role", s.role and s.role.value),
                           ("influence", s.influence and s.influence.value), ("stance", s.stance and s.stance.value),
                           ("reports_to", names.get(s.reports_to_id)), ("last_contact_on", s.last_contact_on),
                           ("notes", s.notes)):
            if value not in (None, ""):
                entry[key] = value
        entries.append(entry)
        for objective in s.objectives:
            linked.setdefault(objective.id, []).append(s.name)
    return entries, linked
