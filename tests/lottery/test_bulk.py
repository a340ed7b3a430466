"""The draw's reads and writes in bulk (booking/lottery/bulk.py) on both engines: asyncpg's
statements on PostgreSQL and the ORM on SQLite read and write the same rows. What each step
reads and writes is checked by itself; test_drawing.py checks a whole draw."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.models import Group
from booking.lottery.bulk import (
    read_claimed,
    read_entries,
    win_claims,
    write_claims,
    write_outcomes,
)
from booking.lottery.draw import Entry, Outcome
from booking.lottery.models import ApplicationStatus, LotteryApplication
from booking.reservations.models import Claim, ClaimKind
from tests.lottery.test_boundaries import (
    MARCH,
    Applicant,
    applicant,
    open_weekdays,
    other_hall_room,
)
from tests.places import Hall

__all__ = ["applicant"]  # the fixture, used here

APRIL = date(2027, 4, 1)
NOW = datetime(2026, 11, 24, 0, 0, 5, tzinfo=UTC)
UNITS = (501, 502)  # what the caller says the room's units are: passed through as given


async def _three(applicant: Applicant, hall: Hall) -> list[LotteryApplication]:
    """Three applications for the hall's room in March; the first two share their periods."""
    world = applicant.world
    days = open_weekdays(hall.snapshot, hall.facility_id, 2)
    return [
        await applicant.apply(world.group_a, hall.room_id, days[0], ("10", "20")),
        await applicant.apply(world.group_b, hall.room_id, days[1], ("10", "20")),
        await applicant.apply(world.group_b, hall.room_id, days[0], ("30",)),
    ]


async def test_the_entries_are_the_facilitys_applications_still_applied_that_month(
    applicant: Applicant, hall: Hall, session: AsyncSession
) -> None:
    first, second, withdrawn = await _three(applicant, hall)
    withdrawn.status = ApplicationStatus.WITHDRAWN
    elsewhere = await other_hall_room(session, hall)
    facility = hall.snapshot.room(elsewhere)
    assert facility is not None
    (day,) = open_weekdays(hall.snapshot, facility.facility_id, 1)
    other = await applicant.apply(applicant.world.group_a, elsewhere, day, ("10",))
    await session.flush()
    entries = await read_entries(session, MARCH, hall.facility_id, {hall.room_id: UNITS})
    assert sorted(entries, key=lambda e: e.id) == [
        Entry(first.id, first.group_id, hall.room_id, first.use_date, ("10", "20"), UNITS),
        Entry(second.id, second.group_id, hall.room_id, second.use_date, ("10", "20"), UNITS),
    ]
    assert await read_entries(session, APRIL, hall.facility_id, {hall.room_id: UNITS}) == []
    (theirs,) = await read_entries(session, MARCH, other.facility_id, {elsewhere: UNITS})
    assert theirs.id == other.id


async def test_the_claimed_slots_are_those_of_the_units_from_the_first_day_to_before_the_end(
    hall: Hall, session: AsyncSession
) -> None:
    room = hall.snapshot.room(hall.room_id)
    other_room = next(r for r in hall.snapshot.rooms if not set(r.unit_ids) & set(room.unit_ids))
    assert room is not None
    unit, other_unit = room.unit_ids[0], other_room.unit_ids[0]
    first, end = MARCH, APRIL
    for day, on in (
        (first - timedelta(days=1), unit),
        (first, unit),
        (end - timedelta(days=1), unit),
        (end, unit),
        (first, other_unit),
    ):
        session.add(
            Claim(
                unit_id=on, use_date=day, period_code="10", kind=ClaimKind.BOOKING, created_at=NOW
            )
        )
    await session.flush()
    assert await read_claimed(session, [unit], first, end) == {
        (unit, first, "10"),
        (unit, end - timedelta(days=1), "10"),
    }
    assert await read_claimed(session, [unit, other_unit], first, first + timedelta(days=1)) == {
        (unit, first, "10"),
        (other_unit, first, "10"),
    }


