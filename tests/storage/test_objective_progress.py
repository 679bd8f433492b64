"""Objective owners and the progress they report: who may set an owner, who may record
progress (the team, or the objective's own owner), every field error at once, version
conflicts, and progress notes kept out of the customer's digest."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from storage import digests, progress
from storage.domain import Actor, Audience, ObjectiveStatus, objective_is_stale
from storage.errors import Conflict, NotFound, PermissionDenied, ValidationError
from storage.models import AccountPlan, ChangeLogEntry

from .conftest import MEMBER, OUTSIDER, OWNER, STRANGER, make_objective

NOW = dt.datetime(2025, 5, 5, 10, 0, tzinfo=dt.timezone.utc)


def test_owner_defaults_to_the_plan_owner_and_follows_it(session, tree):
    plan, _, objective, _ = tree
    assert progress.owner_of(objective, plan) == OWNER.user_id
    progress.set_objective_owner(session, MEMBER, objective.id, STRANGER.user_id)
    session.commit()
    assert objective.owner_id == STRANGER.user_id
    assert progress.owner_of(objective, plan) == STRANGER.user_id
    progress.set_objective_owner(session, OWNER, objective.id, OWNER.user_id)  # the plan's owner: None
    session.commit()
    assert objective.owner_id is None


def test_a_new_owner_has_the_plans_check_ins_worked_out_again(session, tree):
    plan, _, objective, _ = tree
    session.execute(AccountPlan.__table__.update().values(checkins_checked_on=dt.date(2025, 5, 5)))
    session.commit()
    version = plan.version
    progress.set_objective_owner(session, OWNER, objective.id, STRANGER.user_id)
    session.commit()
    session.refresh(plan)
    assert plan.checkins_checked_on is None
    assert plan.version == version  # not an edit of the plan: open plan forms still save


def test_only_owner_and_team_set_owners(session, tree):
    _, _, objective, _ = tree
    for actor in (STRANGER, Actor(OWNER.team_id, OWNER.user_id, external=True)):
        with pytest.raises(PermissionDenied):
            progress.set_objective_owner(session, actor, objective.id, STRANGER.user_id)
        session.rollback()
    with pytest.raises(NotFound):
        progress.set_objective_owner(session, OUTSIDER, objective.id, STRANGER.user_id)
    session.rollback()
    with pytest.raises(ValidationError) as raised:
        progress.set_objective_owner(session, OWNER, objective.id, "<not a user>")
    assert raised.value.field == "owner"


def test_record_progress_sets_everything_and_logs_it(session, tree):
    plan, strategy, _, _ = tree
    measurable = make_objective(session, strategy, "Win IDNs", target_value=5, current_value=1)
    session.commit()
    version = measurable.version
    progress.record_progress(session, MEMBER, measurable.id, "at_risk", "Budget freeze\nuntil June", "2",
                             expected_version=version, now=NOW)
    session.commit()
    assert (measurable.progress_status, measurable.progress_note, measurable.current_value) == (
        ObjectiveStatus.AT_RISK, "Budget freeze until June", Decimal(2))
    assert (measurable.progress_updated_at, measurable.progress_updated_by) == (NOW, MEMBER.user_id)
    assert measurable.version == version + 1
    progress.record_progress(session, MEMBER, measurable.id, ObjectiveStatus.ON_TRACK, "", None, now=NOW)
    assert measurable.current_value == Decimal(2)  # blank: unchanged
    entry = session.scalars(select(ChangeLogEntry).where(ChangeLogEntry.entity == "objective_progress")
                            .order_by(ChangeLogEntry.id)).first()
    assert entry.summary == "“Win IDNs”: at risk (Budget freeze until June)"


def test_every_field_error_at_once_and_stale_versions(session, tree):
    _, _, objective, _ = tree  # not measurable
    with pytest.raises(ValidationError) as raised:
        progress.record_progress(session, OWNER, objective.id, "", "x" * 201, "12")
    assert set(raised.value.errors) == {"status", "note", "current_value"}
    assert raised.value.errors["current_value"] == "this objective has no target to measure against"
    with pytest.raises(ValidationError) as raised:
        progress.record_progress(session, OWNER, objective.id, "sideways", "", "twelve")
    assert set(raised.value.errors) == {"status", "current_value"}
    with pytest.raises(Conflict):
        progress.record_progress(session, OWNER, objective.id, "on_track", "", None,
                                 expected_version=objective.version - 1)


def test_the_objectives_own_owner_may_record_progress_outside_the_team(session, tree):
    _, _, objective, _ = tree
    with pytest.raises(PermissionDenied):
        progress.record_progress(session, STRANGER, objective.id, "on_track")
    session.rollback()
    progress.set_objective_owner(session, OWNER, objective.id, STRANGER.user_id)
    session.commit()
    progress.record_progress(session, STRANGER, objective.id, "off_track", "Lost the champion")
    session.commit()
    assert objective.progress_status == ObjectiveStatus.OFF_TRACK
    for actor in (Actor(STRANGER.team_id, STRANGER.user_id, external=True),):
        with pytest.raises(PermissionDenied):
            progress.record_progress(session, actor, objective.id, "on_track")
        session.rollback()
    with pytest.raises(NotFound):
        progress.record_progress(session, OUTSIDER, objective.id, "on_track")


def test_progress_notes_stay_out_of_the_customers_digest(session, tree):
    plan, _, objective, _ = tree
    since = dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)
    progress.record_progress(session, OWNER, objective.id, "at_risk", "Champion leaving")
    session.commit()
    external = digests.digest_content(session, plan.team_id, plan.id, audience=Audience.EXTERNAL, since=since,
                                      today=dt.date(2025, 5, 5))
    team = digests.digest_content(session, plan.team_id, plan.id, audience=Audience.TEAM, since=since,
                                  today=dt.date(2025, 5, 5))
    assert not any("Champion leaving" in c.summary for c in external.changes)
    assert any("Champion leaving" in c.summary for c in team.changes)


def test_summary_since_a_moment(session, tree):
    plan, strategy, first, _ = tree
    second = make_objective(session, strategy, "Second")
    make_objective(session, strategy, "Third")
    progress.record_progress(session, OWNER, first.id, "at_risk", now=NOW - dt.timedelta(days=40))
    progress.record_progress(session, OWNER, second.id, "on_track", now=NOW)
    session.commit()
    assert progress.progress_summary(session, plan.team_id, plan.id, since=NOW - dt.timedelta(days=30)) == \
        progress.ProgressSummary(total=3, updated=1, on_track=1, at_risk=1, off_track=0)
    assert progress.progress_summary(session, plan.team_id, plan.id, since=None).updated == 2
    with pytest.raises(NotFound):
        progress.progress_summary(session, OUTSIDER.team_id, plan.id, since=None)


def test_objectives_owned_by_someone(session, tree):
    plan, strategy, first, _ = tree
    second = make_objective(session, strategy, "Second")
    progress.set_objective_owner(session, OWNER, second.id, MEMBER.user_id)
    session.commit()
    assert [o.id for o in progress.objectives_owned_by(session, plan.team_id, plan.id, OWNER.user_id)] == [first.id]
    assert [o.id for o in progress.objectives_owned_by(session, plan.team_id, plan.id, MEMBER.user_id)] == [second.id]


def test_stale_after_thirty_days_without_an_update(session, tree):
    _, _, objective, _ = tree
    written = objective.created_at.date()
    assert not objective_is_stale(objective, written + dt.timedelta(days=29))
    assert objective_is_stale(objective, written + dt.timedelta(days=30))
    progress.record_progress(session, OWNER, objective.id, "on_track", now=NOW)
    assert not objective_is_stale(objective, NOW.date() + dt.timedelta(days=29))
    assert objective_is_stale(objective, NOW.date() + dt.timedelta(days=30))
