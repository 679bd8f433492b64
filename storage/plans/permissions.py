"""Who may read and change a plan: its owner and team change it; people from another
organisation never change it and read only what was put in front of them."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.domain import Actor
from storage.errors import PermissionDenied
from storage.models import AccountPlan, ActionItem, DigestPost
from storage.plans.reads import get_plan, item_shown_to_customer, with_parents


OUTSIDERS_REFUSED = ("Account plans are kept by this workspace's account team: people from "
                     "other organisations can't change or copy them.")
# Said to anyone who presses a button on an action item that is not theirs: it names
# nothing of the item or the plan (it may be said to a customer in a shared channel).
NOT_YOURS = ("Only the person this action item is assigned to, or the plan's team, can "
             "change it. Nothing was changed.")


def can_edit(plan: AccountPlan, actor: Actor) -> bool:
    """The owner and team change a plan; never a person from another organisation."""
    if actor.external:
        return False
    return actor.user_id == plan.owner_id or actor.user_id in plan.member_ids


def readable_by_outsider(
    session: Session, team_id: str, plan_id: int, *, user_id: str, channel_id: str | None
) -> bool:
    """Whether a person from another organisation may read the plan's customer view:
    only where the team put the plan in front of them, by assigning them one of the
    action items it shares with them (shared, under shared parents) or by posting its
    digest to the conversation they act in."""
    assigned = with_parents(select(ActionItem.id)).where(
        ActionItem.team_id == team_id, ActionItem.plan_id == plan_id,
        ActionItem.assignee_id == user_id, item_shown_to_customer(),
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


def may_act_on_item(session: Session, plan: AccountPlan, item: ActionItem, actor: Actor) -> bool:
    """Who may mark an action item done, ask for more time or snooze it: the plan's owner
    and team, and the item's own assignee; an assignee from another organisation (a
    customer in the shared channel) only while the item is shown to customers (it and
    its parents shared), since they are never shown anything else."""
    if can_edit(plan, actor):
        return True
    if not item.assignee_id or actor.user_id != item.assignee_id:
        return False
    if not actor.external:
        return True
    shown = with_parents(select(ActionItem.id)).where(
        ActionItem.id == item.id, item_shown_to_customer()).limit(1)
    return session.scalar(shown) is not None


def require_item_actor(session: Session, plan: AccountPlan, item: ActionItem, actor: Actor) -> None:
    """PermissionDenied (NOT_YOURS, naming nothing) unless `may_act_on_item`."""
    if not may_act_on_item(session, plan, item, actor):
        raise PermissionDenied(NOT_YOURS)


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
