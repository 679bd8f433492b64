"""Customer-owned action items: the reminder posted in the plan's customer channel
(mentioning the person, with "Mark done" and "Need more time"), how it reads once done
or moved, the DM to the follow-up owner when the channel cannot be used, the "Need more
time" modal, and the item and plan form inputs that name a customer owner.

Everything posted to the customer channel is about one item shown to customers (it,
its objective and its strategy shared: the scheduler checks before posting): its
title, due date, and the plan › strategy › objective it is under. Nothing else.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from enum import StrEnum
from typing import Any

from blocks.ids import Action
from blocks.inputs import channel_input, date_input, modal, select_input, user_input
from blocks.kit import actions, button, context, esc, section, user
from blocks.messages import MESSAGE_BLOCKS_MAX, message
from blocks.reminders import NAME_MAX, OVERDUE, REMINDER_BUTTONS, REMINDER_LINE, SNOOZED, TITLE_MAX, due_phrase


class CustomerAction(StrEnum):
    """Buttons of the customer channel message (value: the action item id)."""

    DONE = "customer_item_done"
    MORE_TIME = "customer_item_more_time"


MORE_TIME_FORM = "customer_more_time_form"
BUTTONS = "customer_item_buttons"

# Block ids of the item form's and plan form's inputs (storage.customer_items' fields).
CONTACT = "customer_contact"
FOLLOW_UP = "follow_up"
CHANNEL = "customer_channel"

# Why a customer-owned item's reminder went to its follow-up owner instead.
NO_CHANNEL = "no_channel"
NOT_SHARED = "not_shared"
# Items in one DM to a follow-up owner: two blocks each under a heading; more go in
# further DMs (bot/scheduler/customer_reminders.py).
FOLLOW_UP_ITEMS_MAX = (MESSAGE_BLOCKS_MAX - 1) // 2
_WHY = {
    NO_CHANNEL: ("The plan has no customer channel, so I couldn't remind them there. Set "
                 "“Customer channel” in the plan form, or follow it up with them."),
    NOT_SHARED: ("It isn't shared with the customer (it, its objective and its strategy must be "
                 "marked “Shared with customer”), so I didn't post it in the customer channel. "
                 "Follow it up with them."),
}


def _where(facts) -> str:
    return (f"*{esc(facts.plan_name, NAME_MAX)}* › {esc(facts.strategy, NAME_MAX)} "
            f"› {esc(facts.objective, NAME_MAX)}")


def _buttons(facts) -> dict[str, Any]:
    item = str(facts.item_id)
    return actions(button("Mark done", CustomerAction.DONE, item, style="primary"),
                   button("Need more time", CustomerAction.MORE_TIME, item), block_id=BUTTONS)


# ---------------------------------------------------------------------------
# In the customer channel


def channel_reminder(facts, kind: str, *, today: dt.date) -> dict[str, Any]:
    """The reminder of one customer-owned item, mentioning its person."""
    title = esc(facts.title, TITLE_MAX)
    late = kind == OVERDUE or (facts.due_date is not None and facts.due_date < today)
    headline = (f":warning: {user(facts.assignee_id)}, this action item is overdue" if late else
                f":alarm_clock: {user(facts.assignee_id)}, a reminder of your action item")
    if kind == SNOOZED:
        headline = f":alarm_clock: {user(facts.assignee_id)}, a reminder of your action item"
    blocks = [section(f"{headline}\n*{title}*\n:calendar: {due_phrase(facts.due_date, today)}"),
              context(_where(facts)), _buttons(facts)]
    return message(f"Reminder for {user(facts.assignee_id)}: {title}", blocks)


def channel_done(facts, *, actor: str) -> dict[str, Any]:
    """The channel message once the item is done: no buttons."""
    text = f":white_check_mark: ~{esc(facts.title, TITLE_MAX)}~: done, marked by {user(actor)}."
    return message(text, [section(text), context(_where(facts))])


def channel_closed() -> dict[str, Any]:
    """The channel message once its item may no longer be shown there (unshared, its
    objective or strategy unshared, or gone): it names nothing and has no buttons."""
    text = ":information_source: This reminder was updated and is no longer shown here."
    return message(text, [section(text)])


def channel_moved(facts, *, actor: str, today: dt.date) -> dict[str, Any]:
    """The channel message after "Need more time": the new date, buttons kept."""
    title = esc(facts.title, TITLE_MAX)
    text = f":calendar: {user(actor)} asked for more time on *{title}*: now {due_phrase(facts.due_date, today)}."
    return message(f"More time: {title}", [section(text), context(_where(facts)), _buttons(facts)])


# ---------------------------------------------------------------------------
# To the follow-up owner


def more_time_notice(facts, *, actor: str, today: dt.date) -> dict[str, Any]:
    """To the follow-up owner: the customer moved their item's date."""
    text = (f":calendar: {user(actor)} asked for more time on *{esc(facts.title, TITLE_MAX)}*: "
            f"now {due_phrase(facts.due_date, today)}.")
    return message(text, [section(text), context(_where(facts)),
                          actions(button("Open plan", Action.OPEN_PLAN, str(facts.plan_id)))])


