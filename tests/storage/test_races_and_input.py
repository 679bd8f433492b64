"""Issue 10: a typed Conflict (or a quiet success) for every race, and every odd value a
field error.

Races are run for real: two sessions on two threads. `_while_held` lets the first
request write and keep its transaction open while the second one runs as far as it can
(it reads, then waits for the first one's locks); then the first one commits. On
PostgreSQL that is row locks, on SQLite the database write lock: the second request
sees nothing of the first one when it reads, which is the race people hit.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import delete, func, select

from storage import digests, reminders
from storage import plans as ops
from storage.digests import SubscriptionInput
from storage.errors import Conflict, NotFound, PlanError, ValidationError
from storage.models import (
    NAME_MAX,
    Account,
    AccountPlan,
    ActionItem,
    Audience,
    ChangeLogEntry,
    DigestFrequency,
    DigestSubscription,
    ItemReminder,
    Objective,
    PlanCanvas,
    Strategy,
    SwotEntry,
    WeeklySummary,
)
from storage.planfile import PlanFileError, import_plans
from storage.plans import ActionItemInput, CopyOptions, ObjectiveInput, ReviewInput

from .conftest import MEMBER, OWNER, TEAM, make_plan, plan_input, positions

WAIT = 0.4  # long enough for the second request to reach the first one's lock


def _until_blocked_or_done(held, future, pid: list[int]) -> None:
    """Wait (at most WAIT) until the second request has reached the first one's lock
    or finished without needing it. PostgreSQL says when a backend waits for a lock;
    SQLite's busy wait cannot be seen from outside, so there it is WAIT or done."""
    deadline = time.monotonic() + WAIT
    postgres = held.get_bind().dialect.name == "postgresql"
    with held.get_bind().connect() as watcher:
        while not future.done() and time.monotonic() < deadline:
            if postgres and pid and watcher.exec_driver_sql(
                    "select wait_event_type = 'Lock' from pg_stat_activity where pid = %s",
                    (pid[0],)).scalar():
                return
            time.sleep(0.01)


def _while_held(session_factory, first: Callable, second: Callable) -> Any:
    """Run `first(session)` and keep its transaction open while `second(session)` runs
    on another thread; commit the first, then return what the second returned (or
    raise what it raised). The second commits if it succeeds."""
    pid: list[int] = []  # the second one's server process (PostgreSQL)

    def run_second():
        with session_factory() as session:
            connection = session.connection().connection.dbapi_connection
            if hasattr(connection, "info"):  # psycopg: no statement sent for this
                pid.append(connection.info.backend_pid)
            result = second(session)
            session.commit()
            return result

    with session_factory() as held:
        first(held)
        held.flush()
        with ThreadPoolExecutor(1) as pool:
            future = pool.submit(run_second)
            _until_blocked_or_done(held, future, pid)
            held.commit()
            return future.result(timeout=60)


def _all_at_once(session_factory, work: list[Callable]) -> list[Any]:
    """Run every `work[i](session)` on its own thread, started together; each commits.
    Returns each one's result or the exception it raised."""
    barrier = threading.Barrier(len(work))

    def run(job):
        with session_factory() as session:
            barrier.wait()
            try:
                result = job(session)
                session.commit()
                return result
            except Exception as error:  # noqa: BLE001 - the test looks at what came back
                session.rollback()
                return error

    with ThreadPoolExecutor(len(work)) as pool:
        return list(pool.map(run, work))


# ---------------------------------------------------------------------------
# 1. Two people saving the same plan: the loser gets Conflict, never a 500


def test_a_plan_saved_by_two_people_at_once_is_a_conflict_for_the_second(session_factory, plan):
    with session_factory() as first, session_factory() as second:
        held = second.get(AccountPlan, plan.id)  # noqa: F841 - both read version 1
        ops.update_plan(first, OWNER, plan.id, plan_input(name="Owner's name", team=[MEMBER.user_id, "U0NEW"]))
        first.commit()
        with pytest.raises(Conflict):  # the owner: their team is loaded only to be changed
            ops.update_plan(second, OWNER, plan.id, plan_input(name="Second name", team=["U0OTHER"]))
    with session_factory() as fresh:
        saved = fresh.get(AccountPlan, plan.id)
        assert (saved.name, saved.member_ids, saved.version) == ("Owner's name", ["U0NEW", MEMBER.user_id], 2)


