"""Plan files: whole plans as JSON or YAML, for import and export (RUN_CONTRACT "Plan file").

Shape (every key optional unless the rules of storage/plans.py require it)::

    plans:
      - name, account, start_date, end_date, status, owner, team: [user ids],
        vision, customer_goals, our_goals,
        strategies:
          - title, description,
            objectives:
              - title, description, measure_unit, target_value, current_value,
                action_items:
                  - title, assignee, due_date, status (open | done),
                    done_at, done_by, team_only, notes
        swot:    [{kind, text, team_only}]          # team_only defaults to true
        reviews: [{held_on, attendees, notes, decisions, next_qbr_date}]

Decisions:
- Export writes keys in the order above and leaves out empty optional values (empty
  text, empty lists, `team_only` at its default), so files stay small and the same
  plan always gives the same bytes. Dates are `YYYY-MM-DD` (plain YAML dates, JSON
  strings); `done_at` is UTC to the second, `YYYY-MM-DDTHH:MM:SSZ`.
- `done_at` and `done_by` are exported for done items, so export → import → export is
  identical. A file that marks an item done without `done_at` gets the time of the
  import; `done_at`/`done_by` on an open item are an error.
- Numbers (`target_value`, `current_value`) are written as integers when whole, else
  as decimals; a value a float cannot carry exactly is written as a string.
- Import checks every entry in Python with the rules of storage/plans.py (clean_text,
  check_dates, check_due_date, …) before writing anything, stops at the first bad
  entry and names it by path: `plans[3].strategies[1].title: required`. Unknown keys
  are errors. Then it writes table by table inside the caller's transaction (all or
  nothing): PostgreSQL takes ids from the sequences in one query per table and the
  rows by COPY; other databases get one executemany per table. 2,000 plans of 60 action
  items are a few seconds either way, not one statement per row.
- One `imported` change-log entry per plan. Accounts are shared per workspace by name.
- YAML is read by storage/fastyaml.py (plain block YAML, as export and PyYAML write it,
  read exactly as PyYAML would, ~9 times faster), else by PyYAML's safe loader, which
  also refuses duplicate keys.
"""

from __future__ import annotations

import datetime as dt
import json
import operator
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import yaml
from sqlalchemy import insert, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from storage import fastyaml
from storage.errors import ValidationError
from storage.models import (
    NAME_MAX,
    SLACK_ID_MAX,
    TEXT_MAX,
    TITLE_MAX,
    Account,
    AccountPlan,
    ActionItem,
    ChangeLogEntry,
    ItemStatus,
    Objective,
    PlanMember,
    QbrReview,
    Strategy,
    SwotEntry,
    SwotKind,
    utcnow,
)
from storage.plans import (
    ActionItemInput,
    ObjectiveInput,
    _item_fields,
    _objective_fields,
    check_dates,
    clean_status,
    clean_swot_kind,
    clean_text,
    clean_user_id,
    load_plan_tree,
)

FORMATS = ("json", "yaml")

PLAN_KEYS = (
    "name", "account", "start_date", "end_date", "status", "owner", "team",
    "vision", "customer_goals", "our_goals", "strategies", "swot", "reviews",
)
STRATEGY_KEYS = ("title", "description", "objectives")
OBJECTIVE_KEYS = (
    "title", "description", "measure_unit", "target_value", "current_value", "action_items",
)
ITEM_KEYS = ("title", "assignee", "due_date", "status", "done_at", "done_by", "team_only", "notes")
SWOT_KEYS = ("kind", "text", "team_only")
REVIEW_KEYS = ("held_on", "attendees", "notes", "decisions", "next_qbr_date")

SWOT_ORDER = {kind: index for index, kind in enumerate(SwotKind)}  # S, W, O, T


class PlanFileError(ValidationError):
    """A plan file is wrong at `path` (e.g. `plans[0].strategies[2].title`)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(path, message)
        self.path = path
        if not path:
            self.args = (message,)


# ---------------------------------------------------------------------------
# Parsing text into plain data


class _YamlLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Safe YAML (libyaml when present) that refuses duplicate keys."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if not _hashable(key):
                continue  # the parent class reports it
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _hashable(value) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict:
    result: dict = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def guess_format(text: str, filename: str | None = None) -> str:
    """`json` or `yaml`, from the file name's extension or else from the text."""
    if filename:
        lowered = filename.lower()
        if lowered.endswith(".json"):
            return "json"
        if lowered.endswith((".yaml", ".yml")):
            return "yaml"
    return "json" if text.lstrip().startswith(("{", "[")) else "yaml"


