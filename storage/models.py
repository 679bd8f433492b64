"""Typed SQLAlchemy models of account plans.

Every table carries `team_id` (the Slack workspace) so that every query can be scoped
to the workspace it came from without a join. Children carry `plan_id` too, so that a
plan's whole tree, its progress and its deletion are one indexed query per table.
Ordered children have a `position` (0-based, dense within the parent).
Records that people edit have a `version` (SQLAlchemy's version counter): an UPDATE
that lost a race matches no row and raises instead of silently overwriting.
Children are deleted by the database (ON DELETE CASCADE, `passive_deletes`): deleting a
plan of hundreds of items is a few statements, not one load per objective. SQLite
enforces this only with PRAGMA foreign_keys=ON, which storage.db.make_engine sets.
"""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Double,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    Time,
    UniqueConstraint,
    false,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

# Statuses, kinds and limits live in the leaf both layers import (storage/domain.py);
# they are named here too, where the tables use them.
from storage.domain import (  # noqa: F401 - re-exported for storage's modules
    NAME_MAX,
    SLACK_ID_MAX,
    TEXT_MAX,
    TITLE_MAX,
    Audience,
    DigestFrequency,
    ItemStatus,
    PlanStatus,
    SwotKind,
)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class UTC(TypeDecorator):
    """Timezone-aware UTC datetimes on every database (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: store UTC with tzinfo")
        value = value.astimezone(dt.timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc)


def _enum(cls: type[enum.StrEnum], name: str) -> Enum:
    # VARCHAR + CHECK on every database: no native PostgreSQL ENUM types to migrate.
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=16,
        values_callable=lambda e: [m.value for m in e],
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Versioned:
    """Optimistic concurrency: `version` goes up by one on every UPDATE."""

    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UTC, nullable=False, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(
        UTC, nullable=False, default=utcnow, onupdate=utcnow
    )


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
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[str] = mapped_column(String(SLACK_ID_MAX), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[PlanStatus] = mapped_column(
        _enum(PlanStatus, "plan_status"), default=PlanStatus.DRAFT
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
        _enum(ItemStatus, "item_status"), default=ItemStatus.OPEN
    )
    done_at: Mapped[dt.datetime | None] = mapped_column(UTC, nullable=True)
    done_by: Mapped[str | None] = mapped_column(String(SLACK_ID_MAX), nullable=True)
    team_only: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str | None] = mapped_column(String(SLACK_ID_MAX), nullable=True)

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
    kind: Mapped[SwotKind] = mapped_column(_enum(SwotKind, "swot_kind"))
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


# ---------------------------------------------------------------------------
# Sharing: digests to channels, canvases


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
    frequency: Mapped[DigestFrequency] = mapped_column(_enum(DigestFrequency, "digest_frequency"))
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
    reason: Mapped[DigestReason] = mapped_column(_enum(DigestReason, "digest_reason"))
    audience: Mapped[Audience] = mapped_column(_enum(Audience, "audience"))
    posted_by: Mapped[str | None] = mapped_column(String(SLACK_ID_MAX), nullable=True)
    posted_at: Mapped[dt.datetime] = mapped_column(UTC, default=utcnow)


class PlanCanvas(Base):
    """The plan published as a Slack canvas: one per audience, updated in place."""

    __tablename__ = "plan_canvases"
    __table_args__ = (UniqueConstraint("plan_id", "audience"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[str] = mapped_column(String(SLACK_ID_MAX))
    plan_id: Mapped[int] = mapped_column(ForeignKey("account_plans.id", ondelete="CASCADE"))
    audience: Mapped[Audience] = mapped_column(_enum(Audience, "audience"))
    canvas_id: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[dt.datetime] = mapped_column(UTC, default=utcnow, onupdate=utcnow)


# ---------------------------------------------------------------------------
# Reminders: assignment DMs, due and overdue reminders, weekly summaries
# (rules in storage/reminders.py; sending in bot/reminder_jobs.py)


class Delivery:
    """What the scheduler keeps on every row it sends a DM from (see storage.claims).

    Each table indexes (next_run_at, id), the order claim_due takes due rows in: many
    reminders fall due at the same instant (09:00 in one zone), and an index on the time
    alone would make every claim read and sort all of them to take the first batch.

    `next_run_at`: when a pass should look at the row next (None: nothing to send).
    `locked_until`: the lease of the pass working on it, or after a passing Slack failure
    the time before which nobody tries again. `attempted_at`: a send began and nobody
    knows how it ended (a time-out, a crash), so the next attempt first looks whether
    the message arrived. `sends` counts the DMs sent; with the row's id it names each
    one (the dedupe key). `failures` counts passing failures in a row (back-off);
    `last_error` is the Slack error that stopped the row for good, if any.
    """

    next_run_at: Mapped[dt.datetime | None] = mapped_column(UTC, nullable=True)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTC, nullable=True)
    attempted_at: Mapped[dt.datetime | None] = mapped_column(UTC, nullable=True)
    sends: Mapped[int] = mapped_column(Integer, default=0)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_sent_at: Mapped[dt.datetime | None] = mapped_column(UTC, nullable=True)
    last_error: Mapped[str] = mapped_column(String(255), default="")


class ItemReminder(Delivery, Base):
    """The reminders of one open, assigned action item to its assignee.

    Which reminders went out for the current due date (`soon_sent`, `overdue_sent`), a
    snooze, who assigned the item, and the latest DM about it (updated when it is done).
    `needs_schedule`: the item or its plan changed, so the next pass works out
    `next_run_at` again (it is then due at once).
    """

    __tablename__ = "item_reminders"
    __table_args__ = (
        UniqueConstraint("action_item_id"),
        Index("ix_item_reminders_due", "next_run_at", "id"),
        Index("ix_item_reminders_team_assignee", "team_id", "assignee_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    action_item_id: Mapped[int] = mapped_column(ForeignKey("action_items.id", ondelete="CASCADE"))
    team_id: Mapped[str] = mapped_column(String(SLACK_ID_MAX))
    assignee_id: Mapped[str] = mapped_column(String(SLACK_ID_MAX))
    assigned_by: Mapped[str | None] = mapped_column(String(SLACK_ID_MAX), nullable=True)
    due_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    soon_sent: Mapped[bool] = mapped_column(Boolean, default=False)
    overdue_sent: Mapped[int] = mapped_column(Integer, default=0)
    snoozed_until: Mapped[dt.datetime | None] = mapped_column(UTC, nullable=True)
    needs_schedule: Mapped[bool] = mapped_column(Boolean, default=True)
    dm_channel_id: Mapped[str | None] = mapped_column(String(SLACK_ID_MAX), nullable=True)
    dm_ts: Mapped[str | None] = mapped_column(String(32), nullable=True)


class NotificationKind(enum.StrEnum):
    ASSIGNED = "assigned"  # to the new assignee
    UNASSIGNED = "unassigned"  # to the previous assignee
    DONE = "done"  # to whoever assigned the item
    DM_UPDATE = "dm_update"  # chat.update of an earlier DM: done, deleted, reassigned


class Notification(Delivery, Base):
    """A one-off DM about an action item: an outbox row.

    Written in the same transaction as the change it tells of, so nothing is told that
    did not happen and nothing that happened goes untold: it is sent right after the
    request, or by the next scheduler pass if Slack failed then. `action_item_id` has
    no foreign key: a DM about a deleted item is still updated.
    """

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_due", "next_run_at", "id"),
        Index("ix_notifications_item", "action_item_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[str] = mapped_column(String(SLACK_ID_MAX))
    kind: Mapped[NotificationKind] = mapped_column(_enum(NotificationKind, "notification_kind"))
    user_id: Mapped[str] = mapped_column(String(SLACK_ID_MAX))
    action_item_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    actor_id: Mapped[str] = mapped_column(String(SLACK_ID_MAX))
    details: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTC, default=utcnow)


class Person(Base):
    """What Slack told us about a person: time zone (users.info, user_change) and the
    channel of our DMs with them. `fetched_at` is when users.info last answered."""

    __tablename__ = "people"

    team_id: Mapped[str] = mapped_column(String(SLACK_ID_MAX), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(SLACK_ID_MAX), primary_key=True)
    timezone: Mapped[str | None] = mapped_column(String(64), nullable=True)
    fetched_at: Mapped[dt.datetime | None] = mapped_column(UTC, nullable=True)
    lookup_error: Mapped[str] = mapped_column(String(64), default="")
    dm_channel_id: Mapped[str | None] = mapped_column(String(SLACK_ID_MAX), nullable=True)


class WeeklySummary(Delivery, Base):
    """Someone's Monday summary of their open action items, unless they muted it."""

    __tablename__ = "weekly_summaries"
    __table_args__ = (
        UniqueConstraint("team_id", "user_id"),
        Index("ix_weekly_summaries_due", "next_run_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[str] = mapped_column(String(SLACK_ID_MAX))
    user_id: Mapped[str] = mapped_column(String(SLACK_ID_MAX))
    muted: Mapped[bool] = mapped_column(Boolean, default=False)
    needs_schedule: Mapped[bool] = mapped_column(Boolean, default=True)


# ---------------------------------------------------------------------------
# Slack's rate limits, kept by every instance together (bot/ratelimit.py)


class RateBudget(Base):
    """One budget of Slack Web API calls, shared by every instance through this table.

    `bucket` is a method name (chat.postMessage, users.info, …: Slack limits each per
    workspace), "#" + a channel (chat.postMessage in one channel) or "pause" (Slack
    said 429: nothing goes to the workspace before `next_free_at`). `team_id` "" holds
    database-wide budgets (housekeeping jobs). `next_free_at` is when the last call
    reserved may go, in seconds since the epoch (a virtual-scheduling token bucket:
    each reservation moves it on by `spacing`, the seconds between calls at the
    limit's rate; storage/rate_budget.py). A row is idle once `next_free_at` has passed
    by a burst's worth: deleting it changes nothing.
    """

    __tablename__ = "rate_budgets"

    team_id: Mapped[str] = mapped_column(String(SLACK_ID_MAX), primary_key=True)
    bucket: Mapped[str] = mapped_column(String(64), primary_key=True)
    next_free_at: Mapped[float] = mapped_column(Double)
    spacing: Mapped[float] = mapped_column(Double)
