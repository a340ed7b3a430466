"""The pages' access table: every page route against every role, on both databases.

The HTML pages (booking/pages) call the same services as the API with the same principal;
this table decides, page by page, what each role gets. Read a row as: this page (or form),
asked by each role in PAGE_ROLES order, answers this:

- a status (200, 201, 403, 404, 422...): a page of that status, in HTML; 403 and 404 are
  error pages, 422 the form shown again with the refusal in it;
- `login`: 303 to /login?next=<the page asked for>;
- `303`: 303 somewhere else (a form: it worked);
- `noop`: a form's 303 that changed nothing (logging out when not logged in).

Roles act as a browser does: the session cookie alone, and a form's `csrf_token` field (an
anonymous form: the double-submit cookie and field). Every role meets the same world: each
cell runs inside a SAVEPOINT rolled back after it. A form refused (status >= 400 or `login`)
must have changed nothing: no row added or removed in any table, the audit trail's among
them; a form that worked (200, 201, 303) must have changed something. A page answers in
HTML, even its errors, and its refusals in Japanese (the default language).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from booking.accounts.auth import CSRF_FORM_FIELD, SESSION_COOKIE
from booking.clock import FrozenClock
from booking.documents.models import Receipt
from booking.inventory.models import Policy
from booking.lottery.models import ApplicationStatus, LotteryApplication
from booking.pages.routes import pages_router
from booking.pages.web import ANON_CSRF_COOKIE
from booking.waitlist import lines
from booking.waitlist.models import WaitlistOffer
from booking.web.spreadsheet import XLSX_MEDIA_TYPE
from tests.conftest import DEFAULT_NOW
from tests.pages.browsing import ANONYMOUS_FORM_TOKEN, alerts, changes, footprint
from tests.people import PASSWORD, ROLES, World, principal_as
from tests.places import Hall, open_weekday

# The world's roles, with the manager of the civic hall (tests/places.py) beside the two
# children's-centre managers: for the hall's bookings "manager_here" is another facility's.
PAGE_ROLES = (*ROLES[:4], "manager_hall", *ROLES[4:])
# 20 November: March's lottery applications (17-23 November) may still be withdrawn.
IN_APPLICATION_WINDOW = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)

Ids = dict[str, Any]  # what the rows point at, made once per test (see `_setting`)
Form = Callable[[Ids, str], dict[str, Any]] | None


@dataclass(frozen=True)
class Row:
    name: str
    method: str
    path: str  # formatted with the Ids: /my/groups/{group_a}
    expected: str  # one outcome per role, in PAGE_ROLES order
    form: Form = None
    at: datetime | None = None  # the clock for this row, if not DEFAULT_NOW


def _booking_form(ids: Ids, _role: str) -> dict[str, Any]:
    return {
        "room": ids["room"],
        "date": ids["day"],
        "group_id": ids["group_a"],
        "periods": ["20"],
        "purpose": "meeting",
        "headcount": "10",
        "request_key": "access-table",
    }


def _registration_form(_ids: Ids, role: str) -> dict[str, Any]:
    form = {
        "rows": "4",
        "kind": "group",
        "category": "general",
        "name": "新しい会",
        "rep_name": "新代表",
        "rep_birth_date": "1975-04-01",
        "rep_residency": "works",
    }
    if role == "anonymous":
        form |= {"rep_email": "new-rep@example.jp", "rep_password": "a long enough password"}
    elif role.startswith(("manager", "admin")):
        form |= {"rep_email": f"counter-{role}@example.jp"}
    for i in range(4):
        form |= {
            f"m{i}_name": f"会員{i}",
            f"m{i}_birth_date": "1990-01-01",
            f"m{i}_residency": "none",
        }
    return form


def _counter_form(ids: Ids, _role: str) -> dict[str, Any]:
    return {
        "card_number": ids["card_a"],
        "room": ids["room"],
        "date": ids["day"],
        "periods": ["30"],
        "purpose": "meeting",
        "headcount": "12",
        "mode": "book",
        "request_key": "counter-access-table",
    }


def _series_form(ids: Ids, _role: str) -> dict[str, Any]:
    """A weekly series of two dates (pages/series.py), booked as far as free."""
    return {
        "room": ids["room"],
        "date": ids["day"],
        "group_id": ids["group_a"],
        "periods": ["20"],
        "purpose": "meeting",
        "headcount": "10",
        "repeat": "week",
        "until": ids["week_later"],
        "mode": "free",
        "request_key": "series-access-table",
    }


SERIES_QUERY = (
    "room={room}&date={day}&periods=20&purpose=meeting&headcount=10&repeat=week&until={week_later}"
)

# PAGE_ROLES: anonymous member representative other_representative manager_hall
#             manager_here manager_elsewhere admin
PAGES = [
    Row("home", "GET", "/", "200 200 200 200 200 200 200 200"),
    Row("open data", "GET", "/open-data", "200 200 200 200 200 200 200 200"),
    Row("search form", "GET", "/search", "200 200 200 200 200 200 200 200"),
    Row(
        "search results",
        "GET",
        "/search?from={day}&to={day}&kind=civic_hall",
        "200 200 200 200 200 200 200 200",
    ),
    Row("facility", "GET", "/facilities/{hall}", "200 200 200 200 200 200 200 200"),
    Row("no such facility", "GET", "/facilities/999999", "404 404 404 404 404 404 404 404"),
    Row("language", "GET", "/lang/en?next=/search", "303 303 303 303 303 303 303 303"),
    Row(
        "text size and colours",
        "GET",
        "/display?text_size=large&contrast=high&next=/search",
        "303 303 303 303 303 303 303 303",
    ),
    Row("login form", "GET", "/login", "200 200 200 200 200 200 200 200"),
    Row("registration form", "GET", "/register", "200 200 200 200 200 200 200 200"),
    Row("forgotten password", "GET", "/password/forgot", "200 200 200 200 200 200 200 200"),
    # A mail's link that no longer works: a page with the way to a new one.
    Row(
        "set a password (bad link)",
        "GET",
        "/password/set?token=no.such-link",
        "400 400 400 400 400 400 400 400",
    ),
    Row(
        "finish a registration (bad link)",
        "GET",
        "/register/confirm?token=no.such-link",
        "400 400 400 400 400 400 400 400",
    ),
    Row("my groups", "GET", "/my/groups", "login 200 200 200 200 200 200 200"),
    Row("group A", "GET", "/my/groups/{group_a}", "login 200 200 404 200 200 200 200"),
    Row(
        "a centre's group",
        "GET",
        "/my/groups/{centre_group}",
        "login 404 404 404 403 200 403 200",
    ),
    Row(
        "booking form",
        "GET",
        "/book?room={room}&date={day}&period=20",
        "login 200 200 200 200 200 200 200",
    ),
    Row("my bookings", "GET", "/my/bookings?group={group_a}", "login 200 200 200 200 200 200 200"),
    Row(
        "my bookings as CSV",
        "GET",
        "/my/bookings.csv?group={group_a}",
        "login 200 200 200 404 404 404 404",
    ),
    Row("a booking", "GET", "/my/bookings/{booking}", "login 200 200 404 200 404 404 200"),
    Row(
        "a booking's usage permit (PDF)",
        "GET",
        "/my/bookings/{booking}/permit.pdf",
        "login 200 200 404 200 404 404 200",
    ),
    Row(
        "a booking's receipt (PDF)",
        "GET",
        "/my/bookings/{booking}/receipts/{receipt}/receipt.pdf",
        "login 200 200 404 200 404 404 200",
    ),
    Row(
        "cancel preview",
        "GET",
        "/my/bookings/{booking}/cancel",
        "login 200 200 404 200 404 404 200",
    ),
    # A series (定期利用): its dates shown first, as the booking form's group may book them.
    Row(
        "a series' dates",
        "GET",
        "/book/series?group_id={group_a}&" + SERIES_QUERY,
        "login 200 200 422 200 422 422 200",
    ),
    Row("a series", "GET", "/my/series/{series}", "login 200 200 404 200 404 404 200"),
    Row(
        "cancel the rest of a series: the charges",
        "GET",
        "/my/series/{series}/cancel",
        "login 200 200 404 200 404 404 200",
    ),
    Row(
        "a series at the desk",
        "GET",
        "/manage/series/{series}",
        "login 403 403 403 200 404 404 200",
    ),
    Row(
        "a series' dates at the counter",
        "GET",
        "/manage/facilities/{hall}/series?group_id={group_a}&" + SERIES_QUERY,
        "login 403 403 403 200 403 403 200",
    ),
    # The wait list (キャンセル待ち): a group's lines, the join form, an offer to group A.
    Row("my wait list", "GET", "/my/waitlist", "login 200 200 200 200 200 200 200"),
    Row(
        "join the wait list: the form",
        "GET",
        "/my/waitlist/join?room={room}&date={day2}&period=30",
        "login 200 200 200 200 200 200 200",
    ),
    Row("an offer", "GET", "/my/waitlist/offers/{offer}", "login 200 200 404 200 404 404 200"),
    Row("my lottery", "GET", "/my/lottery", "login 200 200 200 200 200 200 200"),
    Row("my calendar", "GET", "/my/calendar", "login 200 200 200 200 200 200 200"),
    Row("facility desk", "GET", "/manage", "login 403 403 403 200 200 200 200"),
    Row("day board", "GET", "/manage/facilities/{hall}", "login 403 403 403 200 403 403 200"),
    Row(
        "week board",
        "GET",
        "/manage/facilities/{hall}?view=week&date={day}",
        "login 403 403 403 200 403 403 200",
    ),
    Row(
        "counter form",
        "GET",
        "/manage/facilities/{hall}/book?room={room}&date={day}",
        "login 403 403 403 200 403 403 200",
    ),
    Row(
        "blocks and closures",
        "GET",
        "/manage/facilities/{hall}/blocks",
        "login 403 403 403 200 403 403 200",
    ),
    Row(
        "notices",
        "GET",
        "/manage/facilities/{hall}/notices",
        "login 403 403 403 200 403 403 200",
    ),
    Row(
        "a notice to edit",
        "GET",
        "/manage/notices/{notice}",
        "login 403 403 403 200 404 404 200",
    ),
    Row(
        "estimates",
        "GET",
        "/manage/facilities/{hall}/estimates",
        "login 403 403 403 200 403 403 200",
    ),
    Row(
        "lottery statistics",
        "GET",
        "/manage/facilities/{hall}/lottery?month=2027-03",
        "login 403 403 403 200 403 403 200",
    ),
    # The statistics: a manager their own facilities (another's is refused), an
    # administrator everything; the downloads as the page.
    Row("statistics", "GET", "/manage/statistics", "login 403 403 403 200 200 200 200"),
    Row(
        "a facility's statistics",
        "GET",
        "/manage/statistics?facility={hall}&fiscal_year=2026",
        "login 403 403 403 200 403 403 200",
    ),
    Row(
        "a statistics table as CSV",
        "GET",
        "/manage/statistics/use_by_category.csv?facility={hall}",
        "login 403 403 403 200 403 403 200",
    ),
    Row(
        "a statistics table as XLSX",
        "GET",
        "/manage/statistics/occupancy_by_month.xlsx?facility={hall}",
        "login 403 403 403 200 403 403 200",
    ),
    Row(
        "no such statistics table",
        "GET",
        "/manage/statistics/bookings.csv",
        "login 403 403 403 404 404 404 404",
    ),
    Row(
        "a booking at the desk",
        "GET",
        "/manage/bookings/{booking}",
        "login 403 403 403 200 404 404 200",
    ),
    # The check of a printed permit or receipt: staff; a number and code no document has is
    # "not valid", the same for every facility's staff.
    Row("check a document", "GET", "/manage/documents/check", "login 403 403 403 200 200 200 200"),
    Row(
        "check a document's number and code",
        "GET",
        "/manage/documents/check?number=2026-0001-000001&code=ABCD-EFGH-JKLM",
        "login 403 403 403 200 200 200 200",
    ),
    # The registration desk: every manager serves the city-wide group A, only the centre's
    # own manager (and an administrator) the centre's group.
    Row("registrations", "GET", "/manage/registrations", "login 403 403 403 200 200 200 200"),
    Row(
        "registrations found",
        "GET",
        "/manage/registrations?q=%E5%90%88%E5%94%B1&page=1",
        "login 403 403 403 200 200 200 200",
    ),
    Row(
        "registrations: a line break in the search",
        "GET",
        "/manage/registrations?q=a%0Ab",
        "login 403 403 403 400 400 400 400",
    ),
    Row(
        "registrations: no such page",
        "GET",
        "/manage/registrations?page=0",
        "login 403 403 403 400 400 400 400",
    ),
    Row(
        "a registration at the desk",
        "GET",
        "/manage/registrations/{group_a}",
        "login 403 403 403 200 200 200 200",
    ),
    Row(
        "a centre's registration at the desk",
        "GET",
        "/manage/registrations/{centre_group}",
        "login 403 403 403 403 200 403 200",
    ),
    Row(
        "no such registration at the desk",
        "GET",
        "/manage/registrations/999999",
        "login 403 403 403 404 404 404 404",
    ),
    Row(
        "a registration's card (PDF)",
        "GET",
        "/manage/registrations/{group_a}/card.pdf",
        "login 403 403 403 200 200 200 200",
    ),
    # Pending: no card yet.
    Row(
        "a pending registration's card",
        "GET",
        "/manage/registrations/{centre_group}/card.pdf",
        "login 403 403 403 403 409 403 409",
    ),
    # The administrator's pages: only an administrator gets in.
    Row("administration", "GET", "/admin", "login 403 403 403 403 403 403 200"),
    Row("managers and administrators", "GET", "/admin/staff", "login 403 403 403 403 403 403 200"),
    Row(
        "a manager's facilities",
        "GET",
        "/admin/managers/{hall_manager}",
        "login 403 403 403 403 403 403 200",
    ),
    Row("user accounts", "GET", "/admin/people?q=example", "login 403 403 403 403 403 403 200"),
    Row(
        "a user account", "GET", "/admin/people/{member_user}", "login 403 403 403 403 403 403 200"
    ),
    Row(
        "the audit trail",
        "GET",
        "/admin/audit?action=user.&from=2026-11-01",
        "login 403 403 403 403 403 403 200",
    ),
    Row(
        "the audit trail: the last day first",
        "GET",
        "/admin/audit?from=2026-11-25&to=2026-11-24",
        "login 403 403 403 403 403 403 400",
    ),
    # The network kept in the system: an administrator's pages; a manager keeps the rooms of
    # their own facility at the desk.
    Row("facilities and rooms", "GET", "/admin/facilities", "login 403 403 403 403 403 403 200"),
    Row("a new facility", "GET", "/admin/facilities/new", "login 403 403 403 403 403 403 200"),
    Row("a facility kept", "GET", "/admin/facilities/{hall}", "login 403 403 403 403 403 403 200"),
    Row(
        "no such facility kept",
        "GET",
        "/admin/facilities/999999",
        "login 403 403 403 403 403 403 404",
    ),
    Row(
        "a new room",
        "GET",
        "/admin/facilities/{hall}/rooms/new",
        "login 403 403 403 403 403 403 200",
    ),
    Row("a room kept", "GET", "/admin/rooms/{room}", "login 403 403 403 403 403 403 200"),
    Row("a room's fees", "GET", "/admin/rooms/{room}/fees", "login 403 403 403 403 403 403 200"),
    Row(
        "no such room's fees",
        "GET",
        "/admin/rooms/999999/fees",
        "login 403 403 403 403 403 403 404",
    ),
    # The reservation policies from a date: an administrator's pages.
    Row("the policies", "GET", "/admin/policies", "login 403 403 403 403 403 403 200"),
    Row("a policy", "GET", "/admin/policies/{policy}", "login 403 403 403 403 403 403 200"),
    Row("no such policy", "GET", "/admin/policies/999999", "login 403 403 403 403 403 403 404"),
    Row(
        "the rooms at the desk",
        "GET",
        "/manage/facilities/{hall}/rooms",
        "login 403 403 403 200 403 403 200",
    ),
    Row("a room at the desk", "GET", "/manage/rooms/{room}", "login 403 403 403 200 403 403 200"),
]

FORMS = [
    Row(
        "log in",
        "POST",
        "/login",
        "303 303 303 303 303 303 303 303",
        lambda ids, _r: {"login": ids["card_a"], "password": ids["password"], "next": "/"},
    ),
    Row("log out", "POST", "/logout", "noop 303 303 303 303 303 303 303"),
    Row("register", "POST", "/register", "303 303 303 303 303 303 303 303", _registration_form),
    Row(
        "ask for a new password",
        "POST",
        "/password/forgot",
        "303 303 303 303 303 303 303 303",
        lambda ids, _r: {"login": ids["card_a"]},
    ),
    Row(
        "set a password (bad link)",
        "POST",
        "/password/set",
        "422 422 422 422 422 422 422 422",
        lambda _ids, _r: {
            "token": "no.such-link",
            "new_password": "a long enough password",
            "new_password_again": "a long enough password",
        },
    ),
    Row(
        "finish a registration (bad link)",
        "POST",
        "/register/confirm",
        "422 422 422 422 422 422 422 422",
        lambda _ids, _r: {"token": "no.such-link", "password": "a long enough password"},
    ),
    Row(
        "add a member",
        "POST",
        "/my/groups/{group_a}/members",
        "login 422 303 404 303 303 303 303",
        lambda _ids, _r: {
            "new_name": "新会員",
            "new_birth_date": "2001-02-03",
            "new_residency": "studies",
        },
    ),
    Row(
        "remove a member",
        "POST",
        "/my/groups/{group_a}/members/{sixth_member}/remove",
        "login 422 303 404 303 303 303 303",
    ),
    Row(
        "turn the group's reminders off",
        "POST",
        "/my/groups/{group_a}/reminders",
        "login 422 303 404 303 303 303 303",
    ),
    Row("book", "POST", "/book", "login 303 303 422 303 422 422 303", _booking_form),
    Row(
        "cancel a booking",
        "POST",
        "/my/bookings/{booking}/cancel",
        "login 303 303 404 303 404 404 303",
    ),
    Row("book a series", "POST", "/book/series", "login 303 303 422 303 422 422 303", _series_form),
    Row(
        "cancel the rest of a series",
        "POST",
        "/my/series/{series}/cancel",
        "login 303 303 404 303 404 404 303",
    ),
    Row(
        "book a series at the counter",
        "POST",
        "/manage/facilities/{hall}/series",
        "login 403 403 403 303 403 403 303",
        _series_form,
    ),
    Row(
        "join the wait list",
        "POST",
        "/my/waitlist",
        "login 303 303 422 303 422 422 303",
        lambda ids, _r: {
            "room": ids["room"],
            "date": ids["day2"],
            "group_id": ids["group_a"],
            "periods": ["30"],
            "request_key": "waitlist-access-table",
        },
    ),
    Row(
        "leave the wait list",
        "POST",
        "/my/waitlist/{waiting_entry}/leave",
        "login 303 303 422 303 422 422 303",
    ),
    Row(
        "accept an offer",
        "POST",
        "/my/waitlist/offers/{offer}/accept",
        "login 303 303 404 303 404 404 303",
        lambda _ids, _r: {"purpose": "meeting", "headcount": "10"},
    ),
    Row(
        "decline an offer",
        "POST",
        "/my/waitlist/offers/{offer}/decline",
        "login 303 303 404 303 404 404 303",
    ),
    Row(
        "withdraw an application",
        "POST",
        "/my/lottery/{applied}/withdraw",
        "login 303 303 422 422 422 422 422",
        at=IN_APPLICATION_WINDOW,
    ),
    Row(
        "confirm a win",
        "POST",
        "/my/lottery/{won}/confirm",
        "login 303 303 422 422 422 422 422",
    ),
    Row(
        "an unknown lottery action",
        "POST",
        "/my/lottery/{applied}/steal",
        "login 404 404 404 404 404 404 404",
    ),
    Row(
        "make a group feed",
        "POST",
        "/my/calendar",
        "login 201 201 422 201 201 201 201",
        lambda ids, _r: {"target": f"group:{ids['group_a']}", "name": "合唱団の予約"},
    ),
    Row(
        "rotate a feed",
        "POST",
        "/my/calendar/{feed}/rotate",
        "login 200 422 422 422 422 422 422",
    ),
    Row(
        "revoke a feed",
        "POST",
        "/my/calendar/{feed}/revoke",
        "login 200 422 422 422 422 422 422",
    ),
    Row(
        "an unknown feed action",
        "POST",
        "/my/calendar/{feed}/steal",
        "login 404 404 404 404 404 404 404",
    ),
    Row(
        "block a room",
        "POST",
        "/manage/facilities/{hall}/blocks",
        "login 403 403 403 303 403 403 303",
        lambda ids, _r: {
            "room": ids["room"],
            "start_date": "2027-03-01",
            "end_date": "2027-03-02",
            "reason": "maintenance",
        },
    ),
    Row(
        "release a block",
        "POST",
        "/manage/blocks/{block}/release",
        "login 404 404 404 303 404 404 303",
    ),
    Row(
        "close the facility",
        "POST",
        "/manage/facilities/{hall}/closures",
        "login 403 403 403 303 403 403 303",
        lambda _ids, _r: {"close_from": "2027-03-10", "close_to": "2027-03-10"},
    ),
    Row(
        "post a notice",
        "POST",
        "/manage/facilities/{hall}/notices",
        "login 403 403 403 303 403 403 303",
        lambda _ids, _r: {"title_ja": "お知らせ", "body_ja": "本文", "starts_on": "2026-12-01"},
    ),
    Row(
        "edit a notice",
        "POST",
        "/manage/notices/{notice}",
        "login 403 403 403 303 404 404 303",
        lambda _ids, _r: {"title_ja": "変更", "body_ja": "本文", "starts_on": "2026-12-01"},
    ),
    Row(
        "withdraw a notice",
        "POST",
        "/manage/notices/{notice}/withdraw",
        "login 404 404 404 303 404 404 303",
    ),
    Row(
        "confirm an estimated fee",  # the fee table is the city's: administrators only
        "POST",
        "/manage/facilities/{hall}/estimates",
        "login 403 403 403 422 403 403 303",
        lambda ids, _r: {"target": f"room:{ids['room']}", "field": "fees"},
    ),
    Row(
        "book at the counter",
        "POST",
        "/manage/facilities/{hall}/book",
        "login 403 403 403 303 403 403 303",
        _counter_form,
    ),
    Row(
        "record a payment",
        "POST",
        "/manage/bookings/{booking}/payment",
        "login 403 403 403 303 404 404 303",
        lambda _ids, _r: {"payment_status": "paid", "payment_method": "cash"},
    ),
    # Confirmed already: those who may decide are told so beside the form.
    Row(
        "approve a confirmed booking",
        "POST",
        "/manage/bookings/{booking}/approve",
        "login 403 403 403 422 404 404 422",
    ),
    Row(
        "an unknown desk action",
        "POST",
        "/manage/bookings/{booking}/steal",
        "login 404 404 404 404 404 404 404",
    ),
    Row(
        "activate a registration",
        "POST",
        "/manage/registrations/{centre_group}/activate",
        "login 403 403 403 403 303 403 303",
    ),
    # Active already: staff are told so on the page.
    Row(
        "activate an active registration",
        "POST",
        "/manage/registrations/{group_a}/activate",
        "login 403 403 403 422 422 422 422",
    ),
    Row(
        "suspend a registration",
        "POST",
        "/manage/registrations/{group_a}/suspend",
        "login 403 403 403 303 303 303 303",
        lambda _ids, _r: {"reason": "書類の不備"},
    ),
    Row(
        "suspend without a reason",
        "POST",
        "/manage/registrations/{group_a}/suspend",
        "login 403 403 403 422 422 422 422",
        lambda _ids, _r: {"reason": " "},
    ),
    Row(
        "reinstate a registration that is not suspended",
        "POST",
        "/manage/registrations/{group_a}/reinstate",
        "login 403 403 403 422 422 422 422",
    ),
    # Group A is valid to 31 March 2027: renewal opens on 1 December.
    Row(
        "renew before renewal opens",
        "POST",
        "/manage/registrations/{group_a}/renew",
        "login 403 403 403 422 422 422 422",
    ),
    Row(
        "change a registration's contact",
        "POST",
        "/manage/registrations/{group_a}/contact",
        "login 403 403 403 303 303 303 303",
        lambda _ids, _r: {"name": "川崎合唱団", "phone": "044-200-1234"},
    ),
    Row(
        "add a member at the desk",
        "POST",
        "/manage/registrations/{group_a}/members",
        "login 403 403 403 303 303 303 303",
        lambda _ids, _r: {
            "new_name": "新会員",
            "new_birth_date": "2001-02-03",
            "new_residency": "studies",
        },
    ),
    Row(
        "change a member at the desk",
        "POST",
        "/manage/registrations/{group_a}/members/{sixth_member}/update",
        "login 403 403 403 303 303 303 303",
        lambda ids, _r: {
            f"m{ids['sixth_member']}_name": "六人目 改",
            f"m{ids['sixth_member']}_birth_date": "1999-09-09",
        },
    ),
    Row(
        "remove a member at the desk",
        "POST",
        "/manage/registrations/{group_a}/members/{sixth_member}/remove",
        "login 403 403 403 303 303 303 303",
    ),
    Row(
        "hand on the representative's role",
        "POST",
        "/manage/registrations/{group_a}/members/{member_a}/representative",
        "login 403 403 403 303 303 303 303",
    ),
    Row(
        "an unknown registration action",
        "POST",
        "/manage/registrations/{group_a}/steal",
        "login 403 403 403 404 404 404 404",
    ),
    Row(
        "an unknown member action",
        "POST",
        "/manage/registrations/{group_a}/members/{sixth_member}/steal",
        "login 403 403 403 404 404 404 404",
    ),
    Row(
        "grant a staff role",
        "POST",
        "/admin/staff",
        "login 403 403 403 403 403 403 303",
        lambda ids, _r: {
            "email": "new-clerk@city.example",
            "name": "新任 窓口",
            "role": "manager",
            "facility_ids": [str(ids["hall"])],
        },
    ),
    Row(
        "grant a staff role without a facility",
        "POST",
        "/admin/staff",
        "login 403 403 403 403 403 403 422",
        lambda _ids, _r: {"email": "new-clerk@city.example", "name": "新任", "role": "manager"},
    ),
    Row(
        "change a manager's facilities",
        "POST",
        "/admin/managers/{hall_manager}/facilities",
        "login 403 403 403 403 403 403 303",
        lambda ids, _r: {"facility_ids": [str(ids["hall"]), str(ids["centre"])]},
    ),
    Row(
        "take a manager's role away",
        "POST",
        "/admin/managers/{hall_manager}/revoke",
        "login 403 403 403 403 403 403 303",
    ),
    # The only administrator is the one asking: their own role stays.
    Row(
        "take one's own administrator role away",
        "POST",
        "/admin/administrators/{admin_user}/revoke",
        "login 403 403 403 403 403 403 409",
    ),
    Row(
        "suspend a person",
        "POST",
        "/admin/people/{member_user}/suspend",
        "login 403 403 403 403 403 403 303",
        lambda _ids, _r: {"reason": "予約の転売"},
    ),
    Row(
        "suspend a person without a reason",
        "POST",
        "/admin/people/{member_user}/suspend",
        "login 403 403 403 403 403 403 422",
    ),
    # Active already: nothing to lift.
    Row(
        "reinstate an active person",
        "POST",
        "/admin/people/{member_user}/reinstate",
        "login 403 403 403 403 403 403 noop",
    ),
    # The network kept in the system. The hall's room has a live booking: retiring it, or its
    # facility, is refused beside the form; reinstating what is in service changes nothing.
    Row(
        "create a facility",
        "POST",
        "/admin/facilities/new",
        "login 403 403 403 403 403 403 303",
        lambda _ids, _r: {
            "key": "access-hall",
            "kind": "civic_hall",
            "name_ja": "新館",
            "name_en": "New Hall",
        },
    ),
    Row(
        "edit a facility",
        "POST",
        "/admin/facilities/{hall}",
        "login 403 403 403 403 403 403 303",
        lambda _ids, _r: {"kind": "civic_hall", "name_ja": "改名館", "name_en": "Renamed Hall"},
    ),
    Row(
        "retire a facility",
        "POST",
        "/admin/facilities/{hall}/retire",
        "login 403 403 403 403 403 403 422",
    ),
    Row(
        "reinstate a facility",
        "POST",
        "/admin/facilities/{hall}/reinstate",
        "login 403 403 403 403 403 403 noop",
    ),
    Row(
        "add a room",
        "POST",
        "/admin/facilities/{hall}/rooms/new",
        "login 403 403 403 403 403 403 303",
        lambda _ids, _r: {
            "key": "access-room",
            "name_ja": "新室",
            "name_en": "New Room",
            "online_bookable": "counter",
        },
    ),
    Row(
        "edit a room",
        "POST",
        "/admin/rooms/{room}",
        "login 403 403 403 403 403 403 303",
        lambda _ids, _r: {
            "name_ja": "改名室",
            "name_en": "Renamed Room",
            "online_bookable": "online",
        },
    ),
    Row(
        "edit a room at the desk",
        "POST",
        "/manage/rooms/{room}",
        "login 403 403 403 303 403 403 303",
        lambda _ids, _r: {
            "name_ja": "改名室",
            "name_en": "Renamed Room",
            "online_bookable": "online",
        },
    ),
    Row("retire a room", "POST", "/admin/rooms/{room}/retire", "login 403 403 403 403 403 403 422"),
    Row(
        "reinstate a room",
        "POST",
        "/admin/rooms/{room}/reinstate",
        "login 403 403 403 403 403 403 noop",
    ),
    Row(
        "fees from a date",
        "POST",
        "/admin/rooms/{room}/fees",
        "login 403 403 403 403 403 403 303",
        lambda _ids, _r: {"effective_from": "2027-04-01", "fee_10": "1500"},
    ),
    Row(
        "a policy from a date",
        "POST",
        "/admin/policies/{policy}",
        "login 403 403 403 403 403 403 303",
        lambda _ids, _r: {"effective_from": "2027-04-01", "holds_allowed": "yes"},
    ),
    # None from that date: the refusal is said on the page.
    Row(
        "withdraw fees from a date",
        "POST",
        "/admin/rooms/{room}/fees/2027-04-01/withdraw",
        "login 403 403 403 403 403 403 422",
    ),
]


async def _setting(
    world: World, hall: Hall, client: httpx.AsyncClient, session: AsyncSession
) -> tuple[Ids, dict[str, tuple[str, str]]]:
    """The things the rows point at, and each role's session cookie and CSRF token."""
    api = world.headers
    made = await client.post(
        "/api/v1/bookings",
        json={
            "group_id": world.group_a,
            "room_id": hall.room_id,
            "use_date": hall.day.isoformat(),
            "period_codes": ["10"],
            "purpose": "meeting",
            "headcount": 10,
        },
        headers=api("member"),
    )
    assert made.status_code == 201, made.text
    block = await client.post(
        "/api/v1/blocks",
        json={
            "room_id": hall.room_id,
            "start_date": "2027-03-15",
            "end_date": "2027-03-15",
            "reason": "event",
        },
        headers=hall.manager,
    )
    assert block.status_code == 201, block.text
    # Group A has the minimum of 5 members: a sixth, so that removing one may succeed.
    sixth = await client.post(
        f"/api/v1/groups/{world.group_a}/members",
        json={"name": "六人目", "birth_date": "1999-09-09", "residency": "lives"},
        headers=api("representative"),
    )
    assert sixth.status_code == 201, sixth.text
    feed = await client.post(
        "/api/v1/feeds",
        json={"kind": "group", "target_id": world.group_a},
        headers=api("member"),
    )
    assert feed.status_code == 201, feed.text
    applications = {}
    for name, status, period in (
        ("applied", ApplicationStatus.APPLIED, "10"),
        ("won", ApplicationStatus.WON, "20"),
    ):
        application = LotteryApplication(
            use_month=date(2027, 3, 1),
            group_id=world.group_a,
            room_id=hall.room_id,
            facility_id=hall.facility_id,
            use_date=date(2027, 3, 10),
            period_codes=[period],
            purpose="meeting",
            headcount=10,
            status=status,
            created_at=DEFAULT_NOW,
        )
        session.add(application)
        await session.flush()
        applications[name] = application.id
    series = await _series(world, hall, client)
    notice = await client.post(
        f"/api/v1/facilities/{hall.facility_id}/notices",
        json={"title_ja": "休館のお知らせ", "body_ja": "本文", "starts_on": "2026-11-25"},
        headers=hall.manager,
    )
    assert notice.status_code == 201, notice.text
    # The wait list: group B books the morning and the afternoon and evening of another day,
    # group A waits for the morning and the afternoon, B cancels the morning: A's offer.
    day2 = open_weekday(hall.snapshot, hall.facility_id, hall.day + timedelta(days=1))
    b_bookings = []
    for periods in (["10"], ["20", "30"]):
        taken = await client.post(
            "/api/v1/bookings",
            json={
                "group_id": world.group_b,
                "room_id": hall.room_id,
                "use_date": day2.isoformat(),
                "period_codes": periods,
                "purpose": "meeting",
                "headcount": 10,
            },
            headers=api("other_representative"),
        )
        assert taken.status_code == 201, taken.text
        b_bookings.append(taken.json()["id"])
    member = await principal_as(session, world, "member")
    entries = [
        await lines.join(
            session,
            FrozenClock(DEFAULT_NOW),
            world.settings,
            hall.snapshot,
            member,
            group_id=world.group_a,
            room_id=hall.room_id,
            use_date=day2,
            period_codes=[code],
        )
        for code in ("10", "20")
    ]
    await session.commit()
    freed = await client.post(
        f"/api/v1/bookings/{b_bookings[0]}/cancel", headers=api("other_representative")
    )
    assert freed.status_code == 200, freed.text
    offer_id = await session.scalar(
        select(WaitlistOffer.id).where(WaitlistOffer.entry_id == entries[0].id)
    )
    assert offer_id is not None
    # A receipt of the booking (a row beside the world: the booking itself stays unpaid).
    receipt = Receipt(
        booking_id=made.json()["id"],
        facility_id=hall.facility_id,
        fiscal_year=2026,
        kind="receipt",
        number=900_000,  # past the counter's numbers: a payment recorded here takes 1
        amount=made.json()["fee_total"],
        method="counter",
        verification_code="ABCD-EFGH-JKLM",
        issued_at=DEFAULT_NOW,
        issued_by_user_id=None,
    )
    session.add(receipt)
    await session.commit()
    ids: Ids = {
        "hall": hall.facility_id,
        "room": hall.room_id,
        "day": hall.day.isoformat(),
        "group_a": world.group_a,
        "centre_group": world.centre_group,
        "card_a": world.card_a,
        "password": PASSWORD,
        "booking": made.json()["id"],
        "series": series,
        "week_later": (hall.day + timedelta(days=7)).isoformat(),
        "receipt": receipt.id,
        "block": block.json()["id"],
        "sixth_member": sixth.json()["id"],
        "member_a": world.member_ids["member"],
        "feed": feed.json()["id"],
        "hall_manager": hall.manager_id,
        "member_user": world.user_ids["member"],
        "admin_user": world.user_ids["admin"],
        "centre": world.here,
        "notice": notice.json()["id"],
        "policy": await session.scalar(select(Policy.id).order_by(Policy.key).limit(1)) or 0,
        "day2": day2.isoformat(),
        "waiting_entry": entries[1].id,
        "offer": offer_id,
        **applications,
    }
    visitors = {
        role: (opened.cookie_value, opened.csrf_token) for role, opened in world.sessions.items()
    }
    visitors["manager_hall"] = (
        hall.manager["Cookie"].removeprefix(f"{SESSION_COOKIE}="),
        hall.manager["X-CSRF-Token"],
    )
    return ids, visitors


