"""The domain's errors. Services raise these; only booking/web/errors.py maps them to HTTP."""

from __future__ import annotations


class BookingError(Exception):
    """Base of every domain error: a stable machine `code`, a message, optionally the field."""

    code = "error"
    # True when the transaction must still commit: a failed login's count and audit event.
    keeps_changes = False

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        code: str | None = None,
        problems: list[tuple[str, str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if code is not None:
            self.code = code
        # Every (field, reason) found, when a check reports more than one at once.
        self.problems = problems or ([(field, message)] if field else [])


class Unauthenticated(BookingError):
    """No valid session or token, or the credentials were wrong."""

    code = "unauthenticated"


class TooManyRequests(BookingError):
    """Throttled; `retry_after` seconds until the next attempt may succeed."""

    code = "too_many_requests"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = max(1, retry_after)


class Unavailable(BookingError):
    """The database is busy or unreachable: nothing was done; try again after `retry_after`."""

    code = "unavailable"

    def __init__(self, message: str, *, code: str, retry_after: int) -> None:
        super().__init__(message, code=code)
        self.retry_after = max(1, retry_after)


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
