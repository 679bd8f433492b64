"""Plan templates through Slack: "Start from" in the new-plan form (blank, the built-ins,
the workspace's), "Save as template" on the plan view, `/accountplan templates` with
Rename and Delete for those who may; never for a person from another organisation."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import select

from blocks.ids import Action
from storage import plans as ops
from storage.models import AccountPlan, PlanTemplate

TEAM = "T1"
OWNER, MEMBER, READER, CUSTOMER = "U0OWNER", "U0MEMBER", "U0READER", "U0CUSTOMER"


def text_of(obj) -> str:
    return json.dumps(obj, ensure_ascii=False)


def new_plan(slack, name: str, start_from: str, user: str = OWNER) -> dict:
    """`/accountplan new`, "Start from" chosen by its name: the new plan's view."""
    before = len(slack.api.calls_to("views.open"))
    slack.command("/accountplan", "new", user=user)
    slack.wait_for("views.open", lambda c: len(slack.api.calls_to("views.open")) > before)
    form = slack.api.calls_to("views.open")[before].view
    reply = slack.submit_view(form, {"Start from": start_from, "Plan name": name, "Account": "Newton Memorial",
                                     "Start date": dt.date(2026, 1, 1), "End date": dt.date(2026, 12, 31)},
                              user=user)
    assert reply.json["response_action"] == "update", reply.body
    return slack.api.view(form["id"])


def strategy_titles(session_factory, name: str) -> list[str]:
    with session_factory() as session:
        plan = session.scalars(select(AccountPlan).where(AccountPlan.name == name)).one()
        return [s.title for s in ops.load_plan_tree(session, TEAM, plan.id).strategies]


def templates_list(slack, user: str):
    before = len(slack.api.calls_to("response_url"))
    slack.command("/accountplan", "templates", user=user)
    slack.wait_for("response_url", lambda c: len(slack.api.calls_to("response_url")) > before)
    return slack.api.calls_to("response_url")[before]


def test_start_from_offers_blank_and_the_built_ins_and_each_makes_a_plan(slack, session_factory):
    slack.command("/accountplan", "new", user=OWNER)
    form = slack.wait_for("views.open").view
    start = next(b for b in form["blocks"] if b.get("label", {}).get("text") == "Start from")
    assert [o["text"]["text"] for o in start["element"]["options"]] == [
        "Blank", "Key account plan", "Customer goals / our goals"]
    assert "Progress check-ins" in text_of(form) and "Monthly check-ins" in text_of(form)

    view = new_plan(slack, "Newton 2026 (Veeva style)", "Key account plan")
    assert "Grow the account" in text_of(view) and "Save as template" in text_of(view)
    assert strategy_titles(session_factory, "Newton 2026 (Veeva style)") == [
        "Grow the account", "Strengthen the relationships", "Deliver value"]
    new_plan(slack, "Newton 2026 (Kapta style)", "Customer goals / our goals")
    assert strategy_titles(session_factory, "Newton 2026 (Kapta style)")[0] == "Customer goals"
    new_plan(slack, "Newton 2026 (blank)", "Blank")
    assert strategy_titles(session_factory, "Newton 2026 (blank)") == []


def test_save_as_template_then_start_a_plan_from_it(slack, session_factory):
    view = new_plan(slack, "Newton 2026", "Key account plan")
    before = len(slack.api.calls_to("views.push"))
    slack.click(view, "Save as template", user=OWNER)
    slack.wait_for("views.push", lambda c: len(slack.api.calls_to("views.push")) > before)
    form = slack.api.calls_to("views.push")[before].view
    assert form["title"]["text"] == "Save as template"
    reply = slack.submit_view(form, {"Template name": "Hospital key account"}, user=OWNER)
    assert reply.json["response_action"] == "update" and "Saved as template" in reply.body
    # The same name again is a field error on "Template name".
    slack.click(view, "Save as template", user=OWNER)
    slack.wait_for("views.push", lambda c: len(slack.api.calls_to("views.push")) > before + 1)
    form = slack.api.calls_to("views.push")[before + 1].view
    reply = slack.submit_view(form, {"Template name": "hospital KEY account"}, user=OWNER)
    assert reply.json == {"response_action": "errors",
                          "errors": {"name": "a template of this name exists: choose another"}}

    new_plan(slack, "Riverside 2026", "Hospital key account", user=MEMBER)
    assert strategy_titles(session_factory, "Riverside 2026") == strategy_titles(session_factory, "Newton 2026")


def test_templates_lists_them_with_rename_and_delete_for_those_who_may(slack, slack_api, session_factory):
    view = new_plan(slack, "Newton 2026", "Key account plan")
    slack.click(view, "Save as template", user=OWNER)
    form = slack.wait_for("views.push").view
    slack.submit_view(form, {"Template name": "Hospital key account"}, user=OWNER)

    # Someone who owns no plan and did not save it: the list, without a menu.
    listed = templates_list(slack, READER)
    assert "Hospital key account" in text_of(listed.params) and "Key account plan" in text_of(listed.params)
    assert Action.TEMPLATE_MENU not in text_of(listed.params)

    listed = templates_list(slack, OWNER)
    before = len(slack_api.calls_to("views.open"))
    slack.click(listed, "Rename", user=OWNER)
    slack.wait_for("views.open", lambda c: len(slack_api.calls_to("views.open")) > before)
    rename = slack_api.calls_to("views.open")[before].view
    assert slack.submit_view(rename, {"Template name": "Hospital plan"}, user=OWNER).json["response_action"] == "update"
    with session_factory() as session:
        assert [t.name for t in session.scalars(select(PlanTemplate))] == ["Hospital plan"]

    listed = templates_list(slack, OWNER)
    [delete] = [e for b in listed.params["blocks"] if b["type"] == "actions" for e in b["elements"]
                if e["text"]["text"] == "Delete"]
    assert delete["confirm"]["title"]["text"] == "Delete this template?"  # Slack asks before it is pressed
    assert "Hospital plan" in delete["confirm"]["text"]["text"]
    slack.click(listed, "Delete", user=OWNER)
    redrawn = slack.wait_for("response_url", lambda c: "Deleted the template" in text_of(c.params))
    assert redrawn.params.get("replace_original") is True and "Hospital plan*." in text_of(redrawn.params)
    with session_factory() as session:
        assert session.scalars(select(PlanTemplate)).all() == []


def test_a_person_from_another_organisation_gets_no_templates(slack, slack_api, session_factory):
    view = new_plan(slack, "Newton 2026", "Key account plan")
    slack.click(view, "Save as template", user=OWNER)
    form = slack.wait_for("views.push").view
    slack.outsider(CUSTOMER)
    reply = slack.submit_view(form, {"Template name": "Stolen structure"}, user=CUSTOMER)
    assert reply.json["response_action"] == "errors"
    answer = templates_list(slack, CUSTOMER)
    assert "Key account plan" not in text_of(answer.params) and "kept by the account team" in text_of(answer.params)
    with session_factory() as session:
        assert session.scalars(select(PlanTemplate)).all() == []


def test_new_plan_on_app_home_offers_start_from_too(slack, slack_api):
    slack.app_home_opened(OWNER)
    home = slack.wait_for("views.publish").params["view"]
    slack.click(home, "New plan", user=OWNER)
    form = slack.wait_for("views.open").view
    assert form["blocks"][0]["label"]["text"] == "Start from"
    assert "Key account plan" in text_of(form["blocks"][0])
