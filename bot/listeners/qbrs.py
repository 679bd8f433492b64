"""QBRs: `/accountplan qbr PLAN`, the plan view's "Log QBR", the QBR form, and after it
the QBR digests (bot/publishing/digest_posts.py after_qbr) and the owner's DM."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from blocks import modals
from blocks.forms import encode_metadata, form_values, metadata
from blocks.ids import Action, Callback
from bot.listeners.digests import outcome, plan_id_of, sharable_plan, update_view
from bot.listeners.plans import resolve_editable_plan
from bot.publishing.digest_posts import after_qbr, today_in
from bot.runtime import ui
from bot.runtime.after_ack import acked
from bot.runtime.middleware import actor_of, unit_of_work
from bot.slack.users import user_timezone
from storage import plans
from storage.errors import PlanError
from storage.models import utcnow
from storage.plans import ReviewInput


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
    plan = sharable_plan(context, plan_id_of(payload))
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
    update_view(client, view["id"], modals.result_modal("QBR logged", "\n".join(lines)))


SUBCOMMANDS = {"qbr": qbr_command}  # this surface's words of /accountplan


def register(app: App) -> None:
    app.action(Action.LOG_QBR)(acked(on_log_qbr))
    app.view(Callback.QBR_FORM)(on_qbr_submitted)