def test_a_team_only_change_is_version_checked_too(session_factory, plan):
    """Changing only the team writes no plan column: it must still bump the version."""
    with session_factory() as first, session_factory() as second:
        held = second.get(AccountPlan, plan.id)  # noqa: F841
        ops.update_plan(first, OWNER, plan.id, plan_input(team=[MEMBER.user_id, "U0NEW"]))
        first.commit()
        with pytest.raises(Conflict):
            ops.update_plan(second, OWNER, plan.id, plan_input(team=["U0OTHER"]))
    with session_factory() as fresh:
        saved = fresh.get(AccountPlan, plan.id)
        assert (saved.member_ids, saved.version) == (["U0NEW", MEMBER.user_id], 2)


def test_rounds_of_simultaneous_plan_saves_end_in_a_save_or_a_conflict(session_factory, plan):
    rounds = 12
    outcomes: list[str] = []
    for round_ in range(rounds):
        def save(session, who, name, team):
            ops.get_plan(session, TEAM, plan.id).members  # both read the plan and its team
            return ops.update_plan(session, who, plan.id, plan_input(name=name, team=team))

        results = _all_at_once(session_factory, [
            lambda s, r=round_: save(s, OWNER, f"Owner {r}", [MEMBER.user_id, f"U0A{r}"]),
            lambda s, r=round_: save(s, MEMBER, f"Member {r}", [MEMBER.user_id, f"U0B{r}"]),
        ])
        for result in results:
            if isinstance(result, Exception):
                assert isinstance(result, Conflict), repr(result)
                outcomes.append("conflict")
            else:
                outcomes.append("saved")
    assert outcomes.count("saved") >= rounds


# ---------------------------------------------------------------------------
# 2. Get-or-create: two people creating the same row at once


def test_two_new_plans_on_a_new_account_at_once_share_the_account(session_factory, engine):
    second = _while_held(
        session_factory,
        lambda s: ops.create_plan(s, OWNER, plan_input(name="One", account="Brand New Account")),
        lambda s: ops.create_plan(s, MEMBER, plan_input(name="Two", account="Brand New Account")).id,
    )
    with session_factory() as fresh:
        accounts = fresh.scalars(select(Account).where(Account.name == "Brand New Account")).all()
        assert len(accounts) == 1
        assert fresh.get(AccountPlan, second).account_id == accounts[0].id


def test_a_plan_moved_to_a_new_account_at_the_same_time_as_another(session_factory, plan):
    other = None

    def first(session):
        nonlocal other
        other = ops.create_plan(session, OWNER, plan_input(name="Other", account="Moved To"))

    _while_held(session_factory, first,
                lambda s: ops.update_plan(s, OWNER, plan.id, plan_input(account="Moved To")))
    with session_factory() as fresh:
        assert fresh.get(AccountPlan, plan.id).account_id == fresh.get(AccountPlan, other.id).account_id


def test_the_same_channel_subscribed_twice_at_once_is_one_subscription(session_factory, plan):
    _while_held(
        session_factory,
        lambda s: digests.save_subscription(s, OWNER, plan.id, SubscriptionInput("C0CHAN")),
        lambda s: digests.save_subscription(
            s, MEMBER, plan.id, SubscriptionInput("C0CHAN", frequency=DigestFrequency.MONTHLY)
        ),
    )
    with session_factory() as fresh:
        rows = fresh.scalars(select(DigestSubscription)).all()
        assert [(r.channel_id, r.frequency) for r in rows] == [("C0CHAN", DigestFrequency.MONTHLY)]


