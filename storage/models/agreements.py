"""The customer's agreement to a plan: one row per "Ask customer to confirm".

A request shows the customer the shared view of the whole plan (`objective_id` None)
or of one objective, in the plan's customer channel; `shown` is what it showed (the
ids of the strategies, objectives and action items, by change-log entity name), so a
later change to any of them, or a part newly shared, is seen as a change to what the
customer agreed to (storage/agreements.py reads that off the change log: no hooks in
the modules that change the plan). The first person from the customer who presses
"Agree" is recorded with their name and organisation as Slack gave them then; comments
go to one conversation with the team, whose first message is `thread_channel_id` /
`thread_ts` (later comments reply in its thread).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.domain import NAME_MAX, SLACK_ID_MAX
from storage.models.base import UTC, Base, utcnow


class PlanAgreement(Base):
    __tablename__ = "plan_agreements"
    # A plan's requests, latest first (the header, the written plan, the digest).
    __table_args__ = (
        Index("ix_plan_agreements_plan_requested", "plan_id", "requested_at"),
        # Deleting an objective deletes its requests (CASCADE): found by index, not a scan.
        Index("ix_plan_agreements_objective", "objective_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[str] = mapped_column(String(SLACK_ID_MAX))
    plan_id: Mapped[int] = mapped_column(ForeignKey("account_plans.id", ondelete="CASCADE"))
    # One objective's view; None: the whole plan's. An objective deleted takes its
    # requests with it.
    objective_id: Mapped[int | None] = mapped_column(
        ForeignKey("objectives.id", ondelete="CASCADE"), nullable=True
    )
    channel_id: Mapped[str] = mapped_column(String(SLACK_ID_MAX))
    message_ts: Mapped[str] = mapped_column(String(32), default="")
    requested_by: Mapped[str] = mapped_column(String(SLACK_ID_MAX))
    requested_at: Mapped[dt.datetime] = mapped_column(UTC, default=utcnow)
    shown: Mapped[dict] = mapped_column(JSON, default=dict)  # {"strategy": [ids], ...}
    agreed_by: Mapped[str | None] = mapped_column(String(SLACK_ID_MAX), nullable=True)
    agreed_name: Mapped[str] = mapped_column(String(NAME_MAX), default="")
    agreed_organisation: Mapped[str] = mapped_column(String(NAME_MAX), default="")
    agreed_at: Mapped[dt.datetime | None] = mapped_column(UTC, nullable=True)
    thread_channel_id: Mapped[str | None] = mapped_column(String(SLACK_ID_MAX), nullable=True)
    thread_ts: Mapped[str | None] = mapped_column(String(32), nullable=True)