def _format(fmt: str | None) -> str:
    fmt = (fmt or "").strip().lower()
    if fmt == "yml":
        fmt = "yaml"
    if fmt not in FORMATS:
        raise PlanFileError("", f"unknown plan file format {fmt!r}: use json or yaml")
    return fmt


def parse_plan_file(text: str, fmt: str | None = None) -> list:
    """The `plans` list of a plan file (entries not yet checked: import_plans does that)."""
    fmt = _format(fmt or guess_format(text))
    if fmt == "json":
        try:
            document = json.loads(text, object_pairs_hook=_no_duplicates)
        except json.JSONDecodeError as error:
            raise PlanFileError(
                "", f"not valid JSON: {error.msg} at line {error.lineno} column {error.colno}"
            ) from None
        except ValueError as error:  # duplicate key
            raise PlanFileError("", f"not valid JSON: {error}") from None
    else:
        document = _load_yaml(text)
    return plans_of(document)


def _load_yaml(text: str):
    try:
        return fastyaml.load(text)  # plain block YAML, as export writes it: fast
    except Exception:  # noqa: BLE001 - Unsupported, or anything odd: PyYAML decides
        pass
    try:
        return yaml.load(text, Loader=_YamlLoader)  # noqa: S506 - a safe loader
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        problem = getattr(error, "problem", None) or str(error)
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
        raise PlanFileError("", f"not valid YAML: {problem}{where}") from None
    except (ValueError, OverflowError) as error:  # e.g. a timestamp such as 2025-13-45
        raise PlanFileError("", f"not valid YAML: {error}") from None


def plans_of(document) -> list:
    """The `plans` list of an already parsed document (or the list itself)."""
    if isinstance(document, list):
        return document
    if not isinstance(document, dict):
        raise PlanFileError("", "a plan file is a mapping with a `plans:` list")
    unknown = [key for key in document if key != "plans"]
    if unknown:
        raise PlanFileError(str(unknown[0]), "unknown field (expected plans)")
    plans = document.get("plans")
    if plans is None:
        raise PlanFileError("plans", "required")
    if not isinstance(plans, list):
        raise PlanFileError("plans", "must be a list")
    return plans


# ---------------------------------------------------------------------------
# Checking entries (relative field paths bubble up and get their prefix on the way)


def _join(prefix: str, field: str) -> str:
    if not field:
        return prefix
    return prefix + field if field.startswith("[") else f"{prefix}.{field}"


def _each(items: list, name: str, check: Callable) -> list:
    result = []
    for index, raw in enumerate(items):
        try:
            result.append(check(raw))
        except ValidationError as error:
            raise ValidationError(_join(f"{name}[{index}]", error.field), error.message) from None
    return result


def _mapping(raw, keys: Sequence[str]) -> dict:
    if not isinstance(raw, dict):
        raise ValidationError("", "must be a mapping of fields")
    for key in raw:
        if key not in keys:
            raise ValidationError(str(key), f"unknown field (expected one of {', '.join(keys)})")
    return raw


def _text(raw: dict, key: str) -> str | None:
    value = raw.get(key)
    if value is None or isinstance(value, str):
        return value
    raise ValidationError(key, "must be text (put it in quotes)")


def _list(raw: dict, key: str) -> list:
    value = raw.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValidationError(key, "must be a list")
    return value


def _bool(raw: dict, key: str, default: bool) -> bool:
    value = raw.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise ValidationError(key, "must be true or false")
    return value


def _date(raw: dict, key: str) -> dt.date | None:
    value = raw.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValidationError(key, "must be a date (YYYY-MM-DD)")


def _datetime(raw: dict, key: str) -> dt.datetime | None:
    value = raw.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            value = None
    if not isinstance(value, dt.datetime):
        raise ValidationError(key, "must be a UTC time (YYYY-MM-DDTHH:MM:SSZ)")
    if value.tzinfo is None:  # a time without zone is UTC
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc).replace(microsecond=0)


def _number(raw: dict, key: str):
    value = raw.get(key)
    if isinstance(value, bool) or not (value is None or isinstance(value, (int, float, str, Decimal))):
        raise ValidationError(key, "must be a number")
    return value


