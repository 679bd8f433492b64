"""Customers own action items and close them in Slack (issue 13), through signed
requests and the fake Web API: the plan form's "Customer channel", the item form naming
a Slack Connect user or a customer contact without Slack (every field error at once),
reminders of a customer's items in the customer channel at 09:00 in THEIR time zone
(one message per item, mentioning them, with "Mark done" and "Need more time"), their
follow-up owner told instead when the item is not shared or the plan has no channel,
and the buttons: the customer marks done (the follow-up owner is told, progress moves,
the message says done) and asks for more time (a date within the plan), while another
customer is refused ephemerally with nothing changed and nothing internal shown."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from sqlalchemy import select, update

from blocks.customer_items import CustomerAction
from bot.scheduler import passes
from bot.slack.ratelimit import RateLimiter
from storage import customer_items, stakeholders
from storage import plans as ops
from storage.models import AccountPlan, ActionItem, ItemStatus, Person
from storage.plans import ActionItemInput, Actor
from storage.plans.permissions import NOT_YOURS
from storage.stakeholders import StakeholderInput
from tests.bot.test_digests import MEMBER, OWNER, SECRET_ITEM, SHARED_ITEM, SWOT_TEXT, TEAM, posted_text, seed
from tests.bot.test_reminders_scheduler import context_for

CUSTOMER, OTHER_CUSTOMER = "U0CUSTOMER", "U0OTHERCUST"
CHANNEL = "C0SHARED"
UTC = dt.timezone.utc
THEIR_ITEM = "Send the signed formulary form"
KEPT_ITEM = "Our margin on their deal"
INTERNAL = (SECRET_ITEM, SWOT_TEXT, KEPT_ITEM, "Internal: late every quarter")


def text_of(obj) -> str:
    return json.dumps(obj, ensure_ascii=False)


def _weekday_ahead(days: int) -> dt.date:
    """A working day `days` or more ahead whose eve is a working day too."""
    day = dt.datetime.now(UTC).date() + dt.timedelta(days=days)
    while day.weekday() >= 5 or (day - dt.timedelta(days=1)).weekday() >= 5:
        day += dt.timedelta(days=1)
    return day


def posts_in(slack_api, channel: str) -> list:
    return [c for c in slack_api.calls_to("chat.postMessage") if c.params["channel"] == channel and c.ok]


@pytest.fixture
def customers(slack, slack_api):
    """Two people of the customer's organisation, in Tokyo; a channel shared with them."""
    for user in (CUSTOMER, OTHER_CUSTOMER):
        slack.outsider(user)
        slack_api.set_user(user, team_id="T0CUSTOMER", tz="Asia/Tokyo")
    slack_api.set_channel(CHANNEL, is_ext_shared=True, is_shared=True)


@pytest.fixture
def plan_with_items(session_factory, customers):
    """(plan id, their item id, kept item id, due date): the plan's customer channel set,
    CUSTOMER owns a shared item (MEMBER follows it up) and one the team keeps."""
    plan_id = seed(session_factory)
    due = _weekday_ahead(10)
    owner = Actor(TEAM, OWNER)
    with session_factory() as session, session.begin():
        customer_items.set_customer_channel(session, owner, plan_id, CHANNEL)
        objective_id = session.scalars(select(ActionItem.objective_id).where(ActionItem.title == SHARED_ITEM)).one()
        theirs = customer_items.add_item(session, owner, objective_id, ActionItemInput(
            THEIR_ITEM, CUSTOMER, due, notes="Internal: late every quarter", shared_with_customer=True),
            customer_items.CustomerOwner(follow_up_id=MEMBER))
        kept = customer_items.add_item(session, owner, objective_id, ActionItemInput(KEPT_ITEM, CUSTOMER, due),
                                       customer_items.CustomerOwner(follow_up_id=MEMBER))
        return plan_id, theirs.id, kept.id, due


def channel_reminder(settings, slack_api, session_factory, due: dt.date):
    """Run the scheduler as the eve of `due` starts in Tokyo (00:30 UTC: 09:30 there,
    too early for anyone on UTC); the one message it posts in the customer channel."""
    context = context_for(settings, session_factory)
    passes.run_pass(context, dt.datetime.combine(due - dt.timedelta(days=8), dt.time(3, 0), tzinfo=UTC))
    assert posts_in(slack_api, CHANNEL) == []
    passes.run_pass(context, dt.datetime.combine(due - dt.timedelta(days=1), dt.time(0, 30), tzinfo=UTC))
    (post,) = posts_in(slack_api, CHANNEL)
    return post


