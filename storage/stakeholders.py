"""Key stakeholders of a plan: who matters at the customer (and on our side), their part
in the decision, how they stand, whom they report to, when we last spoke, and the
objectives we need them for.

Assessments are sensitive, so stakeholders are team-only without exception: a person
from another organisation (`Actor.external`) neither reads nor changes them
(PermissionDenied), and an external audience reads none (`list_stakeholders` returns
nothing for it without a query). Changes are the plan's owner's and team's, like any
other part of the plan, with the plan's rules: every field error of a form at once,
a stale version is a Conflict, and the plan lock orders positions and the org chart
(two saves at once cannot close a loop of "reports to").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam, delete, func, insert, select
from sqlalchemy.orm import Session, selectinload

from storage.domain import (
    NAME_MAX,
    STAKEHOLDERS_MAX,
    TEXT_MAX,
    Actor,
    Audience,
    Influence,
    StakeholderRole,
    StakeholderSide,
    Stance,
)
from storage.errors import Conflict, ValidationError
from storage.models import Objective, ObjectiveStakeholder, Stakeholder, Strategy, utcnow
from storage.plans.permissions import get_editable_plan, require_internal
from storage.plans.reads import get_plan, get_record
from storage.plans.rules import FieldErrors, clean_text, clean_user_id, is_id
from storage.plans.writes import (
    check_version,
    flush_or_conflict,
    lock_plan,
    log_change,
    next_position,
    renumber,
)

# A last contact more than this far ahead of the server's UTC day is a typo (a day of
# slack: the person's own day may already be tomorrow).
_FUTURE_SLACK = dt.timedelta(days=1)


@dataclass
class StakeholderInput:
    """The stakeholder form. Enum fields take their value or its string ("" or None:
    not set). `objective_ids`: the objectives to link (replacing the current links), or
    None to leave them as they are (on add: none)."""

    name: str
    title: str = ""
    side: StakeholderSide | str = StakeholderSide.CUSTOMER
    slack_user_id: str | None = None
    role: StakeholderRole | str | None = None
    influence: Influence | str | None = None
    stance: Stance | str | None = None
    reports_to_id: int | None = None
    last_contact_on: dt.date | None = None
    notes: str = ""
    objective_ids: Sequence[int] | None = None


def _choice(enum_type, value, field_name: str, *, required: bool):
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ValidationError(field_name, "required")
        return None
    try:
        return enum_type(str(value).strip().lower())
    except ValueError:
        allowed = ", ".join(member.value for member in enum_type)
        raise ValidationError(field_name, f"must be one of {allowed}") from None


def _check_contact(day: dt.date | None) -> dt.date | None:
    if day is not None and day > dt.datetime.now(dt.timezone.utc).date() + _FUTURE_SLACK:
        raise ValidationError("last_contact_on", "can't be in the future")
    return day


def stakeholder_fields(data: StakeholderInput) -> tuple[FieldErrors, dict]:
    """Every field of the form but `reports_to_id` and `objective_ids` (which need the
    plan) checked, in its order; errors collected, not raised (the plan file uses it too)."""
    errors = FieldErrors()
    fields = dict(
        name=errors.check(clean_text, data.name, "name", max_len=NAME_MAX, required=True),
        title=errors.check(clean_text, data.title, "title", max_len=NAME_MAX, required=False),
        side=errors.check(_choice, StakeholderSide, data.side or StakeholderSide.CUSTOMER, "side",
                          required=True),
        slack_user_id=errors.check(clean_user_id, data.slack_user_id, "slack_user", required=False),
        role=errors.check(_choice, StakeholderRole, data.role, "role", required=False),
        influence=errors.check(_choice, Influence, data.influence, "influence", required=False),
        stance=errors.check(_choice, Stance, data.stance, "stance", required=False),
        last_contact_on=errors.check(_check_contact, data.last_contact_on),
        notes=errors.check(clean_text, data.notes, "notes", max_len=TEXT_MAX, required=False),
    )
    return errors, fields


def _managers(session: Session, team_id: str, plan_id: int) -> dict[int, int | None]:
    """{stakeholder id: reports_to_id} of the plan, as the database has it now."""
    return dict(session.execute(
        select(Stakeholder.id, Stakeholder.reports_to_id)
        .where(Stakeholder.team_id == team_id, Stakeholder.plan_id == plan_id)
    ).all())


def _check_manager(managers: dict[int, int | None], stakeholder_id: int | None,
                   reports_to_id: int | None, errors: FieldErrors) -> None:
    """Another stakeholder of the same plan, and no loop back to this one."""
    if reports_to_id is None:
        return
    if not is_id(reports_to_id) or reports_to_id not in managers:
        errors.add("reports_to", "must be another stakeholder of this plan")
        return
    if reports_to_id == stakeholder_id:
        errors.add("reports_to", "can't report to themselves")
        return
    seen: set[int] = set()
    current: int | None = reports_to_id
    while current is not None and current not in seen:
        if current == stakeholder_id:
            errors.add("reports_to", "would make a loop: that person reports to this one")
            return
        seen.add(current)
        current = managers.get(current)


def _objective_ids(session: Session, team_id: str, plan_id: int, wanted: Iterable[int] | None,
                   errors: FieldErrors) -> list[int] | None:
    """The wanted objectives, each once, if all are objectives of the plan."""
    if wanted is None:
        return None
    ids = list(dict.fromkeys(wanted))
    if not ids:
        return []
    if not all(is_id(i) for i in ids):
        errors.add("objectives", "must be objectives of this plan")
        return None
    found = set(session.scalars(select(Objective.id).where(
        Objective.id.in_(ids), Objective.team_id == team_id, Objective.plan_id == plan_id)))
    if len(found) != len(ids):
        errors.add("objectives", "must be objectives of this plan (one was deleted meanwhile?)")
        return None
    return ids


def _link(session: Session, stakeholder: Stakeholder, objective_ids: list[int]) -> None:
    """The stakeholder's objectives become `objective_ids`: two statements."""
    session.execute(delete(ObjectiveStakeholder).where(
        ObjectiveStakeholder.stakeholder_id == stakeholder.id))
    if objective_ids:
        session.execute(insert(ObjectiveStakeholder), [
            dict(objective_id=objective_id, stakeholder_id=stakeholder.id, team_id=stakeholder.team_id)
            for objective_id in objective_ids])
    session.expire(stakeholder, ["objectives"])


