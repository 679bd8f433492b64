"""The buttons of a customer-owned item's reminder in the plan's customer channel
(bot/scheduler/customer_reminders.py posts it): "Mark done" and "Need more time", and
the "Need more time" modal.

Only the item's own customer person (while the item is shown to customers) and the
plan's owner and team may press them: storage decides (permissions.may_act_on_item,
the rule "Mark done" everywhere uses). Anyone else, another customer or an outsider, is
told so in an ephemeral line that names nothing of the item or the plan, and nothing
changes. Done by the customer: the item's follow-up owner is told by DM (the outbox of
storage.reminders, sent right after), progress counts it, and the channel message says
it is done. More time: a new date within the plan, said on the message and to the
follow-up owner.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from blocks import customer_items as messages
from blocks.forms import encode_metadata, form_values, metadata
from blocks.kit import esc
from blocks.modals import message_modal
from bot.listeners import reminders as reminder_listeners
from bot.runtime import audience, ui
from bot.runtime.after_ack import Answer, acked
from bot.runtime.middleware import actor_of, settings_of, unit_of_work
from bot.scheduler.reminder_jobs import local_zone
from storage import customer_items, plans
from storage.errors import NotFound, PermissionDenied, PlanError, ValidationError
from storage.models import Audience, utcnow
from storage.reminder_calendar import local_day

log = logging.getLogger(__name__)

GONE = "That action item is no longer there."
NOT_CHANGED = "That couldn't be changed just now. Nothing was changed; please try again."


def _tell(respond, text: str) -> None:
    """An ephemeral line to whoever pressed the button, where they pressed it."""
    respond(text=esc(text), response_type="ephemeral", replace_original=False)


def _refusal(refused: PlanError) -> str:
    """Why not, naming nothing of the item or the plan: storage's refusal of the person
    says nothing of them; any other (a conflict, say) may, so it is said plainly."""
    return refused.message if isinstance(refused, PermissionDenied) else NOT_CHANGED


def _for_channel(external: bool, facts, draw) -> dict[str, Any]:
    """What the clicked message may now say: `draw(facts)` for the team's own
    conversation, or for an item (with its objective and strategy) still shown to
    customers; else a line naming nothing. The item may have been unshared or renamed
    since the reminder was posted: its current facts decide."""
    if facts is not None and (not external or facts.shared):
        return draw(facts)
    return messages.channel_closed()


def _today(session, context: BoltContext, actor) -> Any:
    """Today where the person is (what "due in 3 days" is counted from)."""
    return local_day(utcnow(), local_zone(session, actor.team_id, actor.user_id, settings_of(context).timezone))


def _pressed(context: BoltContext, payload, respond, work) -> Any:
    """`work(session, actor, item_id)` for the item whose button was pressed, in one unit
    of work; None once the person has been told why not: the item is gone, or storage
    refused (both buttons say the same, naming nothing of the item to those refused)."""
    actor = actor_of(context)
    try:
        item_id = ui.record_id(payload.get("value"), what="action item")
        with unit_of_work(context) as session:
            return work(session, actor, item_id)
    except NotFound:
        _tell(respond, GONE)
    except PlanError as refused:  # not theirs (says nothing of the item), or a conflict
        _tell(respond, _refusal(refused))
    return None


def on_done(*, body: dict[str, Any], client: WebClient, context: BoltContext, payload, respond) -> None:
    channel, ts = ui.clicked_message(body)

    def mark_done(session, actor, item_id):
        item, changed = plans.mark_action_item(session, actor, item_id, True)
        return item_id, changed, item.done_by or actor.user_id, customer_items.item_or_none(
            session, actor.team_id, item_id)

    marked = _pressed(context, payload, respond, mark_done)
    if marked is None:
        return
    item_id, changed, done_by, facts = marked
    if changed:
        # The follow-up owner's DM and the reminder row's own redraw, now.
        reminder_listeners.after_item_change(client, context, item_id)
    if facts is not None:
        external = audience.looking(client, context, body).external
        ui.redraw_message(client, channel, ts,
                          _for_channel(external, facts, lambda f: messages.channel_done(f, actor=done_by)))


def on_more_time(*, body: dict[str, Any], client: WebClient, context: BoltContext, payload, respond) -> None:
    """Opens "Need more time" for those who may ask it; anyone else is told, ephemerally."""
    channel, ts = ui.clicked_message(body)

    def check(session, actor, item_id):
        customer_items.check_item_actor(session, actor, item_id)
        return item_id, customer_items.item_or_none(session, actor.team_id, item_id)

    checked = _pressed(context, payload, respond, check)
    if checked is None:
        return
    item_id, facts = checked
    if facts is None:
        _tell(respond, GONE)
        return
    if facts.done:
        _tell(respond, "That action item is done already.")
        return
    # The modal stays as external as the conversation it was opened from (audience.looking).
    who = audience.looking(client, context, body)
    view = messages.more_time_modal(facts, metadata=encode_metadata(
        item=item_id, channel=channel, ts=ts, audience=who.audience.value))
    ui.open_modal(client, context, body["trigger_id"], view, respond=respond)


def on_more_time_submitted(ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext,
                           view: dict[str, Any]) -> None:
    """The new date is checked against the plan's dates (an error on the date picker);
    saved, the channel message shows it."""
    meta = metadata(view)
    actor = actor_of(context)
    try:
        with unit_of_work(context, before_ack=True) as session:
            today = _today(session, context, actor)
            item = customer_items.more_time(session, actor, ui.record_id(meta.get("item"), what="action item"),
                                            form_values(view).get("due_date"), today=today)
            facts = customer_items.item_or_none(session, actor.team_id, item.id)
    except ValidationError as error:
        ack(response_action="errors", errors={"due_date": error.message[:150]})
        return
    except PlanError as error:
        ack(response_action="update", view=message_modal("Not changed", error.message))
        return
    ack()
    # The message is in the conversation the modal came from: external unless that was
    # the team's own (a modal that does not say counts as external).
    external = audience.looking(client, context, body).external or meta.get("audience") != Audience.TEAM
    ui.later(context, _after_more_time, answer=Answer.MESSAGE, client=client, context=context,
             item_id=item.id, channel=meta.get("channel"), ts=meta.get("ts"),
             message=_for_channel(external, facts,
                                  lambda f: messages.channel_moved(f, actor=actor.user_id, today=today)),
             follow_up=facts.follow_up_id if facts and facts.follow_up_id != actor.user_id else None,
             notice=messages.more_time_notice(facts, actor=actor.user_id, today=today) if facts else None)


def _after_more_time(client: WebClient, context: BoltContext, item_id: int, channel: str | None,
                     ts: str | None, message: dict[str, Any] | None, follow_up: str | None,
                     notice: dict[str, Any] | None) -> None:
    """The item's reminders move (right_after_change), the channel message shows the new
    date, and the follow-up owner hears of it (a DM; if Slack fails, it is logged: the
    date itself is saved and shown in the plan)."""
    reminder_listeners.after_item_change(client, context, item_id)
    if message is not None:
        ui.redraw_message(client, channel if isinstance(channel, str) else None, ts if isinstance(ts, str) else None,
                message)
    if follow_up and notice is not None:
        try:
            client.chat_postMessage(channel=follow_up, **notice)
        except SlackApiError as error:
            log.info("follow-up owner of item %s not told of more time: %s", item_id, error.response.get("error"))


def register(app: App) -> None:
    app.action(messages.CustomerAction.DONE)(acked(on_done, Answer.MESSAGE))
    app.action(messages.CustomerAction.MORE_TIME)(acked(on_more_time))
    app.view(messages.MORE_TIME_FORM)(on_more_time_submitted)
