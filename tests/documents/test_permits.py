"""A final booking's usage permit (利用許可書, issue 16 §3): the PDF states each fact of the
booking, in Japanese or English; its group's members and the facility's staff get it, others
the booking's not-found; only a confirmed booking has one; its number is given once, counts per
facility and fiscal year (April to March, Tokyo), and two first issues at once never share one."""

from __future__ import annotations

import asyncio
import io
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import httpx
import pytest
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from booking.audit.models import AuditEvent
from booking.clock import FrozenClock
from booking.documents.models import Permit
from booking.documents.permits import issue_permit
from booking.inventory.models import Purpose
from booking.reservations.bookings import book
from booking.reservations.models import Booking, BookingStatus
from tests.conftest import DEFAULT_NOW
from tests.pages.browsing import cookies
from tests.people import World
from tests.places import Hall
from tests.reservations.test_change_locks import Desk, committed, desk  # noqa: F401
from tests.reservations.test_service_boundaries import principal, request


def url(booking_id: int) -> str:
    return f"/api/v1/bookings/{booking_id}/permit.pdf"


def flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def pdf_text(body: bytes) -> str:
    reader = PdfReader(io.BytesIO(body))
    assert len(reader.pages) == 1
    return reader.pages[0].extract_text()


def embedded_fonts(body: bytes) -> list[str]:
    """The base names of the fonts whose program the PDF carries."""
    fonts = PdfReader(io.BytesIO(body)).pages[0]["/Resources"]["/Font"]
    names = []
    for ref in fonts.values():
        font = ref.get_object()
        descriptor = font.get("/FontDescriptor")
        if descriptor is not None and "/FontFile2" in descriptor.get_object():
            names.append(str(font["/BaseFont"]))
    return names


async def booked(
    world: World, hall: Hall, session: AsyncSession, clock: FrozenClock, periods: list[str]
) -> Booking:
    member = await principal(session, world.user_ids["member"])
    booking = await book(
        session,
        clock,
        world.settings,
        hall.snapshot,
        member,
        request(world, hall.room_id, hall.day, periods, headcount=12),
    )
    await session.commit()
    assert booking.status is BookingStatus.CONFIRMED
    return booking


async def permit_row(session: AsyncSession, booking: Booking) -> Permit:
    return await session.scalar(
        select(Permit)
        .where(Permit.booking_id == booking.id)
        .execution_options(populate_existing=True)
    ) or pytest.fail("no permit")


@pytest.mark.parametrize("lang", ["ja", "en"])
async def test_the_permit_states_every_fact_of_the_booking_in_the_language_asked_for(
    client: httpx.AsyncClient,
    world: World,
    hall: Hall,
    session: AsyncSession,
    clock: FrozenClock,
    lang: str,
) -> None:
    room = hall.snapshot.room(hall.room_id)
    assert room is not None
    first, second = room.grid.periods[:2]
    booking = await booked(world, hall, session, clock, [first.code, second.code])
    params = {"lang": "en"} if lang == "en" else {}
    response = await client.get(url(booking.id), params=params, headers=world.headers("member"))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    body = response.content
    assert b"Helvetica" not in body
    assert any(name.endswith("+IPAexGothic") for name in embedded_fonts(body))
    text = pdf_text(body)
    assert "\x00" not in text
    permit = await permit_row(session, booking)
    number = f"{permit.fiscal_year}-{hall.facility_id:04d}-{permit.number:06d}"
    purpose = await session.scalar(select(Purpose).where(Purpose.key == "meeting"))
    assert purpose is not None
    facility = hall.snapshot.facilities[hall.facility_id]
    day = hall.day
    fee = f"¥{booking.fee_total:,}"
    facts = [number, permit.verification_code, "川崎合唱団", fee, f"{first.start:%H:%M}"]
    facts.append(f"{second.end:%H:%M}")
    if lang == "ja":
        facts += ["利用許可書", facility.name_ja, room.name_ja, purpose.name_ja, "12名", "未納"]
        facts += [f"{day.year}年{day.month}月{day.day}日", first.name_ja, second.name_ja]
    else:
        facts += ["Facility Use Permit", facility.name_en, room.name_en, purpose.name_en]
        facts += ["Unpaid", f"{day.day} {day:%b %Y}", first.name_en, second.name_en]
    missing = [fact for fact in facts if flat(fact) not in flat(text)]
    assert not missing, (missing, text)
    assert booking.fee_total > 0


