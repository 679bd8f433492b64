"""Form inputs and the modal wrapper every form of blocks/ is built from.

Every input gets `action_id="value"` and a block id named for the field it fills
(the plan operations' field names), so `blocks.forms.form_values` reads a submission
back as {field: value} and a storage ValidationError(field) lands on its input.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from slack_sdk.models.blocks import (
    CheckboxesElement,
    ConversationFilter,
    ConversationSelectElement,
    DatePickerElement,
    InputBlock,
    NumberInputElement,
    OptionGroup,
    PlainTextInputElement,
    StaticSelectElement,
    TimePickerElement,
    UserMultiSelectElement,
    UserSelectElement,
)
from slack_sdk.models.views import View

from blocks.kit import option, plain
from blocks.written_plan import format_number
from storage.domain import TITLE_MAX

# ---------------------------------------------------------------------------
# Inputs


def _input(block_id: str, label: str, element, *, optional: bool = False,
           hint: str | None = None) -> dict[str, Any]:
    """An input block around `element`: every input of our forms is built here."""
    return InputBlock(
        block_id=block_id,
        label=plain(label, 2000),
        element=element,
        optional=optional,
        hint=plain(hint, 2000) if hint else None,
    ).to_dict()


def text_input(
    block_id: str,
    label: str,
    *,
    initial: str | None = None,
    max_length: int = TITLE_MAX,
    multiline: bool = False,
    optional: bool = False,
    placeholder: str | None = None,
    hint: str | None = None,
) -> dict[str, Any]:
    element = PlainTextInputElement(
        action_id="value",
        initial_value=(initial or None),
        max_length=max_length,
        multiline=multiline,
        placeholder=plain(placeholder, 150) if placeholder else None,
    )
    return _input(block_id, label, element, optional=optional, hint=hint)


def date_input(
    block_id: str, label: str, *, initial: dt.date | None = None, optional: bool = False
) -> dict[str, Any]:
    element = DatePickerElement(
        action_id="value", initial_date=initial.isoformat() if initial else None
    )
    return _input(block_id, label, element, optional=optional)


def select_input(
    block_id: str,
    label: str,
    choices: Sequence[tuple[str, str]],
    *,
    initial: str | None = None,
    optional: bool = False,
) -> dict[str, Any]:
    options = [option(text, value) for text, value in choices][:100]
    initial_option = next((o for o in options if o.value == initial), None)
    element = StaticSelectElement(action_id="value", options=options, initial_option=initial_option)
    return _input(block_id, label, element, optional=optional)


def grouped_select_input(
    block_id: str,
    label: str,
    groups: Sequence[tuple[str, Sequence[tuple[str, str]]]],
    *,
    initial: str | None = None,
) -> dict[str, Any]:
    """A select with option groups (e.g. objectives under their strategy)."""
    option_groups = []
    initial_option = None
    budget = 100  # a select holds at most 100 options in all
    for group_label, choices in groups:
        options = [option(text, value) for text, value in choices][:budget]
        if not options:
            continue
        budget -= len(options)
        initial_option = initial_option or next((o for o in options if o.value == initial), None)
        option_groups.append(OptionGroup(label=plain(group_label, 75), options=options))
        if budget <= 0:
            break
    element = StaticSelectElement(
        action_id="value", option_groups=option_groups[:100], initial_option=initial_option
    )
    return _input(block_id, label, element)


def user_input(
    block_id: str, label: str, *, initial: str | None = None, optional: bool = False,
    hint: str | None = None,
) -> dict[str, Any]:
    element = UserSelectElement(action_id="value", initial_user=initial or None)
    return _input(block_id, label, element, optional=optional, hint=hint)


def users_input(
    block_id: str, label: str, *, initial: Sequence[str] = (), optional: bool = True
) -> dict[str, Any]:
    element = UserMultiSelectElement(action_id="value", initial_users=list(initial) or None)
    return _input(block_id, label, element, optional=optional)


def number_input(
    block_id: str, label: str, *, initial: Decimal | None = None, hint: str | None = None
) -> dict[str, Any]:
    element = NumberInputElement(
        action_id="value",
        is_decimal_allowed=True,
        initial_value=format_number(initial) if initial is not None else None,
    )
    return _input(block_id, label, element, optional=True, hint=hint)


def checkboxes_input(
    block_id: str,
    label: str,
    choices: Sequence[tuple[str, str]],
    *,
    checked: Sequence[str] = (),
    hint: str | None = None,
) -> dict[str, Any]:
    options = [option(text, value) for text, value in choices]
    initial = [o for o in options if o.value in checked]
    element = CheckboxesElement(action_id="value", options=options, initial_options=initial or None)
    return _input(block_id, label, element, optional=True, hint=hint)


MODAL_BLOCKS_MAX = 100


def modal(
    callback_id: str,
    title: str,
    blocks: list[dict[str, Any]],
    *,
    submit: str | None = "Save",
    close: str = "Cancel",
    private_metadata: str = "",
) -> dict[str, Any]:
    # The envelope through slack_sdk's View (title, buttons, metadata checked); the
    # blocks as they are, already built and checked one by one: View(blocks=…) parsed
    # every block back into models and wrote it out again, 12 % of a busy server's CPU
    # (py-spy, bench_answers at 20/s). Block Kit allows 100 blocks in a modal.
    if not 1 <= len(blocks) <= MODAL_BLOCKS_MAX:
        raise ValueError(f"a modal holds 1 to {MODAL_BLOCKS_MAX} blocks, not {len(blocks)}")
    view = View(
        type="modal",
        callback_id=callback_id,
        title=plain(title, 24),
        submit=plain(submit, 24) if submit else None,
        close=plain(close, 24),
        blocks=[{"type": "divider"}],  # View wants one; replaced below
        private_metadata=private_metadata or None,
    ).to_dict()
    view["blocks"] = [b.to_dict() if hasattr(b, "to_dict") else b for b in blocks]
    return view


def channel_input(block_id: str, label: str, *, hint: str | None = None, optional: bool = False,
                  initial: str | None = None) -> dict[str, Any]:
    """A channel picker: public and private channels, no DMs with bots.

    Modals opened from buttons have no "current conversation", so nothing is preselected
    (`initial`: the channel a form's record has).
    """
    element = ConversationSelectElement(
        action_id="value",
        initial_conversation=initial or None,
        filter=ConversationFilter(include=["public", "private"], exclude_bot_users=True),
    )
    return _input(block_id, label, element, hint=hint, optional=optional)


def time_input(block_id: str, label: str, *, initial: dt.time | None = None,
               hint: str | None = None) -> dict[str, Any]:
    element = TimePickerElement(action_id="value",
                                initial_time=initial.strftime("%H:%M") if initial else None)
    return _input(block_id, label, element, hint=hint)
