"""The rules of a plan's fields: the inputs operations take, and their validation.

Validation helpers each raise ValidationError naming the field. Operations check every
field of their input with FieldErrors and raise them all at once; the *_fields
functions do that for each level (the forms and the plan file import share them).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from storage.errors import ValidationError
from storage.models import (
    NAME_MAX,
    SLACK_ID_MAX,
    TEXT_MAX,
    TITLE_MAX,
    AccountPlan,
    PlanStatus,
    SwotKind,
)


# ---------------------------------------------------------------------------
# Inputs


@dataclass
class PlanInput:
    name: str
    account: str
    start_date: dt.date | None
    end_date: dt.date | None
    status: PlanStatus | str = PlanStatus.DRAFT
    owner_id: str | None = None  # None: the acting user
    team: Sequence[str] = ()
    vision: str = ""
    customer_goals: str = ""
    our_goals: str = ""
    # "New parts shared with customer"; None: False for a new plan, unchanged on an edit.
    share_with_customer_by_default: bool | None = None


# `shared_with_customer` below ("Shared with customer"): None takes the plan's
# share_with_customer_by_default for a new record and leaves an edited one as it is.


@dataclass
class ObjectiveInput:
    title: str
    description: str = ""
    measure_unit: str = ""
    target_value: Decimal | float | int | str | None = None
    current_value: Decimal | float | int | str | None = None
    shared_with_customer: bool | None = None


@dataclass
class ActionItemInput:
    title: str
    assignee_id: str | None
    due_date: dt.date | None = None
    notes: str = ""
    shared_with_customer: bool | None = None


@dataclass
class CopyOptions:
    """What a deep copy carries into the new plan. A level only comes with its parent."""

    name: str
    start_date: dt.date | None
    end_date: dt.date | None
    account: str | None = None  # None: the same account (next cycle)
    strategies: bool = True
    objectives: bool = True
    action_items: bool = True
    swot: bool = True
    team: bool = True
    stakeholders: bool = True  # with their objectives' links when the objectives come


@dataclass
class ReviewInput:
    held_on: dt.date | None
    attendees: str = ""
    notes: str = ""
    decisions: str = ""
    next_qbr_date: dt.date | None = None


@dataclass(frozen=True)
class Progress:
    done: int = 0
    total: int = 0

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 0

    def __add__(self, other: Progress) -> Progress:
        return Progress(self.done + other.done, self.total + other.total)


@dataclass
class PlanProgress:
    plan: Progress = field(default_factory=Progress)
    strategies: dict[int, Progress] = field(default_factory=dict)
    objectives: dict[int, Progress] = field(default_factory=dict)

    def strategy(self, strategy_id: int) -> Progress:
        return self.strategies.get(strategy_id, Progress())

    def objective(self, objective_id: int) -> Progress:
        return self.objectives.get(objective_id, Progress())


# ---------------------------------------------------------------------------
# Validation helpers: each raises ValidationError naming the field. Operations check
# every field of their input with FieldErrors and raise them all at once.


class FieldErrors:
    """Every field error of one input, raised together (one ValidationError) by done()."""

    def __init__(self) -> None:
        self.errors: dict[str, str] = {}

    def check(self, check, *args, **kwargs):
        """check(*args, **kwargs), or None after noting the field errors it raised."""
        try:
            return check(*args, **kwargs)
        except ValidationError as error:
            for field_name, message in error.errors.items():
                self.add(field_name, message)
            return None

    def add(self, field_name: str, message: str) -> None:
        self.errors.setdefault(field_name, message)

    def done(self) -> None:
        if self.errors:
            raise ValidationError.of(self.errors)


# Lone UTF-16 halves (a forged or broken payload): no encoding can store them.
SURROGATES = re.compile("[\ud800-\udfff]")
# Trimmed from both ends like whitespace: characters that only ever arrive there by
# copy and paste (zero-width space and joiners, word joiner, BOM, soft hyphen, bidi
# marks). Variation selectors and tags are kept: they end emoji and flags.
_EDGE_JUNK = frozenset("\u00ad\u180e\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\u2064\ufeff")
# Letters and marks that fonts draw as nothing (Hangul fillers, Braille blank, ...).
_BLANK_LOOKALIKES = frozenset("\u034f\u115f\u1160\u17b4\u17b5\u2800\u3164\uffa0")


def _is_invisible(char: str) -> bool:
    """Shows nothing on its own: whitespace, control and format characters (Cc, Cf),
    separators, variation selectors, blank-looking letters."""
    return (
        char.isspace()
        or unicodedata.category(char) in ("Cc", "Cf", "Zs", "Zl", "Zp")
        or char in _BLANK_LOOKALIKES
        or "\ufe00" <= char <= "\ufe0f"
        or "\U000e0100" <= char <= "\U000e01ef"
    )


def _trim(text: str) -> str:
    def junk(char: str) -> bool:
        return char.isspace() or char in _EDGE_JUNK or unicodedata.category(char) == "Cc"

    start, end = 0, len(text)
    while start < end and junk(text[start]):
        start += 1
    while end > start and junk(text[end - 1]):
        end -= 1
    return text[start:end]


def clean_text(value: str | None, field_name: str, *, max_len: int, required: bool) -> str:
    """Trimmed text; text that shows nothing (only invisible characters) is empty.

    Lone surrogates are dropped. NUL is refused: PostgreSQL refuses it in text (SQLite
    takes it), so it is refused the same way on both.
    """
    text = SURROGATES.sub("", value or "")
    if "\x00" in text:
        raise ValidationError(field_name, "contains a NUL character")
    text = _trim(text)
    if all(_is_invisible(char) for char in text):
        text = ""
    if required and not text:
        raise ValidationError(field_name, "required")
    if len(text) > max_len:
        raise ValidationError(field_name, f"must be at most {max_len} characters")
    return text


def clean_status(value: PlanStatus | str | None) -> PlanStatus:
    try:
        return PlanStatus(str(value or PlanStatus.DRAFT).strip().lower())
    except ValueError:
        allowed = ", ".join(s.value for s in PlanStatus)
        raise ValidationError("status", f"must be one of {allowed}") from None


def clean_swot_kind(value: SwotKind | str | None) -> SwotKind:
    try:
        return SwotKind(str(value or "").strip().lower())
    except ValueError:
        allowed = ", ".join(k.value for k in SwotKind)
        raise ValidationError("kind", f"must be one of {allowed}") from None


def clean_user_id(value: str | None, field_name: str, *, required: bool) -> str | None:
    user = (value or "").strip()
    if not user:
        if required:
            raise ValidationError(field_name, "required")
        return None
    if len(user) > SLACK_ID_MAX or not (user.isascii() and user.isalnum()):
        raise ValidationError(field_name, "must be a Slack user id such as U0123ABCD")
    return user


def clean_decimal(value, field_name: str) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValidationError(field_name, "must be a number") from None
    if not number.is_finite() or abs(number) >= Decimal("1e14"):
        raise ValidationError(field_name, "must be a number") from None
    return number


def check_dates(start: dt.date | None, end: dt.date | None) -> tuple[dt.date, dt.date]:
    errors = FieldErrors()
    if start is None:
        errors.add("start_date", "required")
    if end is None:
        errors.add("end_date", "required")
    errors.done()
    if end < start:
        raise ValidationError("end_date", "must be on or after the start date")
    return start, end


def check_due_date(plan: AccountPlan, due: dt.date | None) -> None:
    if due is not None and not (plan.start_date <= due <= plan.end_date):
        raise ValidationError(
            "due_date",
            f"must be within the plan ({plan.start_date.isoformat()} to "
            f"{plan.end_date.isoformat()})",
        )


# Ids are 32-bit INTEGER columns. Ids come from Slack payloads and typed text, so an
# out-of-range number is "not found", not a database error (SQLite cannot even bind it).
MAX_ID = 2**31 - 1


def is_id(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID


def clean_team(user_ids: Iterable[str]) -> list[str]:
    """Slack user ids of a team field, each once, in order (ValidationError "team")."""
    team: list[str] = []
    for raw in user_ids:
        user = clean_user_id(raw, "team", required=False)
        if user and user not in team:
            team.append(user)
    return team


# ---------------------------------------------------------------------------
# Every field of one level's input, checked together


def plan_fields(data: PlanInput, default_owner: str) -> tuple[FieldErrors, dict]:
    """Every field of a plan input checked, in the form's order; the errors are
    collected, not raised. `dates` is (start, end), `team` the member ids."""
    errors = FieldErrors()
    fields = dict(
        name=errors.check(clean_text, data.name, "name", max_len=NAME_MAX, required=True),
        account=errors.check(clean_text, data.account, "account", max_len=NAME_MAX, required=True),
        dates=errors.check(check_dates, data.start_date, data.end_date),
        status=errors.check(clean_status, data.status),
        owner_id=errors.check(clean_user_id, data.owner_id or default_owner, "owner", required=True),
        team=errors.check(clean_team, data.team),
        vision=errors.check(clean_text, data.vision, "vision", max_len=TEXT_MAX, required=False),
        customer_goals=errors.check(
            clean_text, data.customer_goals, "customer_goals", max_len=TEXT_MAX, required=False
        ),
        our_goals=errors.check(clean_text, data.our_goals, "our_goals", max_len=TEXT_MAX, required=False),
    )
    if data.share_with_customer_by_default is not None:
        fields["share_with_customer_by_default"] = bool(data.share_with_customer_by_default)
    return errors, fields


def _shared(fields: dict, shared: bool | None) -> dict:
    """`shared_with_customer` among the fields when it is given (None: see the inputs)."""
    if shared is not None:
        fields["shared_with_customer"] = bool(shared)
    return fields


def strategy_fields(title: str, description: str, shared_with_customer: bool | None = None) -> dict:
    errors = FieldErrors()
    fields = dict(
        title=errors.check(clean_text, title, "title", max_len=TITLE_MAX, required=True),
        description=errors.check(clean_text, description, "description", max_len=TEXT_MAX, required=False),
    )
    errors.done()
    return _shared(fields, shared_with_customer)


def objective_fields(data: ObjectiveInput) -> dict:
    errors = FieldErrors()
    fields = dict(
        title=errors.check(clean_text, data.title, "title", max_len=TITLE_MAX, required=True),
        description=errors.check(
            clean_text, data.description, "description", max_len=TEXT_MAX, required=False
        ),
        measure_unit=errors.check(
            clean_text, data.measure_unit, "measure_unit", max_len=NAME_MAX, required=False
        ),
        target_value=errors.check(clean_decimal, data.target_value, "target_value"),
        current_value=errors.check(clean_decimal, data.current_value, "current_value"),
    )
    if fields["current_value"] is not None and fields["target_value"] is None:
        errors.add("target_value", "set a target to track a current value")
    errors.done()
    return _shared(fields, data.shared_with_customer)


def item_fields(plan, data: ActionItemInput) -> dict:
    """`plan`: anything with the plan's start_date and end_date."""
    errors = FieldErrors()
    fields = dict(
        title=errors.check(clean_text, data.title, "title", max_len=TITLE_MAX, required=True),
        notes=errors.check(clean_text, data.notes, "notes", max_len=TEXT_MAX, required=False),
        assignee_id=errors.check(clean_user_id, data.assignee_id, "assignee", required=True),
        due_date=data.due_date,
    )
    errors.check(check_due_date, plan, data.due_date)
    errors.done()
    return _shared(fields, data.shared_with_customer)


def swot_fields(kind: SwotKind | str, text: str) -> tuple[SwotKind, str]:
    errors = FieldErrors()
    swot_kind = errors.check(clean_swot_kind, kind)
    clean = errors.check(clean_text, text, "text", max_len=TEXT_MAX, required=True)
    errors.done()
    return swot_kind, clean
