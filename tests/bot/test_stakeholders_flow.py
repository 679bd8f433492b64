"""Key stakeholders through Slack, as people use them: "Add stakeholder" on the plan view,
the form filled by its labels, each line's menu (Edit, Log contact, Remove), and the
boundary: a person from another organisation, or a conversation shared with one, never
sees a stakeholder and changes none. Signed requests in; the fake Web API records (and
checks against Block Kit's limits) what the app sent."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import select

from blocks.ids import Action
from storage import plans as ops
from storage import stakeholders as people
from storage.models import Stakeholder
from storage.plans import Actor, ObjectiveInput, PlanInput
from storage.stakeholders import StakeholderInput

TEAM = "T1"
OWNER, MEMBER, STRANGER = "U0OWNER", "U0MEMBER", "U0STRANGER"
CUSTOMER, SHARED = "U0CUSTOMER", "C0SHARED"
HOSTILE = "<!channel> *Dr. Evil* <https://evil.example|click>"


def text_of(obj) -> str:
    return json.dumps(obj, ensure_ascii=False)


def seed(session_factory, *, with_person: bool = False) -> dict:
    owner = Actor(TEAM, OWNER)
    today = dt.datetime.now(dt.timezone.utc).date()
    with session_factory() as session, session.begin():
        plan = ops.create_plan(session, owner, PlanInput(
            "Newton Memorial Hospital 2026", "Newton Memorial Hospital", today - dt.timedelta(days=30),
            today + dt.timedelta(days=300), "active", team=[MEMBER]))
        strategy = ops.add_strategy(session, owner, plan.id, "Improve awareness")
        objective = ops.add_objective(session, owner, strategy.id, ObjectiveInput("Formulary approval"))
        ids = {"plan": plan.id, "objective": objective.id}
        if with_person:
            ids["person"] = people.add_stakeholder(session, owner, plan.id, StakeholderInput(
                "Dr. Jane Smith", "Chief Medical Officer", role="sponsor", notes="Prefers email")).id
        return ids


def open_plan(slack, plan_id: int, user: str = OWNER, channel: str | None = None) -> dict:
    before = len(slack.api.calls_to("views.open"))
    slack.command("/accountplan", f"show {plan_id}", user=user, channel=channel)
    slack.wait_for("views.open", lambda c: len(slack.api.calls_to("views.open")) > before)
    return slack.api.calls_to("views.open")[before].view


def pushed(slack, act) -> dict:
    """The modal `act()` pushes over the plan view."""
    before = len(slack.api.calls_to("views.push"))
    act()
    slack.wait_for("views.push", lambda c: len(slack.api.calls_to("views.push")) > before)
    return slack.api.calls_to("views.push")[before].view


def redrawn(slack, view: dict, act, wanted: str) -> dict:
    """The plan view once `act()` has it redrawn showing `wanted`."""
    before = len(slack.api.calls_to("views.update"))
    act()
    slack.wait_for("views.update", lambda c: len(slack.api.calls_to("views.update")) > before
                   and c.params["view_id"] == view["id"] and wanted in text_of(c.params["view"]))
    return slack.api.view(view["id"])


def stored(session_factory) -> dict[str, Stakeholder]:
    with session_factory() as session:
        return {s.name: s for s in session.scalars(select(Stakeholder))}


def test_add_edit_log_contact_and_remove_a_stakeholder(slack, session_factory):
    ids = seed(session_factory)
    view = open_plan(slack, ids["plan"])
    assert "Key stakeholders" in text_of(view) and "Health " in text_of(view)
    assert "no sponsor, decision maker or champion named" in text_of(view)

    form = pushed(slack, lambda: slack.click(view, "Add stakeholder", user=OWNER))
    assert [b["label"]["text"] for b in form["blocks"] if b["type"] == "input"] == [
        "Name", "Title", "Side", "Slack user", "Role in the decision", "Influence", "Stance", "Reports to",
        "Last contact", "Notes", "Objectives"]
    view = redrawn(slack, view, lambda: slack.submit_view(form, {
        "Name": "Dr. Jane Smith", "Title": "Chief Medical Officer", "Role in the decision": "Decision maker",
        "Influence": "High", "Stance": "Supporter", "Objectives": ["Formulary approval"]}, user=OWNER),
        "Dr. Jane Smith")
    assert "Chief Medical Officer" in text_of(view) and "not contacted for 60+ days" in text_of(view)
    assert "decision maker named" in text_of(view)  # the health's stakeholder coverage

    form = pushed(slack, lambda: slack.click(view, "Add stakeholder", user=MEMBER))
    view = redrawn(slack, view, lambda: slack.submit_view(form, {
        "Name": "Bob Jones", "Title": "Pharmacy director", "Reports to": "Dr. Jane Smith (Chief Medical Officer)",
        "Last contact": dt.datetime.now(dt.timezone.utc).date()}, user=MEMBER), "Bob Jones")
    assert "↳ *Bob Jones*" in text_of(view)  # under his manager in the org chart
    found = stored(session_factory)
    jane, bob = found["Dr. Jane Smith"], found["Bob Jones"]
    assert (jane.role.value, jane.influence.value, jane.stance.value) == ("decision_maker", "high", "supporter")
    assert bob.reports_to_id == jane.id
    with session_factory() as session:
        assert [o.title for o in session.get(Stakeholder, jane.id).objectives] == ["Formulary approval"]

    # Edit: the form comes filled in; the change shows.
    form = pushed(slack, lambda: slack.choose(view, "Edit", action_id=Action.STAKEHOLDER_MENU, index=0,
                                              user=OWNER))
    assert text_of(form).count("Dr. Jane Smith") >= 1 and form["title"]["text"] == "Edit stakeholder"
    view = redrawn(slack, view, lambda: slack.submit_view(form, {"Title": "Chief Executive"}, user=OWNER),
                   "Chief Executive")

    # Log contact: today, and the 60-day flag goes.
    view = redrawn(slack, view, lambda: slack.choose(view, "Log contact", action_id=Action.STAKEHOLDER_MENU,
                                                     index=0, user=OWNER), "last contact")
    assert stored(session_factory)["Dr. Jane Smith"].last_contact_on == dt.datetime.now(dt.timezone.utc).date()
    assert "not contacted for 60+ days" not in text_of(view)

    # Remove asks first; Bob then reports to nobody.
    confirm = pushed(slack, lambda: slack.choose(view, "Remove", action_id=Action.STAKEHOLDER_MENU, index=0,
                                                 user=OWNER))
    assert "Dr. Jane Smith" in text_of(confirm) and "report to their manager instead" in text_of(confirm)
    assert set(stored(session_factory)) == {"Dr. Jane Smith", "Bob Jones"}  # nothing gone yet
    view = redrawn(slack, view, lambda: slack.submit_view(confirm, {}, user=OWNER), "Bob Jones")
    assert "Dr. Jane Smith" not in text_of(view)
    found = stored(session_factory)
    assert set(found) == {"Bob Jones"} and found["Bob Jones"].reports_to_id is None


def test_every_field_error_of_the_form_comes_back_on_its_input(slack, session_factory):
    ids = seed(session_factory)
    form = pushed(slack, lambda: slack.click(open_plan(slack, ids["plan"]), "Add stakeholder", user=OWNER))
    reply = slack.submit_view(form, {"Name": "Dr. Jane Smith", "Slack user": ["not a user"],
                                     "Last contact": dt.date.today() + dt.timedelta(days=30)}, user=OWNER)
    assert reply.json["response_action"] == "errors"
    assert set(reply.json["errors"]) == {"slack_user_id", "last_contact_on"}
    assert stored(session_factory) == {}


def test_someone_who_may_only_read_the_plan_sees_stakeholders_and_changes_none(slack, session_factory):
    ids = seed(session_factory, with_person=True)
    view = open_plan(slack, ids["plan"], user=STRANGER)
    assert "Dr. Jane Smith" in text_of(view)
    assert "Add stakeholder" not in text_of(view) and Action.STAKEHOLDER_MENU not in text_of(view)
    # A stale copy of the owner's view: the menu is refused with the reason.
    owners = open_plan(slack, ids["plan"])
    problem = pushed(slack, lambda: slack.choose(owners, "Log contact", action_id=Action.STAKEHOLDER_MENU,
                                                 user=STRANGER))
    assert problem["callback_id"] == "notice" and "owner and team" in text_of(problem)
    assert stored(session_factory)["Dr. Jane Smith"].last_contact_on is None


def test_a_person_from_another_organisation_sees_and_changes_no_stakeholder(slack, slack_api, session_factory):
    ids = seed(session_factory, with_person=True)
    owners = open_plan(slack, ids["plan"])
    form = pushed(slack, lambda: slack.click(owners, "Add stakeholder", user=OWNER))
    slack_api.set_channel(SHARED, is_ext_shared=True)
    slack.outsider(CUSTOMER)
    start = len(slack_api.calls)

    # A team member in the shared channel gets what customers may see: no stakeholders.
    shared = open_plan(slack, ids["plan"], channel=SHARED)
    assert "Key stakeholders" not in text_of(shared) and "Dr. Jane Smith" not in text_of(shared)
    assert "Health " not in text_of(shared) and "Add stakeholder" not in text_of(shared)

    # The customer, pressing the team view's buttons or sending its form, is refused.
    problem = pushed(slack, lambda: slack.click(owners, "Add stakeholder", user=CUSTOMER))
    assert problem["callback_id"] == "notice"
    problem = pushed(slack, lambda: slack.choose(owners, "Edit", action_id=Action.STAKEHOLDER_MENU, user=CUSTOMER))
    assert problem["callback_id"] == "notice"
    reply = slack.submit_view(form, {"Name": "Planted by the customer"}, user=CUSTOMER)
    assert reply.json["response_action"] == "errors"
    assert "Planted by the customer" not in stored(session_factory)
    slack.command("/accountplan", f"show {ids['plan']}", user=CUSTOMER, channel=SHARED)
    slack.wait_for("response_url")
    sent_to_them = text_of([c.params for c in slack_api.calls[start:]]) + reply.body
    assert "Dr. Jane Smith" not in sent_to_them and "Prefers email" not in sent_to_them


def test_a_hostile_name_is_shown_as_typed_and_never_pings_anyone(slack, session_factory):
    ids = seed(session_factory)
    view = open_plan(slack, ids["plan"])
    form = pushed(slack, lambda: slack.click(view, "Add stakeholder", user=OWNER))
    view = redrawn(slack, view, lambda: slack.submit_view(form, {"Name": HOSTILE, "Title": "<@U0OWNER> & co"},
                                                          user=OWNER), "Dr. Evil")
    text = text_of(view)
    assert "<!channel>" not in text and "<https://evil" not in text and "<@U0OWNER> &" not in text
    assert "&lt;!channel&gt;" in text and "&amp; co" in text
    assert HOSTILE in stored(session_factory)


def test_the_team_canvas_has_the_stakeholders_table_and_a_customer_canvas_none(slack, slack_api, session_factory):
    ids = seed(session_factory, with_person=True)

    def canvas(channel: str) -> str:
        before = len(slack_api.calls_to("canvases.create"))
        form = pushed(slack, lambda: slack.click(open_plan(slack, ids["plan"]), "Publish as canvas", user=OWNER))
        slack.submit_view(form, {"Channel": channel}, user=OWNER)
        slack.wait_for("canvases.create", lambda c: len(slack_api.calls_to("canvases.create")) > before)
        return slack_api.calls_to("canvases.create")[before].params["document_content"]["markdown"]

    team = canvas("C20")
    assert "## Key stakeholders" in team and "Dr. Jane Smith" in team and "Chief Medical Officer" in team
    slack_api.set_channel(SHARED, is_ext_shared=True)
    customer = canvas(SHARED)
    assert "stakeholders" not in customer.lower() and "Dr. Jane Smith" not in customer
    assert "Prefers email" not in team + customer  # notes stay in Slack, in the team view