def test_a_canvas_saved_twice_at_once_is_one_row_with_the_later_canvas(session_factory, plan):
    def save(canvas_id):
        return lambda s: digests.save_canvas(s, team_id=TEAM, plan_id=plan.id, audience=Audience.TEAM,
                                             canvas_id=canvas_id)

    _while_held(session_factory, save("F0FIRST"), save("F0SECOND"))
    with session_factory() as fresh:
        assert [r.canvas_id for r in fresh.scalars(select(PlanCanvas))] == ["F0SECOND"]
        assert digests.canvas_id_for(fresh, plan.id, Audience.TEAM) == "F0SECOND"


def test_the_weekly_summary_setting_saved_twice_at_once_is_one_row(session_factory, engine):
    row = _while_held(
        session_factory,
        lambda s: reminders.set_summary_muted(s, MEMBER, True),
        lambda s: reminders.set_summary_muted(s, MEMBER, False).muted,
    )
    assert row is False
    with session_factory() as fresh:
        rows = fresh.scalars(select(WeeklySummary)).all()
        assert [(r.user_id, r.muted) for r in rows] == [(MEMBER.user_id, False)]


def test_get_or_create_keeps_working_in_one_session(session):
    """No race: the second call finds the row the first one made (same transaction)."""
    plan = make_plan(session, account="Acme")
    again = make_plan(session, name="Second", account="Acme")
    assert plan.account is again.account
    assert reminders.set_summary_muted(session, MEMBER, True) is reminders.set_summary_muted(session, MEMBER, True)
    sub = digests.save_subscription(session, OWNER, plan.id, SubscriptionInput("C0CHAN"))
    assert digests.save_subscription(session, OWNER, plan.id, SubscriptionInput("C0CHAN")) is sub
    digests.save_canvas(session, team_id=TEAM, plan_id=plan.id, audience=Audience.TEAM, canvas_id="F1")
    digests.save_canvas(session, team_id=TEAM, plan_id=plan.id, audience=Audience.TEAM, canvas_id="F2")
    assert digests.canvas_id_for(session, plan.id, Audience.TEAM) == "F2"


# ---------------------------------------------------------------------------
# 3. Positions stay 0..n-1 under concurrent adds, moves and deletes


def _tree(session_factory):
    with session_factory() as session:
        plan = make_plan(session)
        strategy = ops.add_strategy(session, OWNER, plan.id, "S")
        objective = ops.add_objective(session, OWNER, strategy.id, ObjectiveInput(title="O"))
        session.commit()
        return plan.id, strategy.id, objective.id


ADDS = {
    "strategy": (Strategy, "plan_id", lambda s, ids, title: ops.add_strategy(s, OWNER, ids[0], title)),
    "objective": (Objective, "strategy_id",
                  lambda s, ids, title: ops.add_objective(s, OWNER, ids[1], ObjectiveInput(title=title))),
    "action_item": (ActionItem, "objective_id", lambda s, ids, title: ops.add_action_item(
        s, OWNER, ids[2], ActionItemInput(title=title, assignee_id=MEMBER.user_id))),
    "swot": (SwotEntry, "plan_id", lambda s, ids, title: ops.add_swot_entry(s, OWNER, ids[0], "threat", title)),
}
PARENT = {"plan_id": 0, "strategy_id": 1, "objective_id": 2}


def _positions(session_factory, model, column, ids) -> list[int]:
    with session_factory() as fresh:
        where = {column: ids[PARENT[column]]}
        return [position for _title, position in positions(fresh, model, **where)]


@pytest.mark.parametrize("level", ADDS)
def test_an_add_while_another_is_being_saved_takes_the_next_position(session_factory, level):
    model, column, add = ADDS[level]
    ids = _tree(session_factory)
    before = len(_positions(session_factory, model, column, ids))
    _while_held(session_factory, lambda s: add(s, ids, "First"), lambda s: add(s, ids, "Second"))
    assert _positions(session_factory, model, column, ids) == list(range(before + 2))


