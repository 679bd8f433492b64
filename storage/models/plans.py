"""The tables of account plans: accounts, plans and their members, the strategy →
objective → action item tree, SWOT, QBR reviews and the change log."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    false,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.domain import (
    DEFAULT_CHECKIN_LEAD_DAYS,
    NAME_MAX,
    PROGRESS_NOTE_MAX,
    SLACK_ID_MAX,
    TEXT_MAX,
    TITLE_MAX,
    ItemStatus,
    ObjectiveStatus,
    PlanStatus,
    SwotKind,
)
from storage.models.base import UTC, Base, Versioned, str_enum, utcnow


class Account(Base):
    __tablename__ = "accounts"
    # One account per name in a workspace; named by the convention (uq_accounts_team_id).
    __table_args__ = (UniqueConstraint("team_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[str] = mapped_column(String(SLACK_ID_MAX), index=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    created_at: Mapped[dt.datetime] = mapped_column(UTC, default=utcnow)

    plans: Mapped[list[AccountPlan]] = relationship(back_populates="account")


class AccountPlan(Versioned, Base):
    __tablename__ = "account_plans"
    # More indexes (on a sort order and an expression) follow the class.
    __table_args__ = (
        Index("ix_account_plans_team_owner", "team_id", "owner_id"),
        # The scheduler: plans written in bulk that it has not seen yet (sync_new_plans),
        # and active plans that may be due a QBR reminder (claim_qbr_nudges).
        Index("ix_account_plans_unsynced", "reminders_synced", "id"),
        Index("ix_account_plans_status_end", "status", "end_date"),
        # Active plans the check-in scheduler has not looked at today
        # (storage.checkins.schedule_checkins).
        Index("ix_account_plans_checkins", "status", "checkins_checked_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[str] = mapped_column(String(SLACK_ID_MAX), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[PlanStatus] = mapped_column(
        str_enum(PlanStatus, "plan_status"), default=PlanStatus.DRAFT
    )
    owner_id: Mapped[str] = mapped_column(String(SLACK_ID_MAX))
    vision: Mapped[str] = mapped_column(Text, default="")
    customer_goals: Mapped[str] = mapped_column(Text, default="")
    our_goals: Mapped[str] = mapped_column(Text, default="")
    copied_from_id: Mapped[int | None] = mapped_column(
        ForeignKey("account_plans.id", ondelete="SET NULL"), nullable=True
    )
    last_review_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    # A plan with no QBR for this many days reminds its owner (at most once a period).
    qbr_reminder_days: Mapped[int] = mapped_column(Integer, default=90, server_default="90")
    qbr_nudged_at: Mapped[dt.datetime | None] = mapped_column(UTC, nullable=True)
    # Assignees are first reminded this many days before an item is due (0: on the day).
    reminder_lead_days: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # False until the scheduler has built the reminders of the plan's items. Plans written
    # in bulk (import, deep copy) start False too, so their items are reminded as well.
    reminders_synced: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Objective owners are asked for progress this many days before the next QBR, and on
    # the first working day of each month if `monthly_checkins` (storage.checkins).
    checkin_lead_days: Mapped[int] = mapped_column(
        Integer, default=DEFAULT_CHECKIN_LEAD_DAYS, server_default=str(DEFAULT_CHECKIN_LEAD_DAYS)
    )
    monthly_checkins: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The UTC day the check-in scheduler last worked out the plan's rounds (None: to do);
    # a change that moves a round sets it back to None.
    checkins_checked_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    # The plan form's "New parts shared with customer": the mark new strategies,
    # objectives and action items of this plan start with.
    share_with_customer_by_default: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    # The plan form's "Customer channel": the Slack Connect channel shared with the
    # customer, where customer-owned items are reminded and the customer confirms the plan.
    customer_channel_id: Mapped[str | None] = mapped_column(String(SLACK_ID_MAX), nullable=True)

    account: Mapped[Account] = relationship(back_populates="plans", lazy="joined")
    members: Mapped[list[PlanMember]] = relationship(
        back_populates="plan",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="PlanMember.user_id",
    )
    strategies: Mapped[list[Strategy]] = relationship(
        back_populates="plan",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="Strategy.position",
    )
    swot_entries: Mapped[list[SwotEntry]] = relationship(
        back_populates="plan",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="(SwotEntry.kind, SwotEntry.position)",
    )
    reviews: Mapped[list[QbrReview]] = relationship(
        back_populates="plan",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="QbrReview.held_on",
    )

    __mapper_args__ = {"version_id_col": Versioned.version}  # type: ignore[dict-item]

    @property
    def member_ids(self) -> list[str]:
        return [m.user_id for m in self.members]


# A page of a workspace's plans in list order (storage.plans.plans_query: start date,
# newest first, then name and id), with or without a status: the index walks the first
# rows of the page and stops, instead of reading and sorting every plan of the workspace.
# The sort direction is part of the index, hence column objects rather than names.
Index("ix_account_plans_team_order", AccountPlan.team_id, AccountPlan.start_date.desc(),
      AccountPlan.name, AccountPlan.id)
Index("ix_account_plans_team_status_order", AccountPlan.team_id, AccountPlan.status,
      AccountPlan.start_date.desc(), AccountPlan.name, AccountPlan.id)
# A plan named as typed, in any case (storage.plans.find_plans). SQLAlchemy cannot
# reflect an expression index from SQLite, so Alembic's comparison skips it there (with
# a warning) and a batch-mode table rebuild would not carry it over: a later migration
# that rebuilds account_plans on SQLite must create it again
# (tests/storage/test_query_plans.py runs find_plans on the migrated schema).
Index("ix_account_plans_team_lower_name", AccountPlan.team_id, func.lower(AccountPlan.name))


class PlanMember(Base):
    __tablename__ = "plan_members"

    plan_id: Mapped[int] = mapped_column(
        ForeignKey("account_plans.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(String(SLACK_ID_MAX), primary_key=True)
    team_id: Mapped[str] = mapped_column(String(SLACK_ID_MAX))

    plan: Mapped[AccountPlan] = relationship(back_populates="members")

    __table_args__ = (Index("ix_plan_members_team_user", "team_id", "user_id"),)


class Strategy(Versioned, Base):
    __tablename__ = "strategies"

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[str] = mapped_column(String(SLACK_ID_MAX))
    plan_id: Mapped[int] = mapped_column(
        ForeignKey("account_plans.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    description: Mapped[str] = mapped_column(Text, default="")
    # "Shared with customer": an external audience sees the strategy (storage.plans
    # reads, digests). Objectives and action items carry the same mark, and are shown
    # only when their parents are shared too.
    shared_with_customer: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    plan: Mapped[AccountPlan] = relationship(back_populates="strategies")
    objectives: Mapped[list[Objective]] = relationship(
        back_populates="strategy",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="Objective.position",
    )

    __mapper_args__ = {"version_id_col": Versioned.version}  # type: ignore[dict-item]


class Objective(Versioned, Base):
    """Qualitative, or measurable when `target` is set ("3 of 5 IDNs")."""

    __tablename__ = "objectives"

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[str] = mapped_column(String(SLACK_ID_MAX))
    plan_id: Mapped[int] = mapped_column(
        ForeignKey("account_plans.id", ondelete="CASCADE"), index=True
    )
    strategy_id: Mapped[int] = mapped_column(
        ForeignKey("strategies.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    description: Mapped[str] = mapped_column(Text, default="")
    measure_unit: Mapped[str] = mapped_column(String(NAME_MAX), default="")
    target_value: Mapped[Decimal | None] = mapped_column(Numeric(18, 4), nullable=True)
    current_value: Mapped[Decimal | None] = mapped_column(Numeric(18, 4), nullable=True)
    # Who is asked for its progress (None: the plan's owner), and what they last said.
    owner_id: Mapped[str | None] = mapped_column(String(SLACK_ID_MAX), nullable=True)
    progress_status: Mapped[ObjectiveStatus | None] = mapped_column(
        str_enum(ObjectiveStatus, "objective_status"), nullable=True
    )
    progress_note: Mapped[str] = mapped_column(String(PROGRESS_NOTE_MAX), default="", server_default="")
    progress_updated_at: Mapped[dt.datetime | None] = mapped_column(UTC, nullable=True)
    progress_updated_by: Mapped[str | None] = mapped_column(String(SLACK_ID_MAX), nullable=True)
    shared_with_customer: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    strategy: Mapped[Strategy] = relationship(back_populates="objectives")
    action_items: Mapped[list[ActionItem]] = relationship(
        back_populates="objective",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="ActionItem.position",
    )

    __mapper_args__ = {"version_id_col": Versioned.version}  # type: ignore[dict-item]

    @property
    def is_measurable(self) -> bool:
        return self.target_value is not None


class ActionItem(Versioned, Base):
    __tablename__ = "action_items"
    __table_args__ = (
        Index("ix_action_items_team_assignee_status", "team_id", "assignee_id", "status"),
        # A plan's items (its tree, digest, deletion) and, without reading the rows, the
        # done/total of each plan in a list (storage.plans.progress_by_plan).
        Index("ix_action_items_plan_status", "plan_id", "status"),
        # Deleting a stakeholder sets its items' contact to NULL: found by index, not a scan.
        Index("ix_action_items_customer_contact", "customer_contact_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[str] = mapped_column(String(SLACK_ID_MAX))
    plan_id: Mapped[int] = mapped_column(ForeignKey("account_plans.id", ondelete="CASCADE"))
    objective_id: Mapped[int] = mapped_column(
        ForeignKey("objectives.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    notes: Mapped[str] = mapped_column(Text, default="")
    assignee_id: Mapped[str | None] = mapped_column(String(SLACK_ID_MAX), nullable=True)
    due_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    status: Mapped[ItemStatus] = mapped_column(
        str_enum(ItemStatus, "item_status"), default=ItemStatus.OPEN
    )
    done_at: Mapped[dt.datetime | None] = mapped_column(UTC, nullable=True)
    done_by: Mapped[str | None] = mapped_column(String(SLACK_ID_MAX), nullable=True)
    shared_with_customer: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_by: Mapped[str | None] = mapped_column(String(SLACK_ID_MAX), nullable=True)
    # A customer-owned item: `assignee_id` a Slack Connect user from the customer, or
    # `customer_contact_id` a customer stakeholder without Slack. `follow_up_id` is the
    # team member who follows it up (told when it is done; reminded for a contact
    # without Slack).
    customer_contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("stakeholders.id", ondelete="SET NULL"), nullable=True
    )
    follow_up_id: Mapped[str | None] = mapped_column(String(SLACK_ID_MAX), nullable=True)

    objective: Mapped[Objective] = relationship(back_populates="action_items")

    __mapper_args__ = {"version_id_col": Versioned.version}  # type: ignore[dict-item]

    @property
    def is_done(self) -> bool:
        return self.status == ItemStatus.DONE


class SwotEntry(Versioned, Base):
    """SWOT is team-only unless someone decides otherwise: it never reaches customers."""

    __tablename__ = "swot_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[str] = mapped_column(String(SLACK_ID_MAX))
    plan_id: Mapped[int] = mapped_column(
        ForeignKey("account_plans.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[SwotKind] = mapped_column(str_enum(SwotKind, "swot_kind"))
    position: Mapped[int] = mapped_column(Integer, default=0)
    text: Mapped[str] = mapped_column(Text)
    team_only: Mapped[bool] = mapped_column(Boolean, default=True)

    plan: Mapped[AccountPlan] = relationship(back_populates="swot_entries")

    __mapper_args__ = {"version_id_col": Versioned.version}  # type: ignore[dict-item]


class QbrReview(Base):
    """A quarterly business review held with the customer."""

    __tablename__ = "qbr_reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[str] = mapped_column(String(SLACK_ID_MAX))
    plan_id: Mapped[int] = mapped_column(
        ForeignKey("account_plans.id", ondelete="CASCADE"), index=True
    )
    held_on: Mapped[dt.date] = mapped_column(Date)
    attendees: Mapped[str] = mapped_column(Text, default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    decisions: Mapped[str] = mapped_column(Text, default="")
    next_qbr_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    created_by: Mapped[str] = mapped_column(String(SLACK_ID_MAX))
    created_at: Mapped[dt.datetime] = mapped_column(UTC, default=utcnow)

    plan: Mapped[AccountPlan] = relationship(back_populates="reviews")


class ChangeLogEntry(Base):
    """Who changed what, when: feeds "what changed since" in digests."""

    __tablename__ = "change_log"
    __table_args__ = (Index("ix_change_log_plan_at", "plan_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[str] = mapped_column(String(SLACK_ID_MAX), index=True)
    # No foreign key: the log outlives the records it speaks of.
    plan_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    actor_id: Mapped[str] = mapped_column(String(SLACK_ID_MAX))
    at: Mapped[dt.datetime] = mapped_column(UTC, default=utcnow)
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    action: Mapped[str] = mapped_column(String(32))
    summary: Mapped[str] = mapped_column(String(TEXT_MAX), default="")
    details: Mapped[dict | None] = mapped_column(JSON, nullable=True)