async def _series(world: World, hall: Hall, client: httpx.AsyncClient) -> int:
    """Group A's series of two Tuesdays' evenings, booked on the booking form's pages."""
    first = hall.day + timedelta(days=7)
    made = await client.post(
        "/book/series",
        data={
            "room": str(hall.room_id),
            "date": first.isoformat(),
            "group_id": str(world.group_a),
            "periods": ["30"],
            "purpose": "meeting",
            "headcount": "10",
            "repeat": "week",
            "until": (first + timedelta(days=7)).isoformat(),
            "mode": "all",
            "request_key": "access-table-series",
            CSRF_FORM_FIELD: world.sessions["member"].csrf_token,
        },
        headers={"Cookie": f"{SESSION_COOKIE}={world.sessions['member'].cookie_value}"},
    )
    assert made.status_code == 303, made.text
    client.cookies.clear()
    return int(made.headers["location"].split("/")[3].split("?")[0])


def _path(row: Row, ids: Ids) -> str:
    return row.path.format_map(ids)


async def _visit(
    client: httpx.AsyncClient,
    row: Row,
    role: str,
    ids: Ids,
    visitors: dict[str, tuple[str, str]],
) -> httpx.Response:
    """The request a browser of this role makes: its cookie, and the form's token field."""
    client.cookies.clear()  # nothing carried over from another role's answer
    if role == "anonymous":
        cookie, token = f"{ANON_CSRF_COOKIE}={ANONYMOUS_FORM_TOKEN}", ANONYMOUS_FORM_TOKEN
    else:
        value, token = visitors[role]
        cookie = f"{SESSION_COOKIE}={value}"
    headers = {"Cookie": cookie}
    if row.method == "GET":
        return await client.get(_path(row, ids), headers=headers)
    form = {**(row.form(ids, role) if row.form else {}), CSRF_FORM_FIELD: token}
    return await client.post(_path(row, ids), data=form, headers=headers)


