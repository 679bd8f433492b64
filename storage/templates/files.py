"""Templates in plan files: `templates: [{name, owner, strategies, swot}]`, each entry a
template's name, its owner (a Slack user id; default: who imports it) and its body
(storage/templates/body.py), beside or instead of `plans:`. Built-ins are never written
(every workspace has them)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.domain import Actor
from storage.errors import ValidationError
from storage.models import PlanTemplate
from storage.plans.permissions import require_internal
from storage.plans.rules import clean_user_id
from storage.templates.body import check_body
from storage.templates.operations import add_template

TEMPLATE_KEYS = ("name", "owner", "strategies", "swot")


def template_entries(session: Session, team_id: str, template_ids: Sequence[int] | None = None) -> list[dict[str, Any]]:
    """The templates of `team_id` (all, or these ids) as plan-file entries, by name."""
    query = select(PlanTemplate).where(PlanTemplate.team_id == team_id).order_by(PlanTemplate.name)
    if template_ids is not None:
        query = query.where(PlanTemplate.id.in_(list(template_ids)))
    return [{"name": t.name, "owner": t.owner_id, **check_body(t.body)} for t in session.scalars(query)]


def export_templates(session: Session, actor: Actor, template_ids: Sequence[int] | None = None) -> list[dict[str, Any]]:
    """The workspace's templates (all, or these ids) as plan-file entries, by name."""
    require_internal(actor)
    return template_entries(session, actor.team_id, template_ids)


def import_template(session: Session, team_id: str, entry: Any, *, default_owner: str | None,
                    where: str) -> PlanTemplate:
    """One plan-file entry as a new template of `team_id`, owned by its `owner` or else
    `default_owner`; ValidationError naming the first problem from `where`
    ("templates[2].name: …"). Callers check who may import."""
    if not isinstance(entry, dict):
        raise ValidationError(where, "must be a mapping of fields")
    unknown = [key for key in entry if key not in TEMPLATE_KEYS]
    if unknown:
        raise ValidationError(f"{where}.{unknown[0]}", f"unknown field (expected one of {', '.join(TEMPLATE_KEYS)})")
    for key in ("name", "owner"):
        if entry.get(key) is not None and not isinstance(entry[key], str):
            raise ValidationError(f"{where}.{key}", "must be text (put it in quotes)")
    try:
        owner = clean_user_id(entry.get("owner") or default_owner, "owner", required=True)
    except ValidationError as error:
        raise ValidationError(f"{where}.owner", error.message) from None
    body = {key: value for key, value in entry.items() if key not in ("name", "owner")}
    try:
        return add_template(session, Actor(team_id, owner), entry.get("name") or "", body)
    except ValidationError as error:
        # The name's own problem, else the body's ("strategies[0].title: required").
        field = "name" if error.field == "name" else ""
        raise ValidationError(f"{where}.{field}" if field else where, error.message) from None


def import_templates(session: Session, actor: Actor, entries: Iterable[Any]) -> list[PlanTemplate]:
    """A plan file's `templates` list as new templates of the workspace, owned by their
    `owner` or else the actor; ValidationError naming the first bad entry
    ("templates[2].name: …")."""
    require_internal(actor)
    if not isinstance(entries, list):
        raise ValidationError("templates", "must be a list")
    return [import_template(session, actor.team_id, entry, default_owner=actor.user_id, where=f"templates[{index}]")
            for index, entry in enumerate(entries)]