def buttons(call) -> list[str]:
    return [e["text"]["text"] for b in call.params["blocks"] if b["type"] == "actions" for e in b["elements"]]


def _item(session_factory, item_id: int) -> ActionItem:
    with session_factory() as session:
        return session.get(ActionItem, item_id)


# ---------------------------------------------------------------------------
# The forms


def test_the_plan_form_sets_the_customer_channel(slack, slack_api, session_factory):
    plan_id = seed(session_factory)
    slack.command("/accountplan", "edit Newton", user=OWNER)
    form = slack.wait_for("views.open").view
    assert "Customer channel" in [b["label"]["text"] for b in form["blocks"] if b["type"] == "input"]
    reply = slack.submit_view(form, {"Customer channel": CHANNEL}, user=OWNER)
    assert reply.status == 200 and "errors" not in (reply.json or {}), reply.json
    with session_factory() as session:
        assert session.get(AccountPlan, plan_id).customer_channel_id == CHANNEL
    # Edited again: it shows the channel, and can be cleared.
    slack.command("/accountplan", "edit Newton", user=OWNER)
    form = slack.wait_for("views.open", lambda c: c.params["view"]["callback_id"] == "plan_edit_form"
                          and CHANNEL in text_of(c.params["view"])).view
    slack.submit_view(form, {"Customer channel": None}, user=OWNER)
    with session_factory() as session:
        assert session.get(AccountPlan, plan_id).customer_channel_id is None


def _item_form(slack, slack_api):
    slack.command("/accountplan", "show Newton", user=OWNER)
    view = slack.wait_for("views.open").view
    before = len(slack_api.calls_to("views.push"))
    slack.click(view, "Add action item", user=OWNER)
    slack.wait_for("views.push", lambda c: len(slack_api.calls_to("views.push")) > before)
    return slack_api.calls_to("views.push")[before].view


def test_the_item_form_names_a_slack_connect_user_or_a_contact_without_slack(
        slack, slack_api, session_factory, customers):
    plan_id = seed(session_factory)
    with session_factory() as session, session.begin():
        contact = stakeholders.add_stakeholder(session, Actor(TEAM, OWNER), plan_id,
                                               StakeholderInput("Dr. Ada Chen", "CMO"))
    plan_end = dt.datetime.now(UTC).date() + dt.timedelta(days=200)

    # Every field error at once: a contact AND a Slack user, a follow-up off the team,
    # a date after the plan.
    form = _item_form(slack, slack_api)
    reply = slack.submit_view(form, {"Action item": "Sign the formulary form", "Assignee": CUSTOMER,
                                     "Customer contact": "Dr. Ada Chen (CMO)", "Follow-up": "U0STRANGER",
                                     "Due date": plan_end + dt.timedelta(days=1)}, user=OWNER)
    errors = reply.json["errors"]
    assert set(errors) == {"assignee", "follow_up", "due_date"}, errors
    assert "not both" in errors["assignee"] and "team" in errors["follow_up"] and "within the plan" in errors["due_date"]

    # A contact without Slack: its follow-up owner is its assignee, told whose it is.
    reply = slack.submit_view(form, {"Action item": "Sign the formulary form", "Assignee": None,
                                     "Customer contact": "Dr. Ada Chen (CMO)", "Follow-up": MEMBER}, user=OWNER)
    assert reply.status == 200 and "errors" not in (reply.json or {}), reply.json
    told = slack.wait_for("chat.postMessage", lambda c: c.params["channel"] == MEMBER)
    assert "Sign the formulary form" in posted_text(told)
    assert "For Dr. Ada Chen (customer contact without Slack): you follow it up" in posted_text(told)
    # A Slack Connect user, shared, followed up by MEMBER.
    form = _item_form(slack, slack_api)
    slack.submit_view(form, {"Action item": THEIR_ITEM, "Assignee": CUSTOMER, "Follow-up": MEMBER,
                             "Visibility": ["Shared with customer"]}, user=OWNER)
    with session_factory() as session:
        signed = session.scalars(select(ActionItem).where(ActionItem.title == "Sign the formulary form")).one()
        theirs = session.scalars(select(ActionItem).where(ActionItem.title == THEIR_ITEM)).one()
    assert (signed.customer_contact_id, signed.assignee_id, signed.follow_up_id) == (contact.id, MEMBER, MEMBER)
    assert (theirs.assignee_id, theirs.follow_up_id, theirs.customer_contact_id) == (CUSTOMER, MEMBER, None)
    # The team's plan view names the contact, and who follows the item up.
    before = len(slack_api.calls_to("views.open"))
    slack.command("/accountplan", f"show {plan_id}", user=OWNER)
    view = slack.wait_for("views.open", lambda c: c in slack_api.calls_to("views.open")[before:]).view
    lines = [b["text"]["text"] for b in view["blocks"] if b.get("type") == "section"]
    assert any("Sign the formulary form · Dr. Ada Chen (customer contact, followed up by "
               f"<@{MEMBER}>)" in line for line in lines), lines