async def test_the_number_is_given_on_the_first_download_and_kept(
    client: httpx.AsyncClient,
    world: World,
    hall: Hall,
    session: AsyncSession,
    clock: FrozenClock,
) -> None:
    booking = await booked(world, hall, session, clock, ["10"])
    first = await client.get(url(booking.id), headers=world.headers("member"))
    assert first.status_code == 200, first.text
    permit = await permit_row(session, booking)
    clock.set(DEFAULT_NOW + timedelta(hours=1))
    again = await client.get(url(booking.id), headers=hall.manager)
    assert again.status_code == 200, again.text
    assert again.content == first.content  # same number and code, for whoever asks
    assert (await permit_row(session, booking)).number == permit.number
    issued = await session.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "permit.issue", AuditEvent.target_id == str(booking.id)
        )
    )
    assert [event.actor_user_id for event in issued] == [world.user_ids["member"]]


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("member", 200),
        ("representative", 200),
        ("hall_manager", 200),
        ("admin", 200),
        ("other_representative", 404),
        ("manager_here", 404),  # staff of another facility
        ("anonymous", 401),
    ],
)
async def test_members_and_the_facility_staff_get_the_permit_and_others_do_not_see_it(
    client: httpx.AsyncClient,
    world: World,
    hall: Hall,
    session: AsyncSession,
    clock: FrozenClock,
    role: str,
    status: int,
) -> None:
    booking = await booked(world, hall, session, clock, ["10"])
    headers = hall.manager if role == "hall_manager" else world.headers(role)
    response = await client.get(url(booking.id), headers=headers)
    assert response.status_code == status, response.text
    if status == 404:
        missing = await client.get(url(booking.id + 10_000), headers=headers)
        assert response.json() == missing.json() | {"detail": response.json()["detail"]}
        assert response.json()["code"] == "booking_not_found"
    if status != 200:
        assert await session.scalar(select(Permit.id)) is None


@pytest.mark.parametrize(
    "status",
    [BookingStatus.HELD, BookingStatus.PENDING_APPROVAL, BookingStatus.CANCELLED],
)
async def test_a_booking_that_is_not_final_has_no_permit(
    client: httpx.AsyncClient,
    world: World,
    hall: Hall,
    session: AsyncSession,
    clock: FrozenClock,
    status: BookingStatus,
) -> None:
    booking = await booked(world, hall, session, clock, ["10"])
    booking.status = status
    await session.commit()
    response = await client.get(url(booking.id), headers=world.headers("member"))
    assert response.status_code == 409, response.text
    problem = response.json()
    assert problem["code"] == "booking_not_final"
    assert status.value in problem["detail"]
    assert await session.scalar(select(Permit.id)) is None