@pytest.mark.parametrize("level", ADDS)
def test_many_adds_at_once_end_with_positions_0_to_n(session_factory, level):
    model, column, add = ADDS[level]
    ids = _tree(session_factory)
    before = len(_positions(session_factory, model, column, ids))
    results = _all_at_once(session_factory, [lambda s, n=n: add(s, ids, f"Added {n}") for n in range(6)])
    assert not [r for r in results if isinstance(r, Exception)]
    assert _positions(session_factory, model, column, ids) == list(range(before + 6))


def test_moves_adds_and_deletes_at_once_keep_positions_dense(session_factory):
    plan_id, strategy_id, _ = _tree(session_factory)
    with session_factory() as session:
        made = [ops.add_strategy(session, OWNER, plan_id, f"S{n}").id for n in range(5)]
        session.commit()
    work = [
        lambda s: ops.add_strategy(s, OWNER, plan_id, "Added A"),
        lambda s: ops.add_strategy(s, MEMBER, plan_id, "Added B"),
        lambda s: ops.move(s, OWNER, "strategy", made[0], offset=1),
        lambda s: ops.move(s, MEMBER, "strategy", made[3], offset=-1),
        lambda s: ops.delete_strategy(s, OWNER, made[1]),
        lambda s: ops.delete_strategy(s, MEMBER, strategy_id),
    ]
    results = _all_at_once(session_factory, work)
    assert all(not isinstance(r, Exception) or isinstance(r, PlanError) for r in results), results
    with session_factory() as fresh:
        found = [p for _t, p in positions(fresh, Strategy, plan_id=plan_id)]
    assert found == list(range(len(found)))


def test_adding_under_a_strategy_deleted_meanwhile_is_not_found(session_factory):
    plan_id, strategy_id, _ = _tree(session_factory)
    with pytest.raises(NotFound):
        _while_held(session_factory, lambda s: ops.delete_strategy(s, OWNER, strategy_id),
                    lambda s: ops.add_objective(s, MEMBER, strategy_id, ObjectiveInput(title="Too late")))


def test_moving_an_entry_someone_else_moved_meanwhile_keeps_positions_dense(session_factory):
    plan_id, *_ = _tree(session_factory)
    with session_factory() as session:
        made = [ops.add_swot_entry(session, OWNER, plan_id, "strength", f"E{n}").id for n in range(3)]
        session.commit()
    with session_factory() as first, session_factory() as second:
        held = [second.get(SwotEntry, i) for i in made]  # noqa: F841 - read before the move
        ops.move(first, OWNER, "swot", made[2], offset=-2)
        first.commit()
        ops.move(second, MEMBER, "swot", made[0], offset=1)
        second.commit()
    with session_factory() as fresh:
        assert positions(fresh, SwotEntry, plan_id=plan_id) == [("E2", 0), ("E1", 1), ("E0", 2)]


# ---------------------------------------------------------------------------
# 4. "Mark done" twice at once: the second one is a quiet success


def test_mark_done_by_two_people_at_once_succeeds_for_both(session_factory, tree):
    *_, item = tree
    with session_factory() as first, session_factory() as second:
        held = second.get(ActionItem, item.id)  # noqa: F841 - read while still open
        ops.set_action_item_done(first, OWNER, item.id)
        first.commit()
        done, changed = ops.mark_action_item(second, MEMBER, item.id, True)
        second.commit()
        assert (done.is_done, done.done_by, changed) == (True, OWNER.user_id, False)
    with session_factory() as fresh:
        logged = fresh.scalars(select(ChangeLogEntry.action).where(ChangeLogEntry.entity_id == item.id,
                                                                   ChangeLogEntry.entity == "action_item"))
        assert list(logged).count("completed") == 1
        assert fresh.get(ActionItem, item.id).version == 2


def test_mark_done_while_another_click_is_being_saved(session_factory, tree):
    *_, item = tree
    result = _while_held(
        session_factory,
        lambda s: ops.set_action_item_done(s, OWNER, item.id),
        lambda s: ops.mark_action_item(s, MEMBER, item.id, True)[1],
    )
    assert result is False  # already done: nothing changed, no error
    with session_factory() as fresh:
        assert fresh.get(ActionItem, item.id).version == 2


