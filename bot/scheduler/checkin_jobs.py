"""The scheduler's progress check-in jobs: each objective owner asked, in one DM, how their
objectives are going (before each QBR, and monthly when the plan asks).

Two jobs of every pass:
1. `schedule_checkin_rounds`, before the time zone jobs: storage.checkins.
   schedule_checkins makes the rows of the rounds now open (once a UTC day per plan;
   INSERT … ON CONFLICT DO NOTHING, so passes at once make each row once) and asks for
   the owners' time zones, which the same pass then fetches with everyone else's;
2. `send_checkins`, the DMs: a person's due rows are claimed together
   (storage.claims.claim_due_groups by workspace and owner), so ONE DM lists all their
   objectives of every plan due at once, whatever passes run; storage decides what each
   row needs (prepare_checkins: 09:00 in the owner's zone on a working day, dropped
   rounds, answered check-ins), and the DMs go out at Slack's pace (the shared rate limiter, one person after another)
   with the reminders' outbox rules: `begin_attempt` fences a lease that ran out, and a
   DM whose outcome was lost is looked for before it is posted again (bot/slack/dms.py).
   The one reminder: storage schedules it CHECKIN_REMINDER_WORKING_DAYS working days
   after the DM, listing what is still waiting; an answer (storage.progress.
   record_progress) cancels it, and nothing follows it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from types import SimpleNamespace

from blocks.progress import checkin_message
from bot.scheduler.job_context import JobContext, by_turns
from bot.scheduler.sending import MAX_BATCHES, post_grouped_dm, send_due
from storage import checkins
from storage.checkins import CheckinObjective, DueCheckin
from storage.claims import begin_attempt
from storage.db import transaction
from storage.models import CheckinRequest, utcnow

log = logging.getLogger(__name__)

OWNER = ("team_id", "owner_id")  # a person's rows are claimed, and sent, together


def schedule_checkin_rounds(context: JobContext, now: dt.datetime) -> int:
    """The rows of the rounds now open, for the active plans not looked at today."""
    for _ in range(MAX_BATCHES):
        with transaction(context.session_factory) as session:
            if not checkins.schedule_checkins(session, now, default_tz=context.default_timezone):
                break
    return 0


def send_checkins(context: JobContext, now: dt.datetime) -> int:
    """What is due: one DM per person, listing their objectives of every plan."""
    return send_due(context, CheckinRequest, now, prepare=checkins.prepare_checkins, deliver=_deliver,
                    group_by=OWNER,
                    dms=lambda due: by_turns(checkin_dms(due), key=lambda dm: (dm[0].team_id, dm[0].user_id)))


def checkin_dms(due: Sequence[DueCheckin]) -> list[list[DueCheckin]]:
    """One DM per person: their check-ins of every plan, and apart from them their
    reminders (a reminder says so in its first line)."""
    by_person: dict[tuple[str, str, bool], list[DueCheckin]] = {}
    for checkin in due:
        by_person.setdefault((checkin.team_id, checkin.user_id, checkin.reminder), []).append(checkin)
    return list(by_person.values())


def objective_view(objective: CheckinObjective) -> SimpleNamespace:
    """An objective as blocks/progress.py reads one."""
    return SimpleNamespace(id=objective.objective_id, title=objective.title, measure_unit=objective.measure_unit,
                           target_value=objective.target_value, current_value=objective.current_value,
                           progress_status=objective.status, progress_note=objective.note,
                           progress_updated_at=objective.updated_at, version=objective.version)


def checkin_dm(dm: Sequence[DueCheckin]) -> dict:
    """The DM for one person's check-ins: their objectives grouped by plan."""
    entries = [(objective_view(objective), SimpleNamespace(id=c.plan_id, name=c.plan_name))
               for c in dm for objective in c.objectives]
    qbr_dates = {c.plan_id: c.qbr_date for c in dm if c.qbr_date is not None}
    return checkin_message(entries, reminder=dm[0].reminder, qbr_dates=qbr_dates)


def _deliver(context: JobContext, dm: Sequence[DueCheckin], *, held_until: dt.datetime,
             now: dt.datetime) -> bool:
    """One DM for `dm`'s rows (one person's), each row recorded once with the DM that
    carried it; rows no longer held right before the send are left out of it."""
    first = dm[0]
    with transaction(context.session_factory) as session:
        wall = utcnow()  # compared with Slack's message times if the outcome is lost
        going = [c for c in dm if begin_attempt(session, CheckinRequest, c.row_id, held_until=held_until, now=wall)]
    if not going:
        log.info("check-ins to %s no longer held by this pass; not sent", first.user_id)
        return False
    channel, found, outcome = post_grouped_dm(context, going, checkin_dm, what="check-ins")
    with transaction(context.session_factory) as session:
        for checkin in going:
            if checkin.key in found or outcome.sent:
                where = (channel, found[checkin.key]) if checkin.key in found else (outcome.channel, outcome.ts)
                checkins.record_checkin_sent(session, checkin, held_until=held_until, now=now,
                                             channel=where[0], ts=where[1])
            else:
                checkins.record_checkin_failure(
                    session, checkin.row_id, held_until=held_until, now=now, error=outcome.error,
                    permanent=outcome.permanent, uncertain=outcome.uncertain, retry_after=outcome.retry_after)
    if outcome.error and len(found) < len(going):
        log.warning("check-in DM to %s not sent: %s (%s)", first.user_id, outcome.error,
                    "for good" if outcome.permanent else "will retry")
    return bool(found) or outcome.sent
