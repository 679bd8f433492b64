"""Objective owners and progress: the plan view's lines, the check-in DM, the form."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from types import SimpleNamespace as NS

from blocks.forms import form_values, metadata
from blocks.ids import Action, Callback
from blocks.plan_view import plan_view
from blocks.progress import (
    CHECKIN_LINE,
    REMINDER_LINE,
    checkin_line,
    checkin_message,
    progress_block_ids,
    progress_modal,
)
from storage.domain import PROGRESS_NOTE_MAX, ObjectiveStatus
from tests.blockkit import validate_message, validate_view
from tests.blocks.builders import build_plan, progress_of
from tests.blocks.people import health, plan_ref

TODAY = dt.date(2026, 3, 2)
HOSTILE = "<!channel> & <@U999|boss>"


def objective(oid, title="Formulary approval at the IDNs", *, target=None, current=None, unit="",
              status=None, note="", owner=None, updated=None, version=3):
    return NS(id=oid, version=version, title=title, measure_unit=unit, target_value=target,
              current_value=current, owner_id=owner, progress_status=status, progress_note=note,
              progress_updated_at=updated)


def _objective_text(view, title):
    return next(b["text"]["text"] for b in view["blocks"]
                if b["type"] == "section" and b["text"]["text"].startswith(f"*{title}"))


# ---------------------------------------------------------------------------
# The plan view


def test_objective_lines_show_owner_status_note_and_stale_mark():
    plan = build_plan()
    first, second = plan.strategies[0].objectives
    first.owner_id = "UOBJ"
    first.progress_status = ObjectiveStatus.AT_RISK
    first.progress_note = f"{HOSTILE} waiting on P&T"
    first.progress_updated_at = dt.datetime(2026, 2, 20, 15, 0, tzinfo=dt.timezone.utc)
    view = plan_view(plan, progress_of(plan), can_edit=True, today=TODAY,
                     health=health(stale=frozenset({second.id})))
    assert validate_view(view) == []
    one = _objective_text(view, "1.1")
    assert "Owner <@UOBJ>" in one and "*At risk*" in one and "(20 Feb 2026)" in one
    assert "&lt;!channel&gt; &amp; &lt;@U999|boss&gt; waiting on P&amp;T" in one
    assert "<!channel>" not in one and "stale" not in one
    two = _objective_text(view, "1.2")
    assert "Owner <@UOWNER>" in two  # no owner: the plan's owner
    assert "no progress update yet" in two and "stale" in two


def test_stale_marks_can_be_given_without_health_and_labels_are_plain():
    plan = build_plan()
    first, second = plan.strategies[0].objectives
    first.progress_status, second.progress_status = ObjectiveStatus.ON_TRACK, ObjectiveStatus.OFF_TRACK
    view = plan_view(plan, progress_of(plan), can_edit=True, today=TODAY,
                     stale_objective_ids={first.id})
    assert "*On track*" in _objective_text(view, "1.1") and "stale" in _objective_text(view, "1.1")
    assert "*Off track*" in _objective_text(view, "1.2") and "stale" not in _objective_text(view, "1.2")


def test_the_customer_view_shows_no_status_notes():
    plan = build_plan()
    plan.strategies[0].objectives[0].progress_status = ObjectiveStatus.AT_RISK
    plan.strategies[0].objectives[0].progress_note = "their CFO blocks it"
    view = plan_view(plan, progress_of(plan), can_edit=False, customer=True, today=TODAY)
    text = json.dumps(view["blocks"])
    assert "CFO" not in text and "At risk" not in text and "no progress update" not in text
    assert "Owner <@" not in text


# ---------------------------------------------------------------------------
# The check-in DM


def _entries():
    newton, general = plan_ref(1, "Newton Memorial"), plan_ref(2, "General Hospital")
    return [
        (objective(11, target=Decimal("5"), current=Decimal("3"), unit="IDNs",
                   status=ObjectiveStatus.ON_TRACK, note="two to go",
                   updated=dt.datetime(2026, 2, 1, tzinfo=dt.timezone.utc)), newton),
        (objective(21, "Training for nurses"), general),
        (objective(12, "Outcomes study"), newton),
    ]


def _buttons(payload):
    return [b["accessory"] for b in payload["blocks"] if b.get("accessory", {}).get("type") == "button"]


def test_one_dm_lists_every_objective_by_plan_each_with_update_progress():
    payload = checkin_message(_entries(), qbr_dates={1: dt.date(2026, 3, 10)})
    assert validate_message(payload) == []
    assert payload["text"] == "Time for a progress update on 3 objectives"
    buttons = _buttons(payload)
    assert [b["text"]["text"] for b in buttons] == ["Update progress"] * 3
    assert [b["action_id"] for b in buttons] == [Action.UPDATE_PROGRESS] * 3
    assert [b["value"] for b in buttons] == ["11", "12", "21"]  # grouped by plan, in order
    text = json.dumps(payload["blocks"])
    assert text.index("Newton Memorial") < text.index("Outcomes study") < text.index("General Hospital")
    assert "QBR on 10 Mar 2026" in text
    assert "3 of 5 IDNs (60%)" in text and "*On track*: two to go (1 Feb 2026)" in text
    assert "no progress update yet" in text
    assert REMINDER_LINE not in text
    ids = [b.get("block_id") for b in payload["blocks"] if b.get("accessory")]
    assert ids == [f"{CHECKIN_LINE}11", f"{CHECKIN_LINE}12", f"{CHECKIN_LINE}21"]


def test_the_reminder_says_it_is_one():
    payload = checkin_message(_entries(), reminder=True)
    assert validate_message(payload) == []
    assert payload["blocks"][0]["text"]["text"].startswith(REMINDER_LINE)
    assert payload["text"].startswith("Reminder:")
    assert len(_buttons(payload)) == 3


def test_an_owner_of_many_objectives_gets_one_message_inside_the_limits():
    plans = [plan_ref(n, f"Plan {n}") for n in range(10)]
    entries = [(objective(100 + n, f"Objective {n} " + "x" * 300), plans[n % 10]) for n in range(80)]
    payload = checkin_message(entries)
    assert validate_message(payload) == []
    assert len(payload["blocks"]) <= 50
    shown = len(_buttons(payload))
    assert 30 <= shown < 80
    assert f"…and {80 - shown} more" in json.dumps(payload["blocks"], ensure_ascii=False)


def test_hostile_titles_and_plan_names_ping_nobody():
    payload = checkin_message([(objective(1, HOSTILE, unit=HOSTILE, target=1), plan_ref(1, HOSTILE))])
    assert validate_message(payload) == []
    text = json.dumps([b.get("text") or b.get("elements") for b in payload["blocks"]])
    assert "<!channel>" not in text and "<@U999" not in text
    assert "&lt;!channel&gt; &amp;" in text


def test_an_answered_line_says_thanks():
    line = checkin_line(objective(5, status=ObjectiveStatus.AT_RISK, note="late"), answered=True)
    assert "Thanks, updated." in line["text"]["text"] and "*At risk*: late" in line["text"]["text"]
    assert line["block_id"] == f"{CHECKIN_LINE}5"


# ---------------------------------------------------------------------------
# The "Update progress" form


def _labels(view):
    return [b["label"]["text"] for b in view["blocks"] if b["type"] == "input"]


def _input(view, label):
    return next(b for b in view["blocks"] if b["type"] == "input" and b["label"]["text"] == label)


def test_measurable_objectives_ask_for_the_current_value_with_target_and_unit():
    o = objective(11, target=Decimal("5.0000"), current=Decimal("3.0000"), unit="IDNs",
                  status=ObjectiveStatus.AT_RISK, note="waiting", version=7)
    view = progress_modal(o, plan_name="Newton Memorial", extra_metadata={"plan": 1})
    assert validate_view(view) == []
    assert view["title"]["text"] == "Update progress" and view["callback_id"] == Callback.PROGRESS_FORM
    assert _labels(view) == ["Current value", "Status", "Note"]
    assert _input(view, "Current value")["element"]["initial_value"] == "3"
    assert _input(view, "Current value")["hint"]["text"] == "Target: 5 IDNs."
    status = _input(view, "Status")["element"]
    assert status["type"] == "radio_buttons"
    assert [o["text"]["text"] for o in status["options"]] == ["On track", "At risk", "Off track"]
    assert status["initial_option"]["value"] == "at_risk"
    assert not _input(view, "Status").get("optional")
    note = _input(view, "Note")["element"]
    assert note["max_length"] == PROGRESS_NOTE_MAX and note["initial_value"] == "waiting"
    assert metadata(view) == {"objective": 11, "version": 7, "plan": 1}
    assert [b["block_id"] for b in view["blocks"] if b["type"] == "input"] == ["current_value", "status", "note"]


def test_qualitative_objectives_ask_for_status_and_note_only():
    view = progress_modal(objective(12, HOSTILE), plan_name=HOSTILE)
    assert validate_view(view) == []
    assert _labels(view) == ["Status", "Note"]
    assert "initial_option" not in _input(view, "Status")["element"]
    assert "<!channel>" not in json.dumps(view["blocks"][0])


def test_a_submitted_form_and_its_errors():
    view = progress_modal(objective(11, target=5), plan_name="Newton")
    view["state"] = {"values": {
        "current_value": {"value": {"type": "number_input", "value": "4"}},
        "status": {"value": {"type": "radio_buttons", "selected_option": {"value": "off_track"}}},
        "note": {"value": {"type": "plain_text_input", "value": "budget freeze"}},
    }}
    assert form_values(view) == {"current_value": "4", "status": "off_track", "note": "budget freeze"}
    assert progress_block_ids({"progress_status": "required", "note": "too long", "version": "x"}) == {
        "status": "required", "note": "too long", "version": "x"}


def test_the_objective_form_can_ask_for_its_owner():
    from blocks import modals

    plan = build_plan()
    o = plan.strategies[0].objectives[0]
    o.owner_id = "UANA"
    view = modals.objective_modal("cb", objective=o, ask_owner=True)
    assert validate_view(view) == []
    owner = _input(view, "Owner")
    assert owner["block_id"] == "owner" and owner["optional"] is True
    assert owner["element"]["initial_user"] == "UANA"
    assert "plan's owner" in owner["hint"]["text"]
    assert "initial_user" not in _input(modals.objective_modal("cb", ask_owner=True), "Owner")["element"]
    assert "Owner" not in _labels(modals.objective_modal("cb", objective=o))