def _item_status(raw: dict) -> ItemStatus:
    value = raw.get("status")
    try:
        return ItemStatus(str(value or ItemStatus.OPEN).strip().lower())
    except ValueError:
        allowed = ", ".join(s.value for s in ItemStatus)
        raise ValidationError("status", f"must be one of {allowed}") from None


class _Checked(SimpleNamespace):
    """One plan, checked: column values per table, children nested."""


def _check_plan(raw, default_owner: str | None, now: dt.datetime) -> _Checked:
    raw = _mapping(raw, PLAN_KEYS)
    name = clean_text(_text(raw, "name"), "name", max_len=NAME_MAX, required=True)
    account = clean_text(_text(raw, "account"), "account", max_len=NAME_MAX, required=True)
    start, end = check_dates(_date(raw, "start_date"), _date(raw, "end_date"))
    status = clean_status(_text(raw, "status"))
    owner = clean_user_id(_text(raw, "owner") or default_owner, "owner", required=True)
    team: list[str] = []
    for index, user in enumerate(_list(raw, "team")):
        if user is not None and not isinstance(user, str):
            raise ValidationError(f"team[{index}]", "must be a Slack user id such as U0123ABCD")
        user = clean_user_id(user, f"team[{index}]", required=False)
        # As plans._set_members: the owner is not listed again, nobody twice.
        if user and user != owner and user not in team:
            team.append(user)
    columns = dict(
        name=name,
        start_date=start,
        end_date=end,
        status=status,
        owner_id=owner,
        vision=clean_text(_text(raw, "vision"), "vision", max_len=TEXT_MAX, required=False),
        customer_goals=clean_text(
            _text(raw, "customer_goals"), "customer_goals", max_len=TEXT_MAX, required=False
        ),
        our_goals=clean_text(_text(raw, "our_goals"), "our_goals", max_len=TEXT_MAX, required=False),
    )
    window = SimpleNamespace(start_date=start, end_date=end)
    strategies = _each(
        _list(raw, "strategies"), "strategies", lambda s: _check_strategy(s, window, now)
    )
    swot = _each(_list(raw, "swot"), "swot", _check_swot)
    reviews = _each(_list(raw, "reviews"), "reviews", _check_review)
    return _Checked(
        columns=columns, account=account, team=team, strategies=strategies, swot=swot,
        reviews=reviews,
    )


def _check_strategy(raw, window, now) -> tuple[dict, list]:
    raw = _mapping(raw, STRATEGY_KEYS)
    columns = dict(
        title=clean_text(_text(raw, "title"), "title", max_len=TITLE_MAX, required=True),
        description=clean_text(
            _text(raw, "description"), "description", max_len=TEXT_MAX, required=False
        ),
    )
    objectives = _each(
        _list(raw, "objectives"), "objectives", lambda o: _check_objective(o, window, now)
    )
    return columns, objectives


def _check_objective(raw, window, now) -> tuple[dict, list]:
    raw = _mapping(raw, OBJECTIVE_KEYS)
    columns = _objective_fields(
        ObjectiveInput(
            title=_text(raw, "title"),
            description=_text(raw, "description") or "",
            measure_unit=_text(raw, "measure_unit") or "",
            target_value=_number(raw, "target_value"),
            current_value=_number(raw, "current_value"),
        )
    )
    items = _each(_list(raw, "action_items"), "action_items", lambda i: _check_item(i, window, now))
    return columns, items


def _check_item(raw, window, now) -> dict:
    raw = _mapping(raw, ITEM_KEYS)
    columns = _item_fields(
        window,
        ActionItemInput(
            title=_text(raw, "title"),
            assignee_id=_text(raw, "assignee"),
            due_date=_date(raw, "due_date"),
            notes=_text(raw, "notes") or "",
            team_only=_bool(raw, "team_only", False),
        ),
    )
    status = _item_status(raw)
    done_at = _datetime(raw, "done_at")
    done_by = clean_user_id(_text(raw, "done_by"), "done_by", required=False)
    if status == ItemStatus.DONE:
        done_at = done_at or now
    elif done_at is not None:
        raise ValidationError("done_at", "only for items with status done")
    elif done_by is not None:
        raise ValidationError("done_by", "only for items with status done")
    columns.update(status=status, done_at=done_at, done_by=done_by)
    return columns


