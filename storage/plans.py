"""Plan operations: the rules of account plans, with no Slack inside.

Every function takes a SQLAlchemy session and the acting user (`Actor`: workspace and
user). Reads are scoped to the actor's workspace; changes also require the actor to be
the plan's owner or on its team. Functions flush but never commit: the caller owns the
transaction (one per Slack request or CLI command), so a failure leaves nothing
half-written.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from sqlalchemy import Select, and_, case, false, func, insert, select, true, union
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload, with_loader_criteria
from sqlalchemy.orm.exc import StaleDataError

from storage import reminders
from storage.domain import Actor  # noqa: F401 - who acts; re-exported for callers
from storage.errors import Conflict, NotFound, PermissionDenied, ValidationError
from storage.models import (
    NAME_MAX,
    SLACK_ID_MAX,
    TEXT_MAX,
    TITLE_MAX,
    Account,
    AccountPlan,
    ActionItem,
    Audience,
    ChangeLogEntry,
    DigestPost,
    ItemStatus,
    Objective,
    PlanMember,
    PlanStatus,
    QbrReview,
    Strategy,
    SwotEntry,
    SwotKind,
    utcnow,
)
from storage.upsert import insert_missing


# Plans people still act on; completed and archived ones are kept to read.
WORKING_STATUSES = (PlanStatus.DRAFT, PlanStatus.ACTIVE)


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


@dataclass
class ObjectiveInput:
    title: str
    description: str = ""
    measure_unit: str = ""
    target_value: Decimal | float | int | str | None = None
    current_value: Decimal | float | int | str | None = None


@dataclass
class ActionItemInput:
    title: str
    assignee_id: str | None
    due_date: dt.date | None = None
    notes: str = ""
    team_only: bool = False


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
_SURROGATES = re.compile("[\ud800-\udfff]")
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
    text = _SURROGATES.sub("", value or "")
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


# ---------------------------------------------------------------------------
# Internals


def _log(
    session: Session,
    actor: Actor,
    plan_id: int | None,
    entity: str,
    entity_id: int | None,
    action: str,
    summary: str,
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
        )
    )


def _flush(session: Session) -> None:
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


def _check_version(record, expected_version: int | None) -> None:
    if expected_version is not None and record.version != expected_version:
        raise Conflict(
            "Someone else changed this while you were editing; nothing was saved. "
            "Open it again to see their changes."
        )


# Ids are 32-bit INTEGER columns. Ids come from Slack payloads and typed text, so an
# out-of-range number is "not found", not a database error (SQLite cannot even bind it).
MAX_ID = 2**31 - 1


def _is_id(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID


def _get(session: Session, model, team_id: str, record_id: int, what: str):
    if not _is_id(record_id):
        raise NotFound(f"No {what} with id {record_id} in this workspace.")
    record = session.scalars(
        select(model).where(model.id == record_id, model.team_id == team_id)
    ).one_or_none()
    if record is None:
        raise NotFound(f"No {what} with id {record_id} in this workspace.")
    return record


OUTSIDERS_REFUSED = ("Account plans are kept by this workspace's account team: people from "
                     "other organisations can't change or copy them.")


def can_edit(plan: AccountPlan, actor: Actor) -> bool:
    """The owner and team change a plan; never a person from another organisation."""
    if actor.external:
        return False
    return actor.user_id == plan.owner_id or actor.user_id in plan.member_ids


def readable_by_outsider(
    session: Session, team_id: str, plan_id: int, *, user_id: str, channel_id: str | None
) -> bool:
    """Whether a person from another organisation may read the plan's customer view:
    only where the team put the plan in front of them, by assigning them one of its
    shared action items or by posting its digest to the conversation they act in."""
    assigned = select(ActionItem.id).where(
        ActionItem.team_id == team_id, ActionItem.plan_id == plan_id,
        ActionItem.assignee_id == user_id, ActionItem.team_only.is_(False),
    ).limit(1)
    if session.scalar(assigned) is not None:
        return True
    if not channel_id:
        return False
    posted = select(DigestPost.id).where(
        DigestPost.team_id == team_id, DigestPost.plan_id == plan_id,
        DigestPost.channel_id == channel_id,
    ).limit(1)
    return session.scalar(posted) is not None


def require_internal(actor: Actor) -> None:
    """PermissionDenied for a person from another organisation (see Actor)."""
    if actor.external:
        raise PermissionDenied(OUTSIDERS_REFUSED)


def require_editor(plan: AccountPlan, actor: Actor) -> None:
    """PermissionDenied unless the actor is the plan's owner or on its team."""
    require_internal(actor)
    if not can_edit(plan, actor):
        raise PermissionDenied(
            f"Only the owner and team of “{plan.name}” can change it; you can read it."
        )


def get_editable_plan(session: Session, actor: Actor, plan_id: int) -> AccountPlan:
    """The plan, if the actor may change it (owner or team); PermissionDenied if not."""
    plan = get_plan(session, actor.team_id, plan_id)
    require_editor(plan, actor)
    return plan