def _media_type(path: str, status: int) -> str:
    if status == 200 and ".csv" in path:
        return "text/csv"
    if status == 200 and ".xlsx" in path:
        return XLSX_MEDIA_TYPE
    return "application/pdf" if status == 200 and ".pdf" in path else "text/html"


def _english_refusal(page: str) -> str | None:
    """A refusal's message left in English on a Japanese page (the pages' default). A
    generic sentence may carry the service's English detail in brackets: "見つかりません。
    (no facility 9)"; an error code without words of its own shows English beside it."""
    messages = [*alerts(page), *re.findall(r'<p class="(?:alert|error)"[^>]*>([^<]*)</p>', page)]
    words = (re.sub(r"\s*\([^()]*\)$", "", m) for m in messages)
    return next((w for w in words if re.search(r"\b[a-z]{3,}\b", w)), None)


def _outcome(response: httpx.Response, path: str) -> str:
    if response.status_code == 303:
        location = response.headers["location"]
        # Back to the page after the login; a form back to the page it was on (its Referer,
        # none here: the start).
        back = path if response.request.method == "GET" else "/"
        if location == f"/login?next={quote(back, safe='')}":
            return "login"
        assert not location.startswith("/login?next="), f"a login redirect to {location}"
        return "303"
    return str(response.status_code)


