"""Plan templates: "Start from" in the new-plan form, "Save as template", the list.

A template is named by its key: "builtin:key_account" and "builtin:goals" for the two
built in (storage's code), a workspace template's key as the caller passes it (e.g. its
id as text). Blank (no template) is BLANK.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from blocks.ids import Action, Callback, Verb
from blocks.inputs import modal, select_input, text_input
from blocks.kit import actions, button, confirm, context, esc, section, user
from blocks.messages import MESSAGE_BLOCKS_MAX
from storage.domain import NAME_MAX

START_FROM = "template"  # the block id of "Start from"
BLANK = "blank"
TEMPLATE_NAME = "name"   # the block id of "Template name" (storage's field name)
OPTIONS_MAX = 100
CONFIRM_NAME_MAX = 180  # of the 300 characters of a confirmation dialog's text


def start_from_input(templates: Sequence[tuple[str, str]], *, initial: str | None = None) -> dict[str, Any]:
    """"Start from": Blank, then `templates` [(key, name)] in the order given (built-ins
    first, then the workspace's), at most 100 options in all."""
    choices = [("Blank", BLANK)] + [(name, key) for key, name in templates][:OPTIONS_MAX - 1]
    return select_input(START_FROM, "Start from", choices, initial=initial or BLANK)


def chosen_template(values: Mapping[str, Any]) -> str | None:
    """The template key picked in a submitted new-plan form; None for Blank or no choice."""
    key = values.get(START_FROM)
    return None if key in (None, BLANK) else key


def _intro(plan_name: str) -> str:
    return (f"Save the structure of *{esc(plan_name, 200)}* as a template for new plans: strategies, "
            "objectives with their measures, action items with due dates counted from the start, "
            "and SWOT prompts. No dates, people, progress or notes are kept.")


def save_template_modal(
    *,
    plan_name: str,
    callback_id: str = Callback.TEMPLATE_FORM,
    initial_name: str | None = None,
    metadata: str = "",
) -> dict[str, Any]:
    """"Save as template": one input, "Template name" (block id "name")."""
    blocks = [
        section(_intro(plan_name)),
        text_input(TEMPLATE_NAME, "Template name", initial=initial_name,
                   max_length=NAME_MAX, hint="Everyone in the workspace can start a plan from it."),
    ]
    return modal(callback_id, "Save as template", blocks, private_metadata=metadata)


def rename_template_modal(
    *,
    name: str,
    callback_id: str = Callback.TEMPLATE_RENAME_FORM,
    metadata: str = "",
) -> dict[str, Any]:
    """Rename a workspace template: "Template name" (block id "name") filled in."""
    blocks = [text_input(TEMPLATE_NAME, "Template name", initial=name[:NAME_MAX], max_length=NAME_MAX)]
    return modal(callback_id, "Rename template", blocks, private_metadata=metadata)


def _delete_button(template_id: int, name: str) -> Any:
    """"Delete", behind Slack's confirmation dialog: a template is gone for everyone.
    (The dialog's text holds 300 characters: a name escaped long is cut shorter.)"""
    shown = esc(name, CONFIRM_NAME_MAX)
    if len(shown) > CONFIRM_NAME_MAX:
        shown = esc(name, CONFIRM_NAME_MAX // 5)  # "&" escaped is five characters
    return button("Delete", Action.TEMPLATE_MENU, f"{Verb.DELETE}:{template_id}", style="danger",
                  confirm=confirm("Delete this template?",
                                  f"*{shown}* will be gone for everyone in the workspace. "
                                  "Plans already started from it do not change.", "Delete"))


def templates_message(templates: Sequence[Any], *, changeable: Collection[int] = ()) -> dict[str, Any]:
    """The workspace's templates as an ephemeral message. Each template: `name`, `id`
    (None for a built-in one), optionally `owner_id`. Those whose id is in `changeable`
    (the person may rename or delete them) get "Rename" ("edit:<id>") beside the line
    and, under it, "Delete" ("delete:<id>") behind a confirmation dialog: two blocks, so
    fewer fit in the message's 50 (the rest are counted)."""
    blocks = [section("*Plan templates*")]
    room = MESSAGE_BLOCKS_MAX - 3  # the heading, a "more" line, the footer
    shown = 0
    for template in templates:
        template_id = getattr(template, "id", None)
        mine = template_id is not None and template_id in changeable
        if room < (2 if mine else 1):
            break
        if template_id is None:
            blocks.append(section(f"*{esc(template.name, NAME_MAX)}* · built in"))
        else:
            owner = getattr(template, "owner_id", None)
            line = f"*{esc(template.name, NAME_MAX)}*" + (f" · saved by {user(owner)}" if owner else "")
            rename = button("Rename", Action.TEMPLATE_MENU, f"{Verb.EDIT}:{template_id}") if mine else None
            blocks.append(section(line, accessory=rename.to_dict() if rename else None))
            if mine:
                blocks.append(actions(_delete_button(template_id, template.name),
                                      block_id=f"template_{template_id}"))
        room -= 2 if mine else 1
        shown += 1
    if len(templates) > shown:
        blocks.append(context(f"…and {len(templates) - shown} more."))
    blocks.append(context("Start a plan from one with `/accountplan new`; save a plan as one with "
                          "*Save as template* in its view."))
    return {"text": f"Plan templates: {len(templates)}", "blocks": blocks}
