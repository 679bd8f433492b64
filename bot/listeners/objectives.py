"""Objectives: "Add objective" (pick the strategy), the objective menu, the form."""

from __future__ import annotations

from typing import Any

from slack_bolt import App
from sqlalchemy.orm import Session

from blocks import modals
from blocks.forms import encode_metadata
from blocks.ids import Action, Callback
from bot.listeners import action_items
from bot.listeners.menus import Level, menu_listener
from bot.runtime import ui
from bot.runtime.after_ack import acked
from bot.runtime.middleware import actor_of, unit_of_work
from storage import plans, progress
from storage.errors import ValidationError
from storage.plans import Actor, ObjectiveInput


def add_form_under(session: Session, strategy, parent: dict[str, Any]) -> dict[str, Any]:
    """From a strategy's menu: the parent is fixed."""
    meta = encode_metadata(strategy=strategy.id, **parent)
    plan = plans.get_plan(session, strategy.team_id, strategy.plan_id)
    return modals.objective_modal(Callback.OBJECTIVE_FORM, metadata=meta, ask_owner=True,
                                  shared_default=plan.share_with_customer_by_default)


def edit_form(session: Session, objective, parent: dict[str, Any]) -> dict[str, Any]:
    meta = encode_metadata(objective=objective.id, version=objective.version, **parent)
    return modals.objective_modal(Callback.OBJECTIVE_FORM, objective=objective, metadata=meta, ask_owner=True)


LEVEL = Level("objective", edit_form=edit_form, add_child_form=action_items.add_form_under)


def on_add(*, body, client, context, payload, respond) -> None:
    """From the plan's buttons: choose the strategy in the form."""
    actor = actor_of(context)
    with unit_of_work(context) as session:
        plan = plans.load_plan_tree(session, actor.team_id, ui.record_id(payload.get("value")))
        plans.require_editor(plan, actor)
        if not plan.strategies:
            raise ValidationError("strategy", "Add a strategy first: objectives live under strategies.")
        choices = [(f"{n}. {s.title}", str(s.id)) for n, s in enumerate(plan.strategies, 1)]
        meta = encode_metadata(plan=plan.id, **ui.parent_of(body))
        view = modals.objective_modal(Callback.OBJECTIVE_FORM, strategies=choices,
                                      selected_strategy=choices[-1][1], metadata=meta, ask_owner=True,
                                      shared_default=plan.share_with_customer_by_default)
    ui.open_or_push(client, context, body, view)


def save(session: Session, actor: Actor, values: dict[str, Any], meta: dict[str, Any]) -> int:
    data = ObjectiveInput(
        title=values.get("title") or "",
        description=values.get("description") or "",
        measure_unit=values.get("measure_unit") or "",
        target_value=values.get("target_value"),
        current_value=values.get("current_value"),
        shared_with_customer=modals.shared_value(values),
    )
    if "objective" in meta:
        objective = plans.update_objective(session, actor, meta["objective"], data,
                                           expected_version=meta.get("version"))
    else:
        strategy_id = meta.get("strategy") or values.get("strategy")
        if not strategy_id:
            raise ValidationError("strategy", "required")
        objective = plans.add_objective(session, actor, ui.record_id(strategy_id, what="strategy"), data)
    if "owner" in values:  # asked before each QBR; empty: the plan's owner
        progress.set_objective_owner(session, actor, objective.id, values["owner"])
    return objective.plan_id


def register(app: App) -> None:
    app.action(Action.ADD_OBJECTIVE)(acked(on_add))
    app.action(Action.OBJECTIVE_MENU)(menu_listener(LEVEL))
    app.view(Callback.OBJECTIVE_FORM)(ui.form_submission(save))
