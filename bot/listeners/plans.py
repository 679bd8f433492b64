"""Plans: `/accountplan new|show|edit|copy|swot|list` and the plan view's buttons and
paging. The forms they open are answered in bot/listeners/plan_forms.py."""

from __future__ import annotations

from typing import Any

from slack_bolt import App, BoltContext, Respond
from slack_sdk import WebClient
from sqlalchemy.orm import Session

from blocks import messages
from blocks.forms import encode_metadata, metadata
from blocks.ids import Action
from blocks.kit import esc
from bot.listeners import plan_forms
from bot.runtime import ui
from bot.runtime.after_ack import acked
from bot.runtime.audience import NOT_IN_SHARED, OUTSIDER_REFUSED, Looking, looking
from bot.runtime.middleware import actor_of, unit_of_work
from storage import health as plan_health
from storage import plans
from storage.models import AccountPlan, PlanStatus
from storage.plans import Actor

LIST_LIMIT = messages.LIST_MAX
COUNT_AT_MOST = 1000  # "…and 980+ more": counting further would cost what the workspace grows by


# ---------------------------------------------------------------------------
# Finding the plan someone typed


def as_typed(text: str) -> str:
    """Slack escapes what people type in a command (&amp; &lt; &gt;); names are stored
    as typed, and every answer escapes them again (blocks/kit.py esc)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").strip()


def resolve_plan(session: Session, actor: Actor, text: str, respond: Respond, usage: str) -> AccountPlan | None:
    """The one plan `text` names, or None after telling the person what went wrong."""
    text = as_typed(text)
    if not text:
        respond(messages.notice(f"Which plan? Type `/accountplan {usage} PLAN` with part of its name."))
        return None
    found = plans.find_plans(session, actor.team_id, text)
    if not found:
        respond(messages.notice(f"No plan matches “{esc(text, 200)}”. `/accountplan list` shows them all."))
        return None
    if len(found) > 1:
        respond(messages.plan_choices(text, found))
        return None
    return found[0]


def resolve_editable_plan(session: Session, actor: Actor, text: str, respond: Respond, usage: str,
                          doing: str) -> AccountPlan | None:
    """Like resolve_plan, and the person may change the plan; else say who may `doing`."""
    if actor.external:
        respond(messages.notice(esc(OUTSIDER_REFUSED)))
        return None
    plan = resolve_plan(session, actor, text, respond, usage)
    if plan is not None and not plans.can_edit(plan, actor):
        respond(messages.notice(f"Only the owner and team of *{esc(plan.name)}* can {doing}; "
                                f"`/accountplan show {plan.id}` opens it to read."))
        return None
    return plan


# ---------------------------------------------------------------------------
# Subcommands (the router has acknowledged already)


def refuse_outsider(who: Looking, respond: Respond) -> bool:
    """Tell a person from another organisation that plans are the team's; True if so."""
    if who.outsider:
        respond(messages.notice(esc(OUTSIDER_REFUSED)))
    return who.outsider


def new_plan(*, respond, client: WebClient, command, context, args) -> None:
    who = looking(client, context, command)
    if refuse_outsider(who, respond):
        return
    with unit_of_work(context) as session:
        view = plan_forms.new_form(session, who.actor, encode_metadata(**ui.audience_metadata(who)))
    ui.open_modal(client, context, command["trigger_id"], view, respond=respond)


def show_plan(*, respond, client: WebClient, command, context, args, mode: str = "plan") -> None:
    who = looking(client, context, command)
    if refuse_outsider(who, respond):  # they open what the team shares with them
        return
    with unit_of_work(context) as session:
        plan = resolve_plan(session, who.actor, args, respond, "swot" if mode == "swot" else "show")
        if plan is None:
            return
        view = ui.render_plan(session, who, plan.id, mode=mode)
    ui.open_modal(client, context, command["trigger_id"], view, respond=respond)


def show_swot(**kwargs) -> None:
    show_plan(mode="swot", **kwargs)


def edit_plan(*, respond, client: WebClient, command, context, args) -> None:
    who = looking(client, context, command)
    with unit_of_work(context) as session:
        plan = resolve_editable_plan(session, who.actor, args, respond, "edit", "change it")
        if plan is None:
            return
        view = plan_forms.edit_form(plan, ui.audience_metadata(who))
    ui.open_modal(client, context, command["trigger_id"], view, respond=respond)


def copy_plan(*, respond, client: WebClient, command, context, args) -> None:
    who = looking(client, context, command)
    if refuse_outsider(who, respond):
        return
    with unit_of_work(context) as session:
        plan = resolve_plan(session, who.actor, args, respond, "copy")
        if plan is None:
            return
        view = plan_forms.copy_form(plan, ui.audience_metadata(who))
    ui.open_modal(client, context, command["trigger_id"], view, respond=respond)


