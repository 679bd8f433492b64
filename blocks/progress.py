"""Objective progress: its line in the plan view, the check-in DM, the "Update progress" form.

Each objective has an owner (None: the plan's owner) who is asked before each QBR (and
monthly if the plan asks) how it is going: On track / At risk / Off track, a one-line
note and, for a measurable objective, its current value. Objectives are duck-typed:
id, version, title, measure_unit, target_value, current_value, owner_id,
progress_status, progress_note, progress_updated_at.

The check-in DM is one per owner, listing all their objectives across plans, each line
a section (block id CHECKIN_LINE + objective id) with an "Update progress" button whose
value is the objective id, so the listener can redraw the one line answered.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from slack_sdk.models.blocks import RadioButtonsElement

from blocks.forms import block_errors, encode_metadata
from blocks.ids import Action, Callback
from blocks.inputs import _input, modal, number_input, text_input
from blocks.kit import button, context, day, esc, option, section, user
from blocks.text import escape_mrkdwn
from blocks.written_plan import format_number, measure_text
from storage.domain import (
    CHECKIN_REMINDER_WORKING_DAYS,
    OBJECTIVE_STALE_DAYS,
    OBJECTIVE_STATUS_LABELS,
    PROGRESS_NOTE_MAX,
    ObjectiveStatus,
)

MESSAGE_BLOCKS_MAX = 50
CHECKIN_LINE = "checkin_line_"
TITLE_MAX = 300  # an objective title inside a sentence
NAME_MAX = 150
STALE_MARK = f"stale: no progress update in {OBJECTIVE_STALE_DAYS} days"
REMINDER_LINE = "_A reminder: these objectives still wait for your update._"
STATUSES = [(OBJECTIVE_STATUS_LABELS[status], status.value) for status in ObjectiveStatus]
STATUS_MARKS = {ObjectiveStatus.ON_TRACK.value: ":large_green_circle:",
                ObjectiveStatus.AT_RISK.value: ":large_yellow_circle:",
                ObjectiveStatus.OFF_TRACK.value: ":red_circle:"}

# Storage's field name → the "Update progress" form's block id.
PROGRESS_FIELDS: dict[str, str] = {
    "status": "status", "progress_status": "status",
    "note": "note", "progress_note": "note",
    "current_value": "current_value",
}


def _status_value(objective) -> str | None:
    status = getattr(objective, "progress_status", None)
    return None if status is None else str(getattr(status, "value", status))


def status_text(objective) -> str:
    """"At risk: waiting on the P&T committee (3 Mar 2026)", or "no progress update yet"
    (mrkdwn, the note escaped)."""
    status = _status_value(objective)
    if status is None:
        return "no progress update yet"
    label = next((text for key, text in OBJECTIVE_STATUS_LABELS.items() if key.value == status), status)
    text = f"{STATUS_MARKS.get(status, '')} *{label}*".strip()
    note = " ".join((getattr(objective, "progress_note", "") or "").split())
    if note:
        text += f": {esc(note, PROGRESS_NOTE_MAX)}"
    updated = getattr(objective, "progress_updated_at", None)
    if updated is not None:
        text += f" ({day(updated.date() if isinstance(updated, dt.datetime) else updated)})"
    return text


def objective_status_line(objective, *, plan_owner_id: str | None, stale: bool = False) -> str:
    """The plan view's line under an objective: owner, status, note, and the stale mark."""
    owner = getattr(objective, "owner_id", None) or plan_owner_id
    line = f"Owner {user(owner)} · {status_text(objective)}"
    if stale:
        line += f" · ⚠ _{STALE_MARK}_"
    return line


# ---------------------------------------------------------------------------
# The check-in DM


def checkin_line(objective, *, answered: bool = False) -> dict[str, Any]:
    """One objective of the DM: title, measure, last update, "Update progress"."""
    text = f"*{esc(objective.title, TITLE_MAX)}*"
    measure = measure_text(objective)
    if measure:
        text += f" · {escape_mrkdwn(measure)}"
    text += f"\nLast update: {status_text(objective)}"
    if answered:
        text += "\n:white_check_mark: Thanks, updated."
    return section(text, block_id=f"{CHECKIN_LINE}{objective.id}",
                   accessory=button("Update progress", Action.UPDATE_PROGRESS, str(objective.id),
                                    style=None if answered else "primary"))


