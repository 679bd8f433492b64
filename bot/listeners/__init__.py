"""Listeners, one module per Slack surface; each has `register(app)`.

To add a surface: write bot/listeners/<surface>.py with `def register(app): ...` (and a
`SUBCOMMANDS` table if it answers /accountplan words) and add the module to SURFACES.
Listeners are the leaves of the app: nothing but the app factory (bot/app.py) and the
manifest (bot/manifest.py) imports them (tests/test_import_rules.py).
"""

from __future__ import annotations

from slack_bolt import App

from bot.listeners import (
    action_items,
    agreements,
    commands,
    customer_items,
    digest_settings,
    digests,
    home,
    objectives,
    plan_forms,
    plans,
    progress,
    qbrs,
    reminders,
    shortcuts,
    stakeholders,
    strategies,
    swot,
    templates,
)

SURFACES = (commands, plans, plan_forms, strategies, objectives, action_items, swot, digests, qbrs,
            digest_settings, home, shortcuts, reminders, stakeholders, progress, templates, agreements,
            customer_items)


def register(app: App) -> None:
    for surface in SURFACES:
        if surface is commands:
            commands.register(app, SURFACES)  # the router, with every surface's words
        else:
            surface.register(app)