def list_plans(*, respond, client: WebClient, command, context, args) -> None:
    who = looking(client, context, command)
    if refuse_outsider(who, respond):
        return
    if who.external:  # plan names of other accounts: never in a shared conversation
        respond(messages.notice(esc(NOT_IN_SHARED)))
        return
    actor = who.actor
    word = as_typed(args)
    filters: dict[str, Any] = {}
    if word.lower() == "mine":
        filters, title = {"user_id": actor.user_id}, "Your plans"
    elif word.lower() in {s.value for s in PlanStatus}:
        filters, title = {"status": PlanStatus(word.lower())}, f"{word.capitalize()} plans"
    elif word:
        filters, title = {"account": word}, f"Plans for accounts matching “{word}”"
    else:
        title = "All plans in this workspace"
    with unit_of_work(context) as session:
        found = plans.list_plans(session, actor.team_id, limit=LIST_LIMIT, **filters)
        total = len(found)
        if total == LIST_LIMIT:
            total = plans.count_plans(session, actor.team_id, at_most=COUNT_AT_MOST, **filters)
        progress = plans.progress_by_plan(session, actor.team_id, [p.id for p in found])
        health = plan_health.health_by_plan(session, actor.team_id, [p.id for p in found], ui.utc_today())
        reply = messages.plan_list(title, found, progress, more=total - len(found),
                                   more_at_least=total >= COUNT_AT_MOST, health=health)
    respond(reply)


# ---------------------------------------------------------------------------
# Buttons


def _plan_id(action: dict[str, Any]) -> int:
    return ui.record_id(str(action.get("value") or "").split(":")[0])


def _plan_page(action: dict[str, Any]) -> tuple[int, int]:
    """(plan id, page) from a pager button's "42:3"."""
    plan_id, _, page = str(action.get("value") or "").partition(":")
    return ui.record_id(plan_id), ui.record_id(page or "0", what="page")


def on_open_plan(*, body, client: WebClient, context: BoltContext, payload, respond) -> None:
    who = looking(client, context, body)
    with unit_of_work(context) as session:
        view = ui.render_plan(session, who, _plan_id(payload))
    ui.open_or_push(client, context, body, view, respond)


def on_new_plan(*, body, client: WebClient, context: BoltContext, payload, respond) -> None:
    who = looking(client, context, body)
    plans.require_internal(who.actor)
    with unit_of_work(context) as session:
        view = plan_forms.new_form(session, who.actor, encode_metadata(**ui.audience_metadata(who)))
    ui.open_modal(client, context, body["trigger_id"], view)


def on_edit_plan(*, body, client: WebClient, context: BoltContext, payload, respond) -> None:
    with unit_of_work(context) as session:
        plan = plans.get_editable_plan(session, actor_of(context), _plan_id(payload))
        view = plan_forms.edit_form(plan, ui.parent_of(body))
    ui.open_or_push(client, context, body, view, respond)


def on_copy_plan(*, body, client: WebClient, context: BoltContext, payload, respond) -> None:
    who = looking(client, context, body)
    plans.require_internal(who.actor)
    with unit_of_work(context) as session:
        plan = plans.get_plan(session, who.actor.team_id, _plan_id(payload))
        view = plan_forms.copy_form(plan, ui.audience_metadata(who))
    ui.open_or_push(client, context, body, view, respond)


def on_page(*, body, client: WebClient, context: BoltContext, payload, respond) -> None:
    plan_id, page = _plan_page(payload)
    meta = metadata(body["view"])
    ui.refresh_plan_view(client, context, body["view"]["id"], plan_id, who=looking(client, context, body),
                         page=page, mode=meta.get("mode", "plan"), view_hash=body["view"].get("hash"))


def on_show_swot(*, body, client: WebClient, context: BoltContext, payload, respond) -> None:
    ui.refresh_plan_view(client, context, body["view"]["id"], _plan_id(payload),
                         who=looking(client, context, body), mode="swot")


def on_back_to_plan(*, body, client: WebClient, context: BoltContext, payload, respond) -> None:
    ui.refresh_plan_view(client, context, body["view"]["id"], _plan_id(payload),
                         who=looking(client, context, body))


# This surface's words of /accountplan (the router joins every surface's table).
SUBCOMMANDS = {
    "new": new_plan,
    "show": show_plan,
    "edit": edit_plan,
    "copy": copy_plan,
    "swot": show_swot,
    "list": list_plans,
}


def register(app: App) -> None:
    app.action(Action.OPEN_PLAN)(acked(on_open_plan))
    app.action(Action.NEW_PLAN)(acked(on_new_plan))
    app.action(Action.EDIT_PLAN)(acked(on_edit_plan))
    app.action(Action.COPY_PLAN)(acked(on_copy_plan))
    app.action(Action.PREVIOUS_PAGE)(acked(on_page))
    app.action(Action.NEXT_PAGE)(acked(on_page))
    app.action(Action.SHOW_SWOT)(acked(on_show_swot))
    app.action(Action.BACK_TO_PLAN)(acked(on_back_to_plan))
