"""The customer agrees to the plan: "Ask customer to confirm" (its form and the request
posted in the customer channel), "Agree", and "Comment" (its form, and the comment in
a conversation with the plan's team).

- Only the plan's owner and team ask (storage refuses anyone else). The form offers the
  plan's customer channel first; the request goes only to a channel shared with
  another organisation (or one Slack cannot tell us about, which counts as shared), and
  shows what an external audience sees (storage loads only the shared parts).
- "Agree" is for a person from the customer: bot/runtime/audience.py decides (the one
  decision point); anyone else is told so in an ephemeral line and nothing changes. We
  record their name (users.info) and organisation (team.info of their own team; its id
  when Slack will not say), and storage when.
- "Comment" opens a form; the first comment on a request opens a conversation with the
  plan's owner and team (a group DM of at most 8 people, else the owner alone) and
  says it there; later comments reply in its thread. A comment never changes the plan.

Slack is called after the ack; every outcome is said where the person acted.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from blocks import agreements as blocks
from blocks import confirm_request, messages, modals
from blocks.forms import encode_metadata, form_values, metadata
from blocks.kit import esc
from bot.listeners.digests import channel_ref, update_view
from bot.runtime import ui
from bot.runtime.after_ack import Answer, acked
from bot.runtime.audience import looking
from bot.runtime.middleware import actor_of, unit_of_work
from bot.slack.channels import check_channel, post_all_or_nothing, refusal
from bot.slack.errors import error_code, explain
from storage import agreements, plans
from storage.errors import NotFound, PlanError, ValidationError
from storage.models import Audience

log = logging.getLogger(__name__)

SLACK_ERRORS = (SlackApiError, SlackClientError, OSError)
GROUP_DM_MAX = 8  # people conversations.open takes for one group DM
NOT_SHARED = ("{channel} isn't shared with another organisation, so the customer can't see it. "
              "Choose the channel you share with the customer.")


def _request_id(payload: dict[str, Any]) -> int:
    return ui.record_id(payload.get("value"), what="request to confirm the plan")


# ---------------------------------------------------------------------------
# "Ask customer to confirm"


def on_ask(*, body, client: WebClient, context: BoltContext, payload, respond) -> None:
    actor = actor_of(context)
    with unit_of_work(context) as session:
        plan = plans.get_editable_plan(session, actor, ui.record_id(payload.get("value")))
        view = blocks.confirm_form(plan.name, agreements.shared_objectives(session, actor.team_id, plan.id),
                                   channel_id=plan.customer_channel_id,
                                   metadata=encode_metadata(plan=plan.id))
    ui.open_or_push(client, context, body, view, respond)


def _scope(value: str | None) -> int | None:
    """None for the whole plan, else the objective id the form offered."""
    if not value or value == blocks.WHOLE_PLAN:
        return None
    return ui.record_id(value, what="objective")


def on_confirm_submitted(ack: Ack, client: WebClient, context: BoltContext, view: dict[str, Any]) -> None:
    values = form_values(view)
    plan_id = metadata(view).get("plan")
    try:
        objective_id = _scope(values.get("scope"))
        with unit_of_work(context, before_ack=True) as session:
            agreements.check_request(session, actor_of(context), plan_id, channel_id=values.get("channel"),
                                     objective_id=objective_id)
    except PlanError as error:
        ack(response_action="errors", errors=ui.errors_for(view, error))
        return
    ack(response_action="update", view=modals.result_modal("Ask to confirm", "Posting…"))
    ui.later(context, _post_request, answer=Answer.MESSAGE, client=client, context=context, view=view,
             plan_id=plan_id, channel_id=values["channel"], objective_id=objective_id)


def _post_request(*, client: WebClient, context: BoltContext, view: dict[str, Any], plan_id: int,
                  channel_id: str, objective_id: int | None) -> None:
    """After the ack: check the channel, record the request, post it, say how it went."""
    actor = actor_of(context)
    check = check_channel(client, channel_id)
    problem = refusal(check)
    if not problem and not check.external:
        update_view(client, view["id"], modals.result_modal(
            "Not posted", NOT_SHARED.format(channel=channel_ref(channel_id))))
        return
    if problem:
        update_view(client, view["id"], modals.result_modal(
            "Not posted", f"Could not post to {channel_ref(channel_id)}: {explain(problem)}"))
        return
    try:
        with unit_of_work(context) as session:
            request = agreements.request_confirmation(session, actor, plan_id, channel_id=channel_id,
                                                      objective_id=objective_id)
            request_id = request.id
            # The customer's view: only what is shared with them leaves the database.
            plan = plans.load_plan_tree(session, actor.team_id, plan_id, audience=Audience.EXTERNAL)
            progress = plans.plan_progress(session, actor.team_id, plan_id, audience=Audience.EXTERNAL)
            try:
                posts = confirm_request.confirm_messages(plan, progress, request_id=request_id,
                                                         objective_id=objective_id, today=ui.utc_today())
            except confirm_request.TooLong as too_long:  # nothing recorded: the request is rolled back
                raise PlanError(str(too_long)) from None
            name = plan.name
    except PlanError as error:  # the plan changed since the form was checked, or is too long
        update_view(client, view["id"], modals.result_modal("Not posted", esc(error.message)))
        return
    # All of it or none: the request records the whole of what it shows as shown.
    channel, ts, error = post_all_or_nothing(client, channel_id, posts)
    with unit_of_work(context) as session:
        if error:
            agreements.forget_request(session, actor.team_id, request_id)
        else:
            agreements.record_posted(session, actor.team_id, request_id, channel_id=channel, message_ts=ts,
                                     actor=actor)
    if error:
        update_view(client, view["id"], modals.result_modal(
            "Not posted", f"Could not post to {channel_ref(channel_id)}: {explain(error)}"))
        return
    update_view(client, view["id"], modals.result_modal("Asked to confirm", (
        f"Asked the customer to confirm *{esc(name, 200)}* in {channel_ref(channel)}. When someone from "
        "the customer presses *Agree*, the plan shows who and when; comments come to you and the team.")))


# ---------------------------------------------------------------------------
# "Agree"


def _person(client: WebClient, user_id: str, own_team: str | None) -> tuple[str, str]:
    """(name, organisation) as Slack says them; the ids when it will not."""
    name, organisation = user_id, own_team or ""
    try:
        found = client.users_info(user=user_id).get("user") or {}
        profile = found.get("profile") or {}
        name = profile.get("real_name") or found.get("real_name") or profile.get("display_name") or name
        own_team = own_team or found.get("team_id")
        organisation = own_team or organisation
    except SLACK_ERRORS as error:
        log.info("users.info %s failed (%s): keeping the id", user_id, error_code(error))
    if own_team:
        try:
            organisation = (client.team_info(team=own_team).get("team") or {}).get("name") or own_team
        except SLACK_ERRORS as error:
            log.info("team.info %s failed (%s): keeping the id", own_team, error_code(error))
    return name, organisation


def _ephemeral(respond, text: str) -> None:
    respond(response_type="ephemeral", replace_original=False, **messages.notice(esc(text)))


def on_agree(*, body, client: WebClient, context: BoltContext, payload, respond) -> None:
    who = looking(client, context, body)
    if not who.outsider:
        _ephemeral(respond, agreements.ONLY_CUSTOMER)
        return
    request_id = _request_id(payload)
    own_team = (body.get("user") or {}).get("team_id")
    name, organisation = _person(client, who.actor.user_id, own_team)
    try:
        with unit_of_work(context) as session:
            request = agreements.record_agreement(session, who.actor, request_id, channel_id=who.channel_id,
                                                  name=name, organisation=organisation)
            # The message shows what was agreed to: its line needs no objective's name.
            state = agreements.AgreementState(
                request_id=request.id, objective_id=None, objective_title="",
                name=request.agreed_name, organisation=request.agreed_organisation,
                agreed_at=request.agreed_at, changed_at=None)
    except PlanError as error:
        _ephemeral(respond, error.message)
        return
    original = (body.get("message") or {}).get("blocks") or []
    respond(replace_original=True, text=(body.get("message") or {}).get("text") or "Agreed",
            blocks=confirm_request.agreed_blocks(original, state, request_id=request_id))


# ---------------------------------------------------------------------------
# "Comment"


def on_comment(*, body, client: WebClient, context: BoltContext, payload, respond) -> None:
    who = looking(client, context, body)
    request_id = _request_id(payload)
    with unit_of_work(context) as session:
        request = agreements.get_request(session, who.actor.team_id, request_id)
        if who.channel_id != request.channel_id:  # only on the request's own message
            raise NotFound("That request to confirm the plan is no longer there.")
        plan = plans.get_plan(session, who.actor.team_id, request.plan_id)
        view = blocks.comment_form(plan.name, metadata=encode_metadata(id=request.id, **ui.audience_metadata(who)))
    ui.open_or_push(client, context, body, view, respond)


def on_comment_submitted(ack: Ack, body, client: WebClient, context: BoltContext, view: dict[str, Any]) -> None:
    text = (form_values(view).get("comment") or "").strip()
    if not text:
        ack(response_action="errors", errors=ui.errors_for(view, ValidationError("comment", "Write a comment.")))
        return
    # "Sent" only once Slack took it: until then the modal says it is on its way.
    ack(response_action="update", view=modals.result_modal("Comment", "Sending your comment…"))
    ui.later(context, _send_comment, answer=Answer.MESSAGE, client=client, context=context,
             view_id=view["id"], metadata=view.get("private_metadata") or "",
             request_id=metadata(view).get("id"), text=text, own_team=(body.get("user") or {}).get("team_id"))


def _team_conversation(client: WebClient, owner: str, members: list[str]) -> str:
    """The owner and team together (a group DM of at most 8 people), else the owner."""
    people = list(dict.fromkeys([owner, *members]))
    if 1 < len(people) <= GROUP_DM_MAX:
        try:
            return client.conversations_open(users=",".join(people))["channel"]["id"]
        except SLACK_ERRORS as error:
            log.info("group DM with the team not opened (%s): writing to the owner", error_code(error))
    return client.conversations_open(users=owner)["channel"]["id"]


SENT = "Sent to the account team. A comment doesn't change the plan: the team will."
NOT_SENT = "Not sent: your comment did not reach the account team. {why} Press *Send* to try again."


def _send_comment(*, client: WebClient, context: BoltContext, view_id: str, metadata: str, request_id: int,
                  text: str, own_team: str | None) -> None:
    """Deliver the comment, then tell the customer in the modal what happened. One that
    did not go out comes back in its form, as typed, to be sent again."""

    def not_sent(why: str) -> None:
        update_view(client, view_id, blocks.comment_form("", metadata=metadata, initial=text,
                                                         problem=NOT_SENT.format(why=why)))
    try:
        _deliver_comment(client=client, context=context, request_id=request_id, text=text, own_team=own_team)
    except SLACK_ERRORS as error:
        log.warning("comment on request %s not delivered: %s", request_id, error_code(error))
        not_sent(explain(error_code(error)))
        return
    except PlanError as error:
        not_sent(esc(error.message))
        return
    except Exception:
        not_sent("Something went wrong on our side.")
        raise
    update_view(client, view_id, modals.result_modal("Comment", SENT))


def _deliver_comment(*, client: WebClient, context: BoltContext, request_id: int, text: str,
                     own_team: str | None) -> None:
    """Post the comment to the team; Slack's errors are raised."""
    actor = actor_of(context)
    name, organisation = _person(client, actor.user_id, own_team)
    with unit_of_work(context) as session:
        request = agreements.get_request(session, actor.team_id, request_id)
        plan = plans.get_plan(session, actor.team_id, request.plan_id)
        owner, members, plan_name = plan.owner_id, list(plan.member_ids), plan.name
        thread = (request.thread_channel_id, request.thread_ts) if request.thread_ts else None
        where = (request.channel_id, request.message_ts)
    if thread is not None:
        client.chat_postMessage(channel=thread[0], thread_ts=thread[1], **blocks.comment_message(
            plan_name=plan_name, name=name, organisation=organisation, text=text, first=False))
        return
    link = None
    if where[1]:
        try:
            link = client.chat_getPermalink(channel=where[0], message_ts=where[1]).get("permalink")
        except SLACK_ERRORS:
            link = None
    channel = _team_conversation(client, owner, members)
    posted = client.chat_postMessage(channel=channel, **blocks.comment_message(
        plan_name=plan_name, name=name, organisation=organisation, text=text, first=True, request_link=link))
    try:
        with unit_of_work(context) as session:
            agreements.record_thread(session, actor.team_id, request_id, channel_id=posted["channel"],
                                     ts=posted["ts"])
    except Exception:  # delivered all the same: the next comment starts a new conversation
        log.exception("comment thread of request %s not recorded", request_id)


def register(app: App) -> None:
    app.action(blocks.ASK_TO_CONFIRM)(acked(on_ask))
    app.action(blocks.AGREE)(acked(on_agree, Answer.MESSAGE))
    app.action(blocks.COMMENT)(acked(on_comment))
    app.view(blocks.CONFIRM_FORM)(on_confirm_submitted)
    app.view(blocks.COMMENT_FORM)(on_comment_submitted)
