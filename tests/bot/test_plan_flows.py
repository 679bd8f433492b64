"""The Veeva walk-through, done in Slack: signed requests in, Web API calls checked.

Every view and message the app sends is validated against Block Kit's limits by the
fake Web API, and every ack is timed (both fail the test at teardown).
"""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import select

from storage import plans as ops
from storage.models import AccountPlan, ActionItem, ItemStatus, Objective, Strategy
from storage.plans import ActionItemInput, Actor, ObjectiveInput, PlanInput

OWNER, MEMBER, STRANGER = "U0OWNER", "U0MEMBER", "U0STRANGER"
PLAN_NAME = "Newton Memorial Hospital 2025 Strategic Plan"


def blocks_text(view: dict) -> str:
    return json.dumps(view["blocks"])


def latest(slack, view_id: str) -> dict:
    return slack.api.view(view_id)


def click_for_form(slack, view: dict, button: str, user: str) -> dict:
    """Press a button that pushes a form; the form (pushed after the click's ack)."""
    before = len(slack.api.calls_to("views.push"))
    slack.click(view, button, user=user)
    slack.wait_for("views.push", lambda c: len(slack.api.calls_to("views.push")) > before)
    return slack.api.calls_to("views.push")[before].view


def create_plan_in_slack(slack, user=OWNER) -> dict:
    """`/accountplan new`, fill the form by its labels, submit: the form becomes the plan."""
    reply = slack.command("/accountplan", "new", user=user)
    assert reply.status == 200 and reply.elapsed < 3
    form = slack.wait_for("views.open").view
    reply = slack.submit_view(form, {
        "Plan name": PLAN_NAME,
        "Account": "Newton Memorial Hospital",
        "Start date": dt.date(2025, 1, 1),
        "End date": dt.date(2025, 12, 31),
        "Status": "Active",
        "Team members": [MEMBER],
    }, user=user)
    assert reply.json["response_action"] == "update"
    return latest(slack, form["id"])


def test_veeva_walk_through_builds_the_whole_plan(slack, session_factory):
    view = create_plan_in_slack(slack)
    assert PLAN_NAME in blocks_text(view)

    form = click_for_form(slack, view, "Add strategy", OWNER)
    assert slack.submit_view(form, {"Strategy": "Improve account's awareness of Cholecap and Restolar"},
                             user=OWNER).body == ""
    view = slack.wait_for("views.update", lambda c: c.params["view_id"] == view["id"]).view
    assert "Improve account's awareness" in blocks_text(view)

    for title in ("Expand understanding of improved patient outcomes", "Identify therapeutic gaps"):
        form = click_for_form(slack, latest(slack, view["id"]), "Add objective", OWNER)
        slack.submit_view(form, {"Objective": title}, user=OWNER)
        slack.wait_for("views.update", lambda c, t=title: t in json.dumps(c.params["view"]))

    form = click_for_form(slack, latest(slack, view["id"]), "Add action item", OWNER)
    slack.submit_view(form, {
        "Objective": "Expand understanding of improved patient outcomes",
        "Action item": "Share results from latest Cholecap and Restolar studies",
        "Assignee": MEMBER,
        "Due date": dt.date(2025, 3, 1),
    }, user=OWNER)
    slack.wait_for("views.update", lambda c: "Share results" in json.dumps(c.params["view"]))

    form = click_for_form(slack, latest(slack, view["id"]), "Add SWOT entry", OWNER)
    slack.submit_view(form, {"Kind": "Strength",
                             "Entry": "Superior product efficacy as demonstrated through multiple studies"},
                      user=OWNER)
    slack.wait_for("views.update", lambda c: "Superior product efficacy" in json.dumps(c.params["view"]))

    with session_factory() as session:
        plan = session.scalars(select(AccountPlan)).one()
        tree = ops.load_plan_tree(session, plan.team_id, plan.id)
        assert (tree.name, tree.status.value, tree.owner_id, tree.member_ids) == (PLAN_NAME, "active", OWNER, [MEMBER])
        assert [s.title for s in tree.strategies] == ["Improve account's awareness of Cholecap and Restolar"]
        objectives = tree.strategies[0].objectives
        assert [o.title for o in objectives] == ["Expand understanding of improved patient outcomes",
                                                 "Identify therapeutic gaps"]
        item = objectives[0].action_items[0]
        assert (item.assignee_id, item.due_date) == (MEMBER, dt.date(2025, 3, 1))
        assert [(e.kind.value, e.team_only) for e in tree.swot_entries] == [("strength", True)]


