""""Shared with customer" through Slack: the forms set it (and the plan form's "New
parts shared with customer" pre-ticks it), every path a customer reads by shows only
the parts shared under shared parents, and no DM tells a person from another
organisation of an item they may not see: not at assignment (whoever assigned it is
told why), not in a reminder or a grouped reminder or the weekly summary (scheduler)."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import select

from blocks.ids import Action, Verb
from bot.scheduler import passes
from storage import people
from storage import plans as ops
from storage.models import ActionItem, ItemReminder, Notification, Strategy
from storage.plans import ActionItemInput, Actor, ObjectiveInput, PlanInput
from tests.bot.test_digests import (
    MEMBER,
    OWNER,
    SECRET_ITEM,
    SHARED_ITEM,
    SWOT_TEXT,
    TEAM,
    posted_text,
    push_from,
    seed,
)
from tests.bot.test_reminders_scheduler import context_for

CUSTOMER = "U0CUSTOMER"
SHARED = "C0SHARED"
UTC = dt.timezone.utc
ORPHAN = "Draft the joint press release"  # marked shared, under an objective that is not
KEPT_OBJECTIVE = "Discount strategy"


def text_of(obj) -> str:
    return json.dumps(obj, ensure_ascii=False)


def dms_to(slack_api, user: str) -> list:
    return [c for c in slack_api.calls_to("chat.postMessage") if c.params["channel"] == user and c.ok]


def next_call(slack_api, method: str, act, predicate=lambda call: True):
    """The first call to `method` matching `predicate` that `act()` leads to."""
    before = len(slack_api.calls_to(method))
    act()
    slack_api.wait_for(method, lambda c: c in slack_api.calls_to(method)[before:] and predicate(c))
    return next(c for c in slack_api.calls_to(method)[before:] if c.ok and predicate(c))


def view_of(slack, slack_api, channel: str = "C1", user: str = OWNER) -> dict:
    """The plan view `/accountplan show Newton` opens now, in `channel`."""
    return next_call(slack_api, "views.open",
                     lambda: slack.command("/accountplan", "show Newton", user=user, channel=channel)).view


NOT_SEEN = "won't get a message"  # what whoever assigned an item its assignee may not see is told


def seed_with_orphan(session_factory) -> int:
    """test_digests' plan (a shared strategy and objective, SHARED_ITEM shared, SECRET_ITEM
    not, SWOT) plus an objective kept by the team holding an item marked shared."""
    plan_id = seed(session_factory)
    owner = Actor(TEAM, OWNER)
    with session_factory() as session, session.begin():
        strategy = session.scalars(select(Strategy).where(Strategy.plan_id == plan_id)).one()
        kept = ops.add_objective(session, owner, strategy.id, ObjectiveInput(KEPT_OBJECTIVE))
        ops.add_action_item(session, owner, kept.id, ActionItemInput(
            ORPHAN, MEMBER, dt.datetime.now(UTC).date() + dt.timedelta(days=3), shared_with_customer=True))
    return plan_id


def assert_allow_list(text: str) -> None:
    assert SHARED_ITEM in text
    for internal in (SECRET_ITEM, SWOT_TEXT, ORPHAN, KEPT_OBJECTIVE):
        assert internal not in text, internal


# ---------------------------------------------------------------------------
# The forms


def test_the_forms_set_shared_with_customer_and_the_plan_form_sets_the_default(
        slack, slack_api, session_factory):
    plan_id = seed(session_factory)
    form = push_from(slack, view_of(slack, slack_api), "Add strategy")
    assert "Shared with customer" in text_of(form) and "Team only" not in text_of(form)
    slack.submit_view(form, {"Strategy": "Win the CFO"}, user=OWNER)
    edit = push_from(slack, view_of(slack, slack_api), "Edit")
    assert "New parts shared with customer" in text_of(edit)
    slack.submit_view(edit, {"Sharing": ["New parts shared with customer"]}, user=OWNER)
    # Now a new strategy's form comes ticked, and unticking it keeps it with the team.
    form = push_from(slack, view_of(slack, slack_api), "Add strategy")
    ticked = next(b for b in form["blocks"] if b.get("block_id") == "shared_with_customer")
    assert [o["value"] for o in ticked["element"]["initial_options"]] == ["shared_with_customer"]
    slack.submit_view(form, {"Strategy": "Win the board"}, user=OWNER)
    form = push_from(slack, view_of(slack, slack_api), "Add strategy")
    slack.submit_view(form, {"Strategy": "Our pricing", "Visibility": []}, user=OWNER)
    with session_factory() as session:
        marks = dict(session.execute(select(Strategy.title, Strategy.shared_with_customer)
                                     .where(Strategy.plan_id == plan_id)).all())
        plan = ops.get_plan(session, TEAM, plan_id)
        assert plan.share_with_customer_by_default is True
    assert marks == {"Improve awareness": True, "Win the CFO": False, "Win the board": True, "Our pricing": False}
    view = text_of(view_of(slack, slack_api))
    assert "*3. Win the board* · shared with customer" in view and "*2. Win the CFO*\\n" in view


def test_an_item_form_shares_it_and_the_customer_then_sees_it(slack, slack_api, session_factory):
    plan_id = seed(session_factory)
    slack_api.set_channel(SHARED, is_ext_shared=True)
    form = push_from(slack, view_of(slack, slack_api), "Add action item")
    slack.submit_view(form, {"Action item": "Send the case study", "Assignee": MEMBER,
                             "Visibility": ["Shared with customer"]}, user=OWNER)
    form = push_from(slack, view_of(slack, slack_api), "Add action item")
    slack.submit_view(form, {"Action item": "Check their credit", "Assignee": MEMBER}, user=OWNER)
    with session_factory() as session:
        marks = dict(session.execute(select(ActionItem.title, ActionItem.shared_with_customer)
                                     .where(ActionItem.plan_id == plan_id)).all())
    assert marks["Send the case study"] is True and marks["Check their credit"] is False
    view = text_of(view_of(slack, slack_api, SHARED, MEMBER))
    assert "Send the case study" in view and "Check their credit" not in view


# ---------------------------------------------------------------------------
# Every path a customer reads by: the allow-list


def test_a_shared_channel_shows_only_shared_parts_under_shared_parents(slack, slack_api, session_factory):
    seed_with_orphan(session_factory)
    slack_api.set_channel(SHARED, is_ext_shared=True)
    view = view_of(slack, slack_api, SHARED)
    assert_allow_list(text_of(view))
    assert "shared with customer" not in text_of(view)  # no tags in the customer view
    # The team's own view has everything, and tags what customers see.
    team = text_of(view_of(slack, slack_api))
    assert ORPHAN in team and KEPT_OBJECTIVE in team and "hidden until its objective is shared" in team


def test_a_channel_that_turns_shared_between_two_digests(slack, slack_api, session_factory):
    seed_with_orphan(session_factory)
    def digest():
        return next_call(slack_api, "chat.postMessage", lambda: slack.command(
            "/accountplan", "digest Newton <#C0TURNS|newton>", user=OWNER, channel="C1"),
            lambda c: c.params["channel"] == "C0TURNS")

    first = posted_text(digest())
    assert ORPHAN in first and SECRET_ITEM in first
    slack_api.set_channel("C0TURNS", is_ext_shared=True)
    text = posted_text(digest())
    assert_allow_list(text)
    assert "Some parts of this plan are kept within the account team." in text


def test_a_failed_channel_check_gets_the_customer_view_and_canvas(slack, slack_api, session_factory):
    seed_with_orphan(session_factory)
    slack_api.error("conversations.info", "fatal_error")
    assert_allow_list(text_of(view_of(slack, slack_api, "C0BROKEN")))
    form = push_from(slack, view_of(slack, slack_api), "Publish as canvas")
    slack_api.error("conversations.info", "fatal_error")
    slack.submit_view(form, {"Channel": "C0BROKEN"}, user=OWNER)
    markdown = slack.wait_for("canvases.create").params["document_content"]["markdown"]
    assert_allow_list(markdown)
    assert "## Review history" not in markdown and "## SWOT" not in markdown


def test_a_customer_opening_a_digest_button_reads_the_allow_list_and_their_home_too(
        slack, slack_api, session_factory):
    seed_with_orphan(session_factory)
    slack.command("/accountplan", f"digest Newton <#{SHARED}|newton>", user=OWNER, channel="C1")
    digest = slack.wait_for("chat.postMessage", lambda c: c.params["channel"] == SHARED)
    assert "Posted the digest" in slack.wait_for("response_url").params["text"]  # recorded
    slack_api.set_channel(SHARED, is_ext_shared=True)
    slack.outsider(CUSTOMER)
    slack.click(digest, "Open plan", user=CUSTOMER)
    assert_allow_list(text_of(slack.wait_for("views.open").view))


def test_mine_and_app_home_of_a_customer_list_only_items_they_may_see(slack, slack_api, session_factory):
    plan_id = seed_with_orphan(session_factory)
    slack.outsider(CUSTOMER)
    owner = Actor(TEAM, OWNER)
    with session_factory() as session, session.begin():
        for item in session.scalars(select(ActionItem).where(ActionItem.plan_id == plan_id)):
            ops.update_action_item(session, owner, item.id, ActionItemInput(item.title, CUSTOMER, item.due_date))
    slack.command("/accountplan", "mine", user=CUSTOMER, channel=SHARED)
    assert_allow_list(text_of(slack.wait_for("response_url").params))
    slack.app_home_opened(CUSTOMER)
    slack.wait_for("views.publish", lambda c: c.params["user_id"] == CUSTOMER)
    assert_allow_list(text_of(slack.home(CUSTOMER)))


# ---------------------------------------------------------------------------
# No leak through assignments and reminders


def test_an_item_kept_by_the_team_assigned_to_a_customer_sends_them_nothing_and_says_why(
        slack, slack_api, session_factory):
    seed(session_factory)
    slack.outsider(CUSTOMER)
    form = push_from(slack, view_of(slack, slack_api), "Add action item")
    reply = slack.submit_view(form, {"Action item": "Our margin on their deal", "Assignee": CUSTOMER},
                              user=OWNER)
    assert reply.status == 200
    told = slack.wait_for("views.push", lambda c: NOT_SEEN in text_of(c.params["view"]))
    assert "Our margin on their deal" in text_of(told.params["view"])
    assert "from another organisation" in text_of(told.params["view"])
    slack.wait_for("views.publish", lambda c: c.params["user_id"] == CUSTOMER)  # the follow-up ran
    assert dms_to(slack_api, CUSTOMER) == []
    with session_factory() as session:
        note = session.scalars(select(Notification).where(Notification.user_id == CUSTOMER)).one()
        assert note.next_run_at is None and note.last_error.startswith("withheld") and note.sends == 0
        assert people.organisations(session, [(TEAM, CUSTOMER)]) == {(TEAM, CUSTOMER): True}
    # An edit that does not change the assignee does not tell again.
    pushes = len(slack_api.calls_to("views.push"))
    item = _item(session_factory, "Our margin on their deal")
    edit = _edit_form(slack, item)
    next_call(slack_api, "views.publish", lambda: slack.submit_view(edit, {"Notes": "No change of assignee"},
                                                                     user=OWNER),
              lambda c: c.params["user_id"] == CUSTOMER)  # the follow-up ran
    assert not any(NOT_SEEN in text_of(c.params.get("view")) for c in slack_api.calls_to("views.push")[pushes:])


def test_a_shared_item_assigned_to_a_customer_is_dmed_without_anything_internal(
        slack, slack_api, session_factory):
    seed(session_factory)
    slack.outsider(CUSTOMER)
    form = push_from(slack, view_of(slack, slack_api), "Add action item")
    slack.submit_view(form, {"Action item": "Send the signed formulary form", "Assignee": CUSTOMER,
                             "Notes": "Internal: they are late every quarter",
                             "Visibility": ["Shared with customer"]}, user=OWNER)
    dm = slack.wait_for("chat.postMessage", lambda c: c.params["channel"] == CUSTOMER)
    text = posted_text(dm)
    assert "Send the signed formulary form" in text
    for internal in (SECRET_ITEM, SWOT_TEXT, "late every quarter"):
        assert internal not in text
    assert not any(NOT_SEEN in text_of(c.params.get("view")) for c in slack_api.calls_to("views.push"))


def test_reminders_and_the_summary_tell_a_customer_only_of_items_they_may_see(
        settings, slack, slack_api, session_factory):
    """The scheduler: a customer with four items due the same day (two shared; one kept
    by the team; one marked shared under an objective that is not), a team member with
    one. Assignment DMs one pass, the due-soon reminders (one DM for all of a person's)
    a few days later, then Monday's summary."""
    plan_id = seed_with_orphan(session_factory)
    slack.outsider(CUSTOMER)
    due = _weekday_ahead(10)
    owner = Actor(TEAM, OWNER)
    with session_factory() as session, session.begin():
        for item in session.scalars(select(ActionItem).where(ActionItem.plan_id == plan_id)):
            ops.update_action_item(session, owner, item.id, ActionItemInput(item.title, CUSTOMER, due))
        shared = session.scalars(select(ActionItem).where(ActionItem.title == SHARED_ITEM)).one()
        ops.add_action_item(session, owner, shared.objective_id, ActionItemInput(
            "Confirm the meeting date", CUSTOMER, due, shared_with_customer=True))
        strategy = session.scalars(select(Strategy).where(Strategy.plan_id == plan_id)).one()
        ours = ops.add_objective(session, owner, strategy.id, ObjectiveInput("Ours"))
        ops.add_action_item(session, owner, ours.id, ActionItemInput("Team homework", MEMBER, due))
    context = context_for(settings, session_factory)

    passes.run_pass(context, _at(due - dt.timedelta(days=5)))  # the assignment DMs
    assigned = [posted_text(c) for c in dms_to(slack_api, CUSTOMER)]
    assert len(assigned) == 2 and all("assigned you" in t for t in assigned)
    assert any(SHARED_ITEM in t for t in assigned) and any("Confirm the meeting date" in t for t in assigned)
    for text in assigned:
        assert_allow_list(text.replace(SHARED_ITEM, "") + SHARED_ITEM)

    before = len(dms_to(slack_api, CUSTOMER))
    passes.run_pass(context, _at(due - dt.timedelta(days=1)))  # due tomorrow
    # A customer's reminders are never DMed to them (issue 13): with no customer channel
    # on the plan, whoever follows their items up (here who assigned them) gets one DM.
    assert not [t for t in map(posted_text, dms_to(slack_api, CUSTOMER)[before:]) if "Reminder" in t]
    (forwarded,) = [t for t in map(posted_text, dms_to(slack_api, OWNER)) if "you follow up" in t]
    assert "4 action items" in forwarded and "no customer channel" in forwarded
    assert any("Team homework" in posted_text(c) for c in dms_to(slack_api, MEMBER))  # the team's as before
    with session_factory() as session:
        withheld = session.scalars(select(ActionItem.title).join(
            ItemReminder, ItemReminder.action_item_id == ActionItem.id).where(
            ItemReminder.last_error.like("withheld%"))).all()
    assert withheld == []

    # The weekly summary (Monday's) lists only the items shown to customers.
    monday = due + dt.timedelta(days=7 - due.weekday())
    passes.run_pass(context, dt.datetime.combine(monday, dt.time(9, 0, 30), tzinfo=UTC))
    summaries = [t for t in map(posted_text, dms_to(slack_api, CUSTOMER)) if "open action item" in t]
    assert summaries and all("Confirm the meeting date" in t for t in summaries)
    for text in summaries:
        assert_allow_list(text)


def _at(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(10, 0, 30), tzinfo=UTC)


def _weekday_ahead(days: int) -> dt.date:
    """A working day `days` or more ahead whose eve and fifth day before are working days too."""
    day = dt.datetime.now(UTC).date() + dt.timedelta(days=days)
    while any((day - dt.timedelta(days=back)).weekday() >= 5 for back in (0, 1, 5)):
        day += dt.timedelta(days=1)
    return day


def _item(session_factory, title: str) -> ActionItem:
    with session_factory() as session:
        return session.scalars(select(ActionItem).where(ActionItem.title == title)).one()


def _edit_form(slack, item) -> dict:
    view = view_of(slack, slack.api)
    before = len(slack.api.calls_to("views.push"))
    slack.choose(view, f"{Verb.EDIT.value}:{item.id}", action_id=Action.ITEM_MENU, user=OWNER)
    slack.wait_for("views.push", lambda c: len(slack.api.calls_to("views.push")) > before)
    return slack.api.calls_to("views.push")[before].view
