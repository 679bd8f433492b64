"""Deep copy: a plan copied into a new cycle (or onto another account) in one
transaction, a fixed number of statements whatever its size."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from storage.bulk import insert_rows
from storage.domain import Actor
from storage.models import (
    NAME_MAX,
    AccountPlan,
    ActionItem,
    ItemStatus,
    Objective,
    PlanMember,
    PlanStatus,
    Stakeholder,
    Strategy,
    SwotEntry,
    SwotKind,
)
from storage.plans.permissions import require_internal
from storage.plans.reads import load_plan_tree
from storage.plans.rules import CopyOptions, FieldErrors, check_dates, clean_text
from storage.plans.writes import account_named, flush_or_conflict, log_change


def deep_copy_plan(session: Session, actor: Actor, plan_id: int, options: CopyOptions) -> AccountPlan:
    """Copy a plan into a new cycle (or onto another account) in one transaction.

    Due dates move by the same offset as the start date (and stay inside the new plan);
    statuses and measured values reset; the person copying owns the copy and the former
    owner joins its team. Anyone in the workspace may copy a plan they can read: the
    original is untouched.

    Cost: a fixed number of statements whatever the size (the tree is read in 7 queries
    and each level is written in one multi-row INSERT), so copying hundreds of action
    items is one round trip per level, not one per row.
    """
    require_internal(actor)  # a copy carries the SWOT and every part not shared with customers
    carried = FieldErrors()  # reported after the form's own fields
    if options.action_items and not options.objectives:
        carried.add("action_items", "action items come only with their objectives")
    if options.objectives and not options.strategies:
        carried.add("objectives", "objectives come only with their strategies")
    source = load_plan_tree(session, actor.team_id, plan_id)
    errors = FieldErrors()
    name = errors.check(clean_text, options.name, "name", max_len=NAME_MAX, required=True)
    account_name = errors.check(
        clean_text, options.account or source.account.name, "account", max_len=NAME_MAX, required=True
    )
    dates = errors.check(check_dates, options.start_date, options.end_date)
    for field_name, message in carried.errors.items():
        errors.add(field_name, message)
    errors.done()
    start, end = dates

    copy = AccountPlan(
        team_id=actor.team_id,
        account=account_named(session, actor.team_id, account_name),
        name=name,
        start_date=start,
        end_date=end,
        status=PlanStatus.DRAFT,
        owner_id=actor.user_id,
        vision=source.vision,
        customer_goals=source.customer_goals,
        our_goals=source.our_goals,
        copied_from_id=source.id,
        share_with_customer_by_default=source.share_with_customer_by_default,
        customer_channel_id=source.customer_channel_id,  # the next cycle, with the same customer
    )
    if options.team:
        team = [source.owner_id, *source.member_ids]
        copy.members = [
            PlanMember(user_id=user, team_id=actor.team_id)
            for user in dict.fromkeys(team)
            if user != actor.user_id
        ]
    session.add(copy)
    flush_or_conflict(session)  # the copy's id, for its children below (Conflict if the original went)

    if options.swot:
        _copy_swot(session, copy, source.swot_entries)
    contacts: list[dict] = []
    if options.strategies:
        team = {actor.user_id} | ({source.owner_id, *source.member_ids} if options.team else set())
        contacts = _copy_hierarchy(session, actor, source, copy, options, team)
    if options.stakeholders:
        # Not at load time: storage.stakeholders builds on storage.plans.
        from storage.stakeholders import copy_stakeholders

        copy_stakeholders(session, source.id, copy.id, actor.team_id,
                          objectives=options.strategies and options.objectives)
        _copy_contacts(session, source.id, copy, contacts)
    flush_or_conflict(session)
    log_change(
        session,
        actor,
        copy.id,
        "plan",
        copy.id,
        "copied",
        f"copied “{source.name}” into “{copy.name}”",
    )
    return copy


def _stamp(copy: AccountPlan) -> dict:
    """What every copied row carries besides its own values."""
    return dict(team_id=copy.team_id, plan_id=copy.id)


def _copy_swot(session: Session, copy: AccountPlan, entries: Sequence[SwotEntry]) -> None:
    stamp = _stamp(copy)
    next_position: dict[SwotKind, int] = {}
    rows = []
    for e in entries:  # ordered by kind, then position: renumber densely per kind
        position = next_position.get(e.kind, 0)
        next_position[e.kind] = position + 1
        rows.append(
            dict(
                stamp,
                kind=e.kind,
                position=position,
                text=e.text,
                team_only=e.team_only,
            )
        )
    insert_rows(session, SwotEntry, rows)


def _copy_hierarchy(
    session: Session, actor: Actor, source: AccountPlan, copy: AccountPlan, options: CopyOptions,
    team: set[str],
) -> list[dict]:
    """Strategies, then objectives, then action items: one INSERT per level.

    Copies are numbered 0, 1, 2... within their parent, so (parent, position) names each
    new row and storage.bulk reads its id back with one query per level.

    A customer-owned item keeps its follow-up owner if they are the copy's owner or on
    its team (`team`), else none (whoever copied it assigned it); its customer contact
    only when the stakeholders are copied too (`_copy_contacts` sets it; then, as the
    item form does, the follow-up owner, by default who copies, is its assignee).
    Returns what `_copy_contacts` needs: (copied objective id, position, source contact).
    """
    shift = copy.start_date - source.start_date
    stamp = _stamp(copy)
    strategy_ids = insert_rows(
        session,
        Strategy,
        [
            dict(stamp, position=index, title=s.title, description=s.description,
                 shared_with_customer=s.shared_with_customer)
            for index, s in enumerate(source.strategies)
        ],
        ids=options.objectives,
        parent="plan_id",
    )
    if not options.objectives or not source.strategies:
        return []
    objective_ids = insert_rows(
        session,
        Objective,
        [
            dict(
                stamp,
                strategy_id=strategy_ids[s_index],
                position=o_index,
                title=o.title,
                description=o.description,
                measure_unit=o.measure_unit,
                target_value=o.target_value,
                # A new cycle starts from zero towards the same target.
                current_value=Decimal(0) if o.target_value is not None else None,
                shared_with_customer=o.shared_with_customer,
            )
            for s_index, s in enumerate(source.strategies)
            for o_index, o in enumerate(s.objectives)
        ],
        ids=options.action_items,
        parent="strategy_id",
    )
    if not options.action_items:
        return []
    objectives = [o for s in source.strategies for o in s.objectives]  # as listed above
    rows, contacts = [], []
    for objective_id, o in zip(objective_ids, objectives, strict=True):
        for a_index, a in enumerate(o.action_items):
            due = a.due_date + shift if a.due_date else None
            if due is not None:  # a shorter cycle: keep every date inside it
                due = min(max(due, copy.start_date), copy.end_date)
            follow_up = a.follow_up_id if a.follow_up_id in team else None
            assignee = a.assignee_id
            if options.stakeholders and a.customer_contact_id is not None:
                follow_up = assignee = follow_up or actor.user_id
                contacts.append(dict(objective=objective_id, position=a_index, source=a.customer_contact_id))
            rows.append(
                dict(
                    stamp,
                    objective_id=objective_id,
                    position=a_index,
                    title=a.title,
                    notes=a.notes,
                    assignee_id=assignee,
                    due_date=due,
                    status=ItemStatus.OPEN,
                    done_at=None,
                    done_by=None,
                    shared_with_customer=a.shared_with_customer,
                    created_by=actor.user_id,
                    customer_contact_id=None,
                    follow_up_id=follow_up,
                )
            )
    insert_rows(session, ActionItem, rows)
    return contacts


def _copy_contacts(session: Session, source_plan_id: int, copy: AccountPlan, contacts: list[dict]) -> None:
    """The copied items' customer contacts: the copy's stakeholder in the same place as
    the source's (copy_stakeholders keeps their order). Three statements, if any."""
    if not contacts:
        return
    sources = session.scalars(
        select(Stakeholder.id).where(Stakeholder.team_id == copy.team_id, Stakeholder.plan_id == source_plan_id)
        .order_by(Stakeholder.position, Stakeholder.id)).all()
    copies = dict(session.execute(
        select(Stakeholder.position, Stakeholder.id)
        .where(Stakeholder.team_id == copy.team_id, Stakeholder.plan_id == copy.id)).all())
    new_id = {old: copies[index] for index, old in enumerate(sources) if index in copies}
    table = ActionItem.__table__
    session.execute(
        table.update().where(table.c.objective_id == bindparam("objective"), table.c.position == bindparam("at"))
        .values(customer_contact_id=bindparam("contact")),
        [dict(objective=c["objective"], at=c["position"], contact=new_id.get(c["source"])) for c in contacts])