def follow_up_reminder(items: Sequence[Any], *, customer: str, why: str, today: dt.date) -> dict[str, Any]:
    """A DM to the follow-up owner about a customer's items that could not be reminded
    in the customer channel (`why`: NO_CHANNEL or NOT_SHARED), each with "Mark done";
    at most FOLLOW_UP_ITEMS_MAX (the caller sends the rest in further DMs). Each line
    and its buttons carry the reminder DM's block ids, so "Mark done" strikes that
    line only (bot/listeners/reminders.py)."""
    shown = list(items)
    if len(shown) > FOLLOW_UP_ITEMS_MAX:
        raise ValueError(f"at most {FOLLOW_UP_ITEMS_MAX} items in one DM, not {len(shown)}")
    count = len(shown)
    noun = "an action item" if count == 1 else f"{count} action items"
    blocks = [section(f":bust_in_silhouette: *Reminder: {noun} of {user(customer)} (customer) you follow up*\n"
                      f"{_WHY[why]}")]
    for facts in shown:
        blocks.append(section(f"*{esc(facts.title, TITLE_MAX)}* · {due_phrase(facts.due_date, today)}\n"
                              f"{_where(facts)}", block_id=f"{REMINDER_LINE}{facts.item_id}"))
        blocks.append(actions(button("Mark done", Action.REMINDER_DONE, str(facts.item_id), style="primary"),
                              button("Open plan", Action.OPEN_PLAN, str(facts.plan_id)),
                              block_id=f"{REMINDER_BUTTONS}{facts.item_id}"))
    return message(f"Reminder: {noun} of {user(customer)} (customer) you follow up", blocks)


# ---------------------------------------------------------------------------
# Forms


def more_time_modal(facts, *, metadata: str) -> dict[str, Any]:
    """"Need more time": a new due date (block id due_date, storage's field)."""
    blocks = [section(f"*{esc(facts.title, TITLE_MAX)}*\nPick a new due date within the plan."),
              date_input("due_date", "New due date", initial=facts.due_date)]
    return modal(MORE_TIME_FORM, "Need more time", blocks, submit="Save", private_metadata=metadata)


def owner_inputs(contacts: Sequence[tuple[str, str]], *, contact: int | None = None,
                 follow_up: str | None = None) -> list[dict[str, Any]]:
    """The item form's "Customer contact" (the plan's customer contacts without Slack;
    only when it has some) and "Follow-up"."""
    blocks = []
    if contacts:
        blocks.append(select_input(CONTACT, "Customer contact", contacts,
                                   initial=str(contact) if contact else None, optional=True))
    blocks.append(user_input(FOLLOW_UP, "Follow-up", initial=follow_up, optional=True,
                             hint="The team member who follows up an item the customer owns: told when "
                                  "it is done, and reminded for a contact without Slack. Empty: you."))
    return blocks


def customer_channel_input(initial: str | None) -> dict[str, Any]:
    """The plan form's "Customer channel" (optional)."""
    return channel_input(CHANNEL, "Customer channel", optional=True, initial=initial,
                         hint="The channel shared with the customer (Slack Connect): reminders of the "
                              "items the customer owns go there, with only the parts shared with them.")
