"""The plan, copy and delete forms: building them (for the commands and buttons of
bot/listeners/plans.py and the menus of bot/listeners/menus.py) and answering their
submissions. A save goes through `ui.save_form`: field errors on their inputs, then
the plan view."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient
from sqlalchemy.orm import Session

from blocks import modals
from blocks.customer_items import CHANNEL as CUSTOMER_CHANNEL
from blocks.forms import encode_metadata, metadata
from blocks.ids import Callback
from blocks.plan_templates import chosen_template
from bot.runtime import ui
from bot.runtime.middleware import actor_of, unit_of_work
from storage import checkins, customer_items, plans, stakeholders, templates
from storage.errors import NotFound, PlanError, ValidationError
from storage.models import AccountPlan, PlanStatus
from storage.plans import Actor, CopyOptions, PlanInput


def edit_form(plan: AccountPlan, parent: dict[str, Any]) -> dict[str, Any]:
    meta = encode_metadata(plan=plan.id, version=plan.version, **parent)
    return modals.plan_modal(Callback.PLAN_EDIT, plan=plan, metadata=meta, checkins=True)


def new_form(session: Session, actor: Actor, meta: str) -> dict[str, Any]:
    """The new-plan form: "Start from" offers blank, the built-in templates and the
    workspace's (storage.templates), and the check-in settings."""
    choices = [(t.key, t.name) for t in templates.list_templates(session, actor)]
    return modals.plan_modal(Callback.PLAN_NEW, metadata=meta, templates=choices, checkins=True)


def next_cycle(plan: AccountPlan) -> tuple[str, dt.date, dt.date]:
    """Suggested copy: the same length, starting the day after this plan ends, and
    the name's years moved on ("… 2025 …" → "… 2026 …")."""
    start = plan.end_date + dt.timedelta(days=1)
    end = start + (plan.end_date - plan.start_date)
    years = end.year - plan.end_date.year
    if years and re.search(r"\b(19|20)\d\d\b", plan.name):
        name = re.sub(r"\b((?:19|20)\d\d)\b", lambda m: str(int(m.group(1)) + years), plan.name)
    else:
        name = f"{plan.name} (copy)"
    return name[:modals.NAME_MAX], start, end


def copy_form(plan: AccountPlan, parent: dict[str, Any]) -> dict[str, Any]:
    return modals.copy_modal(Callback.COPY_FORM, plan=plan, suggested=next_cycle(plan),
                             metadata=encode_metadata(plan=plan.id, **parent))


def _plan_input(values: dict[str, Any]) -> PlanInput:
    return PlanInput(
        name=values.get("name") or "",
        account=values.get("account") or "",
        start_date=values.get("start_date"),
        end_date=values.get("end_date"),
        status=values.get("status") or PlanStatus.DRAFT,
        owner_id=values.get("owner"),
        team=values.get("team") or [],
        vision=values.get("vision") or "",
        customer_goals=values.get("customer_goals") or "",
        our_goals=values.get("our_goals") or "",
        share_with_customer_by_default=modals.share_by_default_value(values),
    )


def save_checkins(session: Session, actor: Actor, plan_id: int, values: dict[str, Any]) -> None:
    """"Progress check-ins" and "Monthly check-ins" of a submitted plan form, if it had them."""
    if "checkin_lead_days" not in values and "monthly_checkins" not in values:
        return
    chosen = modals.checkin_values(values)
    if chosen["checkin_lead_days"] is None:
        raise ValidationError("checkin_lead_days", "required")
    checkins.set_checkin_settings(session, actor, plan_id, lead_days=chosen["checkin_lead_days"],
                                  monthly=chosen["monthly_checkins"])


def save_customer_channel(session: Session, actor: Actor, plan_id: int, values: dict[str, Any]) -> None:
    """"Customer channel" of a submitted plan form, if it had it."""
    if CUSTOMER_CHANNEL in values:
        customer_items.set_customer_channel(session, actor, plan_id, values.get(CUSTOMER_CHANNEL))


