"""Reading plans: one plan or its whole tree, lists and searches, progress, a person's
open action items, the change log. Every read is scoped to the workspace."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import Select, and_, case, false, func, select, true, union
from sqlalchemy.orm import Session, raiseload, selectinload, with_loader_criteria

from storage.errors import NotFound
from storage.models import (
    NAME_MAX,
    Account,
    AccountPlan,
    ActionItem,
    Audience,
    ChangeLogEntry,
    ItemStatus,
    Objective,
    PlanMember,
    PlanStatus,
    Stakeholder,
    Strategy,
    SwotEntry,
)
from storage.plans.rules import (
    SURROGATES,
    PlanProgress,
    Progress,
    clean_status,
    is_id,
)


# Plans people still act on; completed and archived ones are kept to read.
WORKING_STATUSES = (PlanStatus.DRAFT, PlanStatus.ACTIVE)

# The parts of a plan that Slack actions name by kind and id ("strategy:42"): moved,
# deleted, edited one at a time. The names are also ChangeLogEntry.entity's.
PARTS = {
    "strategy": Strategy,
    "objective": Objective,
    "action_item": ActionItem,
    "swot": SwotEntry,
}


def get_record(session: Session, model, team_id: str, record_id: int, what: str):
    if not is_id(record_id):
        raise NotFound(f"No {what} with id {record_id} in this workspace.")
    record = session.scalars(
        select(model).where(model.id == record_id, model.team_id == team_id)
    ).one_or_none()
    if record is None:
        raise NotFound(f"No {what} with id {record_id} in this workspace.")
    return record


def get_part(session: Session, team_id: str, entity: str, record_id: int):
    """The strategy, objective, action item, SWOT entry or stakeholder a Slack action
    names ("objective", 42), of this workspace; NotFound when it is gone, or another
    workspace's (said the same way: nothing of another workspace is confirmed)."""
    model = PARTS.get(entity) or (Stakeholder if entity == "stakeholder" else None)
    record = session.get(model, record_id) if model is not None and is_id(record_id) else None
    if record is None or record.team_id != team_id:
        raise NotFound(f"That {entity.replace('_', ' ')} is gone already.")
    return record


def get_plan(session: Session, team_id: str, plan_id: int) -> AccountPlan:
    return get_record(session, AccountPlan, team_id, plan_id, "plan")


def get_action_item(session: Session, team_id: str, item_id: int) -> ActionItem:
    return get_record(session, ActionItem, team_id, item_id, "action item")


# What an external audience sees of the tree: an allow-list. A record marked "Shared
# with customer" whose parents are marked too (storage.domain.shown_to_customer).
SHARED_PARTS = (Strategy, Objective, ActionItem)


def with_parents(query: Select) -> Select:
    """`query` over action items, joined with each item's objective and strategy."""
    return (query.join(Objective, Objective.id == ActionItem.objective_id)
            .join(Strategy, Strategy.id == Objective.strategy_id))


def item_shown_to_customer():
    """The condition on an action item joined with its parents (`with_parents`) that
    an external audience sees it: it, its objective and its strategy are all shared."""
    return and_(*(part.shared_with_customer.is_(True) for part in SHARED_PARTS))


