"""The desk's check of a printed permit or receipt (issue 16 §3): its number and verification
code answer valid and what the document covers, or not valid and why; an unknown number, a
wrong code and another facility's document answer alike; only staff ask; a malformed number
or code is a 400 naming its field."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from booking.clock import FrozenClock
from booking.reservations.models import Booking, BookingStatus, PaymentStatus
from tests.documents.test_permits import booked, permit_row
from tests.documents.test_receipts import pay, receipts
from tests.people import World
from tests.places import Hall

CHECK = "/api/v1/documents/check"


async def permitted(
    client: httpx.AsyncClient, world: World, hall: Hall, session: AsyncSession, clock: FrozenClock
) -> tuple[Booking, str, str]:
    """A confirmed booking whose permit was downloaded: its number and code."""
    booking = await booked(world, hall, session, clock, ["10", "20"])
    got = await client.get(f"/api/v1/bookings/{booking.id}/permit.pdf", headers=hall.manager)
    assert got.status_code == 200, got.text
    permit = await permit_row(session, booking)
    number = f"{permit.fiscal_year}-{hall.facility_id:04d}-{permit.number:06d}"
    return booking, number, permit.verification_code


async def check(
    client: httpx.AsyncClient, headers: dict[str, str], number: str, code: str
) -> httpx.Response:
    return await client.get(CHECK, params={"number": number, "code": code}, headers=headers)


async def test_a_permit_checks_as_valid_with_what_it_covers(
    client: httpx.AsyncClient, world: World, hall: Hall, session: AsyncSession, clock: FrozenClock
) -> None:
    booking, number, code = await permitted(client, world, hall, session, clock)
    # As typed at the desk: lower case, without the hyphens of the code.
    response = await check(client, hall.manager, f" {number} ", code.lower().replace("-", ""))
    assert response.status_code == 200, response.text
    found = response.json()
    room = hall.snapshot.room(hall.room_id)
    assert room is not None
    assert (found["valid"], found["reason"], found["kind"], found["number"]) == (
        True,
        "valid",
        "permit",
        number,
    )
    covers = found["covers"]
    assert covers["booking_id"] == booking.id
    assert (covers["booking_status"], covers["payment_status"]) == ("confirmed", "unpaid")
    assert (covers["room_name_ja"], covers["use_date"]) == (room.name_ja, hall.day.isoformat())
    assert [p["name_ja"] for p in covers["periods"]] == [p.name_ja for p in room.grid.periods[:2]]
    assert (covers["group_name"], covers["amount"]) == ("川崎合唱団", booking.fee_total)
    assert covers["issued_on"] == "2026-11-25"


async def test_a_wrong_code_an_unknown_number_and_another_facility_s_answer_alike(
    client: httpx.AsyncClient, world: World, hall: Hall, session: AsyncSession, clock: FrozenClock
) -> None:
    _, number, code = await permitted(client, world, hall, session, clock)
    wrong = "AAAA-AAAA-AAAA" if code != "AAAA-AAAA-AAAA" else "BBBB-BBBB-BBBB"
    unknown = number[:-6] + "999999"
    answers = [
        await check(client, hall.manager, number, wrong),
        await check(client, hall.manager, unknown, code),
        await check(client, hall.manager, "R" + "-" + number, code),  # a receipt's number
        # The right number and code, asked by the manager of another facility.
        await check(client, world.headers("manager_here"), number, code),
    ]
    for answer in answers:
        assert answer.status_code == 200, answer.text
        assert answer.json() | {"number": number} == {
            "valid": False,
            "reason": "not_found",
            "kind": None,
            "number": number,
            "covers": None,
        }
    assert (await check(client, world.headers("admin"), number, code)).json()["valid"] is True


async def test_a_permit_of_a_booking_since_cancelled_or_changed_is_not_valid(
    client: httpx.AsyncClient, world: World, hall: Hall, session: AsyncSession, clock: FrozenClock
) -> None:
    booking, number, code = await permitted(client, world, hall, session, clock)
    booking.headcount += 1  # changed after the print
    await session.commit()
    changed = (await check(client, hall.manager, number, code)).json()
    assert (changed["valid"], changed["reason"]) == (False, "booking_changed")
    assert changed["covers"]["booking_id"] == booking.id
    booking.headcount -= 1
    booking.status = BookingStatus.CANCELLED
    await session.commit()
    cancelled = (await check(client, hall.manager, number, code)).json()
    assert (cancelled["valid"], cancelled["reason"]) == (False, "booking_not_final")
    assert cancelled["covers"]["booking_status"] == "cancelled"


async def test_a_receipt_checks_with_its_amount_and_the_booking_s_payment_now(
    client: httpx.AsyncClient, world: World, hall: Hall, session: AsyncSession, clock: FrozenClock
) -> None:
    booking = await booked(world, hall, session, clock, ["10"])
    await pay(world, hall, session, clock, booking, PaymentStatus.PAID)
    await pay(world, hall, session, clock, booking, PaymentStatus.REFUNDED)
    receipt, refund = await receipts(session, booking)
    facility = f"{hall.facility_id:04d}"
    for row, number in (
        (receipt, f"R-2026-{facility}-000001"),
        (refund, f"RF-2026-{facility}-000001"),
    ):
        found = (await check(client, hall.manager, number.lower(), row.verification_code)).json()
        assert (found["valid"], found["kind"], found["number"]) == (True, row.kind, number)
        assert (found["covers"]["amount"], found["covers"]["payment_status"]) == (
            booking.fee_total,
            "refunded",
        )
    # The receipt's code is not the refund's.
    crossed = await check(
        client, hall.manager, f"RF-2026-{facility}-000001", receipt.verification_code
    )
    assert crossed.json()["reason"] == "not_found"


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("anonymous", 401),
        ("member", 403),
        ("representative", 403),
        ("manager_here", 200),
        ("admin", 200),
    ],
)
async def test_only_staff_check_documents(
    client: httpx.AsyncClient, world: World, role: str, status: int
) -> None:
    response = await check(client, world.headers(role), "2026-0001-000001", "ABCD-EFGH-JKLM")
    assert response.status_code == status, response.text
    if status == 403:
        assert response.json()["code"] == "staff_only"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"number": "2026-17-1", "code": "ABCD-EFGH-JKLM"}, "number"),
        ({"number": "X-2026-0017-000001", "code": "ABCD-EFGH-JKLM"}, "number"),
        ({"number": "2026-0017-000001", "code": "ABCD-EFGH"}, "code"),
        ({"number": "2026-0017-000001", "code": "ABCD-EFGH-JKL1"}, "code"),  # not base32
        ({"number": "2026-0017-000001\n", "code": "ABCD-EFGH-JKLM"}, "number"),
        ({"number": "2026-0017-000001", "code": "ABCD-EFGH-JKLM\x00"}, "code"),
        ({"number": "2" * 31, "code": "ABCD-EFGH-JKLM"}, "number"),
        ({"number": "2026-0017-000001", "code": "A" * 21}, "code"),
        ({"code": "ABCD-EFGH-JKLM"}, "number"),
        ({"number": "2026-0017-000001"}, "code"),
    ],
)
async def test_a_malformed_number_or_code_is_refused_by_name(
    client: httpx.AsyncClient, world: World, params: dict[str, str], field: str
) -> None:
    response = await client.get(CHECK, params=params, headers=world.headers("admin"))
    assert response.status_code == 400, response.text
    problem = response.json()
    assert problem["status"] == 400
    assert field in problem["detail"] or field in str(problem.get("errors", "")), problem


async def test_the_desk_page_checks_a_permit_and_says_so(
    client: httpx.AsyncClient, world: World, hall: Hall, session: AsyncSession, clock: FrozenClock
) -> None:
    booking, number, code = await permitted(client, world, hall, session, clock)
    home = await client.get("/manage", headers=hall.manager)
    assert 'href="/manage/documents/check"' in home.text
    form = await client.get("/manage/documents/check", headers=hall.manager)
    assert form.status_code == 200, form.text
    assert 'name="number"' in form.text
    assert 'name="code"' in form.text
    shown = await client.get(
        "/manage/documents/check", params={"number": number, "code": code}, headers=hall.manager
    )
    assert shown.status_code == 200, shown.text
    assert "有効です" in shown.text
    assert "川崎合唱団" in shown.text
    assert f'href="/manage/bookings/{booking.id}"' in shown.text
    desk = await client.get(f"/manage/bookings/{booking.id}", headers=hall.manager)
    assert desk.status_code == 200, desk.text
    wrong = await client.get(
        "/manage/documents/check",
        params={"number": number, "code": "AAAA-AAAA-AAAA"},
        headers=hall.manager,
    )
    assert wrong.status_code == 200, wrong.text
    assert "無効です" in wrong.text
    assert "川崎合唱団" not in wrong.text
    bad = await client.get(
        "/manage/documents/check", params={"number": "abc", "code": code}, headers=hall.manager
    )
    assert bad.status_code == 422, bad.text
    assert re.search(r'id="e-number"', bad.text), bad.text