def save_new_plan(session: Session, actor: Actor, values: dict[str, Any], meta: dict[str, Any]) -> int:
    template = chosen_template(values)
    if template is None:
        plan = plans.create_plan(session, actor, _plan_input(values))
    else:
        plan = templates.create_plan_from_template(session, actor, _plan_input(values), template)
    save_checkins(session, actor, plan.id, values)
    save_customer_channel(session, actor, plan.id, values)
    return plan.id


def save_plan(session: Session, actor: Actor, values: dict[str, Any], meta: dict[str, Any]) -> int:
    plan = plans.update_plan(session, actor, meta.get("plan"), _plan_input(values),
                             expected_version=meta.get("version"))
    save_checkins(session, actor, plan.id, values)
    save_customer_channel(session, actor, plan.id, values)
    return plan.id


def save_copy(session: Session, actor: Actor, values: dict[str, Any], meta: dict[str, Any]) -> int:
    carry = set(values.get("carry") or [])
    options = CopyOptions(
        name=values.get("name") or "",
        account=values.get("account"),
        start_date=values.get("start_date"),
        end_date=values.get("end_date"),
        **{level: level in carry for level in ("strategies", "objectives", "action_items", "swot", "team")},
    )
    try:
        return plans.deep_copy_plan(session, actor, meta.get("plan"), options).id
    except ValidationError as error:
        if error.field in {"strategies", "objectives", "action_items", "swot", "team"}:
            raise ValidationError("carry", error.message) from None
        raise


DELETERS = {
    "strategy": plans.delete_strategy,
    "objective": plans.delete_objective,
    "action_item": plans.delete_action_item,
    "swot": plans.delete_swot_entry,
    "stakeholder": stakeholders.delete_stakeholder,
}


def confirm_delete(client: WebClient, context: BoltContext, body: dict[str, Any], entity: str,
                   record_id: int, name: str) -> None:
    """Push "Delete …?" over the plan view; the plan view is redrawn after."""
    meta = encode_metadata(entity=entity, id=record_id, **ui.parent_of(body))
    what = entity.replace("_", " ").replace("swot", "SWOT entry")
    view = modals.confirm_delete_modal(Callback.DELETE_FORM, what=what, name=name, metadata=meta)
    ui.open_modal(client, context, body["trigger_id"], view, push=True)


def on_delete_submitted(ack: Ack, client: WebClient, context: BoltContext, view: dict[str, Any]) -> None:
    meta = metadata(view)
    try:
        if meta.get("entity") not in DELETERS:
            raise NotFound("That is gone already.")
        with unit_of_work(context, before_ack=True) as session:
            record = plans.get_part(session, actor_of(context).team_id, meta["entity"], ui.record_id(meta.get("id")))
            plan_id = record.plan_id
            DELETERS[meta["entity"]](session, actor_of(context), record.id)
    except PlanError as error:
        # The confirmation has no inputs to hang an error on: replace it with the reason.
        ack(response_action="update", view=modals.message_modal("Not deleted", error.message))
        return
    if not meta.get("parent"):  # no plan view to go back to: say it here
        ack(response_action="update", view=modals.message_modal("Deleted", "Deleted, with everything under it."))
        return
    ack()
    ui.later(context, ui.refresh_plan_view, client=client, context=context, view_id=meta["parent"],
             plan_id=plan_id, who=ui.from_form(context, view), page=meta.get("page", 0),
             mode=meta.get("mode", "plan"))


def register(app: App) -> None:
    app.view(Callback.PLAN_NEW)(ui.form_submission(save_new_plan))
    app.view(Callback.PLAN_EDIT)(ui.form_submission(save_plan))
    app.view(Callback.COPY_FORM)(ui.form_submission(save_copy))
    app.view(Callback.DELETE_FORM)(on_delete_submitted)
