"""Logging a quarterly business review (QBR) held with the customer."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from storage import checkins
from storage.domain import Actor
from storage.models import TEXT_MAX, QbrReview
from storage.plans.permissions import get_editable_plan
from storage.plans.rules import FieldErrors, ReviewInput, clean_text
from storage.plans.writes import flush_or_conflict, log_change

# A QBR is logged once held; a day of slack for people whose own day is already tomorrow.
# (A date far ahead, say 9999-12-31, also broke every date worked out from the last QBR.)
HELD_ON_SLACK = dt.timedelta(days=1)


def add_review(session: Session, actor: Actor, plan_id: int, data: ReviewInput) -> QbrReview:
    plan = get_editable_plan(session, actor, plan_id)
    errors = FieldErrors()
    if data.held_on is None:
        errors.add("held_on", "required")
    elif data.held_on > dt.datetime.now(dt.timezone.utc).date() + HELD_ON_SLACK:
        errors.add("held_on", "can't be in the future: log a QBR once it is held")
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
    flush_or_conflict(session)
    log_change(session, actor, plan.id, "review", review.id, "created", f"logged QBR of {data.held_on.isoformat()}")
    # A new QBR date moves the plan's check-in round: worked out again at the next pass, today.
    checkins.plan_rounds_changed(session, plan.id)
    return review
