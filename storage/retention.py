"""Pruning what the scheduler is done with, so its tables stay the size of what is
still going on rather than of everything that ever was.

Deleted once older than the retention period (ACCOUNTPLAN_RETENTION_DAYS, 90 days by
default), counted back from the pass's `now` (or from today, if that is earlier: a
pass replayed in the future deletes nothing that is still within it today):
- notifications that are over: sent, refused for good, or overtaken (`next_run_at`
  empty and no lease), made before then;
- the reminder rows of action items done before then (reopened, such an item starts its
  reminders anew, as a newly assigned one does);
- digest posts made before then, except the latest of each plan in each channel:
  "since the last digest" starts there, and a person from another organisation may
  read a plan where its digest was posted;
- progress check-ins (checkin_requests) at rest (answered, reminded, dropped or refused
  for good: nothing more to send) whose round ended and whose last news (sent,
  reminded, answered) came before then. A round that ended is never made again (only
  rounds open today or tomorrow are, storage/checkin_rounds.py), so the unique row
  that stopped a second DM is not needed any more. Kept however old: those sent after
  the plan's latest QBR ("since the last QBR"; the digest's counts read objectives,
  but a check-in of that period stays readable beside them);
- rate budgets (storage/rate_budget.py) of workspaces idle for a day: an idle budget
  is full, the same as none.

Kept, however old: a notification still due or leased (its DM may be out with its
outcome unknown: the next attempt looks for its key in the DM first); the reminder row
of every item that is not done (the latest DM about it, which "done" redraws; how many
reminders it had, for when it is due again); weekly summaries and people (a row per
person); the change log; plans and everything in them.

Each statement deletes at most `batch` rows, listed by walking an index in primary-key
order (the resting rows of notifications and item_reminders: (next_run_at, id), with
next_run_at empty; digest_posts: its primary key) and deleted by primary key in a short
transaction of its own, with every condition checked again there: the scheduler's
claims and people's requests wait for one batch at most, and a row that changed
meanwhile (a reopened item, a notification due again) stays.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, and_, delete, exists, func, or_, select
from sqlalchemy.orm import Session, aliased, sessionmaker

from storage import rate_budget
from storage.checkin_rounds import round_last_day
from storage.db import transaction
from storage.models import (
    ActionItem,
    CheckinRequest,
    DigestPost,
    ItemReminder,
    ItemStatus,
    Notification,
    QbrReview,
    utcnow,
)

DEFAULT_RETENTION = dt.timedelta(days=90)
BATCH = 500
MAX_BATCHES = 2000  # per table and pass (a million rows looked at); the next pass goes on
BUDGET_IDLE = dt.timedelta(days=1)


@dataclass
class Pruned:
    """Rows deleted by one pass, per table."""

    cutoff: dt.datetime
    deleted: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.deleted.values())

    def __str__(self) -> str:
        parts = ", ".join(f"{table} {count}" for table, count in self.deleted.items() if count)
        return f"pruned what ended before {self.cutoff.isoformat()}: {parts or 'nothing'}"


def prune(session_factory: sessionmaker[Session], *, now: dt.datetime,
          retention: dt.timedelta = DEFAULT_RETENTION, batch: int = BATCH) -> Pruned:
    """One pruning pass over every table (see the module docstring)."""
    today = min(now, utcnow())
    cutoff = today - retention
    report = Pruned(cutoff)
    report.deleted["notifications"] = prune_notifications(session_factory, before=cutoff, now=now, batch=batch)
    report.deleted["item_reminders"] = prune_item_reminders(session_factory, before=cutoff, now=now, batch=batch)
    report.deleted["digest_posts"] = prune_digest_posts(session_factory, before=cutoff, batch=batch)
    report.deleted["checkin_requests"] = prune_checkin_requests(session_factory, before=cutoff, now=now,
                                                                batch=batch)
    report.deleted["rate_budgets"] = prune_rate_budgets(session_factory, before=today - BUDGET_IDLE, batch=batch)
    return report


def _walk(session_factory: sessionmaker[Session], *, batch: int,
          page: Callable[[Session, int], list[tuple[int, bool]]],
          doomed: ColumnElement[bool], model, stop_at_young: bool) -> int:
    """Pages of (id, old enough) in id order; deletes those ids of each page for which
    `doomed` (every condition, checked again) still holds. `stop_at_young`: ids grow
    with age in this table, so the first row too young ends the walk."""
    after, deleted = 0, 0
    for _ in range(MAX_BATCHES):
        with transaction(session_factory) as session:
            rows = page(session, after)
            if not rows:
                break
            old = [row_id for row_id, is_old in rows if is_old]
            if old:
                deleted += session.execute(
                    delete(model).where(model.id.in_(old), doomed)
                    .execution_options(synchronize_session=False)
                ).rowcount
        after = rows[-1][0]
        if len(rows) < batch or (stop_at_young and len(old) < len(rows)):
            break
    return deleted


def _no_lease(model, now: dt.datetime) -> ColumnElement[bool]:
    return or_(model.locked_until.is_(None), model.locked_until < now)


def prune_notifications(session_factory: sessionmaker[Session], *, before: dt.datetime,
                        now: dt.datetime, batch: int = BATCH) -> int:
    """Notifications that are over and were made before `before`."""
    def page(session: Session, after: int) -> list[tuple[int, bool]]:
        return [(row_id, created < before) for row_id, created in session.execute(
            select(Notification.id, Notification.created_at)
            .where(Notification.next_run_at.is_(None), Notification.id > after)
            .order_by(Notification.next_run_at, Notification.id).limit(batch))]

    doomed = and_(Notification.next_run_at.is_(None), _no_lease(Notification, now),
                  Notification.created_at < before,
                  func.coalesce(Notification.last_sent_at, Notification.created_at) < before)

    return _walk(session_factory, batch=batch, page=page, doomed=doomed, model=Notification,
                 stop_at_young=True)


def prune_item_reminders(session_factory: sessionmaker[Session], *, before: dt.datetime,
                         now: dt.datetime, batch: int = BATCH) -> int:
    """Reminder rows of items done before `before` (resting rows only: a done item's)."""
    def page(session: Session, after: int) -> list[tuple[int, bool]]:
        return [(row_id, True) for row_id in session.scalars(
            select(ItemReminder.id)
            .where(ItemReminder.next_run_at.is_(None), ItemReminder.id > after)
            .order_by(ItemReminder.next_run_at, ItemReminder.id).limit(batch))]

    done_long_ago = exists().where(
        ActionItem.id == ItemReminder.action_item_id, ActionItem.status == ItemStatus.DONE,
        func.coalesce(ActionItem.done_at, ActionItem.updated_at) < before)
    doomed = and_(ItemReminder.next_run_at.is_(None), _no_lease(ItemReminder, now), done_long_ago)

    return _walk(session_factory, batch=batch, page=page, doomed=doomed, model=ItemReminder,
                 stop_at_young=False)


def prune_digest_posts(session_factory: sessionmaker[Session], *, before: dt.datetime,
                       batch: int = BATCH) -> int:
    """Digest posts made before `before` that a later post to the same channel about
    the same plan follows."""
    newer = aliased(DigestPost)

    def page(session: Session, after: int) -> list[tuple[int, bool]]:
        return [(row_id, posted < before) for row_id, posted in session.execute(
            select(DigestPost.id, DigestPost.posted_at).where(DigestPost.id > after)
            .order_by(DigestPost.id).limit(batch))]

    followed = exists().where(
        newer.plan_id == DigestPost.plan_id, newer.channel_id == DigestPost.channel_id,
        or_(newer.posted_at > DigestPost.posted_at,
            and_(newer.posted_at == DigestPost.posted_at, newer.id > DigestPost.id)))
    doomed = and_(DigestPost.posted_at < before, followed)

    return _walk(session_factory, batch=batch, page=page, doomed=doomed, model=DigestPost,
                 stop_at_young=True)


def prune_checkin_requests(session_factory: sessionmaker[Session], *, before: dt.datetime,
                           now: dt.datetime, batch: int = BATCH) -> int:
    """Check-in rows at rest whose round ended and whose last news came before `before`,
    but none sent since the plan's latest QBR."""
    today = min(now, utcnow()).date()

    def page(session: Session, after: int) -> list[tuple[int, bool]]:
        # The round's end is in its key (immutable): worked out here, not in SQL.
        return [(row_id, (round_last_day(key) or today) < min(today, before.date()))
                for row_id, key in session.execute(
                    select(CheckinRequest.id, CheckinRequest.round_key)
                    .where(CheckinRequest.next_run_at.is_(None), CheckinRequest.id > after)
                    .order_by(CheckinRequest.next_run_at, CheckinRequest.id).limit(batch))]

    last_news = func.coalesce(CheckinRequest.answered_at, CheckinRequest.reminded_at, CheckinRequest.sent_at,
                              CheckinRequest.last_sent_at, CheckinRequest.created_at)
    reviewed = exists().where(QbrReview.plan_id == CheckinRequest.plan_id)
    reviewed_since = exists().where(QbrReview.plan_id == CheckinRequest.plan_id,
                                    QbrReview.held_on >= CheckinRequest.send_on)
    doomed = and_(CheckinRequest.next_run_at.is_(None), _no_lease(CheckinRequest, now),
                  CheckinRequest.created_at < before, last_news < before,
                  or_(~reviewed, reviewed_since))

    return _walk(session_factory, batch=batch, page=page, doomed=doomed, model=CheckinRequest,
                 stop_at_young=False)


def prune_rate_budgets(session_factory: sessionmaker[Session], *, before: dt.datetime,
                       batch: int = BATCH) -> int:
    """Rate budgets whose last slot went before `before`."""
    deleted = 0
    for _ in range(MAX_BATCHES):
        with transaction(session_factory) as session:
            count = rate_budget.delete_idle(session.connection(), before=before.timestamp(), batch=batch)
        deleted += count
        if count < batch:
            break
    return deleted
