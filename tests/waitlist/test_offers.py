"""Offers (booking/waitlist/offers.py): a freed slot goes to the first in line whose whole slot
is free, for a time bound by the online deadline; accepted it is a booking, declined or expired
it goes to the next; with nobody left the slot opens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from booking.audit.models import AuditEvent
from booking.errors import Conflict
from booking.inventory.network import SnapshotCache
from booking.notifications.models import OutboxMessage
from booking.reservations import changes
from booking.reservations.blocks import close_dates
from booking.reservations.bookings import BookingRequest, book
from booking.reservations.claims import Freed, release_claims
from booking.reservations.consistency import check
from booking.reservations.models import Booking, BookingStatus, Claim, ClaimKind
from booking.waitlist import handon, lines, offers
from booking.waitlist.models import EntryStatus, OfferStatus, WaitlistEntry, WaitlistOffer
from tests.people import principal
from tests.reservations.test_service_boundaries import refused
from tests.waitlist.conftest import Queue


async def cancel(queue: Queue, booking: Booking) -> None:
    await changes.cancel(
        queue.session,
        queue.clock,
        queue.world.settings,
        queue.snapshot,
        queue.booker,
        booking.id,
    )


async def first_come_refused(queue: Queue, periods: list[str] | None = None) -> None:
    """Another group's first-come booking of the slot is refused (rolled back, as a request)."""
    with pytest.raises(Conflict) as raised:
        async with queue.session.begin_nested():
            await queue.book(periods or ["10"], group=3)
    assert raised.value.code == "slot_taken"


async def offer_of(session: AsyncSession, entry: WaitlistEntry) -> WaitlistOffer | None:
    return await session.scalar(select(WaitlistOffer).where(WaitlistOffer.entry_id == entry.id))


async def claim_kinds(queue: Queue, day: object = None) -> dict[str, ClaimKind]:
    rows = await queue.session.execute(
        select(Claim.period_code, Claim.kind).where(Claim.use_date == (day or queue.hall.day))
    )
    return dict(rows.all())  # type: ignore[arg-type]


async def test_a_cancelled_slot_is_offered_to_the_first_in_line_not_opened(queue: Queue) -> None:
    booking = await queue.book(["10"])
    first = await queue.join(0, ["10"])
    second = await queue.join(1, ["10"])
    await cancel(queue, booking)
    offer = await offer_of(queue.session, first)
    assert offer is not None
    assert offer.status is OfferStatus.OPEN
    assert first.status is EntryStatus.OFFERED
    assert await offer_of(queue.session, second) is None
    assert await claim_kinds(queue) == {"10": ClaimKind.OFFER}
    # Nobody books it first-come in between: the offer claims it.
    await first_come_refused(queue)
    # 24 hours (the default), well before the online deadline.
    assert offer.expires_at == queue.clock.now() + timedelta(hours=24)
    mail = await queue.session.scalar(
        select(OutboxMessage).where(OutboxMessage.template == "waitlist_offer")
    )
    assert mail is not None
    assert mail.to_address == "wait0@example.jp"
    assert "http://127.0.0.1:8000/my/waitlist" in mail.body_text
    assert "2026年11月26日（木） 10:00 まで" in mail.body_text
    events = await queue.session.scalars(
        select(AuditEvent.action).where(AuditEvent.action.like("waitlist.%"))
    )
    assert sorted(events) == ["waitlist.joined", "waitlist.joined", "waitlist.offered"]
    assert (await check(queue.session)).ok


async def test_an_entry_whose_slot_is_still_partly_taken_is_skipped(queue: Queue) -> None:
    morning = await queue.book(["10"])
    await queue.book(["20"], group=3)
    both = await queue.join(0, ["10", "20"])  # first in line, but 午後 stays taken
    one = await queue.join(1, ["10"])
    await cancel(queue, morning)
    assert await offer_of(queue.session, both) is None
    assert both.status is EntryStatus.WAITING
    offer = await offer_of(queue.session, one)
    assert offer is not None
    assert offer.period_codes == ["10"]


