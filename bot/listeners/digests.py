"""Sharing a plan: `/accountplan digest PLAN [#channel]`, `/accountplan qbr PLAN`, and the
plan view's "Post digest", "Log QBR", "Publish as canvas" and "Digest settings".

Slack is called only after the ack. Forms that post somewhere (digest, canvas, QBR)
check what they can before acknowledging (permission, fields: errors land on the form),
then replace the form with "Posting…" and update it with the outcome, so a slow Slack
API never holds the acknowledgement.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from blocks import messages, modals
from blocks.forms import encode_metadata, form_values, metadata
from blocks.ids import Action, Callback
from blocks.kit import esc
from bot.listeners.plans import resolve_editable_plan
from bot.publishing.canvas_posts import publish_canvas
from bot.publishing.digest_posts import Posted, after_qbr, post_digest, today_in, user_timezone
from bot.runtime import ui
from bot.runtime.after_ack import acked, too_late_for_modal
from bot.runtime.middleware import actor_of, unit_of_work
from bot.slack.errors import explain
from storage import digests, plans
from storage.errors import PlanError, ValidationError
from storage.models import DigestReason, PlanStatus, utcnow
from storage.plans import ReviewInput

log = logging.getLogger(__name__)

# A channel typed after the plan arrives escaped by Slack: <#C123|name> or <#C123>.
CHANNEL_REF = re.compile(r"<#([A-Z0-9]+)(?:\|[^>]*)?>")
EXTERNAL_NOTE = (" It is shared with another organisation, so SWOT and team-only items "
                 "were left out.")


def parse_digest_args(args: str) -> tuple[str, str | None]:
    """("Newton 2025", "C123") from "Newton 2025 <#C123|team-east>" (the last channel wins)."""
    found = list(CHANNEL_REF.finditer(args))
    if not found:
        return args.strip(), None
    last = found[-1]
    return (args[:last.start()] + args[last.end():]).strip(), last.group(1)


def channel_ref(channel_id: str) -> str:
    return f"<#{channel_id}>" if channel_id.isalnum() else esc(channel_id)


def outcome(plan_name: str, posted: Posted, what: str = "digest") -> str:
    """One line for people about one channel (mrkdwn, user text escaped)."""
    if posted.ok:
        note = EXTERNAL_NOTE if posted.audience == "external" else ""
        return f"Posted the {what} of *{esc(plan_name, 200)}* to {channel_ref(posted.channel_id)}.{note}"
    return f"Could not post to {channel_ref(posted.channel_id)}: {explain(posted.error)}"


def _plan_id(action: dict[str, Any]) -> int:
    return ui.record_id(action.get("value"))


def _sharable_plan(context: BoltContext, plan_id: int):
    """The plan when this person may share it; else PermissionDenied, which the
    after-ack error path (bot/runtime/ui.py report_failure) tells them."""
    with unit_of_work(context) as session:
        return digests.require_sharer(session, actor_of(context), plan_id)


def _update(client: WebClient, view_id: str, view: dict[str, Any]) -> None:
    try:
        client.views_update(view_id=view_id, view=view)
    except SlackApiError as error:  # the person closed it: the outcome is in Slack anyway
        log.info("view %s not updated: %s", view_id, error.response.get("error"))


# ---------------------------------------------------------------------------
# /accountplan digest PLAN [#channel]


def digest_command(*, respond, client: WebClient, command, context, args) -> None:
    actor = actor_of(context)
    text, channel_id = parse_digest_args(args)
    channel_id = channel_id or command["channel_id"]
    with unit_of_work(context) as session:
        plan = resolve_editable_plan(session, actor, text, respond, "digest", "post its digest")
        if plan is None:
            return
        plan_id, name = plan.id, plan.name
    posted = post_digest(client, context["database"].session_factory, team_id=actor.team_id,
                         plan_id=plan_id, channel_id=channel_id, reason=DigestReason.ON_DEMAND,
                         posted_by=actor.user_id, timezone=user_timezone(client, actor.user_id))
    respond(messages.notice(outcome(name, posted)))


# ---------------------------------------------------------------------------
# "Post digest" and "Publish as canvas": pick a channel, then post


def on_post_digest(*, body, client: WebClient, context: BoltContext, payload, respond) -> None:
    plan = _sharable_plan(context, _plan_id(payload))
    view = modals.channel_modal(
        Callback.DIGEST_FORM, title="Post digest", plan_name=plan.name, submit="Post",
        intro="Post this plan's progress digest to a channel now.",
        metadata=encode_metadata(plan=plan.id))
    ui.open_or_push(client, context, body, view)


def on_publish_canvas(*, body, client: WebClient, context: BoltContext, payload, respond) -> None:
    plan = _sharable_plan(context, _plan_id(payload))
    view = modals.channel_modal(
        Callback.CANVAS_FORM, title="Publish as canvas", plan_name=plan.name, submit="Publish",
        intro="Publish the whole written plan as a canvas and share it with a channel. "
              "Publishing again updates the same canvas.",
        metadata=encode_metadata(plan=plan.id))
    ui.open_or_push(client, context, body, view)


def _checked_channel_form(ack: Ack, context: BoltContext, view: dict[str, Any], working: str):
    """(plan id, plan name, channel) after acknowledging with a "working…" view; None
    after answering with the form's errors."""
    meta = metadata(view)
    channel_id = form_values(view).get("channel")
    try:
        if not channel_id:
            raise ValidationError("channel", "choose a channel")
        with unit_of_work(context) as session:
            plan = digests.require_sharer(session, actor_of(context), meta.get("plan"))
            plan_id, name = plan.id, plan.name
    except PlanError as error:
        ack(response_action="errors", errors=ui.errors_for(view, error))
        return None
    ack(response_action="update", view=modals.result_modal(view["title"]["text"], working))
    return plan_id, name, channel_id


