"""The customer agrees to the plan: "Ask customer to confirm", "Agree", and whether an
agreement still holds.

- Only the plan's owner and team ask (a request speaks for the plan to the customer);
  only a person from another organisation agrees (the customer), once a request.
- A request records what the customer was shown (PlanAgreement.shown). An agreement is
  current while nothing it covers changed after the request was posted, read off the
  change log (storage/plans/writes.py log_change; no hooks in the modules that change
  the plan): a strategy, objective or action item that was shown (edited, moved,
  deleted, no longer shared) or is shown now and was not (newly shared or added). Items
  marked done or reopened and progress updates are the plan being carried out, not a
  change to it. Changes to parts the customer never saw change nothing, nor do edits
  of fields the customer view does not show (an item's notes or follow-up owner), nor
  a save that changed nothing: the edit modules log only what changed (writes.log_edit).
- A request for one objective covers that objective and its shared items.
- Pressing "Agree" on a request whose parts changed since it was posted is refused: the
  customer would agree to something else than the plan as it is.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Select, and_, or_, select, update
from sqlalchemy.orm import Session

from storage.domain import NAME_MAX, Actor, Audience
from storage.errors import NotFound, PermissionDenied, PlanError, ValidationError
from storage.models import ActionItem, ChangeLogEntry, Objective, PlanAgreement, Strategy, utcnow
from storage.plans.permissions import get_editable_plan
from storage.plans.reads import get_plan, is_id, item_shown_to_customer, with_parents
from storage.plans.writes import UPDATED_INTERNALLY, log_change

ENTITIES = ("strategy", "objective", "action_item")
# Change-log actions that carry the plan out rather than change it, and edits of fields
# the customer view does not show (notes, follow-up, current value: writes.CUSTOMER_FIELDS).
NOT_CHANGES = frozenset({"completed", "reopened", "owner", UPDATED_INTERNALLY})

ONLY_CUSTOMER = "Only someone from the customer can agree."
NOTHING_SHARED = ("Nothing of this plan is shared with the customer yet: mark strategies and "
                  "objectives \u201cShared with customer\u201d first.")
OBJECTIVE_NOT_SHARED = ("That objective isn't shared with the customer (it, or its strategy, is "
                        "kept within the team).")
CHANGED_SINCE = ("The plan changed since this was posted, so it is not the plan as it is now. "
                 "Ask the account team to send it again.")


class AlreadyAgreed(PlanError):
    """Someone from the customer agreed to this request already."""


@dataclass(frozen=True)
class AgreementState:
    """The latest agreement of one scope (the whole plan, or one objective)."""

    request_id: int
    objective_id: int | None
    objective_title: str  # "" for the whole plan
    name: str
    organisation: str
    agreed_at: dt.datetime
    changed_at: dt.datetime | None  # the first change to what was agreed; None: current

    @property
    def current(self) -> bool:
        return self.changed_at is None


@dataclass
class _Shown:
    """What an external audience sees of a plan now: ids, and each part's parent."""

    strategies: set[int]
    objectives: dict[int, int]  # objective id -> strategy id
    items: dict[int, int]  # action item id -> objective id

    def of(self, objective_id: int | None) -> dict[str, list[int]]:
        """PlanAgreement.shown for the whole plan, or for one objective."""
        if objective_id is None:
            return {"strategy": sorted(self.strategies), "objective": sorted(self.objectives),
                    "action_item": sorted(self.items)}
        return {"strategy": [], "objective": [objective_id] if objective_id in self.objectives else [],
                "action_item": sorted(i for i, o in self.items.items() if o == objective_id)}


def _shown_now(session: Session, plan_id: int) -> _Shown:
    strategies = set(session.scalars(select(Strategy.id).where(
        Strategy.plan_id == plan_id, Strategy.shared_with_customer.is_(True))))
    objectives = {o: s for o, s in session.execute(select(Objective.id, Objective.strategy_id).where(
        Objective.plan_id == plan_id, Objective.shared_with_customer.is_(True))) if s in strategies}
    items = {i: o for i, o in session.execute(select(ActionItem.id, ActionItem.objective_id).where(
        ActionItem.plan_id == plan_id, ActionItem.shared_with_customer.is_(True))) if o in objectives}
    return _Shown(strategies, objectives, items)


