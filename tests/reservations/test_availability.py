"""Availability over the test network: closures, claims, combined rooms, policies, the clock."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError

from booking.clock import FrozenClock
from booking.errors import InvalidInput
from booking.inventory.network import SnapshotCache
from booking.inventory.services import bump_revision
from booking.reservations.availability import AvailabilityQuery, SlotState, search_availability
from booking.reservations.claim_versions import month_versions
from booking.reservations.claims_cache import ClaimsCache
from booking.reservations.models import Claim, ClaimKind
from tests.helpers import claim, facility_id, room_id


async def grid(session, today: date, start: date, end: date, **filters):
    """{(room key, date, period): state} for the test network."""
    snapshot = await SnapshotCache().get(session)
    rooms, count = await search_availability(
        session, snapshot, ClaimsCache(), AvailabilityQuery(start=start, end=end, **filters), today
    )
    keys = {room.id: room.key for room in snapshot.rooms}
    states = {
        (keys[room.room_id], date.fromisoformat(day.date), slot.period): slot.state
        for room in rooms
        for day in room.days
        for slot in day.slots
    }
    assert count == len(states)
    return states


TODAY = date(2026, 11, 25)


async def test_year_end_and_third_monday_are_closed(test_network):
    states = await grid(
        test_network,
        TODAY,
        date(2026, 12, 20),
        date(2027, 1, 5),
        facility_ids=frozenset({await facility_id(test_network, "test-hall")}),
    )
    assert states[("room-1", date(2026, 12, 21), "10")] == SlotState.CLOSED  # 3rd Monday
    assert states[("room-1", date(2026, 12, 22), "10")] == SlotState.OPEN
    for day in (29, 30, 31):
        assert states[("room-1", date(2026, 12, day), "20")] == SlotState.CLOSED
    assert states[("room-1", date(2027, 1, 3), "10")] == SlotState.CLOSED
    assert states[("room-1", date(2027, 1, 4), "10")] == SlotState.OPEN


async def test_period_grid_follows_the_day_type(test_network):
    states = await grid(test_network, TODAY, date(2026, 12, 5), date(2026, 12, 7))
    # Saturday 5th: three periods; Sunday 6th: no evening; Monday 7th: three.
    assert {p for (r, d, p) in states if r == "room-2" and d == date(2026, 12, 5)} == {
        "10",
        "20",
        "30",
    }
    assert {p for (r, d, p) in states if r == "room-2" and d == date(2026, 12, 6)} == {"10", "20"}
    # The senior centre's evening grid: only the evening on weekdays, daytime on Sundays.
    assert {p for (r, d, p) in states if r == "hall" and d == date(2026, 12, 7)} == {"30"}
    assert {p for (r, d, p) in states if r == "hall" and d == date(2026, 12, 6)} == {"10"}


async def test_combined_room_and_its_parts_share_units(test_network):
    day = date(2026, 12, 10)
    await claim(test_network, "test-hall", "room-1", day, "10")
    await claim(test_network, "test-hall", "room-1", day, "20")
    await claim(test_network, "test-hall", "room-2", day, "20", ClaimKind.BLOCK)
    states = await grid(test_network, TODAY, day, day)
    assert states[("room-1", day, "10")] == SlotState.BOOKED
    assert states[("combined", day, "10")] == SlotState.BOOKED  # a part taken blocks the whole
    assert states[("room-2", day, "10")] == SlotState.OPEN
    assert states[("room-2", day, "20")] == SlotState.BLOCKED
    assert states[("combined", day, "20")] == SlotState.BLOCKED  # a block wins over a booking
    assert states[("combined", day, "30")] == SlotState.OPEN


async def test_a_second_claim_on_a_unit_is_impossible(test_network):
    day = date(2026, 12, 10)
    await claim(test_network, "test-hall", "room-1", day, "10")
    with pytest.raises(IntegrityError):
        async with test_network.begin_nested():
            await claim(test_network, "test-hall", "room-1", day, "10", ClaimKind.HOLD)


async def test_lottery_window_for_a_month_four_ahead(test_network):
    # On 20 April 2026 (a Monday): August is in its lottery window, July is open first-come
    # (from 29 March), September is not yet open, and what is too close is past.
    today = date(2026, 4, 20)
    hall = frozenset({await facility_id(test_network, "test-hall")})
    states = await grid(
        test_network,
        today,
        date(2026, 4, 19),
        date(2026, 4, 24),
        facility_ids=hall,
        periods=frozenset({"10"}),
    )
    assert states[("room-1", date(2026, 4, 19), "10")] == SlotState.PAST
    # Online booking closes 3 days before the use date: the 22nd is past, the 23rd still open.
    assert states[("room-1", date(2026, 4, 22), "10")] == SlotState.PAST
    assert states[("room-1", date(2026, 4, 23), "10")] == SlotState.OPEN
    assert states[("big-hall", date(2026, 4, 24), "10")] == SlotState.PAST  # 14 days for the hall
    later = await grid(
        test_network,
        today,
        date(2026, 7, 31),
        date(2026, 9, 1),
        facility_ids=hall,
        periods=frozenset({"10"}),
    )
    assert later[("room-1", date(2026, 7, 31), "10")] == SlotState.OPEN
    assert later[("room-1", date(2026, 8, 3), "10")] == SlotState.LOTTERY
    assert later[("room-1", date(2026, 9, 1), "10")] == SlotState.NOT_YET_OPEN
    # The counter-only hall runs no lottery; its window opens on the 1st a month ahead.
    assert later[("big-hall", date(2026, 8, 3), "10")] == SlotState.NOT_YET_OPEN


async def test_lottery_slots_carry_applicant_counts(test_network):
    snapshot = await SnapshotCache().get(test_network)
    room = await room_id(test_network, "test-hall", "room-1")
    day = date(2026, 8, 3)
    rooms, _ = await search_availability(
        test_network,
        snapshot,
        ClaimsCache(),
        AvailabilityQuery(start=day, end=day, room_ids=frozenset({room})),
        date(2026, 4, 20),
        applicants={(room, day, "20"): 3},
    )
    slots = {s.period: s for s in rooms[0].days[0].slots}
    assert (slots["10"].state, slots["10"].applicants) == (SlotState.LOTTERY, 0)
    assert (slots["20"].state, slots["20"].applicants) == (SlotState.LOTTERY, 3)


async def test_a_counter_only_room_is_never_open_nor_in_the_lottery(test_network):
    """Rooms of one facility, policy and grid share their memoised rows: one made counter-only
    is `counter_only` where its sibling is `open` or `lottery`, in the same request and in the
    next (the memo is keyed by the room's way of booking), and a claim still takes it."""
    snapshot = await SnapshotCache().get(test_network)
    one = await room_id(test_network, "test-hall", "room-1")
    two = await room_id(test_network, "test-hall", "room-2")
    counter = replace(
        snapshot,
        rooms=tuple(
            replace(r, online_bookable=False) if r.id == two else r for r in snapshot.rooms
        ),
    )
    assert counter.derived is snapshot.derived  # one memo for both
    today = date(2026, 4, 20)  # July first-come, August in the lottery (see above)
    await claim(test_network, "test-hall", "room-2", date(2026, 7, 31), "20")

    async def states(snap, **filters):
        query = AvailabilityQuery(
            start=date(2026, 7, 31), end=date(2026, 8, 3), room_ids=frozenset({one, two}), **filters
        )
        rooms, _ = await search_availability(test_network, snap, ClaimsCache(), query, today)
        return {
            (r.room_id, d.date, s.period): s.state for r in rooms for d in r.days for s in d.slots
        }

    await states(snapshot)  # the online rows memoised first
    found = await states(counter)
    assert found[(one, "2026-07-31", "10")] == SlotState.OPEN
    assert found[(two, "2026-07-31", "10")] == SlotState.COUNTER_ONLY
    assert found[(two, "2026-07-31", "20")] == SlotState.BOOKED
    assert found[(one, "2026-08-03", "10")] == SlotState.LOTTERY
    assert found[(two, "2026-08-03", "10")] == SlotState.COUNTER_ONLY
    only = await states(counter, states=frozenset({SlotState.COUNTER_ONLY}))
    assert {room for room, _, _ in only} == {two}
    assert set(only.values()) == {SlotState.COUNTER_ONLY}


async def test_a_facility_is_closed_before_it_opens(test_network):
    states = await grid(
        test_network,
        TODAY,
        date(2027, 1, 30),
        date(2027, 2, 2),
        facility_ids=frozenset({await facility_id(test_network, "test-new")}),
    )
    assert states[("studio", date(2027, 1, 31), "10")] == SlotState.CLOSED
    assert states[("studio", date(2027, 2, 1), "10")] == SlotState.OPEN  # first-come since 29 Oct


async def test_senior_centre_closes_on_respect_for_the_aged_day(test_network):
    states = await grid(
        test_network,
        date(2026, 6, 1),
        date(2026, 9, 20),
        date(2026, 9, 22),
        kinds=frozenset({"senior_centre"}),
    )
    assert states[("hall", date(2026, 9, 21), "10")] == SlotState.CLOSED
    assert states[("hall", date(2026, 9, 22), "10")] != SlotState.CLOSED  # 国民の休日: open


async def test_filters(test_network):
    day = date(2026, 12, 10)
    await claim(test_network, "test-hall", "room-2", day, "10")
    by_ward = await grid(test_network, TODAY, day, day, wards=frozenset({"kawasaki"}))
    assert {r for r, _, _ in by_ward} == {"hall"}
    by_kind = await grid(test_network, TODAY, day, day, kinds=frozenset({"senior_centre"}))
    assert {r for r, _, _ in by_kind} == {"hall"}  # a kind alone, without a facility
    big = await grid(test_network, TODAY, day, day, min_capacity=100)
    assert {r for r, _, _ in big} == {"combined", "big-hall"}
    evening = await grid(test_network, TODAY, day, day, periods=frozenset({"30"}))
    assert {p for _, _, p in evening} == {"30"}
    booked = await grid(test_network, TODAY, day, day, states=frozenset({SlotState.BOOKED}))
    assert set(booked) == {("room-2", day, "10"), ("combined", day, "10")}
    one_room = await grid(
        test_network,
        TODAY,
        day,
        day,
        room_ids=frozenset({await room_id(test_network, "test-hall", "room-1")}),
    )
    assert {r for r, _, _ in one_room} == {"room-1"}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"start": date(2026, 12, 2), "end": date(2026, 12, 1)}, "to"),
        ({"start": date(2026, 12, 1), "end": date(2027, 3, 4)}, "to"),
        ({"wards": frozenset({"atlantis"})}, "ward"),
        ({"kinds": frozenset({"castle"})}, "kind"),
        ({"facility_ids": frozenset({999_999})}, "facility"),
        ({"room_ids": frozenset({999_999})}, "room"),
        ({"periods": frozenset({"99"})}, "period"),
        ({"min_capacity": 0}, "min_capacity"),
    ],
)
async def test_bad_queries_name_their_field(test_network, query, field):
    snapshot = await SnapshotCache().get(test_network)
    arguments = {"start": date(2026, 12, 1), "end": date(2026, 12, 1), **query}
    with pytest.raises(InvalidInput) as caught:
        await search_availability(
            test_network, snapshot, ClaimsCache(), AvailabilityQuery(**arguments), TODAY
        )
    assert caught.value.field == field


