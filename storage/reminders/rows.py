"""The reminder rows and what a DM says: the constants, an item's facts (read in one
query), and the steps that start, reset and read the rows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from storage import people
from storage.domain import Actor
from storage.models import (
    AccountPlan,
    ActionItem,
    ItemReminder,
    ItemStatus,
    Notification,
    NotificationKind,
    Objective,
    PlanStatus,
    Stakeholder,
    Strategy,
    WeeklySummary,
)
from storage.reminder_calendar import Sent
from storage.upsert import insert_missing


# "Due at once": any pass takes the row first, whatever `now` it runs with.
ASAP = dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)
SNOOZE_DAYS = (1, 7)
REMINDING = (PlanStatus.DRAFT, PlanStatus.ACTIVE)
SUMMARY_ITEMS_MAX = 20
# A row that had nothing to send is looked at again no sooner than this: a pass never
# takes the same row twice for nothing.
MIN_STEP = dt.timedelta(minutes=1)
BACKOFF_MAX = dt.timedelta(hours=1)


# ---------------------------------------------------------------------------
# What a DM about an item says (read in one query)


@dataclass(frozen=True)
class ItemFacts:
    item_id: int
    team_id: str
    title: str
    due_date: dt.date | None
    done: bool
    assignee_id: str | None
    plan_id: int
    plan_name: str
    plan_status: PlanStatus
    lead_days: int
    objective: str
    strategy: str
    # An external audience sees the item: it, its objective and its strategy are all
    # "Shared with customer". A person from another organisation is DMed about it only then.
    shared: bool = False
    # A customer-owned item (storage.customer_items): the plan's "Customer channel", the
    # customer contact without Slack it belongs to (their name), and who follows it up
    # (follow_up_owner: the one rule).
    customer_channel: str | None = None
    contact_name: str | None = None
    follow_up_id: str | None = None
    follow_up_set: bool = False  # the item names its follow-up owner itself

    @property
    def maybe_customers(self) -> bool:
        """Worth asking whether the assignee is a customer before a reminder: the plan
        has a customer channel, or the item was given a follow-up owner or a contact."""
        return bool(self.customer_channel or self.contact_name or self.follow_up_set)

    @property
    def reminding(self) -> bool:
        return not self.done and self.assignee_id is not None and self.plan_status in REMINDING


def follow_up_owner(follow_up_id: str | None, assigned_by: str | None, created_by: str | None,
                    plan_owner: str | None) -> str | None:
    """Who follows an item up (the one rule: the reminders forwarded to them, the "done"
    and "more time" notices): its Follow-up, else whoever last set its assignee, else
    its creator, else the plan's owner. The item form stores the Follow-up (the person
    saving it when left empty) for a customer's item, so the rest covers items written
    in bulk or before the Follow-up existed."""
    return follow_up_id or assigned_by or created_by or plan_owner


# An external audience sees the item (storage.plans.reads: the allow-list).
SHOWN_TO_CUSTOMER = and_(ActionItem.shared_with_customer.is_(True), Objective.shared_with_customer.is_(True),
                         Strategy.shared_with_customer.is_(True))
WITHHELD = "withheld: the person is from another organisation and this item is not shared with them"


def facts_query():
    return (
        select(ActionItem.id, ActionItem.team_id, ActionItem.title, ActionItem.due_date,
               ActionItem.status, ActionItem.assignee_id, ActionItem.plan_id, AccountPlan.name,
               AccountPlan.status, AccountPlan.reminder_lead_days, Objective.title, Strategy.title,
               SHOWN_TO_CUSTOMER, AccountPlan.customer_channel_id, Stakeholder.name,
               ActionItem.follow_up_id, ItemReminder.assigned_by, ActionItem.created_by, AccountPlan.owner_id)
        .join(AccountPlan, AccountPlan.id == ActionItem.plan_id)
        .join(Objective, Objective.id == ActionItem.objective_id)
        .join(Strategy, Strategy.id == Objective.strategy_id)
        .outerjoin(Stakeholder, Stakeholder.id == ActionItem.customer_contact_id)
        .outerjoin(ItemReminder, ItemReminder.action_item_id == ActionItem.id)
    )


def facts_of(row) -> ItemFacts:
    (item_id, team_id, title, due, status, assignee, plan_id, plan_name, plan_status, lead,
     objective, strategy, shared, channel, contact, follow_up, assigner, creator, owner) = row
    return ItemFacts(item_id, team_id, title, due, status == ItemStatus.DONE, assignee, plan_id,
                     plan_name, plan_status, lead, objective, strategy, bool(shared),
                     customer_channel=channel, contact_name=contact,
                     follow_up_id=follow_up_owner(follow_up, assigner, creator, owner), follow_up_set=follow_up is not None)


def item_facts(session: Session, item_ids: Iterable[int]) -> dict[int, ItemFacts]:
    ids = sorted(set(item_ids))
    if not ids:
        return {}
    # In id order: callers list them as they come.
    rows = session.execute(facts_query().where(ActionItem.id.in_(ids)).order_by(ActionItem.id))
    return {f.item_id: f for f in map(facts_of, rows)}


def open_items_of(session: Session, team_id: str, user_id: str, *, limit: int,
                  shared_only: bool = False) -> tuple[list[ItemFacts], int]:
    """Someone's open items in draft and active plans, overdue and soonest first; and
    how many more there are. `shared_only`: only those shown to customers (for a
    person from another organisation)."""
    where = (ActionItem.team_id == team_id, ActionItem.assignee_id == user_id,
             ActionItem.status == ItemStatus.OPEN, AccountPlan.status.in_(REMINDING),
             *((SHOWN_TO_CUSTOMER,) if shared_only else ()))
    rows = session.execute(
        facts_query().where(*where)
        .order_by(case((ActionItem.due_date.is_(None), 1), else_=0), ActionItem.due_date, ActionItem.id)
        .limit(limit)
    ).all()
    items = [facts_of(r) for r in rows]
    more = 0
    if len(items) == limit:
        count = select(func.count(ActionItem.id)).join(AccountPlan, AccountPlan.id == ActionItem.plan_id)
        if shared_only:
            count = (count.join(Objective, Objective.id == ActionItem.objective_id)
                     .join(Strategy, Strategy.id == Objective.strategy_id))
        total = session.scalar(count.where(*where))
        more = total - limit
    return items, more


def all_open_items_shown(session: Session, team_id: str, user_id: str) -> bool:
    """Whether every open item of someone (in draft and active plans) is shown to
    customers: then a summary of them may go to anyone."""
    hidden = (
        select(ActionItem.id)
        .join(AccountPlan, AccountPlan.id == ActionItem.plan_id)
        .join(Objective, Objective.id == ActionItem.objective_id)
        .join(Strategy, Strategy.id == Objective.strategy_id)
        .where(ActionItem.team_id == team_id, ActionItem.assignee_id == user_id,
               ActionItem.status == ItemStatus.OPEN, AccountPlan.status.in_(REMINDING),
               ~SHOWN_TO_CUSTOMER)
        .limit(1)
    )
    return session.scalar(hidden) is None


# ---------------------------------------------------------------------------
# The rows


def item_row(session: Session, item_id: int, *, lock: bool = False) -> ItemReminder | None:
    """The item's reminder row. `lock`: the row's DM and the item's state are read
    together with the scheduler recording a DM (a row lock on PostgreSQL; SQLite writes
    one transaction at a time), so "done" and "the DM went out" never miss each other."""
    query = select(ItemReminder).where(ItemReminder.action_item_id == item_id)
    return session.scalars(query.with_for_update() if lock else query).one_or_none()


def reschedule(row: ItemReminder | WeeklySummary) -> None:
    row.needs_schedule = True
    row.next_run_at = ASAP
    # Clearing the lease is the fence: a pass sending from the old state cannot record it.
    row.locked_until = None


def start_reminders(session: Session, item: ActionItem, *, assigned_by: str | None) -> ItemReminder:
    """The item's reminders from scratch, for its current assignee."""
    row = item_row(session, item.id)
    if row is None:
        # INSERT … ON CONFLICT DO NOTHING, then read: the scheduler (sync_new_plans) or a
        # second click (snooze) may be making the same row at the same moment.
        insert_missing(session, ItemReminder, [dict(
            action_item_id=item.id, team_id=item.team_id, assignee_id=item.assignee_id, sends=0,
            failures=0, last_error="", soon_sent=False, overdue_sent=0, needs_schedule=True,
        )], keys=("action_item_id",))
        row = item_row(session, item.id)
    row.assignee_id = item.assignee_id
    row.assigned_by = assigned_by
    row.due_date = item.due_date
    row.soon_sent, row.overdue_sent, row.snoozed_until = False, 0, None
    row.dm_channel_id = row.dm_ts = None
    row.attempted_at, row.failures, row.last_error = None, 0, ""
    reschedule(row)
    ensure_summary(session, item.team_id, item.assignee_id)
    people.ensure(session, [(item.team_id, item.assignee_id)])
    return row