# ---------------------------------------------------------------------------
# Reminders


def test_a_customers_reminder_goes_to_the_customer_channel_in_their_time_zone(
        settings, slack, slack_api, session_factory, plan_with_items):
    _plan_id, theirs, kept, due = plan_with_items
    post = channel_reminder(settings, slack_api, session_factory, due)
    text = posted_text(post)
    assert f"<@{CUSTOMER}>" in text and THEIR_ITEM in text and "tomorrow" in text
    assert buttons(post) == ["Mark done", "Need more time"]
    for internal in INTERNAL:
        assert internal not in text, internal
    # Never a reminder DM to the customer; the item they may not see goes to its
    # follow-up owner, saying why.
    assert not [c for c in slack_api.calls_to("chat.postMessage")
                if c.params["channel"] == CUSTOMER and "Reminder" in posted_text(c)]
    (told,) = [c for c in slack_api.calls_to("chat.postMessage")
               if c.params["channel"] == MEMBER and "you follow up" in posted_text(c)]
    assert KEPT_ITEM in posted_text(told) and "isn't shared" in posted_text(told)
    assert THEIR_ITEM not in posted_text(told)


def test_several_customers_reminders_go_to_the_channel_at_slacks_pace(
        settings, slack, slack_api, session_factory, plan_with_items):
    """Five items due at once in one shared channel, Slack's limits enforced (one post a
    second in a channel, a burst of two): one message each, none refused."""
    plan_id, theirs, _kept, due = plan_with_items
    owner = Actor(TEAM, OWNER)
    with session_factory() as session, session.begin():
        objective_id = _item(session_factory, theirs).objective_id
        for n in range(4):
            customer = slack.outsider(f"U0CUST{n}")
            slack_api.set_user(customer, team_id="T0CUSTOMER", tz="Asia/Tokyo")
            customer_items.add_item(session, owner, objective_id, ActionItemInput(
                f"Customer task {n}", customer, due, shared_with_customer=True))
    slack_api.enforce_rate_limits()
    context = context_for(settings, session_factory, RateLimiter())
    passes.run_pass(context, dt.datetime.combine(due - dt.timedelta(days=8), dt.time(3, 0), tzinfo=UTC))
    passes.run_pass(context, dt.datetime.combine(due - dt.timedelta(days=1), dt.time(0, 30), tzinfo=UTC))
    posted = [c for c in slack_api.calls_to("chat.postMessage") if c.params["channel"] == CHANNEL]
    assert [c.status for c in posted] == [200] * 5
    mentioned = [re.findall(r"<@(U\w+)>", c.params["text"]) for c in posted]
    assert sorted(m for (m,) in mentioned) == sorted([CUSTOMER, *(f"U0CUST{n}" for n in range(4))])
    assert not [c for c in slack_api.calls if c.status == 429]


