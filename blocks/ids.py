"""Action and callback ids: the contract between the views (blocks/) and the
listeners (bot/). They live here because bot/ imports blocks/, never the reverse.

Overflow menus carry "<verb>:<record id>" values (see `menu_value`).
"""

from __future__ import annotations

from enum import StrEnum


class Action(StrEnum):
    NEW_PLAN = "plan_new"
    OPEN_PLAN = "plan_open"
    EDIT_PLAN = "plan_edit"
    COPY_PLAN = "plan_copy"
    PREVIOUS_PAGE = "page_previous"
    NEXT_PAGE = "page_next"
    SHOW_SWOT = "swot_show"
    BACK_TO_PLAN = "plan_back"
    ADD_STRATEGY = "strategy_add"
    ADD_OBJECTIVE = "objective_add"
    ADD_ACTION_ITEM = "item_add"
    ADD_SWOT = "swot_add"
    STRATEGY_MENU = "strategy_menu"
    OBJECTIVE_MENU = "objective_menu"
    ITEM_MENU = "item_menu"
    SWOT_MENU = "swot_menu"
    MARK_DONE = "item_done"
    POST_DIGEST = "digest_post"
    LOG_QBR = "qbr_log"
    PUBLISH_CANVAS = "canvas_publish"
    DIGEST_SETTINGS = "digest_settings"
    REMOVE_SUBSCRIPTION = "subscription_remove"
    # Reminder DMs and the weekly summary (value: the action item id)
    REMINDER_DONE = "reminder_done"
    SNOOZE_DAY = "reminder_snooze_day"
    SNOOZE_WEEK = "reminder_snooze_week"
    # App Home: the weekly summary on or off; the plan form: first reminder lead time
    MUTE_SUMMARY = "summary_mute"
    UNMUTE_SUMMARY = "summary_unmute"
    REMINDER_LEAD = "reminder_lead"
    # Key stakeholders (plan view): add, and each line's menu ("<verb>:<stakeholder id>":
    # edit, contact = log a contact today, delete = remove)
    ADD_STAKEHOLDER = "stakeholder_add"
    STAKEHOLDER_MENU = "stakeholder_menu"
    # Progress check-in DMs (value: the objective id) opening the "Update progress" modal
    UPDATE_PROGRESS = "progress_update"
    # Templates: "Save as template" on a plan (value: the plan id); a template's menu in
    # the templates list ("edit:<id>" = rename, "delete:<id>")
    SAVE_AS_TEMPLATE = "template_save"
    TEMPLATE_MENU = "template_menu"


class Callback(StrEnum):
    PLAN_NEW = "plan_new_form"
    PLAN_EDIT = "plan_edit_form"
    PLAN_VIEW = "plan_view"
    STRATEGY_FORM = "strategy_form"
    OBJECTIVE_FORM = "objective_form"
    ACTION_ITEM_FORM = "action_item_form"
    SWOT_FORM = "swot_form"
    COPY_FORM = "copy_form"
    DELETE_FORM = "delete_form"
    DIGEST_FORM = "digest_form"
    QBR_FORM = "qbr_form"
    CANVAS_FORM = "canvas_form"
    SUBSCRIPTION_FORM = "subscription_form"
    STAKEHOLDER_FORM = "stakeholder_form"
    PROGRESS_FORM = "progress_form"
    TEMPLATE_FORM = "template_form"          # "Save as template"
    TEMPLATE_RENAME_FORM = "template_rename_form"


class Verb(StrEnum):
    ADD = "add"
    EDIT = "edit"
    UP = "up"
    DOWN = "down"
    DELETE = "delete"
    DONE = "done"
    REOPEN = "reopen"
    LOG_CONTACT = "contact"


def menu_value(verb: Verb, record_id: int) -> str:
    return f"{verb.value}:{record_id}"


def parse_menu_value(value: str) -> tuple[Verb, int]:
    verb, _, record_id = value.partition(":")
    return Verb(verb), int(record_id)