# ---------------------------------------------------------------------------
# Reading


def list_stakeholders(session: Session, actor: Actor, plan_id: int, *,
                      audience: Audience = Audience.TEAM) -> list[Stakeholder]:
    """The plan's stakeholders by position, with their objectives (two queries; the
    plan's is a third). Nothing for an external audience, not even a query;
    PermissionDenied for an external actor. `stakeholder_tree` orders them as a chart."""
    require_internal(actor)
    if audience == Audience.EXTERNAL:
        return []
    plan = get_plan(session, actor.team_id, plan_id)
    return list(session.scalars(
        select(Stakeholder)
        .where(Stakeholder.team_id == actor.team_id, Stakeholder.plan_id == plan.id)
        .order_by(Stakeholder.position, Stakeholder.id)
        .options(selectinload(Stakeholder.objectives))
    ))


def get_stakeholder(session: Session, actor: Actor, stakeholder_id: int) -> Stakeholder:
    """One stakeholder of the workspace (NotFound otherwise), e.g. to fill its form."""
    require_internal(actor)
    return get_record(session, Stakeholder, actor.team_id, stakeholder_id, "stakeholder")


def stakeholder_tree(stakeholders: Sequence[Stakeholder]) -> list[tuple[Stakeholder, int]]:
    """(stakeholder, depth) as an indented org chart: people who report to nobody in the
    list first, each followed by the people reporting to them, by position. Anyone the
    walk does not reach (a loop, which the operations never write) is shown as a root."""
    by_id = {s.id: s for s in stakeholders}
    ordered = sorted(stakeholders, key=lambda s: (s.position, s.id))
    children: dict[int | None, list[Stakeholder]] = {}
    for s in ordered:
        parent = s.reports_to_id if s.reports_to_id in by_id and s.reports_to_id != s.id else None
        children.setdefault(parent, []).append(s)
    result: list[tuple[Stakeholder, int]] = []
    placed: set[int] = set()

    def walk(root: Stakeholder) -> None:
        stack = [(root, 0)]
        while stack:
            node, depth = stack.pop()
            if node.id in placed:
                continue
            placed.add(node.id)
            result.append((node, depth))
            stack.extend((child, depth + 1) for child in reversed(children.get(node.id, [])))

    for root in children.get(None, []):
        walk(root)
    for s in ordered:  # unreachable: only through a loop
        if s.id not in placed:
            walk(s)
    return result


# ---------------------------------------------------------------------------
# Changing


