"""Ticking action items off, and a person's open items."""

from __future__ import annotations

import datetime as dt

from storage import plans as ops
from storage.models import ItemStatus, utcnow

from .conftest import MEMBER, OUTSIDER, OWNER, TEAM, make_item, make_objective, make_plan, make_strategy


def test_marking_done_records_who_and_when(session, tree):
    *_, item = tree
    before = utcnow()

    done = ops.set_action_item_done(session, OWNER, item.id)
    session.commit()
    session.expire_all()

    saved = ops.get_action_item(session, TEAM, item.id)
    assert (saved.status, saved.done_by, saved.version) == (ItemStatus.DONE, OWNER.user_id, 2)
    assert before <= saved.done_at <= utcnow()
    assert done is saved


def test_reopening_clears_who_and_when(session, tree):
    *_, item = tree
    ops.set_action_item_done(session, OWNER, item.id)
    reopened = ops.set_action_item_done(session, MEMBER, item.id, done=False)
    session.commit()
    session.expire_all()

    saved = ops.get_action_item(session, TEAM, item.id)
    assert (saved.status, saved.done_by, saved.done_at) == (ItemStatus.OPEN, None, None)
    assert reopened.id == item.id


def test_a_second_click_changes_nothing(session, tree):
    *_, item = tree
    first = ops.set_action_item_done(session, OWNER, item.id)
    session.commit()
    stamp, version = first.done_at, first.version

    again = ops.set_action_item_done(session, MEMBER, item.id)
    session.commit()

    assert (again.done_at, again.done_by, again.version) == (stamp, OWNER.user_id, version)
    assert [e.action for e in ops.changes_since(session, TEAM, item.plan_id, None)].count("completed") == 1


def test_reopening_an_open_item_changes_nothing(session, tree):
    *_, item = tree
    assert ops.set_action_item_done(session, OWNER, item.id, done=False).version == 1


# ---------------------------------------------------------------------------
# open_items_for: what a person has to do, most urgent first


def test_open_items_overdue_and_soonest_first_undated_last(session):
    plan = make_plan(session)
    objective = make_objective(session, make_strategy(session, plan))
    for title, due in [
        ("undated 1", None),
        ("june", dt.date(2025, 6, 1)),
        ("march", dt.date(2025, 3, 1)),  # overdue on any date after it: still just earliest
        ("undated 2", None),
        ("january", dt.date(2025, 1, 15)),
    ]:
        make_item(session, objective, title=title, due=due)
    session.commit()

    titles = [i.title for i in ops.open_items_for(session, TEAM, MEMBER.user_id)]

    assert titles == ["january", "march", "june", "undated 1", "undated 2"]


def test_open_items_leave_out_done_items_and_other_people(session, tree):
    _plan, _strategy, objective, mine = tree
    done = make_item(session, objective, title="done")
    make_item(session, objective, title="someone else's", assignee=OWNER.user_id)
    ops.set_action_item_done(session, MEMBER, done.id)
    session.commit()

    assert ops.open_items_for(session, TEAM, MEMBER.user_id) == [mine]
    assert [i.title for i in ops.open_items_for(session, TEAM, OWNER.user_id)] == ["someone else's"]


def test_open_items_span_plans_but_not_workspaces(session, tree):
    *_, first = tree
    other_plan = make_plan(session, name="Other plan")
    second = make_item(session, make_objective(session, make_strategy(session, other_plan)), due=dt.date(2025, 2, 1))
    elsewhere = make_plan(session, OUTSIDER, team=[MEMBER.user_id])
    make_item(
        session, make_objective(session, make_strategy(session, elsewhere, actor=OUTSIDER), actor=OUTSIDER),
        actor=OUTSIDER,
    )
    session.commit()

    assert ops.open_items_for(session, TEAM, MEMBER.user_id) == [second, first]
    assert len(ops.open_items_for(session, OUTSIDER.team_id, MEMBER.user_id)) == 1


def test_open_items_limit(session, tree):
    *_, objective, _item = tree
    for n in range(4):
        make_item(session, objective, title=f"extra {n}")
    assert len(ops.open_items_for(session, TEAM, MEMBER.user_id, limit=3)) == 3


def test_items_of_completed_and_archived_plans_are_not_open_work(session):
    plan = make_plan(session)
    item = make_item(session, make_objective(session, make_strategy(session, plan)))
    assert ops.open_items_for(session, TEAM, item.assignee_id) == [item]
    assert ops.count_open_items(session, TEAM, item.assignee_id) == 1
    for status in ("completed", "archived"):
        ops.set_plan_status(session, OWNER, plan.id, status)
        assert ops.open_items_for(session, TEAM, item.assignee_id) == []
        assert ops.count_open_items(session, TEAM, item.assignee_id) == 0
