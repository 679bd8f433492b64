"""Glue between listeners, plan operations and views, shared by every surface.

- `render_plan`: load a plan and build its view (page, SWOT mode), for who is looking.
- `save_form`: the one way a modal submission is handled: save in a unit of work; a
  ValidationError comes back on its field, any other PlanError on the form's first
  input (nothing saved); on success either turn the form into the plan view or close
  it and refresh the plan view it was pushed from.
- `show_problem`: tell someone why a button did nothing, in a small modal.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, BoltContext, BoltRequest, BoltResponse, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as SQLTimeoutError
from sqlalchemy.orm import Session

from blocks import messages
from blocks.forms import encode_metadata, form_values, metadata
from blocks.kit import esc
from blocks.modals import message_modal
from blocks.plan_view import plan_page_item_ids, plan_view, swot_view
from bot.runtime.after_ack import CONTEXT_KEY as AFTER_ACK_KEY
from bot.runtime.after_ack import MODAL_BUDGET_SECONDS, Answer, received_at, too_late_for_modal
from bot.runtime.audience import OUTSIDER_REFUSED, SHARED_CONVERSATION_NOTE, Looking
from bot.runtime.middleware import actor_of, unit_of_work
from storage import agreements, health, plans, stakeholders
from storage.errors import NotFound, PermissionDenied, PlanError, ValidationError
from storage.models import Audience
from storage.plans import Actor

log = logging.getLogger(__name__)

# What a form's save function gets and returns: the plan to show afterwards.
SaveFunction = Callable[[Session, Actor, dict[str, Any], dict[str, Any]], int]


def render_plan(session: Session, who: Looking, plan_id: int, *, page: int = 0, mode: str = "plan") -> dict[str, Any]:
    """The plan view for whoever is looking (bot/runtime/audience.py): the team's, or the
    customer view, which is all a person from another organisation ever gets, and only
    of a plan the team put in front of them.

    Only the page's action items are loaded: the page is cut from the item outline (two
    integers an item), then its items (at most a modal's worth) are read. A plan of
    1,500 items costs what a plan of 85 does."""
    actor = who.actor
    if who.external:
        if actor.external and not plans.readable_by_outsider(
                session, actor.team_id, plan_id, user_id=actor.user_id, channel_id=who.channel_id):
            raise PermissionDenied(OUTSIDER_REFUSED)
        options = dict(can_edit=False, customer=True,
                       note=None if actor.external else SHARED_CONVERSATION_NOTE,
                       agreements=agreements.agreement_states(session, actor.team_id, plan_id,
                                                              audience=Audience.EXTERNAL))
        return _plan_page(session, actor, plan_id, page, Audience.EXTERNAL, options)
    plan = plans.load_plan_tree(session, actor.team_id, plan_id, with_items=False)
    can_edit = plans.can_edit(plan, actor)
    if mode == "swot":
        return swot_view(plan, can_edit=can_edit, page=page)
    # The team's own reading of the plan: key stakeholders and health (never a customer's).
    today = utc_today()
    people = stakeholders.stakeholder_tree(stakeholders.list_stakeholders(session, actor, plan_id))
    options = dict(can_edit=can_edit, today=today, stakeholders=people,
                   health=health.plan_health(session, actor.team_id, plan_id, today),
                   save_template=can_edit,
                   agreements=agreements.agreement_states(session, actor.team_id, plan_id))
    return _plan_page(session, actor, plan_id, page, Audience.TEAM, options, plan=plan)


def _plan_page(session: Session, actor: Actor, plan_id: int, page: int, audience: Audience,
               options: dict[str, Any], *, plan=None) -> dict[str, Any]:
    """Page `page` of the plan view for `audience`, reading only that page's items."""
    if plan is None:
        plan = plans.load_plan_tree(session, actor.team_id, plan_id, audience=audience, with_items=False)
    progress = plans.plan_progress(session, actor.team_id, plan_id, audience=audience)
    outline = plans.item_outline(session, actor.team_id, plan_id, audience=audience)
    wanted = plan_page_item_ids(plan, progress, outline=outline, page=page, **options)
    items = plans.items_by_id(session, actor.team_id, wanted, audience=audience)
    return plan_view(plan, progress, outline=outline, items=items, page=page, **options)


def utc_today() -> dt.date:
    """The day health and stale marks are worked out for (the server's UTC day)."""
    return dt.datetime.now(dt.timezone.utc).date()


def from_form(context: BoltContext, view: dict[str, Any]) -> Looking:
    """Who is looking at what a submitted form leads to: external when the person is, or
    when the form was opened for an external audience (its private_metadata says)."""
    actor = actor_of(context)
    external = actor.external or metadata(view).get("audience") == Audience.EXTERNAL
    return Looking(actor, Audience.EXTERNAL if external else Audience.TEAM)


def audience_metadata(who: Looking) -> dict[str, Any]:
    """What a form opened for `who` carries, so that what follows it stays as external."""
    return {"audience": Audience.EXTERNAL.value} if who.external else {}


def refresh_plan_view(client: WebClient, context: BoltContext, view_id: str, plan_id: int,
                      *, who: Looking, page: int = 0, mode: str = "plan",
                      view_hash: str | None = None) -> None:
    """Redraw an open plan view after a change (after the ack)."""
    with unit_of_work(context) as session:
        view = render_plan(session, who, plan_id, page=page, mode=mode)
    try:
        client.views_update(view_id=view_id, view=view, hash=view_hash)
    except SlackApiError as error:
        # hash_conflict: someone's newer redraw won; view closed: nothing to redraw.
        log.info("plan view %s not redrawn: %s", view_id, error.response.get("error"))


def record_id(value: Any, *, what: str = "plan") -> int:
    """A record id from a button or menu value we wrote; anything else (an old or
    tampered value) is NotFound, which people are told, never a traceback."""
    text = str(value if value is not None else "").strip()
    if text.isascii() and text.isdigit() and 0 <= int(text) <= plans.MAX_ID:
        return int(text)
    raise NotFound(f"That {what} is no longer there: please open it again.")


def chosen_value(action: dict[str, Any]) -> Any:
    """The value of the option picked in a select or overflow menu; None when the
    action carries no option (or something else where the option belongs)."""
    option = action.get("selected_option")
    return option.get("value") if isinstance(option, dict) else None


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


def form_submission(save: SaveFunction) -> Callable[..., None]:
    """The view_submission listener of a form whose submission `save` handles (save_form)."""
    def on_submit(ack: Ack, client: WebClient, context: BoltContext, view: dict[str, Any]) -> None:
        save_form(ack, client, context, view, save)
    return on_submit


def save_form(ack: Ack, client: WebClient, context: BoltContext, view: dict[str, Any], save: SaveFunction) -> None:
    """Save a submitted form and answer Slack, all before the ack.

    The plan view that replaces the form is drawn in the same transaction as the save:
    if drawing it fails (the database went away), the save is rolled back too, so the
    person is never told "not saved" about a change that was saved (and saved twice
    when they try again).
    """
    meta = metadata(view)
    who = from_form(context, view)
    parent = meta.get("parent")
    try:
        with unit_of_work(context, before_ack=True) as session:
            plan_id = save(session, actor_of(context), form_values(view), meta)
            new_view = None if parent else render_plan(session, who, plan_id)
    except PlanError as error:
        ack(response_action="errors", errors=errors_for(view, error))
        return
    if parent:
        ack()  # closes this form, back to the plan view it came from, redrawn after
        later(context, refresh_plan_view, answer=Answer.MESSAGE, client=client, context=context,
              view_id=parent, plan_id=plan_id,
              who=who, page=meta.get("page", 0), mode=meta.get("mode", "plan"))
        return
    ack(response_action="update", view=new_view)


def later(context: BoltContext, work, /, *, answer: Answer = Answer.BACKGROUND, **kwargs) -> None:
    """Run `work(**kwargs)` after the ack, on the after-ack pool (bot/runtime/after_ack.py), by
    the deadline of the answer it gives."""
    context[AFTER_ACK_KEY].submit(work, answer=answer, received_at=received_at(context), **kwargs)


BUSY = "Sorry, I'm very busy right now and couldn't open that in time: please try again in a few seconds."


def report_overload(kwargs: dict[str, Any]) -> None:
    """The after-ack pool cannot start this in time: say so now, not after the deadline."""
    body = kwargs.get("body") or kwargs.get("command") or {}
    client = kwargs.get("client")
    if client is None or not isinstance(body, dict):
        return
    body = {k: v for k, v in body.items() if k != "trigger_id"}  # no time left for a modal
    show_problem(client, body, BUSY, respond=kwargs.get("respond"))


def show_problem(client: WebClient, body: dict[str, Any], error: PlanError | str, *, title: str = "Not done",
                 context: BoltContext | None = None, respond: Respond | None = None) -> bool:
    """After an ack: explain where the person acted. A modal (pushed over a modal, else
    opened) while the trigger still works; else the response URL (ephemeral); else a DM
    from the app. True when one of them reached the person."""
    text = error.message if isinstance(error, PlanError) else error
    trigger_id = body.get("trigger_id")
    if trigger_id and (context is None or not too_late_for_modal(context)):
        view = message_modal(title, text)
        try:
            if body.get("view") and body["view"].get("type") == "modal":
                client.views_push(trigger_id=trigger_id, view=view)
            else:
                client.views_open(trigger_id=trigger_id, view=view)
            return True
        except (SlackApiError, SlackClientError, OSError) as api_error:
            log.info("could not show a problem in a modal: %s", _slack_error(api_error))
    if respond is not None and respond.response_url:
        try:
            respond(messages.notice(esc(text)))
            return True
        except (SlackApiError, SlackClientError, OSError) as api_error:
            log.info("could not show a problem by response URL: %s", _slack_error(api_error))
    user_id = (body.get("user") or {}).get("id") or body.get("user_id")
    if user_id:
        try:
            client.chat_postMessage(channel=user_id, **messages.notice(esc(text)))
            return True
        except (SlackApiError, SlackClientError, OSError) as api_error:
            log.info("could not show a problem in a DM: %s", _slack_error(api_error))
    return False


def _slack_error(error: Exception) -> str:
    if isinstance(error, SlackApiError):
        return str(error.response.get("error"))
    return type(error).__name__


APOLOGY = ("Sorry, something went wrong on our side and nothing more was done. "
           "Please try again in a minute.")
DATABASE_AWAY = "Sorry, I can't reach the database right now: please try again in a minute."
SLACK_REFUSED = "Sorry, Slack didn't let me show that just now ({error}): please try again."


def failure_text(error: Exception) -> str:
    """What a person is told when work after their request's ack failed."""
    if isinstance(error, PlanError):
        return error.message
    if isinstance(error, (OperationalError, InterfaceError, SQLTimeoutError)):
        return DATABASE_AWAY
    if isinstance(error, SlackApiError):
        return SLACK_REFUSED.format(error=_slack_error(error))
    if isinstance(error, (SlackClientError, OSError)):
        return SLACK_REFUSED.format(error="no answer")
    return APOLOGY


def on_listener_error(error: Exception, request: BoltRequest, response: BoltResponse | None,
                      logger: logging.Logger) -> BoltResponse | None:
    """Bolt's error handler (app.error): a listener failed BEFORE its ack (a form that
    could not be saved, the database away). Answer Slack with something a person sees
    instead of an HTTP 500: the reason on the form, or an ephemeral line."""
    body = request.body if isinstance(request.body, dict) else {}
    text = failure_text(error)
    if not isinstance(error, PlanError):
        logger.error("listener failed before its ack (%s, %s)", body.get("type") or body.get("command")
                     or "request", type(error).__name__, exc_info=error)
    if body.get("type") == "view_submission" and isinstance(body.get("view"), dict):
        inputs = input_block_ids(body["view"])
        answer: dict[str, Any] = (
            {"response_action": "errors", "errors": {inputs[0]: text[:150]}} if inputs
            else {"response_action": "update", "view": message_modal("Sorry", text)})
        return BoltResponse(status=200, body=answer)
    if body.get("command"):
        return BoltResponse(status=200, body=messages.notice(esc(text)))
    return BoltResponse(status=200, body="")  # buttons and events: their work reports later


def report_failure(error: Exception, kwargs: dict[str, Any]) -> None:
    """The after-ack pool's reporter (bot/runtime/after_ack.py): tell the person, log the rest.

    A PlanError is the person's answer (a refusal, a record gone); anything else is
    ours, logged with its request and answered with a short apology.
    """
    body = kwargs.get("body") or kwargs.get("command") or {}
    context = kwargs.get("context")
    if not isinstance(error, PlanError):
        request = (body.get("command") or (body.get("type") or "request")) if isinstance(body, dict) else "request"
        log.error("after-ack work for %s failed (%s)", request, type(error).__name__, exc_info=error)
    client = kwargs.get("client")
    if client is None or not isinstance(body, dict):
        return
    respond = kwargs.get("respond")
    if "command" in kwargs and respond is not None and respond.response_url:
        body = {k: v for k, v in body.items() if k != "trigger_id"}  # a command answers in place
    show_problem(client, body, failure_text(error), title="Not done" if isinstance(error, PlanError) else "Sorry",
                 context=context, respond=respond)


def open_plan_form(*, body, client: WebClient, context: BoltContext, payload, respond,
                   form: Callable[[str, Any], dict[str, Any]]) -> None:
    """A plan-view button that opens a form adding to the plan (payload value: plan id),
    for those who may change it; `form(metadata, plan)` builds the modal."""
    actor = actor_of(context)
    with unit_of_work(context) as session:
        plan = plans.get_editable_plan(session, actor, record_id(payload.get("value")))
        meta = encode_metadata(plan=plan.id, **parent_of(body))
        view = form(meta, plan)
    open_or_push(client, context, body, view, respond)


def parent_of(body: dict[str, Any]) -> dict[str, Any]:
    """Metadata a form pushed from a plan view keeps to redraw it afterwards."""
    view = body.get("view") or {}
    if view.get("type") != "modal":
        return {}
    meta = metadata(view)
    parent = {"parent": view.get("id"), "page": meta.get("page", 0), "mode": meta.get("mode", "plan")}
    if meta.get("audience") == Audience.EXTERNAL:
        parent["audience"] = Audience.EXTERNAL.value
    return parent


# Slack honours a trigger_id 3 s; we start by MODAL_BUDGET_SECONDS and may wait this much more.
TRIGGER_MARGIN_SECONDS = 0.5
TOO_LATE = ("Sorry, Slack gives us 3 seconds to open that and we were busy: "
            "please try again.")


class TooLate(PlanError):
    """The trigger_id expired before the modal was ready; reported like any refusal
    (by response URL or DM: bot/runtime/ui.py report_failure), never silently dropped."""


def open_modal(client: WebClient, context: BoltContext, trigger_id: str, view: dict[str, Any],
               *, push: bool = False, respond: Respond | None = None) -> bool:
    """Open (or push) a modal while the request's trigger_id still works; when it no
    longer can, say so where we can instead of failing.

    The call waits at most until the trigger expires, and is not retried: a views.open
    that hangs would otherwise hold an after-ack worker for the client's 30 s while the
    modal could never open anyway.
    """
    left = MODAL_BUDGET_SECONDS + TRIGGER_MARGIN_SECONDS - (time.monotonic() - received_at(context))
    if too_late_for_modal(context) or left <= 0:
        log.warning("trigger expired before the modal was ready (%s)", view.get("callback_id"))
        raise TooLate(TOO_LATE)
    quick = WebClient(token=client.token, base_url=client.base_url, timeout=max(left, 0.5),
                      retry_handlers=[], logger=client.logger)
    if push:
        quick.views_push(trigger_id=trigger_id, view=view)
    else:
        quick.views_open(trigger_id=trigger_id, view=view)
    return True


def open_or_push(client: WebClient, context: BoltContext, body: dict[str, Any], view: dict[str, Any],
                 respond: Respond | None = None) -> bool:
    """Open a modal, or push it onto the modal the click came from."""
    push = (body.get("view") or {}).get("type") == "modal"
    return open_modal(client, context, body["trigger_id"], view, push=push, respond=respond)


def clicked_message(body: dict[str, Any]) -> tuple[str | None, str | None]:
    """(channel, ts) of the message whose button was pressed (None, None: a view's)."""
    container = body.get("container") or {}
    channel = container.get("channel_id") or (body.get("channel") or {}).get("id")
    ts = container.get("message_ts") or (body.get("message") or {}).get("ts")
    return channel, ts


def redraw_message(client: WebClient, channel: str | None, ts: str | None, message: dict[str, Any]) -> None:
    """Replace a message the app posted (a DM, a customer channel's reminder). One that
    can no longer be changed is logged: the change itself is saved and told elsewhere."""
    if not (channel and ts):
        return
    try:
        client.chat_update(channel=channel, ts=ts, **message)
    except SlackApiError as error:
        log.info("message %s in %s not redrawn: %s", ts, channel, error.response.get("error"))