def load_plan_tree(
    session: Session, team_id: str, plan_id: int, *, audience: Audience = Audience.TEAM,
    with_items: bool = True,
) -> AccountPlan:
    """The plan with its whole hierarchy, SWOT, team and reviews: a fixed 7 queries.

    `with_items=False` stops at the objectives (their `action_items` raise when read):
    for a view that shows one page of a big plan, with `item_outline` and `items_by_id`.

    For `Audience.EXTERNAL` (a customer, or a conversation shared with one) only the
    allow-list is read: the strategies marked "Shared with customer", their shared
    objectives and those objectives' shared action items (an item shared under an
    objective that is not is left out); no SWOT, no QBR reviews. The returned object is
    for reading only then: its collections are incomplete.

    Either way the collections are read again (populate_existing): objects already in
    the session would otherwise keep what an earlier load of the other audience gave
    them, a customer's incomplete tree handed to the team, or the team's whole one to
    a customer.
    """
    if not is_id(plan_id):
        raise NotFound(f"No plan with id {plan_id} in this workspace.")
    external = audience == Audience.EXTERNAL
    nothing_if_external = false() if external else true()
    shared_only = [with_loader_criteria(part, part.shared_with_customer.is_(True)) for part in SHARED_PARTS]
    plan = session.scalars(
        select(AccountPlan)
        .where(AccountPlan.id == plan_id, AccountPlan.team_id == team_id)
        .options(
            selectinload(AccountPlan.members),
            selectinload(AccountPlan.swot_entries.and_(nothing_if_external)),
            selectinload(AccountPlan.reviews.and_(nothing_if_external)),
            (selectinload(AccountPlan.strategies)
             .selectinload(Strategy.objectives)
             .options(selectinload(Objective.action_items) if with_items
                      else raiseload(Objective.action_items))),
            *(shared_only if external else []),
        )
        .execution_options(populate_existing=True)
    ).unique().one_or_none()
    if plan is None:
        raise NotFound(f"No plan with id {plan_id} in this workspace.")
    return plan


def item_outline(
    session: Session, team_id: str, plan_id: int, *, audience: Audience = Audience.TEAM
) -> dict[int, list[int]]:
    """{objective id: its action items' ids in plan order} for `audience` (external: the
    items shown to a customer only). Two integers a row from the (plan_id, status)
    index's plan: what paging a plan of 1,500 items needs, without loading them."""
    query = (select(ActionItem.objective_id, ActionItem.id)
             .where(ActionItem.plan_id == plan_id, ActionItem.team_id == team_id)
             .order_by(ActionItem.objective_id, ActionItem.position, ActionItem.id))
    if audience == Audience.EXTERNAL:
        query = with_parents(query).where(item_shown_to_customer())
    outline: dict[int, list[int]] = {}
    for objective_id, item_id in session.execute(query):
        outline.setdefault(objective_id, []).append(item_id)
    return outline


def items_by_id(
    session: Session, team_id: str, item_ids: Sequence[int], *, audience: Audience = Audience.TEAM
) -> dict[int, ActionItem]:
    """The action items `item_ids` of this workspace, by id (read again: populate_existing),
    for `audience`: one page of a plan view."""
    if not item_ids:
        return {}
    # By primary key alone, the workspace checked on the rows: with `team_id = ?` in the
    # query SQLite reads the workspace's items by the team index and tests each id.
    query = select(ActionItem).where(ActionItem.id.in_(list(item_ids)))
    if audience == Audience.EXTERNAL:
        query = with_parents(query).where(item_shown_to_customer())
    found = session.scalars(query.execution_options(populate_existing=True))
    return {item.id: item for item in found if item.team_id == team_id}


def _fragment(text: str) -> str | None:
    """Typed search text as it may match a name: lone surrogates dropped; None when it
    cannot match any (longer than a name may be, or with a NUL, which no name has).
    This also bounds the LIKE pattern: SQLite refuses one over 50,000 bytes."""
    text = SURROGATES.sub("", text)
    if len(text) > NAME_MAX or "\x00" in text:
        return None
    return text