def test_with_no_customer_channel_the_follow_up_owner_is_reminded(
        settings, slack, slack_api, session_factory, plan_with_items):
    plan_id, theirs, kept, due = plan_with_items
    with session_factory() as session, session.begin():
        customer_items.set_customer_channel(session, Actor(TEAM, OWNER), plan_id, None)
    context = context_for(settings, session_factory)
    passes.run_pass(context, dt.datetime.combine(due - dt.timedelta(days=8), dt.time(3, 0), tzinfo=UTC))
    passes.run_pass(context, dt.datetime.combine(due - dt.timedelta(days=1), dt.time(0, 30), tzinfo=UTC))
    assert posts_in(slack_api, CHANNEL) == []
    (told,) = [c for c in slack_api.calls_to("chat.postMessage")
               if c.params["channel"] == MEMBER and "you follow up" in posted_text(c)]
    assert "no customer channel" in posted_text(told)
    assert THEIR_ITEM in posted_text(told) and KEPT_ITEM in posted_text(told)
    assert f"<@{CUSTOMER}>" in posted_text(told)


# ---------------------------------------------------------------------------
# The buttons


def test_the_customer_marks_their_item_done_in_the_channel(
        settings, slack, slack_api, session_factory, plan_with_items):
    plan_id, theirs, _kept, due = plan_with_items
    post = channel_reminder(settings, slack_api, session_factory, due)
    with session_factory() as session:
        before = ops.plan_progress(session, TEAM, plan_id).plan
    reply = slack.click(post, "Mark done", user=CUSTOMER)
    assert reply.status == 200 and reply.elapsed < 3
    told = slack.wait_for("chat.postMessage", lambda c: c.params["channel"] == MEMBER and "marked *" in posted_text(c))
    assert THEIR_ITEM in posted_text(told) and f"<@{CUSTOMER}>" in posted_text(told)
    redrawn = slack.wait_for("chat.update", lambda c: c.params["channel"] == CHANNEL
                             and "done, marked by" in posted_text(c))
    assert redrawn.params["ts"] == post.response["ts"] and buttons(redrawn) == []
    item = _item(session_factory, theirs)
    assert (item.status, item.done_by) == (ItemStatus.DONE, CUSTOMER)
    with session_factory() as session:
        after = ops.plan_progress(session, TEAM, plan_id).plan
    assert after.done == before.done + 1


def test_the_customer_asks_for_more_time_within_the_plan(
        settings, slack, slack_api, session_factory, plan_with_items):
    plan_id, theirs, _kept, due = plan_with_items
    post = channel_reminder(settings, slack_api, session_factory, due)
    slack.click(post, "Need more time", user=CUSTOMER)
    modal = slack.wait_for("views.open", lambda c: c.params["view"]["callback_id"] == "customer_more_time_form").view
    with session_factory() as session:
        plan = session.get(AccountPlan, plan_id)
    reply = slack.submit_view(modal, {"New due date": plan.end_date + dt.timedelta(days=1)}, user=CUSTOMER)
    assert "within the plan" in reply.json["errors"]["due_date"]
    assert _item(session_factory, theirs).due_date == due  # nothing changed
    later = due + dt.timedelta(days=14)
    reply = slack.submit_view(modal, {"New due date": later}, user=CUSTOMER)
    assert reply.status == 200 and "errors" not in (reply.json or {})
    assert _item(session_factory, theirs).due_date == later
    redrawn = slack.wait_for("chat.update", lambda c: c.params["channel"] == CHANNEL
                             and "more time" in posted_text(c))
    assert redrawn.params["ts"] == post.response["ts"] and buttons(redrawn) == ["Mark done", "Need more time"]
    told = slack.wait_for("chat.postMessage", lambda c: c.params["channel"] == MEMBER
                          and "asked for more time" in posted_text(c))
    assert THEIR_ITEM in posted_text(told) and f"<@{CUSTOMER}>" in posted_text(told)