@pytest.mark.parametrize("rows", [PAGES, FORMS], ids=["pages", "forms"])
async def test_page_access(
    rows: list[Row],
    world: World,
    hall: Hall,
    client: httpx.AsyncClient,
    session: AsyncSession,
    connection: AsyncConnection,
    clock: FrozenClock,
) -> None:
    """Every row, each role in turn, each inside a SAVEPOINT rolled back after it, so that
    every cell meets the same world (built once per test, not once per cell)."""
    ids, visitors = await _setting(world, hall, client, session)
    mismatches = []
    for row in rows:
        path = _path(row, ids)
        got = []
        for role in PAGE_ROLES:
            await session.rollback()
            await connection.exec_driver_sql("SAVEPOINT page_role")
            clock.set(row.at or DEFAULT_NOW)
            try:
                before = await footprint(session)
                response = await _visit(client, row, role, ids, visitors)
                outcome = _outcome(response, path)
                media = response.headers.get("content-type", "").split(";")[0]
                if response.status_code != 303 and media != _media_type(path, response.status_code):
                    outcome += f"({media})"  # a page answers HTML, even its errors
                elif media == "text/html" and (english := _english_refusal(response.text)):
                    outcome += f"(in English: {english})"
                if row.method == "POST":
                    changed = changes(before, await footprint(session))
                    if outcome == "login" or response.status_code >= 400:
                        outcome += f"(changed {changed})" if changed else ""
                    elif not changed:
                        outcome = "noop" if outcome == "303" else f"{outcome}(nothing changed)"
                got.append(outcome)
            finally:
                await session.rollback()
                await connection.exec_driver_sql("ROLLBACK TO SAVEPOINT page_role")
                await connection.exec_driver_sql("RELEASE SAVEPOINT page_role")
        clock.set(DEFAULT_NOW)
        expected = row.expected.split()
        mismatches.extend(
            f"{row.name}: {role}: expected {want}, got {outcome}"
            for role, want, outcome in zip(PAGE_ROLES, expected, got, strict=True)
            if want != outcome
        )
    assert not mismatches, "\n".join(mismatches)


