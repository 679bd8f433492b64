"""Plans: `/accountplan new|show|edit|copy|swot|list`, the plan view's buttons and
paging, and the plan, copy and delete forms."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient
from sqlalchemy.orm import Session

from blocks import messages, modals
from blocks.forms import encode_metadata, metadata
from blocks.ids import Action, Callback
from blocks.kit import esc
from bot.runtime import ui
from bot.runtime.after_ack import acked
from bot.runtime.audience import NOT_IN_SHARED, OUTSIDER_REFUSED, Looking, looking
from bot.runtime.middleware import actor_of, unit_of_work
from storage import plans
from storage.errors import NotFound, PlanError, ValidationError
from storage.models import AccountPlan, ActionItem, Objective, PlanStatus, Strategy, SwotEntry
from storage.plans import Actor, CopyOptions, PlanInput

LIST_LIMIT = messages.LIST_MAX


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
    view = modals.plan_modal(Callback.PLAN_NEW, metadata=encode_metadata(**ui.audience_metadata(who)))
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
        view = _edit_form(plan, ui.audience_metadata(who))
    ui.open_modal(client, context, command["trigger_id"], view, respond=respond)


def copy_plan(*, respond, client: WebClient, command, context, args) -> None:
    who = looking(client, context, command)
    if refuse_outsider(who, respond):
        return
    with unit_of_work(context) as session:
        plan = resolve_plan(session, who.actor, args, respond, "copy")
        if plan is None:
            return
        view = _copy_form(plan, ui.audience_metadata(who))
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
            total = plans.count_plans(session, actor.team_id, **filters)
        progress = plans.progress_by_plan(session, actor.team_id, [p.id for p in found])
        reply = messages.plan_list(title, found, progress, more=total - len(found))
    respond(reply)


# ---------------------------------------------------------------------------
# Forms


def _edit_form(plan: AccountPlan, parent: dict[str, Any]) -> dict[str, Any]:
    meta = encode_metadata(plan=plan.id, version=plan.version, **parent)
    return modals.plan_modal(Callback.PLAN_EDIT, plan=plan, metadata=meta)


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


def _copy_form(plan: AccountPlan, parent: dict[str, Any]) -> dict[str, Any]:
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
    )


def save_new_plan(session: Session, actor: Actor, values: dict[str, Any], meta: dict[str, Any]) -> int:
    return plans.create_plan(session, actor, _plan_input(values)).id


def save_plan(session: Session, actor: Actor, values: dict[str, Any], meta: dict[str, Any]) -> int:
    plan = plans.update_plan(session, actor, meta.get("plan"), _plan_input(values),
                             expected_version=meta.get("version"))
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
            record = _record(session, actor_of(context), meta["entity"], ui.record_id(meta.get("id")))
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


_MODELS = {"strategy": Strategy, "objective": Objective, "action_item": ActionItem, "swot": SwotEntry}


def _record(session: Session, actor: Actor, entity: str, record_id: int):
    record = session.get(_MODELS[entity], record_id)
    if record is None or record.team_id != actor.team_id:
        raise NotFound(f"That {entity.replace('_', ' ')} is gone already.")
    return record


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
    view = modals.plan_modal(Callback.PLAN_NEW, metadata=encode_metadata(**ui.audience_metadata(who)))
    ui.open_modal(client, context, body["trigger_id"], view)


def on_edit_plan(*, body, client: WebClient, context: BoltContext, payload, respond) -> None:
    with unit_of_work(context) as session:
        plan = plans.get_editable_plan(session, actor_of(context), _plan_id(payload))
        view = _edit_form(plan, ui.parent_of(body))
    ui.open_or_push(client, context, body, view, respond)


def on_copy_plan(*, body, client: WebClient, context: BoltContext, payload, respond) -> None:
    who = looking(client, context, body)
    plans.require_internal(who.actor)
    with unit_of_work(context) as session:
        plan = plans.get_plan(session, who.actor.team_id, _plan_id(payload))
        view = _copy_form(plan, ui.audience_metadata(who))
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
    app.view(Callback.PLAN_NEW)(
        lambda ack, client, context, view: ui.save_form(ack, client, context, view, save_new_plan))
    app.view(Callback.PLAN_EDIT)(
        lambda ack, client, context, view: ui.save_form(ack, client, context, view, save_plan))
    app.view(Callback.COPY_FORM)(
        lambda ack, client, context, view: ui.save_form(ack, client, context, view, save_copy))
    app.view(Callback.DELETE_FORM)(on_delete_submitted)
