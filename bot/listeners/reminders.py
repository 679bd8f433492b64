"""Reminder DMs and their buttons: "Mark done", "Snooze 1 day", "Snooze 1 week" ("Open
plan" is the plans surface's button); the weekly summary's on/off on App Home; the
plan form's reminder lead time; and `user_change` (a new time zone moves reminders).

Buttons acknowledge at once and do their work on the after-ack pool (bot/runtime/after_ack.py).
`after_item_change` is what every path that changes an action item calls after its
ack (the item form, "Mark done" here, on App Home and in the plan view): it sends the
DMs the change queued (bot/reminder_jobs.right_after_change) and redraws the
assignee's App Home. What fails there is left to the scheduler, which finds the rows
still due.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient

from blocks import reminders as messages
from blocks.forms import metadata
from blocks.ids import Action
from bot.listeners import home
from bot.runtime import ui
from bot.runtime.after_ack import Answer, acked
from bot.runtime.middleware import actor_of, settings_of, unit_of_work
from bot.scheduler.reminder_jobs import local_zone, right_after_change
from storage import checkins, plans, reminders
from storage.errors import NotFound, PlanError
from storage.models import utcnow
from storage.reminder_calendar import local_day

log = logging.getLogger(__name__)


def after_item_change(client: WebClient, context: BoltContext, item_id: int) -> None:
    """After the ack: the change's DMs now, and the assignee's App Home redrawn."""
    try:
        database = context["database"]
        right_after_change(settings_of(context), database.session_factory, client, item_id)
        with unit_of_work(context) as session:
            assignee = reminders.assignee_of(session, item_id)
        if assignee is not None:
            home.publish_home(client, context, assignee[1])
    except Exception:  # noqa: BLE001 - the scheduler sends whatever is still due
        log.exception("follow-up of a change to action item %s failed", item_id)


def on_done(*, body: dict[str, Any], client: WebClient, context: BoltContext, payload, respond) -> None:
    """"Mark done" in a reminder DM or in the weekly summary. The latest DM about the
    item is redrawn by the change itself (a DM listing several: that line struck, the
    others kept); an older one here, from what was clicked."""
    action = payload
    actor = actor_of(context)
    item_id = ui.record_id(action.get("value"))
    channel, ts = ui.clicked_message(body)
    try:
        with unit_of_work(context) as session:
            plans.set_action_item_done(session, actor, item_id, True)
            facts = reminders.item_facts(session, [item_id])[item_id]
            latest = reminders.latest_dm(session, item_id)
    except NotFound:
        ui.redraw_message(client, channel, ts, messages.closed_message(
            title="This action item", plan_id=None, plan_name=None, state="deleted", actor=None))
        return
    except PlanError as error:
        ui.show_problem(client, body, error)
        return
    after_item_change(client, context, item_id)  # redraws the latest DM about the item
    if (channel, ts) == latest:
        return
    block_id = action.get("block_id", "")
    message = body.get("message") or {}
    if block_id.startswith(messages.SUMMARY_ITEM):
        ui.redraw_message(client, channel, ts, messages.summary_with_item_done(
            message.get("blocks") or [], item_id, title=facts.title, text=message.get("text") or "Your week"))
    elif block_id.startswith(messages.REMINDER_BUTTONS):  # an older reminder DM listing several
        ui.redraw_message(client, channel, ts, messages.reminders_with_item_done(
            message.get("blocks") or [], item_id, title=facts.title, plan_name=facts.plan_name,
            actor=actor.user_id, text=message.get("text") or "Reminder"))
    else:  # an older DM about the item
        ui.redraw_message(client, channel, ts, messages.closed_message(
            title=facts.title, plan_id=facts.plan_id, plan_name=facts.plan_name, state="done",
            actor=actor.user_id))


def on_snooze(days: int):
    def snooze(*, body: dict[str, Any], client: WebClient, context: BoltContext, payload, respond) -> None:
        action = payload
        actor = actor_of(context)
        item_id = ui.record_id(action.get("value"))
        now = utcnow()
        try:
            with unit_of_work(context) as session:
                row = reminders.snooze(session, actor, item_id, days, now=now,
                                       default_tz=settings_of(context).timezone)
                facts = reminders.item_facts(session, [item_id])[item_id]
                tz = local_zone(session, actor.team_id, actor.user_id, settings_of(context).timezone)
                until, assigned_by = row.snoozed_until.astimezone(tz), row.assigned_by
        except PlanError as error:
            ui.show_problem(client, body, error)
            return
        channel, ts = ui.clicked_message(body)
        if action.get("block_id", "").startswith(messages.REMINDER_BUTTONS):  # one line of several
            message = body.get("message") or {}
            ui.redraw_message(client, channel, ts, messages.reminders_with_item(
                message.get("blocks") or [], item_id, text=message.get("text") or "Reminder",
                note=messages.snooze_note(until)))
            return
        ui.redraw_message(client, channel, ts, messages.snoozed_message(
            facts, today=local_day(now, tz), until=until, assigned_by=assigned_by))

    snooze.__name__ = f"snooze_{days}_days"
    return snooze


def on_mute(muted: bool):
    def toggle(*, body, client: WebClient, context: BoltContext, payload, respond) -> None:
        actor = actor_of(context)
        with unit_of_work(context) as session:
            reminders.set_summary_muted(session, actor, muted)
        home.publish_home(client, context, actor.user_id)

    toggle.__name__ = "mute_summary" if muted else "unmute_summary"
    return toggle


def on_lead_chosen(*, body: dict[str, Any], client: WebClient, context: BoltContext, payload,
                   respond) -> None:
    """The plan form's "Reminders" select: saved at once, by the owner only."""
    action = payload
    plan_id = metadata(body.get("view") or {}).get("plan")
    try:
        if not isinstance(plan_id, int):
            raise NotFound("This form belongs to no plan.")
        with unit_of_work(context) as session:
            reminders.set_lead_days(session, actor_of(context), plan_id,
                                    ui.record_id(ui.chosen_value(action), what="choice"))
    except PlanError as error:
        ui.show_problem(client, body, error)


def on_user_change(*, body, client: WebClient, context: BoltContext, payload, respond) -> None:
    """Someone's profile changed: if we remind them, keep their time zone up to date
    (after the ack: a busy database must not hold Slack's event)."""
    user = payload.get("user") or {}
    team_id = context.team_id or context.enterprise_id
    if not (team_id and user.get("id")):
        return
    now = utcnow()
    with unit_of_work(context) as session:
        if reminders.is_reminded(session, team_id, user["id"]) and \
                reminders.set_timezone(session, team_id, user["id"], user.get("tz"), now=now):
            # Their progress check-ins move to 09:00 in the new zone too.
            checkins.owners_zones_changed(session, team_id, [user["id"]], now=now,
                                          default_tz=settings_of(context).timezone)


def register(app: App) -> None:
    app.action(Action.REMINDER_DONE)(acked(on_done, Answer.MESSAGE))
    app.action(Action.SNOOZE_DAY)(acked(on_snooze(1), Answer.MESSAGE))
    app.action(Action.SNOOZE_WEEK)(acked(on_snooze(7), Answer.MESSAGE))
    app.action(Action.MUTE_SUMMARY)(acked(on_mute(True), Answer.MESSAGE))
    app.action(Action.UNMUTE_SUMMARY)(acked(on_mute(False), Answer.MESSAGE))
    app.action(Action.REMINDER_LEAD)(acked(on_lead_chosen))
    app.event("user_change")(acked(on_user_change, Answer.BACKGROUND))
