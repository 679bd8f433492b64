"""The customer's agreement to a plan (storage/agreements.py): who may ask and agree,
what a request records, and when an agreement stops holding (a change to a shared part
after it, read off the change log; never a change to a part the customer never saw, nor
progress). On SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest

from storage import agreements
from storage import digests
from storage import plans as ops
from storage.errors import NotFound, PermissionDenied, PlanError, ValidationError
from storage.models import Audience, PlanAgreement
from storage.plans import ActionItemInput, Actor, ObjectiveInput
from tests.storage.conftest import MEMBER, OUTSIDER, OWNER, STRANGER, TEAM, make_plan

CUSTOMER = Actor(TEAM, "UCUSTOMER", external=True)  # Slack Connect: acts in our workspace
CHANNEL = "C0SHARED"


@pytest.fixture
def plan(session):
    """A shared strategy with a shared objective (a shared and a kept item) and a kept
    objective; returns the plan with handles on its parts."""
    plan = make_plan(session)
    strategy = ops.add_strategy(session, OWNER, plan.id, "Grow", shared_with_customer=True)
    shared = ops.add_objective(session, OWNER, strategy.id, ObjectiveInput("Formulary approval",
                                                                          shared_with_customer=True))
    kept = ops.add_objective(session, OWNER, strategy.id, ObjectiveInput("Pricing"))
    item = ops.add_action_item(session, OWNER, shared.id, ActionItemInput(
        "Send the study", MEMBER.user_id, dt.date(2025, 3, 1), shared_with_customer=True))
    secret = ops.add_action_item(session, OWNER, shared.id, ActionItemInput("Discount", MEMBER.user_id))
    session.flush()
    plan.parts = dict(strategy=strategy, shared=shared, kept=kept, item=item, secret=secret)
    return plan


def agreed(session, plan, objective_id=None) -> PlanAgreement:
    request = agreements.request_confirmation(session, OWNER, plan.id, channel_id=CHANNEL,
                                              objective_id=objective_id)
    agreements.record_posted(session, TEAM, request.id, channel_id=CHANNEL, message_ts="1.2", actor=OWNER)
    return agreements.record_agreement(session, CUSTOMER, request.id, channel_id=CHANNEL,
                                       name="Jane Doe", organisation="Acme Health")


def states(session, plan, audience=Audience.TEAM):
    return agreements.agreement_states(session, TEAM, plan.id, audience=audience)


def test_a_request_records_what_the_customer_is_shown(session, plan):
    p = plan.parts
    request = agreements.request_confirmation(session, MEMBER, plan.id, channel_id=CHANNEL)
    assert request.shown == {"strategy": [p["strategy"].id], "objective": [p["shared"].id],
                             "action_item": [p["item"].id]}
    one = agreements.request_confirmation(session, OWNER, plan.id, channel_id=CHANNEL,
                                          objective_id=p["shared"].id)
    assert one.shown == {"strategy": [], "objective": [p["shared"].id], "action_item": [p["item"].id]}
    assert agreements.shared_objectives(session, TEAM, plan.id) == [(p["shared"].id, "Formulary approval")]


@pytest.mark.parametrize("actor, error", [(STRANGER, PermissionDenied), (CUSTOMER, PermissionDenied),
                                          (OUTSIDER, NotFound)])
def test_only_the_owner_and_team_ask(session, plan, actor, error):
    with pytest.raises(error):
        agreements.request_confirmation(session, actor, plan.id, channel_id=CHANNEL)


def test_nothing_to_confirm_and_no_channel_are_said_on_their_fields(session, plan):
    with pytest.raises(ValidationError) as raised:
        agreements.request_confirmation(session, OWNER, plan.id, channel_id="",
                                        objective_id=plan.parts["kept"].id)
    assert raised.value.errors == {"channel": "Choose the channel you share with the customer.",
                                   "scope": agreements.OBJECTIVE_NOT_SHARED}
    bare = make_plan(session, name="Nothing shared")
    with pytest.raises(ValidationError) as raised:
        agreements.request_confirmation(session, OWNER, bare.id, channel_id=CHANNEL)
    assert raised.value.errors == {"scope": agreements.NOTHING_SHARED}


def test_an_agreement_records_who_from_which_organisation_and_when(session, plan):
    request = agreed(session, plan)
    assert (request.agreed_by, request.agreed_name, request.agreed_organisation) == (
        "UCUSTOMER", "Jane Doe", "Acme Health")
    assert request.agreed_at is not None
    [state] = states(session, plan)
    assert (state.name, state.organisation, state.objective_id, state.current) == (
        "Jane Doe", "Acme Health", None, True)
    # Once: a second press says who agreed already.
    with pytest.raises(agreements.AlreadyAgreed, match="Jane Doe \\(Acme Health\\) agreed"):
        agreements.record_agreement(session, CUSTOMER, request.id, channel_id=CHANNEL, name="Joe",
                                    organisation="Acme Health")


def test_only_someone_from_the_customer_agrees_and_only_on_the_request_itself(session, plan):
    request = agreements.request_confirmation(session, OWNER, plan.id, channel_id=CHANNEL)
    with pytest.raises(PermissionDenied, match="Only someone from the customer can agree"):
        agreements.record_agreement(session, OWNER, request.id, channel_id=CHANNEL, name="", organisation="")
    with pytest.raises(NotFound):
        agreements.record_agreement(session, CUSTOMER, request.id, channel_id="C0OTHER", name="Jane",
                                    organisation="Acme")
    with pytest.raises(NotFound):
        agreements.record_agreement(session, Actor("T0OTHER", "UCUSTOMER", external=True), request.id,
                                    channel_id=CHANNEL, name="Jane", organisation="Acme")
    assert states(session, plan) == []


def test_a_change_to_a_shared_objective_resets_the_agreement(session, plan):
    agreed(session, plan)
    ops.update_objective(session, OWNER, plan.parts["shared"].id, ObjectiveInput("Formulary approval in Q3"))
    [state] = states(session, plan)
    assert state.current is False and state.changed_at is not None
    # The digest carries it too, for either audience.
    content = digests.digest_content(session, TEAM, plan.id, audience=Audience.EXTERNAL,
                                     since=dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc),
                                     today=dt.date(2025, 6, 1))
    assert [(s.name, s.current) for s in content.agreements] == [("Jane Doe", False)]


def test_changes_to_parts_the_customer_never_saw_and_progress_change_nothing(session, plan):
    agreed(session, plan)
    p = plan.parts
    ops.update_objective(session, OWNER, p["kept"].id, ObjectiveInput("Pricing, revised"))
    ops.update_action_item(session, OWNER, p["secret"].id, ActionItemInput("Bigger discount", MEMBER.user_id))
    ops.mark_action_item(session, OWNER, p["item"].id, True)
    ops.add_swot_entry(session, OWNER, plan.id, "weakness", "Their CFO distrusts us")
    assert [s.current for s in states(session, plan)] == [True]


@pytest.mark.parametrize("change", ["share the kept objective", "edit the shared item",
                                    "delete the shared item", "stop sharing the objective",
                                    "edit the strategy"])
def test_every_change_to_what_the_customer_sees_resets_it(session, plan, change):
    agreed(session, plan)
    p = plan.parts
    if change == "share the kept objective":
        ops.update_objective(session, OWNER, p["kept"].id, ObjectiveInput("Pricing", shared_with_customer=True))
    elif change == "edit the shared item":
        ops.update_action_item(session, OWNER, p["item"].id, ActionItemInput("Send two studies", MEMBER.user_id))
    elif change == "delete the shared item":
        ops.delete_action_item(session, OWNER, p["item"].id)
    elif change == "stop sharing the objective":
        ops.update_objective(session, OWNER, p["shared"].id,
                             ObjectiveInput("Formulary approval", shared_with_customer=False))
    else:
        ops.update_strategy(session, OWNER, p["strategy"].id, "Grow faster")
    assert [s.current for s in states(session, plan)] == [False]


def test_an_objectives_agreement_holds_while_that_objective_is_unchanged(session, plan):
    p = plan.parts
    other = ops.add_objective(session, OWNER, p["strategy"].id, ObjectiveInput("Training",
                                                                              shared_with_customer=True))
    agreed(session, plan, p["shared"].id)
    ops.update_objective(session, OWNER, other.id, ObjectiveInput("Training for nurses"))
    ops.update_strategy(session, OWNER, p["strategy"].id, "Grow faster")
    [state] = states(session, plan)
    assert (state.objective_id, state.objective_title, state.current) == (p["shared"].id, "Formulary approval", True)
    ops.update_action_item(session, OWNER, p["item"].id, ActionItemInput("Send two studies", MEMBER.user_id))
    assert [s.current for s in states(session, plan)] == [False]
    # A customer channel no longer sees the objective: nor its agreement.
    ops.update_objective(session, OWNER, p["shared"].id,
                         ObjectiveInput("Formulary approval", shared_with_customer=False))
    assert states(session, plan, Audience.EXTERNAL) == []
    assert len(states(session, plan)) == 1


def test_agreeing_to_a_request_whose_parts_changed_since_is_refused(session, plan):
    request = agreements.request_confirmation(session, OWNER, plan.id, channel_id=CHANNEL)
    ops.update_objective(session, OWNER, plan.parts["shared"].id, ObjectiveInput("Formulary approval in Q3"))
    with pytest.raises(PlanError, match="changed since this was posted"):
        agreements.record_agreement(session, CUSTOMER, request.id, channel_id=CHANNEL, name="Jane",
                                    organisation="Acme")
    # A new request after the change is agreed to, and holds.
    agreed(session, plan)
    assert [s.current for s in states(session, plan)] == [True]


def test_the_comment_thread_is_recorded_once(session, plan):
    request = agreements.request_confirmation(session, OWNER, plan.id, channel_id=CHANNEL)
    assert agreements.record_thread(session, TEAM, request.id, channel_id="G1", ts="9.1") is True
    assert agreements.record_thread(session, TEAM, request.id, channel_id="G2", ts="9.2") is False
    session.refresh(request)
    assert (request.thread_channel_id, request.thread_ts) == ("G1", "9.1")


ITEM = ("Send the study", MEMBER.user_id, dt.date(2025, 3, 1))


@pytest.mark.parametrize("edit", ["item notes", "item follow-up owner", "item saved unchanged",
                                  "objective current value", "objective saved unchanged",
                                  "strategy saved unchanged"])
def test_edits_the_customer_cannot_see_keep_the_agreement(session, plan, edit):
    """Fields kept within the team (notes, follow-up, progress) and saves that change
    nothing neither reset an agreement nor refuse a pending "Agree"."""
    from storage import customer_items

    p = plan.parts
    agreed(session, plan)
    pending = agreements.request_confirmation(session, OWNER, plan.id, channel_id=CHANNEL)

    def do():
        if edit == "item notes":
            ops.update_action_item(session, OWNER, p["item"].id, ActionItemInput(*ITEM, notes="call first"))
        elif edit == "item follow-up owner":
            customer_items.update_item(session, OWNER, p["item"].id, ActionItemInput(*ITEM),
                                       customer_items.CustomerOwner(follow_up_id=OWNER.user_id))
        elif edit == "item saved unchanged":
            ops.update_action_item(session, OWNER, p["item"].id, ActionItemInput(*ITEM))
        elif edit == "objective current value":
            ops.update_objective(session, OWNER, p["shared"].id, ObjectiveInput(
                "Formulary approval", target_value=10, current_value=0))
            agreed(session, plan)  # the target is shown: agree to it, then move progress
            return ops.update_objective(session, OWNER, p["shared"].id, ObjectiveInput(
                "Formulary approval", target_value=10, current_value=4))
        elif edit == "objective saved unchanged":
            ops.update_objective(session, OWNER, p["shared"].id, ObjectiveInput("Formulary approval"))
        else:
            ops.update_strategy(session, OWNER, p["strategy"].id, "Grow")

    if edit == "objective current value":
        pending = None
    do()
    session.flush()
    assert [s.current for s in states(session, plan)] == [True]
    if pending is not None:
        agreements.record_agreement(session, CUSTOMER, pending.id, channel_id=CHANNEL, name="Jane",
                                    organisation="Acme")


def test_the_change_log_says_which_fields_changed(session, plan):
    p = plan.parts
    since = dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)
    ops.update_action_item(session, OWNER, p["item"].id, ActionItemInput(*ITEM))  # nothing changed
    ops.update_action_item(session, OWNER, p["item"].id, ActionItemInput(*ITEM, notes="call first"))
    ops.update_action_item(session, OWNER, p["item"].id, ActionItemInput("Send two studies", MEMBER.user_id,
                                                                         dt.date(2025, 3, 1), notes="x"))
    session.flush()
    lines = [(c.action, c.details) for c in ops.changes_since(session, TEAM, plan.id, since)
             if c.action.startswith("updated")]
    assert lines == [("updated_internally", {"fields": ["notes"]}),
                     ("updated", {"fields": ["notes", "title"]})]
    # The team's digest tells both edits; a shared channel's only the one it can see.
    team, shared = (digests.digest_content(session, TEAM, plan.id, audience=audience, since=since,
                                           today=dt.date(2025, 6, 1))
                    for audience in (Audience.TEAM, Audience.EXTERNAL))
    assert [c.details for c in team.changes if c.action.startswith("updated")] == [
        {"fields": ["notes"]}, {"fields": ["notes", "title"]}]
    assert [c.details for c in shared.changes if c.action.startswith("updated")] == [
        {"fields": ["notes", "title"]}]


def _queries(session, work):
    from sqlalchemy import event

    statements = []

    def seen(conn, cursor, statement, *args):
        statements.append(statement)

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", seen)
    try:
        result = work()
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    return result, statements


def test_reading_agreements_costs_a_fixed_few_queries_however_long_the_plans_history(session, plan):
    """Every plan view and digest reads them: no agreement, one query; the whole plan's
    agreement, one more (its first change, LIMIT 1); none reads every item of the plan."""
    _, none = _queries(session, lambda: states(session, plan))
    assert len(none) == 1
    agreed(session, plan)
    p = plan.parts
    for n in range(40):  # history the customer never saw
        ops.update_action_item(session, OWNER, p["secret"].id, ActionItemInput(f"Discount {n}", MEMBER.user_id))
    session.flush()
    [state], statements = _queries(session, lambda: states(session, plan))
    assert state.current and len(statements) == 2
    assert "LIMIT" in statements[1].upper()
    agreed(session, plan, p["shared"].id)
    ops.update_action_item(session, OWNER, p["item"].id, ActionItemInput("Send two studies", MEMBER.user_id))
    session.flush()
    found, statements = _queries(session, lambda: states(session, plan))
    assert [s.current for s in found] == [False, False] and len(statements) == 4  # + titles, + its change