def add_stakeholder(session: Session, actor: Actor, plan_id: int, data: StakeholderInput) -> Stakeholder:
    plan = get_editable_plan(session, actor, plan_id)
    errors, fields = stakeholder_fields(data)
    lock_plan(session, plan.id)  # positions, the org chart and the count, as they are now
    _check_manager(_managers(session, actor.team_id, plan.id), None, data.reports_to_id, errors)
    objective_ids = _objective_ids(session, actor.team_id, plan.id, data.objective_ids, errors)
    count = session.scalar(select(func.count()).where(Stakeholder.team_id == actor.team_id,
                                                      Stakeholder.plan_id == plan.id))
    if count >= STAKEHOLDERS_MAX:
        errors.add("name", f"a plan holds at most {STAKEHOLDERS_MAX} stakeholders: remove one first")
    errors.done()
    stakeholder = Stakeholder(
        team_id=actor.team_id, plan_id=plan.id,
        position=next_position(session, Stakeholder, Stakeholder.plan_id, plan.id),
        reports_to_id=data.reports_to_id, **fields,
    )
    session.add(stakeholder)
    flush_or_conflict(session)
    if objective_ids:
        _link(session, stakeholder, objective_ids)
    log_change(session, actor, plan.id, "stakeholder", stakeholder.id, "created",
               f"added stakeholder “{stakeholder.name}”")
    return stakeholder


def update_stakeholder(session: Session, actor: Actor, stakeholder_id: int, data: StakeholderInput, *,
                       expected_version: int | None = None) -> Stakeholder:
    stakeholder = get_stakeholder(session, actor, stakeholder_id)
    get_editable_plan(session, actor, stakeholder.plan_id)
    check_version(stakeholder, expected_version)
    errors, fields = stakeholder_fields(data)
    lock_plan(session, stakeholder.plan_id)
    managers = _managers(session, actor.team_id, stakeholder.plan_id)
    _check_manager(managers, stakeholder.id, data.reports_to_id, errors)
    objective_ids = _objective_ids(session, actor.team_id, stakeholder.plan_id, data.objective_ids, errors)
    errors.done()
    for name, value in fields.items():
        setattr(stakeholder, name, value)
    stakeholder.reports_to_id = data.reports_to_id
    stakeholder.updated_at = dt.datetime.now(dt.timezone.utc)  # a links-only change is versioned too
    flush_or_conflict(session)
    if objective_ids is not None:
        _link(session, stakeholder, objective_ids)
    log_change(session, actor, stakeholder.plan_id, "stakeholder", stakeholder.id, "updated",
               f"edited stakeholder “{stakeholder.name}”")
    return stakeholder


def set_stakeholder_objectives(session: Session, actor: Actor, stakeholder_id: int,
                               objective_ids: Iterable[int], *,
                               expected_version: int | None = None) -> Stakeholder:
    """Link the stakeholder to exactly these objectives of its plan."""
    stakeholder = get_stakeholder(session, actor, stakeholder_id)
    get_editable_plan(session, actor, stakeholder.plan_id)
    check_version(stakeholder, expected_version)
    errors = FieldErrors()
    ids = _objective_ids(session, actor.team_id, stakeholder.plan_id, list(objective_ids), errors)
    errors.done()
    stakeholder.updated_at = dt.datetime.now(dt.timezone.utc)  # bumps the version
    flush_or_conflict(session)
    _link(session, stakeholder, ids)
    log_change(session, actor, stakeholder.plan_id, "stakeholder", stakeholder.id, "linked",
               f"linked stakeholder “{stakeholder.name}” to {len(ids)} objective(s)")
    return stakeholder


def log_contact(session: Session, actor: Actor, stakeholder_id: int, on: dt.date | None = None, *,
                expected_version: int | None = None) -> Stakeholder:
    """We spoke to them `on` that day (default: today, UTC; pass the person's own)."""
    stakeholder = get_stakeholder(session, actor, stakeholder_id)
    get_editable_plan(session, actor, stakeholder.plan_id)
    check_version(stakeholder, expected_version)
    day = on or dt.datetime.now(dt.timezone.utc).date()
    _check_contact(day)
    if stakeholder.last_contact_on is None or day > stakeholder.last_contact_on:
        stakeholder.last_contact_on = day
        flush_or_conflict(session)
        log_change(session, actor, stakeholder.plan_id, "stakeholder", stakeholder.id, "contact",
                   f"logged contact with “{stakeholder.name}” on {day.isoformat()}")
    return stakeholder