def _account(session: Session, team_id: str, name: str) -> Account:
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


def _clean_team(user_ids: Iterable[str]) -> list[str]:
    """Slack user ids of a team field, each once, in order (ValidationError "team")."""
    team: list[str] = []
    for raw in user_ids:
        user = clean_user_id(raw, "team", required=False)
        if user and user not in team:
            team.append(user)
    return team


def _set_members(session: Session, plan: AccountPlan, user_ids: Iterable[str]) -> None:
    """The plan's team becomes `user_ids` (the owner aside).

    A change of team alone changes no column of the plan, and would not be checked
    against its version: it bumps updated_at so that the plan's versioned UPDATE goes
    first in the flush, and a plan someone else saved meanwhile is a Conflict. Call it
    under `session.no_autoflush` once the plan's columns are set (loading the team
    would flush them outside `_flush`).
    """
    wanted = [user for user in _clean_team(user_ids) if user != plan.owner_id]
    current = {m.user_id: m for m in plan.members}
    changed = False
    for user, member in current.items():
        if user not in wanted:
            plan.members.remove(member)
            changed = True
    for user in wanted:
        if user not in current:
            plan.members.append(PlanMember(user_id=user, team_id=plan.team_id))
            changed = True
    if changed:
        plan.updated_at = utcnow()


def _lock_plan(session: Session, plan_id: int) -> tuple[dt.date, dt.date]:
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


def _still_there(session: Session, model, record_id: int, what: str) -> None:
    """After _lock_plan: NotFound if the record (a parent) was deleted meanwhile."""
    if session.scalar(select(model.id).where(model.id == record_id)) is None:
        raise NotFound(f"That {what} was deleted meanwhile; nothing was saved.")


def _next_position(session: Session, model, parent_col, parent_id: int) -> int:
    """The end of the parent's list. Read after _lock_plan (see there)."""
    highest = session.scalar(select(func.max(model.position)).where(parent_col == parent_id))
    return 0 if highest is None else highest + 1


def _remove_child(session: Session, actor: Actor, record, entity: str, summary: str) -> None:
    """Delete a strategy, objective, action item or SWOT entry (what is under it goes by
    ON DELETE CASCADE), log it, and close the gap in its siblings' positions."""
    _lock_plan(session, record.plan_id)
    siblings = _siblings(session, record, unchanged=True)
    _log(session, actor, record.plan_id, entity, record.id, "deleted", summary)
    session.delete(record)
    _renumber([s for s in siblings if s.id != record.id])
    _flush(session)


def _renumber(records: Sequence) -> None:
    for index, record in enumerate(records):
        if record.position != index:
            record.position = index


# ---------------------------------------------------------------------------
# Reading


def get_plan(session: Session, team_id: str, plan_id: int) -> AccountPlan:
    return _get(session, AccountPlan, team_id, plan_id, "plan")


def load_plan_tree(
    session: Session, team_id: str, plan_id: int, *, audience: Audience = Audience.TEAM
) -> AccountPlan:
    """The plan with its whole hierarchy, SWOT, team and reviews: a fixed 7 queries.

    For `Audience.EXTERNAL` (a customer, or a conversation shared with one) the internal
    parts are not even read: no SWOT, no QBR notes, no team-only action items. The
    returned object is for reading only then: its collections are incomplete.
    """
    if not _is_id(plan_id):
        raise NotFound(f"No plan with id {plan_id} in this workspace.")
    external = audience == Audience.EXTERNAL
    nothing_if_external = false() if external else true()
    plan = session.scalars(
        select(AccountPlan)
        .where(AccountPlan.id == plan_id, AccountPlan.team_id == team_id)
        .options(
            selectinload(AccountPlan.members),
            selectinload(AccountPlan.swot_entries.and_(nothing_if_external)),
            selectinload(AccountPlan.reviews.and_(nothing_if_external)),
            selectinload(AccountPlan.strategies)
            .selectinload(Strategy.objectives)
            .selectinload(Objective.action_items),
            *([with_loader_criteria(ActionItem, ActionItem.team_only.is_(False))] if external else []),
        )
        # Objects already in this session keep their full collections otherwise.
        .execution_options(populate_existing=external)
    ).unique().one_or_none()
    if plan is None:
        raise NotFound(f"No plan with id {plan_id} in this workspace.")
    return plan


