"""The tables of the people behind a plan and its upkeep: key stakeholders (and the
objectives they matter to), the outbox of progress check-ins, and plan templates.

Rules in storage/stakeholders.py, storage/checkins.py and storage/templates/; the
objective owner and progress columns live on `objectives` (storage/models/plans.py).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.domain import (
    NAME_MAX,
    SLACK_ID_MAX,
    Influence,
    StakeholderRole,
    StakeholderSide,
    Stance,
)
from storage.models.base import UTC, Base, Versioned, str_enum, utcnow
from storage.models.plans import Objective
from storage.models.reminders import Delivery


class ObjectiveStakeholder(Base):
    """A stakeholder we need for an objective (both of the same plan)."""

    __tablename__ = "objective_stakeholders"
    # The primary key serves an objective's people; this index a stakeholder's
    # objectives (and the cascade when a stakeholder goes).
    __table_args__ = (Index("ix_objective_stakeholders_stakeholder", "stakeholder_id"),)

    objective_id: Mapped[int] = mapped_column(
        ForeignKey("objectives.id", ondelete="CASCADE"), primary_key=True
    )
    stakeholder_id: Mapped[int] = mapped_column(
        ForeignKey("stakeholders.id", ondelete="CASCADE"), primary_key=True
    )
    team_id: Mapped[str] = mapped_column(String(SLACK_ID_MAX))


class Stakeholder(Versioned, Base):
    """Someone who matters to the plan, at the customer or on our side.

    Team-only, always: their role, influence and stance are our assessment, and never
    reach a customer (storage.stakeholders refuses an external actor; the plan tree
    loads them for the team audience only). `reports_to_id` draws the org chart: another
    stakeholder of the same plan, never a cycle (checked on every save).
    """

    __tablename__ = "stakeholders"
    __table_args__ = (Index("ix_stakeholders_plan_position", "plan_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[str] = mapped_column(String(SLACK_ID_MAX))
    plan_id: Mapped[int] = mapped_column(ForeignKey("account_plans.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer, default=0)
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    title: Mapped[str] = mapped_column(String(NAME_MAX), default="")
    side: Mapped[StakeholderSide] = mapped_column(
        str_enum(StakeholderSide, "stakeholder_side"), default=StakeholderSide.CUSTOMER
    )
    slack_user_id: Mapped[str | None] = mapped_column(String(SLACK_ID_MAX), nullable=True)
    role: Mapped[StakeholderRole | None] = mapped_column(
        str_enum(StakeholderRole, "stakeholder_role"), nullable=True
    )
    influence: Mapped[Influence | None] = mapped_column(str_enum(Influence, "influence"), nullable=True)
    stance: Mapped[Stance | None] = mapped_column(str_enum(Stance, "stance"), nullable=True)
    reports_to_id: Mapped[int | None] = mapped_column(
        ForeignKey("stakeholders.id", ondelete="SET NULL"), nullable=True, index=True
    )
    last_contact_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    notes: Mapped[str] = mapped_column(Text, default="")

    # Read-only: links are written by storage.stakeholders (set_stakeholder_objectives).
    objectives: Mapped[list[Objective]] = relationship(
        secondary="objective_stakeholders",
        viewonly=True,
        order_by=(Objective.strategy_id, Objective.position),
    )

    __mapper_args__ = {"version_id_col": Versioned.version}  # type: ignore[dict-item]

    @property
    def objective_ids(self) -> list[int]:
        return [o.id for o in self.objectives]


class CheckinRequest(Delivery, Base):
    """One progress check-in DM: an objective owner, asked about their objectives of a
    plan, once per round ("qbr:2026-12-10" before a QBR, "month:2026-12" monthly).

    The unique key makes each row exactly once, whoever schedules it; the Delivery
    columns are the scheduler's (storage.claims). `send_on` is the owner's local day the
    DM is meant for; `sent_at` when it went out, `reminded_at` when the one reminder
    did, `answered_at` when every objective it asked about had been updated. The DM's
    channel and ts let the bot redraw it.
    """

    __tablename__ = "checkin_requests"
    __table_args__ = (
        UniqueConstraint("team_id", "plan_id", "owner_id", "round_key"),
        Index("ix_checkin_requests_due", "next_run_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[str] = mapped_column(String(SLACK_ID_MAX))
    plan_id: Mapped[int] = mapped_column(
        ForeignKey("account_plans.id", ondelete="CASCADE"), index=True
    )
    owner_id: Mapped[str] = mapped_column(String(SLACK_ID_MAX))
    round_key: Mapped[str] = mapped_column(String(32))
    send_on: Mapped[dt.date] = mapped_column(Date)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTC, nullable=True)
    reminded_at: Mapped[dt.datetime | None] = mapped_column(UTC, nullable=True)
    answered_at: Mapped[dt.datetime | None] = mapped_column(UTC, nullable=True)
    dm_channel_id: Mapped[str | None] = mapped_column(String(SLACK_ID_MAX), nullable=True)
    dm_ts: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTC, default=utcnow)


class PlanTemplate(Versioned, Base):
    """A plan's structure kept to start new plans from (storage.templates): strategies,
    objectives with their measures, action item titles with due dates as offsets from
    the plan's start, SWOT prompts. No dates, people, progress or notes. `body` is
    checked by storage.templates.check_body whenever it is written or read."""

    __tablename__ = "plan_templates"
    __table_args__ = (UniqueConstraint("team_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[str] = mapped_column(String(SLACK_ID_MAX))
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    owner_id: Mapped[str] = mapped_column(String(SLACK_ID_MAX))
    body: Mapped[dict] = mapped_column(JSON)

    __mapper_args__ = {"version_id_col": Versioned.version}  # type: ignore[dict-item]
