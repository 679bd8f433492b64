"""What each side owes next: a digest's "Our commitments / your commitments".

An open action item is the customer's when it names a customer contact without Slack
(`customer_contact_id`) or its assignee is known to be from another organisation
(storage.people: `Person.external` is True); every other open item is ours, unassigned
ones included (the team owes finding someone). A person whose organisation is not known
yet counts as ours: Slack is asked the first time it matters (bot/scheduler), and until
then the safe reading is that the team still owes it.

Soonest due first, items without a due date last, `limit` a side, in one query; the
totals are counted by digest_content's one pass over the plan's items (`theirs_condition`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, case, func, or_, select
from sqlalchemy.orm import Session

from storage.models import ActionItem, ItemStatus, Person, Stakeholder

COMMITMENTS_LIMIT = 5  # items a side in a digest; the rest are "…and N more"


@dataclass
class Commitments:
    ours: list[ActionItem] = field(default_factory=list)
    theirs: list[ActionItem] = field(default_factory=list)
    ours_total: int = 0
    theirs_total: int = 0
    # {item id: the customer contact's name}: the team's digest only (stakeholders are
    # the team's records, never shown to a customer).
    contacts: dict[int, str] = field(default_factory=dict)


def theirs_condition(team_id: str) -> ColumnElement[bool]:
    """An action item the customer owes (see the module docstring). The assignee's
    organisation is a scalar subquery, not EXISTS: PostgreSQL runs it as one primary-key
    probe per item of the plan, where it would turn EXISTS into a join that reads every
    person of the workspace."""
    from_elsewhere = select(Person.external).where(
        Person.team_id == team_id, Person.user_id == ActionItem.assignee_id
    ).correlate(ActionItem).scalar_subquery()
    return or_(ActionItem.customer_contact_id.is_not(None), from_elsewhere.is_(True))


def open_commitments(session: Session, team_id: str, of_plan, visible, *, external: bool,
                     limit: int = COMMITMENTS_LIMIT) -> Commitments:
    """The first `limit` open items of each side. `of_plan(query)` narrows a query over
    action items to the plan (joined with their parents for an external audience) and
    `visible` is the audience's allow-list condition, both from digest_content."""
    theirs = theirs_condition(team_id)
    # Both sides in one query: each item numbered within its side, soonest due first.
    side = case((theirs, 1), else_=0)
    order = (ActionItem.due_date.is_(None), ActionItem.due_date, ActionItem.id)
    numbered = of_plan(select(
        ActionItem.id, side.label("theirs"),
        func.row_number().over(partition_by=side, order_by=order).label("place"),
    )).where(ActionItem.status == ItemStatus.OPEN, visible).subquery()
    rows = session.execute(
        select(ActionItem, numbered.c.theirs).join(numbered, numbered.c.id == ActionItem.id)
        .where(numbered.c.place <= limit).order_by(numbered.c.theirs, numbered.c.place)
    ).all()
    found = Commitments(ours=[item for item, owed in rows if not owed],
                        theirs=[item for item, owed in rows if owed])
    contact_items = [item.id for item in found.theirs if item.customer_contact_id is not None]
    if contact_items and not external:
        found.contacts = dict(session.execute(
            select(ActionItem.id, Stakeholder.name)
            .join(Stakeholder, Stakeholder.id == ActionItem.customer_contact_id)
            .where(ActionItem.id.in_(contact_items), Stakeholder.team_id == team_id)
        ).all())
    return found
