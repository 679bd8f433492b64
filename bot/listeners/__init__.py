"""Listeners, one module per Slack surface; each has `register(app)`.

To add a surface: write bot/listeners/<surface>.py with `def register(app): ...` (and a
`SUBCOMMANDS` table if it answers /accountplan words) and add the module to SURFACES.
"""

from __future__ import annotations

from slack_bolt import App

from bot.listeners import (
    action_items,
    commands,
    digests,
    home,
    objectives,
    plans,
    reminders,
    shortcuts,
    strategies,
    swot,
)

SURFACES = (commands, plans, strategies, objectives, action_items, swot, digests, home, shortcuts,
            reminders)


def register(app: App) -> None:
    for surface in SURFACES:
        if surface is commands:
            commands.register(app, SURFACES)  # the router, with every surface's words
        else:
            surface.register(app)