def plans_query(
    team_id: str,
    *,
    user_id: str | None = None,
    status: PlanStatus | str | None = None,
    account: str | None = None,
) -> Select:
    """Plans of a workspace, optionally only those a user owns or is on the team of."""
    query = select(AccountPlan).where(AccountPlan.team_id == team_id)
    if user_id:
        # Their plans' ids by two indexes, (team_id, owner_id) and plan_members' (team_id,
        # user_id), then each plan read by id and sorted: a person's plans, never the
        # workspace's. Not `owner_id = ? OR id IN (…)`: one index cannot serve that OR.
        # A derived table joined to the plans rather than `id IN (…)`: with IN, SQLite
        # starts from an index on the plans' own columns instead (the workspace in list
        # order, or every plan of a status) and tests each plan against the ids.
        mine = union(
            select(AccountPlan.id).where(
                AccountPlan.team_id == team_id, AccountPlan.owner_id == user_id
            ),
            select(PlanMember.plan_id).where(
                PlanMember.team_id == team_id, PlanMember.user_id == user_id
            ),
        ).subquery("mine")
        query = (
            select(AccountPlan)
            .select_from(mine)
            .join(AccountPlan, AccountPlan.id == mine.c.id)
            .where(AccountPlan.team_id == team_id)
        )
    if status:
        query = query.where(AccountPlan.status == clean_status(status))
    if account:
        # A fragment as typed: % and _ are letters here, not wildcards. LIKE '%…%' cannot
        # use a b-tree, so this reads the workspace's accounts (or its plans in list
        # order, up to the page's last match): bounded by the workspace, not the
        # database, and only for a typed account filter. Accounts are scoped too, or
        # PostgreSQL reads the accounts of every workspace to match the name first.
        fragment = _fragment(account)
        query = query.join(Account).where(
            Account.team_id == team_id,
            false() if fragment is None
            else func.lower(Account.name).contains(fragment.lower(), autoescape=True)
        )
    return query.order_by(AccountPlan.start_date.desc(), AccountPlan.name, AccountPlan.id)


