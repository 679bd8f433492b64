"""The rows of a plan's canvases: one per plan and audience, updated in place."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Audience, PlanCanvas, utcnow
from storage.upsert import upsert


def canvas_id_for(session: Session, plan_id: int, audience: Audience) -> str | None:
    return session.scalar(
        select(PlanCanvas.canvas_id).where(PlanCanvas.plan_id == plan_id, PlanCanvas.audience == audience)
    )


def save_canvas(session: Session, *, team_id: str, plan_id: int, audience: Audience, canvas_id: str) -> None:
    """Remember the plan's canvas for an audience (a new one replaces a deleted one).

    One statement (INSERT … ON CONFLICT DO UPDATE): two people publishing at once end
    with one row, the later canvas."""
    upsert(session, PlanCanvas,
           dict(team_id=team_id, plan_id=plan_id, audience=audience, canvas_id=canvas_id, updated_at=utcnow()),
           keys=("plan_id", "audience"), update=("canvas_id", "updated_at"))