def test_reopen_twice_is_quiet_too_and_a_real_edit_still_conflicts(session_factory, tree):
    *_, item = tree
    with session_factory() as session:
        ops.set_action_item_done(session, OWNER, item.id)
        session.commit()
    with session_factory() as first, session_factory() as second:
        held = second.get(ActionItem, item.id)  # noqa: F841
        ops.set_action_item_done(first, OWNER, item.id, False)
        first.commit()
        assert ops.mark_action_item(second, MEMBER, item.id, False)[1] is False
    with session_factory() as first, session_factory() as second:
        held = second.get(ActionItem, item.id)  # noqa: F841
        ops.update_action_item(first, OWNER, item.id, ActionItemInput(title="Renamed", assignee_id=MEMBER.user_id))
        first.commit()
        with pytest.raises(Conflict):
            ops.set_action_item_done(second, MEMBER, item.id)


def test_mark_done_says_whether_it_changed_anything(session, tree):
    *_, item = tree
    assert ops.mark_action_item(session, OWNER, item.id, True)[1] is True
    assert ops.mark_action_item(session, OWNER, item.id, True)[1] is False
    assert ops.set_action_item_done(session, OWNER, item.id, False).is_done is False


# ---------------------------------------------------------------------------
# 5. Invisible text is empty; lone surrogates never reach the database

INVISIBLE = ["\u200b", "\u200c\u200d", "\u2060", "\ufeff", " \u200b\t\n ", "\x01\x7f", "\u00ad",
             "\u2028\u2029", "\u3000", "\u180e", "\U000e0001", "\u3164", "\u2800", "\ufe0f"]


@pytest.mark.parametrize("text", INVISIBLE)
def test_text_of_only_invisible_characters_is_required(text):
    with pytest.raises(ValidationError) as error:
        ops.clean_text(text, "name", max_len=NAME_MAX, required=True)
    assert (error.value.field, error.value.message) == ("name", "required")
    assert ops.clean_text(text, "notes", max_len=NAME_MAX, required=False) == ""


def test_invisible_characters_around_text_go_inside_stay():
    assert ops.clean_text("\u200b Acme \ufeff", "name", max_len=NAME_MAX, required=True) == "Acme"
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    assert ops.clean_text(f"Team {family}", "name", max_len=NAME_MAX, required=True) == f"Team {family}"
    assert ops.clean_text("line one\nline two", "notes", max_len=NAME_MAX, required=False) == "line one\nline two"


def test_lone_surrogates_are_dropped(session):
    assert ops.clean_text("Ac\ud800me\udfff", "name", max_len=NAME_MAX, required=True) == "Acme"
    with pytest.raises(ValidationError):
        ops.clean_text("\ud83d", "name", max_len=NAME_MAX, required=True)
    plan = ops.create_plan(session, OWNER, plan_input(name="Plan \udc80", account="\ud800Acme"))
    session.commit()
    session.expire_all()
    assert (plan.name, plan.account.name) == ("Plan", "Acme")


@pytest.mark.parametrize("operation", [
    lambda s, t: ops.create_plan(s, OWNER, plan_input(name="\u200b\u200b")),
    lambda s, t: ops.add_strategy(s, OWNER, t[0].id, "\ufeff"),
    lambda s, t: ops.add_objective(s, OWNER, t[1].id, ObjectiveInput(title="\u2060 ")),
    lambda s, t: ops.add_action_item(s, OWNER, t[2].id, ActionItemInput(title="\u200d", assignee_id="U1")),
    lambda s, t: ops.add_swot_entry(s, OWNER, t[0].id, "threat", "\u200b\n\u200c"),
])
def test_every_required_text_refuses_invisible_characters(session, tree, operation):
    with pytest.raises(ValidationError) as error:
        operation(session, tree)
    assert error.value.message == "required"


