"""Map errors to RFC 9457 problem details with the field and the reason; never leak a trace."""

from __future__ import annotations

import logging
import re
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.status_codes import (
    HTTP_204_NO_CONTENT,
    HTTP_400_BAD_REQUEST,
    HTTP_401_UNAUTHORIZED,
    HTTP_403_FORBIDDEN,
    HTTP_404_NOT_FOUND,
    HTTP_409_CONFLICT,
    HTTP_422_UNPROCESSABLE_ENTITY,
    HTTP_429_TOO_MANY_REQUESTS,
    HTTP_500_INTERNAL_SERVER_ERROR,
    HTTP_503_SERVICE_UNAVAILABLE,
)
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from booking.db.errors import as_conflict, as_unavailable
from booking.errors import (
    BookingError,
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    RuleViolation,
    TooManyRequests,
    Unauthenticated,
    Unavailable,
)
from booking.web.fields import CONTROL_REASON, MULTI_LINE, MULTI_LINE_CONTROL_REASON, ONE_LINE
from booking.web.redaction import redact
from booking.web.request_id import current_request_id

log = logging.getLogger("booking.web")
# msgspec's words for a text field's pattern, in a person's words instead of the regex
_PATTERN_REASONS = {
    f"Expected `str` matching regex {ONE_LINE!r}": CONTROL_REASON,
    f"Expected `str` matching regex {MULTI_LINE!r}": MULTI_LINE_CONTROL_REASON,
}
_MISSING = re.compile(r"Missing required (\w+) parameter '([^']+)'")
_NAMED_FIELD = re.compile(r"(missing required|unknown) field `([^`]+)`")
PROBLEM_JSON = "application/problem+json"

_STATUS: dict[type[BookingError], int] = {
    InvalidInput: HTTP_400_BAD_REQUEST,
    Unauthenticated: HTTP_401_UNAUTHORIZED,
    TooManyRequests: HTTP_429_TOO_MANY_REQUESTS,
    Unavailable: HTTP_503_SERVICE_UNAVAILABLE,
    NotFound: HTTP_404_NOT_FOUND,
    PermissionDenied: HTTP_403_FORBIDDEN,
    Conflict: HTTP_409_CONFLICT,
    RuleViolation: HTTP_422_UNPROCESSABLE_ENTITY,
}
_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    415: "Unsupported media type",
    422: "Unprocessable content",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}


def problem(
    status: int,
    detail: str,
    code: str,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[dict[str, Any]]:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "code": code,
    }
    if errors:
        body["errors"] = errors
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def status_of(exc: BookingError) -> int:
    return next(
        (code for kind, code in _STATUS.items() if isinstance(exc, kind)), HTTP_400_BAD_REQUEST
    )


def domain_error(_: Request[Any, Any, Any], exc: BookingError) -> Response[dict[str, Any]]:
    status = status_of(exc)
    errors = [{"field": field, "reason": reason} for field, reason in exc.problems] or None
    headers: dict[str, str] = {}
    if isinstance(exc, (TooManyRequests, Unavailable)):
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, Unauthenticated):
        headers["WWW-Authenticate"] = 'Bearer realm="booking"'
    return problem(status, exc.message, exc.code, errors, headers or None)


def validation_error(
    _: Request[Any, Any, Any], exc: ValidationException
) -> Response[dict[str, Any]]:
    errors: list[dict[str, Any]] = []
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if isinstance(item, dict):
            key = item.get("key")
            if key == "data" and item.get("message") == "'data'":  # Litestar's words for no body
                errors.append(
                    {"field": "body", "source": "body", "reason": "a JSON body is required"}
                )
                continue
            named = _NAMED_FIELD.search(str(item.get("message", "")))
            if key == "data" and named:  # msgspec names a missing or unknown field only here
                errors.append({"field": named[2], "source": "body", "reason": f"{named[1]} field"})
                continue
            errors.append(
                {
                    # `from_` and the like: a query name that is a Python keyword gets a trailing _
                    "field": key.rstrip("_") if isinstance(key, str) else key,
                    "source": item.get("source"),
                    "reason": _PATTERN_REASONS.get(str(item.get("message")), item.get("message")),
                }
            )
    missing = _MISSING.search(str(exc.detail))
    if not errors and missing:  # Litestar names a missing parameter only in its message
        errors.append({"field": missing[2], "source": missing[1], "reason": "required"})
    fields = ", ".join(str(e["field"]) for e in errors if e.get("field"))
    detail = f"invalid value for {fields}" if fields else str(exc.detail)
    return problem(HTTP_400_BAD_REQUEST, detail, "invalid_input", errors or None)


def http_error(_: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    headers = dict(exc.headers) if exc.headers else None
    return problem(exc.status_code, str(exc.detail), "http_error", headers=headers)


def integrity_error(
    request: Request[Any, Any, Any], exc: IntegrityError
) -> Response[dict[str, Any]]:
    return domain_error(request, as_conflict(exc))


def database_error(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    unavailable = as_unavailable(exc)
    if unavailable is None:
        return unexpected_error(request, exc)
    log.warning("%s on %s %s: %s", unavailable.code, request.method, redact(request.url.path), exc)
    return domain_error(request, unavailable)


def unexpected_error(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    log.error("unhandled error on %s %s", request.method, redact(request.url.path), exc_info=exc)
    response = problem(HTTP_500_INTERNAL_SERVER_ERROR, "an unexpected error occurred", "internal")
    # What the user quotes to the operator, who finds the log line (and its traceback) by it.
    response.content["request_id"] = current_request_id()
    return response


EXCEPTION_HANDLERS: dict[Any, Any] = {
    BookingError: domain_error,
    ValidationException: validation_error,
    HTTPException: http_error,
    IntegrityError: integrity_error,
    # A busy or unreachable database (SQLite's lock, a PostgreSQL restart, a full pool): 503.
    SQLAlchemyError: database_error,
    OSError: database_error,
    HTTP_500_INTERNAL_SERVER_ERROR: unexpected_error,
}


class FieldProblem(msgspec.Struct):
    field: str | None
    reason: str
    source: str | None = None


class ProblemDetails(msgspec.Struct):
    """RFC 9457 problem details, as every error of the API is answered."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    errors: list[FieldProblem] | None = None


_DESCRIPTIONS = {
    400: "Malformed input: the field and the reason",
    401: "Not logged in, or the credentials are wrong",
    403: "Logged in, but not allowed (role, facility, CSRF)",
    404: "No such thing, or not yours to see",
    409: "Conflicts with the current state",
    415: "The body must be application/json",
    422: "Well formed, but a rule forbids it",
    429: "Too many attempts: see Retry-After",
    503: "The database is busy or unreachable: see Retry-After",
}


def error_responses(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI entries for the errors a route can answer."""
    return {
        status: ResponseSpec(
            data_container=ProblemDetails,
            description=_DESCRIPTIONS[status],
            media_type=PROBLEM_JSON,
        )
        for status in statuses
    }


def no_content(description: str) -> dict[int, ResponseSpec]:
    """The OpenAPI entry of a 204 that a handler answers with a Response (to set a cookie):
    no body, where Litestar would describe `null` JSON."""
    return {HTTP_204_NO_CONTENT: ResponseSpec(data_container=None, description=description)}