async def test_outcomes_are_written_to_their_applications(
    applicant: Applicant, hall: Hall, session: AsyncSession
) -> None:
    # Held in the session ahead of those written: an object of another kind, and an
    # application without an outcome (each is passed over, not the end of the ones held).
    held = await session.get_one(Group, applicant.world.group_a)
    untouched, won, lost = await _three(applicant, hall)
    status = select(LotteryApplication.status).where(LotteryApplication.id == won.id)
    await write_outcomes(session, MARCH, hall.facility_id, [], NOW)  # nothing: no statement
    assert await session.scalar(status) == ApplicationStatus.APPLIED
    await write_outcomes(
        session,
        MARCH,
        hall.facility_id,
        [Outcome(won.id, 2, won=True, reason=None), Outcome(lost.id, 1, won=False, reason="taken")],
        NOW,
    )
    expected = {
        won.id: (ApplicationStatus.WON, 2, None, None),
        lost.id: (ApplicationStatus.LOST, 1, "taken", NOW),
        untouched.id: (ApplicationStatus.APPLIED, None, None, None),
    }
    # A caller of the same session reads the new status without a reload (the ORM's bulk
    # UPDATE on SQLite sets it; on PostgreSQL bulk.py does, and the other columns too).
    assert [a.status for a in (won, lost, untouched)] == [
        expected[a.id][0] for a in (won, lost, untouched)
    ]
    if session.get_bind().dialect.name == "postgresql":
        for application in (won, lost, untouched):
            seen = (
                application.status,
                application.position,
                application.lose_reason,
                application.settled_at,
            )
            assert seen == expected[application.id], seen
    assert held.id == applicant.world.group_a
    rows = (
        await session.execute(
            select(
                LotteryApplication.id,
                LotteryApplication.status,
                LotteryApplication.position,
                LotteryApplication.lose_reason,
                LotteryApplication.settled_at,
            )
        )
    ).all()
    assert {r[0]: tuple(r[1:]) for r in rows} == expected


def test_the_wins_claims_in_date_unit_period_order_with_their_application() -> None:
    early, late = date(2027, 3, 2), date(2027, 3, 9)
    by_id = {
        1: Entry(1, 10, 100, late, ("20", "10"), (7, 3)),
        2: Entry(2, 11, 100, early, ("30",), (7,)),
        3: Entry(3, 12, 100, early, ("10",), (7,)),
    }
    outcomes = [
        Outcome(1, 1, won=True, reason=None),
        Outcome(2, 2, won=True, reason=None),
        Outcome(3, 3, won=False, reason="taken"),
    ]
    assert win_claims(outcomes, by_id) == [
        ((7, early, "30"), 2),
        ((3, late, "10"), 1),
        ((3, late, "20"), 1),
        ((7, late, "10"), 1),
        ((7, late, "20"), 1),
    ]


async def test_the_wins_claims_are_written_in_the_order_given(
    applicant: Applicant, hall: Hall, session: AsyncSession
) -> None:
    won, other, _ = await _three(applicant, hall)
    room = hall.snapshot.room(hall.room_id)
    assert room is not None
    unit = room.unit_ids[0]
    wins = [((unit, won.use_date, "20"), won.id), ((unit, other.use_date, "10"), other.id)]
    await write_claims(session, [], NOW)  # nothing to write
    await write_claims(session, wins, NOW)
    written = (
        await session.execute(
            select(
                Claim.unit_id,
                Claim.use_date,
                Claim.period_code,
                Claim.kind,
                Claim.owner_id,
                Claim.created_at,
            ).order_by(Claim.id)
        )
    ).all()
    assert [tuple(row) for row in written] == [
        (unit, won.use_date, "20", ClaimKind.LOTTERY_WIN, won.id, NOW),
        (unit, other.use_date, "10", ClaimKind.LOTTERY_WIN, other.id, NOW),
    ]
