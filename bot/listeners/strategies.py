"""Strategies: "Add strategy", the strategy menu, the strategy form."""

from __future__ import annotations

from typing import Any

from slack_bolt import App
from sqlalchemy.orm import Session

from blocks import modals
from blocks.forms import encode_metadata
from blocks.ids import Action, Callback
from bot.listeners import objectives
from bot.listeners.menus import Level, menu_listener
from bot.runtime import ui
from bot.runtime.after_ack import acked
from storage import plans
from storage.plans import Actor


def edit_form(session: Session, strategy, parent: dict[str, Any]) -> dict[str, Any]:
    meta = encode_metadata(strategy=strategy.id, version=strategy.version, **parent)
    return modals.strategy_modal(Callback.STRATEGY_FORM, strategy=strategy, metadata=meta)


LEVEL = Level("strategy", edit_form=edit_form, add_child_form=objectives.add_form_under)


def on_add(**request) -> None:
    ui.open_plan_form(**request, form=lambda meta, plan: modals.strategy_modal(
        Callback.STRATEGY_FORM, metadata=meta, shared_default=plan.share_with_customer_by_default))


def save(session: Session, actor: Actor, values: dict[str, Any], meta: dict[str, Any]) -> int:
    title, description = values.get("title") or "", values.get("description") or ""
    shared = modals.shared_value(values)
    if "strategy" in meta:
        return plans.update_strategy(session, actor, meta["strategy"], title, description,
                                     expected_version=meta.get("version"), shared_with_customer=shared).plan_id
    return plans.add_strategy(session, actor, meta.get("plan"), title, description,
                              shared_with_customer=shared).plan_id


def register(app: App) -> None:
    app.action(Action.ADD_STRATEGY)(acked(on_add))
    app.action(Action.STRATEGY_MENU)(menu_listener(LEVEL))
    app.view(Callback.STRATEGY_FORM)(ui.form_submission(save))