def _fragment(text: str) -> str | None:
    """Typed search text as it may match a name: lone surrogates dropped; None when it
    cannot match any (longer than a name may be, or with a NUL, which no name has).
    This also bounds the LIKE pattern: SQLite refuses one over 50,000 bytes."""
    text = _SURROGATES.sub("", text)
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
    if digits.isascii() and digits.isdigit() and _is_id(int(digits)):
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
    counts only the items it may see.
    """
    done = func.sum(case((ActionItem.status == ItemStatus.DONE, 1), else_=0))
    item_join = ActionItem.objective_id == Objective.id
    if audience == Audience.EXTERNAL:
        item_join = and_(item_join, ActionItem.team_only.is_(False))
    rows = session.execute(
        select(Objective.id, Objective.strategy_id, func.count(ActionItem.id), done)
        .select_from(AccountPlan)
        .outerjoin(Objective, Objective.plan_id == AccountPlan.id)
        .outerjoin(ActionItem, item_join)
        .where(AccountPlan.id == plan_id, AccountPlan.team_id == team_id)
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
    session: Session, team_id: str, plan_ids: Sequence[int]
) -> dict[int, Progress]:
    """Overall progress of many plans (lists, App Home) in one query."""
    if not plan_ids:
        return {}
    done = func.sum(case((ActionItem.status == ItemStatus.DONE, 1), else_=0))
    # From the plans (by id, in the workspace) to their items by (plan_id, status), which
    # alone answers the counts: the plans shown read their own index entries. With
    # `action_items.team_id = ? AND plan_id IN (…)` SQLite chose the (team_id, assignee_id,
    # status) index and read every item of the workspace.
    rows = session.execute(
        select(AccountPlan.id, func.count(), done)
        .join(ActionItem, ActionItem.plan_id == AccountPlan.id)
        .where(AccountPlan.team_id == team_id, AccountPlan.id.in_(plan_ids))
        .group_by(AccountPlan.id)
    )
    found = {plan_id: Progress(int(d or 0), int(t or 0)) for plan_id, t, d in rows}
    return {plan_id: found.get(plan_id, Progress()) for plan_id in plan_ids}


def _open_items_query(team_id: str, user_id: str) -> Select:
    """A person's open action items in plans still being worked on (draft or active)."""
    # The plan's status is looked up by id for each of the person's items. As a join,
    # PostgreSQL may read every plan of the database instead, to hash-join them with the
    # items (cheaper by its estimate at ten thousand plans, and slower).
    plan_status = (
        select(AccountPlan.status).where(AccountPlan.id == ActionItem.plan_id).scalar_subquery()
    )
    return select(ActionItem).where(
        ActionItem.team_id == team_id,
        ActionItem.assignee_id == user_id,
        ActionItem.status == ItemStatus.OPEN,
        plan_status.in_(WORKING_STATUSES),
    )


def open_items_for(session: Session, team_id: str, user_id: str, *, limit: int = 100) -> list[ActionItem]:
    """A person's open action items, overdue and soonest first, undated last."""
    query = _open_items_query(team_id, user_id)
    return list(session.scalars(
        query.order_by(ActionItem.due_date.is_(None), ActionItem.due_date, ActionItem.id).limit(limit)
    ))


def count_open_items(session: Session, team_id: str, user_id: str) -> int:
    query = _open_items_query(team_id, user_id).with_only_columns(func.count(ActionItem.id))
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


# ---------------------------------------------------------------------------
# Plans


def create_plan(session: Session, actor: Actor, data: PlanInput) -> AccountPlan:
    require_internal(actor)
    errors, fields = _plan_fields(data, actor.user_id)
    errors.done()
    start, end = fields.pop("dates")
    team = fields.pop("team")
    with session.no_autoflush:
        fields["account"] = _account(session, actor.team_id, fields["account"])
        plan = AccountPlan(team_id=actor.team_id, start_date=start, end_date=end, **fields)
        session.add(plan)
        _set_members(session, plan, team)
    _flush(session)
    _log(session, actor, plan.id, "plan", plan.id, "created", f"created plan “{plan.name}”")
    return plan


def _plan_fields(data: PlanInput, default_owner: str) -> tuple[FieldErrors, dict]:
    """Every field of a plan input checked, in the form's order; the errors are
    collected, not raised. `dates` is (start, end), `team` the member ids."""
    errors = FieldErrors()
    fields = dict(
        name=errors.check(clean_text, data.name, "name", max_len=NAME_MAX, required=True),
        account=errors.check(clean_text, data.account, "account", max_len=NAME_MAX, required=True),
        dates=errors.check(check_dates, data.start_date, data.end_date),
        status=errors.check(clean_status, data.status),
        owner_id=errors.check(clean_user_id, data.owner_id or default_owner, "owner", required=True),
        team=errors.check(_clean_team, data.team),
        vision=errors.check(clean_text, data.vision, "vision", max_len=TEXT_MAX, required=False),
        customer_goals=errors.check(
            clean_text, data.customer_goals, "customer_goals", max_len=TEXT_MAX, required=False
        ),
        our_goals=errors.check(clean_text, data.our_goals, "our_goals", max_len=TEXT_MAX, required=False),
    )
    return errors, fields