def test_field_errors_come_back_on_the_field_and_nothing_is_saved(slack, session_factory):
    slack.command("/accountplan", "new", user=OWNER)
    form = slack.wait_for("views.open").view
    reply = slack.submit_view(form, {"Plan name": "X", "Account": "A", "Start date": dt.date(2025, 6, 1),
                                     "End date": dt.date(2025, 1, 1)}, user=OWNER)
    assert reply.json == {"response_action": "errors",
                          "errors": {"end_date": "must be on or after the start date"}}
    reply = slack.submit_view(form, {"Plan name": "   ", "Account": "A", "Start date": dt.date(2025, 1, 1),
                                     "End date": dt.date(2025, 2, 1)}, user=OWNER)
    assert reply.json["errors"] == {"name": "required"}
    with session_factory() as session:
        assert session.scalars(select(AccountPlan)).all() == []


def _seed(session_factory, team: str, *, items: int = 2) -> dict:
    actor = Actor(team, OWNER)
    with session_factory() as session, session.begin():
        plan = ops.create_plan(session, actor, PlanInput(PLAN_NAME, "Newton Memorial Hospital",
                                                         dt.date(2025, 1, 1), dt.date(2025, 12, 31),
                                                         "active", team=[MEMBER]))
        strategy = ops.add_strategy(session, actor, plan.id, "Awareness")
        objective = ops.add_objective(session, actor, strategy.id, ObjectiveInput("Outcomes"))
        ids = [ops.add_action_item(session, actor, objective.id,
                                   ActionItemInput(f"Item {n}", MEMBER, dt.date(2025, 3, 1))).id
               for n in range(1, items + 1)]
        return {"plan": plan.id, "strategy": strategy.id, "objective": objective.id, "items": ids}