def ensure_summary(session: Session, team_id: str, user_id: str) -> None:
    insert_missing(session, WeeklySummary,
                   [dict(team_id=team_id, user_id=user_id, muted=False, needs_schedule=True,
                         next_run_at=ASAP, sends=0, failures=0, last_error="")],
                   keys=("team_id", "user_id"))


def summary_row(session: Session, team_id: str, user_id: str) -> WeeklySummary | None:
    return session.scalars(
        select(WeeklySummary).where(WeeklySummary.team_id == team_id, WeeklySummary.user_id == user_id)
    ).one_or_none()


def notify(session: Session, item: ActionItem, kind: NotificationKind, user_id: str,
            actor: Actor, **details: Any) -> None:
    session.add(Notification(
        team_id=item.team_id, kind=kind, user_id=user_id, action_item_id=item.id,
        actor_id=actor.user_id, details=details or None, next_run_at=ASAP, sends=0,
        failures=0, last_error="",
    ))


def about(session: Session, item: ActionItem) -> dict[str, Any]:
    """What a notification must say about an item that may be gone when it is sent."""
    plan_name = session.scalar(select(AccountPlan.name).where(AccountPlan.id == item.plan_id))
    return dict(title=item.title, plan_id=item.plan_id, plan_name=plan_name)