def shared_objectives(session: Session, team_id: str, plan_id: int) -> list[tuple[int, str]]:
    """(id, title) of the objectives the customer sees, in plan order (the form's choices)."""
    plan = get_plan(session, team_id, plan_id)
    rows = session.execute(
        select(Objective.id, Objective.title).join(Strategy, Strategy.id == Objective.strategy_id)
        .where(Objective.plan_id == plan.id, Objective.shared_with_customer.is_(True),
               Strategy.shared_with_customer.is_(True))
        .order_by(Strategy.position, Strategy.id, Objective.position, Objective.id)
    )
    return [(row.id, row.title) for row in rows]


def check_request(session: Session, actor: Actor, plan_id: int, *, channel_id: str | None,
                  objective_id: int | None) -> dict[str, list[int]]:
    """What a request would show; refusals and field errors before anything is written."""
    plan = get_editable_plan(session, actor, plan_id)
    errors: dict[str, str] = {}
    if not channel_id:
        errors["channel"] = "Choose the channel you share with the customer."
    shown = _shown_now(session, plan.id)
    if objective_id is not None and objective_id not in shown.objectives:
        errors["scope"] = OBJECTIVE_NOT_SHARED
    elif objective_id is None and not shown.strategies:
        errors["scope"] = NOTHING_SHARED
    if errors:
        raise ValidationError.of(errors)
    return shown.of(objective_id)


def request_confirmation(session: Session, actor: Actor, plan_id: int, *, channel_id: str,
                         objective_id: int | None = None, now: dt.datetime | None = None) -> PlanAgreement:
    """Record a request (before posting it: its buttons carry its id)."""
    shown = check_request(session, actor, plan_id, channel_id=channel_id, objective_id=objective_id)
    request = PlanAgreement(team_id=actor.team_id, plan_id=plan_id, objective_id=objective_id,
                            channel_id=channel_id, message_ts="", requested_by=actor.user_id,
                            requested_at=now or utcnow(), shown=shown, agreed_name="",
                            agreed_organisation="")
    session.add(request)
    session.flush()
    return request


def record_posted(session: Session, team_id: str, request_id: int, *, channel_id: str, message_ts: str,
                  actor: Actor) -> None:
    """The request is in the customer channel: remember where, and log it."""
    request = get_request(session, team_id, request_id)
    request.channel_id, request.message_ts = channel_id, message_ts
    what = "the plan" if request.objective_id is None else "an objective"
    log_change(session, actor, request.plan_id, "plan", request.plan_id, "confirm",
               f"asked the customer to confirm {what}")


def forget_request(session: Session, team_id: str, request_id: int) -> None:
    """Posting failed: the request never reached anyone."""
    session.delete(get_request(session, team_id, request_id))


def get_request(session: Session, team_id: str, request_id: int) -> PlanAgreement:
    gone = NotFound("That request to confirm the plan is no longer there.")
    if not is_id(request_id):
        raise gone
    found = session.scalars(select(PlanAgreement).where(
        PlanAgreement.id == request_id, PlanAgreement.team_id == team_id)).one_or_none()
    if found is None:
        raise gone
    return found


def _shown_now_ids(plan_id: int, objective_id: int | None) -> dict[str, Select]:
    """Subqueries of the ids an external audience sees now of the request's scope."""
    objectives = (select(Objective.id).join(Strategy, Strategy.id == Objective.strategy_id)
                  .where(Objective.shared_with_customer.is_(True), Strategy.shared_with_customer.is_(True)))
    items = with_parents(select(ActionItem.id)).where(item_shown_to_customer())
    if objective_id is not None:
        return {"objective": objectives.where(Objective.id == objective_id),
                "action_item": items.where(ActionItem.objective_id == objective_id)}
    return {"strategy": select(Strategy.id).where(Strategy.plan_id == plan_id,
                                                  Strategy.shared_with_customer.is_(True)),
            "objective": objectives.where(Objective.plan_id == plan_id),
            "action_item": items.where(ActionItem.plan_id == plan_id)}