def _grouped(entries: Iterable[tuple[Any, Any]]) -> list[tuple[Any, list[Any]]]:
    groups: dict[int, tuple[Any, list[Any]]] = {}
    for objective, plan in entries:
        groups.setdefault(plan.id, (plan, []))[1].append(objective)
    return list(groups.values())


def checkin_message(
    entries: Sequence[tuple[Any, Any]],
    *,
    reminder: bool = False,
    qbr_dates: Mapping[int, dt.date] | None = None,
) -> dict[str, Any]:
    """The progress check-in DM to one owner: (objective, plan) pairs (plan: id, name),
    grouped by plan in the order given. `qbr_dates` ({plan id: next QBR}) says when
    each plan's QBR is. `reminder`: the one reminder, saying so in its first line.

    At most 50 blocks: an owner of more objectives than fit is told how many more
    there are (they are in the plans)."""
    qbr_dates = qbr_dates or {}
    intro = ["*Time for a progress update* :memo:",
             "You own the objectives below. Tell the team how each is going before the next "
             "QBR: *Update progress* takes a few seconds."]
    if reminder:
        intro.insert(0, REMINDER_LINE)
    blocks = [section("\n".join(intro))]
    footer = context("If there is no answer in "
                     f"{CHECKIN_REMINDER_WORKING_DAYS} working days you get one reminder, then no more."
                     if not reminder else "This is the only reminder.")
    room = MESSAGE_BLOCKS_MAX - len(blocks) - 2  # the footer and a "more" line
    shown = 0
    for plan, objectives in _grouped(entries):
        if room < 2:
            break
        heading = f"*{esc(plan.name, NAME_MAX)}*"
        if plan.id in qbr_dates:
            heading += f" · QBR on {day(qbr_dates[plan.id])}"
        blocks.append(context(heading))
        room -= 1
        for objective in objectives[:room]:
            blocks.append(checkin_line(objective))
            shown += 1
        room -= min(len(objectives), room)
    if shown < len(entries):
        blocks.append(context(f"…and {len(entries) - shown} more: open their plans to update them."))
    blocks.append(footer)
    count = len(entries)
    what = f"{count} objective{'s' if count != 1 else ''}"
    fallback = f"Reminder: progress update on {what}" if reminder else f"Time for a progress update on {what}"
    return {"text": fallback, "blocks": blocks}


# ---------------------------------------------------------------------------
# The "Update progress" form


def progress_modal(
    objective,
    *,
    plan_name: str,
    callback_id: str = Callback.PROGRESS_FORM,
    extra_metadata: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """"Current value" (measurable objectives only: target and unit in its hint),
    "Status" (On track / At risk / Off track) and "Note" (one line).

    private_metadata: {"objective": id, "version": its version, **extra_metadata}
    (e.g. plan, parent). Block ids: current_value, status, note (PROGRESS_FIELDS)."""
    o = objective
    blocks: list[dict[str, Any]] = [
        section(f"*{esc(o.title, TITLE_MAX)}*\n_{esc(plan_name, NAME_MAX)}_"),
    ]
    if o.target_value is not None:
        target = " ".join(filter(None, (format_number(o.target_value), o.measure_unit or "")))
        blocks.append(number_input("current_value", "Current value", initial=o.current_value,
                                   hint=f"Target: {target}."))
    options = [option(text, value) for text, value in STATUSES]
    current = _status_value(o)
    radio = RadioButtonsElement(action_id="value", options=options,
                                initial_option=next((x for x in options if x.value == current), None))
    blocks.append(_input("status", "Status", radio))
    blocks.append(text_input("note", "Note", initial=getattr(o, "progress_note", "") or None,
                             max_length=PROGRESS_NOTE_MAX, optional=True,
                             placeholder="Waiting on the P&T committee's March meeting"))
    meta = encode_metadata(objective=o.id, version=o.version, **dict(extra_metadata or {}))
    return modal(callback_id, "Update progress", blocks, private_metadata=meta)


def progress_block_ids(errors: Mapping[str, str]) -> dict[str, str]:
    """A ValidationError's `errors` keyed by the "Update progress" form's block ids."""
    return block_errors(errors, PROGRESS_FIELDS)