def _check_swot(raw) -> dict:
    raw = _mapping(raw, SWOT_KEYS)
    return dict(
        kind=clean_swot_kind(_text(raw, "kind")),
        text=clean_text(_text(raw, "text"), "text", max_len=TEXT_MAX, required=True),
        team_only=_bool(raw, "team_only", True),
    )


def _check_review(raw) -> dict:
    raw = _mapping(raw, REVIEW_KEYS)
    held_on = _date(raw, "held_on")
    next_qbr = _date(raw, "next_qbr_date")
    # As plans.add_review.
    if held_on is None:
        raise ValidationError("held_on", "required")
    if next_qbr is not None and next_qbr <= held_on:
        raise ValidationError("next_qbr_date", "must be after the review date")
    columns = dict(held_on=held_on, next_qbr_date=next_qbr)
    for key in ("attendees", "notes", "decisions"):
        columns[key] = clean_text(_text(raw, key), key, max_len=TEXT_MAX, required=False)
    return columns


def check_plans(
    entries: list, *, default_owner: str | None = None, now: dt.datetime | None = None
) -> list[_Checked]:
    """Every entry checked, or PlanFileError naming the first bad one. No database."""
    now = (now or utcnow()).replace(microsecond=0)
    try:
        return _each(entries, "plans", lambda raw: _check_plan(raw, default_owner, now))
    except PlanFileError:
        raise
    except ValidationError as error:
        raise PlanFileError(error.field, error.message) from None


# ---------------------------------------------------------------------------
# Import


def _insert(
    session: Session, model, rows: list[dict], *, ids: bool = False, parent: str | None = None
) -> list[int]:
    """Insert `rows` (dicts with the same keys) into `model`'s table; with `ids`, return
    the new ids in the order of `rows`.

    PostgreSQL: ids come from the table's sequence in one query, rows go in with COPY.
    Elsewhere: one executemany; the ids of children of new plans are read back by
    (`parent` column, position), a few SELECTs. (SQLite cannot batch INSERT … RETURNING
    in a known order: SQLAlchemy would send one INSERT per row.) Without `parent`:
    INSERT … RETURNING.
    """
    if not rows:
        return []
    table = model.__table__
    connection = session.connection()
    if connection.dialect.name == "postgresql" and connection.dialect.driver == "psycopg":
        return _pg_copy(session, table, rows, ids=ids)
    if ids and parent is None:
        statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
        return list(session.execute(statement, rows).scalars())
    session.execute(insert(table), rows)
    if not ids:
        return []
    # Every row belongs to a plan created by this import: (parent, position) names it.
    plan_ids = sorted({row["plan_id"] for row in rows})
    found: dict[tuple[int, int], int] = {}
    for start in range(0, len(plan_ids), _CHUNK):
        query = select(table.c.id, table.c[parent], table.c.position).where(
            table.c.plan_id.in_(plan_ids[start:start + _CHUNK])
        )
        found.update(((parent_id, position), new_id) for new_id, parent_id, position in session.execute(query))
    return [found[(row[parent], row["position"])] for row in rows]


_CHUNK = 500  # ids per IN (…): well below every database's bound-parameter limit


def _pg_copy(session: Session, table, rows: list[dict], *, ids: bool) -> list[int]:
    new_ids: list[int] = []
    if ids:
        sequence = session.execute(
            text("select pg_get_serial_sequence(:table, 'id')"), {"table": table.name}
        ).scalar_one()
        new_ids = sorted(
            session.execute(
                text("select nextval(:sequence) from generate_series(1, :n)"),
                {"sequence": sequence, "n": len(rows)},
            ).scalars()
        )
        for row, new_id in zip(rows, new_ids):
            row["id"] = new_id
    names = list(rows[0])
    quote = session.connection().dialect.identifier_preparer.quote
    statement = f"COPY {quote(table.name)} ({', '.join(quote(n) for n in names)}) FROM STDIN"
    dbapi = session.connection().connection.dbapi_connection
    values = operator.itemgetter(*names) if len(names) > 1 else (lambda row: (row[names[0]],))
    # psycopg adapts every value; our enums are StrEnums, so they go in by value.
    try:
        with dbapi.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(values(row))
    except dbapi.Error as error:  # as SQLAlchemy would have raised it (IntegrityError, …)
        raise DBAPIError.instance(statement, None, error, type(dbapi).Error) from None
    return new_ids