async def test_93_days_is_the_most(test_network):
    states = await grid(
        test_network,
        TODAY,
        date(2026, 12, 1),
        date(2027, 3, 3),
        room_ids=frozenset({await room_id(test_network, "test-hall", "room-1")}),
    )
    assert max(d for _, d, _ in states) == date(2027, 3, 3)


async def test_snapshot_follows_the_inventory_revision(test_network, clock: FrozenClock):
    cache = SnapshotCache()
    first = await cache.get(test_network)
    assert await cache.get(test_network) is first  # unchanged revision: same snapshot
    await bump_revision(test_network, datetime(2026, 11, 25, tzinfo=UTC))
    assert await cache.get(test_network) is not first


async def test_triggers_version_each_month_of_claims(test_network):
    async def versions():
        return await month_versions(test_network, [date(2026, 12, 1), date(2027, 1, 1)])

    before = await versions()
    await claim(test_network, "test-hall", "room-1", date(2026, 12, 10), "10")
    after_insert = await versions()
    assert after_insert[date(2026, 12, 1)] == before[date(2026, 12, 1)] + 1
    await test_network.execute(
        update(Claim).where(Claim.use_date == date(2026, 12, 10)).values(use_date=date(2027, 1, 5))
    )
    moved = await versions()
    assert moved[date(2026, 12, 1)] == after_insert[date(2026, 12, 1)] + 1
    assert moved[date(2027, 1, 1)] == before[date(2027, 1, 1)] + 1
    await test_network.execute(delete(Claim).where(Claim.use_date == date(2027, 1, 5)))
    assert (await versions())[date(2027, 1, 1)] == moved[date(2027, 1, 1)] + 1


async def test_cached_claims_follow_every_change(test_network):
    cache, day = ClaimsCache(), date(2026, 12, 10)
    snapshot = await SnapshotCache().get(test_network)
    room = await room_id(test_network, "test-hall", "room-1")
    query = AvailabilityQuery(start=day, end=day, room_ids=frozenset({room}))

    async def state():
        rooms, _ = await search_availability(test_network, snapshot, cache, query, TODAY)
        return rooms[0].days[0].slots[0].state

    assert await state() == SlotState.OPEN
    await claim(test_network, "test-hall", "room-1", day, "10")
    assert await state() == SlotState.BOOKED
    await test_network.execute(update(Claim).values(kind=ClaimKind.BLOCK))
    assert await state() == SlotState.BLOCKED
    await test_network.execute(delete(Claim))
    assert await state() == SlotState.OPEN
