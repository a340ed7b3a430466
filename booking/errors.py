"""The domain's errors. Services raise these; only booking/web/errors.py maps them to HTTP."""

from __future__ import annotations


class BookingError(Exception):
    """Base of every domain error: a stable machine `code`, a message, optionally the field."""

    code = "error"

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if code is not None:
            self.code = code


class NotFound(BookingError):
    code = "not_found"


class PermissionDenied(BookingError):
    code = "permission_denied"


class Conflict(BookingError):
    code = "conflict"


class RuleViolation(BookingError):
    """The request is well formed but a rule of the domain forbids it."""

    code = "rule_violation"


class InvalidInput(BookingError):
    """A value at the edge is malformed or out of range."""

    code = "invalid_input"
