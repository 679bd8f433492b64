"""Logging a QBR moves the plan's check-in round at once: the next scheduler pass the
same day works the plan out again (storage/plans/reviews.py → checkins.plan_rounds_changed)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from storage import checkins
from storage import plans as ops
from storage.models import AccountPlan, CheckinRequest
from storage.plans import ReviewInput

from .conftest import OWNER, make_objective, make_plan, make_strategy

NOW = dt.datetime(2025, 6, 5, 12, tzinfo=dt.timezone.utc)  # a Thursday


def schedule(session_factory) -> int:
    with session_factory() as session, session.begin():
        return checkins.schedule_checkins(session, NOW)


def test_a_new_qbr_date_is_asked_for_the_same_day(session, session_factory):
    plan = make_plan(session, status="active")
    make_objective(session, make_strategy(session, plan), "Win IDNs")
    ops.add_review(session, OWNER, plan.id, ReviewInput(held_on=dt.date(2025, 3, 14),
                                                        next_qbr_date=dt.date(2025, 9, 12)))
    session.commit()
    assert schedule(session_factory) == 1  # nothing due before September
    assert schedule(session_factory) == 0  # looked at today already
    version = session.get(AccountPlan, plan.id).version

    # The QBR moves up to next Tuesday: asked 5 days before, so today.
    ops.add_review(session, OWNER, plan.id, ReviewInput(held_on=dt.date(2025, 6, 4),
                                                        next_qbr_date=dt.date(2025, 6, 10)))
    session.commit()
    assert schedule(session_factory) == 1
    session.expire_all()
    assert [(r.owner_id, r.round_key) for r in session.scalars(select(CheckinRequest))] == [
        (OWNER.user_id, "qbr:2025-06-10")]
    plan = session.get(AccountPlan, plan.id)
    assert plan.version == version + 1  # the review's own change (last_review_date), nothing more
