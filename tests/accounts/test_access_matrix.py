"""The access matrix: every role against every API operation, on both databases.

Read a row as: this operation, done by each role in ROLES order, answers this status.
Roles act through a real session cookie with its CSRF token. The group operations target
group A (city-wide, whose representative and member are "representative" and "member") or
the children's centre's own group of the facility "manager_here" manages. A status that is
not 2xx must also have changed nothing: the audit trail holds no new event for it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from booking.app import create_app
from booking.audit.models import AuditEvent
from booking.documents.models import Receipt
from booking.inventory.models import Policy, RoomFeeSchedule
from booking.lottery.models import ApplicationStatus, LotteryApplication
from booking.pages.routes import pages_router, static_router
from booking.settings import Settings
from tests.conftest import DEFAULT_NOW
from tests.people import PASSWORD, ROLES, World
from tests.places import Hall, open_weekday
from tests.waitlist.conftest import waiting_and_offered

Body = Callable[[World, str], Any] | None


def _registration(world: World, role: str) -> dict[str, Any]:
    """Anonymous: a new login; a person: themself as representative; staff: at the counter."""
    rep: dict[str, Any] = {"name": "新代表", "birth_date": "1975-04-01", "residency": "works"}
    if role == "anonymous":
        rep |= {"email": "new-rep@example.jp", "password": "a long enough password"}
    elif role.startswith(("manager", "admin")):
        rep |= {"email": f"counter-{role}@example.jp"}
    members = [
        {"name": f"会員{i}", "birth_date": "1990-01-01", "residency": "none"} for i in range(4)
    ]
    return {"kind": "group", "name": "新しい会", "representative": rep, "members": members}


@dataclass(frozen=True)
class Operation:
    name: str
    method: str
    path: str  # formatted with the world's ids
    expected: str  # one status per role, in ROLES order
    body: Body = None


G = "/api/v1/groups"
OPERATIONS = [
    # ROLES:  anonymous member representative other_representative manager_here
    #         manager_elsewhere admin
    Operation("health", "GET", "/health", "200 200 200 200 200 200 200"),
    Operation("ready", "GET", "/ready", "200 200 200 200 200 200 200"),
    # Not by role but by address (BOOKING_METRICS_NETWORKS; tests/web/test_metrics.py): the
    # test client's is loopback, allowed by default.
    Operation("metrics", "GET", "/metrics", "200 200 200 200 200 200 200"),
    Operation("wards", "GET", "/api/v1/wards", "200 200 200 200 200 200 200"),
    Operation("facilities", "GET", "/api/v1/facilities", "200 200 200 200 200 200 200"),
    Operation("facility", "GET", "/api/v1/facilities/{here}", "200 200 200 200 200 200 200"),
    Operation("room", "GET", "/api/v1/rooms/{room}", "200 200 200 200 200 200 200"),
    Operation(
        "availability",
        "GET",
        "/api/v1/availability?from=2026-12-01&to=2026-12-01&facility={here}",
        "200 200 200 200 200 200 200",
    ),
    # Anonymous: 202, a link is mailed; the registration exists once it is confirmed.
    Operation("register", "POST", G, "202 201 201 201 201 201 201", _registration),
    Operation(
        "confirm a registration (bad link)",
        "POST",
        G + "/confirm",
        "400 400 400 400 400 400 400",
        lambda _w, _r: {"token": "no.such-token", "password": "a long enough password"},
    ),
    Operation("search groups", "GET", G, "401 403 403 403 200 200 200"),
    Operation(
        "a facility's group list",
        "GET",
        G + "?facility_id={here}",
        "401 403 403 403 200 403 200",
    ),
    Operation("read group", "GET", G + "/{group_a}", "401 200 200 404 200 200 200"),
    Operation("read a centre's group", "GET", G + "/{centre_group}", "401 404 404 404 200 403 200"),
    Operation(
        "update group",
        "PATCH",
        G + "/{group_a}",
        "401 403 200 404 200 200 200",
        lambda _w, _r: {"phone": "044-200-0000"},
    ),
    Operation(
        "activate a centre's group",
        "POST",
        G + "/{centre_group}/activate",
        "401 404 404 404 200 403 200",
    ),
    Operation(
        "suspend group",
        "POST",
        G + "/{group_a}/suspend",
        "401 403 403 404 200 200 200",
        lambda _w, _r: {"reason": "利用規約違反"},
    ),
    # Group A is active: reinstating it is a conflict for those who may reinstate.
    Operation("reinstate group", "POST", G + "/{group_a}/reinstate", "401 403 403 404 409 409 409"),
    # Valid to 31 March 2027; renewal opens on 31 January: not yet on 25 November.
    Operation("renew group", "POST", G + "/{group_a}/renew", "401 403 403 404 422 422 422"),
    Operation("roster", "GET", G + "/{group_a}/members", "401 200 200 404 200 200 200"),
    Operation(
        "add member",
        "POST",
        G + "/{group_a}/members",
        "401 403 201 404 201 201 201",
        lambda _w, _r: {"name": "新会員", "birth_date": "2001-02-03", "residency": "studies"},
    ),
    Operation(
        "update member",
        "PATCH",
        G + "/{group_a}/members/{member_member}",
        "401 403 200 404 200 200 200",
        lambda _w, _r: {"residency": "none"},
    ),
    # Group A has exactly 5 members: removing one breaks the minimum for everyone allowed.
    Operation(
        "remove member",
        "DELETE",
        G + "/{group_a}/members/{member_member}",
        "401 403 422 404 422 422 422",
    ),
    Operation(
        "change representative",
        "POST",
        G + "/{group_a}/representative",
        "401 403 200 404 200 200 200",
        lambda w, _r: {"member_id": w.member_ids["member"]},
    ),
    Operation("me", "GET", "/api/v1/me", "401 200 200 200 200 200 200"),
    Operation("logout", "POST", "/api/v1/auth/logout", "401 204 204 204 204 204 204"),
    Operation(
        "change password",
        "POST",
        "/api/v1/auth/password",
        "401 204 204 204 204 204 204",
        lambda _w, _r: {"current_password": PASSWORD, "new_password": "another long password"},
    ),
    Operation(
        "login",
        "POST",
        "/api/v1/auth/login",
        "200 200 200 200 200 200 200",
        lambda w, _r: {"login": w.card_a, "password": PASSWORD},
    ),
    Operation(
        "ask for a reset",
        "POST",
        "/api/v1/auth/password-reset",
        "202 202 202 202 202 202 202",
        lambda _w, _r: {"login": "rep-a@example.jp"},
    ),
    Operation(
        "confirm a reset (bad link)",
        "POST",
        "/api/v1/auth/password-reset/confirm",
        "400 400 400 400 400 400 400",
        lambda _w, _r: {"token": "no.such-token", "new_password": "another long password"},
    ),
    Operation(
        "create token",
        "POST",
        "/api/v1/tokens",
        "401 201 201 201 201 201 201",
        lambda _w, _r: {"name": "calendar sync"},
    ),
    Operation("list tokens", "GET", "/api/v1/tokens", "401 200 200 200 200 200 200"),
    Operation(
        "revoke the admin's token",
        "DELETE",
        "/api/v1/tokens/{admin_token}",
        "401 404 404 404 404 404 204",
    ),
    Operation(
        "create manager",
        "POST",
        "/api/v1/managers",
        "401 403 403 403 403 403 201",
        lambda w, _r: {"email": "new-mgr@city.example", "name": "新任", "facility_ids": [w.here]},
    ),
    Operation("list managers", "GET", "/api/v1/managers", "401 403 403 403 403 403 200"),
    Operation(
        "assign facilities",
        "PUT",
        "/api/v1/managers/{manager_elsewhere}/facilities",
        "401 403 403 403 403 403 200",
        lambda w, _r: {"facility_ids": [w.here, w.elsewhere]},
    ),
    Operation(
        "revoke manager",
        "DELETE",
        "/api/v1/managers/{manager_elsewhere}",
        "401 403 403 403 403 403 204",
    ),
    Operation(
        "make an administrator",
        "POST",
        "/api/v1/administrators",
        "401 403 403 403 403 403 201",
        lambda _w, _r: {"email": "new-admin@city.example", "name": "新任管理者"},
    ),
    Operation(
        "list administrators", "GET", "/api/v1/administrators", "401 403 403 403 403 403 200"
    ),
    # The member is no administrator: the one who may ask is told so.
    Operation(
        "take the administrator role away",
        "DELETE",
        "/api/v1/administrators/{user_member}",
        "401 403 403 403 403 403 404",
    ),
    Operation(
        "suspend user", "POST", "/api/v1/users/{user_member}/suspend", "401 403 403 403 403 403 200"
    ),
    Operation(
        "reinstate user",
        "POST",
        "/api/v1/users/{user_member}/reinstate",
        "401 403 403 403 403 403 200",
    ),
    Operation("audit", "GET", "/api/v1/audit", "401 403 403 403 403 403 200"),
    # Bookings: group A's members book online; admin at the counter; the hall's bookings are
    # no business of the children's-centre managers.
    Operation(
        "book",
        "POST",
        "/api/v1/bookings",
        "401 201 201 404 403 403 201",
        lambda w, _r: {**w.booking_body, "period_codes": ["20"]},
    ),
    Operation(
        "my bookings", "GET", "/api/v1/bookings?group_id={group_a}", "401 200 200 404 200 200 200"
    ),
    Operation("read booking", "GET", "/api/v1/bookings/{booking}", "401 200 200 404 404 404 200"),
    Operation(
        "cancel booking", "POST", "/api/v1/bookings/{booking}/cancel", "401 200 200 404 404 404 200"
    ),
    # Confirmed already: those who may decide get a conflict.
    Operation(
        "approve booking",
        "POST",
        "/api/v1/bookings/{booking}/approve",
        "401 403 403 404 404 404 409",
    ),
    Operation(
        "reject booking", "POST", "/api/v1/bookings/{booking}/reject", "401 403 403 404 404 404 409"
    ),
    Operation(
        "record payment",
        "POST",
        "/api/v1/bookings/{booking}/payment",
        "401 403 403 404 404 404 200",
        lambda _w, _r: {"status": "paid", "method": "counter"},
    ),
    # Before the use date: not yet a no-show.
    Operation(
        "record no-show",
        "POST",
        "/api/v1/bookings/{booking}/no-show",
        "401 403 403 404 404 404 422",
    ),
    # The bundled data allows holds nowhere: those who may ask are told so.
    Operation(
        "take a hold",
        "POST",
        "/api/v1/holds",
        "401 403 403 404 403 403 422",
        lambda w, _r: {**w.booking_body, "period_codes": ["20"]},
    ),
    Operation(
        "complete a hold",
        "POST",
        "/api/v1/bookings/{booking}/complete",
        "401 403 403 404 404 404 409",
    ),
    Operation(
        "block",
        "POST",
        "/api/v1/blocks",
        "401 403 403 403 403 403 201",
        lambda w, _r: {
            "room_id": w.booking_body["room_id"],
            "start_date": "2027-03-01",
            "end_date": "2027-03-07",
            "reason": "maintenance",
        },
    ),
    Operation("release a block", "DELETE", "/api/v1/blocks/{block}", "401 404 404 404 404 404 204"),
    # The wait list: as bookings (group A's members online, admin at the counter); the entry
    # and the offer are group A's at the hall, which the children's-centre managers never see.
    Operation(
        "join the wait list",
        "POST",
        "/api/v1/waitlist",
        "401 201 201 404 403 403 201",
        # group A waits for a slot group B holds (never for its own: own_slot)
        lambda w, _r: {**w.b_slot, "group_id": w.group_a},
    ),
    Operation(
        "wait-list lines",
        "GET",
        "/api/v1/waitlist?group_id={group_a}",
        "401 200 200 404 200 200 200",
    ),
    Operation(
        "leave the wait list", "DELETE", "/api/v1/waitlist/{entry}", "401 204 204 404 404 404 204"
    ),
    Operation(
        "accept an offer",
        "POST",
        "/api/v1/waitlist/offers/{offer}/accept",
        "401 201 201 404 404 404 201",
        lambda _w, _r: {"purpose": "meeting", "headcount": 10},
    ),
    Operation(
        "decline an offer",
        "POST",
        "/api/v1/waitlist/offers/{offer}/decline",
        "401 200 200 404 404 404 200",
    ),
    # Series: as bookings (online by group A's members, admin at the counter).
    Operation(
        "preview a series",
        "POST",
        "/api/v1/series?dry_run=true",
        "401 200 200 404 403 403 200",
        lambda w, _r: _series_body(w, "20"),
    ),
    Operation(
        "book a series",
        "POST",
        "/api/v1/series",
        "401 201 201 404 403 403 201",
        lambda w, _r: _series_body(w, "20"),
    ),
    Operation("read series", "GET", "/api/v1/series/{series}", "401 200 200 404 404 404 200"),
    Operation(
        "cancel series",
        "POST",
        "/api/v1/series/{series}/cancel",
        "401 200 200 404 404 404 200",
        lambda w, _r: {"from_date": w.booking_body["use_date"]},
    ),
    Operation(
        "close the facility",
        "POST",
        "/api/v1/facilities/{hall}/closures",
        "401 403 403 403 403 403 201",
        lambda _w, _r: {"from": "2027-03-10", "to": "2027-03-10"},
    ),
    # Fees and policies from a date: anyone reads them, administrators set them (city
    # ordinance); a schedule of "room" from 2027-04-01 exists.
    Operation("a room's fees", "GET", "/api/v1/rooms/{room}/fees", "200 200 200 200 200 200 200"),
    Operation(
        "set a room's fees from a date",
        "POST",
        "/api/v1/rooms/{room}/fees",
        "401 403 403 403 403 403 201",
        lambda _w, _r: {"effective_from": "2027-04-01", "fees": None, "all_day_fee": None},
    ),
    Operation(
        "withdraw a fee schedule",
        "DELETE",
        "/api/v1/rooms/{room}/fees/2027-04-01",
        "401 403 403 403 403 403 204",
    ),
    Operation("policies", "GET", "/api/v1/policies", "200 200 200 200 200 200 200"),
    Operation(
        "change a policy from a date",
        "POST",
        "/api/v1/policies/{policy}/revisions",
        "401 403 403 403 403 403 201",
        lambda _w, _r: {"effective_from": "2027-04-01", "settings": {"requires_approval": True}},
    ),
    # Notices (お知らせ) of the facility "here", whose manager is "manager_here".
    Operation(
        "a facility's notices",
        "GET",
        "/api/v1/facilities/{here}/notices",
        "200 200 200 200 200 200 200",
    ),
    Operation(
        "post a notice",
        "POST",
        "/api/v1/facilities/{here}/notices",
        "401 403 403 403 201 403 201",
        lambda _w, _r: {"title_ja": "お知らせ", "body_ja": "本文", "starts_on": "2026-12-01"},
    ),
    Operation(
        "edit a notice",
        "PATCH",
        "/api/v1/notices/{notice}",
        "401 404 404 404 200 404 200",
        lambda _w, _r: {"ends_on": "2026-12-31"},
    ),
    Operation(
        "withdraw a notice",
        "POST",
        "/api/v1/notices/{notice}/withdraw",
        "401 404 404 404 200 404 200",
    ),
    # Confirming estimates: "here" and its room hold none, so those allowed meet a 422.
    Operation(
        "confirm a facility's estimate",
        "POST",
        "/api/v1/facilities/{here}/confirmations",
        "401 403 403 403 403 403 422",
        lambda _w, _r: {"field": "address"},
    ),
    Operation(
        "confirm a room's estimate",
        "POST",
        "/api/v1/rooms/{room}/confirmations",
        "401 403 403 403 422 403 422",
        lambda _w, _r: {"field": "capacity"},
    ),
    # The network kept in the system: administrators shape it; a facility's managers edit its
    # rooms ("room" is a room of "here").
    Operation(
        "add a facility",
        "POST",
        "/api/v1/facilities",
        "401 403 403 403 403 403 201",
        lambda _w, _r: {
            "key": "new-hall",
            "kind": "civic_hall",
            "name_ja": "新館",
            "name_en": "New",
        },
    ),
    Operation(
        "change a facility",
        "PATCH",
        "/api/v1/facilities/{here}",
        "401 403 403 403 403 403 200",
        lambda _w, _r: {"phone": "044-111-2222"},
    ),
    Operation(
        "add a room",
        "POST",
        "/api/v1/facilities/{here}/rooms",
        "401 403 403 403 403 403 201",
        lambda _w, _r: {"key": "new-room", "name_ja": "新室", "name_en": "New Room"},
    ),
    Operation(
        "change a room",
        "PATCH",
        "/api/v1/rooms/{room}",
        "401 403 403 403 200 403 200",
        lambda _w, _r: {"capacity": 25},
    ),
    # The lottery. On 25 November no application window is open (March's was 17-23 November).
    Operation("lottery cycles", "GET", "/api/v1/lottery/cycles", "200 200 200 200 200 200 200"),
    Operation(
        "apply",
        "POST",
        "/api/v1/lottery/applications",
        "401 422 422 404 403 403 422",
        lambda w, _r: {**w.booking_body, "use_date": "2027-03-10"},
    ),
    Operation(
        "my applications",
        "GET",
        "/api/v1/lottery/applications?group_id={group_a}",
        "401 200 200 404 200 200 200",
    ),
    Operation(
        "read application",
        "GET",
        "/api/v1/lottery/applications/{application}",
        "401 200 200 404 404 404 200",
    ),
    Operation(
        "withdraw application",
        "POST",
        "/api/v1/lottery/applications/{application}/withdraw",
        "401 422 422 404 404 404 404",
    ),
    Operation(
        "confirm application",
        "POST",
        "/api/v1/lottery/applications/{application}/confirm",
        "401 409 409 404 404 404 404",
    ),
    Operation(
        "published draw",
        "GET",
        "/api/v1/lottery/draws/2027-03/{hall}",
        "404 404 404 404 404 404 404",
    ),
    Operation(
        "lottery report",
        "GET",
        "/api/v1/lottery/reports/2027-03/{hall}",
        "200 200 200 200 200 200 200",
    ),
    Operation(
        "shared contacts",
        "GET",
        "/api/v1/lottery/reports/2027-03/{hall}/shared-contacts",
        "401 403 403 403 403 403 200",
    ),
    # Calendar feeds. A group feed for group A; the public room feed for anyone logged in; the
    # feed read by its secret URL (made by group A's member); one booking as .ics.
    Operation(
        "create a group feed",
        "POST",
        "/api/v1/feeds",
        "401 201 201 404 201 201 201",
        lambda w, _r: {"kind": "group", "target_id": w.group_a},
    ),
    Operation("list feeds", "GET", "/api/v1/feeds", "401 200 200 200 200 200 200"),
    Operation(
        "rotate a feed", "POST", "/api/v1/feeds/{feed}/rotate", "401 200 404 404 404 404 404"
    ),
    Operation("revoke a feed", "DELETE", "/api/v1/feeds/{feed}", "401 204 404 404 404 404 404"),
    Operation("read a feed", "GET", "/ical/{feed_file}", "200 200 200 200 200 200 200"),
    Operation(
        "a booking as .ics",
        "GET",
        "/api/v1/bookings/{booking}/calendar.ics",
        "401 200 200 404 404 404 200",
    ),
    Operation(
        "a booking's usage permit (PDF)",
        "GET",
        "/api/v1/bookings/{booking}/permit.pdf",
        "401 200 200 404 404 404 200",
    ),
    Operation(
        "a booking's documents",
        "GET",
        "/api/v1/bookings/{booking}/documents",
        "401 200 200 404 404 404 200",
    ),
    # The booking's receipt (a row made beside the world: the booking itself stays unpaid).
    Operation(
        "a booking's receipt (PDF)",
        "GET",
        "/api/v1/bookings/{booking}/receipts/{receipt}/receipt.pdf",
        "401 200 200 404 404 404 200",
    ),
    # A number and code no document has: staff are told it is not valid, others refused.
    Operation(
        "check a permit or receipt",
        "GET",
        "/api/v1/documents/check?number=2026-0001-000001&code=ABCD-EFGH-JKLM",
        "401 403 403 403 200 200 200",
    ),
    Operation(
        "a facility's bookings",
        "GET",
        "/api/v1/facilities/{hall}/bookings?from=2027-02-01&to=2027-02-28",
        "401 403 403 403 403 403 200",
    ),
    Operation(
        "a facility's bookings as CSV",
        "GET",
        "/api/v1/facilities/{hall}/bookings.csv?from=2027-02-01&to=2027-02-28",
        "401 403 403 403 403 403 200",
    ),
    # Statistics for staff: a manager sees their own facilities, another's is refused.
    Operation(
        "statistics: occupancy",
        "GET",
        "/api/v1/statistics/occupancy?fiscal_year=2026",
        "401 403 403 403 200 200 200",
    ),
    Operation(
        "statistics: a facility's demand",
        "GET",
        "/api/v1/statistics/demand?fiscal_year=2026&facility={here}",
        "401 403 403 403 200 403 200",
    ),
    Operation(
        "statistics: use",
        "GET",
        "/api/v1/statistics/use?from=2027-02-01&to=2027-02-28&group_by=category",
        "401 403 403 403 200 200 200",
    ),
    # Open data: anyone, no login.
    Operation(
        "open data: occupancy CSV",
        "GET",
        "/api/v1/open-data/occupancy.csv?fiscal_year=2026",
        "200 200 200 200 200 200 200",
    ),
    Operation(
        "open data: occupancy JSON",
        "GET",
        "/api/v1/open-data/occupancy.json",
        "200 200 200 200 200 200 200",
    ),
    Operation(
        "open data: demand CSV",
        "GET",
        "/api/v1/open-data/demand.csv",
        "200 200 200 200 200 200 200",
    ),
    Operation(
        "open data: demand JSON",
        "GET",
        "/api/v1/open-data/demand.json?fiscal_year=2026",
        "200 200 200 200 200 200 200",
    ),
    Operation(
        "open data: schema", "GET", "/api/v1/open-data/schema.json", "200 200 200 200 200 200 200"
    ),
]


def _series_body(world: World, period: str) -> dict[str, Any]:
    """A series of one date: the booking's day, another period."""
    day = world.booking_body["use_date"]
    return {
        **{k: v for k, v in world.booking_body.items() if k != "use_date"},
        "period_codes": [period],
        "first_date": day,
        "last_date": day,
        "every": "week",
    }