def update_plan(
    session: Session,
    actor: Actor,
    plan_id: int,
    data: PlanInput,
    *,
    expected_version: int | None = None,
) -> AccountPlan:
    """Save the plan form. Every path that loses a race to another save is a Conflict
    with nothing saved: the columns and the team are set without autoflush, and the
    one flush (`_flush`) runs the plan's versioned UPDATE first."""
    plan = get_editable_plan(session, actor, plan_id)
    _check_version(plan, expected_version)
    errors, fields = _plan_fields(data, plan.owner_id)
    if fields["dates"] is not None:
        start, end = fields["dates"]
        # Items' due dates stay inside the plan: no item is added or moved meanwhile.
        _lock_plan(session, plan.id)
        early, late = session.execute(
            select(func.min(ActionItem.due_date), func.max(ActionItem.due_date)).where(
                ActionItem.plan_id == plan.id
            )
        ).one()
        if early is not None and early < start:
            errors.add("start_date", f"an action item is due {early.isoformat()}, before this date")
        if late is not None and late > end:
            errors.add("end_date", f"an action item is due {late.isoformat()}, after this date")
    errors.done()
    owner = fields["owner_id"]
    if owner != plan.owner_id and actor.user_id != plan.owner_id:
        raise PermissionDenied("Only the plan's owner can hand it to someone else.")

    previous_status = plan.status
    with session.no_autoflush:
        if plan.account.name != fields["account"]:
            plan.account = _account(session, actor.team_id, fields["account"])
        plan.name = fields["name"]
        plan.start_date, plan.end_date = fields["dates"]
        plan.status = fields["status"]
        plan.owner_id = owner
        plan.vision = fields["vision"]
        plan.customer_goals = fields["customer_goals"]
        plan.our_goals = fields["our_goals"]
        _set_members(session, plan, fields["team"])
    _flush(session)
    _log(session, actor, plan.id, "plan", plan.id, "updated", f"edited plan “{plan.name}”")
    if plan.status != previous_status:
        reminders.plan_changed(session, plan.id)
    return plan


def set_plan_status(
    session: Session, actor: Actor, plan_id: int, status: PlanStatus | str
) -> AccountPlan:
    plan = get_editable_plan(session, actor, plan_id)
    previous_status = plan.status
    plan.status = clean_status(status)
    _flush(session)
    _log(session, actor, plan.id, "plan", plan.id, "status", f"set status to {plan.status.value}")
    if plan.status != previous_status:
        reminders.plan_changed(session, plan.id)
    return plan


def delete_plan(session: Session, actor: Actor, plan_id: int) -> None:
    plan = get_editable_plan(session, actor, plan_id)
    if actor.user_id != plan.owner_id:
        raise PermissionDenied("Only the plan's owner can delete it.")
    _log(session, actor, plan.id, "plan", plan.id, "deleted", f"deleted plan “{plan.name}”")
    session.delete(plan)
    _flush(session)


# ---------------------------------------------------------------------------
# Strategies


def _strategy_fields(title: str, description: str) -> dict:
    errors = FieldErrors()
    fields = dict(
        title=errors.check(clean_text, title, "title", max_len=TITLE_MAX, required=True),
        description=errors.check(clean_text, description, "description", max_len=TEXT_MAX, required=False),
    )
    errors.done()
    return fields


def add_strategy(
    session: Session, actor: Actor, plan_id: int, title: str, description: str = ""
) -> Strategy:
    plan = get_editable_plan(session, actor, plan_id)
    fields = _strategy_fields(title, description)
    _lock_plan(session, plan.id)
    strategy = Strategy(
        team_id=actor.team_id,
        plan_id=plan.id,
        position=_next_position(session, Strategy, Strategy.plan_id, plan.id),
        **fields,
    )
    session.add(strategy)
    _flush(session)
    _log(session, actor, plan.id, "strategy", strategy.id, "created", f"added strategy “{strategy.title}”")
    return strategy


def update_strategy(
    session: Session,
    actor: Actor,
    strategy_id: int,
    title: str,
    description: str = "",
    *,
    expected_version: int | None = None,
) -> Strategy:
    strategy = _get(session, Strategy, actor.team_id, strategy_id, "strategy")
    get_editable_plan(session, actor, strategy.plan_id)
    _check_version(strategy, expected_version)
    for name, value in _strategy_fields(title, description).items():
        setattr(strategy, name, value)
    _flush(session)
    _log(session, actor, strategy.plan_id, "strategy", strategy.id, "updated", f"edited strategy “{strategy.title}”")
    return strategy


def delete_strategy(session: Session, actor: Actor, strategy_id: int) -> None:
    strategy = _get(session, Strategy, actor.team_id, strategy_id, "strategy")
    get_editable_plan(session, actor, strategy.plan_id)
    _remove_child(session, actor, strategy, "strategy", f"deleted strategy “{strategy.title}”")


# ---------------------------------------------------------------------------
# Objectives


def _objective_fields(data: ObjectiveInput) -> dict:
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
    return fields


def add_objective(
    session: Session, actor: Actor, strategy_id: int, data: ObjectiveInput
) -> Objective:
    strategy = _get(session, Strategy, actor.team_id, strategy_id, "strategy")
    get_editable_plan(session, actor, strategy.plan_id)
    fields = _objective_fields(data)
    _lock_plan(session, strategy.plan_id)
    _still_there(session, Strategy, strategy.id, "strategy")
    objective = Objective(
        team_id=actor.team_id,
        plan_id=strategy.plan_id,
        strategy_id=strategy.id,
        position=_next_position(session, Objective, Objective.strategy_id, strategy.id),
        **fields,
    )
    session.add(objective)
    _flush(session)
    _log(session, actor, strategy.plan_id, "objective", objective.id, "created", f"added objective “{objective.title}”")
    return objective


