"""SWOT: "Add SWOT entry", the entry menu in the SWOT view, the SWOT form."""

from __future__ import annotations

from typing import Any

from slack_bolt import App
from sqlalchemy.orm import Session

from blocks import modals
from blocks.forms import encode_metadata
from blocks.ids import Action, Callback
from bot.listeners.menus import Level, menu_listener
from bot.runtime import ui
from bot.runtime.after_ack import acked
from storage import plans
from storage.plans import Actor


def edit_form(session: Session, entry, parent: dict[str, Any]) -> dict[str, Any]:
    meta = encode_metadata(entry=entry.id, version=entry.version, **parent)
    return modals.swot_modal(Callback.SWOT_FORM, entry=entry, metadata=meta)


LEVEL = Level("swot", edit_form=edit_form, label=lambda entry: entry.text)


def on_add(**request) -> None:
    ui.open_plan_form(**request, form=lambda meta, _plan: modals.swot_modal(Callback.SWOT_FORM, metadata=meta))


def save(session: Session, actor: Actor, values: dict[str, Any], meta: dict[str, Any]) -> int:
    team_only = modals.TEAM_ONLY in (values.get("team_only") or [])
    kind, text = values.get("kind") or "", values.get("text") or ""
    if "entry" in meta:
        return plans.update_swot_entry(session, actor, meta["entry"], kind, text, team_only=team_only,
                                       expected_version=meta.get("version")).plan_id
    return plans.add_swot_entry(session, actor, meta.get("plan"), kind, text, team_only=team_only).plan_id


def register(app: App) -> None:
    app.action(Action.ADD_SWOT)(acked(on_add))
    app.action(Action.SWOT_MENU)(menu_listener(LEVEL))
    app.view(Callback.SWOT_FORM)(ui.form_submission(save))