def test_plan_files_use_the_same_rule(session):
    with pytest.raises(PlanFileError) as error:
        import_plans(session, TEAM, [{"name": "\u200b", "account": "Acme", "start_date": "2025-01-01",
                                      "end_date": "2025-12-31", "owner": OWNER.user_id}])
    assert (error.value.field, error.value.message) == ("plans[0].name", "required")


# ---------------------------------------------------------------------------
# 6. Search fragments are bounded


@pytest.mark.parametrize("fragment", ["x" * 60_000, "é" * 30_000, "%_" * 40_000, "a\x00b", "a\ud800b"])
def test_any_search_fragment_is_answered_without_error(session, plan, fragment):
    assert ops.find_plans(session, TEAM, fragment) == []
    assert ops.list_plans(session, TEAM, account=fragment) == []


def test_a_fragment_as_long_as_a_name_still_finds_it(session):
    name = "N" * NAME_MAX
    plan = make_plan(session, name=name, account=name)
    assert ops.find_plans(session, TEAM, name) == [plan]
    assert ops.find_plans(session, TEAM, name[1:]) == [plan]
    assert ops.list_plans(session, TEAM, account=name) == [plan]
    assert ops.find_plans(session, TEAM, name + "N") == []


# ---------------------------------------------------------------------------
# 7. Every field error of one input at once


def _errors(operation) -> dict[str, str]:
    with pytest.raises(ValidationError) as error:
        operation()
    found = error.value
    assert (found.field, found.message) == next(iter(found.errors.items()))
    return found.errors


def test_a_plan_with_a_bad_name_dates_and_status_reports_all_three(session, tree):
    bad = plan_input(name=" \u200b ", start_date=dt.date(2025, 6, 1), end_date=dt.date(2025, 1, 1), status="paused")
    expected = {"name": "required", "end_date": "must be on or after the start date",
                "status": "must be one of draft, active, completed, archived"}
    assert _errors(lambda: ops.create_plan(session, OWNER, bad)) == expected
    assert _errors(lambda: ops.update_plan(session, OWNER, tree[0].id, bad)) == expected
    with pytest.raises(ValidationError) as error:
        ops.create_plan(session, OWNER, bad)
    assert (error.value.field, error.value.message) == ("name", "required")
    assert str(error.value).startswith("name: required; end_date: ")


def test_every_plan_field_at_once(session):
    bad = plan_input(name="", account="x" * (NAME_MAX + 1), start_date=None, end_date=None, status="?",
                     owner_id="not an id", team=["also not"], vision="\x00")
    assert list(_errors(lambda: ops.create_plan(session, OWNER, bad))) == [
        "name", "account", "start_date", "end_date", "status", "owner", "team", "vision"]
    assert session.scalars(select(AccountPlan)).all() == []


def test_update_reports_due_date_limits_with_other_errors(session, tree):
    plan = tree[0]  # its item is due 2025-03-01
    bad = plan_input(name="", start_date=dt.date(2025, 3, 2), end_date=dt.date(2025, 12, 31))
    assert _errors(lambda: ops.update_plan(session, OWNER, plan.id, bad)) == {
        "name": "required", "start_date": "an action item is due 2025-03-01, before this date"}


