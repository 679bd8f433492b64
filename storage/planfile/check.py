"""Checking a plan file's entries with the rules of storage/plans (a fast path for
plain values gives the same answers): column values per table, or the first error
named by its path."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from decimal import Decimal
from functools import lru_cache
from types import SimpleNamespace

from storage.errors import ValidationError
from storage.models import NAME_MAX, SLACK_ID_MAX, TEXT_MAX, TITLE_MAX, ItemStatus, utcnow
from storage.planfile.parse import PlanFileError
from storage.planfile.people import check_customer_owner, check_objective_people, check_stakeholders
from storage.plans import (
    ActionItemInput,
    ObjectiveInput,
    check_dates,
    clean_status,
    clean_swot_kind,
    clean_text,
    clean_user_id,
)
from storage.customer_items import clean_channel_id
from storage.plans.rules import item_fields, objective_fields


PLAN_KEYS = (
    "name", "account", "start_date", "end_date", "status", "owner", "team",
    "vision", "customer_goals", "our_goals", "share_with_customer_by_default", "customer_channel",
    "strategies", "swot", "reviews", "stakeholders",
)
STRATEGY_KEYS = ("title", "description", "shared_with_customer", "objectives")
OBJECTIVE_KEYS = (
    "title", "description", "measure_unit", "target_value", "current_value", "shared_with_customer",
    "owner", "stakeholders", "action_items",
)
# `team_only` last: read for files of earlier versions, never written.
ITEM_KEYS = ("title", "assignee", "due_date", "status", "done_at", "done_by", "shared_with_customer",
             "notes", "customer_contact", "follow_up", "team_only")
OWNED_BY_CUSTOMER = ("customer_contact", "follow_up")  # the rules decide (_check_item)
SHARED = "shared_with_customer"
SWOT_KEYS = ("kind", "text", "team_only")
REVIEW_KEYS = ("held_on", "attendees", "notes", "decisions", "next_qbr_date")


# ---------------------------------------------------------------------------
# Checking entries (relative field paths bubble up and get their prefix on the way)


def join_path(prefix: str, field: str) -> str:
    if not field:
        return prefix
    return prefix + field if field.startswith("[") else f"{prefix}.{field}"


def _each(items: list, name: str, check: Callable) -> list:
    result = []
    for index, raw in enumerate(items):
        try:
            result.append(check(raw))
        except ValidationError as error:
            raise ValidationError(join_path(f"{name}[{index}]", error.field), error.message) from None
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


def _bool(raw: dict, key: str, default: bool | None) -> bool | None:
    value = raw.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise ValidationError(key, "must be true or false")
    return value


def _item_shared(raw: dict) -> bool:
    """An item's "Shared with customer": `shared_with_customer`, or (files of earlier
    versions) not `team_only`; neither: shared, as customers saw it then."""
    shared = _bool(raw, SHARED, None)
    team_only = _bool(raw, "team_only", None)
    if shared is not None and team_only is not None and shared == team_only:
        raise ValidationError("team_only", f"contradicts {SHARED}: give one of them")
    if shared is None:
        return True if team_only is None else not team_only
    return shared


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


# Fast paths. Most values of a big file are plain: printable ASCII text, Slack ids,
# whole numbers. For those the rules' answer is known without running them (it is the
# value itself); anything else, and every error, goes through the rules themselves, so
# results and messages are the rules' own.


def _plain_text(value, max_len: int) -> bool:
    """Whether clean_text gives `value` back unchanged: printable ASCII (no NUL, no control
    characters, nothing invisible), not empty, no space at either end, not too long."""
    return (
        type(value) is str
        and 0 < len(value) <= max_len
        and value.isascii()
        and value.isprintable()
        and value[0] != " "
        and value[-1] != " "
    )


def _plain_id(value) -> bool:
    """Whether clean_user_id gives `value` back unchanged."""
    return type(value) is str and 0 < len(value) <= SLACK_ID_MAX and value.isascii() and value.isalnum()


def _clean_text(raw: dict, key: str, *, max_len: int, required: bool) -> str:
    """clean_text(_text(raw, key), key, …)."""
    value = raw.get(key)
    if _plain_text(value, max_len):
        return value
    return clean_text(_text(raw, key), key, max_len=max_len, required=required)


def _optional_text(value, max_len: int) -> str | None:
    """clean_text(value or "", required=False) for a plain value or none, else None."""
    if value is None or value == "":
        return ""
    return value if _plain_text(value, max_len) else None


_ITEM_STATUSES = {None: ItemStatus.OPEN, "": ItemStatus.OPEN, "open": ItemStatus.OPEN, "done": ItemStatus.DONE}


_ITEM_KEY_SET = frozenset(ITEM_KEYS)
_iso_date = lru_cache(maxsize=4096)(dt.date.fromisoformat)  # a file has few distinct dates


def _fast_item(raw: dict, window, now: dt.datetime) -> dict | None:
    """_check_item of a plain action item, or None to let the rules decide."""
    get = raw.get
    title, assignee, notes = get("title"), get("assignee"), get("notes")
    if not (_plain_text(title, TITLE_MAX) and _plain_id(assignee)):
        return None
    if notes is None:
        notes = ""
    elif notes != "" and not _plain_text(notes, TEXT_MAX):
        return None
    if "team_only" in raw:
        return None  # a file of an earlier version: the rules decide
    shared = get(SHARED)
    if shared is None:
        shared = True
    elif type(shared) is not bool:
        return None
    due = get("due_date")
    if type(due) is str:
        try:
            due = _iso_date(due)
        except ValueError:
            return None
    elif due is not None and type(due) is not dt.date:
        return None
    if due is not None and not (window.start_date <= due <= window.end_date):
        return None
    status = get("status")
    status = _ITEM_STATUSES.get(status) if status is None or type(status) is str else None
    done_at, done_by = get("done_at"), get("done_by")
    if status is ItemStatus.DONE:
        if done_at is None:
            done_at = now
        else:
            try:
                done_at = _datetime(raw, "done_at") or now
            except ValidationError:
                return None
        if done_by is not None and not _plain_id(done_by):
            return None
    elif status is None or done_at is not None or done_by is not None:
        return None
    return {
        "title": title, "notes": notes, "assignee_id": assignee, "due_date": due,
        SHARED: shared, "status": status, "done_at": done_at, "done_by": done_by,
    }


def _fast_decimal(value) -> Decimal | None | bool:
    """clean_decimal of a plain number or none; False to let the rules decide."""
    if value is None:
        return None
    if type(value) is int and -10**14 < value < 10**14:
        return Decimal(value)  # the same Decimal as Decimal(str(value))
    return False


def _fast_objective_fields(raw: dict) -> dict | None:
    """objective_fields of a plain objective, or None to let it decide."""
    title = raw.get("title")
    description = _optional_text(raw.get("description"), TEXT_MAX)
    unit = _optional_text(raw.get("measure_unit"), NAME_MAX)
    target = _fast_decimal(raw.get("target_value"))
    current = _fast_decimal(raw.get("current_value"))
    if not _plain_text(title, TITLE_MAX) or description is None or unit is None:
        return None
    if target is False or current is False or (current is not None and target is None):
        return None
    return dict(
        title=title, description=description, measure_unit=unit, target_value=target,
        current_value=current,
    )


class CheckedPlan(SimpleNamespace):
    """One plan, checked: column values per table, children nested (an objective is
    (columns, items, names of its stakeholders)); `stakeholders` their columns in file
    order and `bosses` the name each reports to (storage/planfile/people.py); `items`
    counts its action items."""


def check_plan(raw, default_owner: str | None, now: dt.datetime) -> CheckedPlan:
    raw = _mapping(raw, PLAN_KEYS)
    name = _clean_text(raw, "name", max_len=NAME_MAX, required=True)
    account = _clean_text(raw, "account", max_len=NAME_MAX, required=True)
    start, end = check_dates(_date(raw, "start_date"), _date(raw, "end_date"))
    status = clean_status(_text(raw, "status"))
    owner = clean_user_id(_text(raw, "owner") or default_owner, "owner", required=True)
    team: list[str] = []
    for index, user in enumerate(_list(raw, "team")):
        if user is not None and not isinstance(user, str):
            raise ValidationError(f"team[{index}]", "must be a Slack user id such as U0123ABCD")
        user = clean_user_id(user, f"team[{index}]", required=False)
        # As storage.plans.plan_edits._set_members: the owner is not listed again, nobody twice.
        if user and user != owner and user not in team:
            team.append(user)
    columns = dict(
        name=name,
        start_date=start,
        end_date=end,
        status=status,
        owner_id=owner,
        vision=_clean_text(raw, "vision", max_len=TEXT_MAX, required=False),
        customer_goals=_clean_text(raw, "customer_goals", max_len=TEXT_MAX, required=False),
        our_goals=_clean_text(raw, "our_goals", max_len=TEXT_MAX, required=False),
        share_with_customer_by_default=_bool(raw, "share_with_customer_by_default", False),
        customer_channel_id=clean_channel_id(_text(raw, "customer_channel")),
    )
    window = SimpleNamespace(start_date=start, end_date=end)
    # Before the strategies: objectives name the plan's stakeholders.
    stakeholders = check_stakeholders(raw.get("stakeholders"), _date)
    people = SimpleNamespace(owner=owner, team=team, stakeholders=stakeholders,
                             follow_up=default_owner or owner)
    strategies = _each(
        _list(raw, "strategies"), "strategies", lambda s: _check_strategy(s, window, now, people)
    )
    swot = _each(_list(raw, "swot"), "swot", _check_swot)
    reviews = _each(_list(raw, "reviews"), "reviews", _check_review)
    return CheckedPlan(
        columns=columns, account=account, team=team, strategies=strategies, swot=swot,
        reviews=reviews, stakeholders=stakeholders.columns, bosses=stakeholders.bosses,
        items=sum(len(o[1]) for s in strategies for o in s[1]),
    )


def _check_strategy(raw, window, now, people) -> tuple[dict, list]:
    raw = _mapping(raw, STRATEGY_KEYS)
    columns = dict(
        title=_clean_text(raw, "title", max_len=TITLE_MAX, required=True),
        description=_clean_text(raw, "description", max_len=TEXT_MAX, required=False),
        shared_with_customer=_bool(raw, SHARED, True),
    )
    objectives = _each(
        _list(raw, "objectives"), "objectives", lambda o: _check_objective(o, window, now, people)
    )
    return columns, objectives


def _check_objective(raw, window, now, people) -> tuple[dict, list, list[str]]:
    raw = _mapping(raw, OBJECTIVE_KEYS)
    columns = _fast_objective_fields(raw) or objective_fields(
        ObjectiveInput(
            title=_text(raw, "title"),
            description=_text(raw, "description") or "",
            measure_unit=_text(raw, "measure_unit") or "",
            target_value=_number(raw, "target_value"),
            current_value=_number(raw, "current_value"),
        )
    )
    columns[SHARED] = _bool(raw, SHARED, True)
    owner, names = check_objective_people(raw, people.stakeholders)
    # As progress.set_objective_owner: the plan's owner is stored as none (follow the plan's).
    columns["owner_id"] = None if owner == people.owner else owner
    items = _each(_list(raw, "action_items"), "action_items", lambda i: _check_item(i, window, now, people))
    return columns, items, names


def _check_item(raw, window, now, people) -> dict:
    if type(raw) is dict and _ITEM_KEY_SET.issuperset(raw) and not any(k in raw for k in OWNED_BY_CUSTOMER):
        columns = _fast_item(raw, window, now)
        if columns is not None:
            columns.update(follow_up_id=None, customer_contact=None)
            return columns
    raw = _mapping(raw, ITEM_KEYS)
    owner = check_customer_owner(raw, people)
    columns = item_fields(
        window,
        ActionItemInput(
            title=_text(raw, "title"),
            # A customer contact's item is assigned to its follow-up owner.
            assignee_id=owner["follow_up_id"] if owner["customer_contact"] is not None else _text(raw, "assignee"),
            due_date=_date(raw, "due_date"),
            notes=_text(raw, "notes") or "",
            shared_with_customer=_item_shared(raw),
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
    columns.update(status=status, done_at=done_at, done_by=done_by, **owner)
    return columns


def _check_swot(raw) -> dict:
    raw = _mapping(raw, SWOT_KEYS)
    return dict(
        kind=clean_swot_kind(_text(raw, "kind")),
        text=_clean_text(raw, "text", max_len=TEXT_MAX, required=True),
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
        columns[key] = _clean_text(raw, key, max_len=TEXT_MAX, required=False)
    return columns


def check_plans(
    entries: list, *, default_owner: str | None = None, now: dt.datetime | None = None
) -> list[CheckedPlan]:
    """Every entry checked, or PlanFileError naming the first bad one. No database."""
    now = (now or utcnow()).replace(microsecond=0)
    try:
        return _each(entries, "plans", lambda raw: check_plan(raw, default_owner, now))
    except PlanFileError:
        raise
    except ValidationError as error:
        raise PlanFileError(error.field, error.message) from None
