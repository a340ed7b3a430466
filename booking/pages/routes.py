"""The pages as one Litestar router: HTML errors, security headers, the static files."""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response, Router
from litestar.config.compression import CompressionConfig
from litestar.datastructures import CacheControlHeader
from litestar.exceptions import HTTPException, NotFoundException, ValidationException
from litestar.middleware import DefineMiddleware
from litestar.middleware.compression import CompressionMiddleware
from litestar.response import Template
from litestar.static_files import create_static_files_router
from sqlalchemy.exc import IntegrityError

from booking.db.errors import as_conflict, as_unavailable
from booking.errors import BookingError, Unauthenticated, Unavailable
from booking.pages.account import AccountPages
from booking.pages.admin import AdminPages
from booking.pages.admin_fees import FeePages
from booking.pages.admin_network import NetworkPages
from booking.pages.admin_people import AdminPeoplePages
from booking.pages.admin_policies import PolicyPages
from booking.pages.admin_rooms import DeskRoomPages, RoomPages
from booking.pages.bookings import BookingPages
from booking.pages.calendar import CalendarPages
from booking.pages.display_switch import DisplayPages
from booking.pages.documents import DocumentPages
from booking.pages.forms import error_text
from booking.pages.grid_gate import grid_gate
from booking.pages.lottery import LotteryPages
from booking.pages.manage import ManagePages
from booking.pages.manage_blocks import BlockPages
from booking.pages.manage_bookings import DeskBookingPages
from booking.pages.manage_estimates import EstimatePages
from booking.pages.manage_notices import NoticePages
from booking.pages.manage_registrations import RegistrationDeskPages
from booking.pages.manage_series import DeskSeriesPages
from booking.pages.open_data import OpenDataPages
from booking.pages.passwords import PasswordPages
from booking.pages.search import SearchPages
from booking.pages.series import SeriesPages
from booking.pages.series_cancel import SeriesCancelPages
from booking.pages.statistics import StatisticsPages
from booking.pages.waitlist import WaitlistPages
from booking.pages.web import STATIC, add_security_headers, login_redirect, request_lang
from booking.web.errors import EXCEPTION_HANDLERS, http_error, status_of
from booking.web.path_ids import plain_file_path
from booking.web.redaction import redact

log = logging.getLogger(__name__)
# Addresses of machines: their errors stay problem details (booking/web/errors.py).
MACHINE_PATHS = ("/api/", "/ical/")


def error_page(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """An error outside a form, as a page in the user's language (forms show their own)."""
    texts = request_lang(request)
    if isinstance(exc, IntegrityError):
        exc = as_conflict(exc)
    elif (unavailable := as_unavailable(exc)) is not None:  # a busy or unreachable database
        exc = unavailable
    if isinstance(exc, Unauthenticated) or (
        isinstance(exc, BookingError) and exc.code == "login_required"
    ):
        return add_security_headers(login_redirect(request))
    if isinstance(exc, BookingError):
        status, message = status_of(exc), error_text(texts, exc.code, exc.message)
    elif isinstance(exc, ValidationException):
        status, message = 400, texts.gettext("The address has a value that cannot be used.")
    elif isinstance(exc, NotFoundException):
        status, message = 404, texts.gettext("Not found.")
    elif isinstance(exc, HTTPException):
        status, message = exc.status_code, texts.gettext("This cannot be done.")
    else:
        log.error(
            "unhandled error on %s %s", request.method, redact(request.url.path), exc_info=exc
        )
        status, message = 500, texts.gettext("Something went wrong on our side. Please try again.")
    response = Template(
        "error.html",
        context={
            "_": texts.gettext,
            "ngettext": texts.ngettext,
            "t": texts,
            "lang": texts.lang,
            "principal": None,
            "csrf_token": "",
            "here": request.url.path,
            "nav": "",
            "message": message,
            "status": status,
        },
        status_code=status,
        media_type="text/html",
        headers={"Retry-After": str(exc.retry_after)} if isinstance(exc, Unavailable) else None,
    )
    return add_security_headers(response)


def not_found(request: Request[Any, Any, Any], exc: NotFoundException) -> Response[Any]:
    """The app's handler for an address no route matches (/my/bookings/abc, /nowhere): a
    browser gets the error page, the API and the calendar feeds a problem."""
    if f"{request.url.path.rstrip('/')}/".startswith(MACHINE_PATHS):
        return http_error(request, exc)
    return error_page(request, exc)


def pages_router() -> Router:
    return Router(
        path="/",
        route_handlers=[
            SearchPages,
            AccountPages,
            DisplayPages,
            BookingPages,
            DocumentPages,
            LotteryPages,
            CalendarPages,
            ManagePages,
            PasswordPages,
            BlockPages,
            NoticePages,
            EstimatePages,
            DeskBookingPages,
            RegistrationDeskPages,
            AdminPages,
            AdminPeoplePages,
            NetworkPages,
            RoomPages,
            DeskRoomPages,
            FeePages,
            PolicyPages,
            WaitlistPages,
            SeriesPages,
            SeriesCancelPages,
            DeskSeriesPages,
            StatisticsPages,
            OpenDataPages,
        ],
        # The app's handlers (JSON problems) are found by the exception's class before an
        # `Exception` here: every class they name is answered as a page too.
        exception_handlers={**dict.fromkeys(EXCEPTION_HANDLERS, error_page), Exception: error_page},
        after_request=add_security_headers,
        middleware=[grid_gate],  # month grids one at a time: they must not slow bookings
        include_in_schema=False,
    )


def static_router() -> Router:
    """The stylesheet and htmx, cached for a year (their URLs carry a content hash) and
    gzipped: 57 KB become 19 KB on a phone's first visit. Pages are not compressed: they
    carry a CSRF token beside echoed input, the ground of the BREACH attack."""
    return create_static_files_router(
        path="/static",
        directories=[STATIC],
        guards=[plain_file_path],  # a NUL or an over-long name: 404 before the file system
        cache_control=CacheControlHeader(max_age=365 * 24 * 3600, public=True),
        middleware=[
            DefineMiddleware(
                CompressionMiddleware, config=CompressionConfig(backend="gzip", minimum_size=1024)
            )
        ],
    )
