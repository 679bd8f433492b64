"""Listeners, one module per Slack surface; each has `register(app)`.

To add a surface: write bot/listeners/<surface>.py with `def register(app): ...` and
add the module to SURFACES.
"""

from __future__ import annotations

from slack_bolt import App

from bot.listeners import commands

SURFACES = (commands,)


def register(app: App) -> None:
    for surface in SURFACES:
        surface.register(app)
