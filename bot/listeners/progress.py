"""Progress check-ins, answered: "Update progress" in a check-in DM opens the form
(current value of a measurable objective, status, note); saving records the progress
(storage.progress.record_progress, which also marks the owner's check-in answered, so
no reminder follows) and redraws the DM with that line answered.

Slack gives a form's submission nothing of the message it was opened from, so the form
carries what the DM listed (its objective ids, whether it was the reminder, where it
is) and the DM is drawn again from the objectives as they are now: every line updated
since the DM went out is marked answered.
"""

from __future__ import annotations

import datetime as dt
import logging
from types import SimpleNamespace
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from blocks import modals
from blocks import progress as progress_blocks
from blocks.forms import form_values, metadata
from blocks.ids import Action, Callback
from bot.runtime import ui
from bot.runtime.after_ack import acked
from bot.runtime.audience import OUTSIDER_REFUSED, looking
from bot.runtime.middleware import actor_of, unit_of_work
from storage import checkins, plans, progress
from storage.errors import NotFound, PermissionDenied, PlanError, ValidationError

log = logging.getLogger(__name__)

LINES_CARRIED = 60  # objective ids a form carries (a DM lists at most 47)
SAVED = "Thanks: the team sees your update in the plan and in the next digest."


def _dm_of(body: dict[str, Any]) -> dict[str, Any]:
    """Where the DM is and what it lists, for the form to carry."""
    container = body.get("container") or {}
    message = body.get("message") or {}
    channel = container.get("channel_id") or (body.get("channel") or {}).get("id")
    ts = container.get("message_ts") or message.get("ts")
    blocks = [b for b in message.get("blocks") or [] if isinstance(b, dict)]
    ids = [str(b.get("block_id") or "").removeprefix(progress_blocks.CHECKIN_LINE) for b in blocks
           if str(b.get("block_id") or "").startswith(progress_blocks.CHECKIN_LINE)]
    ids = [i for i in ids if i.isascii() and i.isdigit()][:LINES_CARRIED]
    if not (isinstance(channel, str) and isinstance(ts, str) and ids):
        return {}
    first = blocks[0].get("text") if blocks else None
    reminder = progress_blocks.REMINDER_LINE in str((first or {}).get("text") or "")
    return {"dm_channel": channel, "dm_ts": ts, "asked": ",".join(ids), "reminder": int(reminder)}


def on_update_progress(*, body, client: WebClient, context: BoltContext, payload, respond) -> None:
    """"Update progress" (value: the objective id): the form, for the objective's owner
    or the plan's team."""
    if looking(client, context, body).outsider:
        raise PermissionDenied(OUTSIDER_REFUSED)
    actor = actor_of(context)
    with unit_of_work(context) as session:
        objective = plans.get_part(session, actor.team_id, "objective",
                                   ui.record_id(payload.get("value"), what="objective"))
        plan = plans.get_plan(session, actor.team_id, objective.plan_id)
        if actor.user_id != progress.owner_of(objective, plan) and not plans.can_edit(plan, actor):
            raise PermissionDenied(f"Only the owner of this objective and the team of “{plan.name}” "
                                   "can update its progress.")
        view = progress_blocks.progress_modal(objective, plan_name=plan.name, extra_metadata=_dm_of(body))
    ui.open_or_push(client, context, body, view, respond)


def on_submitted(ack: Ack, client: WebClient, context: BoltContext, view: dict[str, Any]) -> None:
    """Save before the ack (field errors land on their inputs), then redraw the DM."""
    meta, values = metadata(view), form_values(view)
    try:
        if "objective" not in meta:
            raise NotFound("This form belongs to no objective: please press Update progress again.")
        with unit_of_work(context, before_ack=True) as session:
            try:
                progress.record_progress(session, actor_of(context), meta["objective"], values.get("status"),
                                         values.get("note") or "", values.get("current_value"),
                                         expected_version=meta.get("version"))
            except ValidationError as error:
                raise ValidationError.of(progress_blocks.progress_block_ids(error.errors)) from None
    except PlanError as error:
        ack(response_action="errors", errors=ui.errors_for(view, error))
        return
    if not (meta.get("dm_channel") and meta.get("dm_ts") and meta.get("asked")):
        # Not from a check-in DM (nothing to redraw): the form says it is saved.
        ack(response_action="update", view=modals.message_modal("Progress saved", SAVED))
        return
    ack()  # the DM's line says so instead
    ui.later(context, redraw_checkin, client=client, context=context, meta=meta)


def _sent_at(ts: str) -> dt.datetime | None:
    try:
        return dt.datetime.fromtimestamp(float(ts), dt.timezone.utc)
    except (ValueError, OverflowError, OSError):
        return None


def redraw_checkin(*, client: WebClient, context: BoltContext, meta: dict[str, Any]) -> None:
    """The check-in DM drawn again with its objectives as they are now, each updated
    since the DM went out marked answered (after the ack: a failure loses a redraw)."""
    actor = actor_of(context)
    sent_at = _sent_at(str(meta["dm_ts"]))
    ids = [int(i) for i in str(meta["asked"]).split(",") if i.isascii() and i.isdigit()][:LINES_CARRIED]
    with unit_of_work(context) as session:
        objectives = []
        for objective_id in ids:
            try:
                objectives.append(plans.get_part(session, actor.team_id, "objective", objective_id))
            except NotFound:
                continue  # deleted meanwhile: its line goes
        names = plans.plan_names(session, actor.team_id, {o.plan_id for o in objectives})
        objectives = [o for o in objectives if o.plan_id in names]
        if not objectives:
            return
        qbr_dates = {}
        for plan_id in names:
            day = checkins.next_qbr_date(plans.get_plan(session, actor.team_id, plan_id))
            if day is not None:
                qbr_dates[plan_id] = day
        entries = [(o, SimpleNamespace(id=o.plan_id, name=names[o.plan_id])) for o in objectives]
        message = progress_blocks.checkin_message(entries, reminder=bool(meta.get("reminder")), qbr_dates=qbr_dates)
        answered = {o.id: progress_blocks.checkin_line(o, answered=True) for o in objectives
                    if sent_at is not None and o.progress_updated_at is not None
                    and o.progress_updated_at >= sent_at}
    message["blocks"] = [answered.get(_line_id(b), b) for b in message["blocks"]]
    try:
        client.chat_update(channel=meta["dm_channel"], ts=meta["dm_ts"], **message)
    except SlackApiError as error:
        log.info("check-in DM %s not redrawn: %s", meta["dm_ts"], error.response.get("error"))


def _line_id(block: dict[str, Any]) -> int | None:
    block_id = str(block.get("block_id") or "")
    if not block_id.startswith(progress_blocks.CHECKIN_LINE):
        return None
    rest = block_id.removeprefix(progress_blocks.CHECKIN_LINE)
    return int(rest) if rest.isdigit() else None


def register(app: App) -> None:
    app.action(Action.UPDATE_PROGRESS)(acked(on_update_progress))
    app.view(Callback.PROGRESS_FORM)(on_submitted)