def test_another_customer_is_refused_with_nothing_changed_and_nothing_internal_shown(
        settings, slack, slack_api, session_factory, plan_with_items):
    _plan_id, theirs, kept, due = plan_with_items
    post = channel_reminder(settings, slack_api, session_factory, due)
    before = _item(session_factory, theirs)
    opened = len(slack_api.calls_to("views.open"))
    for button in ("Mark done", "Need more time"):
        replies = len(slack_api.calls_to("response_url"))
        slack.click(post, button, user=OTHER_CUSTOMER)
        refusal = slack.wait_for("response_url", lambda c: c in slack_api.calls_to("response_url")[replies:])
        assert refusal.params["text"] == NOT_YOURS and refusal.params["response_type"] == "ephemeral"
        assert refusal.params.get("replace_original") is False
    # A forged button on the item the team keeps, pressed by its own assignee: refused too.
    replies = len(slack_api.calls_to("response_url"))
    slack.block_action(CustomerAction.DONE, str(kept), source=post, user=CUSTOMER)
    refusal = slack.wait_for("response_url", lambda c: c in slack_api.calls_to("response_url")[replies:])
    assert refusal.params["text"] == NOT_YOURS
    for call in slack_api.calls_to("response_url"):
        for internal in (*INTERNAL, THEIR_ITEM):
            assert internal not in text_of(call.params), internal
    assert len(slack_api.calls_to("views.open")) == opened
    assert not [c for c in slack_api.calls_to("chat.update") if c.params["channel"] == CHANNEL]
    after = _item(session_factory, theirs)
    assert (after.status, after.due_date, after.version) == (before.status, before.due_date, before.version)
    assert _item(session_factory, kept).status == ItemStatus.OPEN


def _unshare_and_rename(session_factory, item_id: int, title: str) -> None:
    """After the reminder went out, the team keeps the item to itself under a new name."""
    with session_factory() as session, session.begin():
        item = session.get(ActionItem, item_id)
        item.shared_with_customer, item.title = False, title


def test_a_team_member_closing_an_unshared_items_old_reminder_leaks_nothing_into_the_channel(
        settings, slack, slack_api, session_factory, plan_with_items):
    """Last week's reminder, pressed by the team after the item was unshared and renamed:
    the item changes, and the channel message is redrawn naming nothing, no buttons."""
    _plan_id, theirs, _kept, due = plan_with_items
    post = channel_reminder(settings, slack_api, session_factory, due)
    renamed = "Internal: churn risk, discount them"
    _unshare_and_rename(session_factory, theirs, renamed)
    updates = len(slack_api.calls_to("chat.update"))
    reply = slack.click(post, "Need more time", user=OWNER)
    assert reply.status == 200
    modal = slack.wait_for("views.open", lambda c: c.params["view"]["callback_id"] == "customer_more_time_form").view
    later = due + dt.timedelta(days=14)
    slack.submit_view(modal, {"New due date": later}, user=OWNER)
    moved = slack.wait_for("chat.update", lambda c: c in slack_api.calls_to("chat.update")[updates:]
                           and c.params["channel"] == CHANNEL)
    assert _item(session_factory, theirs).due_date == later
    assert buttons(moved) == []
    # A second copy of the old message (a client not yet refreshed): "Mark done".
    slack.block_action(CustomerAction.DONE, str(theirs), source=post, user=OWNER)
    slack.wait_for("chat.update", lambda c: c in slack_api.calls_to("chat.update")[updates:]
                   and c.params["channel"] == CHANNEL and c is not moved)
    assert _item(session_factory, theirs).status == ItemStatus.DONE
    redraws = [c for c in slack_api.calls_to("chat.update")[updates:] if c.params["channel"] == CHANNEL]
    assert redraws and all(buttons(c) == [] for c in redraws)
    for call in redraws:
        for internal in (renamed, "Newton", *INTERNAL):
            assert internal not in text_of(call.params), internal


def test_the_customers_own_item_still_shared_is_redrawn_with_its_title(
        settings, slack, slack_api, session_factory, plan_with_items):
    """The same press by the team on a still-shared item: its title is shown, as the
    customer may see it."""
    _plan_id, theirs, _kept, due = plan_with_items
    post = channel_reminder(settings, slack_api, session_factory, due)
    slack.click(post, "Mark done", user=OWNER)
    redrawn = slack.wait_for("chat.update", lambda c: c.params["channel"] == CHANNEL
                             and "done, marked by" in posted_text(c))
    assert THEIR_ITEM in posted_text(redrawn) and f"<@{OWNER}>" in posted_text(redrawn)


