"""Glue between listeners, plan operations and views, shared by every surface.

- `render_plan`: load a plan and build its view (page, SWOT mode), for who is looking.
- `save_form`: the one way a modal submission is handled: save in a unit of work; a
  ValidationError comes back on its field, any other PlanError on the form's first
  input (nothing saved); on success either turn the form into the plan view or close
  it and refresh the plan view it was pushed from.
- `show_problem`: tell someone why a button did nothing, in a small modal.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session

from blocks import messages
from blocks.forms import encode_metadata, form_values, metadata
from blocks.modals import message_modal
from blocks.plan_view import plan_view, swot_view
from bot.after_ack import CONTEXT_KEY as AFTER_ACK_KEY
from bot.after_ack import too_late_for_modal
from bot.middleware import actor_of, unit_of_work
from storage import plans
from storage.errors import PlanError, ValidationError
from storage.plans import Actor

log = logging.getLogger(__name__)

# What a form's save function gets and returns: the plan to show afterwards.
SaveFunction = Callable[[Session, Actor, dict[str, Any], dict[str, Any]], int]


def render_plan(session: Session, actor: Actor, plan_id: int, *, page: int = 0, mode: str = "plan") -> dict[str, Any]:
    plan = plans.load_plan_tree(session, actor.team_id, plan_id)
    can_edit = plans.can_edit(plan, actor.user_id)
    if mode == "swot":
        return swot_view(plan, can_edit=can_edit, page=page)
    progress = plans.plan_progress(session, actor.team_id, plan_id)
    return plan_view(plan, progress, can_edit=can_edit, page=page)


def refresh_plan_view(client: WebClient, context: BoltContext, view_id: str, plan_id: int,
                      *, page: int = 0, mode: str = "plan", view_hash: str | None = None) -> None:
    """Redraw an open plan view after a change (after the ack)."""
    with unit_of_work(context) as session:
        view = render_plan(session, actor_of(context), plan_id, page=page, mode=mode)
    try:
        client.views_update(view_id=view_id, view=view, hash=view_hash)
    except SlackApiError as error:
        # hash_conflict: someone's newer redraw won; view closed: nothing to redraw.
        log.info("plan view %s not redrawn: %s", view_id, error.response.get("error"))


def input_block_ids(view: dict[str, Any]) -> list[str]:
    return [b["block_id"] for b in view.get("blocks", []) if b.get("type") == "input" and b.get("block_id")]


def errors_for(view: dict[str, Any], error: PlanError) -> dict[str, str]:
    """Field errors for `response_action: errors`: every field error of the input at
    once, each on its own input. What is not a field of this form (a conflict, a
    permission, a rule on another field) is said on the first input, joined, so
    nothing typed is lost."""
    inputs = input_block_ids(view)
    target = inputs[0] if inputs else "_"
    if not isinstance(error, ValidationError):
        return {target: str(error)[:150]}
    found: dict[str, str] = {}
    elsewhere: list[str] = []
    for field, message in error.errors.items():
        if field in inputs:
            found[field] = message
        else:
            elsewhere.append(message)
    if elsewhere:
        found[target] = "; ".join([found[target], *elsewhere] if target in found else elsewhere)
    return {field: message[:150] for field, message in found.items()}


def save_form(ack: Ack, client: WebClient, context: BoltContext, view: dict[str, Any], save: SaveFunction) -> None:
    meta = metadata(view)
    try:
        with unit_of_work(context) as session:
            plan_id = save(session, actor_of(context), form_values(view), meta)
    except PlanError as error:
        ack(response_action="errors", errors=errors_for(view, error))
        return
    parent = meta.get("parent")
    if parent:
        ack()  # closes this form, back to the plan view it came from, redrawn after
        later(context, refresh_plan_view, client=client, context=context, view_id=parent, plan_id=plan_id,
              page=meta.get("page", 0), mode=meta.get("mode", "plan"))
        return
    with unit_of_work(context) as session:
        new_view = render_plan(session, actor_of(context), plan_id)
    ack(response_action="update", view=new_view)


def later(context: BoltContext, work, /, **kwargs) -> None:
    """Run `work(**kwargs)` after the ack, off Bolt's listener pool (bot/after_ack.py)."""
    context[AFTER_ACK_KEY].submit(work, **kwargs)


def show_problem(client: WebClient, body: dict[str, Any], error: PlanError | str, *, title: str = "Not done") -> None:
    """After an ack: explain in a modal (pushed over a modal, else opened)."""
    text = error.message if isinstance(error, PlanError) else error
    view = message_modal(title, text)
    trigger_id = body.get("trigger_id")
    if not trigger_id:
        return
    try:
        if body.get("view") and body["view"].get("type") == "modal":
            client.views_push(trigger_id=trigger_id, view=view)
        else:
            client.views_open(trigger_id=trigger_id, view=view)
    except SlackApiError as api_error:
        log.info("could not show a problem: %s", api_error.response.get("error"))


def open_plan_form(*, body, client: WebClient, context: BoltContext, payload, respond,
                   form: Callable[[str], dict[str, Any]]) -> None:
    """A plan-view button that opens a form adding to the plan (payload value: plan id),
    for those who may change it; `form(metadata)` builds the modal."""
    actor = actor_of(context)
    try:
        with unit_of_work(context) as session:
            plan = plans.get_editable_plan(session, actor, int(payload["value"]))
    except PlanError as error:
        show_problem(client, body, error)
        return
    meta = encode_metadata(plan=plan.id, **parent_of(body))
    open_or_push(client, context, body, form(meta), respond)


def parent_of(body: dict[str, Any]) -> dict[str, Any]:
    """Metadata a form pushed from a plan view keeps to redraw it afterwards."""
    view = body.get("view") or {}
    if view.get("type") != "modal":
        return {}
    meta = metadata(view)
    return {"parent": view.get("id"), "page": meta.get("page", 0), "mode": meta.get("mode", "plan")}


TOO_LATE = ("Sorry, Slack gives us 3 seconds to open that and we were busy: "
            "please try again.")


def open_modal(client: WebClient, context: BoltContext, trigger_id: str, view: dict[str, Any],
               *, push: bool = False, respond: Respond | None = None) -> bool:
    """Open (or push) a modal while the request's trigger_id still works; when it no
    longer can, say so where we can (the response URL) instead of failing."""
    if too_late_for_modal(context):
        log.warning("trigger expired before the modal was ready (%s)", view.get("callback_id"))
        if respond is not None and respond.response_url:
            respond(messages.notice(TOO_LATE))
        return False
    if push:
        client.views_push(trigger_id=trigger_id, view=view)
    else:
        client.views_open(trigger_id=trigger_id, view=view)
    return True


def open_or_push(client: WebClient, context: BoltContext, body: dict[str, Any], view: dict[str, Any],
                 respond: Respond | None = None) -> bool:
    """Open a modal, or push it onto the modal the click came from."""
    push = (body.get("view") or {}).get("type") == "modal"
    return open_modal(client, context, body["trigger_id"], view, push=push, respond=respond)