def update_objective(
    session: Session,
    actor: Actor,
    objective_id: int,
    data: ObjectiveInput,
    *,
    expected_version: int | None = None,
) -> Objective:
    objective = _get(session, Objective, actor.team_id, objective_id, "objective")
    get_editable_plan(session, actor, objective.plan_id)
    _check_version(objective, expected_version)
    for name, value in _objective_fields(data).items():
        setattr(objective, name, value)
    _flush(session)
    _log(session, actor, objective.plan_id, "objective", objective.id, "updated", f"edited objective “{objective.title}”")
    return objective


def delete_objective(session: Session, actor: Actor, objective_id: int) -> None:
    objective = _get(session, Objective, actor.team_id, objective_id, "objective")
    get_editable_plan(session, actor, objective.plan_id)
    _remove_child(session, actor, objective, "objective", f"deleted objective “{objective.title}”")


# ---------------------------------------------------------------------------
# Action items


def _item_fields(plan, data: ActionItemInput) -> dict:
    """`plan`: anything with the plan's start_date and end_date."""
    errors = FieldErrors()
    fields = dict(
        title=errors.check(clean_text, data.title, "title", max_len=TITLE_MAX, required=True),
        notes=errors.check(clean_text, data.notes, "notes", max_len=TEXT_MAX, required=False),
        assignee_id=errors.check(clean_user_id, data.assignee_id, "assignee", required=True),
        due_date=data.due_date,
        team_only=bool(data.team_only),
    )
    errors.check(check_due_date, plan, data.due_date)
    errors.done()
    return fields


@dataclass(frozen=True)
class _Dates:
    start_date: dt.date
    end_date: dt.date


def add_action_item(
    session: Session, actor: Actor, objective_id: int, data: ActionItemInput
) -> ActionItem:
    objective = _get(session, Objective, actor.team_id, objective_id, "objective")
    plan = get_editable_plan(session, actor, objective.plan_id)
    # The plan's dates as they are now (someone may be changing them), checked with
    # every other field.
    dates = _Dates(*_lock_plan(session, plan.id))
    fields = _item_fields(dates, data)
    _still_there(session, Objective, objective.id, "objective")
    item = ActionItem(
        team_id=actor.team_id,
        plan_id=plan.id,
        objective_id=objective.id,
        position=_next_position(session, ActionItem, ActionItem.objective_id, objective.id),
        created_by=actor.user_id,
        **fields,
    )
    session.add(item)
    _flush(session)
    _log(session, actor, plan.id, "action_item", item.id, "created", f"added action item “{item.title}”")
    reminders.item_assigned(session, actor, item)
    return item


def update_action_item(
    session: Session,
    actor: Actor,
    item_id: int,
    data: ActionItemInput,
    *,
    expected_version: int | None = None,
) -> ActionItem:
    item = _get(session, ActionItem, actor.team_id, item_id, "action item")
    plan = get_editable_plan(session, actor, item.plan_id)
    _check_version(item, expected_version)
    previous_assignee, previous_due = item.assignee_id, item.due_date
    fields = _item_fields(_Dates(*_lock_plan(session, plan.id)), data)
    for name, value in fields.items():
        setattr(item, name, value)
    _flush(session)
    _log(session, actor, plan.id, "action_item", item.id, "updated", f"edited action item “{item.title}”")
    reminders.item_updated(session, actor, item, previous_assignee=previous_assignee,
                           previous_due=previous_due)
    return item


def set_action_item_done(
    session: Session, actor: Actor, item_id: int, done: bool = True
) -> ActionItem:
    """Mark done (or reopen): `mark_action_item` without saying whether it changed."""
    return mark_action_item(session, actor, item_id, done)[0]


def mark_action_item(
    session: Session, actor: Actor, item_id: int, done: bool = True
) -> tuple[ActionItem, bool]:
    """Mark done (or reopen); returns the item and whether this call changed it.

    The assignee may do this even when not on the plan's team. Asking for the state the
    item has already (a second click, or two people clicking at once) changes nothing,
    logs nothing and succeeds, so the caller can say "already done". The state is read
    under the plan's lock (see _lock_plan): of two simultaneous clicks the second sees
    the first one's. An edit by someone else since this session read the item is still
    a Conflict.
    """
    item = _get(session, ActionItem, actor.team_id, item_id, "action item")
    plan = get_plan(session, actor.team_id, item.plan_id)
    if actor.user_id != item.assignee_id:
        require_editor(plan, actor)
    _lock_plan(session, plan.id)
    now = session.execute(
        select(ActionItem.status, ActionItem.version).where(ActionItem.id == item.id)
    ).first()
    if now is None:
        raise NotFound("That action item was deleted meanwhile.")
    if (now.status == ItemStatus.DONE) == done:
        if now.version != item.version:
            session.refresh(item)  # someone else's click: show the item as it is
        return item, False
    _check_version(item, now.version)
    if done:
        item.status, item.done_at, item.done_by = ItemStatus.DONE, utcnow(), actor.user_id
    else:
        item.status, item.done_at, item.done_by = ItemStatus.OPEN, None, None
    _flush(session)
    verb = "completed" if done else "reopened"
    _log(session, actor, plan.id, "action_item", item.id, verb, f"{verb} “{item.title}”")
    if done:
        reminders.item_done(session, actor, item)
    else:
        reminders.item_reopened(session, actor, item)
    return item, True


