"""Key stakeholders: the plan view's org chart and the stakeholder form.

Stakeholders are the team's assessments of the customer's people (role in the decision,
influence, stance): team only, always. No builder here is ever given to the customer
view (blocks.plan_view refuses them there), the written plan shows them to the team
audience only.

Input is plain data: the plan's stakeholders as storage's `stakeholder_tree` gives them,
[(stakeholder, depth)] in reading order (roots first, each one's reports under it), each
stakeholder duck-typed: id, name, title, side, slack_user_id, role, influence, stance,
reports_to_id, last_contact_on, notes (and, for the form, objectives or explicit ids).

The form's block ids are storage's field names (see STAKEHOLDER_FIELDS and
`stakeholder_block_ids`), so every field error of a ValidationError lands on its input.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from slack_sdk.models.blocks import StaticMultiSelectElement, OptionGroup, UserMultiSelectElement

from blocks.forms import block_errors
from blocks.ids import Action, Verb
from blocks.inputs import _input, date_input, modal, select_input, text_input
from blocks.kit import button, context, day, esc, option, plain, record_menu, section, user
from storage.domain import (
    INFLUENCE_LABELS,
    NAME_MAX,
    STAKEHOLDER_ROLE_LABELS,
    STAKEHOLDER_SIDE_LABELS,
    STAKEHOLDER_STALE_DAYS,
    STANCE_LABELS,
    TEXT_MAX,
    Influence,
    StakeholderRole,
    StakeholderSide,
    Stance,
    stakeholder_is_stale,
)

HEADING = "Key stakeholders"
HEADING_BLOCK = "stakeholders"
STALE_NOTE = f"⚠ not contacted for {STAKEHOLDER_STALE_DAYS}+ days"
INDENT = "\u2003"  # an em space: Slack keeps it at the start of a line, unlike spaces
INDENT_MAX = 6     # deeper levels are drawn at this depth (the text stays short)
NOT_SET = "none"   # the option that clears an optional choice (Role, Influence, Stance, Reports to)
SELECT_OPTIONS_MAX = 100

SIDES = [(STAKEHOLDER_SIDE_LABELS[side], side.value) for side in StakeholderSide]
ROLES = [(STAKEHOLDER_ROLE_LABELS[role], role.value) for role in StakeholderRole]
INFLUENCES = [(INFLUENCE_LABELS[level], level.value) for level in Influence]
STANCES = [(STANCE_LABELS[stance], stance.value) for stance in Stance]

# Storage's field name → the form's block id. The block ids are the field names
# themselves; the other keys are the names an error might use for the same input.
STAKEHOLDER_FIELDS: dict[str, str] = {
    "name": "name",
    "title": "title",
    "side": "side",
    "slack_user_id": "slack_user_id",
    "slack_user": "slack_user_id",
    "role": "role",
    "influence": "influence",
    "stance": "stance",
    "reports_to_id": "reports_to_id",
    "reports_to": "reports_to_id",
    "last_contact_on": "last_contact_on",
    "last_contact": "last_contact_on",
    "notes": "notes",
    "objective_ids": "objective_ids",
    "objectives": "objective_ids",
}

_MENU = (("Edit", Verb.EDIT), ("Log contact", Verb.LOG_CONTACT), ("Remove", Verb.DELETE))


def _value(choice) -> str | None:
    return None if choice is None else str(getattr(choice, "value", choice))


def _label(labels: Mapping, choice) -> str:
    value = _value(choice)
    return next((text for key, text in labels.items() if key.value == value), value or "")


def _one_line(text: str | None) -> str:
    return " ".join((text or "").split())


# ---------------------------------------------------------------------------
# The plan view's section


def stakeholder_line(stakeholder, depth: int, *, today: dt.date) -> str:
    """One person of the org chart as mrkdwn (user text escaped; at most ~1,000 chars)."""
    pad = INDENT * min(max(depth, 0), INDENT_MAX)
    first = f"{pad}{'↳ ' if depth > 0 else ''}*{esc(_one_line(stakeholder.name), NAME_MAX)}*"
    if stakeholder.title:
        first += f" · {esc(_one_line(stakeholder.title), NAME_MAX)}"
    if stakeholder.slack_user_id:
        first += f" · {user(stakeholder.slack_user_id)}"
    facts = ["Our side" if _value(stakeholder.side) == StakeholderSide.OURS.value else "Customer"]
    if stakeholder.role is not None:
        facts.append(_label(STAKEHOLDER_ROLE_LABELS, stakeholder.role))
    if stakeholder.influence is not None:
        facts.append(f"{_label(INFLUENCE_LABELS, stakeholder.influence)} influence")
    if stakeholder.stance is not None:
        facts.append(_label(STANCE_LABELS, stakeholder.stance))
    last = stakeholder.last_contact_on
    facts.append(f"last contact {day(last)}" if last else "no contact logged")
    lines = [first, pad + " · ".join(facts)]
    if stakeholder_is_stale(stakeholder, today):
        lines.append(f"{pad}{STALE_NOTE}")
    return "\n".join(lines)


def stakeholder_menu(stakeholder_id: int) -> dict[str, Any]:
    """Edit / Log contact / Remove: values "edit:<id>", "contact:<id>", "delete:<id>"."""
    return record_menu(Action.STAKEHOLDER_MENU, _MENU, stakeholder_id)


def stakeholder_heading(plan_id: int, *, can_edit: bool) -> dict[str, Any]:
    add = button("Add stakeholder", Action.ADD_STAKEHOLDER, str(plan_id)) if can_edit else None
    return section(f"*{HEADING}* :lock: _team only: never shown to customers_",
                   block_id=HEADING_BLOCK, accessory=add)


def stakeholder_blocks(
    plan_id: int,
    tree: Sequence[tuple[Any, int]],
    *,
    can_edit: bool,
    today: dt.date,
) -> list[Any]:
    """Block factories for the plan view (it pages them with the rest of the plan): the
    heading with "Add stakeholder", then one section per person (with its menu)."""
    factories: list[Any] = [lambda: stakeholder_heading(plan_id, can_edit=can_edit)]
    if not tree:
        factories.append(lambda: context(
            "No stakeholders yet: name the sponsor, the decision maker and your champion."))

    def line(stakeholder, depth: int) -> dict[str, Any]:
        menu = stakeholder_menu(stakeholder.id) if can_edit else None
        return section(stakeholder_line(stakeholder, depth, today=today), accessory=menu)

    factories += [lambda s=s, d=d: line(s, d) for s, d in tree]
    return factories


# ---------------------------------------------------------------------------
# The form


def _descendants(stakeholder_id: int, tree: Sequence[tuple[Any, int]]) -> set[int]:
    """The people reporting to `stakeholder_id`, directly or not (by reports_to_id)."""
    below = {stakeholder_id}
    changed = True
    while changed:
        changed = False
        for person, _ in tree:
            if person.reports_to_id in below and person.id not in below:
                below.add(person.id)
                changed = True
    return below


def _person_label(person) -> str:
    return f"{person.name} ({person.title})" if person.title else person.name


def reports_to_choices(stakeholder, tree: Sequence[tuple[Any, int]]) -> list[tuple[str, str]]:
    """"Nobody" and the plan's other stakeholders, less those who report to this one
    (a chart has no loops); the current manager kept when the list is cut at 100."""
    excluded = _descendants(stakeholder.id, tree) if stakeholder is not None else set()
    people = [person for person, _ in tree if person.id not in excluded]
    current = stakeholder.reports_to_id if stakeholder is not None else None
    room = SELECT_OPTIONS_MAX - 1
    if len(people) > room:
        kept = people[:room]
        if current is not None and all(p.id != current for p in kept):
            kept = kept[:room - 1] + [p for p in people if p.id == current]
        people = kept
    return [("Nobody (top of the chart)", NOT_SET)] + [(_person_label(p), str(p.id)) for p in people]


def _choice(block_id: str, label: str, choices: list[tuple[str, str]], current) -> dict[str, Any]:
    return select_input(block_id, label, [("Not set", NOT_SET)] + choices,
                        initial=_value(current), optional=True)


def _objectives_input(groups: Sequence[tuple[str, Sequence[tuple[str, str]]]],
                      selected: Collection[str]) -> dict[str, Any] | None:
    option_groups, initial = [], []
    budget = SELECT_OPTIONS_MAX
    for group_label, choices in groups:
        options = [option(text, value) for text, value in choices][:budget]
        if not options:
            continue
        budget -= len(options)
        initial += [o for o in options if o.value in selected]
        option_groups.append(OptionGroup(label=plain(group_label, 75), options=options))
        if budget <= 0:
            break
    if not option_groups:
        return None
    element = StaticMultiSelectElement(action_id="value", option_groups=option_groups,
                                       initial_options=initial or None)
    return _input("objective_ids", "Objectives", element, optional=True,
                  hint="The objectives you need this person for.")


def stakeholder_modal(
    callback_id: str,
    *,
    stakeholder: Any | None = None,
    tree: Sequence[tuple[Any, int]] = (),
    objectives: Sequence[tuple[str, Sequence[tuple[str, str]]]] = (),
    selected_objectives: Collection[int] | None = None,
    metadata: str = "",
) -> dict[str, Any]:
    """Add (stakeholder=None) or edit a stakeholder.

    `tree`: the plan's stakeholders [(stakeholder, depth)], offered under "Reports to".
    `objectives`: the plan's objectives grouped by strategy, [(strategy title,
    [(objective title, str(objective id))])], offered under "Objectives" (left out when
    the plan has none). `selected_objectives`: the linked objective ids (default: the
    ids of `stakeholder.objectives`).
    """
    s = stakeholder
    if selected_objectives is None:
        selected_objectives = [o.id for o in getattr(s, "objectives", None) or ()] if s else []
    slack_user = UserMultiSelectElement(  # a multi-select of one, so it can be cleared
        action_id="value", max_selected_items=1,
        initial_users=[s.slack_user_id] if s is not None and s.slack_user_id else None)
    blocks = [
        text_input("name", "Name", initial=s and s.name, max_length=NAME_MAX,
                   placeholder="Dr. Jane Smith"),
        text_input("title", "Title", initial=s and s.title, max_length=NAME_MAX, optional=True,
                   placeholder="Chief Medical Officer"),
        select_input("side", "Side", SIDES,
                     initial=_value(s.side) if s is not None and s.side else StakeholderSide.CUSTOMER.value),
        _input("slack_user_id", "Slack user", slack_user, optional=True,
               hint="Someone in your workspace, or from the customer in a shared channel."),
        _choice("role", "Role in the decision", ROLES, s and s.role),
        _choice("influence", "Influence", INFLUENCES, s and s.influence),
        _choice("stance", "Stance", STANCES, s and s.stance),
        select_input("reports_to_id", "Reports to", reports_to_choices(s, tree),
                     initial=str(s.reports_to_id) if s is not None and s.reports_to_id else None,
                     optional=True),
        date_input("last_contact_on", "Last contact", initial=s and s.last_contact_on, optional=True),
        text_input("notes", "Notes", initial=s and s.notes, max_length=TEXT_MAX, multiline=True,
                   optional=True, hint="Team only, like everything about stakeholders."),
    ]
    linked = _objectives_input(objectives, {str(i) for i in selected_objectives})
    if linked is not None:
        blocks.append(linked)
    return modal(callback_id, "Edit stakeholder" if s else "Add stakeholder", blocks,
                 private_metadata=metadata)


def stakeholder_block_ids(errors: Mapping[str, str]) -> dict[str, str]:
    """A ValidationError's `errors` ({storage field: message}) keyed by the stakeholder
    form's block ids (STAKEHOLDER_FIELDS: "reports_to" → "reports_to_id", "objectives"
    → "objective_ids", …). A field without an input keeps its name (bot.ui's rule then
    says it on the first input); two names of one input are joined."""
    return block_errors(errors, STAKEHOLDER_FIELDS)


def _id(value) -> int | None:
    return int(value) if isinstance(value, str) and value.isascii() and value.isdigit() else None


def stakeholder_form_input(values: Mapping[str, Any]) -> dict[str, Any]:
    """The submitted form (`blocks.forms.form_values`) as storage's fields.

    "Not set" reads as None, the Slack user as one id or None, ids as numbers (a value
    that is no id, which no Slack client sends, reads as not chosen), empty texts as "".
    Choices stay the option values ("decision_maker"): storage checks them.
    `objective_ids` is None when the form had no "Objectives" (the plan has none yet):
    the links are left as they are.
    """
    def choice(key: str) -> str | None:
        value = values.get(key)
        return None if value in (None, NOT_SET) else value

    users = values.get("slack_user_id") or []
    reports_to = choice("reports_to_id")
    return {
        "name": values.get("name") or "",
        "title": values.get("title") or "",
        "side": values.get("side") or StakeholderSide.CUSTOMER.value,
        "slack_user_id": users[0] if isinstance(users, list) and users else None,
        "role": choice("role"),
        "influence": choice("influence"),
        "stance": choice("stance"),
        "reports_to_id": _id(reports_to) if reports_to is not None else None,
        "last_contact_on": values.get("last_contact_on"),
        "notes": values.get("notes") or "",
        "objective_ids": [i for i in map(_id, values["objective_ids"] or []) if i is not None]
        if "objective_ids" in values else None,
    }
