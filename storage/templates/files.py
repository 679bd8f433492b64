"""Templates in plan files: `templates: [{name, strategies, swot}]`, each entry a
template's name and its body (storage/templates/body.py), beside or instead of `plans:`.
Built-ins are never written (every workspace has them)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.domain import Actor
from storage.errors import ValidationError
from storage.models import PlanTemplate
from storage.plans.permissions import require_internal
from storage.templates.body import check_body
from storage.templates.operations import add_template

TEMPLATE_KEYS = ("name", "strategies", "swot")


def export_templates(session: Session, actor: Actor, template_ids: Sequence[int] | None = None) -> list[dict[str, Any]]:
    """The workspace's templates (all, or these ids) as plan-file entries, by name."""
    require_internal(actor)
    query = select(PlanTemplate).where(PlanTemplate.team_id == actor.team_id).order_by(PlanTemplate.name)
    if template_ids is not None:
        query = query.where(PlanTemplate.id.in_(list(template_ids)))
    return [{"name": t.name, **check_body(t.body)} for t in session.scalars(query)]


def import_templates(session: Session, actor: Actor, entries: Any) -> list[PlanTemplate]:
    """A plan file's `templates` list as new templates of the workspace, owned by the
    actor; ValidationError naming the first bad entry ("templates[2].name: …")."""
    require_internal(actor)
    if not isinstance(entries, list):
        raise ValidationError("templates", "must be a list")
    created = []
    for index, entry in enumerate(entries):
        where = f"templates[{index}]"
        if not isinstance(entry, dict):
            raise ValidationError(where, "must be a mapping of fields")
        unknown = [key for key in entry if key not in TEMPLATE_KEYS]
        if unknown:
            raise ValidationError(f"{where}.{unknown[0]}", f"unknown field (expected one of {', '.join(TEMPLATE_KEYS)})")
        name = entry.get("name")
        if name is not None and not isinstance(name, str):
            raise ValidationError(f"{where}.name", "must be text (put it in quotes)")
        try:
            created.append(add_template(session, actor, name or "", {k: v for k, v in entry.items() if k != "name"}))
        except ValidationError as error:
            field = "name" if error.field == "name" else ""
            raise ValidationError(f"{where}.{field}" if field else where, error.message) from None
    return created
