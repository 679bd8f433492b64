"""Plan templates of a workspace: save a plan's structure as one, list, rename and
delete them, and start a new plan from one (or from a built-in).

Templates belong to the workspace; people from another organisation neither see nor
use them (PermissionDenied). Anyone in the workspace saves a plan they can read as a
template, and starts plans from any; the template's owner, or anyone who owns a plan in
the workspace, renames or deletes one. Keys name a template wherever one is picked:
"builtin:key_account", "builtin:goals", or "template:<id>".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storage.domain import NAME_MAX, Actor, ItemStatus
from storage.errors import NotFound, PermissionDenied, ValidationError
from storage.models import AccountPlan, ActionItem, Objective, PlanTemplate, Strategy, SwotEntry, utcnow
from storage.plans.permissions import require_internal
from storage.plans.plan_edits import create_plan
from storage.plans.reads import get_record, load_plan_tree
from storage.plans.rules import PlanInput, clean_text, is_id, plan_fields
from storage.plans.writes import check_version, flush_or_conflict, log_change
from storage.templates.body import body_of_plan, check_body, counts
from storage.templates.builtin import BUILTIN

SAVED_PREFIX = "template:"
LIST_MAX = 97  # a select menu holds 100 options: "Blank" and the built-ins come first


@dataclass(frozen=True)
class TemplateChoice:
    key: str  # what create_plan_from_template takes
    name: str
    builtin: bool
    description: str = ""  # built-ins: a line on what they hold
    template_id: int | None = None
    owner_id: str | None = None
    version: int | None = None
    strategies: int = 0
    objectives: int = 0
    action_items: int = 0


def template_key(template: PlanTemplate) -> str:
    return f"{SAVED_PREFIX}{template.id}"


def _choice(template: PlanTemplate) -> TemplateChoice:
    strategies, objectives, items = counts(check_body(template.body))
    return TemplateChoice(template_key(template), template.name, False, "", template.id, template.owner_id,
                          template.version, strategies, objectives, items)


def list_templates(session: Session, actor: Actor, *, limit: int = LIST_MAX) -> list[TemplateChoice]:
    """The built-ins, then the workspace's templates by name (at most `limit`)."""
    require_internal(actor)
    builtins = [TemplateChoice(key, name, True, description, None, None, None, *counts(body))
                for key, (name, description, body) in BUILTIN.items()]
    saved = session.scalars(
        select(PlanTemplate).where(PlanTemplate.team_id == actor.team_id)
        .order_by(PlanTemplate.name).limit(limit)  # unique in the workspace: its index's order
    )
    return builtins + [_choice(t) for t in saved]


def template_names(session: Session, team_id: str, template_ids: list[int]) -> list[tuple[int, str]]:
    """(id, name) of the workspace's templates among `template_ids`, by id."""
    if not template_ids:
        return []
    return [tuple(row) for row in session.execute(
        select(PlanTemplate.id, PlanTemplate.name)
        .where(PlanTemplate.team_id == team_id, PlanTemplate.id.in_(template_ids))
        .order_by(PlanTemplate.id)
    )]


def get_template(session: Session, actor: Actor, template_id: int) -> PlanTemplate:
    require_internal(actor)
    return get_record(session, PlanTemplate, actor.team_id, template_id, "template")


def template_body(session: Session, actor: Actor, key: str) -> tuple[str, dict[str, Any]]:
    """(name, checked body) of the template `key` names; ValidationError "template" if
    there is none (a deleted one, a key from another workspace)."""
    require_internal(actor)
    if isinstance(key, str) and key in BUILTIN:
        name, _, body = BUILTIN[key]
        return name, check_body(body)
    key = key if isinstance(key, str) else ""
    raw_id = key.removeprefix(SAVED_PREFIX)
    template_id = int(raw_id) if raw_id.isascii() and raw_id.isdigit() and len(raw_id) < 12 else None
    template = None
    if key.startswith(SAVED_PREFIX) and template_id is not None and is_id(template_id):
        template = session.scalars(select(PlanTemplate).where(
            PlanTemplate.id == template_id, PlanTemplate.team_id == actor.team_id)).one_or_none()
    if template is None:
        raise ValidationError("template", "That template is gone (deleted?): pick another.")
    return template.name, check_body(template.body)


def _clean_name(session: Session, team_id: str, name: str, *, template_id: int | None = None) -> str:
    text = clean_text(name, "name", max_len=NAME_MAX, required=True)
    if any(text.lower() == builtin_name.lower() for builtin_name, _, _ in BUILTIN.values()):
        raise ValidationError("name", "a built-in template has this name: choose another")
    taken = session.scalar(select(PlanTemplate.id).where(
        PlanTemplate.team_id == team_id, func.lower(PlanTemplate.name) == text.lower(),
        *([PlanTemplate.id != template_id] if template_id else [])).limit(1))
    if taken is not None:
        raise ValidationError("name", "a template of this name exists: choose another")
    return text


def add_template(session: Session, actor: Actor, name: str, body: Any, *,
                 owner_id: str | None = None) -> PlanTemplate:
    """A new template of the workspace (a plan file's, or `save_as_template`'s). Two
    saves of one name at once: the second is told the name is taken."""
    require_internal(actor)
    errors: dict[str, str] = {}
    try:
        text = _clean_name(session, actor.team_id, name)
    except ValidationError as error:
        errors.update(error.errors)
    try:
        checked = check_body(body)
    except ValidationError as error:
        errors.update(error.errors)
    if errors:
        raise ValidationError.of(errors)
    now = utcnow()
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    new_id = session.scalar(
        dialect.insert(PlanTemplate)
        .values(team_id=actor.team_id, name=text, owner_id=owner_id or actor.user_id, body=checked,
                version=1, created_at=now, updated_at=now)
        .on_conflict_do_nothing(index_elements=["team_id", "name"])
        .returning(PlanTemplate.id)
    )
    if new_id is None:  # saved by someone else meanwhile
        raise ValidationError("name", "a template of this name exists: choose another")
    return session.get(PlanTemplate, new_id)


