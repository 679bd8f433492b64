"""DMs about action items: assignment, reminders, notices, and the weekly summary.

Each takes plain facts about an item (storage.reminders.ItemFacts or anything with the
same attributes: item_id, title, due_date, done, plan_id, plan_name, objective,
strategy) and returns a message payload (`text` for notifications, `blocks`). User
text goes through `esc`; every mrkdwn text is verbatim (blocks.kit).

A DM about one item keeps its buttons in one actions block (ITEM_ACTIONS); the summary
has one section per item (block id SUMMARY_ITEM + item id) with its own "Mark done". A
reminder DM about several items (`reminders_message`: one person's reminders due at
once) has a section per item (REMINDER_LINE + item id) and that item's buttons under it
(REMINDER_BUTTONS + item id). The listener tells them apart by the block id of the
button pressed, and redraws only the line it belongs to.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from blocks.ids import Action
from blocks.kit import actions, button, context, day, esc, section, user
from blocks.messages import MESSAGE_BLOCKS_MAX, message

ITEM_ACTIONS = "item_actions"
SUMMARY_ITEM = "summary_item_"
REMINDER_LINE = "reminder_line_"
REMINDER_BUTTONS = "reminder_buttons_"
# Items in one reminder DM: two blocks each, under a heading and above a footer. A
# person with more gets several DMs.
REMINDERS_MAX = (MESSAGE_BLOCKS_MAX - 2) // 2
TITLE_MAX = 300  # of an item title inside a sentence
NAME_MAX = 150

SOON, OVERDUE, SNOOZED = "soon", "overdue", "snoozed"  # storage.reminder_calendar.Kind values


def due_phrase(due: dt.date | None, today: dt.date) -> str:
    """"due tomorrow", "overdue by 2 days (due Fri 28 Feb 2025)": our words, no user text."""
    if due is None:
        return "no due date"
    days = (due - today).days
    if days == 0:
        return "due *today*"
    if days == 1:
        return "due *tomorrow*"
    if days > 1:
        return f"due in {days} days ({_weekday(due)})"
    late = -days
    return f"*overdue* by {late} day{'s' if late > 1 else ''} (due {_weekday(due)})"


def _weekday(value: dt.date) -> str:
    return f"{value.strftime('%a')} {day(value)}"


def _where(facts) -> str:
    return (f"*{esc(facts.plan_name, NAME_MAX)}* › {esc(facts.strategy, NAME_MAX)} "
            f"› {esc(facts.objective, NAME_MAX)}")


def _item_buttons(facts, *, snoozable: bool = True, block_id: str = ITEM_ACTIONS) -> dict[str, Any]:
    item = str(facts.item_id)
    return actions(
        button("Mark done", Action.REMINDER_DONE, item, style="primary"),
        button("Snooze 1 day", Action.SNOOZE_DAY, item) if snoozable else None,
        button("Snooze 1 week", Action.SNOOZE_WEEK, item) if snoozable else None,
        button("Open plan", Action.OPEN_PLAN, str(facts.plan_id)),
        block_id=block_id,
    )


def contact_line(facts) -> str | None:
    """For an item of a customer contact without Slack (storage.customer_items), what a
    DM to its assignee, the team member who follows it up, adds."""
    name = getattr(facts, "contact_name", None)
    if not name:
        return None
    return f":bust_in_silhouette: For {esc(name, NAME_MAX)} (customer contact without Slack): you follow it up with them."


def _item_blocks(facts, headline: str, *, today: dt.date, assigned_by: str | None,
                 note: str | None = None) -> list[dict[str, Any]]:
    lines = [headline, f"*{esc(facts.title, TITLE_MAX)}*", f":calendar: {due_phrase(facts.due_date, today)}"]
    blocks = [section("\n".join(lines)), context(_where(facts))]
    if contact_line(facts):
        blocks.append(context(contact_line(facts)))
    if assigned_by:
        blocks.append(context(f"Assigned by {user(assigned_by)}"))
    if note:
        blocks.append(context(note))
    blocks.append(_item_buttons(facts))
    return blocks


def assignment_message(facts, *, assigned_by: str, today: dt.date) -> dict[str, Any]:
    title = esc(facts.title, TITLE_MAX)
    blocks = _item_blocks(facts, f":inbox_tray: {user(assigned_by)} assigned you an action item",
                          today=today, assigned_by=None)
    return message(f"{user(assigned_by)} assigned you: {title}", blocks)


def reminder_message(facts, kind: str, *, today: dt.date, assigned_by: str | None) -> dict[str, Any]:
    title = esc(facts.title, TITLE_MAX)
    if kind == SNOOZED:
        headline, text = ":alarm_clock: The reminder you snoozed", f"Reminder: {title}"
    elif kind == OVERDUE or (facts.due_date is not None and facts.due_date < today):
        headline, text = ":warning: Reminder: this action item is overdue", f"Overdue: {title}"
    else:
        headline, text = ":alarm_clock: Reminder: this action item is due soon", f"Due soon: {title}"
    return message(text, _item_blocks(facts, headline, today=today, assigned_by=assigned_by))


def snoozed_message(facts, *, today: dt.date, until: dt.datetime, assigned_by: str | None) -> dict[str, Any]:
    """The DM after "Snooze": as before, saying until when (`until` in the person's zone)."""
    note = snooze_note(until)
    blocks = _item_blocks(facts, ":alarm_clock: Reminder", today=today, assigned_by=assigned_by, note=note)
    return message(f"Snoozed: {esc(facts.title, TITLE_MAX)}", blocks)


def _closed_text(*, title: str, plan_name: str | None, state: str, actor: str | None,
                 to: str | None = None) -> str:
    name = esc(title, TITLE_MAX)
    plan = f" in *{esc(plan_name, NAME_MAX)}*" if plan_name else ""
    by = f" by {user(actor)}" if actor else ""
    if state == "done":
        return f":white_check_mark: ~{name}~{plan}: done{by}."
    if state == "deleted":
        return f":wastebasket: *{name}*{plan} was deleted{by}."
    now_with = f"now with {user(to)}" if to else "no longer assigned to anyone"
    return f":arrow_right: *{name}*{plan} is {now_with} (reassigned{by})."


def closed_message(*, title: str, plan_id: int | None, plan_name: str | None, state: str,
                   actor: str | None, to: str | None = None) -> dict[str, Any]:
    """An earlier DM about an item, redrawn without its buttons: done, deleted or
    reassigned."""
    text = _closed_text(title=title, plan_name=plan_name, state=state, actor=actor, to=to)
    blocks = [section(text)]
    if plan_id is not None and state != "deleted":
        blocks.append(actions(button("Open plan", Action.OPEN_PLAN, str(plan_id))))
    return message(text, blocks)


def unassigned_notice(*, title: str, plan_id: int | None, plan_name: str | None, actor: str,
                      to: str | None) -> dict[str, Any]:
    name = esc(title, TITLE_MAX)
    plan = f" in *{esc(plan_name, NAME_MAX)}*" if plan_name else ""
    where = f"to {user(to)}" if to else "to nobody"
    text = f":arrow_right: {user(actor)} reassigned *{name}*{plan} {where}: it is no longer yours."
    blocks = [section(text)]
    if plan_id is not None:
        blocks.append(actions(button("Open plan", Action.OPEN_PLAN, str(plan_id))))
    return message(text, blocks)


def done_notice(facts, *, actor: str) -> dict[str, Any]:
    """To whoever assigned the item."""
    text = f":white_check_mark: {user(actor)} marked *{esc(facts.title, TITLE_MAX)}* done."
    blocks = [section(text), context(_where(facts)),
              actions(button("Open plan", Action.OPEN_PLAN, str(facts.plan_id)))]
    return message(text, blocks)


def _summary_line(facts, today: dt.date) -> str:
    return (f"*{esc(facts.title, TITLE_MAX)}* · {due_phrase(facts.due_date, today)}\n"
            f"_{esc(facts.plan_name, NAME_MAX)}_")


def summary_message(items: Sequence[Any], *, today: dt.date, more: int = 0) -> dict[str, Any]:
    """Monday's list of someone's open items, overdue first, each with "Mark done"."""
    count = len(items) + more
    shown = items[:MESSAGE_BLOCKS_MAX - 3]  # room for the heading, "more" and the footer
    more = count - len(shown)
    blocks = [section(f":spiral_calendar_pad: *Your open action items this week* ({count})")]
    for facts in shown:
        blocks.append(section(
            _summary_line(facts, today), block_id=f"{SUMMARY_ITEM}{facts.item_id}",
            accessory=button("Mark done", Action.REMINDER_DONE, str(facts.item_id), style="primary"),
        ))
    if more:
        blocks.append(context(f"…and {more} more on your App Home."))
    blocks.append(context("Mondays at 09:00 your time. Mute this summary on the app's Home tab."))
    return message(f"You have {count} open action item{'s' if count != 1 else ''} this week", blocks)


def summary_with_item_done(blocks: Sequence[dict[str, Any]], item_id: int, *, title: str,
                           text: str) -> dict[str, Any]:
    """The summary someone pressed "Mark done" in, with that item struck through."""
    done_block = section(f":white_check_mark: ~{esc(title, TITLE_MAX)}~ done",
                         block_id=f"{SUMMARY_ITEM}{item_id}")
    redrawn = [done_block if b.get("block_id") == f"{SUMMARY_ITEM}{item_id}" else b for b in blocks]
    return message(text, list(redrawn))


# ---------------------------------------------------------------------------
# One DM for several reminders


def _reminder_line(facts, today: dt.date) -> str:
    late = facts.due_date is not None and facts.due_date < today
    contact = contact_line(facts)
    return (f"{':warning:' if late else ':alarm_clock:'} *{esc(facts.title, TITLE_MAX)}* · "
            f"{due_phrase(facts.due_date, today)}\n{_where(facts)}" + (f"\n{contact}" if contact else ""))


def reminders_message(items: Sequence[Any], *, today: dt.date,
                      closed: dict[int, dict[str, Any]] | None = None) -> dict[str, Any]:
    """One person's reminders due at once (at most REMINDERS_MAX items), each line with
    its own "Mark done", snoozes and "Open plan". `closed` (item id -> state, actor, to):
    lines redrawn struck, without buttons (done, deleted, reassigned since)."""
    closed = closed or {}
    still = [f for f in items if f.item_id not in closed]
    late = sum(1 for f in still if f.due_date is not None and f.due_date < today)
    parts = ", ".join(p for p in (f"{late} overdue" if late else "",
                                  f"{len(still) - late} due soon" if len(still) > late else "") if p)
    count = len(items)
    heading = f":alarm_clock: *Reminder: {count} action items*" + (f" ({parts})" if parts else "")
    blocks = [section(heading)]
    for facts in items[:REMINDERS_MAX]:
        line = f"{REMINDER_LINE}{facts.item_id}"
        if facts.item_id in closed:
            blocks.append(section(_closed_text(title=facts.title, plan_name=facts.plan_name,
                                               **closed[facts.item_id]), block_id=line))
            continue
        blocks.append(section(_reminder_line(facts, today), block_id=line))
        blocks.append(_item_buttons(facts, block_id=f"{REMINDER_BUTTONS}{facts.item_id}"))
    blocks.append(context("Reminders go out at 09:00 your time: one DM for everything due that day."))
    return message(f"Reminder: {count} action items" + (f" ({parts})" if parts else ""), blocks)


def reminders_with_item(blocks: Sequence[dict[str, Any]], item_id: int, *, text: str,
                        line: str | None = None, note: str | None = None) -> dict[str, Any]:
    """A reminder DM about several items as someone sees it, with one item's line
    redrawn: replaced by `line` (its buttons go: done), or with `note` added (snoozed)."""
    line_id, buttons_id = f"{REMINDER_LINE}{item_id}", f"{REMINDER_BUTTONS}{item_id}"
    redrawn = []
    for block in blocks:
        if block.get("block_id") == line_id:
            if line is not None:
                block = section(line, block_id=line_id)
            elif note:
                old = (block.get("text") or {}).get("text") or ""
                block = section(f"{old.split(chr(10) + ':zzz:')[0]}\n{note}", block_id=line_id)
        elif block.get("block_id") == buttons_id and line is not None:
            continue
        redrawn.append(block)
    return message(text, redrawn)


def reminders_with_item_done(blocks: Sequence[dict[str, Any]], item_id: int, *, title: str,
                             plan_name: str | None, actor: str | None, text: str) -> dict[str, Any]:
    """The reminder DM someone pressed "Mark done" in (an older one), that line struck."""
    return reminders_with_item(blocks, item_id, text=text, line=_closed_text(
        title=title, plan_name=plan_name, state="done", actor=actor))


def snooze_note(until: dt.datetime) -> str:
    """`until` in the person's zone."""
    return f":zzz: Snoozed until {until.strftime('%a')} {day(until.date())}, {until.strftime('%H:%M')} your time"
