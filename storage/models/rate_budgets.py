"""The table of Slack's rate limits, kept by every instance together (bot/slack/ratelimit.py,
storage/rate_budget.py)."""

from __future__ import annotations

from sqlalchemy import Double, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.domain import SLACK_ID_MAX
from storage.models.base import Base


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
