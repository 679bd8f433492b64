"""QBR reviews and the change log ("what changed since")."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.exc import StatementError

from storage import plans as ops
from storage.errors import ValidationError
from storage.models import utcnow
from storage.plans import ReviewInput

from .conftest import MEMBER, OWNER, TEAM, make_plan


def test_add_review_stores_it_and_sets_the_last_review_date(session, plan):
    review = ops.add_review(
        session, MEMBER, plan.id,
        ReviewInput(held_on=dt.date(2025, 3, 10), attendees=" Dr. Ruiz ", notes="Good", decisions="Pilot",
                    next_qbr_date=dt.date(2025, 6, 10)),
    )
    session.commit()
    session.expire_all()

    saved = ops.load_plan_tree(session, TEAM, plan.id)
    assert saved.last_review_date == dt.date(2025, 3, 10)
    [stored] = saved.reviews
    assert (stored.id, stored.attendees, stored.notes, stored.decisions, stored.next_qbr_date, stored.created_by) == (
        review.id, "Dr. Ruiz", "Good", "Pilot", dt.date(2025, 6, 10), MEMBER.user_id,
    )


def test_a_review_is_logged_once_held_never_ahead(session, plan):
    today = utcnow().date()
    with pytest.raises(ValidationError) as refused:
        ops.add_review(session, OWNER, plan.id, ReviewInput(held_on=dt.date(9999, 12, 31)))
    assert refused.value.errors == {"held_on": "can't be in the future: log a QBR once it is held"}
    ops.add_review(session, OWNER, plan.id, ReviewInput(held_on=today + dt.timedelta(days=1)))  # their day
    session.commit()
    assert ops.get_plan(session, TEAM, plan.id).last_review_date == today + dt.timedelta(days=1)


def test_the_last_review_date_is_the_latest_review_not_the_last_entered(session, plan):
    ops.add_review(session, OWNER, plan.id, ReviewInput(held_on=dt.date(2025, 6, 1)))
    ops.add_review(session, OWNER, plan.id, ReviewInput(held_on=dt.date(2025, 3, 1)))  # entered late
    session.commit()
    session.expire_all()

    saved = ops.load_plan_tree(session, TEAM, plan.id)
    assert saved.last_review_date == dt.date(2025, 6, 1)
    assert [r.held_on for r in saved.reviews] == [dt.date(2025, 3, 1), dt.date(2025, 6, 1)]


def test_every_change_is_logged_with_actor_and_plan(session, tree):
    plan, strategy, _objective, item = tree
    ops.update_strategy(session, MEMBER, strategy.id, "Renamed")
    ops.set_action_item_done(session, MEMBER, item.id)
    session.commit()

    log = ops.changes_since(session, TEAM, plan.id, None)

    assert [(e.entity, e.action) for e in log] == [
        ("plan", "created"), ("strategy", "created"), ("objective", "created"),
        ("action_item", "created"), ("strategy", "updated"), ("action_item", "completed"),
    ]
    assert {e.plan_id for e in log} == {plan.id}
    assert log[-1].actor_id == MEMBER.user_id and log[-1].entity_id == item.id
    assert "Renamed" in log[-2].summary


def test_changes_since_returns_only_later_changes(session, tree):
    plan, strategy, *_ = tree
    since = utcnow()
    ops.update_strategy(session, MEMBER, strategy.id, "Renamed")
    ops.add_swot_entry(session, MEMBER, plan.id, "threat", "Generics")
    session.commit()

    later = ops.changes_since(session, TEAM, plan.id, since)

    assert [(e.entity, e.action) for e in later] == [("strategy", "updated"), ("swot", "created")]
    assert all(e.at > since for e in later)
    assert ops.changes_since(session, TEAM, plan.id, utcnow()) == []


def test_changes_since_only_covers_the_plan_asked_about(session, plan):
    other = make_plan(session, name="Other")
    session.commit()
    assert [e.plan_id for e in ops.changes_since(session, TEAM, other.id, None)] == [other.id]


def test_changes_since_limit_keeps_the_oldest_first(session, tree):
    plan, strategy, *_ = tree
    for n in range(5):
        ops.update_strategy(session, OWNER, strategy.id, f"Title {n}")
    session.commit()
    log = ops.changes_since(session, TEAM, plan.id, None, limit=3)
    assert [e.action for e in log] == ["created", "created", "created"]


def test_changes_since_rejects_a_naive_time(session, plan):
    # Stored times are UTC; a time without a zone is ambiguous, so it is refused loudly.
    with pytest.raises(StatementError, match="naive datetime"):
        ops.changes_since(session, TEAM, plan.id, dt.datetime(2025, 1, 1))
