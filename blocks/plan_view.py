"""The plan view: one modal with the whole hierarchy and the SWOT.

A plan of any size fits: the hierarchy is cut into pages that each stay inside a
modal's 100 blocks (blocks/paging.py; a page that starts inside a strategy says which
one it continues), with "Previous page" / "Next page" buttons. A page can be cut from
the item outline alone ({objective id: item ids}), so a caller loads only the items
of the page it shows (plan_page_item_ids). People who may not change the plan see it
without the controls (the storage layer enforces the rule anyway).

Input is plain data: a plan with its tree loaded (duck-typed: name, account.name,
start_date, end_date, status, owner_id, member_ids, vision, customer_goals, our_goals,
strategies → objectives → action_items, swot_entries) and its progress (`.plan`,
`.strategy(id)`, `.objective(id)`, each with done/total/percent). The team view may
also get the plan's key stakeholders ([(stakeholder, depth)], blocks/stakeholders.py),
its health (storage.domain.PlanHealth) and the ids of its stale objectives; the
customer view refuses them, so nothing of the team's assessments can reach a customer.

What customers see is an allow-list: the strategies, objectives and action items marked
"Shared with customer" under parents that are marked too. The team view tags each
marked record " · shared with customer" (and says so when a parent is not marked, so
customers do not see it yet); a record without the tag is the team's own. The customer
view is given only shared records (storage loads nothing else) and tags nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from blocks.agreements import agreement_blocks
from blocks.forms import CUSTOMER_AUDIENCE, encode_metadata
from blocks.health import health_blocks
from blocks.ids import Action, Callback, Verb
from blocks.kit import (
    actions,
    button,
    context,
    day,
    divider,
    esc,
    header,
    record_menu,
    progress_bar,
    section,
    user,
)
from blocks.inputs import modal
from blocks.paging import Entry, Page, build_page, pager, paginate
from blocks.progress import objective_status_line
from blocks.stakeholders import HEADING as STAKEHOLDERS_HEADING
from blocks.stakeholders import stakeholder_blocks
from blocks.written_plan import format_number
from storage.domain import PlanHealth, shown_to_customer

SWOT_LABELS = {
    "strength": "Strengths",
    "weakness": "Weaknesses",
    "opportunity": "Opportunities",
    "threat": "Threats",
}
TITLE = "Account plan"


# {objective id: its action items' ids, in order}: the shape of a plan's items without them.
ItemOutline = Mapping[int, Sequence[int]]


def _status(plan) -> str:
    return plan.status.value.capitalize()


def _progress_text(progress) -> str:
    if not progress.total:
        return "no action items yet"
    return f"{progress_bar(progress.percent)} {progress.percent}% · {progress.done} of {progress.total} done"


def _measure(objective) -> str:
    if objective.target_value is None:
        return ""
    current = objective.current_value if objective.current_value is not None else 0
    unit = f" {esc(objective.measure_unit, 60)}" if objective.measure_unit else ""
    return f" · *{format_number(current)} of {format_number(objective.target_value)}{unit}*"


def plan_header_blocks(plan, progress, *, can_edit: bool, customer: bool = False,
                       health: PlanHealth | None = None,
                       save_template: bool = False,
                       agreements: Sequence = ()) -> list[dict[str, Any]]:
    """The top of every page. `health` (team view only) adds "Health 72/100 · …" and its
    parts; `save_template` offers "Save as template" (the caller knows who may);
    `agreements` (storage.agreements.AgreementState) who at the customer agreed, and
    whether it still holds, with "Ask customer to confirm" for those who may edit."""
    team = ", ".join(user(u) for u in plan.member_ids) or "_just the owner_"
    blocks = [
        header(plan.name),
        section(
            f"*Account:* {esc(plan.account.name)}   *Status:* {_status(plan)}\n"
            f"*Dates:* {day(plan.start_date)} – {day(plan.end_date)}\n"
            f"*Owner:* {user(plan.owner_id)}   *Team:* {team}"
        ),
        context(f"*Progress* {_progress_text(progress.plan)}"),
    ]
    if health is not None and not customer:
        blocks += health_blocks(health)
    blocks += agreement_blocks(agreements, plan_id=plan.id, can_ask=can_edit and not customer)
    buttons = []
    if can_edit:
        buttons += [
            button("Edit", Action.EDIT_PLAN, str(plan.id)),
            button("Add strategy", Action.ADD_STRATEGY, str(plan.id)),
            button("Add objective", Action.ADD_OBJECTIVE, str(plan.id)) if plan.strategies else None,
            button("Add action item", Action.ADD_ACTION_ITEM, str(plan.id))
            if any(s.objectives for s in plan.strategies)
            else None,
            button("Add SWOT entry", Action.ADD_SWOT, str(plan.id)),
        ]
    if not customer:  # a copy carries everything: never offered outside the team
        buttons.append(button("Copy plan", Action.COPY_PLAN, str(plan.id)))
        if save_template:
            buttons.append(button("Save as template", Action.SAVE_AS_TEMPLATE, str(plan.id)))
    if buttons:
        blocks.append(actions(*buttons, block_id="plan_actions"))
    if can_edit:
        # Sharing speaks for the plan to others: owner and team only (storage enforces).
        blocks.append(actions(
            button("Post digest", Action.POST_DIGEST, str(plan.id)),
            button("Log QBR", Action.LOG_QBR, str(plan.id)),
            button("Publish as canvas", Action.PUBLISH_CANVAS, str(plan.id)),
            button("Digest settings", Action.DIGEST_SETTINGS, str(plan.id)),
            block_id="plan_sharing",
        ))
    return blocks


def goals_blocks(plan) -> list[dict[str, Any]]:
    blocks = []
    for label, text in (
        ("Description", plan.vision),
        ("Customer goals", plan.customer_goals),
        ("Our goals", plan.our_goals),
    ):
        if text:
            blocks.append(section(f"*{label}*\n{esc(text, 2900)}"))
    return blocks


_STRATEGY_MENU = (("Add objective", Verb.ADD), ("Edit", Verb.EDIT), ("Move up", Verb.UP),
                  ("Move down", Verb.DOWN), ("Delete", Verb.DELETE))
_OBJECTIVE_MENU = (("Add action item", Verb.ADD), ("Edit", Verb.EDIT), ("Move up", Verb.UP),
                   ("Move down", Verb.DOWN), ("Delete", Verb.DELETE))
_OPEN_ITEM_MENU = (("Mark done", Verb.DONE), ("Edit", Verb.EDIT), ("Move up", Verb.UP),
                   ("Move down", Verb.DOWN), ("Delete", Verb.DELETE))
_DONE_ITEM_MENU = (("Reopen", Verb.REOPEN),) + _OPEN_ITEM_MENU[1:]
_SWOT_MENU = (("Edit", Verb.EDIT), ("Move up", Verb.UP), ("Move down", Verb.DOWN), ("Delete", Verb.DELETE))


def _strategy_menu(strategy_id: int) -> dict[str, Any]:
    return record_menu(Action.STRATEGY_MENU, _STRATEGY_MENU, strategy_id)


def _objective_menu(objective_id: int) -> dict[str, Any]:
    return record_menu(Action.OBJECTIVE_MENU, _OBJECTIVE_MENU, objective_id)


def _item_menu(item) -> dict[str, Any]:
    return record_menu(Action.ITEM_MENU, _DONE_ITEM_MENU if item.is_done else _OPEN_ITEM_MENU, item.id)


SHARED_TAG = " · shared with customer"


def shared_tag(record, *parents) -> str:
    """The team view's mark of a record shared with the customer ("" when it is not).
    `parents`: its strategy, then (for an item) its objective; a shared record under a
    parent that is not says that customers do not see it yet."""
    if not shown_to_customer(record):
        return ""
    names = ("strategy", "objective")[:len(parents)]
    missing = [name for name, parent in zip(names, parents) if not shown_to_customer(parent)][::-1]
    if not missing:
        return SHARED_TAG
    verb = "are" if len(missing) > 1 else "is"
    return f"{SHARED_TAG} _(hidden until its {' and '.join(missing)} {verb} shared)_"


def contact_owner_text(assignee_id: str | None, contact_name: str) -> str:
    """The owner of a customer contact's item (the contact has no Slack), for the team:
    the contact, followed up by the assignee."""
    follow = f", followed up by {user(assignee_id)}" if assignee_id else ""
    return f"{esc(contact_name, 200)} (customer contact{follow})"


def item_line(item, *, today: dt.date | None = None, tag: str = "", owner: str | None = None) -> str:
    """`tag`: the sharing mark of the team view (shared_tag), "" elsewhere; `owner`: who
    owns it, as mrkdwn, when not simply its assignee (a customer contact without Slack)."""
    today = today or dt.date.today()
    mark = ":white_check_mark:" if item.is_done else ":white_large_square:"
    due = ""
    if item.due_date:
        late = not item.is_done and item.due_date < today
        due = f" · due {day(item.due_date)}" + (" *(overdue)*" if late else "")
    title = f"~{esc(item.title)}~" if item.is_done else esc(item.title)
    return f"{mark} {title} · {owner or user(item.assignee_id)}{due}{tag}"


def hierarchy_blocks(plan, progress, *, can_edit: bool, today: dt.date | None = None,
                     statuses: bool = False,
                     stale_objective_ids: Collection[int] = (),
                     contact_names: Mapping[int, str] | None = None,
                     outline: ItemOutline | None = None,
                     items: Mapping[int, Any] | None = None) -> list[Entry]:
    """An Entry for every block of the whole tree, in reading order.

    Factories, not blocks: a page of a big plan builds only its own blocks. The items
    come from the tree (objective.action_items), or, with `outline`, from `items`
    ({id: item}), which needs only the items of the blocks that get built.
    `statuses` (the team view) adds each objective's owner, status and note, marked
    stale when its id is in `stale_objective_ids`, and the sharing tags; with
    `contact_names` ({stakeholder id: name}) an item of a customer contact without Slack
    names them, followed up by its assignee.
    """
    contact_names = contact_names or {}
    def tag(*records) -> str:
        return shared_tag(*records) if statuses else ""

    out: list[Entry] = []
    if not plan.strategies:
        out.append(Entry(-1, lambda: section("This plan has no strategies yet. Start with *Add strategy*.")))
        return out
    if outline is None:
        objectives = [o for s in plan.strategies for o in s.objectives]
        outline = {o.id: [i.id for i in o.action_items] for o in objectives}
        items = {i.id: i for o in objectives for i in o.action_items}
    found = items or {}

    def strategy_block(number: int, strategy) -> dict[str, Any]:
        text = (f"*{number}. {esc(strategy.title)}*{tag(strategy)}\n"
                f"{_progress_text(progress.strategy(strategy.id))}")
        return section(text, accessory=_strategy_menu(strategy.id) if can_edit else None)

    def objective_block(number: str, objective, strategy) -> dict[str, Any]:
        text = (
            f"*{number} {esc(objective.title)}*{_measure(objective)}{tag(objective, strategy)}\n"
            f"{_progress_text(progress.objective(objective.id))}"
        )
        if statuses:
            text += "\n" + objective_status_line(objective, plan_owner_id=plan.owner_id,
                                                  stale=objective.id in stale_objective_ids)
        return section(text, accessory=_objective_menu(objective.id) if can_edit else None)

    def item_block(item, objective, strategy) -> dict[str, Any]:
        contact = contact_names.get(item.customer_contact_id) if statuses and item.customer_contact_id else None
        owner = contact_owner_text(item.assignee_id, contact) if contact else None
        return section(item_line(item, today=today, tag=tag(item, strategy, objective), owner=owner),
                       accessory=_item_menu(item) if can_edit else None)

    no_objectives = "No objectives yet: use *Add objective* in the strategy's menu."
    for s_index, strategy in enumerate(plan.strategies):
        out.append(Entry(s_index, lambda n=s_index + 1, s=strategy: strategy_block(n, s)))
        if not strategy.objectives:
            out.append(Entry(s_index, lambda: context(no_objectives)))
        for o_index, objective in enumerate(strategy.objectives):
            number = f"{s_index + 1}.{o_index + 1}"
            out.append(Entry(s_index, lambda n=number, o=objective, s=strategy: objective_block(n, o, s)))
            out += [Entry(s_index, lambda i=item_id, o=objective, s=strategy: item_block(found[i], o, s), item_id)
                    for item_id in outline.get(objective.id, ())]
        out.append(Entry(s_index, divider))
    return out


def swot_summary_blocks(plan, *, can_edit: bool) -> list[dict[str, Any]]:
    by_kind: dict[str, list] = {kind: [] for kind in SWOT_LABELS}
    for entry in plan.swot_entries:
        by_kind[entry.kind.value].append(entry)
    blocks = [section("*SWOT* :lock: _for the team: never shown to customers_")]
    for kind, label in SWOT_LABELS.items():
        lines = [f"• {esc(e.text, 500)}" for e in by_kind[kind]]
        body = "\n".join(lines) if lines else "_none yet_"
        blocks.append(section(f"*{label}*\n{body}"))
    # "Add SWOT entry" is in the header already: one button per text in a view, so
    # people (and clients that click by text) are never unsure which one is meant.
    if plan.swot_entries and can_edit:
        blocks.append(actions(button("Edit SWOT", Action.SHOW_SWOT, str(plan.id))))
    return blocks


@dataclass(frozen=True)
class _Layout:
    head: list[dict[str, Any]]
    pages: list[list[Entry]]
    number: int  # the page shown, clamped to the pages there are
    customer: bool


def _layout(
    plan,
    progress,
    *,
    can_edit: bool,
    page: int = 0,
    today: dt.date | None = None,
    customer: bool = False,
    note: str | None = None,
    stakeholders: Sequence[tuple[Any, int]] | None = None,
    health: PlanHealth | None = None,
    stale_objective_ids: Collection[int] | None = None,
    save_template: bool = False,
    agreements: Sequence = (),
    outline: ItemOutline | None = None,
    items: Mapping[int, Any] | None = None,
) -> _Layout:
    """Page `page` of the plan view (clamped to the pages there are), cut into blocks.

    `customer`: the customer view, for someone from another organisation or a
    conversation shared with one. The caller loads the plan without its internal parts
    (storage: the parts shared with the customer only); this leaves out every control and the SWOT
    section, and marks the view so that everything opened from it stays a customer view.
    `note` (our own text) explains why the view is the customer's.

    The team view only: `stakeholders` ([(stakeholder, depth)], storage's
    stakeholder_tree; None: no section) adds "Key stakeholders" after the strategies,
    paged with the rest; `health` the health line and its parts in the header;
    `stale_objective_ids` (default: health.stale_objective_ids) the stale marks;
    `save_template` the "Save as template" button. Both views: `agreements` (see
    plan_header_blocks). A customer view given stakeholders
    or health raises ValueError: the caller must not load them for a customer.

    The items come from the plan's tree, or, for a big plan, from `outline` and `items`:
    `plan_page_item_ids` (same options) says which items the page shows, the caller
    loads only those and passes them as `items` ({id: item}).
    """
    if customer and (stakeholders is not None or health is not None):
        raise ValueError("the customer view never shows stakeholders or health")
    can_edit = can_edit and not customer
    today = today or dt.date.today()
    if stale_objective_ids is None:
        stale_objective_ids = health.stale_objective_ids if health is not None else frozenset()
    head = plan_header_blocks(plan, progress, can_edit=can_edit, customer=customer, health=health,
                              save_template=save_template, agreements=agreements)
    if note:
        head.append(context(note))
    body = [Entry(-1, lambda b=b: b) for b in goals_blocks(plan)] + [Entry(-1, divider)]
    body += hierarchy_blocks(plan, progress, can_edit=can_edit, today=today, statuses=not customer,
                             stale_objective_ids=stale_objective_ids,
                             contact_names={s.id: s.name for s, _ in stakeholders or ()},
                             outline=outline, items=items)
    people_group = len(plan.strategies)  # after the strategies' groups: its own "continued"
    if stakeholders is not None:
        body += [Entry(people_group, factory) for factory in
                 stakeholder_blocks(plan.id, stakeholders, can_edit=can_edit, today=today)]
        body.append(Entry(-1, divider))
    tail = [] if customer else swot_summary_blocks(plan, can_edit=can_edit)

    def continued(group: int) -> dict[str, Any]:
        if group == people_group:
            return context(f"_continued: {STAKEHOLDERS_HEADING}_")
        return context(f"_continued: {group + 1}. {esc(plan.strategies[group].title, 200)}_")

    pages = paginate(head, body, tail, continued)
    return _Layout(head, pages, max(0, min(page, len(pages) - 1)), customer)


def plan_view(plan, progress, **options: Any) -> dict[str, Any]:
    """The plan modal: page `page` of the plan, for the team or a customer. The options
    (can_edit, page, today, customer, note, stakeholders, health, stale_objective_ids,
    save_template, agreements, outline, items) are `_layout`'s, described there."""
    layout = _layout(plan, progress, **options)
    number = layout.number
    blocks = layout.head + build_page(layout.pages[number]) + pager(plan.id, Page(number, len(layout.pages)))
    metadata = encode_metadata(plan=plan.id, page=number, version=plan.version,
                               audience=CUSTOMER_AUDIENCE if layout.customer else None)
    return modal(Callback.PLAN_VIEW, TITLE, blocks, submit=None, close="Close", private_metadata=metadata)