def _customers_item_of_unknown_organisation(settings, slack_api, session_factory):
    """A shared item of CUSTOMER in a plan with no customer channel, no Follow-up set;
    the first pass (eight days before) has run, and then what storage knew of CUSTOMER's
    organisation is forgotten (as for people only ever written in bulk). Returns the
    context and the due date."""
    plan_id = seed(session_factory)
    due = _weekday_ahead(10)
    with session_factory() as session, session.begin():
        objective_id = session.scalars(select(ActionItem.objective_id).where(ActionItem.title == SHARED_ITEM)).one()
        ops.add_action_item(session, Actor(TEAM, OWNER), objective_id,
                            ActionItemInput(THEIR_ITEM, CUSTOMER, due, shared_with_customer=True))
    context = context_for(settings, session_factory)
    passes.run_pass(context, dt.datetime.combine(due - dt.timedelta(days=8), dt.time(3, 0), tzinfo=UTC))
    # Their time zone stays fresh (its refresh would learn the organisation too).
    with session_factory() as session, session.begin():
        session.execute(update(Person).where(Person.user_id == CUSTOMER).values(
            external=None, fetched_at=dt.datetime.combine(due, dt.time(0, 0), tzinfo=UTC)))
    return context, due


def _reminded(slack_api, user: str) -> list:
    return [c for c in slack_api.calls_to("chat.postMessage")
            if c.params["channel"] == user and "Reminder" in posted_text(c)]


def test_a_customers_reminder_never_goes_to_them_by_dm_even_when_nothing_hints_at_a_customer(
        settings, slack, slack_api, session_factory, customers):
    """No customer channel, no Follow-up, organisation not known: Slack is asked, and
    the reminder goes to whoever follows it up (its creator), not to the customer."""
    context, due = _customers_item_of_unknown_organisation(settings, slack_api, session_factory)
    passes.run_pass(context, dt.datetime.combine(due - dt.timedelta(days=1), dt.time(0, 30), tzinfo=UTC))
    assert _reminded(slack_api, CUSTOMER) == []
    (told,) = [c for c in _reminded(slack_api, OWNER) if "you follow up" in posted_text(c)]
    assert THEIR_ITEM in posted_text(told) and "no customer channel" in posted_text(told)


def test_when_slack_cannot_say_who_someone_is_their_reminder_is_no_dm(
        settings, slack, slack_api, session_factory, customers):
    """users.info failing: a failed check is another organisation; no DM to them."""
    context, due = _customers_item_of_unknown_organisation(settings, slack_api, session_factory)
    slack_api.on("users.info", lambda call: {"ok": False, "error": "fatal_error"})
    passes.run_pass(context, dt.datetime.combine(due - dt.timedelta(days=1), dt.time(0, 30), tzinfo=UTC))
    assert _reminded(slack_api, CUSTOMER) == []
    (told,) = [c for c in _reminded(slack_api, OWNER) if "you follow up" in posted_text(c)]
    assert THEIR_ITEM in posted_text(told)


def _follow_up_dms(slack_api) -> list:
    return [c for c in slack_api.calls_to("chat.postMessage")
            if c.params["channel"] == MEMBER and "you follow up" in posted_text(c)]


def test_more_customer_items_than_one_dm_holds_go_to_the_follow_up_owner_in_several(
        settings, slack, slack_api, session_factory, plan_with_items):
    """30 items of the customer due at once, no customer channel: every one is shown to
    the follow-up owner (two DMs), none only recorded as told."""
    plan_id, theirs, _kept, due = plan_with_items
    owner = Actor(TEAM, OWNER)
    with session_factory() as session, session.begin():
        customer_items.set_customer_channel(session, owner, plan_id, None)
        objective_id = session.get(ActionItem, theirs).objective_id
        for n in range(28):
            customer_items.add_item(session, owner, objective_id, ActionItemInput(
                f"Customer task {n:02}", CUSTOMER, due, shared_with_customer=True),
                customer_items.CustomerOwner(follow_up_id=MEMBER))
    context = context_for(settings, session_factory)
    passes.run_pass(context, dt.datetime.combine(due - dt.timedelta(days=8), dt.time(3, 0), tzinfo=UTC))
    passes.run_pass(context, dt.datetime.combine(due - dt.timedelta(days=1), dt.time(0, 30), tzinfo=UTC))
    told = _follow_up_dms(slack_api)
    assert len(told) == 2
    text = " ".join(posted_text(c) for c in told)
    for title in (THEIR_ITEM, KEPT_ITEM, *(f"Customer task {n:02}" for n in range(28))):
        assert title in text, title