def on_digest_submitted(ack: Ack, client: WebClient, context: BoltContext, view: dict[str, Any]) -> None:
    checked = _checked_channel_form(ack, context, view, "Posting the digest…")
    if checked is None:
        return
    plan_id, name, channel_id = checked
    ui.later(context, _post_digest_and_report, client=client, context=context, view=view,
             plan_id=plan_id, name=name, channel_id=channel_id)


def _post_digest_and_report(*, client: WebClient, context: BoltContext, view: dict[str, Any],
                            plan_id: int, name: str, channel_id: str) -> None:
    """After the ack, on the after-ack pool (Slack calls never hold Bolt's threads)."""
    actor = actor_of(context)
    posted = post_digest(client, context["database"].session_factory, team_id=actor.team_id,
                         plan_id=plan_id, channel_id=channel_id, reason=DigestReason.ON_DEMAND,
                         posted_by=actor.user_id, timezone=user_timezone(client, actor.user_id))
    title = "Digest posted" if posted.ok else "Digest not posted"
    _update(client, view["id"], modals.result_modal(title, outcome(name, posted)))


def on_canvas_submitted(ack: Ack, client: WebClient, context: BoltContext, view: dict[str, Any]) -> None:
    checked = _checked_channel_form(ack, context, view, "Publishing the canvas…")
    if checked is None:
        return
    plan_id, name, channel_id = checked
    ui.later(context, _publish_canvas_and_report, client=client, context=context, view=view,
             plan_id=plan_id, name=name, channel_id=channel_id)


def _publish_canvas_and_report(*, client: WebClient, context: BoltContext, view: dict[str, Any],
                               plan_id: int, name: str, channel_id: str) -> None:
    """After the ack, on the after-ack pool."""
    try:
        published = publish_canvas(client, context["database"].session_factory, actor_of(context),
                                   plan_id, channel_id)
    except PlanError as error:  # lost the right to share it in the meantime
        _update(client, view["id"], modals.result_modal("Not published", esc(error.message)))
        return
    if published.ok:
        note = EXTERNAL_NOTE if published.audience == "external" else ""
        text = (f"Published *{esc(name, 200)}* as a canvas and shared it with "
                f"{channel_ref(channel_id)}: <{published.url}|open the canvas>.{note}")
        _update(client, view["id"], modals.result_modal("Canvas published", text))
    else:
        text = f"Could not publish to {channel_ref(channel_id)}: {explain(published.error)}"
        _update(client, view["id"], modals.result_modal("Not published", text))