def plan_page_item_ids(plan, progress, *, outline: ItemOutline, page: int = 0, **options: Any) -> list[int]:
    """The ids of the action items that page `page` of `plan_view(plan, progress,
    outline=outline, page=page, **options)` shows: the page is cut from the outline alone."""
    layout = _layout(plan, progress, page=page, outline=outline, items=None, **options)
    return [entry.item_id for entry in layout.pages[layout.number] if entry.item_id is not None]


def swot_view(plan, *, can_edit: bool, page: int = 0) -> dict[str, Any]:
    """Every SWOT entry with its own menu (edit, move, delete): opened from the plan view."""
    head = [
        header(f"SWOT: {plan.name}"),
        context(":lock: SWOT is for the team: it is never shown to customers."),
        actions(
            button("Add SWOT entry", Action.ADD_SWOT, str(plan.id)) if can_edit else None,
            button("Back to plan", Action.BACK_TO_PLAN, str(plan.id)),
        ),
    ]

    def entry_block(entry) -> dict[str, Any]:
        menu = record_menu(Action.SWOT_MENU, _SWOT_MENU, entry.id) if can_edit else None
        return section(esc(entry.text, 2800), accessory=menu)

    body: list[Entry] = []
    for kind, label in SWOT_LABELS.items():
        entries = [e for e in plan.swot_entries if e.kind.value == kind]
        heading = f"*{label}*" + ("" if entries else "\n_none yet_")
        body.append(Entry(-1, lambda h=heading: section(h)))
        body += [Entry(-1, lambda e=entry: entry_block(e)) for entry in entries]
    # SWOT entries have no groups (-1), so no page says "continued".
    pages = paginate(head, body, [], continued=None)
    number = max(0, min(page, len(pages) - 1))
    blocks = head + build_page(pages[number]) + pager(plan.id, Page(number, len(pages)))
    metadata = encode_metadata(plan=plan.id, page=number, mode="swot")
    return modal(Callback.PLAN_VIEW, "SWOT", blocks, submit=None, close="Close", private_metadata=metadata)
