"""Typed errors raised by plan operations.

Listeners map ValidationError(field) to a modal field error and everything else to
a short ephemeral message; the CLI prints the message. Nothing here knows Slack.
"""

from __future__ import annotations


class PlanError(Exception):
    """Base of every error an operation raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ValidationError(PlanError):
    """One field of the input is wrong; `field` names it (e.g. "end_date")."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class PermissionDenied(PlanError):
    """The acting user may read but not change this plan."""


class NotFound(PlanError):
    """No such record in the acting user's workspace."""


class Conflict(PlanError):
    """Someone else saved the record since it was read; nothing was saved."""