def test_show_opens_the_plan_and_readers_get_no_controls(slack, session_factory):
    ids = _seed(session_factory, slack.team)
    slack.command("/accountplan", "show newton", user=STRANGER)
    view = slack.wait_for("views.open").view
    assert PLAN_NAME in blocks_text(view)
    buttons = [e["text"]["text"] for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert buttons == ["Copy plan"]
    reply = slack.command("/accountplan", f"edit {ids['plan']}", user=STRANGER)
    assert reply.status == 200
    answer = slack.wait_for("response_url")
    assert "Only the owner and team" in json.dumps(answer.params)


def test_another_workspace_sees_nothing(slack, session_factory):
    _seed(session_factory, "T0OTHER")
    slack.command("/accountplan", "show newton", user=OWNER)
    answer = slack.wait_for("response_url")
    assert "No plan matches" in json.dumps(answer.params)
    assert slack.api.calls_to("views.open") == []


def test_several_matches_offer_a_choice_and_open_the_picked_one(slack, session_factory):
    _seed(session_factory, slack.team)
    with session_factory() as session, session.begin():
        ops.create_plan(session, Actor(slack.team, OWNER),
                        PlanInput("Newton Memorial Hospital 2026 Plan", "Newton Memorial Hospital",
                                  dt.date(2026, 1, 1), dt.date(2026, 12, 31)))
    slack.command("/accountplan", "show newton memorial", user=OWNER)
    choice = slack.wait_for("response_url")
    assert "Several plans match" in json.dumps(choice.params)
    slack.click(choice, "Open", index=0, user=OWNER)
    assert "2026 Plan" in blocks_text(slack.wait_for("views.open").view)


def test_an_edit_that_lost_a_race_says_so_and_saves_nothing(slack, session_factory):
    ids = _seed(session_factory, slack.team)
    slack.command("/accountplan", f"edit {ids['plan']}", user=OWNER)
    first = slack.wait_for("views.open").view
    slack.command("/accountplan", f"edit {ids['plan']}", user=MEMBER)
    second = slack.wait_for("views.open", lambda c: c.view["id"] != first["id"]).view
    assert slack.submit_view(first, {"Plan name": "Renamed by owner"}, user=OWNER).json["response_action"] == "update"
    reply = slack.submit_view(second, {"Plan name": "Renamed by member"}, user=MEMBER)
    assert reply.json["response_action"] == "errors"
    assert "Someone else changed" in json.dumps(reply.json["errors"])
    with session_factory() as session:
        assert session.get(AccountPlan, ids["plan"]).name == "Renamed by owner"


def test_menus_move_mark_done_and_delete_then_redraw(slack, session_factory):
    ids = _seed(session_factory, slack.team, items=3)
    slack.command("/accountplan", f"show {ids['plan']}", user=OWNER)
    view = slack.wait_for("views.open").view

    slack.choose(view, "Move down", index=2, user=OWNER)  # menus: strategy, objective, item 1…
    slack.wait_for("views.update")
    slack.choose(latest(slack, view["id"]), "Mark done", index=0, user=OWNER)
    slack.wait_for("views.update", lambda c: "1 of 3 done" in json.dumps(c.params["view"]))
    with session_factory() as session:
        items = session.scalars(select(ActionItem).order_by(ActionItem.position)).all()
        assert [i.title for i in items] == ["Item 2", "Item 1", "Item 3"]
        assert [i.status for i in items] == [ItemStatus.DONE, ItemStatus.OPEN, ItemStatus.OPEN]

    slack.choose(latest(slack, view["id"]), "Delete", index=0, user=OWNER)  # the strategy's
    confirm = slack.wait_for("views.push").view
    assert "Everything under it goes too" in blocks_text(confirm)
    assert slack.submit_view(confirm, {}, user=OWNER).body == ""
    slack.wait_for("views.update", lambda c: "no strategies yet" in json.dumps(c.params["view"]))
    with session_factory() as session:
        assert session.scalars(select(Strategy)).all() == []
        assert session.scalars(select(Objective)).all() == []


def test_a_stranger_pressing_a_menu_is_told_why_nothing_happened(slack, session_factory):
    ids = _seed(session_factory, slack.team)
    slack.command("/accountplan", f"show {ids['plan']}", user=OWNER)
    view = slack.wait_for("views.open").view
    slack.choose(view, "Move down", index=2, user=STRANGER)
    notice = slack.wait_for("views.push").view
    assert "Only the owner and team" in blocks_text(notice)


def test_a_big_plan_pages(slack, session_factory):
    actor = Actor(slack.team, OWNER)
    with session_factory() as session, session.begin():
        plan = ops.create_plan(session, actor, PlanInput("Big", "Acme", dt.date(2025, 1, 1), dt.date(2025, 12, 31)))
        for s in range(3):
            strategy = ops.add_strategy(session, actor, plan.id, f"S{s}")
            for o in range(5):
                objective = ops.add_objective(session, actor, strategy.id, ObjectiveInput(f"O{s}.{o}"))
                for i in range(20):
                    ops.add_action_item(session, actor, objective.id, ActionItemInput(f"I{s}.{o}.{i}", MEMBER))
        plan_id = plan.id
    slack.command("/accountplan", f"show {plan_id}", user=OWNER)
    view = slack.wait_for("views.open").view
    assert "Page 1 of" in blocks_text(view)
    slack.click(view, "Next page", user=OWNER)
    page_two = slack.wait_for("views.update").view
    assert "Page 2 of" in blocks_text(page_two) and "continued" in blocks_text(page_two)


def test_copy_plan_carries_the_hierarchy_into_the_next_cycle(slack, session_factory):
    ids = _seed(session_factory, slack.team)
    slack.command("/accountplan", f"copy {ids['plan']}", user=MEMBER)
    form = slack.wait_for("views.open").view
    text = json.dumps(form)
    assert "Newton Memorial Hospital 2026 Strategic Plan" in text and "2026-01-01" in text
    reply = slack.submit_view(form, {}, user=MEMBER)  # the suggested next cycle, as is
    assert reply.json["response_action"] == "update"
    with session_factory() as session:
        copy = session.scalars(select(AccountPlan).where(AccountPlan.id != ids["plan"])).one()
        assert (copy.owner_id, copy.copied_from_id, copy.status.value) == (MEMBER, ids["plan"], "draft")
        due = session.scalars(select(ActionItem.due_date).where(ActionItem.plan_id == copy.id)).all()
        assert due == [dt.date(2026, 3, 1), dt.date(2026, 3, 1)]


def test_list_mine_and_help(slack, session_factory):
    _seed(session_factory, slack.team)
    slack.command("/accountplan", "list", user=STRANGER)
    assert PLAN_NAME in json.dumps(slack.wait_for("response_url").params)
    slack.command("/accountplan", "list mine", user=STRANGER)
    slack.wait_for("response_url", lambda c: "No plans yet" in json.dumps(c.params))
    slack.command("/accountplan", "mine", user=MEMBER)
    mine = slack.wait_for("response_url", lambda c: "Item 1" in json.dumps(c.params))
    slack.click(mine, "Mark done", index=0, user=MEMBER)
    slack.wait_for("response_url", lambda c: "Item 1" not in json.dumps(c.params)
                   and c.params.get("replace_original"))
    reply = slack.command("/accountplan", "", user=MEMBER)
    assert "/accountplan new" in reply.text


def test_app_home_lists_my_items_and_plans(slack, session_factory):
    _seed(session_factory, slack.team)
    slack.app_home_opened(MEMBER)
    home = slack.wait_for("views.publish", lambda c: c.params["user_id"] == MEMBER).view
    text = blocks_text(home)
    assert "Item 1" in text and PLAN_NAME in text
    slack.click(home, "Mark done", index=0, user=MEMBER)
    slack.wait_for("views.publish", lambda c: "Item 1" not in json.dumps(c.params["view"]))
    slack.click(slack.home(MEMBER), "New plan", user=MEMBER)
    assert "Plan name" in json.dumps(slack.wait_for("views.open").view)


def test_message_shortcut_prefills_an_action_item(slack, session_factory):
    ids = _seed(session_factory, slack.team)
    slack.message_shortcut("add_action_item_shortcut", "Send the formulary deck to Dr. Lee\nby Friday",
                           user=OWNER)
    form = slack.wait_for("views.open").view
    assert "Send the formulary deck to Dr. Lee" in json.dumps(form)
    slack.submit_view(form, {"Due date": dt.date(2025, 5, 1)}, user=OWNER)
    with session_factory() as session:
        item = session.scalars(select(ActionItem).where(ActionItem.title.like("Send the formulary%"))).one()
        assert item.objective_id == ids["objective"] and item.assignee_id == "U2"
        assert "by Friday" in item.notes


def test_acks_stay_under_three_seconds_when_the_web_api_is_slow(slack, session_factory):
    ids = _seed(session_factory, slack.team)
    slack.command("/accountplan", f"show {ids['plan']}", user=OWNER)
    view = slack.wait_for("views.open").view
    slow = slack.api.slow("views.update", seconds=4)
    reply = slack.choose(view, "Mark done", index=0, user=OWNER)
    assert reply.status == 200 and reply.elapsed < 3
    slow.release()  # the ack came back while the Web API hung: its 4 s need not run out
    redraw = slack.wait_for("views.update", timeout=10)  # the slow redraw still lands
    assert "1 of 2 done" in json.dumps(redraw.params["view"])