def test_mark_done_in_the_follow_up_owners_dm_strikes_only_that_line(
        settings, slack, slack_api, session_factory, plan_with_items):
    plan_id, theirs, kept, due = plan_with_items
    with session_factory() as session, session.begin():
        customer_items.set_customer_channel(session, Actor(TEAM, OWNER), plan_id, None)
    context = context_for(settings, session_factory)
    passes.run_pass(context, dt.datetime.combine(due - dt.timedelta(days=8), dt.time(3, 0), tzinfo=UTC))
    passes.run_pass(context, dt.datetime.combine(due - dt.timedelta(days=1), dt.time(0, 30), tzinfo=UTC))
    (told,) = _follow_up_dms(slack_api)
    assert buttons(told).count("Mark done") == 2
    slack.click(told, "Mark done", index=0, user=MEMBER)
    redrawn = slack.wait_for("chat.update", lambda c: c.params["channel"] == told.response["channel"]
                             and c.params["ts"] == told.response["ts"])
    assert _item(session_factory, theirs).status == ItemStatus.DONE
    assert _item(session_factory, kept).status == ItemStatus.OPEN
    assert THEIR_ITEM in posted_text(redrawn) and KEPT_ITEM in posted_text(redrawn)
    assert buttons(redrawn).count("Mark done") == 1


def _done_elsewhere(settings, session_factory, item_id: int, due: dt.date) -> None:
    """The team marks the item done away from the channel (the plan view: storage's
    operation), and the scheduler's next pass sends what that set going."""
    with session_factory() as session, session.begin():
        ops.mark_action_item(session, Actor(TEAM, MEMBER), item_id, True)
    passes.run_pass(context_for(settings, session_factory),
                    dt.datetime.combine(due - dt.timedelta(days=1), dt.time(1, 0), tzinfo=UTC))


def test_done_in_the_plan_view_redraws_the_channel_message_as_the_channel_sees_it(
        settings, slack, slack_api, session_factory, plan_with_items):
    """No DM-style redraw ("Open plan", the plan's name) in the shared channel: the
    channel's own "done" line, no buttons."""
    _plan_id, theirs, _kept, due = plan_with_items
    post = channel_reminder(settings, slack_api, session_factory, due)
    _done_elsewhere(settings, session_factory, theirs, due)
    redraws = [c for c in slack_api.calls_to("chat.update") if c.params["channel"] == CHANNEL]
    assert redraws and all(c.params["ts"] == post.response["ts"] for c in redraws)
    for call in redraws:
        assert buttons(call) == [] and "done, marked by" in posted_text(call), posted_text(call)
        assert "Open plan" not in text_of(call.params)


def test_done_in_the_plan_view_after_unsharing_names_nothing_in_the_channel(
        settings, slack, slack_api, session_factory, plan_with_items):
    _plan_id, theirs, _kept, due = plan_with_items
    channel_reminder(settings, slack_api, session_factory, due)
    renamed = "Internal: churn risk, discount them"
    _unshare_and_rename(session_factory, theirs, renamed)
    _done_elsewhere(settings, session_factory, theirs, due)
    redraws = [c for c in slack_api.calls_to("chat.update") if c.params["channel"] == CHANNEL]
    assert redraws
    for call in redraws:
        assert buttons(call) == []
        for internal in (renamed, "Newton", "Open plan", *INTERNAL):
            assert internal not in text_of(call.params), internal


def test_need_more_time_refuses_a_past_date_or_one_before_the_current_due_date(
        settings, slack, slack_api, session_factory, plan_with_items):
    """The field error where it was typed; nothing changes."""
    _plan_id, theirs, _kept, due = plan_with_items
    post = channel_reminder(settings, slack_api, session_factory, due)
    slack.click(post, "Need more time", user=CUSTOMER)
    modal = slack.wait_for("views.open", lambda c: c.params["view"]["callback_id"] == "customer_more_time_form").view
    tokyo_today = dt.datetime.now(dt.timezone(dt.timedelta(hours=9))).date()
    reply = slack.submit_view(modal, {"New due date": tokyo_today - dt.timedelta(days=1)}, user=CUSTOMER)
    assert "today" in reply.json["errors"]["due_date"], reply.json
    reply = slack.submit_view(modal, {"New due date": due - dt.timedelta(days=1)}, user=CUSTOMER)
    assert "after the current one" in reply.json["errors"]["due_date"], reply.json
    assert _item(session_factory, theirs).due_date == due
