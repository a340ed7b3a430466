"""Receipts (領収書), refunds (還付) and waivers (減免), issue 16 §3: recording a payment issues
its document in the payment's own transaction, audited; each kind is numbered per facility and
fiscal year of the issue date (April to March, Tokyo), never reused, and a status recorded again
issues nothing new. The PDF states each fact in Japanese or English; the booking's members and
the facility's staff get it, others the booking's not-found."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.audit.models import AuditEvent
from booking.clock import FrozenClock
from booking.documents.models import DocumentCounter, Receipt
from booking.errors import Conflict
from booking.reservations.changes import cancel, set_payment
from booking.reservations.models import Booking, BookingStatus, PaymentStatus
from tests.conftest import DEFAULT_NOW
from tests.documents.test_permits import booked, flat, pdf_text
from tests.pages.browsing import cookies
from tests.people import World
from tests.places import Hall
from tests.races import Step
from tests.reservations.test_change_locks import Desk, committed, desk  # noqa: F401
from tests.reservations.test_service_boundaries import principal

PAID, UNPAID = PaymentStatus.PAID, PaymentStatus.UNPAID
WAIVED, REFUNDED = PaymentStatus.WAIVED, PaymentStatus.REFUNDED


def pdf_url(booking_id: int, receipt_id: int) -> str:
    return f"/api/v1/bookings/{booking_id}/receipts/{receipt_id}/receipt.pdf"


async def receipts(session: AsyncSession, booking: Booking | None = None) -> list[Receipt]:
    query = select(Receipt).order_by(Receipt.id).execution_options(populate_existing=True)
    if booking is not None:
        query = query.where(Receipt.booking_id == booking.id)
    return list((await session.scalars(query)).all())


async def actions(session: AsyncSession, booking: Booking) -> list[str]:
    found = await session.scalars(
        select(AuditEvent.action)
        .where(AuditEvent.target_type == "booking", AuditEvent.target_id == str(booking.id))
        .order_by(AuditEvent.id)
    )
    return list(found.all())


async def pay(
    world: World,
    hall: Hall,
    session: AsyncSession,
    clock: FrozenClock,
    booking: Booking,
    status: PaymentStatus,
    method: str | None = "counter",
) -> Booking:
    staff = await principal(session, hall.manager_id)
    paid = await set_payment(session, clock, world.settings, staff, booking.id, status, method)
    await session.commit()
    return paid


async def test_a_payment_issues_a_receipt_of_the_fee_in_its_transaction_audited(
    world: World, hall: Hall, session: AsyncSession, clock: FrozenClock
) -> None:
    booking = await booked(world, hall, session, clock, ["10", "20"])
    clock.set(DEFAULT_NOW + timedelta(hours=2))
    await pay(world, hall, session, clock, booking, PAID, "counter")
    [receipt] = await receipts(session, booking)
    assert (receipt.kind, receipt.fiscal_year, receipt.number) == ("receipt", 2026, 1)
    assert (receipt.amount, receipt.method, receipt.facility_id) == (
        booking.fee_total,
        "counter",
        hall.facility_id,
    )
    assert (receipt.issued_at, receipt.issued_by_user_id) == (clock.now(), hall.manager_id)
    assert re.fullmatch(r"[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}", receipt.verification_code)
    assert booking.fee_total > 0
    assert await actions(session, booking) == [
        "booking.created",
        "receipt.issue",
        "booking.payment",
    ]
    event = await session.scalar(select(AuditEvent).where(AuditEvent.action == "receipt.issue"))
    assert event is not None
    assert (event.actor_user_id, event.after) == (
        hall.manager_id,
        {
            "receipt_id": receipt.id,
            "number": f"R-2026-{hall.facility_id:04d}-000001",
            "amount": booking.fee_total,
            "method": "counter",
        },
    )
    # The next booking's receipt takes the next number of the facility's year.
    other = await booked(world, hall, session, clock, ["30"])
    await pay(world, hall, session, clock, other, PAID, None)
    assert [(r.booking_id, r.number) for r in await receipts(session)] == [
        (booking.id, 1),
        (other.id, 2),
    ]


async def test_the_same_status_recorded_again_issues_no_second_number(
    world: World, hall: Hall, session: AsyncSession, clock: FrozenClock
) -> None:
    booking = await booked(world, hall, session, clock, ["10"])
    await pay(world, hall, session, clock, booking, PAID, "counter")
    again = await pay(world, hall, session, clock, booking, PAID, "online")  # a method corrected
    assert again.payment_method == "online"
    [receipt] = await receipts(session, booking)
    assert (receipt.number, receipt.method) == (1, "counter")  # the document stays as issued
    counter = await session.get(
        DocumentCounter, (hall.facility_id, 2026, "receipt"), populate_existing=True
    )
    assert counter is not None
    assert counter.last_number == 1
    assert (await actions(session, booking)).count("receipt.issue") == 1


async def test_a_refund_and_a_waiver_are_documents_of_their_own_kind_and_sequence(
    world: World, hall: Hall, session: AsyncSession, clock: FrozenClock
) -> None:
    paid, waived = [await booked(world, hall, session, clock, [c]) for c in ("10", "20")]
    await pay(world, hall, session, clock, paid, PAID, "counter")
    await pay(world, hall, session, clock, paid, REFUNDED, "counter")
    await pay(world, hall, session, clock, waived, WAIVED, None)
    await pay(world, hall, session, clock, waived, UNPAID, None)  # the waiver revoked: no paper
    await pay(world, hall, session, clock, waived, PAID, "bank_debit")
    issued = [(r.booking_id, r.kind, r.number, r.amount) for r in await receipts(session)]
    assert issued == [
        (paid.id, "receipt", 1, paid.fee_total),
        (paid.id, "refund", 1, paid.fee_total),  # what the receipt received
        (waived.id, "waiver", 1, waived.fee_total),
        (waived.id, "receipt", 2, waived.fee_total),
    ]
    assert "refund.issue" in await actions(session, paid)
    assert "waiver.issue" in await actions(session, waived)


@pytest.mark.parametrize(
    ("first", "then", "code"),
    [
        (PAID, UNPAID, "payment_received"),
        (PAID, WAIVED, "payment_received"),
        (None, REFUNDED, "nothing_paid"),
        (WAIVED, REFUNDED, "nothing_paid"),
    ],
)
async def test_money_received_is_left_only_by_a_refund_and_nothing_paid_is_not_refunded(
    world: World,
    hall: Hall,
    session: AsyncSession,
    clock: FrozenClock,
    first: PaymentStatus | None,
    then: PaymentStatus,
    code: str,
) -> None:
    booking = await booked(world, hall, session, clock, ["10"])
    if first is not None:
        await pay(world, hall, session, clock, booking, first)
    before = (await receipts(session), await actions(session, booking), booking.payment_status)
    staff = await principal(session, hall.manager_id)
    with pytest.raises(Conflict) as refused:
        await set_payment(session, clock, world.settings, staff, booking.id, then, None)
    await session.rollback()
    assert (refused.value.code, refused.value.field) == (code, "status")
    await session.refresh(booking)
    after = (await receipts(session), await actions(session, booking), booking.payment_status)
    assert after == before


async def test_a_cancelled_booking_s_receipt_is_of_its_cancellation_charge(
    world: World, hall: Hall, session: AsyncSession, clock: FrozenClock
) -> None:
    booking = await booked(world, hall, session, clock, ["10", "20"])
    booking.status = BookingStatus.CANCELLED
    booking.cancellation_charge = 700
    await session.commit()
    await pay(world, hall, session, clock, booking, PAID)
    assert [r.amount for r in await receipts(session, booking)] == [700]
    assert booking.fee_total != 700


async def test_a_refund_pays_back_what_was_received_even_after_a_free_cancellation(
    world: World, hall: Hall, session: AsyncSession, clock: FrozenClock
) -> None:
    booking = await booked(world, hall, session, clock, ["10", "20"])
    await pay(world, hall, session, clock, booking, PAID)
    member = await principal(session, world.user_ids["member"])
    outcome = await cancel(session, clock, world.settings, hall.snapshot, member, booking.id)
    await session.commit()
    assert (outcome.charge, booking.payment_status) == (0, PAID)  # nothing due, money held
    await pay(world, hall, session, clock, booking, REFUNDED)
    assert [(r.kind, r.amount) for r in await receipts(session, booking)] == [
        ("receipt", booking.fee_total),
        ("refund", booking.fee_total),
    ]


async def test_a_new_fiscal_year_starts_each_kind_at_1_on_1_april_tokyo_time(
    world: World, hall: Hall, session: AsyncSession, clock: FrozenClock
) -> None:
    bookings = [await booked(world, hall, session, clock, [c]) for c in ("10", "20", "30")]
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
        await pay(world, hall, session, clock, booking, PAID)
    clock.set(datetime(2027, 3, 31, 15, 0, tzinfo=UTC))
    await pay(world, hall, session, clock, bookings[0], REFUNDED)
    issued = [(r.kind, r.fiscal_year, r.number) for r in await receipts(session)]
    assert issued == [
        ("receipt", 2026, 1),
        ("receipt", 2026, 2),
        ("receipt", 2027, 1),
        ("refund", 2027, 1),  # refunded in the new year: the new year's refund
    ]


@pytest.mark.engines("postgresql")
async def test_two_receipts_at_once_never_share_a_number(desk: Desk) -> None:  # noqa: F811
    """The first payment holds the facility's counter row until it commits; the second, of
    another booking (no lock of the booking to wait on), waits for it and takes the next."""
    first, second = [await desk.booking(BookingStatus.CONFIRMED) for _ in range(2)]

    def paying(booking_id: int) -> Step:
        return lambda session: set_payment(
            session, desk.clock, desk.settings, desk.staff, booking_id, PAID, "counter"
        )

    await desk.at_once(paying(first), paying(second))
    async with desk.sessionmaker() as session:
        rows = (await session.execute(select(Receipt.booking_id, Receipt.number))).all()
    assert sorted(rows) == [(first, 1), (second, 2)]


@pytest.mark.engines("postgresql")
async def test_many_receipts_at_once_take_every_number_once(desk: Desk) -> None:  # noqa: F811
    bookings = [await desk.booking(BookingStatus.CONFIRMED) for _ in range(6)]

    async def paying(booking_id: int) -> None:
        async with desk.sessionmaker.begin() as session:
            await set_payment(
                session, desk.clock, desk.settings, desk.staff, booking_id, PAID, None
            )

    await asyncio.gather(*(paying(b) for b in bookings))
    async with desk.sessionmaker() as session:
        numbers = sorted((await session.scalars(select(Receipt.number))).all())
    assert numbers == [1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize("lang", ["ja", "en"])
async def test_the_receipt_pdf_states_every_fact_in_the_language_asked_for(
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
    paid = await client.post(
        f"/api/v1/bookings/{booking.id}/payment",
        json={"status": "paid", "method": "counter"},
        headers=hall.manager,
    )
    assert paid.status_code == 200, paid.text
    listed = await client.get(
        f"/api/v1/bookings/{booking.id}/documents", headers=world.headers("member")
    )
    assert listed.status_code == 200, listed.text
    [permit, receipt] = listed.json()
    assert (permit["kind"], permit["number"]) == ("permit", None)  # not downloaded yet
    assert permit["url"] == f"/api/v1/bookings/{booking.id}/permit.pdf"
    opened = await client.get(permit["url"], headers=world.headers("member"))
    assert opened.headers["content-type"] == "application/pdf", opened.text
    [row] = await receipts(session, booking)
    number = f"R-2026-{hall.facility_id:04d}-000001"
    assert receipt == {
        "kind": "receipt",
        "receipt_id": row.id,
        "number": number,
        "amount": booking.fee_total,
        "method": "counter",
        "issued_at": "2026-11-25T01:00:00Z",
        "url": pdf_url(booking.id, row.id),
    }
    params = {"lang": "en"} if lang == "en" else {}
    response = await client.get(receipt["url"], params=params, headers=world.headers("member"))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert f"receipt-{number}.pdf" in response.headers["content-disposition"]
    text = pdf_text(response.content)
    facility = hall.snapshot.facilities[hall.facility_id]
    day = hall.day
    facts = [number, row.verification_code, "川崎合唱団", f"¥{booking.fee_total:,}-"]
    facts += [str(booking.id), f"{first.start:%H:%M}", f"{second.end:%H:%M}"]
    if lang == "ja":
        facts += ["領収書", "施設使用料として", "上記の金額を領収しました", facility.name_ja]
        facts += [room.name_ja, "窓口", f"{day.year}年{day.month}月{day.day}日", first.name_ja]
        facts += ["2026年11月25日", "川崎合唱団様"]
    else:
        facts += ["Receipt", "Facility use fee", facility.name_en, room.name_en]
        facts += ["At the counter", f"{day.day} {day:%b %Y}", first.name_en, "25 Nov 2026"]
    missing = [fact for fact in facts if flat(fact) not in flat(text)]
    assert not missing, (missing, text)


async def test_a_refund_pdf_says_it_is_a_refund(
    client: httpx.AsyncClient, world: World, hall: Hall, session: AsyncSession, clock: FrozenClock
) -> None:
    booking = await booked(world, hall, session, clock, ["10"])
    await pay(world, hall, session, clock, booking, PAID)
    await pay(world, hall, session, clock, booking, REFUNDED)
    [_, refund] = await receipts(session, booking)
    response = await client.get(pdf_url(booking.id, refund.id), headers=hall.manager)
    assert response.status_code == 200, response.text
    text = flat(pdf_text(response.content))
    assert flat("還付通知書") in text
    assert flat("施設使用料の還付として") in text
    assert f"RF-2026-{hall.facility_id:04d}-000001" in text
    assert "領収書" not in text


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
async def test_members_and_the_facility_staff_get_the_receipt_and_others_do_not_see_it(
    client: httpx.AsyncClient,
    world: World,
    hall: Hall,
    session: AsyncSession,
    clock: FrozenClock,
    role: str,
    status: int,
) -> None:
    booking = await booked(world, hall, session, clock, ["10"])
    await pay(world, hall, session, clock, booking, PAID)
    [receipt] = await receipts(session, booking)
    headers = hall.manager if role == "hall_manager" else world.headers(role)
    response = await client.get(pdf_url(booking.id, receipt.id), headers=headers)
    assert response.status_code == status, response.text
    listed = await client.get(f"/api/v1/bookings/{booking.id}/documents", headers=headers)
    assert listed.status_code == status, listed.text
    if status == 404:
        assert response.json()["code"] == listed.json()["code"] == "booking_not_found"


async def test_a_receipt_is_found_only_under_its_own_booking(
    client: httpx.AsyncClient, world: World, hall: Hall, session: AsyncSession, clock: FrozenClock
) -> None:
    paid, other = [await booked(world, hall, session, clock, [c]) for c in ("10", "20")]
    await pay(world, hall, session, clock, paid, PAID)
    [receipt] = await receipts(session, paid)
    member = world.headers("member")
    for path in (pdf_url(other.id, receipt.id), pdf_url(paid.id, receipt.id + 1000)):
        response = await client.get(path, headers=member)
        assert response.status_code == 404, response.text
        assert response.json()["code"] == "receipt_not_found"
    for path, status in (
        (pdf_url(paid.id, 2**31), 404),  # past any id: not found, before the database
        (pdf_url(paid.id, receipt.id) + "?lang=fr", 400),
    ):
        response = await client.get(path, headers=member)
        assert response.status_code == status, response.text
        assert response.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize("lang", ["ja", "en"])
async def test_the_group_s_page_and_the_desk_link_the_receipt_and_the_links_work(
    client: httpx.AsyncClient,
    world: World,
    hall: Hall,
    session: AsyncSession,
    clock: FrozenClock,
    lang: str,
) -> None:
    booking = await booked(world, hall, session, clock, ["10"])
    await pay(world, hall, session, clock, booking, PAID)
    [receipt] = await receipts(session, booking)
    title = "領収書" if lang == "ja" else "Receipt"
    label = "領収書（PDF）" if lang == "ja" else "Receipt (PDF)"
    clerk = hall.manager | {"Cookie": hall.manager["Cookie"] + f"; lang={lang}"}
    for page, headers in (
        (f"/my/bookings/{booking.id}", cookies(world, "member", lang=lang)),
        (f"/manage/bookings/{booking.id}", clerk),
    ):
        shown = await client.get(page, headers=headers)
        assert shown.status_code == 200, shown.text
        link = re.search(r'href="([^"]*/receipt\.pdf[^"]*)"[^>]*>([^<]+)<', shown.text)
        assert link, shown.text
        assert link[1].startswith(f"/my/bookings/{booking.id}/receipts/{receipt.id}/receipt.pdf")
        assert link[2] == label
        pdf = await client.get(link[1].replace("&amp;", "&"), headers=headers)
        assert pdf.status_code == 200, pdf.text
        assert flat(title) in flat(pdf_text(pdf.content))
        permit = re.search(r'href="([^"]*/permit\.pdf[^"]*)"', shown.text)
        assert permit, shown.text
        got = await client.get(permit[1].replace("&amp;", "&"), headers=headers)
        assert got.headers["content-type"] == "application/pdf", page


async def test_a_refused_payment_change_is_a_409_naming_the_status_and_the_desk_says_why(
    client: httpx.AsyncClient, world: World, hall: Hall, session: AsyncSession, clock: FrozenClock
) -> None:
    booking = await booked(world, hall, session, clock, ["10"])
    await pay(world, hall, session, clock, booking, PAID)
    url = f"/api/v1/bookings/{booking.id}/payment"
    for status, code in (("unpaid", "payment_received"), ("waived", "payment_received")):
        refused = await client.post(url, json={"status": status}, headers=hall.manager)
        assert refused.status_code == 409, refused.text
        problem = refused.json()
        assert (problem["code"], problem["errors"][0]["field"]) == (code, "status")
    bad = await client.post(url, json={"status": "paid", "method": "cash\n"}, headers=hall.manager)
    assert bad.status_code == 400, bad.text
    # At the desk: the form is shown again with the reason, in Japanese; nothing is issued.
    form = {
        "payment_status": "unpaid",
        "payment_method": "",
        "csrf_token": hall.manager["X-CSRF-Token"],
    }
    shown = await client.post(
        f"/manage/bookings/{booking.id}/payment",
        data=form,
        headers={"Cookie": hall.manager["Cookie"]},
    )
    assert shown.status_code == 422, shown.text
    assert "使用料は納付済みで領収書を発行しています。先に還付を記録してください。" in shown.text
    await session.refresh(booking)
    assert booking.payment_status is PAID
    assert [r.kind for r in await receipts(session, booking)] == ["receipt"]