def delete_action_item(session: Session, actor: Actor, item_id: int) -> None:
    item = _get(session, ActionItem, actor.team_id, item_id, "action item")
    get_editable_plan(session, actor, item.plan_id)
    # The plan before the item's reminder row, in the order every change takes them
    # (Mark done does too): two requests never wait for each other's second lock.
    _lock_plan(session, item.plan_id)
    reminders.item_deleting(session, actor, item)
    _remove_child(session, actor, item, "action_item", f"deleted action item “{item.title}”")


def get_action_item(session: Session, team_id: str, item_id: int) -> ActionItem:
    return _get(session, ActionItem, team_id, item_id, "action item")


# ---------------------------------------------------------------------------
# SWOT


def add_swot_entry(
    session: Session,
    actor: Actor,
    plan_id: int,
    kind: SwotKind | str,
    text: str,
    *,
    team_only: bool = True,
) -> SwotEntry:
    plan = get_editable_plan(session, actor, plan_id)
    swot_kind, clean = _swot_fields(kind, text)
    _lock_plan(session, plan.id)
    entry = SwotEntry(
        team_id=actor.team_id,
        plan_id=plan.id,
        kind=swot_kind,
        text=clean,
        team_only=team_only,
        position=_next_position_swot(session, plan.id, swot_kind),
    )
    session.add(entry)
    _flush(session)
    _log(session, actor, plan.id, "swot", entry.id, "created", f"added {swot_kind.value}")
    return entry


def _swot_fields(kind: SwotKind | str, text: str) -> tuple[SwotKind, str]:
    errors = FieldErrors()
    swot_kind = errors.check(clean_swot_kind, kind)
    clean = errors.check(clean_text, text, "text", max_len=TEXT_MAX, required=True)
    errors.done()
    return swot_kind, clean


def _next_position_swot(session: Session, plan_id: int, kind: SwotKind) -> int:
    highest = session.scalar(
        select(func.max(SwotEntry.position)).where(
            SwotEntry.plan_id == plan_id, SwotEntry.kind == kind
        )
    )
    return 0 if highest is None else highest + 1


def update_swot_entry(
    session: Session,
    actor: Actor,
    entry_id: int,
    kind: SwotKind | str,
    text: str,
    *,
    team_only: bool = True,
    expected_version: int | None = None,
) -> SwotEntry:
    entry = _get(session, SwotEntry, actor.team_id, entry_id, "SWOT entry")
    get_editable_plan(session, actor, entry.plan_id)
    _check_version(entry, expected_version)
    new_kind, new_text = _swot_fields(kind, text)
    if new_kind != entry.kind:
        # Read before changing anything (autoflush would write the entry half-moved, and
        # bump its version twice); the kind it leaves closes ranks.
        _lock_plan(session, entry.plan_id)
        left_behind = [e for e in _siblings(session, entry, unchanged=True) if e.id != entry.id]
        entry.position = _next_position_swot(session, entry.plan_id, new_kind)
        entry.kind = new_kind
        _renumber(left_behind)
    entry.text = new_text
    entry.team_only = team_only
    _flush(session)
    _log(session, actor, entry.plan_id, "swot", entry.id, "updated", f"edited {entry.kind.value}")
    return entry


def delete_swot_entry(session: Session, actor: Actor, entry_id: int) -> None:
    entry = _get(session, SwotEntry, actor.team_id, entry_id, "SWOT entry")
    get_editable_plan(session, actor, entry.plan_id)
    _remove_child(session, actor, entry, "swot", f"deleted {entry.kind.value}")


# ---------------------------------------------------------------------------
# Moving: up/down among siblings, or (objectives, action items) to another parent
# in the same plan.

_MOVABLE = {
    "strategy": Strategy,
    "objective": Objective,
    "action_item": ActionItem,
    "swot": SwotEntry,
}


