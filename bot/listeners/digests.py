"""Digests and canvases on demand: `/accountplan digest PLAN [#channel]`, and the plan
view's "Post digest" and "Publish as canvas" with their channel forms. QBRs are
bot/listeners/qbrs.py's, the plan's subscriptions bot/listeners/digest_settings.py's;
both share the helpers below (who may share a plan, a line per channel posted to).

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
from bot.publishing.digest_posts import Posted, post_digest
from bot.runtime import ui
from bot.runtime.after_ack import acked
from bot.runtime.middleware import actor_of, unit_of_work
from bot.slack.errors import explain
from bot.slack.users import user_timezone
from storage import digests
from storage.errors import PlanError, ValidationError
from storage.models import DigestReason

log = logging.getLogger(__name__)

# A channel typed after the plan arrives escaped by Slack: <#C123|name> or <#C123>.
CHANNEL_REF = re.compile(r"<#([A-Z0-9]+)(?:\|[^>]*)?>")
EXTERNAL_NOTE = (" It is shared with another organisation, so only the parts shared with the "
                 "customer are in it.")


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


def plan_id_of(action: dict[str, Any]) -> int:
    return ui.record_id(action.get("value"))


def sharable_plan(context: BoltContext, plan_id: int):
    """The plan when this person may share it; else PermissionDenied, which the
    after-ack error path (bot/runtime/ui.py report_failure) tells them."""
    with unit_of_work(context) as session:
        return digests.require_sharer(session, actor_of(context), plan_id)


def update_view(client: WebClient, view_id: str, view: dict[str, Any]) -> None:
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
    posted = _post_on_demand(client, context, plan_id, channel_id)
    respond(messages.notice(outcome(name, posted)))
    if posted.upload_chart is not None:
        posted.upload_chart()


# ---------------------------------------------------------------------------
# "Post digest" and "Publish as canvas": pick a channel, then post


def on_post_digest(*, body, client: WebClient, context: BoltContext, payload, respond) -> None:
    plan = sharable_plan(context, plan_id_of(payload))
    view = modals.channel_modal(
        Callback.DIGEST_FORM, title="Post digest", plan_name=plan.name, submit="Post",
        intro="Post this plan's progress digest to a channel now.",
        metadata=encode_metadata(plan=plan.id))
    ui.open_or_push(client, context, body, view)


def on_publish_canvas(*, body, client: WebClient, context: BoltContext, payload, respond) -> None:
    plan = sharable_plan(context, plan_id_of(payload))
    view = modals.channel_modal(
        Callback.CANVAS_FORM, title="Publish as canvas", plan_name=plan.name, submit="Publish",
        intro="Publish the whole written plan as a canvas and share it with a channel. "
              "Publishing again updates the same canvas.",
        metadata=encode_metadata(plan=plan.id))
    ui.open_or_push(client, context, body, view)


def _post_on_demand(client: WebClient, context: BoltContext, plan_id: int, channel_id: str) -> Posted:
    """This person's digest of the plan, posted now, its dates in their time zone; the
    chart is left to `posted.upload_chart`, for after they have been told."""
    actor = actor_of(context)
    return post_digest(client, context["database"].session_factory, team_id=actor.team_id,
                       plan_id=plan_id, channel_id=channel_id, reason=DigestReason.ON_DEMAND,
                       posted_by=actor.user_id, timezone=user_timezone(client, actor.user_id),
                       chart_later=True)


def _submit_channel_form(ack: Ack, client: WebClient, context: BoltContext, view: dict[str, Any],
                         working: str, report) -> None:
    """A channel form (digest, canvas): check what can be checked before the ack (errors
    land on the form), acknowledge with a `working` view, then run
    `report(client=, context=, view=, plan_id=, name=, channel_id=)` after the ack."""
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
        return
    ack(response_action="update", view=modals.result_modal(view["title"]["text"], working))
    ui.later(context, report, client=client, context=context, view=view,
             plan_id=plan_id, name=name, channel_id=channel_id)


def on_digest_submitted(ack: Ack, client: WebClient, context: BoltContext, view: dict[str, Any]) -> None:
    _submit_channel_form(ack, client, context, view, "Posting the digest…", _post_digest_and_report)


def _post_digest_and_report(*, client: WebClient, context: BoltContext, view: dict[str, Any],
                            plan_id: int, name: str, channel_id: str) -> None:
    """After the ack, on the after-ack pool (Slack calls never hold Bolt's threads)."""
    posted = _post_on_demand(client, context, plan_id, channel_id)
    title = "Digest posted" if posted.ok else "Digest not posted"
    update_view(client, view["id"], modals.result_modal(title, outcome(name, posted)))
    if posted.upload_chart is not None:  # drawn after the person has been told
        posted.upload_chart()


def on_canvas_submitted(ack: Ack, client: WebClient, context: BoltContext, view: dict[str, Any]) -> None:
    _submit_channel_form(ack, client, context, view, "Publishing the canvas…", _publish_canvas_and_report)


def _publish_canvas_and_report(*, client: WebClient, context: BoltContext, view: dict[str, Any],
                               plan_id: int, name: str, channel_id: str) -> None:
    """After the ack, on the after-ack pool."""
    try:
        published = publish_canvas(client, context["database"].session_factory, actor_of(context),
                                   plan_id, channel_id)
    except PlanError as error:  # lost the right to share it in the meantime
        update_view(client, view["id"], modals.result_modal("Not published", esc(error.message)))
        return
    if published.ok:
        note = EXTERNAL_NOTE if published.audience == "external" else ""
        text = (f"Published *{esc(name, 200)}* as a canvas and shared it with "
                f"{channel_ref(channel_id)}: <{published.url}|open the canvas>.{note}")
        update_view(client, view["id"], modals.result_modal("Canvas published", text))
    else:
        text = f"Could not publish to {channel_ref(channel_id)}: {explain(published.error)}"
        update_view(client, view["id"], modals.result_modal("Not published", text))


SUBCOMMANDS = {"digest": digest_command}  # this surface's words of /accountplan


def register(app: App) -> None:
    app.action(Action.POST_DIGEST)(acked(on_post_digest))
    app.action(Action.PUBLISH_CANVAS)(acked(on_publish_canvas))
    app.view(Callback.DIGEST_FORM)(on_digest_submitted)
    app.view(Callback.CANVAS_FORM)(on_canvas_submitted)
