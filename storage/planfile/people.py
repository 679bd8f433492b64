"""The people of a plan in a plan file: its key stakeholders and who owns each objective.

    plans:
      - …
        strategies:
          - objectives:
              - …, owner: U0123ABCD, stakeholders: [Ada Obi, Ben Cole]
        stakeholders:
          - name, title, side (customer | ours), slack_user, role, influence, stance,
            reports_to (another stakeholder's name), last_contact_on, notes

Stakeholders are referred to by name (`reports_to`, an objective's `stakeholders`, an
action item's `customer_contact`). A plan may hold two people of the same name (two
John Smiths at the customer): such a name cannot say which one is meant, so each of
them carries a `ref` in the file (export writes "John Smith (2)" for the second of that
name, never another stakeholder's name or ref) and references use it; a reference is a
`ref` if one matches, else a name that must belong to exactly one stakeholder. A file
that refers by name to a name two stakeholders share is refused, the error naming the
duplicate and asking for a `ref`. (Refs rather than refusing such plans outright:
the app lets a plan hold two people of one name, and its export must import again.)
They are checked with the rules of storage/stakeholders.py (the form's), `reports_to`
never closes a loop, and export writes them in position order leaving out empty
values and `side: customer`. A plan file is the team's: it carries the assessments
(role, influence, stance).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, selectinload

from storage.bulk import insert_rows
from storage.customer_items import NOT_A_CONTACT, NOT_ON_TEAM
from storage.domain import STAKEHOLDERS_MAX, StakeholderSide
from storage.errors import ValidationError
from storage.models import ObjectiveStakeholder, Stakeholder
from storage.plans import clean_user_id
from storage.stakeholders import StakeholderInput, stakeholder_fields

STAKEHOLDER_KEYS = ("name", "ref", "title", "side", "slack_user", "role", "influence", "stance", "reports_to",
                    "last_contact_on", "notes")


@dataclass
class PlanStakeholders:
    """A plan's `stakeholders` checked: the columns of each (file order), the index of
    whom each reports to, and how references find them (`find`)."""

    columns: list[dict] = field(default_factory=list)
    bosses: list[int | None] = field(default_factory=list)
    refs: dict[str, int] = field(default_factory=dict)
    names: dict[str, list[int]] = field(default_factory=dict)

    def find(self, reference: str, where: str) -> int:
        """The index of the stakeholder `reference` (a ref, else a name) means."""
        reference = reference.strip()
        if reference in self.refs:
            return self.refs[reference]
        found = self.names.get(reference, [])
        if not found:
            raise ValidationError(where, f"no stakeholder of this plan is named “{reference}”")
        if len(found) > 1:
            raise ValidationError(where, f"{len(found)} stakeholders are named “{reference}”: give each of them "
                                         f"a `ref` (such as “{reference} (2)”) and refer to that")
        return found[0]


# ---------------------------------------------------------------------------
# Checking (field paths relative to the plan entry; the caller prefixes them)


def check_stakeholders(raw: Any, date_of) -> PlanStakeholders:
    """The plan's `stakeholders` list checked (see PlanStakeholders). `date_of(entry,
    key)` reads a date as the plan file's other dates are read."""
    result = PlanStakeholders()
    if raw is None:
        return result
    if not isinstance(raw, list):
        raise ValidationError("stakeholders", "must be a list")
    if len(raw) > STAKEHOLDERS_MAX:  # as storage.stakeholders.add_stakeholder
        raise ValidationError(f"stakeholders[{STAKEHOLDERS_MAX}]",
                              f"a plan holds at most {STAKEHOLDERS_MAX} stakeholders")
    bosses, refs = [], []
    for index, entry in enumerate(raw):
        where = f"stakeholders[{index}]"
        if not isinstance(entry, dict):
            raise ValidationError(where, "must be a mapping of fields")
        for key in entry:
            if key not in STAKEHOLDER_KEYS:
                raise ValidationError(f"{where}.{key}", f"unknown field (expected one of {', '.join(STAKEHOLDER_KEYS)})")
        texts = {key: entry.get(key) for key in ("name", "ref", "title", "side", "slack_user", "role", "influence",
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
            field_name, message = next(iter(errors.errors.items()))
            raise ValidationError(f"{where}.{field_name}", message)
        result.columns.append(fields)
        bosses.append((texts["reports_to"] or "").strip() or None)
        refs.append((texts["ref"] or "").strip() or None)
    for index, fields in enumerate(result.columns):
        result.names.setdefault(fields["name"], []).append(index)
    for index, ref in enumerate(refs):
        if ref is None:
            continue
        where = f"stakeholders[{index}].ref"
        if ref in result.refs:
            raise ValidationError(where, f"“{ref}” is the ref of stakeholders[{result.refs[ref]}] already")
        if any(other != index for other in result.names.get(ref, ())):
            raise ValidationError(where, f"“{ref}” is another stakeholder's name: choose a ref no one is named")
        result.refs[ref] = index
    result.bosses = [None if boss is None else result.find(boss, f"stakeholders[{index}].reports_to")
                     for index, boss in enumerate(bosses)]
    _no_loops(result.bosses)
    return result


def _no_loops(bosses: list[int | None]) -> None:
    for start in range(len(bosses)):
        seen = {start}
        boss = bosses[start]
        while boss is not None:
            if boss in seen:
                raise ValidationError(f"stakeholders[{start}].reports_to", "makes a loop of people reporting to each other")
            seen.add(boss)
            boss = bosses[boss]


def check_objective_people(raw: dict, stakeholders: PlanStakeholders) -> tuple[str | None, list[int]]:
    """An objective's `owner` (a Slack user id or none) and `stakeholders` (references
    to the plan's stakeholders: their indices, each once)."""
    owner = raw.get("owner")
    if owner is not None and not isinstance(owner, str):
        raise ValidationError("owner", "must be a Slack user id such as U0123ABCD")
    owner = clean_user_id(owner, "owner", required=False)
    people = raw.get("stakeholders")
    if people is None:
        return owner, []
    if not isinstance(people, list):
        raise ValidationError("stakeholders", "must be a list")
    result: list[int] = []
    for index, name in enumerate(people):
        if not isinstance(name, str):
            raise ValidationError(f"stakeholders[{index}]", "must be a stakeholder's name")
        found = stakeholders.find(name, f"stakeholders[{index}]")
        if found not in result:
            result.append(found)
    return owner, result


def check_customer_owner(raw: dict, people) -> dict:
    """An item's `customer_contact` (a reference to a customer-side stakeholder of the
    plan without Slack: its index, written as its id) and `follow_up` (the owner or one
    of the team), as the item form checks them (storage/customer_items.py). For a
    contact, the follow-up owner is the item's assignee: `assignee`, if given, must be
    them; without `follow_up`, the assignee, else who imports, else the plan's owner."""
    follow_up = clean_user_id(_text_of(raw, "follow_up"), "follow_up", required=False)
    if follow_up and follow_up != people.owner and follow_up not in people.team:
        raise ValidationError("follow_up", NOT_ON_TEAM)
    reference = _text_of(raw, "customer_contact")
    if reference is None or not reference.strip():
        return dict(follow_up_id=follow_up, customer_contact=None)
    contact = people.stakeholders.find(reference, "customer_contact")
    columns = people.stakeholders.columns[contact]
    if columns["side"] != StakeholderSide.CUSTOMER or columns["slack_user_id"] is not None:
        raise ValidationError("customer_contact", NOT_A_CONTACT)
    assignee = clean_user_id(_text_of(raw, "assignee"), "assignee", required=False)
    if assignee and follow_up and assignee != follow_up:
        raise ValidationError("assignee", "a customer contact's item is assigned to its follow-up owner: "
                                          "give the same user, or leave it out")
    follow_up = follow_up or assignee or people.follow_up
    if follow_up != people.owner and follow_up not in people.team:
        raise ValidationError("follow_up", NOT_ON_TEAM)
    return dict(follow_up_id=follow_up, customer_contact=contact)


def _text_of(raw: dict, key: str) -> str | None:
    value = raw.get(key)
    if value is None or isinstance(value, str):
        return value
    raise ValidationError(key, "must be text (put it in quotes)")


# ---------------------------------------------------------------------------
# Writing (an import batch: the plans and their objectives are written already)


def write_stakeholders(session: Session, team_id: str, stamp: dict, plans: Sequence[tuple[int, Any]],
                       objective_people: Sequence[tuple[int, int, list[int]]]) -> dict[tuple[int, int], int]:
    """`plans`: (plan id, checked plan with `stakeholders` (columns) and `bosses`
    (indices)); `objective_people`: (plan id, objective id, stakeholder indices). A few
    statements per batch. Returns {(plan id, index in the file): new stakeholder id}."""
    rows = [{**columns, **stamp, "team_id": team_id, "plan_id": plan_id, "position": position, "reports_to_id": None}
            for plan_id, checked in plans for position, columns in enumerate(checked.stakeholders)]
    if not rows:
        return {}
    ids = insert_rows(session, Stakeholder, rows, ids=True, parent="plan_id")
    id_of = {(row["plan_id"], row["position"]): new_id for row, new_id in zip(rows, ids)}
    bosses = [dict(stakeholder=id_of[(plan_id, position)], boss=id_of[(plan_id, boss)])
              for plan_id, checked in plans for position, boss in enumerate(checked.bosses) if boss is not None]
    if bosses:
        table = Stakeholder.__table__
        session.execute(table.update().where(table.c.id == bindparam("stakeholder"))
                        .values(reports_to_id=bindparam("boss")), bosses)
    insert_rows(session, ObjectiveStakeholder, [
        dict(objective_id=objective_id, stakeholder_id=id_of[(plan_id, index)], team_id=team_id)
        for plan_id, objective_id, indices in objective_people for index in indices])
    return id_of


# ---------------------------------------------------------------------------
# Export


def references(stakeholders: Sequence[Any]) -> dict[int, str]:
    """{stakeholder id: how the file refers to them}: their name, or for people whose
    name another stakeholder of the plan shares, a ref: "Name (n)", n counting those of
    that name in position order, skipped past any other stakeholder's name or ref."""
    counts: dict[str, int] = {}
    for s in stakeholders:
        counts[s.name] = counts.get(s.name, 0) + 1
    taken = set(counts)
    result, seen = {}, {}
    for s in stakeholders:
        if counts[s.name] == 1:
            result[s.id] = s.name
            continue
        n = seen.get(s.name, 0)
        while True:
            n += 1
            ref = f"{s.name} ({n})"
            if ref not in taken:
                break
        seen[s.name] = n
        taken.add(ref)
        result[s.id] = ref
    return result


def plan_people(session: Session, team_id: str,
                plan_id: int) -> tuple[list[dict], dict[int, list[str]], dict[int, str]]:
    """(the plan's `stakeholders` entries, {objective id: references to its
    stakeholders}, {stakeholder id: its reference}: an item's `customer_contact`) for
    export: two queries."""
    stakeholders = plan_stakeholders(session, team_id, plan_id)
    names = references(stakeholders)
    entries, linked = [], {}
    for s in stakeholders:
        entry: dict[str, Any] = {"name": s.name}
        if names[s.id] != s.name:
            entry["ref"] = names[s.id]
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
            linked.setdefault(objective.id, []).append(names[s.id])
    return entries, linked, names


def plan_stakeholders(session: Session, team_id: str, plan_id: int) -> list[Stakeholder]:
    """The plan's stakeholders in position order, with their objectives (one query and
    the objectives' one)."""
    return list(session.scalars(
        select(Stakeholder).where(Stakeholder.team_id == team_id, Stakeholder.plan_id == plan_id)
        .order_by(Stakeholder.position, Stakeholder.id).options(selectinload(Stakeholder.objectives))
    ))