# ---------------------------------------------------------------------------
# QBRs: /accountplan qbr PLAN, "Log QBR"


def _qbr_form(plan) -> dict[str, Any]:
    # The form opens at once (the trigger expires in 3 s): "today" in UTC is a fine
    # default for a date the person checks anyway.
    return modals.qbr_modal(Callback.QBR_FORM, plan_name=plan.name, today=today_in("UTC", utcnow()),
                            metadata=encode_metadata(plan=plan.id))


def qbr_command(*, respond, client: WebClient, command, context, args) -> None:
    actor = actor_of(context)
    with unit_of_work(context) as session:
        plan = resolve_editable_plan(session, actor, args, respond, "qbr", "log its QBRs")
        if plan is None:
            return
        view = _qbr_form(plan)
    ui.open_modal(client, context, command["trigger_id"], view, respond=respond)


def on_log_qbr(*, body, client: WebClient, context: BoltContext, payload, respond) -> None:
    plan = _sharable_plan(context, _plan_id(payload))
    ui.open_or_push(client, context, body, _qbr_form(plan))


def on_qbr_submitted(ack: Ack, client: WebClient, context: BoltContext, view: dict[str, Any]) -> None:
    meta = metadata(view)
    values = form_values(view)
    actor = actor_of(context)
    try:
        with unit_of_work(context, before_ack=True) as session:
            review = plans.add_review(session, actor, meta.get("plan"), ReviewInput(
                held_on=values.get("held_on"), attendees=values.get("attendees") or "",
                notes=values.get("notes") or "", decisions=values.get("decisions") or "",
                next_qbr_date=values.get("next_qbr_date")))
            plan_id, review_id, name = review.plan_id, review.id, review.plan.name
    except PlanError as error:
        ack(response_action="errors", errors=ui.errors_for(view, error))
        return
    ack(response_action="update", view=modals.result_modal("QBR logged", "Logged. Posting the QBR digest…"))
    ui.later(context, _after_qbr_and_report, client=client, context=context, view=view,
             plan_id=plan_id, review_id=review_id, name=name)


def _after_qbr_and_report(*, client: WebClient, context: BoltContext, view: dict[str, Any],
                          plan_id: int, review_id: int, name: str) -> None:
    """After the ack, on the after-ack pool: the QBR digests and the owner's DM."""
    actor = actor_of(context)
    results = after_qbr(client, context["database"].session_factory, team_id=actor.team_id,
                        plan_id=plan_id, review_id=review_id, posted_by=actor.user_id,
                        timezone=user_timezone(client, actor.user_id))
    lines = [outcome(name, posted, "QBR digest") for posted in results] or [
        "No channel gets this plan's digest after each QBR: add one in *Digest settings*."]
    lines.append("The owner has a DM to review the plan's objectives against the decisions.")
    _update(client, view["id"], modals.result_modal("QBR logged", "\n".join(lines)))


# ---------------------------------------------------------------------------
# "Digest settings": the plan's subscriptions


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
    plan = _sharable_plan(context, _plan_id(payload))
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
    _update(client, body["view"]["id"], new_view)


SUBCOMMANDS = {"digest": digest_command, "qbr": qbr_command}  # this surface's words of /accountplan


def register(app: App) -> None:
    app.action(Action.POST_DIGEST)(acked(on_post_digest))
    app.action(Action.PUBLISH_CANVAS)(acked(on_publish_canvas))
    app.action(Action.LOG_QBR)(acked(on_log_qbr))
    app.action(Action.DIGEST_SETTINGS)(acked(on_digest_settings))
    app.action(Action.REMOVE_SUBSCRIPTION)(acked(on_remove_subscription))
    app.view(Callback.DIGEST_FORM)(on_digest_submitted)
    app.view(Callback.CANVAS_FORM)(on_canvas_submitted)
    app.view(Callback.QBR_FORM)(on_qbr_submitted)
    app.view(Callback.SUBSCRIPTION_FORM)(on_subscription_submitted)