def _accounts(session: Session, team_id: str, names: Iterable[str], now: dt.datetime) -> dict[str, int]:
    wanted = list(dict.fromkeys(names))
    found: dict[str, int] = {}
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start:start + _CHUNK]
        rows = session.execute(
            select(Account.name, Account.id).where(
                Account.team_id == team_id, Account.name.in_(chunk)
            )
        )
        found.update((name, account_id) for name, account_id in rows)
    missing = [name for name in wanted if name not in found]
    new_ids = _insert(
        session,
        Account,
        [dict(team_id=team_id, name=name, created_at=now) for name in missing],
        ids=True,
    )
    found.update(zip(missing, new_ids))
    return found


def import_plans(
    session: Session,
    team_id: str,
    data,
    *,
    actor_id: str | None = None,
) -> list[int]:
    """Create every plan of `data` (a parsed plan file, or its `plans` list) in `team_id`.

    All or nothing: everything is checked before anything is written, and nothing is
    committed here (the caller owns the transaction). `actor_id` is recorded as the
    importer and is the owner of plans that name none; without it each plan's owner is
    recorded and `owner` is required. Returns the new plan ids in file order.
    """
    team_id = clean_text(team_id, "team_id", max_len=SLACK_ID_MAX, required=True)
    actor_id = clean_user_id(actor_id, "actor", required=False)
    now = utcnow().replace(microsecond=0)
    plans = check_plans(plans_of(data), default_owner=actor_id, now=now)
    if not plans:
        return []
    session.flush()  # anything pending goes first, as the ORM would have done

    accounts = _accounts(session, team_id, (p.account for p in plans), now)
    stamp = dict(team_id=team_id, version=1, created_at=now, updated_at=now)
    plan_ids = _insert(
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
        items = sum(len(o[1]) for s in p.strategies for o in s[1])
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
                    f"{objectives} objectives, {items} action items)"
                )[:TEXT_MAX],
                details=None,
            )
        )
    _insert(session, PlanMember, members)
    strategy_ids = _insert(session, Strategy, strategy_rows, ids=True, parent="plan_id")

    objective_rows, objective_children = [], []
    for strategy_id, (plan_id, objectives) in zip(strategy_ids, strategy_children):
        for position, (columns, items) in enumerate(objectives):
            objective_rows.append(
                dict(columns, **stamp, plan_id=plan_id, strategy_id=strategy_id, position=position)
            )
            objective_children.append((plan_id, items))
    objective_ids = _insert(session, Objective, objective_rows, ids=True, parent="strategy_id")

    item_rows = [
        dict(
            columns,
            **stamp,
            plan_id=plan_id,
            objective_id=objective_id,
            position=position,
            created_by=actor_id,
        )
        for objective_id, (plan_id, items) in zip(objective_ids, objective_children)
        for position, columns in enumerate(items)
    ]
    _insert(session, ActionItem, item_rows)
    _insert(session, SwotEntry, swot_rows)
    _insert(session, QbrReview, review_rows)
    _insert(session, ChangeLogEntry, log_rows)
    return plan_ids


def import_plan_file(
    session: Session,
    team_id: str,
    text: str,
    fmt: str | None = None,
    *,
    actor_id: str | None = None,
) -> list[int]:
    """parse_plan_file + import_plans."""
    return import_plans(session, team_id, parse_plan_file(text, fmt), actor_id=actor_id)


# ---------------------------------------------------------------------------
# Export


def _export_number(value: Decimal | None):
    if value is None:
        return None
    value = Decimal(value)
    if value == value.to_integral_value():
        return int(value)
    text = format(value.normalize(), "f")
    as_float = float(text)
    return as_float if repr(as_float) == text else text


def _utc_second(value: dt.datetime) -> dt.datetime:
    return value.astimezone(dt.timezone.utc).replace(microsecond=0)


def _utc_text(value: dt.datetime) -> str:
    return _utc_second(value).strftime("%Y-%m-%dT%H:%M:%SZ")


def _put(target: dict, key: str, value) -> None:
    """Set `key` unless the value is empty (None, "", [])."""
    if value is None or value == "" or value == []:
        return
    target[key] = value


def _value(enum_or_text) -> str:
    return getattr(enum_or_text, "value", enum_or_text)