async def test_a_new_fiscal_year_starts_a_new_sequence_on_1_april_tokyo_time(
    world: World,
    hall: Hall,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    bookings = [await booked(world, hall, session, clock, [code]) for code in ("10", "20", "30")]
    staff = await principal(session, hall.manager_id)
    issued = []
    for booking, now in zip(
        bookings,
        [
            datetime(2027, 3, 31, 14, 0, tzinfo=UTC),  # 31 March, 23:00 in Tokyo
            datetime(2027, 3, 31, 14, 59, 59, tzinfo=UTC),  # 23:59:59
            datetime(2027, 3, 31, 15, 0, tzinfo=UTC),  # 1 April, 00:00 in Tokyo
        ],
        strict=True,
    ):
        clock.set(now)
        facts = await issue_permit(
            sessionmaker, clock, world.settings, hall.snapshot, staff, booking.id
        )
        permit = await permit_row(session, booking)
        issued.append((facts.number, permit.fiscal_year, permit.number))
    facility = f"{hall.facility_id:04d}"
    assert issued == [
        (f"2026-{facility}-000001", 2026, 1),
        (f"2026-{facility}-000002", 2026, 2),
        (f"2027-{facility}-000001", 2027, 1),
    ]


@pytest.mark.engines("postgresql")
async def test_two_first_issues_at_once_get_distinct_sequential_numbers(desk: Desk) -> None:  # noqa: F811
    first, second = [await desk.booking(BookingStatus.CONFIRMED) for _ in range(2)]
    facts = await asyncio.gather(
        *(
            issue_permit(desk.sessionmaker, desk.clock, desk.settings, desk.snapshot, desk.staff, b)
            for b in (first, second)
        )
    )
    numbers = sorted(f.number[-6:] for f in facts)
    assert numbers == ["000001", "000002"]
    async with desk.sessionmaker() as session:
        rows = (await session.scalars(select(Permit.number).order_by(Permit.number))).all()
    assert rows == [1, 2]


@pytest.mark.parametrize("lang", ["ja", "en"])
async def test_the_group_s_booking_page_links_the_permit_of_a_confirmed_booking(
    client: httpx.AsyncClient,
    world: World,
    hall: Hall,
    session: AsyncSession,
    clock: FrozenClock,
    lang: str,
) -> None:
    confirmed = await booked(world, hall, session, clock, ["10"])
    pending = await booked(world, hall, session, clock, ["20"])
    pending.status = BookingStatus.PENDING_APPROVAL
    await session.commit()
    browser = cookies(world, "member", lang=lang)
    page = await client.get(f"/my/bookings/{confirmed.id}", headers=browser)
    assert page.status_code == 200, page.text
    link = re.search(r'href="(/my/bookings/[0-9]+/permit\.pdf[^"]*)"[^>]*>([^<]+)<', page.text)
    assert link, page.text
    assert link[2] == ("利用許可書（PDF）" if lang == "ja" else "Usage permit (PDF)")
    permit = await client.get(link[1].replace("&amp;", "&"), headers=browser)
    assert permit.status_code == 200, permit.text
    title = "利用許可書" if lang == "ja" else "Facility Use Permit"
    assert flat(title) in flat(pdf_text(permit.content))
    assert (await permit_row(session, confirmed)).booking_id == confirmed.id
    waiting = await client.get(f"/my/bookings/{pending.id}", headers=browser)
    assert waiting.status_code == 200, waiting.text
    assert "permit.pdf" not in waiting.text


async def test_the_permit_a_mail_links_asks_a_logged_out_reader_to_log_in_first(
    client: httpx.AsyncClient, world: World, hall: Hall, session: AsyncSession, clock: FrozenClock
) -> None:
    confirmed = await booked(world, hall, session, clock, ["10"])
    link = f"/my/bookings/{confirmed.id}/permit.pdf?lang=en"
    away = await client.get(link)
    assert away.status_code == 303
    assert away.headers["location"] == f"/login?next={quote(link, safe='')}"
    # Another group's representative sees the same "not found" page as for no booking at all.
    other = await client.get(link, headers=cookies(world, "other_representative"))
    missing = await client.get(
        "/my/bookings/999999/permit.pdf", headers=cookies(world, "other_representative")
    )
    assert other.status_code == missing.status_code == 404
    assert "application/pdf" not in other.headers["content-type"]
    # The page's language when the link names none.
    permit = await client.get(
        link.split("?", maxsplit=1)[0], headers=cookies(world, "member", lang="en")
    )
    assert permit.headers["content-type"] == "application/pdf"
    assert flat("Facility Use Permit") in flat(pdf_text(permit.content))
