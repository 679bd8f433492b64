"""Modals that create and edit plans and their parts.

Labels are plain and human ("Plan name", "Due date"): people and the Slack client
simulator find inputs by them. Block ids are the plan operations' field names, so a
ValidationError(field) lands on its input. Record ids and versions travel in
private_metadata, never in labels.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from slack_sdk.models.blocks import StaticSelectElement

from blocks import customer_items
from blocks.ids import Action
from blocks.inputs import (  # noqa: F401  (the inputs are reached as modals.<name> too)
    channel_input,
    checkboxes_input,
    date_input,
    grouped_select_input,
    modal,
    number_input,
    select_input,
    text_input,
    time_input,
    user_input,
    users_input,
)
from blocks.kit import button, context, esc, option, section
from blocks.plan_templates import start_from_input
from storage.domain import (
    CHECKIN_LEAD_DAY_CHOICES,
    DEFAULT_CHECKIN_LEAD_DAYS,
    FREQUENCY_LABELS,
    LEAD_DAY_CHOICES,
    NAME_MAX,
    PLAN_STATUS_LABELS,
    SUBSCRIPTIONS_MAX,
    SWOT_KIND_LABELS,
    TEXT_MAX,
    TITLE_MAX,
    DigestFrequency,
    PlanStatus,
    SwotKind,
    lead_days_label,
)

# Limits and choices are storage's own (storage/domain.py, the leaf both layers share):
# a form offers exactly what the operations accept.
PLAN_STATUSES = [(PLAN_STATUS_LABELS[status], status.value) for status in PlanStatus]
SWOT_KINDS = [(SWOT_KIND_LABELS[kind], kind.value) for kind in SwotKind]
CARRY_OVER = [
    ("Strategies", "strategies"),
    ("Objectives", "objectives"),
    ("Action items", "action_items"),
    ("SWOT", "swot"),
    ("Team", "team"),
]
TEAM_ONLY = "team_only"
# "Shared with customer" (strategies, objectives, action items): block id and value are
# the operations' field name; the plan form's "New parts shared with customer" likewise.
SHARED = "shared_with_customer"
SHARE_BY_DEFAULT = "share_with_customer_by_default"


def _checked(values: dict[str, Any], block_id: str) -> bool | None:
    """A one-box checkbox input of a submitted form: ticked or not; None when the form
    had no such input (then the operation keeps what is stored, or the plan's default)."""
    if block_id not in values:
        return None
    return block_id in (values.get(block_id) or [])


def shared_value(values: dict[str, Any]) -> bool | None:
    """"Shared with customer" of a submitted strategy, objective or action item form."""
    return _checked(values, SHARED)


def share_by_default_value(values: dict[str, Any]) -> bool | None:
    """"New parts shared with customer" of a submitted plan form."""
    return _checked(values, SHARE_BY_DEFAULT)


def shared_input(record: Any | None, default: bool, hint: str) -> dict[str, Any]:
    """The "Shared with customer" checkbox: as the record has it, or for a new record the
    plan's "New parts shared with customer" (`default`)."""
    shared = bool(getattr(record, SHARED, False)) if record is not None else bool(default)
    return checkboxes_input(SHARED, "Visibility", [("Shared with customer", SHARED)],
                            checked=[SHARED] if shared else [], hint=hint)


# ---------------------------------------------------------------------------
# The modals


def plan_modal(
    callback_id: str,
    *,
    plan: Any | None = None,
    metadata: str = "",
    templates: Sequence[tuple[str, str]] = (),
    checkins: bool = False,
) -> dict[str, Any]:
    """New plan (plan=None) or edit: name, account, dates, status, owner, team, goals.

    `templates` [(key, name)] (a new plan only) adds "Start from" first: Blank, then
    these (blocks.plan_templates: block id "template", `chosen_template` reads it).
    `checkins` adds the progress check-in settings: "Progress check-ins" (block id
    checkin_lead_days) and "Monthly check-ins" (monthly_checkins); `checkin_values`
    reads them."""
    p = plan
    blocks = [
        text_input("name", "Plan name", initial=p and p.name, max_length=NAME_MAX,
                   placeholder="Newton Memorial Hospital 2025 Strategic Plan"),
        text_input("account", "Account", initial=p and p.account.name, max_length=NAME_MAX,
                   placeholder="Newton Memorial Hospital"),
        date_input("start_date", "Start date", initial=p and p.start_date),
        date_input("end_date", "End date", initial=p and p.end_date),
        select_input("status", "Status", PLAN_STATUSES,
                     initial=(p.status.value if p else "draft")),
        users_input("team", "Team members", initial=(p.member_ids if p else ())),
        text_input("vision", "Description", initial=p and p.vision, max_length=TEXT_MAX,
                   multiline=True, optional=True,
                   hint="Your vision for this account: where the partnership is going."),
        text_input("customer_goals", "Customer goals", initial=p and p.customer_goals,
                   max_length=TEXT_MAX, multiline=True, optional=True,
                   hint="What the customer wants to achieve."),
        text_input("our_goals", "Our goals", initial=p and p.our_goals,
                   max_length=TEXT_MAX, multiline=True, optional=True),
    ]
    if p is None and templates:
        blocks.insert(0, start_from_input(templates))
    blocks.append(checkboxes_input(
        SHARE_BY_DEFAULT, "Sharing", [("New parts shared with customer", SHARE_BY_DEFAULT)],
        checked=[SHARE_BY_DEFAULT] if getattr(p, SHARE_BY_DEFAULT, False) else [],
        hint="New strategies, objectives and action items start shared with the customer; "
             "each can be changed in its own form."))
    blocks.append(customer_items.customer_channel_input(getattr(p, "customer_channel_id", None)))
    if checkins:
        blocks += checkin_inputs(p)
    if p is not None:  # a new plan belongs to whoever creates it
        blocks.insert(5, user_input("owner", "Owner", initial=p.owner_id))
        blocks.append(reminder_lead_section(p.reminder_lead_days))
    return modal(callback_id, "Edit plan" if p else "New account plan", blocks,
                 private_metadata=metadata)


CHECKIN_LEADS = [(f"{days} days before the next QBR", str(days)) for days in CHECKIN_LEAD_DAY_CHOICES]
MONTHLY = "monthly"


def checkin_inputs(plan: Any | None) -> list[dict[str, Any]]:
    """When objective owners are asked for progress: before each QBR, and monthly."""
    lead = getattr(plan, "checkin_lead_days", None) or DEFAULT_CHECKIN_LEAD_DAYS
    monthly = bool(getattr(plan, "monthly_checkins", False))
    return [
        select_input("checkin_lead_days", "Progress check-ins", CHECKIN_LEADS, initial=str(lead)),
        checkboxes_input("monthly_checkins", "Monthly check-ins",
                         [("Also on the first working day of each month", MONTHLY)],
                         checked=[MONTHLY] if monthly else [],
                         hint="Each objective's owner gets one message listing their objectives."),
    ]


def checkin_values(values: dict[str, Any]) -> dict[str, Any]:
    """The check-in settings of a submitted plan form: {checkin_lead_days: int | None,
    monthly_checkins: bool}; a lead time no Slack client sends reads as None."""
    lead = values.get("checkin_lead_days")
    return {
        "checkin_lead_days": int(lead) if isinstance(lead, str) and lead.isascii() and lead.isdigit() else None,
        "monthly_checkins": MONTHLY in (values.get("monthly_checkins") or []),
    }


REMINDER_LEADS = [(lead_days_label(days), str(days)) for days in LEAD_DAY_CHOICES]


def reminder_lead_section(days: int | None) -> dict[str, Any]:
    """When assignees are first reminded. Not a form input: choosing saves at once (the
    owner only), so it never makes the rest of the form conflict."""
    options = [option(text, value) for text, value in REMINDER_LEADS]
    chosen = next((o for o in options if o.value == str(days)), None)
    select = StaticSelectElement(action_id=Action.REMINDER_LEAD, options=options, initial_option=chosen)
    return section("*Reminders* to assignees, at 09:00 their time\n"
                   "_First reminder before the due date; the plan's owner can change it._",
                   block_id="reminder_lead_days", accessory=select)


def strategy_modal(callback_id: str, *, strategy: Any | None = None, metadata: str = "",
                   shared_default: bool = False) -> dict[str, Any]:
    """`shared_default`: the plan's "New parts shared with customer" (a new strategy)."""
    s = strategy
    blocks = [
        text_input("title", "Strategy", initial=s and s.title, max_length=TITLE_MAX,
                   placeholder="Improve the account's awareness of our products"),
        text_input("description", "Description", initial=s and s.description,
                   max_length=TEXT_MAX, multiline=True, optional=True),
        shared_input(s, shared_default, "Customers see it in shared channels. Its objectives and "
                                        "action items are shared each on their own."),
    ]
    return modal(callback_id, "Edit strategy" if s else "Add strategy", blocks, private_metadata=metadata)


def objective_modal(
    callback_id: str,
    *,
    objective: Any | None = None,
    strategies: Sequence[tuple[str, str]] = (),
    selected_strategy: str | None = None,
    metadata: str = "",
    ask_owner: bool = False,
    shared_default: bool = False,
) -> dict[str, Any]:
    """`strategies` (label, id) adds a "Strategy" select when the parent is not fixed.
    `ask_owner` adds "Owner" (block id "owner"; storage's set_objective_owner field),
    filled in with the objective's own owner: empty means the plan's owner.
    `shared_default`: the plan's "New parts shared with customer" (a new objective)."""
    o = objective
    blocks = []
    if strategies:
        blocks.append(select_input("strategy", "Strategy", strategies, initial=selected_strategy))
    blocks += [
        text_input("title", "Objective", initial=o and o.title, max_length=TITLE_MAX,
                   placeholder="Formulary approval at the IDNs"),
        text_input("description", "Description", initial=o and o.description,
                   max_length=TEXT_MAX, multiline=True, optional=True),
        text_input("measure_unit", "Measure", initial=o and o.measure_unit, max_length=NAME_MAX,
                   optional=True, placeholder="IDNs",
                   hint="For a measurable objective: what you count. Leave empty for a qualitative one."),
        number_input("target_value", "Target", initial=o and o.target_value),
        number_input("current_value", "Current value", initial=o and o.current_value),
        shared_input(o, shared_default, "Customers see it when its strategy is shared too."),
    ]
    if ask_owner:
        blocks.append(user_input("owner", "Owner", initial=getattr(o, "owner_id", None), optional=True,
                                 hint="Asked for progress before each QBR; left empty, the plan's owner is."))
    return modal(callback_id, "Edit objective" if o else "Add objective", blocks, private_metadata=metadata)


def action_item_modal(
    callback_id: str,
    *,
    item: Any | None = None,
    objectives: Sequence[tuple[str, Sequence[tuple[str, str]]]] = (),
    selected_objective: str | None = None,
    title: str | None = None,
    notes: str | None = None,
    assignee: str | None = None,
    metadata: str = "",
    shared_default: bool = False,
    contacts: Sequence[tuple[str, str]] = (),
) -> dict[str, Any]:
    """`objectives` ((strategy, [(objective, id)])) adds an "Objective" select.
    `shared_default`: the plan's "New parts shared with customer" (a new item).
    `contacts` (label, stakeholder id): the plan's customer contacts without Slack, who
    may own the item instead of a Slack user ("Customer contact"); "Follow-up" names the
    team member who follows a customer's item up (blocks.customer_items)."""
    i = item
    contact = getattr(i, "customer_contact_id", None)
    blocks = []
    if objectives:
        blocks.append(grouped_select_input("objective", "Objective", objectives, initial=selected_objective))
    blocks += [
        text_input("title", "Action item", initial=(i.title if i else title), max_length=TITLE_MAX,
                   placeholder="Share results from the latest studies"),
        # A contact's item is assigned to its follow-up owner: the form shows the contact.
        user_input("assignee", "Assignee", initial=(None if contact else i.assignee_id) if i else assignee,
                   optional=bool(contacts),
                   hint="Someone in your team, or a customer in your shared channel (Slack Connect)."
                        + (" Or pick a customer contact without Slack below." if contacts else "")),
        *customer_items.owner_inputs(contacts, contact=contact, follow_up=getattr(i, "follow_up_id", None)),
        date_input("due_date", "Due date", initial=i and i.due_date, optional=True),
        text_input("notes", "Notes", initial=(i.notes if i else notes), max_length=TEXT_MAX,
                   multiline=True, optional=True),
        shared_input(i, shared_default, "Customers see it when its objective and strategy are shared "
                                        "too. Someone from another organisation is told of an item "
                                        "assigned to them only then."),
    ]
    return modal(callback_id, "Edit action item" if i else "Add action item", blocks, private_metadata=metadata)


def swot_modal(callback_id: str, *, entry: Any | None = None, kind: str | None = None, metadata: str = "") -> dict[str, Any]:
    e = entry
    blocks = [
        select_input("kind", "Kind", SWOT_KINDS, initial=(e.kind.value if e else kind)),
        text_input("text", "Entry", initial=e and e.text, max_length=TEXT_MAX, multiline=True,
                   placeholder="Superior product efficacy demonstrated in several studies"),
        checkboxes_input("team_only", "Visibility", [("Team only", TEAM_ONLY)],
                         checked=[TEAM_ONLY] if (e is None or e.team_only) else [],
                         hint="SWOT is team-only by default: it never reaches customers."),
    ]
    return modal(callback_id, "Edit SWOT entry" if e else "Add SWOT entry", blocks, private_metadata=metadata)


def copy_modal(callback_id: str, *, plan: Any, suggested: tuple[str, dt.date, dt.date], metadata: str = "") -> dict[str, Any]:
    """Deep copy: new name and dates (suggested: the next cycle), what to carry over."""
    name, start, end = suggested
    blocks = [
        section(f"Copy *{esc(plan.name, 200)}* with everything you choose below into a new draft plan that you own."),
        text_input("name", "New plan name", initial=name, max_length=NAME_MAX),
        text_input("account", "Account", initial=plan.account.name, max_length=NAME_MAX,
                   hint="Keep it for the next cycle, or reuse the plan for another account."),
        date_input("start_date", "Start date", initial=start),
        date_input("end_date", "End date", initial=end),
        checkboxes_input("carry", "Carry over", CARRY_OVER,
                         checked=[value for _, value in CARRY_OVER],
                         hint="Due dates move with the start date; statuses start again."),
    ]
    return modal(callback_id, "Copy plan", blocks, submit="Copy", private_metadata=metadata)


def confirm_delete_modal(callback_id: str, *, what: str, name: str, metadata: str = "",
                         consequence: str = "Everything under it goes too.") -> dict[str, Any]:
    """`consequence`: our own words on what else goes (e.g. for a stakeholder: "People who
    report to them stay, without a manager.")."""
    blocks = [section(f"Delete the {what} *{esc(name, 500)}*? {consequence} This cannot be undone.")]
    return modal(callback_id, f"Delete {what}", blocks, submit="Delete", private_metadata=metadata)


def message_modal(title: str, text: str) -> dict[str, Any]:
    """A modal that only says something (e.g. "You can read this plan but not change it")."""
    return modal("notice", title, [section(esc(text))], submit=None, close="Close")


# ---------------------------------------------------------------------------
# Sharing: digests, QBRs, canvases

FREQUENCIES = [(FREQUENCY_LABELS[frequency], frequency.value) for frequency in DigestFrequency]
WEEKDAYS = [(name, str(n)) for n, name in enumerate(
    ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"))]
AFTER_QBR = "after_qbr"
SUBSCRIPTIONS_SHOWN = SUBSCRIPTIONS_MAX  # storage allows no more per plan


def channel_modal(callback_id: str, *, title: str, plan_name: str, intro: str, submit: str,
                  metadata: str = "") -> dict[str, Any]:
    """Pick the channel for a digest or a canvas (`intro`: our own mrkdwn, no user text)."""
    blocks = [
        section(f"*{esc(plan_name, 200)}*\n{intro}"),
        channel_input("channel", "Channel",
                      hint="A channel shared with another organisation gets only the parts shared "
                           "with the customer."),
    ]
    return modal(callback_id, title, blocks, submit=submit, private_metadata=metadata)


def qbr_modal(callback_id: str, *, plan_name: str, today: dt.date, metadata: str = "") -> dict[str, Any]:
    """Log a QBR: date, attendees, notes, decisions, next QBR date."""
    blocks = [
        section(f"Log a quarterly business review of *{esc(plan_name, 200)}*. Saving posts a digest "
                "with these notes to the plan's channels that get one after each QBR."),
        date_input("held_on", "QBR date", initial=today),
        text_input("attendees", "Attendees", max_length=TEXT_MAX, multiline=True, optional=True,
                   placeholder="Dr. Smith (CMO), Jane Doe (Pharmacy), our team",
                   hint="Everyone who took part, customer names included."),
        text_input("notes", "Notes", max_length=TEXT_MAX, multiline=True, optional=True),
        text_input("decisions", "Decisions", max_length=TEXT_MAX, multiline=True, optional=True),
        date_input("next_qbr_date", "Next QBR date", optional=True),
    ]
    return modal(callback_id, "Log QBR", blocks, private_metadata=metadata)


def _schedule_line(sub: Any, *, paused: str = "") -> str:
    frequency = str(getattr(sub.frequency, "value", sub.frequency))
    weekday = WEEKDAYS[sub.weekday][0]
    at = f"{sub.time_of_day.strftime('%H:%M')} {esc(sub.timezone, 64)}"
    when = {
        "weekly": f"weekly on {weekday} at {at}",
        "biweekly": f"every two weeks on {weekday} at {at}",
        "monthly": f"monthly on the first {weekday} at {at}",
        "none": "no schedule",
    }[frequency]
    parts = [f"<#{sub.channel_id}>" if sub.channel_id.isalnum() else esc(sub.channel_id), when]
    if sub.after_qbr:
        parts.append("after each QBR")
    line = " · ".join(parts)
    if sub.last_error:
        line += (f"\n:warning: *Stopped:* {esc(sub.last_error, 255)}. Fix it, then save this channel "
                 "again below to restart.")
    elif paused:
        line += f"\n_{paused}_"
    elif getattr(sub, "next_run_at", None):
        line += f"\n_Next: {sub.next_run_at.strftime('%-d %b %Y %H:%M')} UTC_"
    return line


def subscription_modal(
    callback_id: str,
    *,
    plan_name: str,
    subscriptions: Sequence[Any],
    remove_action: str,
    timezone: str,
    paused: str = "",
    metadata: str = "",
) -> dict[str, Any]:
    """Digest settings: the plan's channels (each with Remove and its last error), and
    a form that adds a channel or changes its schedule (one subscription per channel).

    `paused`: why scheduled digests are not sent now (e.g. the plan is a draft)."""
    blocks: list[dict[str, Any]] = [section(f"*Digests of {esc(plan_name, 200)}*")]
    for sub in list(subscriptions)[:SUBSCRIPTIONS_SHOWN]:
        blocks.append(section(_schedule_line(sub, paused=paused),
                              accessory=button("Remove", remove_action, str(sub.id))))
    if not subscriptions:
        blocks.append(context("No channel gets this plan's digest yet."))
    blocks += [
        {"type": "divider"},
        section("*Add a channel or change its schedule*"),
        channel_input("channel", "Channel",
                      hint="Public channels work at once; invite @Account Plans to private ones."),
        select_input("frequency", "How often", FREQUENCIES, initial="weekly"),
        select_input("weekday", "Day", WEEKDAYS, initial="0"),
        time_input("time_of_day", "Time", initial=dt.time(9, 0), hint=f"In {timezone}."),
        checkboxes_input(AFTER_QBR, "After each QBR", [("Also post after each QBR", AFTER_QBR)],
                         checked=[AFTER_QBR]),
    ]
    return modal(callback_id, "Digest settings", blocks, submit="Save", close="Done",
                 private_metadata=metadata)


def result_modal(title: str, text: str, *, callback_id: str = "notice") -> dict[str, Any]:
    """A modal that reports what happened. `text` is mrkdwn built by our code (user text
    in it escaped already), so it may link channels (<#C…>) and canvases."""
    return modal(callback_id, title, [section(text)], submit=None, close="Close")