def delete_stakeholder(session: Session, actor: Actor, stakeholder_id: int) -> None:
    """Remove them; the people who reported to them report to their manager instead."""
    stakeholder = get_stakeholder(session, actor, stakeholder_id)
    get_editable_plan(session, actor, stakeholder.plan_id)
    lock_plan(session, stakeholder.plan_id)
    version = stakeholder.version
    siblings = list(session.scalars(
        select(Stakeholder).where(Stakeholder.team_id == actor.team_id, Stakeholder.plan_id == stakeholder.plan_id)
        .order_by(Stakeholder.position, Stakeholder.id).execution_options(populate_existing=True)
    ))
    if not any(s is stakeholder for s in siblings) or stakeholder.version != version:
        raise Conflict("Someone else changed or removed this stakeholder meanwhile; nothing was "
                       "saved. Open the plan again to see their changes.")
    for other in siblings:
        if other.reports_to_id == stakeholder.id:
            other.reports_to_id = stakeholder.reports_to_id
    log_change(session, actor, stakeholder.plan_id, "stakeholder", stakeholder.id, "deleted",
               f"removed stakeholder “{stakeholder.name}”")
    session.delete(stakeholder)
    renumber([s for s in siblings if s is not stakeholder])
    flush_or_conflict(session)


# ---------------------------------------------------------------------------
# Deep copy (storage.plans.deep_copy calls this)


def _objective_order(session: Session, team_id: str, plan_id: int) -> list[int]:
    """The plan's objective ids in reading order (strategy, then objective, by position)."""
    return list(session.scalars(
        select(Objective.id).join(Strategy, Strategy.id == Objective.strategy_id)
        .where(Objective.team_id == team_id, Objective.plan_id == plan_id)
        .order_by(Strategy.position, Strategy.id, Objective.position, Objective.id)
    ))


def copy_stakeholders(session: Session, source_plan_id: int, copy_plan_id: int, team_id: str, *,
                      objectives: bool) -> None:
    """Every stakeholder of the source plan into its deep copy, with whom they report to
    and (`objectives`: the objectives were copied too, in the same order) the objectives
    they are linked to. A fixed number of statements whatever their number."""
    rows = session.execute(
        select(Stakeholder.id, Stakeholder.name, Stakeholder.title, Stakeholder.side, Stakeholder.slack_user_id,
               Stakeholder.role, Stakeholder.influence, Stakeholder.stance, Stakeholder.reports_to_id,
               Stakeholder.last_contact_on, Stakeholder.notes)
        .where(Stakeholder.team_id == team_id, Stakeholder.plan_id == source_plan_id)
        .order_by(Stakeholder.position, Stakeholder.id)
    ).all()
    if not rows:
        return
    now = utcnow()
    session.execute(insert(Stakeholder), [
        dict(team_id=team_id, plan_id=copy_plan_id, position=index, name=r.name, title=r.title, side=r.side,
             slack_user_id=r.slack_user_id, role=r.role, influence=r.influence, stance=r.stance,
             reports_to_id=None, last_contact_on=r.last_contact_on, notes=r.notes, version=1, created_at=now,
             updated_at=now)
        for index, r in enumerate(rows)])
    by_position = dict(session.execute(
        select(Stakeholder.position, Stakeholder.id)
        .where(Stakeholder.team_id == team_id, Stakeholder.plan_id == copy_plan_id)).all())
    new_id = {r.id: by_position[index] for index, r in enumerate(rows)}
    bosses = [dict(stakeholder=new_id[r.id], boss=new_id[r.reports_to_id])
              for r in rows if r.reports_to_id in new_id]
    if bosses:
        table = Stakeholder.__table__
        session.execute(table.update().where(table.c.id == bindparam("stakeholder"))
                        .values(reports_to_id=bindparam("boss")), bosses)
    if not objectives:
        return
    new_objective = dict(zip(_objective_order(session, team_id, source_plan_id),
                             _objective_order(session, team_id, copy_plan_id)))
    links = session.execute(
        select(ObjectiveStakeholder.objective_id, ObjectiveStakeholder.stakeholder_id)
        .join(Stakeholder, Stakeholder.id == ObjectiveStakeholder.stakeholder_id)
        .where(Stakeholder.team_id == team_id, Stakeholder.plan_id == source_plan_id)
    ).all()
    copied = [dict(objective_id=new_objective[o], stakeholder_id=new_id[s], team_id=team_id)
              for o, s in links if o in new_objective and s in new_id]
    if copied:
        session.execute(insert(ObjectiveStakeholder), copied)
