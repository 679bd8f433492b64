"""Ids Slack sends back to the app.

Action and view callback ids are built into views by blocks/ and listened for here, and
blocks/ may not import bot/, so they live in blocks/ids.py and are re-exported here:
one definition for both sides. Ids that only bot/ and app_manifest.yml know (slash
command, shortcuts) are defined here.
"""

from __future__ import annotations

from enum import StrEnum

from blocks.ids import Action, Callback, Verb, menu_value, parse_menu_value


class Command(StrEnum):
    ACCOUNTPLAN = "/accountplan"


class Shortcut(StrEnum):
    """callback_id of the shortcuts declared in app_manifest.yml."""

    ADD_ACTION_ITEM = "add_action_item_shortcut"


__all__ = ["Action", "Callback", "Command", "Shortcut", "Verb", "menu_value", "parse_menu_value"]