def test_every_level_reports_all_its_field_errors(session, tree):
    plan, strategy, objective, item = tree
    long_text = "x" * 3001
    assert list(_errors(lambda: ops.add_strategy(session, OWNER, plan.id, "", long_text))) == [
        "title", "description"]
    assert list(_errors(lambda: ops.update_strategy(session, OWNER, strategy.id, "", long_text))) == [
        "title", "description"]
    bad_objective = ObjectiveInput(title="", description=long_text, measure_unit="x" * 200,
                                   target_value="lots", current_value="some")
    assert list(_errors(lambda: ops.add_objective(session, OWNER, strategy.id, bad_objective))) == [
        "title", "description", "measure_unit", "target_value", "current_value"]
    assert list(_errors(lambda: ops.update_objective(session, OWNER, objective.id, bad_objective))) == [
        "title", "description", "measure_unit", "target_value", "current_value"]
    assert _errors(lambda: ops.add_objective(
        session, OWNER, strategy.id, ObjectiveInput(title="", current_value=3))) == {
        "title": "required", "target_value": "set a target to track a current value"}
    bad_item = ActionItemInput(title="", assignee_id="<@U1>", due_date=dt.date(2030, 1, 1), notes=long_text)
    assert list(_errors(lambda: ops.add_action_item(session, OWNER, objective.id, bad_item))) == [
        "title", "notes", "assignee", "due_date"]
    assert list(_errors(lambda: ops.update_action_item(session, OWNER, item.id, bad_item))) == [
        "title", "notes", "assignee", "due_date"]
    assert list(_errors(lambda: ops.add_swot_entry(session, OWNER, plan.id, "fear", " "))) == ["kind", "text"]
    entry = ops.add_swot_entry(session, OWNER, plan.id, "threat", "T")
    assert list(_errors(lambda: ops.update_swot_entry(session, OWNER, entry.id, "fear", " "))) == ["kind", "text"]
    assert list(_errors(lambda: ops.add_review(session, OWNER, plan.id, ReviewInput(
        held_on=None, attendees=long_text, notes=long_text, decisions="\x00")))) == [
        "held_on", "attendees", "notes", "decisions"]
    assert list(_errors(lambda: ops.add_review(session, OWNER, plan.id, ReviewInput(
        held_on=dt.date(2025, 3, 1), next_qbr_date=dt.date(2025, 2, 1), notes=long_text)))) == [
        "next_qbr_date", "notes"]
    session.rollback()
    assert session.scalar(select(func.count(SwotEntry.id))) == 0


def test_deep_copy_options_report_every_error(session, tree):
    plan = tree[0]
    options = CopyOptions(name="", start_date=None, end_date=dt.date(2026, 1, 1), account="\u200b",
                          strategies=False, objectives=False, action_items=True)
    assert _errors(lambda: ops.deep_copy_plan(session, OWNER, plan.id, options)) == {
        "name": "required", "account": "required", "start_date": "required",
        "action_items": "action items come only with their objectives"}


def test_a_plan_shrunk_while_an_item_is_added_past_its_new_end_is_refused(session_factory, tree):
    plan, _strategy, objective, _item = tree
    late = dt.date(2025, 12, 1)
    with pytest.raises(ValidationError) as error:
        _while_held(
            session_factory,
            lambda s: ops.add_action_item(s, OWNER, objective.id, ActionItemInput(
                title="Late", assignee_id=MEMBER.user_id, due_date=late)),
            lambda s: ops.update_plan(s, OWNER, plan.id, plan_input(end_date=dt.date(2025, 11, 30))),
        )
    assert error.value.errors == {"end_date": "an action item is due 2025-12-01, after this date"}


def test_copying_a_plan_being_deleted_is_a_conflict_not_a_crash(session_factory, tree):
    plan = tree[0]
    with session_factory() as session:  # a later plan: SQLite does not hand out the deleted id again
        make_plan(session, name="Later")
        session.commit()
    options = CopyOptions(name="Next", start_date=dt.date(2026, 1, 1), end_date=dt.date(2026, 12, 31))
    with pytest.raises(Conflict):
        _while_held(session_factory, lambda s: ops.delete_plan(s, OWNER, plan.id),
                    lambda s: ops.deep_copy_plan(s, MEMBER, plan.id, options))


def test_two_snoozes_at_once_of_an_item_without_reminders_yet_make_one_row(session_factory, tree):
    *_, item = tree
    with session_factory() as session:  # as after an import, before the scheduler's sync
        session.execute(delete(ItemReminder))
        session.commit()
    now = dt.datetime(2025, 2, 20, 12, tzinfo=dt.timezone.utc)

    def snooze(session):
        return reminders.snooze(session, MEMBER, item.id, 1, now=now, default_tz="UTC").snoozed_until

    assert _while_held(session_factory, snooze, snooze) is not None
    with session_factory() as fresh:
        assert len(fresh.scalars(select(ItemReminder)).all()) == 1
