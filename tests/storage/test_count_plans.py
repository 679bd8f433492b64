"""`count_plans` stops at `at_most`, so `list` costs the same at 1,000 plans and at
100,000; below the cap it is the exact count, filters and workspace included."""

from __future__ import annotations

from storage import plans
from .conftest import OUTSIDER, TEAM, make_plan


def test_count_stops_at_the_cap_and_is_exact_below_it(session):
    for n in range(12):
        make_plan(session, name=f"Plan {n}", account="Acme" if n % 2 else "Globex")
    make_plan(session, OUTSIDER, name="Elsewhere", team=[])

    assert plans.count_plans(session, TEAM) == 12
    assert plans.count_plans(session, TEAM, at_most=5) == 5
    assert plans.count_plans(session, TEAM, at_most=100) == 12
    assert plans.count_plans(session, TEAM, account="acme", at_most=100) == 6
    assert plans.count_plans(session, TEAM, account="acme", at_most=4) == 4
    assert plans.count_plans(session, OUTSIDER.team_id, at_most=100) == 1