def _route_pattern(route_path: str) -> re.Pattern[str]:
    """The router's path as a regular expression: {x:int} a number, {x:str} a segment."""
    pattern = re.sub(r"\\\{\w+:int\\\}", r"[0-9]+", re.escape(route_path))
    pattern = re.sub(r"\\\{\w+:str\\\}", r"[^/]+", pattern)
    return re.compile(f"{pattern}$")


PAGE_ROUTES = {
    (method, route.path)
    for route in pages_router().routes
    for method in getattr(route, "methods", set())
    if method not in {"HEAD", "OPTIONS"}
}


def _route_of(row: Row) -> tuple[str, str]:
    """The page route a row asks, its ids replaced by a number (a literal segment wins)."""
    path = re.sub(r"\{\w+\}", "1", row.path).split("?", maxsplit=1)[0]
    found = sorted(
        (route.count("{"), route)
        for method, route in PAGE_ROUTES
        if method == row.method and _route_pattern(route).match(path)
    )
    assert found, f"{row.name}: {row.method} {row.path} is no page route"
    return row.method, found[0][1]


def test_every_page_route_is_tested() -> None:
    """A page route without a row fails: access must be decided, not assumed."""
    assert {len(row.expected.split()) for row in PAGES + FORMS} == {len(PAGE_ROLES)}
    assert {row.method for row in PAGES} == {"GET"}
    assert {row.method for row in FORMS} == {"POST"}
    covered = {_route_of(row) for row in PAGES + FORMS}
    missing = PAGE_ROUTES - covered
    assert not missing, f"page routes with no row in the table: {sorted(missing)}"


async def test_an_address_no_route_matches_is_an_error_page_unless_for_machines(
    client: httpx.AsyncClient,
) -> None:
    """A page's address that matches no route (a word for an id, a typo) gets the HTML
    error page in the visitor's language; the API's and the feeds' keep their problem."""
    for path in ("/my/bookings/abc", "/nowhere", "/manage/facilities/x/lottery", "/my/"):
        client.cookies.clear()
        shown = await client.get(path, headers={"Cookie": "lang=en"})
        assert shown.status_code == 404, path
        assert shown.headers["content-type"].startswith("text/html"), path
        assert '<p class="alert" role="alert">Not found.</p>' in shown.text, path
        assert shown.headers["x-frame-options"] == "DENY", path  # the pages' headers
        japanese = await client.get(path)
        assert "見つかりません。" in japanese.text, path
    for path in ("/api/nowhere", "/api/v1/bookings/abc", "/api", "/ical/"):
        answered = await client.get(path)
        assert answered.status_code == 404, path
        assert answered.headers["content-type"].startswith("application/problem+json"), path
        assert answered.json()["status"] == 404, path