def _path(op: Operation, world: World) -> str:
    return op.path.format(
        here=world.here,
        room=world.room,
        group_a=world.group_a,
        centre_group=world.centre_group,
        member_member=world.member_ids["member"],
        admin_token=world.admin_token,
        manager_elsewhere=world.user_ids["manager_elsewhere"],
        user_member=world.user_ids["member"],
        booking=world.booking_id,
        receipt=world.receipt_id,
        block=world.block_id,
        application=world.application_id,
        feed=world.feed_id,
        feed_file=world.feed_file,
        hall=world.hall_id,
        notice=world.notice_id,
        policy=world.policy_id,
        entry=world.entry_id,
        offer=world.offer_id,
        series=world.series_id,
    )


async def _audit_count(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(AuditEvent)) or 0)


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: op.name)
async def test_access(
    op: Operation,
    world: World,
    hall: Hall,
    client: httpx.AsyncClient,
    session: AsyncSession,
    connection: AsyncConnection,
) -> None:
    """One row of the matrix: each role in turn, each inside a SAVEPOINT rolled back after it,
    so every role meets the same world (built once per row, not once per cell)."""
    world.hall_id = hall.facility_id
    world.booking_body = {
        "group_id": world.group_a,
        "room_id": hall.room_id,
        "use_date": hall.day.isoformat(),
        "period_codes": ["10"],
        "purpose": "meeting",
        "headcount": 10,
    }
    made = await client.post(
        "/api/v1/bookings", json=world.booking_body, headers=world.headers("member")
    )
    assert made.status_code == 201, made.text
    world.booking_id = made.json()["id"]
    receipt = Receipt(
        booking_id=world.booking_id,
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
    await session.flush()
    world.receipt_id = receipt.id
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
    world.block_id = block.json()["id"]
    application = LotteryApplication(
        use_month=date(2027, 3, 1),
        group_id=world.group_a,
        room_id=hall.room_id,
        facility_id=hall.facility_id,
        use_date=date(2027, 3, 10),
        period_codes=["10"],
        purpose="meeting",
        headcount=10,
        status=ApplicationStatus.APPLIED,
        created_at=DEFAULT_NOW,
    )
    session.add(application)
    session.add(
        RoomFeeSchedule(
            room_id=world.room, effective_from=date(2027, 4, 1), fees=None, created_at=DEFAULT_NOW
        )
    )
    world.policy_id = await session.scalar(select(Policy.id).order_by(Policy.id).limit(1)) or 0
    await session.commit()
    world.application_id = application.id
    feed = await client.post(
        "/api/v1/feeds",
        json={"kind": "group", "target_id": world.group_a},
        headers=world.headers("member"),
    )
    assert feed.status_code == 201, feed.text
    world.feed_id = feed.json()["id"]
    world.feed_file = feed.json()["url"].rsplit("/ical/", 1)[1]
    notice = await client.post(
        f"/api/v1/facilities/{world.here}/notices",
        json={"title_ja": "休館のお知らせ", "body_ja": "本文", "starts_on": "2026-11-25"},
        headers=world.headers("admin"),
    )
    assert notice.status_code == 201, notice.text
    world.notice_id = notice.json()["id"]
    series = await client.post(
        "/api/v1/series", json=_series_body(world, "30"), headers=world.headers("member")
    )
    assert series.status_code == 201, series.text
    world.series_id = series.json()["id"]
    world.entry_id, world.offer_id = await waiting_and_offered(session, hall, world.group_a)
    b_day = open_weekday(hall.snapshot, hall.facility_id, hall.day + timedelta(days=14))
    world.b_slot = {
        "group_id": world.group_b,
        "room_id": hall.room_id,
        "use_date": b_day.isoformat(),
        "period_codes": ["10"],
    }
    taken = await client.post(
        "/api/v1/bookings",
        json={**world.b_slot, "purpose": "meeting", "headcount": 10},
        headers=world.headers("admin"),
    )
    assert taken.status_code == 201, taken.text
    got = []
    for role in ROLES:
        # A savepoint of our own, unknown to SQLAlchemy: the app's sessions make and release
        # theirs inside it, and rolling back to it undoes whatever the role did.
        await session.rollback()
        await connection.exec_driver_sql("SAVEPOINT matrix_role")
        try:
            got.append(await _attempt(op, role, world, client, session))
        finally:
            await session.rollback()
            await connection.exec_driver_sql("ROLLBACK TO SAVEPOINT matrix_role")
            await connection.exec_driver_sql("RELEASE SAVEPOINT matrix_role")
    expected = op.expected.split()
    mismatches = [
        f"{role}: expected {want}, got {status}"
        for role, want, status in zip(ROLES, expected, got, strict=True)
        if want != status
    ]
    assert not mismatches, f"{op.name}: " + "; ".join(mismatches)


async def _attempt(
    op: Operation, role: str, world: World, client: httpx.AsyncClient, session: AsyncSession
) -> str:
    """The status one role gets; a refusal must be a problem document and change nothing."""
    before = await _audit_count(session)
    body = op.body(world, role) if op.body else None
    response = await client.request(
        op.method, _path(op, world), json=body, headers=world.headers(role)
    )
    if response.status_code >= 400:
        problem = response.json()
        assert problem["status"] == response.status_code
        assert problem["detail"]
        if op.method != "GET" and op.name != "login":
            assert await _audit_count(session) == before, f"{role}: a refusal changed something"
    return str(response.status_code)


PAGE_PATHS = {route.path for route in pages_router().routes} | {
    route.path for route in static_router().routes
}


def test_every_route_is_in_the_matrix() -> None:
    """A new route without a row here fails: access must be decided, not assumed.

    The HTML pages (booking/pages) call the same services with the same principal; their
    access is tested page by page in tests/pages (a route there without a test fails)."""
    app = create_app(Settings(database_url="sqlite+aiosqlite:///:memory:"))
    routes = {
        (method, route.path)
        for route in app.routes
        for method in getattr(route, "methods", set())
        if method not in {"HEAD", "OPTIONS"}
        and not route.path.startswith("/schema")
        and route.path not in PAGE_PATHS
    }
    covered = {(op.method, _template(op.path)) for op in OPERATIONS}
    missing = {r for r in routes if r not in covered}
    assert not missing, f"routes with no row in the access matrix: {sorted(missing)}"


def _template(path: str) -> str:
    """The matrix's path as the router writes it: /groups/{group_a} -> /groups/{group_id:int}."""
    names = {
        "{here}": "{facility_id:int}",
        "{room}": "{room_id:int}",
        "{group_a}": "{group_id:int}",
        "{centre_group}": "{group_id:int}",
        "{member_member}": "{member_id:int}",
        "{admin_token}": "{token_id:int}",
        "{manager_elsewhere}": "{user_id:int}",
        "{user_member}": "{user_id:int}",
        "{booking}": "{booking_id:int}",
        "{receipt}": "{receipt_id:int}",
        "{block}": "{block_id:int}",
        "{application}": "{application_id:int}",
        "{feed}": "{feed_id:int}",
        "{feed_file}": "{feed_file:str}",
        "2027-03": "{month:str}",
        "{hall}": "{facility_id:int}",
        "{notice}": "{notice_id:int}",
        "{policy}": "{policy_id:int}",
        "{entry}": "{entry_id:int}",
        "{offer}": "{offer_id:int}",
        "{series}": "{series_id:int}",
        "2027-04-01": "{effective_from:str}",
    }
    path = path.split("?", maxsplit=1)[0]
    for name, param in names.items():
        path = path.replace(name, param)
    return path