def first_change(session: Session, request: PlanAgreement) -> dt.datetime | None:
    """When something the request covers first changed after it was posted; None: never.

    One query, its cost bounded whatever the plan's history: the change log's lines of
    the plan after the request (index (plan_id, at), in order), about a part the request
    showed or one shown now, and not progress nor an edit the customer cannot see; the
    first one only."""
    then = request.shown or {}
    now = _shown_now_ids(request.plan_id, request.objective_id)
    about = []
    for entity in ENTITIES:
        ids = [ChangeLogEntry.entity_id.in_(then[entity])] if then.get(entity) else []
        if entity in now:
            ids.append(ChangeLogEntry.entity_id.in_(now[entity]))
        if ids:
            about.append(and_(ChangeLogEntry.entity == entity, or_(*ids)))
    return session.scalar(
        select(ChangeLogEntry.at)
        .where(ChangeLogEntry.plan_id == request.plan_id, ChangeLogEntry.team_id == request.team_id,
               ChangeLogEntry.at > request.requested_at, ChangeLogEntry.action.not_in(NOT_CHANGES),
               or_(*about))
        .order_by(ChangeLogEntry.at, ChangeLogEntry.id).limit(1)
    )


def record_agreement(session: Session, actor: Actor, request_id: int, *, channel_id: str | None,
                     name: str, organisation: str, now: dt.datetime | None = None) -> PlanAgreement:
    """A person from the customer agrees, on the request's own message."""
    if not actor.external:
        raise PermissionDenied(ONLY_CUSTOMER)
    request = get_request(session, actor.team_id, request_id)
    if channel_id != request.channel_id:
        raise NotFound("That request to confirm the plan is no longer there.")
    if request.agreed_at is None and first_change(session, request) is not None:
        raise PlanError(CHANGED_SINCE)
    now = now or utcnow()
    name, organisation = (name or actor.user_id)[:NAME_MAX], (organisation or "")[:NAME_MAX]
    # One agreement a request, even when two people press at once.
    claimed = session.execute(
        update(PlanAgreement).where(PlanAgreement.id == request.id, PlanAgreement.agreed_at.is_(None))
        .values(agreed_by=actor.user_id, agreed_name=name, agreed_organisation=organisation, agreed_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.refresh(request)
    if not claimed:
        raise AlreadyAgreed(f"{request.agreed_name} ({request.agreed_organisation}) agreed to this already.")
    log_change(session, actor, request.plan_id, "plan", request.plan_id, "agreed",
               f"{name} ({organisation}) agreed to "
               + ("the plan" if request.objective_id is None else "an objective"))
    return request


def record_thread(session: Session, team_id: str, request_id: int, *, channel_id: str, ts: str) -> bool:
    """The first comment's message in the team's conversation; False when another
    comment got there first (this one then stands alone, the next ones thread)."""
    return bool(session.execute(
        update(PlanAgreement).where(PlanAgreement.id == request_id, PlanAgreement.team_id == team_id,
                                    PlanAgreement.thread_ts.is_(None))
        .values(thread_channel_id=channel_id, thread_ts=ts)
        .execution_options(synchronize_session=False)
    ).rowcount)


def agreement_states(session: Session, team_id: str, plan_id: int, *,
                     audience: Audience = Audience.TEAM) -> list[AgreementState]:
    """The latest agreement of the whole plan, then of each objective, each saying
    whether it still holds. An external audience gets only those of objectives it sees
    (and the whole plan's)."""
    agreed = list(session.scalars(
        select(PlanAgreement).where(PlanAgreement.team_id == team_id, PlanAgreement.plan_id == plan_id,
                                    PlanAgreement.agreed_at.is_not(None))
        .order_by(PlanAgreement.agreed_at.desc(), PlanAgreement.id.desc())
    ))
    latest: dict[int | None, PlanAgreement] = {}
    for request in agreed:
        latest.setdefault(request.objective_id, request)
    if not latest:
        return []
    objective_ids = [o for o in latest if o is not None]
    # Each objective's title, and whether an external audience sees it now.
    objectives = {row.id: row for row in session.execute(
        select(Objective.id, Objective.title,
               and_(Objective.shared_with_customer.is_(True), Strategy.shared_with_customer.is_(True))
               .label("shown"))
        .join(Strategy, Strategy.id == Objective.strategy_id).where(Objective.id.in_(objective_ids))
    )} if objective_ids else {}
    states = []
    for objective_id, request in sorted(latest.items(), key=lambda pair: (pair[0] is not None, pair[0] or 0)):
        row = objectives.get(objective_id)
        if objective_id is not None and audience == Audience.EXTERNAL and not (row and row.shown):
            continue
        states.append(AgreementState(
            request_id=request.id, objective_id=objective_id, objective_title=row.title if row else "",
            name=request.agreed_name, organisation=request.agreed_organisation,
            agreed_at=request.agreed_at, changed_at=first_change(session, request),
        ))
    return states
