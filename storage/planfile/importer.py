"""Importing checked plans: written in batches, table by table, inside the caller's
transaction (storage.bulk: COPY on PostgreSQL, the driver's executemany on SQLite)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from collections.abc import Iterable, Iterator
from typing import TextIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage import people
from storage.bulk import CHUNK, insert_rows
from storage.errors import ValidationError
from storage.models import (
    SLACK_ID_MAX,
    TEXT_MAX,
    Account,
    AccountPlan,
    ActionItem,
    ChangeLogEntry,
    Objective,
    PlanMember,
    QbrReview,
    Strategy,
    SwotEntry,
    SwotKind,
    utcnow,
)
from storage.planfile.check import CheckedPlan, check_plan, join_path
from storage.planfile.parse import PlanFileError, plans_of
from storage.planfile.people import write_stakeholders
from storage.planfile.read import iter_file_parts, iter_plan_file
from storage.plans import clean_text, clean_user_id
from storage.templates.files import import_template


# ---------------------------------------------------------------------------
# Import

BATCH_PLANS = 250  # plans checked and written together (fewer when they hold many items)
BATCH_ITEMS = 15_000  # action items in a batch, at most (unless one plan has more)


def _accounts(
    session: Session, team_id: str, names: Iterable[str], now: dt.datetime, known: dict[str, int]
) -> dict[str, int]:
    """The ids of the workspace's accounts by name, those not in `known` found or
    created (and added to `known`)."""
    wanted = [name for name in dict.fromkeys(names) if name not in known]
    found: dict[str, int] = {}
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start:start + CHUNK]
        rows = session.execute(
            select(Account.name, Account.id).where(
                Account.team_id == team_id, Account.name.in_(chunk)
            )
        )
        found.update((name, account_id) for name, account_id in rows)
    missing = [name for name in wanted if name not in found]
    new_ids = insert_rows(
        session,
        Account,
        [dict(team_id=team_id, name=name, created_at=now) for name in missing],
        ids=True,
    )
    found.update(zip(missing, new_ids))
    known.update(found)
    return known


def import_plans(
    session: Session,
    team_id: str,
    data,
    *,
    actor_id: str | None = None,
    batch_plans: int = BATCH_PLANS,
    batch_items: int = BATCH_ITEMS,
) -> list[int]:
    """Create every plan of `data` in `team_id`: a parsed plan file, its `plans` list, or
    an iterator of entries (iter_plan_file's), read once, in order.

    Entries are checked as they come and written in batches (`batch_plans` plans, or
    fewer holding `batch_items` action items), so memory holds one batch whatever the
    size of the file. All or nothing is the caller's transaction: nothing is committed
    here, and on an error (PlanFileError naming the first bad entry, or a file error
    reached part way) the batches before it have been written in that transaction:
    roll it back (storage.db.transaction does). `actor_id` is recorded as the importer
    and is the owner of plans that name none; without it each plan's owner is recorded
    and `owner` is required. Returns the new plan ids in file order.
    """
    team_id = clean_text(team_id, "team_id", max_len=SLACK_ID_MAX, required=True)
    actor_id = clean_user_id(actor_id, "actor", required=False)
    now = utcnow().replace(microsecond=0)
    entries = data if isinstance(data, Iterator) else plans_of(data)
    plan_ids: list[int] = []
    accounts: dict[str, int] = {}
    batch: list[CheckedPlan] = []
    items = 0
    for index, raw in enumerate(entries):
        try:
            plan = check_plan(raw, actor_id, now)
        except PlanFileError:
            raise
        except ValidationError as error:
            raise PlanFileError(join_path(f"plans[{index}]", error.field), error.message) from None
        batch.append(plan)
        items += plan.items
        if len(batch) >= batch_plans or items >= batch_items:
            if not plan_ids:
                session.flush()  # anything pending goes first, as the ORM would have done
            plan_ids += _write_plans(session, team_id, actor_id, now, batch, accounts)
            batch, items = [], 0
    if batch:
        if not plan_ids:
            session.flush()
        plan_ids += _write_plans(session, team_id, actor_id, now, batch, accounts)
    return plan_ids


def _write_plans(
    session: Session,
    team_id: str,
    actor_id: str | None,
    now: dt.datetime,
    plans: list[CheckedPlan],
    accounts: dict[str, int],
) -> list[int]:
    """Write checked plans table by table (a few statements per table); their ids."""
    accounts = _accounts(session, team_id, (p.account for p in plans), now, accounts)
    stamp = dict(team_id=team_id, version=1, created_at=now, updated_at=now)
    plan_ids = insert_rows(
        session,
        AccountPlan,
        [
            dict(
                p.columns,
                **stamp,
                account_id=accounts[p.account],
                last_review_date=max((r["held_on"] for r in p.reviews), default=None),
            )
            for p in plans
        ],
        ids=True,
    )

    members, strategy_rows, strategy_children = [], [], []
    swot_rows, review_rows, log_rows = [], [], []
    for plan_id, p in zip(plan_ids, plans):
        members += [dict(plan_id=plan_id, user_id=u, team_id=team_id) for u in p.team]
        for position, (columns, objectives) in enumerate(p.strategies):
            strategy_rows.append(dict(columns, **stamp, plan_id=plan_id, position=position))
            strategy_children.append((plan_id, objectives))
        positions: dict[SwotKind, int] = {}
        for entry in p.swot:
            position = positions[entry["kind"]] = positions.get(entry["kind"], -1) + 1
            swot_rows.append(dict(entry, **stamp, plan_id=plan_id, position=position))
        review_rows += [
            dict(r, team_id=team_id, plan_id=plan_id, created_by=actor_id or p.columns["owner_id"], created_at=now)
            for r in p.reviews
        ]
        objectives = sum(len(s[1]) for s in p.strategies)
        log_rows.append(
            dict(
                team_id=team_id,
                plan_id=plan_id,
                actor_id=actor_id or p.columns["owner_id"],
                at=now,
                entity="plan",
                entity_id=plan_id,
                action="imported",
                summary=(
                    f"imported plan “{p.columns['name']}” ({len(p.strategies)} strategies, "
                    f"{objectives} objectives, {p.items} action items)"
                )[:TEXT_MAX],
                details=None,
            )
        )
    insert_rows(session, PlanMember, members)
    strategy_ids = insert_rows(session, Strategy, strategy_rows, ids=True, parent="plan_id")

    objective_rows, objective_children, objective_names = [], [], []
    for strategy_id, (plan_id, objectives) in zip(strategy_ids, strategy_children):
        for position, (columns, items, names) in enumerate(objectives):
            objective_rows.append(
                dict(columns, **stamp, plan_id=plan_id, strategy_id=strategy_id, position=position)
            )
            objective_children.append((plan_id, items))
            objective_names.append(names)
    objective_ids = insert_rows(session, Objective, objective_rows, ids=True, parent="strategy_id")
    stakeholder_ids = write_stakeholders(
        session, team_id, stamp, list(zip(plan_ids, plans)),
        [(plan_id, objective_id, names)
         for objective_id, (plan_id, _), names in zip(objective_ids, objective_children, objective_names)
         if names],
    )

    item_rows = [
        dict(
            {key: value for key, value in columns.items() if key != "customer_contact"},
            **stamp,
            plan_id=plan_id,
            objective_id=objective_id,
            position=position,
            created_by=actor_id,
            customer_contact_id=None if columns["customer_contact"] is None
            else stakeholder_ids[(plan_id, columns["customer_contact"])],
        )
        for objective_id, (plan_id, items) in zip(objective_ids, objective_children)
        for position, columns in enumerate(items)
    ]
    insert_rows(session, ActionItem, item_rows)
    # As the app's own paths (storage.progress.set_objective_owner, an item assigned):
    # a row for each person the scheduler will DM, so their zone and organisation are
    # looked up before their first DM is due.
    owner_of = dict(zip(plan_ids, (p.columns["owner_id"] for p in plans)))
    people.ensure(session, {(team_id, row["owner_id"] or owner_of[row["plan_id"]]) for row in objective_rows}
                  | {(team_id, user) for row in item_rows for user in (row["assignee_id"], row["follow_up_id"])
                     if user})
    insert_rows(session, SwotEntry, swot_rows)
    insert_rows(session, QbrReview, review_rows)
    insert_rows(session, ChangeLogEntry, log_rows)
    return plan_ids


@dataclass
class Imported:
    """What import_file created: plan ids and template ids, each in file order."""

    plans: list[int]
    templates: list[int]


def import_file(
    session: Session,
    team_id: str,
    source: str | TextIO,
    fmt: str | None = None,
    *,
    actor_id: str | None = None,
    filename: str | None = None,
) -> Imported:
    """The plans and templates of a plan file (`plans:`, `templates:` or both), read
    entry by entry: plans as import_plans writes them, each template as it comes
    (storage/templates/files.py: owned by its `owner`, else `actor_id`). All or nothing
    as import_plans: in the caller's transaction, the first bad entry named by its place
    ("templates[1].name: …")."""
    team_id = clean_text(team_id, "team_id", max_len=SLACK_ID_MAX, required=True)
    template_ids: list[int] = []

    def plans() -> Iterator:
        for section, entry in iter_file_parts(source, fmt, filename=filename):
            if section == "plans":
                yield entry
                continue
            where = f"templates[{len(template_ids)}]"
            try:
                template = import_template(session, team_id, entry, default_owner=actor_id, where=where)
            except PlanFileError:
                raise
            except ValidationError as error:
                raise PlanFileError(error.field, error.message) from None
            template_ids.append(template.id)

    plan_ids = import_plans(session, team_id, plans(), actor_id=actor_id)
    return Imported(plan_ids, template_ids)


def import_plan_file(
    session: Session,
    team_id: str,
    source: str | TextIO,
    fmt: str | None = None,
    *,
    actor_id: str | None = None,
    filename: str | None = None,
) -> list[int]:
    """import_plans of iter_plan_file(source): the text of a plan file or a text stream,
    read plan by plan."""
    entries = iter_plan_file(source, fmt, filename=filename)
    return import_plans(session, team_id, entries, actor_id=actor_id)