def in_channel(channel: str | None) -> bool:
    """The row's message is a post in a conversation, not a DM (D…): a customer's
    reminder in the plan's customer channel (bot/scheduler/customer_reminders.py). Its
    redraw is the channel's own, never a DM's (which names the plan, with "Open plan")."""
    return bool(channel) and not channel.startswith("D")


def redraw_if_overtaken(session: Session, item_id: int | None, user_id: str, channel: str | None,
                         ts: str | None) -> None:
    """A DM about the item just went out to `user_id`, but the item was done, reassigned
    or deleted meanwhile (the change saw no DM to redraw yet): redraw this one."""
    if not (item_id and channel and ts):
        return
    item = session.get(ActionItem, item_id, populate_existing=True)
    if item is None:
        return  # deleted: its own redraw went to the DM it knew of; this one keeps buttons that say so when pressed
    if item.is_done:
        state, actor, extra = "done", item.done_by or user_id, {}
    elif item.assignee_id != user_id:
        state, actor, extra = "reassigned", user_id, {"to": item.assignee_id}
    else:
        return
    session.add(Notification(
        team_id=item.team_id, kind=NotificationKind.DM_UPDATE, user_id=user_id, action_item_id=item.id,
        actor_id=actor, details=dict(channel=channel, ts=ts, state=state, **about(session, item), **extra,
                                     **({"in_channel": True} if in_channel(channel) else {})),
        next_run_at=ASAP, sends=0, failures=0, last_error="",
    ))


def sent_of(row: ItemReminder) -> Sent:
    return Sent(soon=bool(row.soon_sent), overdue=row.overdue_sent or 0,
                snoozed_until=row.snoozed_until, last_at=row.last_sent_at)
