"""The steps every change takes: the change log, the flush that turns a lost race into
a Conflict, version checks, the plan lock that orders a plan's children, positions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from storage.domain import Actor
from storage.errors import Conflict, NotFound
from storage.models import (
    TEXT_MAX,
    Account,
    AccountPlan,
    ActionItem,
    ChangeLogEntry,
    Objective,
    Strategy,
    SwotEntry,
    utcnow,
)
from storage.upsert import insert_missing


def log_change(
    session: Session,
    actor: Actor,
    plan_id: int | None,
    entity: str,
    entity_id: int | None,
    action: str,
    summary: str,
    details: dict | None = None,
) -> None:
    session.add(
        ChangeLogEntry(
            team_id=actor.team_id,
            plan_id=plan_id,
            actor_id=actor.user_id,
            entity=entity,
            entity_id=entity_id,
            action=action,
            summary=summary[:TEXT_MAX],
            details=details,
        )
    )


# The fields of each part the customer view shows (storage/plans/reads.py's allow-list
# reads these). An edit of other fields (an item's notes, an objective's current value,
# which is progress) is logged as UPDATED_INTERNALLY: the customer's agreement and a
# shared channel's digest leave it out.
CUSTOMER_FIELDS = {
    "strategy": frozenset({"title", "description", "shared_with_customer"}),
    "objective": frozenset({"title", "description", "measure_unit", "target_value",
                            "shared_with_customer"}),
    "action_item": frozenset({"title", "assignee_id", "due_date", "shared_with_customer"}),
}
UPDATED_INTERNALLY = "updated_internally"


def set_fields(record, fields: dict) -> list[str]:
    """Set the record's fields; returns the names of those whose value changed."""
    changed = [name for name, value in fields.items() if getattr(record, name) != value]
    for name in changed:
        setattr(record, name, fields[name])
    return changed


def log_edit(session: Session, actor: Actor, record, entity: str, changed: list[str], summary: str) -> None:
    """Log an edit of a strategy, objective or action item, saying which fields changed
    (details["fields"]); an edit that changed nothing is not logged."""
    if not changed:
        return
    seen = CUSTOMER_FIELDS[entity].intersection(changed)
    log_change(session, actor, record.plan_id, entity, record.id, "updated" if seen else UPDATED_INTERNALLY,
               summary, {"fields": sorted(changed)})


def flush_or_conflict(session: Session) -> None:
    """Flush; a versioned UPDATE that matched no row means someone else saved first.

    The failed flush has already rolled the database transaction back; the session then
    refuses further work until the caller rolls it back (its transaction block does).
    No rollback here: that would end the caller's transaction behind its back, and work
    it did after catching Conflict would be committed without what came before.
    """
    try:
        session.flush()
    except StaleDataError:
        raise Conflict("Someone else changed this while you were editing; nothing was saved.") from None
    except IntegrityError:
        # Input is checked before anything is written, so a constraint that fails here
        # is a race: a parent deleted or a row created by someone else meanwhile.
        raise Conflict(
            "Someone else changed or deleted this at the same moment; nothing was saved. "
            "Open it again to see their changes."
        ) from None


def check_version(record, expected_version: int | None) -> None:
    if expected_version is not None and record.version != expected_version:
        raise Conflict(
            "Someone else changed this while you were editing; nothing was saved. "
            "Open it again to see their changes."
        )


def account_named(session: Session, team_id: str, name: str) -> Account:
    """The workspace's account of that name, made if new. Two requests making the same
    one at once both end with the one row: INSERT … ON CONFLICT DO NOTHING waits for the
    other's transaction (PostgreSQL; SQLite has one writer at a time), then read."""
    query = select(Account).where(Account.team_id == team_id, Account.name == name)
    account = session.scalars(query).one_or_none()
    if account is None:
        insert_missing(session, Account, [dict(team_id=team_id, name=name, created_at=utcnow())],
                       keys=("team_id", "name"))
        account = session.scalars(query).one()
    return account


def lock_plan(session: Session, plan_id: int) -> tuple[dt.date, dt.date]:
    """Serialize changes to one plan's children: positions (add, move, delete), due dates
    against the plan's dates. Returns the plan's (start_date, end_date) as they are now.

    PostgreSQL: the plan row FOR NO KEY UPDATE until the transaction ends (inserting
    children, which takes KEY SHARE, is not blocked); every statement after it sees
    what an earlier holder committed. SQLite has one writer at a time: a no-op UPDATE
    of the plan row takes the write lock now, so what is read after it is the latest.
    NotFound if the plan was deleted meanwhile.
    """
    table = AccountPlan.__table__
    dates = select(table.c.start_date, table.c.end_date).where(table.c.id == plan_id)
    if session.get_bind().dialect.name == "postgresql":
        row = session.execute(dates.with_for_update(key_share=True)).first()
    else:
        session.execute(
            table.update().where(table.c.id == plan_id).values(updated_at=table.c.updated_at)
        )
        row = session.execute(dates).first()
    if row is None:
        raise NotFound("This plan was deleted meanwhile; nothing was saved.")
    return row[0], row[1]


def still_there(session: Session, model, record_id: int, what: str) -> None:
    """After lock_plan: NotFound if the record (a parent) was deleted meanwhile."""
    if session.scalar(select(model.id).where(model.id == record_id)) is None:
        raise NotFound(f"That {what} was deleted meanwhile; nothing was saved.")


def next_position(session: Session, model, parent_col, parent_id: int) -> int:
    """The end of the parent's list. Read after lock_plan (see there)."""
    highest = session.scalar(select(func.max(model.position)).where(parent_col == parent_id))
    return 0 if highest is None else highest + 1


def siblings_of(session: Session, record, *, unchanged: bool = False) -> list:
    """The record and its siblings in order, as the database has them now.

    Read after lock_plan: objects this session loaded before are refreshed (a position
    someone else changed meanwhile is seen). Conflict, before anything is written, if
    the record is no longer there, or (`unchanged`) if someone else saved it since this
    session read it: its version check would otherwise be lost in the refresh.
    """
    model = type(record)
    version = record.version
    if model is Strategy:
        where = [Strategy.plan_id == record.plan_id]
    elif model is Objective:
        where = [Objective.strategy_id == record.strategy_id]
    elif model is ActionItem:
        where = [ActionItem.objective_id == record.objective_id]
    else:
        where = [SwotEntry.plan_id == record.plan_id, SwotEntry.kind == record.kind]
    siblings = list(session.scalars(
        select(model).where(*where).order_by(model.position, model.id)
        .execution_options(populate_existing=True)
    ))
    if not any(s is record for s in siblings) or (unchanged and record.version != version):
        raise Conflict(
            "Someone else changed or deleted this while you were editing; nothing was saved. "
            "Open it again to see their changes."
        )
    return siblings


def remove_child(session: Session, actor: Actor, record, entity: str, summary: str) -> None:
    """Delete a strategy, objective, action item or SWOT entry (what is under it goes by
    ON DELETE CASCADE), log it, and close the gap in its siblings' positions."""
    lock_plan(session, record.plan_id)
    siblings = siblings_of(session, record, unchanged=True)
    log_change(session, actor, record.plan_id, entity, record.id, "deleted", summary)
    session.delete(record)
    renumber([s for s in siblings if s.id != record.id])
    flush_or_conflict(session)


def renumber(records: Sequence) -> None:
    for index, record in enumerate(records):
        if record.position != index:
            record.position = index
