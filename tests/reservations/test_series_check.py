"""`booking db check` knows series: a clean series passes; an occurrence whose group, room,
periods or date disagrees with its series (a manual repair gone wrong) is reported."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from booking.clock import FrozenClock
from booking.reservations.consistency import check
from booking.reservations.models import Booking
from booking.reservations.series import book_series
from tests.people import World, principal
from tests.places import Hall
from tests.reservations.test_series import in_window, weekly


async def test_an_occurrence_unlike_its_series_is_reported(
    world: World, hall: Hall, session: AsyncSession, clock: FrozenClock
) -> None:
    member = await principal(session, world.user_ids["member"])
    first, last, dates = in_window(hall.snapshot, hall)
    outcome = await book_series(
        session, clock, world.settings, hall.snapshot, member, weekly(world, hall, first, last)
    )
    await session.commit()
    ids = [b.id for b in outcome.bookings]
    series_id = outcome.series.id
    assert (await check(session)).ok, (await check(session)).lines()

    moves = {
        ids[0]: {"group_id": world.group_b},
        ids[1]: {"period_codes": ["30"]},
        ids[2]: {"use_date": dates[2] + timedelta(days=1)},
    }
    for booking_id, values in moves.items():
        await session.execute(update(Booking).where(Booking.id == booking_id).values(**values))
    await session.commit()
    report = await check(session)
    assert not report.ok
    assert len(report.series) == len(moves)
    lines = report.lines()
    assert any(
        line.startswith(f"series: booking {ids[0]} of series {series_id}: group {world.group_b}")
        for line in lines
    ), lines
    assert any(f"booking {ids[1]} " in line and "periods 30" in line for line in lines), lines
    assert any(
        f"booking {ids[2]} " in line and "is not a date of the series' pattern" in line
        for line in lines
    ), lines
