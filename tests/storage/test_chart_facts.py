"""The progress chart's facts (storage/digests/charts.py): the whole plan for the team,
the allow-list for an external audience, scoped to the workspace, and a fixed number of
queries whatever the plan's size."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from storage import plans as ops
from storage.digests.charts import Measure, progress_facts
from storage.errors import NotFound
from storage.models import ActionItem, Audience
from storage.plans import ActionItemInput, ObjectiveInput

from .conftest import MEMBER, OUTSIDER, OWNER, bulk_tree, counting, make_plan

TEAM, EXTERNAL = Audience.TEAM, Audience.EXTERNAL


def objective(session, strategy, title, *, shared, target=5, current=None, unit="IDNs"):
    return ops.add_objective(session, OWNER, strategy.id, ObjectiveInput(
        title=title, measure_unit=unit, target_value=target, current_value=current,
        shared_with_customer=shared))


def item(session, parent, title, *, shared, done=False):
    made = ops.add_action_item(session, OWNER, parent.id, ActionItemInput(
        title=title, assignee_id=MEMBER.user_id, shared_with_customer=shared))
    if done:
        ops.set_action_item_done(session, OWNER, made.id)
    return made


@pytest.fixture
def shared_plan(session):
    plan = make_plan(session)
    shared = ops.add_strategy(session, OWNER, plan.id, "Awareness", shared_with_customer=True)
    kept = ops.add_strategy(session, OWNER, plan.id, "Committee", shared_with_customer=False)
    formulary = objective(session, shared, "Formulary approval", shared=True, current=3)
    price = objective(session, shared, "Price concession", shared=False, current=1)
    rep = objective(session, kept, "Displace the rep", shared=True, target=Decimal("2.5"), unit="")
    objective(session, shared, "Be liked", shared=True, target=None)  # not measurable
    item(session, formulary, "Share the study", shared=True, done=True)
    item(session, formulary, "Book the visit", shared=True)
    item(session, formulary, "Internal pricing call", shared=False, done=True)  # not shared
    item(session, price, "Shared under an unshared objective", shared=True, done=True)
    item(session, rep, "Shared under an unshared strategy", shared=True)
    session.commit()
    return plan


def test_the_team_sees_every_item_and_measurable_objective(session, shared_plan):
    facts = progress_facts(session, OWNER.team_id, shared_plan.id, audience=TEAM)
    assert (facts.plan_name, facts.start, facts.end) == (shared_plan.name, shared_plan.start_date,
                                                         shared_plan.end_date)
    assert facts.total_items == 5 and len(facts.done_on) == 3
    today = dt.datetime.now(dt.timezone.utc).date()
    assert set(facts.done_on) == {today}  # done just now, by UTC day
    assert facts.measures == [
        Measure("Formulary approval", Decimal(3), Decimal(5), "IDNs"),
        Measure("Price concession", Decimal(1), Decimal(5), "IDNs"),
        Measure("Displace the rep", None, Decimal("2.5"), ""),
    ]


def test_an_external_audience_sees_only_the_allow_list(session, shared_plan):
    facts = progress_facts(session, OWNER.team_id, shared_plan.id, audience=EXTERNAL)
    assert facts.total_items == 2 and len(facts.done_on) == 1
    assert [m.title for m in facts.measures] == ["Formulary approval"]


def test_another_workspace_gets_nothing(session, shared_plan):
    with pytest.raises(NotFound):
        progress_facts(session, OUTSIDER.team_id, shared_plan.id, audience=TEAM)


def test_an_item_done_without_a_date_still_counts(session, shared_plan):
    session.query(ActionItem).filter(ActionItem.plan_id == shared_plan.id,
                                     ActionItem.done_at.is_not(None)).update({"done_at": None})
    session.commit()
    facts = progress_facts(session, OWNER.team_id, shared_plan.id, audience=TEAM)
    assert facts.done_on == [None, None, None]


@pytest.mark.parametrize("audience", [TEAM, EXTERNAL])
def test_a_fixed_number_of_queries_whatever_the_size(session, engine, audience):
    plan = make_plan(session)
    bulk_tree(session, plan, 4, 5, 75, done_every=3)  # 1,500 items, 20 objectives
    session.commit()
    session.expunge_all()
    with counting(engine) as queries:
        facts = progress_facts(session, OWNER.team_id, plan.id, audience=audience)
    assert queries.count == 4  # the plan, the count, the done items' days, the measures
    if audience == TEAM:
        assert (facts.total_items, len(facts.done_on), len(facts.measures)) == (1500, 500, 20)
    else:  # bulk_tree shares nothing
        assert (facts.total_items, facts.done_on, facts.measures) == (0, [], [])