def plan_to_dict(plan) -> dict:
    """One plan loaded by load_plan_tree as a plan-file entry (plain, ordered, no empties).

    Dates stay `datetime.date`, `done_at` a UTC `datetime` to the second; numbers are
    int, float or (when a float cannot carry them exactly) str.
    """
    result: dict[str, Any] = dict(
        name=plan.name,
        account=plan.account.name,
        start_date=plan.start_date,
        end_date=plan.end_date,
        status=_value(plan.status),
        owner=plan.owner_id,
    )
    _put(result, "team", sorted(m.user_id for m in plan.members))
    _put(result, "vision", plan.vision)
    _put(result, "customer_goals", plan.customer_goals)
    _put(result, "our_goals", plan.our_goals)
    strategies = []
    for strategy in sorted(plan.strategies, key=lambda s: (s.position, s.id)):
        s: dict[str, Any] = dict(title=strategy.title)
        _put(s, "description", strategy.description)
        objectives = []
        for objective in sorted(strategy.objectives, key=lambda o: (o.position, o.id)):
            o: dict[str, Any] = dict(title=objective.title)
            _put(o, "description", objective.description)
            _put(o, "measure_unit", objective.measure_unit)
            _put(o, "target_value", _export_number(objective.target_value))
            _put(o, "current_value", _export_number(objective.current_value))
            items = []
            for item in sorted(objective.action_items, key=lambda i: (i.position, i.id)):
                i: dict[str, Any] = dict(title=item.title)
                _put(i, "assignee", item.assignee_id)
                _put(i, "due_date", item.due_date)
                i["status"] = _value(item.status)
                if _value(item.status) == ItemStatus.DONE.value:
                    _put(i, "done_at", _utc_second(item.done_at) if item.done_at else None)
                    _put(i, "done_by", item.done_by)
                if item.team_only:
                    i["team_only"] = True
                _put(i, "notes", item.notes)
                items.append(i)
            _put(o, "action_items", items)
            objectives.append(o)
        _put(s, "objectives", objectives)
        strategies.append(s)
    _put(result, "strategies", strategies)
    swot = []
    for entry in sorted(
        plan.swot_entries, key=lambda e: (SWOT_ORDER[SwotKind(e.kind)], e.position, e.id)
    ):
        e: dict[str, Any] = dict(kind=_value(entry.kind), text=entry.text)
        if not entry.team_only:
            e["team_only"] = False
        swot.append(e)
    _put(result, "swot", swot)
    reviews = []
    for review in sorted(plan.reviews, key=lambda r: (r.held_on, r.id)):
        r: dict[str, Any] = dict(held_on=review.held_on)
        _put(r, "attendees", review.attendees)
        _put(r, "notes", review.notes)
        _put(r, "decisions", review.decisions)
        _put(r, "next_qbr_date", review.next_qbr_date)
        reviews.append(r)
    _put(result, "reviews", reviews)
    return result


class _YamlDumper(yaml.SafeDumper):
    """Block style with indented lists (as in RUN_CONTRACT), `team` inline, multi-line
    text as literal blocks."""

    def increase_indent(self, flow=False, indentless=False):
        return super().increase_indent(flow, False)


class _FlowList(list):
    pass


def _represent_str(dumper, value: str):
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


def _represent_datetime(dumper, value: dt.datetime):
    # A plain YAML timestamp, written as in JSON: 2025-03-01T10:30:00Z.
    return dumper.represent_scalar("tag:yaml.org,2002:timestamp", _utc_text(value))


_YamlDumper.add_representer(str, _represent_str)
_YamlDumper.add_representer(dt.datetime, _represent_datetime)
_YamlDumper.add_representer(
    _FlowList,
    lambda dumper, value: dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=True),
)


def _json_default(value):
    if isinstance(value, dt.datetime):
        return _utc_text(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} to a plan file")


def dump_plan_file(plans: list[dict], fmt: str = "yaml") -> str:
    """The text of a plan file holding `plans` (entries as plan_to_dict gives them)."""
    fmt = _format(fmt)
    if fmt == "json":
        return json.dumps({"plans": plans}, indent=2, ensure_ascii=False, default=_json_default) + "\n"
    plans = [dict(p, team=_FlowList(p["team"])) if "team" in p else p for p in plans]
    return yaml.dump(
        {"plans": plans},
        Dumper=_YamlDumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=100_000,
    )


def export_plans(session: Session, team_id: str, plan_ids: Sequence[int], fmt: str = "yaml") -> str:
    """A plan file of the given plans of `team_id`, in the order given."""
    fmt = _format(fmt)
    return dump_plan_file(
        [plan_to_dict(load_plan_tree(session, team_id, plan_id)) for plan_id in plan_ids], fmt
    )
