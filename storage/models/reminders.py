"""The tables the scheduler sends DMs from: item reminders, the outbox of one-off
notifications, weekly summaries, and what Slack told us about people.

Rules in storage/reminders/; sending in bot/scheduler/reminder_jobs.py.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.domain import SLACK_ID_MAX
from storage.models.base import UTC, Base, str_enum, utcnow


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
    kind: Mapped[NotificationKind] = mapped_column(str_enum(NotificationKind, "notification_kind"))
    user_id: Mapped[str] = mapped_column(String(SLACK_ID_MAX))
    action_item_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    actor_id: Mapped[str] = mapped_column(String(SLACK_ID_MAX))
    details: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTC, default=utcnow)


class Person(Base):
    """What Slack told us about a person: time zone (users.info, user_change), the
    channel of our DMs with them, and whether they belong to another organisation.
    `fetched_at` is when users.info last answered about the time zone."""

    __tablename__ = "people"

    team_id: Mapped[str] = mapped_column(String(SLACK_ID_MAX), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(SLACK_ID_MAX), primary_key=True)
    timezone: Mapped[str | None] = mapped_column(String(64), nullable=True)
    fetched_at: Mapped[dt.datetime | None] = mapped_column(UTC, nullable=True)
    lookup_error: Mapped[str] = mapped_column(String(64), default="")
    dm_channel_id: Mapped[str | None] = mapped_column(String(SLACK_ID_MAX), nullable=True)
    # From another organisation (Slack Connect), as users.info said; None: not asked yet.
    # Such a person is DMed only about action items shared with the customer.
    external: Mapped[bool | None] = mapped_column(Boolean, nullable=True)


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

