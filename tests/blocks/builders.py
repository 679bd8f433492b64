"""Plans built in memory (transient model objects, no database) for view tests."""

from __future__ import annotations

import datetime as dt
import itertools

from storage.models import (
    Account,
    AccountPlan,
    ActionItem,
    ItemStatus,
    Objective,
    PlanMember,
    PlanStatus,
    Strategy,
    SwotEntry,
    SwotKind,
)
from storage.plans import PlanProgress, Progress

_ids = itertools.count(1)


def build_plan(
    *,
    name: str = "Newton Memorial Hospital 2025 Strategic Plan",
    strategies: int = 1,
    objectives: int = 2,
    items: int = 2,
    swot: int = 1,
    done_every: int = 2,
    title: str = "Share results",
) -> AccountPlan:
    plan = AccountPlan(
        id=next(_ids),
        team_id="T1",
        name=name,
        account=Account(id=next(_ids), team_id="T1", name="Newton Memorial Hospital"),
        start_date=dt.date(2025, 1, 1),
        end_date=dt.date(2025, 12, 31),
        status=PlanStatus.ACTIVE,
        owner_id="UOWNER",
        vision="Be the partner of choice",
        customer_goals="",
        our_goals="",
        version=1,
    )
    plan.members = [PlanMember(user_id="UMEMBER", team_id="T1")]
    n = 0
    for s in range(strategies):
        strategy = Strategy(id=next(_ids), team_id="T1", title=f"Strategy {s + 1}", position=s,
                            shared_with_customer=True)
        plan.strategies.append(strategy)
        for o in range(objectives):
            objective = Objective(id=next(_ids), team_id="T1", title=f"Objective {s + 1}.{o + 1}",
                                  position=o, measure_unit="IDNs" if o == 0 else "",
                                  target_value=5 if o == 0 else None, current_value=3 if o == 0 else None,
                                  shared_with_customer=True)
            strategy.objectives.append(objective)
            for i in range(items):
                n += 1
                objective.action_items.append(ActionItem(
                    id=next(_ids), team_id="T1", title=f"{title} {n}", position=i,
                    assignee_id="UMEMBER", due_date=dt.date(2025, 3, 1),
                    status=ItemStatus.DONE if done_every and n % done_every == 0 else ItemStatus.OPEN,
                    shared_with_customer=(n % 3 != 0),
                ))
    kinds = list(SwotKind)
    for k in range(swot):
        plan.swot_entries.append(SwotEntry(id=next(_ids), team_id="T1", kind=kinds[k % 4],
                                           text=f"SWOT entry {k + 1}", team_only=True, position=k))
    return plan


def progress_of(plan: AccountPlan) -> PlanProgress:
    """The progress storage.plans.plan_progress would compute, from memory."""
    result = PlanProgress()
    for strategy in plan.strategies:
        for objective in strategy.objectives:
            p = Progress(sum(i.is_done for i in objective.action_items), len(objective.action_items))
            result.objectives[objective.id] = p
            result.strategies[strategy.id] = result.strategy(strategy.id) + p
            result.plan = result.plan + p
    return result
