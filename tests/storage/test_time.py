"""Times are stored in UTC and come back timezone-aware UTC on every database."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import StatementError

from storage import plans as ops
from storage.models import UTC, Account, ActionItem, ChangeLogEntry, QbrReview

from .conftest import OWNER, TEAM

UTC_ZONE = dt.timezone.utc


def _fresh(session, model, record_id):
    session.expire_all()
    return session.get(model, record_id)


def test_every_stored_time_comes_back_aware_utc(session, tree):
    plan, _strategy, _objective, item = tree
    ops.set_action_item_done(session, OWNER, item.id)
    review = ops.add_review(session, OWNER, plan.id, ops.ReviewInput(held_on=dt.date(2025, 3, 1)))
    session.commit()

    saved_item = _fresh(session, ActionItem, item.id)
    times = [
        saved_item.created_at, saved_item.updated_at, saved_item.done_at,
        ops.get_plan(session, TEAM, plan.id).created_at,
        session.scalars(select(Account.created_at)).first(),
        session.get(QbrReview, review.id).created_at,
        *session.scalars(select(ChangeLogEntry.at)),
    ]
    assert all(t.tzinfo is not None and t.utcoffset() == dt.timedelta(0) for t in times), times


def test_updated_at_moves_on_edit_and_created_at_stays(session, tree):
    *_, item = tree
    created, updated = item.created_at, item.updated_at
    ops.set_action_item_done(session, OWNER, item.id)
    session.commit()

    saved = _fresh(session, ActionItem, item.id)
    assert saved.created_at == created and saved.updated_at > updated


def test_a_time_in_another_zone_is_stored_as_the_same_instant(session, tree):
    *_, item = tree
    new_york = dt.timezone(dt.timedelta(hours=-5))
    item.done_at = dt.datetime(2025, 3, 1, 9, 30, 15, 123456, tzinfo=new_york)
    session.commit()

    saved = _fresh(session, ActionItem, item.id).done_at
    assert saved == dt.datetime(2025, 3, 1, 14, 30, 15, 123456, tzinfo=UTC_ZONE)
    assert saved.tzinfo == UTC_ZONE


def test_times_read_in_a_non_utc_database_session_still_come_back_utc(engine, session, tree):
    *_, item = tree
    stamp = dt.datetime(2025, 3, 1, 14, 30, tzinfo=UTC_ZONE)
    item.done_at = stamp
    session.commit()

    if engine.dialect.name == "postgresql":  # PostgreSQL answers in the session's zone
        session.execute(text("set local time zone 'Asia/Kolkata'"))
    saved = _fresh(session, ActionItem, item.id).done_at
    assert saved == stamp and saved.utcoffset() == dt.timedelta(0)


def test_naive_times_are_refused(session, tree):
    *_, item = tree
    item.done_at = dt.datetime(2025, 3, 1, 9, 30)
    with pytest.raises(StatementError, match="naive datetime"):
        session.commit()


def test_utc_type_passes_none_through():
    column_type = UTC()
    assert column_type.process_bind_param(None, None) is None
    assert column_type.process_result_value(None, None) is None
