"""The written plan: one Markdown document of a whole account plan, for people.

A pure function of plain data: a plan as storage.plans.load_plan_tree gives it (or any
object with the same attributes: blocks never imports storage) and, optionally, its
PlanProgress. Every piece of user text goes through blocks/text.py's Markdown escaping.

Slack user ids are shown through `names` ({user_id: display name}); an id without a
name is shown as is, so the document reads the same outside Slack.

With `include_team_only=False` (the customer's document, for customer channels) only
the allow-list is shown: the strategies, objectives and action items marked "Shared
with customer" whose parents are marked too (storage.domain.shown_to_customer); never
the SWOT, the QBR reviews or the objectives' owners and status notes. Progress counts
only what is shown, and when anything was left out the document says that some parts
are kept within the account team, without naming them. The team's document marks the
shared parts "(shared with customer)".

The team's document also shows each objective's owner and last progress update, and,
when given `stakeholders` ([(stakeholder, depth)], storage's stakeholder_tree), a
"Key stakeholders" table. Stakeholders never go into a customer's document: given
them with `include_team_only=False`, it raises ValueError.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from types import SimpleNamespace

from blocks.text import Trusted, escape_markdown, markdown_lines, render
from storage.domain import (
    INFLUENCE_LABELS,
    OBJECTIVE_STATUS_LABELS,
    STAKEHOLDER_ROLE_LABELS,
    STAKEHOLDER_SIDE_LABELS,
    STAKEHOLDER_STALE_DAYS,
    STANCE_LABELS,
    shown_to_customer,
)

TEMPLATE = "plan.md.j2"
SWOT_SECTIONS = (
    ("strength", "Strengths"),
    ("weakness", "Weaknesses"),
    ("opportunity", "Opportunities"),
    ("threat", "Threats"),
)
INTERNAL_NOTE = "Some parts of this plan are kept within the account team."
SHARED_MARK = "shared with customer"
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def format_day(day: dt.date | None) -> str:
    """`1 Mar 2025`: unambiguous in every locale."""
    if day is None:
        return ""
    if isinstance(day, dt.datetime):
        day = day.date()
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def format_number(value) -> str:
    """`5`, `2.5`, `1250000`: no trailing zeros, no exponent."""
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    if number == number.to_integral_value():
        return str(int(number))
    return format(number.normalize(), "f")


def format_progress(done: int, total: int) -> str:
    if not total:
        return "no action items yet"
    percent = round(100 * done / total)
    noun = "action item" if total == 1 else "action items"
    return f"{done} of {total} {noun} done ({percent}%)"


def _value(enum_or_text) -> str:
    return str(getattr(enum_or_text, "value", enum_or_text) or "")


def measure_text(objective) -> str:
    """"3 of 5 IDNs (60%)" for a measurable objective, "" otherwise: raw text (the unit
    is the user's), escaped where it is shown (here, the digest, the check-in DM)."""
    target = getattr(objective, "target_value", None)
    if target is None:
        return ""
    current = getattr(objective, "current_value", None) or 0
    unit = getattr(objective, "measure_unit", "") or ""
    text = f"{format_number(current)} of {format_number(target)}"
    if unit:
        text += f" {unit}"
    try:
        if Decimal(str(target)) > 0:
            text += f" ({round(100 * Decimal(str(current)) / Decimal(str(target)))}%)"
    except (InvalidOperation, ValueError):
        pass
    return text


def agreement_text(state) -> str:
    """The customer's agreement (storage.agreements.AgreementState) in plain words, raw
    user text (each format escapes it): who, of which organisation, when, and whether
    it still holds. blocks/agreements.py shows the same words in Slack."""
    who = f"{state.name} ({state.organisation})" if state.organisation else state.name
    what = f"\u201c{state.objective_title}\u201d " if state.objective_id is not None else ""
    text = f"{what}Agreed by {who} on {format_day(state.agreed_at)}"
    if state.changed_at is not None:
        text += f"; changed since ({format_day(state.changed_at)}), so not agreed as it is now"
    return text


def _label(labels: Mapping, choice) -> str:
    value = _value(choice)
    return next((text for key, text in labels.items() if key.value == value), value)


_BREAKS = re.compile(r"\s+")


def cell(text) -> str:
    """User text for one Markdown table cell, still raw (the template escapes it, `|`
    included): line breaks and runs of spaces become one space, so no row is broken."""
    return _BREAKS.sub(" ", str(text or "")).strip()


def _status(objective) -> str:
    """"At risk: waiting on the committee (updated 3 Mar 2026)", "" before any update."""
    status = getattr(objective, "progress_status", None)
    if status is None:
        return ""
    text = _label(OBJECTIVE_STATUS_LABELS, status)
    note = cell(getattr(objective, "progress_note", "") or "")
    if note:
        text += f": {note}"
    updated = getattr(objective, "progress_updated_at", None)
    if updated is not None:
        text += f" (updated {format_day(updated)})"
    return text


def _stakeholder_rows(tree: Sequence, person, today: dt.date | None) -> list[SimpleNamespace]:
    names = {s.id: s.name for s, _ in tree}
    rows = []
    for stakeholder, depth in tree:
        indent = "\u00a0\u00a0" * max(0, min(depth, 6) - 1) + ("↳ " if depth > 0 else "")
        last = stakeholder.last_contact_on
        contact = format_day(last) if last else "never"
        if today is not None and (last is None or (today - last).days >= STAKEHOLDER_STALE_DAYS):
            contact += f" (not contacted for {STAKEHOLDER_STALE_DAYS}+ days)"
        name = cell(stakeholder.name)
        if stakeholder.slack_user_id:
            name += f" ({cell(person(stakeholder.slack_user_id))})"
        rows.append(SimpleNamespace(
            indent=Trusted(indent), name=name, title=cell(stakeholder.title),
            side=_label(STAKEHOLDER_SIDE_LABELS, stakeholder.side) if stakeholder.side else "",
            role=_label(STAKEHOLDER_ROLE_LABELS, stakeholder.role) if stakeholder.role else "",
            influence=_label(INFLUENCE_LABELS, stakeholder.influence) if stakeholder.influence else "",
            stance=_label(STANCE_LABELS, stakeholder.stance) if stakeholder.stance else "",
            reports_to=cell(names.get(stakeholder.reports_to_id, "")),
            last_contact=contact,
        ))
    return rows


def _indented(text: str, spaces: int) -> Trusted:
    """Escaped multi-line text indented to continue a Markdown list item."""
    pad = " " * spaces
    return Trusted("\n".join(pad + line if line else "" for line in markdown_lines(text).split("\n")))


def plan_view(
    plan,
    progress=None,
    *,
    names: Mapping[str, str] | None = None,
    include_team_only: bool = True,
    stakeholders: Sequence | None = None,
    today: dt.date | None = None,
    agreements: Sequence = (),
) -> SimpleNamespace:
    """The plain data the template shows (all user text still raw: the template escapes).
    `names`: {user_id: display name}; `include_team_only=False`: the customer's document
    (module docstring); `stakeholders` ([(stakeholder, depth)], team audience only) adds
    the "Key stakeholders" table, in which `today` marks who was not contacted for 60+
    days; `agreements`: the customer's (storage.agreements.agreement_states, for the same
    audience), each a line under the plan's header."""
    if stakeholders is not None and not include_team_only:
        raise ValueError("stakeholders are team only: never in a customer's document")
    names = names or {}

    def person(user_id: str | None) -> str:
        return names.get(user_id, user_id) if user_id else ""

    customer = not include_team_only
    hidden = False

    def left_out(*records) -> bool:
        """A record the customer's document leaves out (noted as hidden)."""
        nonlocal hidden
        if customer and not shown_to_customer(*records):
            hidden = True
            return True
        return False

    def mark(*records) -> str:
        """The team's document: "shared with customer" on what customers see."""
        return SHARED_MARK if not customer and shown_to_customer(*records) else ""

    use_given = progress is not None and include_team_only
    plan_done = plan_total = 0
    strategies = []
    shown_strategies = [s for s in plan.strategies if not left_out(s)]
    for s_index, strategy in enumerate(shown_strategies, start=1):
        objectives = []
        s_done = s_total = 0
        shown_objectives = [o for o in strategy.objectives if not left_out(strategy, o)]
        for o_index, objective in enumerate(shown_objectives, start=1):
            items = []
            for item in objective.action_items:
                if left_out(strategy, objective, item):
                    continue
                done = _value(item.status) == "done"
                done_at = getattr(item, "done_at", None)
                items.append(
                    SimpleNamespace(
                        done=done,
                        title=item.title,
                        assignee=person(getattr(item, "assignee_id", None)),
                        due=format_day(getattr(item, "due_date", None)),
                        done_on=format_day(done_at) if done and done_at else "",
                        shared=mark(strategy, objective, item),
                        notes=_indented(item.notes, 2) if getattr(item, "notes", "") else "",
                    )
                )
            if use_given:
                counted = progress.objective(objective.id)
                o_done, o_total = counted.done, counted.total
            else:
                o_done, o_total = sum(i.done for i in items), len(items)
            s_done, s_total = s_done + o_done, s_total + o_total
            objectives.append(
                SimpleNamespace(
                    number=Trusted(f"{s_index}.{o_index}"),
                    title=objective.title,
                    description=getattr(objective, "description", "") or "",
                    measure=measure_text(objective),
                    progress=format_progress(o_done, o_total),
                    shared=mark(strategy, objective),
                    owner=person(getattr(objective, "owner_id", None) or plan.owner_id)
                    if include_team_only else "",
                    status=_status(objective) if include_team_only else "",
                    items=items,
                )
            )
        if use_given:
            counted = progress.strategy(strategy.id)
            s_done, s_total = counted.done, counted.total
        plan_done, plan_total = plan_done + s_done, plan_total + s_total
        strategies.append(
            SimpleNamespace(
                number=Trusted(str(s_index)),
                title=strategy.title,
                description=getattr(strategy, "description", "") or "",
                progress=format_progress(s_done, s_total),
                shared=mark(strategy),
                objectives=objectives,
            )
        )
    if use_given:
        plan_done, plan_total = progress.plan.done, progress.plan.total

    swot = {kind: [] for kind, _ in SWOT_SECTIONS}
    for entry in sorted(plan.swot_entries, key=lambda e: getattr(e, "position", 0)):
        if left_out(entry):  # SWOT is never shared with the customer
            continue
        # Continuation lines indented under the bullet, so long entries stay in it.
        swot.setdefault(_value(entry.kind), []).append(Trusted(_indented(entry.text, 2).lstrip()))
    hidden = hidden or (customer and bool(plan.reviews))  # nor are the QBR reviews
    reviews = [] if customer else [
        SimpleNamespace(
            held_on=format_day(review.held_on),
            attendees=review.attendees or "",
            notes=review.notes or "",
            decisions=review.decisions or "",
            next_qbr=format_day(getattr(review, "next_qbr_date", None)),
        )
        for review in sorted(plan.reviews, key=lambda r: r.held_on)
    ]
    member_ids = getattr(plan, "member_ids", None)
    if member_ids is None:
        member_ids = [m.user_id for m in plan.members]

    return SimpleNamespace(
        name=plan.name,
        account=plan.account.name,
        dates=f"{format_day(plan.start_date)} – {format_day(plan.end_date)}",
        status=_value(plan.status).capitalize(),
        owner=person(plan.owner_id),
        team=", ".join(person(u) for u in member_ids),
        progress=format_progress(plan_done, plan_total),
        vision=plan.vision or "",
        customer_goals=plan.customer_goals or "",
        our_goals=plan.our_goals or "",
        strategies=strategies,
        swot=[SimpleNamespace(title=title, entries=swot[kind]) for kind, title in SWOT_SECTIONS],
        show_swot=not customer,
        show_reviews=not customer,
        reviews=reviews,
        stakeholders=_stakeholder_rows(stakeholders, person, today) if stakeholders is not None else None,
        internal_note=INTERNAL_NOTE if hidden else "",
        agreements=[agreement_text(state) for state in agreements],
    )


def render_written_plan(plan, progress=None, **options) -> str:
    """The whole plan as one Markdown document (the canvas's too); `options` are
    plan_view's (names, include_team_only, stakeholders, today, agreements)."""
    return render(TEMPLATE, plan=plan_view(plan, progress, **options))


__all__ = [
    "INTERNAL_NOTE",
    "agreement_text",
    "cell",
    "escape_markdown",
    "format_day",
    "format_number",
    "format_progress",
    "measure_text",
    "plan_view",
    "render_written_plan",
]