async def test_accept_books_the_slot_once(queue: Queue) -> None:
    booking = await queue.book(["10", "20"])
    entry = await queue.join(0, ["10", "20"])
    await cancel(queue, booking)
    offer = await offer_of(queue.session, entry)
    assert offer is not None
    settings, snapshot = queue.world.settings, queue.snapshot
    booked = await offers.accept(
        queue.session, queue.clock, settings, snapshot, queue.reps[0], offer.id,
        purpose="meeting", headcount=8,
    )  # fmt: skip
    assert booked.status is BookingStatus.CONFIRMED
    assert booked.group_id == queue.group_ids[0]
    assert booked.fee_total == queue.hall.fees["10"] + queue.hall.fees["20"]
    assert (offer.status, offer.booking_id) == (OfferStatus.ACCEPTED, booked.id)
    assert entry.status is EntryStatus.BOOKED
    assert await claim_kinds(queue) == {"10": ClaimKind.BOOKING, "20": ClaimKind.BOOKING}
    again = offers.accept(
        queue.session, queue.clock, settings, snapshot, queue.reps[0], offer.id,
        purpose="meeting", headcount=8,
    )  # fmt: skip
    await refused(again, Conflict, "offer_not_open")
    assert (await check(queue.session)).ok


async def test_decline_and_expiry_hand_on_and_an_empty_line_opens_the_slot(
    queue: Queue, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    settings, snapshot = queue.world.settings, queue.snapshot
    booking = await queue.book(["10"])
    entries = [await queue.join(i, ["10"]) for i in range(3)]
    await cancel(queue, booking)
    first = await offer_of(queue.session, entries[0])
    assert first is not None
    await offers.decline(queue.session, queue.clock, settings, snapshot, queue.reps[0], first.id)
    assert (first.status, entries[0].status) == (OfferStatus.DECLINED, EntryStatus.DECLINED)
    second = await offer_of(queue.session, entries[1])
    assert second is not None
    await queue.session.commit()

    queue.clock.set(second.expires_at - timedelta(seconds=1))
    assert await offers.expire_offers(sessionmaker, queue.clock, settings) == 0
    queue.clock.set(second.expires_at)
    assert await offers.expire_offers(sessionmaker, queue.clock, settings) == 1
    assert await offers.expire_offers(sessionmaker, queue.clock, settings) == 0  # done once
    await queue.session.refresh(second)
    await queue.session.refresh(entries[1])
    assert (second.status, entries[1].status) == (OfferStatus.EXPIRED, EntryStatus.EXPIRED)
    third = await offer_of(queue.session, entries[2])
    assert third is not None
    assert third.status is OfferStatus.OPEN
    expired = await queue.session.scalar(
        select(OutboxMessage).where(OutboxMessage.template == "waitlist_expired")
    )
    assert expired is not None
    assert expired.to_address == "wait1@example.jp"

    # Leaving with an open offer declines it; nobody is left: the slot opens.
    await lines_leave(queue, 2, entries[2].id)
    await queue.session.refresh(third)
    assert third.status is OfferStatus.DECLINED
    assert await claim_kinds(queue) == {}
    assert (await queue.book(["10"], group=3)).status is BookingStatus.CONFIRMED
    assert (await check(queue.session)).ok


async def lines_leave(queue: Queue, i: int, entry_id: int) -> None:
    await lines.leave(
        queue.session, queue.clock, queue.world.settings, queue.snapshot, queue.reps[i], entry_id
    )


async def test_an_offer_never_outlasts_the_online_deadline(queue: Queue) -> None:
    booking = await queue.book(["10"])
    entry = await queue.join(0, ["10"])
    # Online booking ends with the third day before the date (00:00 JST after it).
    last = queue.hall.day - timedelta(days=3)
    deadline = datetime(last.year, last.month, last.day, 15, 0, tzinfo=UTC)  # 24:00 JST
    queue.clock.set(deadline - timedelta(hours=5))
    await changes.cancel(
        queue.session, queue.clock, queue.world.settings, queue.snapshot, queue.staff, booking.id
    )
    offer = await offer_of(queue.session, entry)
    assert offer is not None
    assert offer.expires_at == deadline


async def test_with_no_time_left_the_entries_close_and_the_slot_opens(queue: Queue) -> None:
    booking = await queue.book(["10"])
    entry = await queue.join(0, ["10"])
    last = queue.hall.day - timedelta(days=3)
    queue.clock.set(datetime(last.year, last.month, last.day, 15, 0, tzinfo=UTC))
    # Staff cancel at the counter after the online deadline: nothing can be offered online.
    await changes.cancel(
        queue.session, queue.clock, queue.world.settings, queue.snapshot, queue.staff, booking.id
    )
    assert await offer_of(queue.session, entry) is None
    assert entry.status is EntryStatus.CLOSED
    assert await claim_kinds(queue) == {}
    closed = await queue.session.scalar(
        select(OutboxMessage).where(OutboxMessage.template == "waitlist_closed")
    )
    assert closed is not None


async def test_a_batch_that_loses_a_slot_is_retried_one_by_one(
    queue: Queue, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The offers of a pass are written in one savepoint; when a claim wins one of the slots
    (a writer the pass did not see), the batch is undone and the entries are tried one by
    one: the loser's line moves on, the others keep their offers."""
    morning = await queue.book(["10"])
    await queue.book(["20"], group=3)
    evening = await queue.book(["30"])
    both = await queue.join(0, ["10", "20"])  # 午後 is taken: its insert will fail
    one = await queue.join(1, ["10"])
    other = await queue.join(2, ["30"])
    real = handon._taken
    calls = []

    async def unseen_first(*args: Any) -> set[Freed]:
        calls.append(1)
        return set() if len(calls) == 1 else await real(*args)

    monkeypatch.setattr(handon, "_taken", unseen_first)
    freed = [
        *await release_claims(queue.session, [ClaimKind.BOOKING], morning.id),
        *await release_claims(queue.session, [ClaimKind.BOOKING], evening.id),
    ]
    made = await handon.hand_on(
        queue.session, queue.clock, queue.world.settings, queue.snapshot, freed
    )
    assert len(calls) == 2  # the batch failed and was redone
    assert sorted(o.entry_id for o in made) == sorted([one.id, other.id])
    assert both.status is EntryStatus.WAITING
    assert await offer_of(queue.session, both) is None
    assert await claim_kinds(queue) == {
        "10": ClaimKind.OFFER,
        "20": ClaimKind.BOOKING,
        "30": ClaimKind.OFFER,
    }


async def test_the_worker_closes_lines_whose_online_booking_has_ended(
    queue: Queue, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await queue.book(["10"])
    entry = await queue.join(0, ["10"])
    await queue.session.commit()
    last = queue.hall.day - timedelta(days=3)
    settings = queue.world.settings
    queue.clock.set(datetime(last.year, last.month, last.day, 14, 59, tzinfo=UTC))  # 23:59 JST
    assert await offers.waitlist_pass(sessionmaker, queue.clock, settings) == (0, 0)
    queue.clock.set(datetime(last.year, last.month, last.day, 15, 0, tzinfo=UTC))  # 00:00 JST
    assert await offers.waitlist_pass(sessionmaker, queue.clock, settings) == (0, 1)
    assert await offers.waitlist_pass(sessionmaker, queue.clock, settings) == (0, 0)  # once
    await queue.session.refresh(entry)
    assert entry.status is EntryStatus.CLOSED
    closed = await queue.session.scalar(
        select(OutboxMessage).where(OutboxMessage.template == "waitlist_closed")
    )
    assert closed is not None
    assert closed.to_address == "wait0@example.jp"


async def test_open_offers_are_seen_by_the_group_and_the_facility_only(queue: Queue) -> None:
    booking = await queue.book(["10"])
    entry = await queue.join(0, ["10"])
    await cancel(queue, booking)
    offer = await offer_of(queue.session, entry)
    assert offer is not None
    elsewhere = await principal(queue.session, queue.world.user_ids["manager_elsewhere"])
    seen = {
        who: [o.id for o in await offers.open_offers(queue.session, p, queue.group_ids[0])]
        for who, p in (
            ("member", queue.reps[0]),
            ("another group", queue.reps[1]),
            ("the hall", queue.staff),
            ("elsewhere", elsewhere),
        )
    }
    assert seen == {
        "member": [offer.id],
        "another group": [],
        "the hall": [offer.id],
        "elsewhere": [],
    }


async def test_a_date_closed_since_the_line_formed_offers_nothing(queue: Queue) -> None:
    booking = await queue.book(["10"])
    entry = await queue.join(0, ["10"])
    day = queue.hall.day
    await close_dates(
        queue.session, queue.clock, queue.world.settings, queue.staff, queue.hall.facility_id,
        start=day, end=day, note="臨時休館",
    )  # fmt: skip
    queue.hall.snapshot = await SnapshotCache().get(queue.session)
    await changes.cancel(
        queue.session, queue.clock, queue.world.settings, queue.snapshot, queue.staff,
        booking.id, facility_cause=True,
    )  # fmt: skip
    assert await offer_of(queue.session, entry) is None
    assert entry.status is EntryStatus.WAITING
    assert await claim_kinds(queue) == {}


async def test_an_offer_is_recalled_once_six_hours_before_it_lapses(
    queue: Queue, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    booking = await queue.book(["10"])
    entry = await queue.join(0, ["10"])
    await cancel(queue, booking)
    offer = await offer_of(queue.session, entry)
    assert offer is not None
    await queue.session.commit()
    settings = queue.world.settings

    async def reminders() -> list[OutboxMessage]:
        found = await queue.session.scalars(
            select(OutboxMessage).where(OutboxMessage.template == "waitlist_reminder")
        )
        return list(found.all())

    queue.clock.set(offer.expires_at - timedelta(hours=6, seconds=1))
    assert await offers.remind_offers(sessionmaker, queue.clock, settings) == 0
    queue.clock.set(offer.expires_at - timedelta(hours=6))
    assert await offers.remind_offers(sessionmaker, queue.clock, settings) == 1
    assert await offers.remind_offers(sessionmaker, queue.clock, settings) == 0  # once
    [mail] = await reminders()
    assert mail.to_address == "wait0@example.jp"
    assert "/my/waitlist" in mail.body_text
    assert "2026年11月26日（木） 10:00 に期限" in mail.body_text


async def test_a_combined_room_and_its_part_share_one_line(queue: Queue) -> None:
    """Lines are by unit: a part of a combined room and the whole wait in one order, and a
    freed whole goes to whichever of them joined first and whose slot is free."""
    whole, part = queue.hall.combined_room_id, queue.hall.part_room_id
    assert whole is not None
    assert part is not None
    booked = await book(
        queue.session,
        queue.clock,
        queue.world.settings,
        queue.snapshot,
        queue.booker,
        BookingRequest(
            group_id=queue.world.group_a,
            room_id=whole,
            use_date=queue.hall.day,
            period_codes=["10"],
            purpose="meeting",
            headcount=5,
        ),
    )
    first = await queue.join(0, ["10"], room=part)
    second = await queue.join(1, ["10"], room=whole)
    [line] = await lines.group_lines(
        queue.session, queue.reps[1], queue.snapshot, queue.group_ids[1]
    )
    assert line.position == 2  # behind the part's group: they share a unit
    await cancel(queue, booked)
    assert first.status is EntryStatus.OFFERED
    assert second.status is EntryStatus.WAITING  # its slot holds the part, offered first
    offer = await offer_of(queue.session, first)
    assert offer is not None
    settings, snapshot = queue.world.settings, queue.snapshot
    await offers.decline(queue.session, queue.clock, settings, snapshot, queue.reps[0], offer.id)
    assert second.status is EntryStatus.OFFERED
    assert (await check(queue.session)).ok