def list_plans(
    session: Session,
    team_id: str,
    *,
    user_id: str | None = None,
    status: PlanStatus | str | None = None,
    account: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[AccountPlan]:
    query = plans_query(team_id, user_id=user_id, status=status, account=account)
    return list(session.scalars(query.limit(limit).offset(offset)))


def find_plans(session: Session, team_id: str, text: str, *, limit: int = 10) -> list[AccountPlan]:
    """PLAN as people type it: an id ("42", "#42") or a fragment of the name."""
    text = _fragment(text.strip())
    if not text:
        return []
    digits = text.removeprefix("#")
    if digits.isascii() and digits.isdigit() and is_id(int(digits)):
        plan = session.scalars(
            select(AccountPlan).where(AccountPlan.team_id == team_id, AccountPlan.id == int(digits))
        ).one_or_none()
        if plan is not None:
            return [plan]
    exact = list(
        session.scalars(
            select(AccountPlan)
            .where(AccountPlan.team_id == team_id, func.lower(AccountPlan.name) == text.lower())
            .order_by(AccountPlan.id)
            .limit(limit)
        )
    )
    if exact:
        return exact
    # A fragment: LIKE '%…%' cannot use a b-tree index, so this reads the workspace's
    # plans (by an index on team_id), never another workspace's. Acceptable: only when
    # the text is neither an id nor a whole name, a few thousand short names at most, and
    # no index that SQLite and PostgreSQL share (trigrams are PostgreSQL's) would do it.
    return list(
        session.scalars(
            select(AccountPlan)
            .where(
                AccountPlan.team_id == team_id,
                func.lower(AccountPlan.name).contains(text.lower(), autoescape=True),
            )
            .order_by(AccountPlan.start_date.desc(), AccountPlan.id)
            .limit(limit)
        )
    )


def plan_progress(
    session: Session, team_id: str, plan_id: int, *, audience: Audience = Audience.TEAM
) -> PlanProgress:
    """Done/total action items per objective, rolled up: one query whatever the size.

    The query starts from the plan row so that a plan of another workspace (or none)
    is NotFound, like every other read, rather than an empty 0 %. An external audience
    counts only what it sees: shared objectives of shared strategies, and their shared
    items.
    """
    done = func.sum(case((ActionItem.status == ItemStatus.DONE, 1), else_=0))
    query = select(Objective.id, Objective.strategy_id, func.count(ActionItem.id), done).select_from(AccountPlan)
    if audience == Audience.EXTERNAL:
        query = (
            query.outerjoin(Strategy, and_(Strategy.plan_id == AccountPlan.id,
                                           Strategy.shared_with_customer.is_(True)))
            .outerjoin(Objective, and_(Objective.strategy_id == Strategy.id,
                                       Objective.shared_with_customer.is_(True)))
            .outerjoin(ActionItem, and_(ActionItem.objective_id == Objective.id,
                                        ActionItem.shared_with_customer.is_(True)))
        )
    else:
        query = (query.outerjoin(Objective, Objective.plan_id == AccountPlan.id)
                 .outerjoin(ActionItem, ActionItem.objective_id == Objective.id))
    rows = session.execute(
        query.where(AccountPlan.id == plan_id, AccountPlan.team_id == team_id)
        .group_by(Objective.id, Objective.strategy_id)
    ).all()
    if not rows:
        raise NotFound(f"No plan with id {plan_id} in this workspace.")
    result = PlanProgress()
    for objective_id, strategy_id, total, done_count in rows:
        if objective_id is None:  # the plan has no objectives yet
            continue
        progress = Progress(int(done_count or 0), int(total or 0))
        result.objectives[objective_id] = progress
        result.strategies[strategy_id] = result.strategy(strategy_id) + progress
        result.plan = result.plan + progress
    return result


def progress_by_plan(
    session: Session, team_id: str, plan_ids: Sequence[int], *, audience: Audience = Audience.TEAM
) -> dict[int, Progress]:
    """Overall progress of many plans (lists, App Home) in one query; an external
    audience counts the items it sees (see plan_progress)."""
    if not plan_ids:
        return {}
    done = func.sum(case((ActionItem.status == ItemStatus.DONE, 1), else_=0))
    # From the plans (by id, in the workspace) to their items by (plan_id, status), which
    # alone answers the counts: the plans shown read their own index entries. With
    # `action_items.team_id = ? AND plan_id IN (…)` SQLite chose the (team_id, assignee_id,
    # status) index and read every item of the workspace.
    query = (select(AccountPlan.id, func.count(), done)
             .join(ActionItem, ActionItem.plan_id == AccountPlan.id)
             .where(AccountPlan.team_id == team_id, AccountPlan.id.in_(plan_ids)))
    if audience == Audience.EXTERNAL:
        query = with_parents(query).where(item_shown_to_customer())
    rows = session.execute(query.group_by(AccountPlan.id))
    found = {plan_id: Progress(int(d or 0), int(t or 0)) for plan_id, t, d in rows}
    return {plan_id: found.get(plan_id, Progress()) for plan_id in plan_ids}


def _open_items_query(team_id: str, user_id: str, audience: Audience) -> Select:
    """A person's open action items in plans still being worked on (draft or active);
    for an external audience only those it sees (shared, under shared parents)."""
    # The plan's status is looked up by id for each of the person's items. As a join,
    # PostgreSQL may read every plan of the database instead, to hash-join them with the
    # items (cheaper by its estimate at ten thousand plans, and slower).
    plan_status = (
        select(AccountPlan.status).where(AccountPlan.id == ActionItem.plan_id).scalar_subquery()
    )
    query = select(ActionItem).where(
        ActionItem.team_id == team_id,
        ActionItem.assignee_id == user_id,
        ActionItem.status == ItemStatus.OPEN,
        plan_status.in_(WORKING_STATUSES),
    )
    if audience == Audience.EXTERNAL:
        query = with_parents(query).where(item_shown_to_customer())
    return query


def open_items_for(session: Session, team_id: str, user_id: str, *, limit: int = 100,
                   audience: Audience = Audience.TEAM) -> list[ActionItem]:
    """A person's open action items, overdue and soonest first, undated last."""
    query = _open_items_query(team_id, user_id, audience)
    return list(session.scalars(
        query.order_by(ActionItem.due_date.is_(None), ActionItem.due_date, ActionItem.id).limit(limit)
    ))


def count_open_items(session: Session, team_id: str, user_id: str, *,
                     audience: Audience = Audience.TEAM) -> int:
    query = _open_items_query(team_id, user_id, audience).with_only_columns(func.count(ActionItem.id))
    return session.scalar(query)


def changes_since(
    session: Session, team_id: str, plan_id: int, since: dt.datetime | None, *, limit: int = 50
) -> list[ChangeLogEntry]:
    query = select(ChangeLogEntry).where(
        ChangeLogEntry.team_id == team_id, ChangeLogEntry.plan_id == plan_id
    )
    if since is not None:
        query = query.where(ChangeLogEntry.at > since)
    return list(session.scalars(query.order_by(ChangeLogEntry.at, ChangeLogEntry.id).limit(limit)))
