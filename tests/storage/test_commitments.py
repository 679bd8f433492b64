""""Our commitments / your commitments" in a digest's content: open items split by who
owes them (a customer contact without Slack, or an assignee from another organisation,
is the customer's), soonest due first, a few a side with the rest counted, and only the
allow-list for a customer channel. On SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

from storage import digests, people
from storage import plans as ops
from storage.models import Audience, Stakeholder
from storage.plans import ActionItemInput, ObjectiveInput
from tests.storage.conftest import MEMBER, OWNER, TEAM, make_plan

TODAY = dt.date(2025, 6, 2)
SINCE = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)
CUSTOMER = "UCUSTOMER"  # a Slack Connect user, known to be from another organisation
UNKNOWN = "UUNKNOWN"  # nobody has asked Slack about them yet


def titles(items) -> list[str]:
    return [item.title for item in items]


def content(session, plan, audience=Audience.TEAM, **kwargs):
    return digests.digest_content(session, plan.team_id, plan.id, audience=audience, since=SINCE,
                                  today=TODAY, **kwargs)


def build(session, *, shared_objective=True):
    """A plan whose shared objective holds items of both sides, plus a kept objective."""
    people.record_organisation(session, TEAM, CUSTOMER, True)
    people.record_organisation(session, TEAM, MEMBER.user_id, False)
    plan = make_plan(session)
    strategy = ops.add_strategy(session, OWNER, plan.id, "Grow", shared_with_customer=True)
    shared = ops.add_objective(session, OWNER, strategy.id, ObjectiveInput(
        "Formulary approval", shared_with_customer=shared_objective))
    kept = ops.add_objective(session, OWNER, strategy.id, ObjectiveInput("Pricing"))
    contact = Stakeholder(team_id=TEAM, plan_id=plan.id, name="Dr. Ada Smith")
    session.add(contact)
    session.flush()

    def item(objective, title, assignee, due, *, shared=True, contact_id=None, done=False):
        added = ops.add_action_item(session, OWNER, objective.id, ActionItemInput(
            title, assignee or OWNER.user_id, due, shared_with_customer=shared))
        added.assignee_id = assignee  # the form requires one; a customer contact has none
        if contact_id is not None:
            added.customer_contact_id = contact_id
        if done:
            ops.mark_action_item(session, OWNER, added.id, True)
        return added

    day = lambda n: TODAY + dt.timedelta(days=n)  # noqa: E731
    item(shared, "Send the pricing grid", MEMBER.user_id, day(5))
    item(shared, "Book the demo", OWNER.user_id, day(-2))  # overdue: soonest
    item(shared, "Draft the summary", None, None)  # unassigned, no date: ours, last
    item(shared, "Sign the pilot agreement", CUSTOMER, day(9))
    item(shared, "Share usage data", None, day(3), contact_id=contact.id)
    item(shared, "Ask the committee", UNKNOWN, day(1))  # organisation unknown: ours
    item(shared, "Already signed", CUSTOMER, day(1), done=True)  # done: owed by nobody
    item(shared, "Our internal prep", MEMBER.user_id, day(2), shared=False)
    item(kept, "Their secret ask", CUSTOMER, day(4))  # shared item under a kept objective
    session.flush()
    return plan


def test_open_items_are_split_by_who_owes_them_soonest_first(session):
    plan = build(session)
    found = content(session, plan).commitments
    assert titles(found.ours) == ["Book the demo", "Ask the committee", "Our internal prep",
                                  "Send the pricing grid", "Draft the summary"]
    assert titles(found.theirs) == ["Share usage data", "Their secret ask", "Sign the pilot agreement"]
    assert (found.ours_total, found.theirs_total) == (5, 3)
    # The team's digest names the customer contact without Slack.
    [contact_item] = [i for i in found.theirs if i.customer_contact_id is not None]
    assert found.contacts == {contact_item.id: "Dr. Ada Smith"}


def test_a_few_a_side_and_the_rest_counted(session):
    plan = build(session)
    found = digests.digest_content(session, TEAM, plan.id, audience=Audience.TEAM, since=SINCE,
                                   today=TODAY).commitments
    assert len(found.ours) == digests.COMMITMENTS_LIMIT == 5
    from storage.digests.commitments import open_commitments  # the limit is the caller's
    from storage.models import ActionItem
    few = open_commitments(session, TEAM, lambda q: q.where(ActionItem.plan_id == plan.id), True,
                           external=False, limit=2)
    assert titles(few.ours) == ["Book the demo", "Ask the committee"]
    assert titles(few.theirs) == ["Share usage data", "Their secret ask"]


def test_a_customer_channel_gets_only_the_allow_list_and_no_contact_names(session):
    plan = build(session)
    found = content(session, plan, Audience.EXTERNAL).commitments
    assert titles(found.ours) == ["Book the demo", "Ask the committee", "Send the pricing grid",
                                  "Draft the summary"]
    assert titles(found.theirs) == ["Share usage data", "Sign the pilot agreement"]
    assert (found.ours_total, found.theirs_total) == (4, 2)
    assert found.contacts == {}  # stakeholders never reach a customer


def test_nothing_under_an_unshared_objective_reaches_a_customer(session):
    plan = build(session, shared_objective=False)
    found = content(session, plan, Audience.EXTERNAL).commitments
    assert (found.ours, found.theirs, found.ours_total, found.theirs_total) == ([], [], 0, 0)


def test_an_assignee_becomes_the_customers_once_known_to_be_from_elsewhere(session):
    plan = build(session)
    people.record_organisation(session, TEAM, UNKNOWN, True)
    found = content(session, plan).commitments
    assert "Ask the committee" in titles(found.theirs) and found.theirs_total == 4
    # Another workspace's record of the same user id changes nothing here.
    people.record_organisation(session, "T0OTHER", MEMBER.user_id, True)
    assert "Send the pricing grid" in titles(content(session, plan).commitments.ours)
