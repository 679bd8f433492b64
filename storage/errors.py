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
    """Fields of the input are wrong: `errors` maps each to its message (field → message,
    in the order of the input), so a form can show every one at once.

    `field` and `message` are the first of them (e.g. "end_date"), for callers that show
    one. `ValidationError.of(errors)` builds one from a collected mapping.
    """

    def __init__(self, field: str, message: str, *, errors: dict[str, str] | None = None) -> None:
        found = {field: message}
        for other, text in (errors or {}).items():
            found.setdefault(other, text)
        super().__init__("; ".join(f"{name}: {text}" for name, text in found.items()))
        self.field = field
        self.message = message
        self.errors = found

    @classmethod
    def of(cls, errors: dict[str, str]) -> ValidationError:
        """One error carrying every field error of `errors` (at least one)."""
        field, message = next(iter(errors.items()))
        return cls(field, message, errors=errors)


class PermissionDenied(PlanError):
    """The acting user may read but not change this plan."""


class NotFound(PlanError):
    """No such record in the acting user's workspace."""


class Conflict(PlanError):
    """Someone else saved the record since it was read; nothing was saved."""