def save_as_template(session: Session, actor: Actor, plan_id: int, name: str) -> PlanTemplate:
    """Keep the plan's structure (strategies, objectives with their measures, action item
    titles with due dates as days from the plan's start, SWOT texts as prompts) without
    dates, people, progress or notes, as a template of the workspace."""
    require_internal(actor)
    plan = load_plan_tree(session, actor.team_id, plan_id)
    template = add_template(session, actor, name, body_of_plan(plan))
    log_change(session, actor, plan.id, "plan", plan.id, "template",
               f"saved “{plan.name}” as template “{template.name}”")
    return template


def may_manage(session: Session, actor: Actor, template: PlanTemplate) -> bool:
    """The template's owner, or anyone who owns a plan in the workspace."""
    if actor.external:
        return False
    if template.owner_id == actor.user_id:
        return True
    return session.scalar(select(AccountPlan.id).where(
        AccountPlan.team_id == actor.team_id, AccountPlan.owner_id == actor.user_id).limit(1)) is not None


def _managed(session: Session, actor: Actor, template_id: int) -> PlanTemplate:
    template = get_template(session, actor, template_id)
    if not may_manage(session, actor, template):
        raise PermissionDenied("Only the template's owner, or someone who owns a plan here, can change it.")
    return template


def rename_template(session: Session, actor: Actor, template_id: int, name: str, *,
                    expected_version: int | None = None) -> PlanTemplate:
    template = _managed(session, actor, template_id)
    check_version(template, expected_version)
    template.name = _clean_name(session, actor.team_id, name, template_id=template.id)
    flush_or_conflict(session)
    return template


def delete_template(session: Session, actor: Actor, template_id: int) -> None:
    template = _managed(session, actor, template_id)
    session.delete(template)
    flush_or_conflict(session)


def create_plan_from_template(session: Session, actor: Actor, data: PlanInput, template: str) -> AccountPlan:
    """A new plan (the plan form) holding the template's structure: due dates from the
    plan's start (kept inside its dates), measurable objectives from zero, every action
    item the plan owner's to hand out. Every field error at once, "template" among them.
    A fixed number of statements whatever the template's size."""
    require_internal(actor)
    errors, fields = plan_fields(data, actor.user_id)
    body = errors.check(template_body, session, actor, template)
    errors.done()
    plan = create_plan(session, actor, data)
    _write_structure(session, actor, plan, body[1])
    log_change(session, actor, plan.id, "plan", plan.id, "template", f"started from template “{body[0]}”")
    return plan


def _day(plan: AccountPlan, offset: int | None) -> dt.date | None:
    if offset is None:
        return None
    return min(max(plan.start_date + dt.timedelta(days=offset), plan.start_date), plan.end_date)


def _write_structure(session: Session, actor: Actor, plan: AccountPlan, body: dict[str, Any]) -> None:
    """One INSERT per level; each level's ids read back by (parent, position)."""
    strategies = body["strategies"]
    team = plan.team_id
    shared = plan.share_with_customer_by_default  # the plan form's "New parts shared with customer"
    if strategies:
        session.execute(insert(Strategy), [
            dict(team_id=team, plan_id=plan.id, position=i, title=s["title"], description=s["description"],
                 shared_with_customer=shared)
            for i, s in enumerate(strategies)])
        strategy_ids = dict(session.execute(
            select(Strategy.position, Strategy.id).where(Strategy.plan_id == plan.id)).all())
        objective_rows = [
            dict(team_id=team, plan_id=plan.id, strategy_id=strategy_ids[s_index], position=o_index,
                 title=o["title"], description=o["description"], measure_unit=o["measure_unit"],
                 target_value=None if o["target_value"] is None else Decimal(o["target_value"]),
                 current_value=None if o["target_value"] is None else Decimal(0),
                 shared_with_customer=shared)
            for s_index, s in enumerate(strategies) for o_index, o in enumerate(s["objectives"])]
        if objective_rows:
            session.execute(insert(Objective), objective_rows)
            objective_ids = {(s_id, position): o_id for o_id, s_id, position in session.execute(
                select(Objective.id, Objective.strategy_id, Objective.position)
                .where(Objective.plan_id == plan.id))}
            item_rows = [
                dict(team_id=team, plan_id=plan.id, objective_id=objective_ids[(strategy_ids[s_index], o_index)],
                     position=a_index, title=a["title"], notes="", assignee_id=plan.owner_id,
                     due_date=_day(plan, a["due_offset_days"]), status=ItemStatus.OPEN, shared_with_customer=shared,
                     created_by=actor.user_id)
                for s_index, s in enumerate(strategies) for o_index, o in enumerate(s["objectives"])
                for a_index, a in enumerate(o["action_items"])]
            if item_rows:
                session.execute(insert(ActionItem), item_rows)
    positions: dict[str, int] = {}
    swot_rows = []
    for entry in body["swot"]:
        position = positions.get(entry["kind"], 0)
        positions[entry["kind"]] = position + 1
        swot_rows.append(dict(team_id=team, plan_id=plan.id, kind=entry["kind"], position=position,
                              text=entry["text"], team_only=True))
    if swot_rows:
        session.execute(insert(SwotEntry), swot_rows)
    session.expire(plan, ["strategies", "swot_entries"])
