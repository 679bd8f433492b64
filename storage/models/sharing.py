"""The tables of sharing a plan: digest subscriptions of channels, the digests that
went out, and the plan's canvases."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Time, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.domain import SLACK_ID_MAX, Audience, DigestFrequency
from storage.models.base import UTC, Base, str_enum, utcnow


class DigestReason(enum.StrEnum):
    ON_DEMAND = "on_demand"
    SCHEDULED = "scheduled"
    QBR = "qbr"


class DigestSubscription(Base):
    """A channel that gets a plan's digest on a schedule and/or after each QBR.

    `next_run_at` (UTC) is when the scheduler sends it next (None: only after QBRs);
    `locked_until` is the lease of the scheduler pass that claimed it (see
    storage.claims), so several instances never send the same digest twice.
    """

    __tablename__ = "digest_subscriptions"
    __table_args__ = (
        UniqueConstraint("plan_id", "channel_id"),
        Index("ix_digest_subscriptions_due", "next_run_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[str] = mapped_column(String(SLACK_ID_MAX), index=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("account_plans.id", ondelete="CASCADE"))
    channel_id: Mapped[str] = mapped_column(String(SLACK_ID_MAX))
    frequency: Mapped[DigestFrequency] = mapped_column(str_enum(DigestFrequency, "digest_frequency"))
    weekday: Mapped[int] = mapped_column(Integer, default=0)  # 0 Monday … 6 Sunday
    time_of_day: Mapped[dt.time] = mapped_column(Time, default=dt.time(9, 0))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    after_qbr: Mapped[bool] = mapped_column(Boolean, default=True)
    next_run_at: Mapped[dt.datetime | None] = mapped_column(UTC, nullable=True)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTC, nullable=True)
    last_sent_at: Mapped[dt.datetime | None] = mapped_column(UTC, nullable=True)
    last_error: Mapped[str] = mapped_column(String(255), default="")
    created_by: Mapped[str] = mapped_column(String(SLACK_ID_MAX))
    created_at: Mapped[dt.datetime] = mapped_column(UTC, default=utcnow)


class DigestPost(Base):
    """A digest that went out: where, why, for whom. "Since the last digest" reads it."""

    __tablename__ = "digest_posts"
    __table_args__ = (Index("ix_digest_posts_plan_posted", "plan_id", "posted_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[str] = mapped_column(String(SLACK_ID_MAX))
    plan_id: Mapped[int] = mapped_column(ForeignKey("account_plans.id", ondelete="CASCADE"))
    channel_id: Mapped[str] = mapped_column(String(SLACK_ID_MAX))
    message_ts: Mapped[str] = mapped_column(String(32), default="")
    reason: Mapped[DigestReason] = mapped_column(str_enum(DigestReason, "digest_reason"))
    audience: Mapped[Audience] = mapped_column(str_enum(Audience, "audience"))
    posted_by: Mapped[str | None] = mapped_column(String(SLACK_ID_MAX), nullable=True)
    posted_at: Mapped[dt.datetime] = mapped_column(UTC, default=utcnow)


class PlanCanvas(Base):
    """The plan published as a Slack canvas: one per audience, updated in place."""

    __tablename__ = "plan_canvases"
    __table_args__ = (UniqueConstraint("plan_id", "audience"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[str] = mapped_column(String(SLACK_ID_MAX))
    plan_id: Mapped[int] = mapped_column(ForeignKey("account_plans.id", ondelete="CASCADE"))
    audience: Mapped[Audience] = mapped_column(str_enum(Audience, "audience"))
    canvas_id: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[dt.datetime] = mapped_column(UTC, default=utcnow, onupdate=utcnow)

