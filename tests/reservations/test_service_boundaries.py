"""The thresholds of booking that need the database, on both sides of their edge (issue 15):
capacity, the first and last bookable day, the online cancellation deadline, the hold's expiry
instant, the uplift through a booking, and combined rooms through each of their units.

Service calls with the `session` and `clock` fixtures (no HTTP); every deadline is a local day
in Tokyo, so each is pinned at 23:59 and 00:00 JST, where the UTC date is still the day before.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from booking.accounts.access import Principal
from booking.clock import FrozenClock
from booking.errors import BookingError, Conflict, RuleViolation
from booking.inventory.calendar import DayType, day_type, is_holiday
from booking.inventory.models import Policy, Room
from booking.inventory.network import NetworkSnapshot, SnapshotCache
from booking.inventory.services import bump_revision
from booking.reservations.bookings import BookingRequest, book, is_closed
from booking.reservations.changes import cancel, record_no_show
from booking.reservations.holds import complete_hold, expire_holds
from booking.reservations.models import Booking, BookingStatus, Claim, ClaimKind, PaymentStatus
from tests.conftest import DEFAULT_NOW
from tests.people import World, principal
from tests.places import Hall, open_weekday

JST_MIDNIGHT_IN_UTC = 15  # 00:00 JST is 15:00 UTC of the day before


def last_minute_of(day: date) -> datetime:
    """23:59 JST on `day`, in UTC."""
    return datetime(day.year, day.month, day.day, 14, 59, tzinfo=UTC)


def first_minute_of(day: date) -> datetime:
    """00:00 JST on `day`, in UTC (still the day before in UTC)."""
    before = day - timedelta(days=1)
    return datetime(before.year, before.month, before.day, JST_MIDNIGHT_IN_UTC, tzinfo=UTC)


def request(
    world: World,
    room_id: int,
    day: date,
    periods: list[str],
    *,
    headcount: int = 5,
    purpose: str = "meeting",
) -> BookingRequest:
    return BookingRequest(
        group_id=world.group_a,
        room_id=room_id,
        use_date=day,
        period_codes=periods,
        purpose=purpose,
        headcount=headcount,
    )


async def refused(coroutine: object, error: type[BookingError], code: str) -> BookingError:
    with pytest.raises(error) as raised:
        await coroutine  # type: ignore[misc]
    assert raised.value.code == code, raised.value
    return raised.value


async def with_policy(
    session: AsyncSession, clock: FrozenClock, room_ids: list[int], settings: dict[str, object]
) -> NetworkSnapshot:
    """The rooms get a policy layer of their own; the snapshot that follows."""
    policy = Policy(key=f"test-{len(settings)}-{min(room_ids)}", settings=settings)
    session.add(policy)
    await session.flush()
    await session.execute(update(Room).where(Room.id.in_(room_ids)).values(policy_id=policy.id))
    await bump_revision(session, clock.now())
    await session.commit()
    return await SnapshotCache().get(session)


# --- capacity -----------------------------------------------------------------------------------


async def test_a_headcount_equal_to_the_capacity_is_accepted_one_more_refused(
    world: World, hall: Hall, session: AsyncSession, clock: FrozenClock
) -> None:
    member = await principal(session, world.user_ids["member"])
    settings, snapshot = world.settings, hall.snapshot
    over = request(world, hall.room_id, hall.day, ["10"], headcount=hall.capacity + 1)
    error = await refused(
        book(session, clock, settings, snapshot, member, over), RuleViolation, "over_capacity"
    )
    assert str(hall.capacity) in str(error)
    full = request(world, hall.room_id, hall.day, ["10"], headcount=hall.capacity)
    booking = await book(session, clock, settings, snapshot, member, full)
    assert booking.status is BookingStatus.CONFIRMED
    assert booking.headcount == hall.capacity


# --- the first-come window: first and last bookable day ----------------------------------------


async def test_first_come_booking_opens_at_midnight_tokyo_on_the_29th_four_months_before(
    world: World, hall: Hall, session: AsyncSession, clock: FrozenClock
) -> None:
    assert hall.day.month == 2  # February's first-come booking opens on 29 October
    opens = date(hall.day.year - 1, 10, 29)
    member = await principal(session, world.user_ids["member"])
    settings, snapshot = world.settings, hall.snapshot
    clock.set(last_minute_of(opens - timedelta(days=1)))
    error = await refused(
        book(
            session,
            clock,
            settings,
            snapshot,
            member,
            request(world, hall.room_id, hall.day, ["10"]),
        ),
        RuleViolation,
        "outside_window",
    )
    assert f"opens on {opens.isoformat()}" in str(error)
    clock.set(first_minute_of(opens))
    booking = await book(
        session, clock, settings, snapshot, member, request(world, hall.room_id, hall.day, ["10"])
    )
    assert booking.status is BookingStatus.CONFIRMED


async def test_online_booking_closes_at_midnight_tokyo_after_the_third_day_before(
    world: World, hall: Hall, session: AsyncSession, clock: FrozenClock
) -> None:
    last = hall.day - timedelta(days=3)
    member = await principal(session, world.user_ids["member"])
    staff = await principal(session, hall.manager_id)
    settings, snapshot = world.settings, hall.snapshot
    clock.set(last_minute_of(last))
    booking = await book(
        session, clock, settings, snapshot, member, request(world, hall.room_id, hall.day, ["10"])
    )
    assert booking.status is BookingStatus.CONFIRMED
    clock.set(first_minute_of(last + timedelta(days=1)))
    late = request(world, hall.room_id, hall.day, ["20"])
    error = await refused(
        book(session, clock, settings, snapshot, member, late), RuleViolation, "outside_window"
    )
    assert f"closed on {last.isoformat()}" in str(error)
    # The facility's counter still books it for the group.
    at_counter = await book(session, clock, settings, snapshot, staff, late)
    assert at_counter.channel == "counter"


# --- the online cancellation deadline and the late charge --------------------------------------


async def test_online_cancellation_closes_at_midnight_tokyo_after_the_third_day_before(
    world: World, hall: Hall, session: AsyncSession, clock: FrozenClock
) -> None:
    settings, snapshot = world.settings, hall.snapshot
    member = await principal(session, world.user_ids["member"])
    staff = await principal(session, hall.manager_id)
    booking = await book(
        session, clock, settings, snapshot, member, request(world, hall.room_id, hall.day, ["10"])
    )
    fee = booking.fee_total
    assert fee == hall.fees["10"] > 0
    last = hall.day - timedelta(days=3)

    async def ask(who: Principal, *, facility_cause: bool = False) -> tuple[int, str]:
        outcome = await cancel(
            session,
            clock,
            settings,
            snapshot,
            who,
            booking.id,
            facility_cause=facility_cause,
            dry_run=True,
        )
        return outcome.charge, outcome.cause

    clock.set(last_minute_of(last))
    assert await ask(member) == (0, "group")
    assert await ask(staff) == (0, "group")
    clock.set(first_minute_of(last + timedelta(days=1)))
    await refused(ask(member), RuleViolation, "cancellation_closed")
    assert await ask(staff) == (fee, "late")  # the full fee from 2 days before
    assert await ask(staff, facility_cause=True) == (0, "facility")
    clock.set(last_minute_of(hall.day))
    assert await ask(staff) == (fee, "late")  # the use date itself
    clock.set(first_minute_of(hall.day + timedelta(days=1)))
    await refused(ask(staff), RuleViolation, "past_date")  # then it is a no-show

    # At the last minute a group's own cancellation frees the slot, free of charge.
    clock.set(last_minute_of(last))
    done = await cancel(session, clock, settings, snapshot, member, booking.id)
    assert (done.applied, done.charge, done.cause) == (True, 0, "group")
    assert booking.status is BookingStatus.CANCELLED
    assert booking.payment_status is PaymentStatus.WAIVED
    assert (await session.scalars(select(Claim).where(Claim.owner_id == booking.id))).all() == []


# --- a no-show: recorded from the first minute of the use date ------------------------------------


async def test_a_no_show_is_recorded_from_midnight_tokyo_on_the_use_date(
    world: World, hall: Hall, session: AsyncSession, clock: FrozenClock
) -> None:
    settings, snapshot = world.settings, hall.snapshot
    member = await principal(session, world.user_ids["member"])
    staff = await principal(session, hall.manager_id)
    booking = await book(
        session, clock, settings, snapshot, member, request(world, hall.room_id, hall.day, ["10"])
    )
    clock.set(last_minute_of(hall.day - timedelta(days=1)))
    await refused(
        record_no_show(session, clock, settings, staff, booking.id), RuleViolation, "not_yet"
    )
    clock.set(first_minute_of(hall.day))
    recorded = await record_no_show(session, clock, settings, staff, booking.id)
    assert recorded.status is BookingStatus.NO_SHOW
    assert recorded.cancellation_charge == booking.fee_total == hall.fees["10"]
    # The slot stays the group's: it was theirs and is paid for.
    kinds = await session.scalars(select(Claim.kind).where(Claim.owner_id == booking.id))
    assert kinds.all() == [ClaimKind.BOOKING]  # the hall's room is one unit


# --- the hold's expiry instant -----------------------------------------------------------------


async def test_a_hold_is_completed_until_the_minute_before_it_lapses_never_at_its_instant(
    world: World,
    hall: Hall,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    settings = world.settings
    snapshot = await with_policy(session, clock, [hall.room_id], {"holds": {"allowed": True}})
    staff = await principal(session, hall.manager_id)
    held = [
        await book(
            session,
            clock,
            settings,
            snapshot,
            staff,
            request(world, hall.room_id, hall.day, [code]),
            hold=True,
        )
        for code in ("10", "20")
    ]
    # Taken on 25 November (JST): void unless completed by 28 November 17:00 JST.
    lapses = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
    assert clock.now() == DEFAULT_NOW
    assert [h.hold_expires_at for h in held] == [lapses, lapses]

    clock.set(lapses - timedelta(minutes=1))
    assert await expire_holds(sessionmaker, clock) == 0
    completed = await complete_hold(session, clock, settings, snapshot, staff, held[0].id)
    assert completed.status is BookingStatus.CONFIRMED
    kinds = await session.scalars(select(Claim.kind).where(Claim.owner_id == held[0].id))
    assert kinds.all() == [ClaimKind.BOOKING]

    clock.set(lapses)
    lapsed_error = await refused(
        complete_hold(session, clock, settings, snapshot, staff, held[1].id),
        Conflict,
        "hold_lapsed",
    )
    assert str(lapsed_error) == "the hold has lapsed"
    assert await expire_holds(sessionmaker, clock) == 1
    lapsed = await session.get_one(Booking, held[1].id)
    await session.refresh(lapsed)
    assert (lapsed.status, lapsed.cancel_cause) == (BookingStatus.CANCELLED, "expired")
    assert lapsed.payment_status is PaymentStatus.WAIVED
    # Its slot is free again; the completed one kept its own.
    again = request(world, hall.room_id, hall.day, ["20"])
    assert (await book(session, clock, settings, snapshot, staff, again)).status is (
        BookingStatus.CONFIRMED
    )
    await session.refresh(completed)
    assert completed.status is BookingStatus.CONFIRMED


# --- the uplift through a booking, on each day type ---------------------------------------------


def a_day(snapshot: NetworkSnapshot, facility_id: int, kind: DayType, *, holiday: bool) -> date:
    facility = snapshot.facilities[facility_id]
    day = date(2027, 2, 8)
    while (
        day_type(day) is not kind
        or is_holiday(day) is not holiday
        or is_closed(snapshot, facility, day)
    ):
        day += timedelta(days=1)
    return day


async def test_a_booking_pays_the_uplift_on_saturdays_sundays_and_holidays_only(
    world: World, hall: Hall, session: AsyncSession, clock: FrozenClock
) -> None:
    snapshot = await with_policy(
        session, clock, [hall.room_id], {"fees": {"weekend_holiday_uplift": 0.2}}
    )
    member = await principal(session, world.user_ids["member"])
    base = hall.fees["10"]
    uplifted = int(base * 1.2 // 10 * 10)
    assert uplifted > base
    for kind, holiday, fee in (
        (DayType.WEEKDAY, False, base),
        (DayType.SATURDAY, False, uplifted),
        (DayType.SUNDAY_HOLIDAY, False, uplifted),  # a Sunday
        (DayType.SUNDAY_HOLIDAY, True, uplifted),  # a national holiday on a weekday
    ):
        day = a_day(snapshot, hall.facility_id, kind, holiday=holiday)
        booking = await book(
            session,
            clock,
            world.settings,
            snapshot,
            member,
            request(world, hall.room_id, day, ["10"]),
        )
        assert (day, booking.fee_total) == (day, fee)


# --- combined rooms through each of their units ---------------------------------------------------


async def test_a_combined_room_claims_every_unit_and_each_unit_blocks_it(
    world: World, hall: Hall, session: AsyncSession, clock: FrozenClock
) -> None:
    snapshot, settings = hall.snapshot, world.settings
    assert hall.combined_room_id is not None
    combined = snapshot.room(hall.combined_room_id)
    assert combined is not None
    parts = [
        r
        for r in snapshot.rooms
        if r.online_bookable and r.id != combined.id and set(r.unit_ids) < set(combined.unit_ids)
    ]
    # Every unit is some part's: the parts cover the whole room.
    assert {u for p in parts for u in p.unit_ids} == set(combined.unit_ids)
    assert len(combined.unit_ids) >= 2
    member = await principal(session, world.user_ids["member"])
    day = open_weekday(snapshot, combined.facility_id, date(2027, 2, 8))

    async def claimed(booking: Booking) -> set[tuple[int, str]]:
        rows = await session.execute(
            select(Claim.unit_id, Claim.period_code).where(Claim.owner_id == booking.id)
        )
        return {(unit, code) for unit, code in rows}

    whole = await book(
        session, clock, settings, snapshot, member, request(world, combined.id, day, ["10"])
    )
    assert await claimed(whole) == {(unit, "10") for unit in combined.unit_ids}
    for part in parts:  # the combined room holds each part
        await refused(
            book(session, clock, settings, snapshot, member, request(world, part.id, day, ["10"])),
            Conflict,
            "slot_taken",
        )
    # Each part in turn, on a day of its own: booked alone, it blocks the combined room, and the
    # combined room's refusal takes nothing from the other parts.
    for i, part in enumerate(parts):
        day_i = open_weekday(snapshot, combined.facility_id, day + timedelta(days=1 + 7 * i))
        one = await book(
            session, clock, settings, snapshot, member, request(world, part.id, day_i, ["20"])
        )
        assert await claimed(one) == {(unit, "20") for unit in part.unit_ids}
        await refused(
            book(
                session,
                clock,
                settings,
                snapshot,
                member,
                request(world, combined.id, day_i, ["20"]),
            ),
            Conflict,
            "slot_taken",
        )
        for other in parts:
            if not set(other.unit_ids) & set(part.unit_ids):
                free = request(world, other.id, day_i, ["20"])
                assert (await book(session, clock, settings, snapshot, member, free)).id
