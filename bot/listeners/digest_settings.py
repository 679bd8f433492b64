"""A plan's digest subscriptions: the plan view's "Digest settings", the form that adds
one (channel, how often, when, after each QBR) and the button that removes one."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from blocks import modals
from blocks.forms import encode_metadata, form_values, metadata
from blocks.ids import Action, Callback
from bot.listeners.digests import plan_id_of, sharable_plan, update_view
from bot.runtime import ui
from bot.runtime.after_ack import acked, too_late_for_modal
from bot.runtime.middleware import actor_of, unit_of_work
from bot.slack.users import user_timezone
from storage import digests, plans
from storage.errors import PlanError, ValidationError
from storage.models import PlanStatus

log = logging.getLogger(__name__)


def _settings_view(session, actor, plan_id: int, timezone: str) -> dict[str, Any]:
    plan = plans.get_plan(session, actor.team_id, plan_id)
    paused = "" if plan.status == PlanStatus.ACTIVE else (
        f"Scheduled digests wait while the plan is {plan.status.value}; digests after QBRs still go out.")
    return modals.subscription_modal(
        Callback.SUBSCRIPTION_FORM, plan_name=plan.name,
        subscriptions=digests.subscriptions_of(session, actor.team_id, plan_id),
        remove_action=Action.REMOVE_SUBSCRIPTION, timezone=timezone, paused=paused,
        metadata=encode_metadata(plan=plan_id, tz=timezone))


def on_digest_settings(*, body, client: WebClient, context: BoltContext, payload, respond) -> None:
    actor = actor_of(context)
    plan = sharable_plan(context, plan_id_of(payload))
    # Open at once with UTC, then fill in the person's own time zone: users.info may be
    # slow, and the trigger id only lives for 3 seconds.
    with unit_of_work(context) as session:
        view = _settings_view(session, actor, plan.id, "UTC")
    if too_late_for_modal(context):
        return
    opened = client.views_push(trigger_id=body["trigger_id"], view=view) if (
        (body.get("view") or {}).get("type") == "modal") else client.views_open(
        trigger_id=body["trigger_id"], view=view)
    timezone = user_timezone(client, actor.user_id)
    if timezone != "UTC":
        with unit_of_work(context) as session:
            view = _settings_view(session, actor, plan.id, timezone)
        try:
            client.views_update(view_id=opened["view"]["id"], hash=opened["view"]["hash"], view=view)
        except SlackApiError as error:
            log.info("digest settings not updated with the time zone: %s", error.response.get("error"))


def on_subscription_submitted(ack: Ack, context: BoltContext, view: dict[str, Any]) -> None:
    meta = metadata(view)
    values = form_values(view)
    actor = actor_of(context)
    data = digests.SubscriptionInput(
        channel_id=values.get("channel"), frequency=values.get("frequency"),
        weekday=values.get("weekday"), time_of_day=values.get("time_of_day"),
        timezone=meta.get("tz") or "UTC", after_qbr=modals.AFTER_QBR in (values.get(modals.AFTER_QBR) or []))
    try:
        with unit_of_work(context, before_ack=True) as session:
            digests.save_subscription(session, actor, meta.get("plan"), data)
            session.flush()
            new_view = _settings_view(session, actor, meta["plan"], data.timezone)
    except PlanError as error:
        if isinstance(error, ValidationError) and error.field == "timezone":
            error = ValidationError("time_of_day", error.message)
        ack(response_action="errors", errors=ui.errors_for(view, error))
        return
    ack(response_action="update", view=new_view)


def on_remove_subscription(*, body, client: WebClient, context: BoltContext, payload, respond) -> None:
    actor = actor_of(context)
    meta = metadata(body["view"])
    with unit_of_work(context) as session:
        plan_id = digests.delete_subscription(session, actor, ui.record_id(payload.get("value")))
        new_view = _settings_view(session, actor, plan_id, meta.get("tz") or "UTC")
    update_view(client, body["view"]["id"], new_view)


def register(app: App) -> None:
    app.action(Action.DIGEST_SETTINGS)(acked(on_digest_settings))
    app.action(Action.REMOVE_SUBSCRIPTION)(acked(on_remove_subscription))
    app.view(Callback.SUBSCRIPTION_FORM)(on_subscription_submitted)
