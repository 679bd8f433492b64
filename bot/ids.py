"""Ids Slack sends back to the app.

Action and view callback ids are built into views by blocks/ and listened for by bot/,
and blocks/ may not import bot/, so they live in blocks/ids.py. Ids that only bot/ and
app_manifest.yml know (slash command, shortcuts) are defined here.
"""

from __future__ import annotations

from enum import StrEnum


class Command(StrEnum):
    ACCOUNTPLAN = "/accountplan"


class Shortcut(StrEnum):
    """callback_id of the shortcuts declared in app_manifest.yml."""

    ADD_ACTION_ITEM = "add_action_item_shortcut"