def _siblings(session: Session, record, *, unchanged: bool = False) -> list:
    """The record and its siblings in order, as the database has them now.

    Read after _lock_plan: objects this session loaded before are refreshed (a position
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


def move(
    session: Session,
    actor: Actor,
    entity: str,
    record_id: int,
    *,
    offset: int = 0,
    to_parent_id: int | None = None,
):
    """Move a record `offset` places (-1 up, +1 down), or to the end of another parent."""
    model = _MOVABLE.get(entity)
    if model is None:
        raise ValidationError("entity", f"cannot move a {entity}")
    record = _get(session, model, actor.team_id, record_id, entity.replace("_", " "))
    get_editable_plan(session, actor, record.plan_id)

    if to_parent_id is not None:
        if model is Objective:
            parent = _get(session, Strategy, actor.team_id, to_parent_id, "strategy")
            parent_attr, parent_col = "strategy_id", Objective.strategy_id
        elif model is ActionItem:
            parent = _get(session, Objective, actor.team_id, to_parent_id, "objective")
            parent_attr, parent_col = "objective_id", ActionItem.objective_id
        else:
            raise ValidationError("parent", f"a {entity} stays in its plan")
        if parent.plan_id != record.plan_id:
            raise ValidationError("parent", "can only move within the same plan")
        _lock_plan(session, record.plan_id)
        _still_there(session, type(parent), parent.id, "strategy" if model is Objective else "objective")
        siblings = _siblings(session, record)
        if getattr(record, parent_attr) != parent.id:
            old_siblings = [s for s in siblings if s.id != record.id]
            record.position = _next_position(session, model, parent_col, parent.id)
            setattr(record, parent_attr, parent.id)
            _renumber(old_siblings)
    elif offset:
        _lock_plan(session, record.plan_id)
        siblings = _siblings(session, record)
        index = next(i for i, s in enumerate(siblings) if s.id == record.id)
        new_index = max(0, min(len(siblings) - 1, index + offset))
        siblings.insert(new_index, siblings.pop(index))
        _renumber(siblings)
    _flush(session)
    _log(session, actor, record.plan_id, entity, record.id, "moved", f"moved a {entity.replace('_', ' ')}")
    return record


# ---------------------------------------------------------------------------
# QBR reviews


def add_review(session: Session, actor: Actor, plan_id: int, data: ReviewInput) -> QbrReview:
    plan = get_editable_plan(session, actor, plan_id)
    errors = FieldErrors()
    if data.held_on is None:
        errors.add("held_on", "required")
    elif data.next_qbr_date is not None and data.next_qbr_date <= data.held_on:
        errors.add("next_qbr_date", "must be after the review date")
    texts = {
        name: errors.check(clean_text, getattr(data, name), name, max_len=TEXT_MAX, required=False)
        for name in ("attendees", "notes", "decisions")
    }
    errors.done()
    review = QbrReview(
        team_id=actor.team_id,
        plan_id=plan.id,
        held_on=data.held_on,
        next_qbr_date=data.next_qbr_date,
        created_by=actor.user_id,
        **texts,
    )
    session.add(review)
    if plan.last_review_date is None or data.held_on > plan.last_review_date:
        plan.last_review_date = data.held_on
    _flush(session)
    _log(session, actor, plan.id, "review", review.id, "created", f"logged QBR of {data.held_on.isoformat()}")
    return review


# ---------------------------------------------------------------------------
# Deep copy


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
    require_internal(actor)  # a copy would carry the SWOT and team-only parts
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
        account=_account(session, actor.team_id, account_name),
        name=name,
        start_date=start,
        end_date=end,
        status=PlanStatus.DRAFT,
        owner_id=actor.user_id,
        vision=source.vision,
        customer_goals=source.customer_goals,
        our_goals=source.our_goals,
        copied_from_id=source.id,
    )
    if options.team:
        team = [source.owner_id, *source.member_ids]
        copy.members = [
            PlanMember(user_id=user, team_id=actor.team_id)
            for user in dict.fromkeys(team)
            if user != actor.user_id
        ]
    session.add(copy)
    _flush(session)  # the copy's id, for its children below (Conflict if the original went)

    if options.swot:
        _copy_swot(session, copy, source.swot_entries)
    if options.strategies:
        _copy_hierarchy(session, actor, source, copy, options)
    _flush(session)
    _log(
        session,
        actor,
        copy.id,
        "plan",
        copy.id,
        "copied",
        f"copied “{source.name}” into “{copy.name}”",
    )
    return copy


def _insert_rows(session: Session, model, rows: list[dict]) -> None:
    """One multi-row INSERT (executemany) without RETURNING.

    Through the ORM unit of work each new row would come back for its id; on SQLite,
    where SQLAlchemy cannot batch RETURNING, that is one INSERT per row. Rows written
    here are not in the session: read them back by query (their parent's collection
    is loaded lazily, after this).
    """
    if rows:
        session.execute(insert(model), rows)


def _copy_swot(session: Session, copy: AccountPlan, entries: Sequence[SwotEntry]) -> None:
    next_position: dict[SwotKind, int] = {}
    rows = []
    for e in entries:  # ordered by kind, then position: renumber densely per kind
        position = next_position.get(e.kind, 0)
        next_position[e.kind] = position + 1
        rows.append(
            dict(
                team_id=copy.team_id,
                plan_id=copy.id,
                kind=e.kind,
                position=position,
                text=e.text,
                team_only=e.team_only,
            )
        )
    _insert_rows(session, SwotEntry, rows)


def _copy_hierarchy(
    session: Session, actor: Actor, source: AccountPlan, copy: AccountPlan, options: CopyOptions
) -> None:
    """Strategies, then objectives, then action items: one INSERT per level.

    Copies are numbered 0, 1, 2... within their parent, so (parent, position) names each
    new row and its id is read back with one query per level.
    """
    shift = copy.start_date - source.start_date
    _insert_rows(
        session,
        Strategy,
        [
            dict(
                team_id=copy.team_id,
                plan_id=copy.id,
                position=index,
                title=s.title,
                description=s.description,
            )
            for index, s in enumerate(source.strategies)
        ],
    )
    if not options.objectives or not source.strategies:
        return
    strategy_ids = {
        position: strategy_id
        for position, strategy_id in session.execute(
            select(Strategy.position, Strategy.id).where(Strategy.plan_id == copy.id)
        )
    }
    _insert_rows(
        session,
        Objective,
        [
            dict(
                team_id=copy.team_id,
                plan_id=copy.id,
                strategy_id=strategy_ids[s_index],
                position=o_index,
                title=o.title,
                description=o.description,
                measure_unit=o.measure_unit,
                target_value=o.target_value,
                # A new cycle starts from zero towards the same target.
                current_value=Decimal(0) if o.target_value is not None else None,
            )
            for s_index, s in enumerate(source.strategies)
            for o_index, o in enumerate(s.objectives)
        ],
    )
    if not options.action_items:
        return
    objective_ids = {
        (strategy_id, position): objective_id
        for objective_id, strategy_id, position in session.execute(
            select(Objective.id, Objective.strategy_id, Objective.position).where(
                Objective.plan_id == copy.id
            )
        )
    }
    rows = []
    for s_index, s in enumerate(source.strategies):
        for o_index, o in enumerate(s.objectives):
            objective_id = objective_ids[(strategy_ids[s_index], o_index)]
            for a_index, a in enumerate(o.action_items):
                due = a.due_date + shift if a.due_date else None
                if due is not None:  # a shorter cycle: keep every date inside it
                    due = min(max(due, copy.start_date), copy.end_date)
                rows.append(
                    dict(
                        team_id=copy.team_id,
                        plan_id=copy.id,
                        objective_id=objective_id,
                        position=a_index,
                        title=a.title,
                        notes=a.notes,
                        assignee_id=a.assignee_id,
                        due_date=due,
                        status=ItemStatus.OPEN,
                        done_at=None,
                        done_by=None,
                        team_only=a.team_only,
                        created_by=actor.user_id,
                    )
                )
    _insert_rows(session, ActionItem, rows)


# ---------------------------------------------------------------------------
# Reads for the Slack surfaces (lists, App Home, the message shortcut)


def count_plans(
    session: Session,
    team_id: str,
    *,
    user_id: str | None = None,
    status: PlanStatus | str | None = None,
    account: str | None = None,
) -> int:
    """How many plans `list_plans` with the same filters would page through."""
    query = plans_query(team_id, user_id=user_id, status=status, account=account).order_by(None)
    return session.scalar(select(func.count()).select_from(query.subquery()))


def plan_names(session: Session, team_id: str, plan_ids: Iterable[int]) -> dict[int, str]:
    """{plan id: name} for plans of the workspace, by primary key.

    Selected by id alone and checked against the workspace here: with `team_id = ?`
    in the query, SQLite prefers a list-order index and reads the whole workspace.
    """
    wanted = set(plan_ids)
    if not wanted:
        return {}
    rows = session.execute(
        select(AccountPlan.id, AccountPlan.team_id, AccountPlan.name).where(AccountPlan.id.in_(wanted))
    )
    return {plan_id: name for plan_id, team, name in rows if team == team_id}


@dataclass(frozen=True)
class ObjectiveChoice:
    plan_id: int
    plan_name: str
    label: str  # "strategy › objective"
    objective_id: int


def editable_objectives(session: Session, actor: Actor, *, limit: int = 100) -> list[ObjectiveChoice]:
    """Objectives of the draft and active plans `actor` may change, newest plans first,
    in reading order: one query, at most `limit` (a select menu holds 100)."""
    if actor.external:
        return []
    mine = plans_query(actor.team_id, user_id=actor.user_id).where(
        AccountPlan.status.in_(WORKING_STATUSES)).subquery()
    rows = session.execute(
        select(mine.c.id, mine.c.name, Strategy.title, Objective.title, Objective.id)
        .join(Strategy, Strategy.plan_id == mine.c.id)
        .join(Objective, Objective.strategy_id == Strategy.id)
        .order_by(mine.c.start_date.desc(), mine.c.id, Strategy.position, Objective.position)
        .limit(limit)
    )
    return [ObjectiveChoice(plan_id, plan_name, f"{strategy} › {objective}", objective_id)
            for plan_id, plan_name, strategy, objective, objective_id in rows]
