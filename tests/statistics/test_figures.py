"""Issue 19: the figures of a small month, counted by hand from the definitions (the brief's
"Figures"; booking/statistics/figures.py), on both engines.

tests/statistics/small_world.py writes the month and says which rooms share a unit and which
days are open. The counts below follow from its rows (B1-B17, K1-K3, L1-L9, W1-W3):

Taken from a room's 84 January slots (28 open days × 3 periods):
    K1 (C, 25-26 Jan, 午前 午後)   C, P1, P2: 4 each
    K2 (P2, 27 Jan, all day)       P2, C: 3 each (P1 shares no unit with P2)
    K3                            released: nothing
    C's bookings B4 (13 Jan 午後), B14 (11 Jan 午前)          P1, P2: 2 each
    P1's bookings on open days B1, B2 (5 Jan 午前 午後 夜間), B5 (14 Jan 午前 午後)   C: 5
    P2's bookings B3 (9 Jan 午前), B17 (15 Jan 夜間)            C: 2
    B11, P1's own booking on closed 2 January                  P1: +1
    P1 84 - 4 - 2 + 1 = 79    P2 84 - 4 - 3 - 2 = 75    C 84 - 4 - 3 - 5 - 2 = 70    G 84
    all 308
Booked (confirmed, completed, no-show): P1 B1 1 + B2 2 + B5 2 + B11 1 = 6; P2 B3 + B17 = 2;
    C B4 + B14 = 2; G B12 3; all 13 (B6-B8 cancelled, B9 held, B10 pending, B15 expired).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import cast

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from booking.errors import InvalidInput
from booking.lottery.models import ApplicationStatus
from booking.reservations.models import BookingStatus, PaymentStatus
from booking.statistics.counts import CountsCache, read_month
from booking.statistics.report import (
    DEMAND,
    OCCUPANCY,
    USE,
    Dimension,
    Report,
    Source,
    heat_map,
    table,
    total,
)
from booking.statistics.span import Span
from booking.statistics.tables import Name, Table
from tests.conftest import Database
from tests.helpers import jst
from tests.statistics.small_world import (
    FEBRUARY,
    JANUARY,
    Place,
    add_application,
    add_booking,
    add_entry,
    jan,
    january,
)

WHOLE_JANUARY = Span(JANUARY, jan(31))


def source(session: AsyncSession, database: Database, w: Place) -> Source:
    return Source(session, w.network, CountsCache(), database.settings.tz)


def lines(found: Table, names: int) -> list[tuple[object, ...]]:
    """A table's rows with the name cells as their English names (the figures as they are)."""
    result: list[tuple[object, ...]] = []
    for row in found.rows:
        labels = tuple(cell.en for cell in row[:names] if isinstance(cell, Name))
        assert len(labels) == names, row
        result.append((*labels, *row[names:]))
    return result


def assert_lines(
    found: Sequence[tuple[object, ...]], expected: Sequence[tuple[object, ...]]
) -> None:
    assert len(found) == len(expected), found
    for got, wanted in zip(found, expected, strict=True):
        assert got == pytest.approx(wanted, abs=1e-4), (got, wanted)


@pytest.fixture
async def world(session: AsyncSession) -> Place:
    return await january(session)


def room_names(w: Place) -> tuple[str, str, str, str, str]:
    facility = w.network.facilities[w.facility].name_en
    p1, p2, c, g = (w.room(r).name_en for r in (w.p1, w.p2, w.combined, w.green))
    return facility, p1, p2, c, g


async def test_occupancy_by_room_counts_closures_blocks_and_the_combined_room(
    session: AsyncSession, database: Database, world: Place
) -> None:
    f, p1, p2, c, g = room_names(world)
    found = await table(
        source(session, database, world), OCCUPANCY, WHOLE_JANUARY, ("room",), world.scope
    )
    assert [column.key for column in found.columns] == [
        "facility", "room", "bookable_slots", "booked_slots", "occupancy",
    ]  # fmt: skip
    assert_lines(
        lines(found, 2),
        [
            (f, p1, 79, 6, 6 / 79),
            (f, p2, 75, 2, 2 / 75),
            (f, c, 70, 2, 2 / 70),
            (f, g, 84, 3, 3 / 84),  # the counter-only room counts
        ],
    )


async def test_occupancy_by_period(session: AsyncSession, database: Database, world: Place) -> None:
    # 午前: P1 28 - 2 (K1) - 1 (B14) + 1 (B11) = 26; P2 28 - 2 - 1 (K2) - 1 (B14) = 24;
    #       C 28 - 2 - 1 (K2) - 2 (B1, B5) - 1 (B3) = 22; G 28                 → 100
    # 午後: P1 28 - 2 - 1 (B4) = 25; P2 28 - 2 - 1 - 1 (B4) = 24;
    #       C 28 - 2 - 1 - 2 (B2, B5) = 23; G 28                               → 100
    # 夜間: P1 28; P2 28 - 1 (K2) = 27; C 28 - 1 (K2) - 1 (B2) - 1 (B17) = 25; G 28 → 108
    # booked 午前 B1 B3 B5 B11 B12 B14 = 6; 午後 B2 B4 B5 B12 = 4; 夜間 B2 B12 B17 = 3
    found = await table(
        source(session, database, world), OCCUPANCY, WHOLE_JANUARY, ("period",), world.scope
    )
    periods = {p.code: p.name_en for p in world.room(world.p1).grid.periods}
    assert_lines(
        lines(found, 1),
        [
            (periods["10"], 100, 6, 6 / 100),
            (periods["20"], 100, 4, 4 / 100),
            (periods["30"], 108, 3, 3 / 108),
        ],
    )


async def test_occupancy_by_weekday_and_day_type(
    session: AsyncSession, database: Database, world: Place
) -> None:
    # 4 rooms × 3 periods = 12 slots a day. Mon 3 days 36 - 6 (K1 on 25th) = 30;
    # Tue 48 - 6 (K1 on 26th) - 3 (C on 5th: B1 B2) = 39; Wed 48 - 6 (K2: P2 C) - 2 (B4) = 40;
    # Thu 48 - 2 (C on 14th: B5) = 46; Fri 48 - 1 (C on 15th: B17) = 47;
    # Sat 48 - 1 (C on 9th: B3) + 1 (B11 on closed 2nd) = 48; Sun 48; holiday 11th 12 - 2 = 10.
    # Booked: Tue B1 B2 = 3, Wed B4 1, Thu B5 2, Fri B17 1, Sat B3 B11 2, Sun B12 3, hol. B14 1
    src = source(session, database, world)
    by_weekday = await table(src, OCCUPANCY, WHOLE_JANUARY, ("weekday",), world.scope)
    assert_lines(
        lines(by_weekday, 1),
        [
            ("Monday", 30, 0, 0.0),
            ("Tuesday", 39, 3, 3 / 39),
            ("Wednesday", 40, 1, 1 / 40),
            ("Thursday", 46, 2, 2 / 46),
            ("Friday", 47, 1, 1 / 47),
            ("Saturday", 48, 2, 2 / 48),
            ("Sunday", 48, 3, 3 / 48),
            ("Public holiday", 10, 1, 1 / 10),
        ],
    )
    by_day_type = await table(src, OCCUPANCY, WHOLE_JANUARY, ("day_type",), world.scope)
    assert_lines(
        lines(by_day_type, 1),
        [
            ("Weekdays", 30 + 39 + 40 + 46 + 47, 7, 7 / 202),
            ("Saturdays", 48, 2, 2 / 48),
            ("Sundays and holidays", 48 + 10, 4, 4 / 58),
        ],
    )


async def test_demand_by_room(session: AsyncSession, database: Database, world: Place) -> None:
    # P1: one slot (15th 午前) with L1 L2 L3 (L6 withdrawn), L1 won; W1 = 2 slots; B1 first hour
    # P2: 16th 午前 (L4) and 午後 (L4, L5): 2 slots, 3 applications, L4 won both
    # C: 17th 夜間 L7 applied, L8 lapsed (a win); W2 1 slot; B14 first hour (B4 at the counter)
    # G: nothing. L9, W3 are February's.
    f, p1, p2, c, g = room_names(world)
    found = await table(
        source(session, database, world), DEMAND, WHOLE_JANUARY, ("room",), world.scope
    )
    assert [column.key for column in found.columns][2:] == [
        "bookable_slots", "lottery_slots", "slot_applications", "applications_per_slot",
        "contested_slots", "winning", "win_rate", "turned_away", "waitlist_joins",
        "first_hour_slots",
    ]  # fmt: skip
    assert_lines(
        lines(found, 2),
        [
            (f, p1, 79, 1, 3, 3.0, 1, 1, 1 / 3, 2, 2, 1),
            (f, p2, 75, 2, 3, 1.5, 1, 2, 2 / 3, 1, 0, 0),
            (f, c, 70, 1, 2, 2.0, 1, 1, 1 / 2, 1, 1, 1),
            (f, g, 84, 0, 0, None, 0, 0, None, 0, 0, 0),  # nothing to divide: None, not 0
        ],
    )
    assert await total(
        source(session, database, world), DEMAND, WHOLE_JANUARY, world.scope
    ) == pytest.approx((308, 4, 8, 2.0, 3, 4, 0.5, 4, 3, 2), abs=1e-4)


# Use per group: a (general, in the city), b (exempt, in), c (commercial, out), d (general, out)
#   bookings:  B1 a 10 people 1000 paid; B2 b 20, 1500 waived; B3 c 5, 3000 no-show unpaid;
#              B4 a 40, 4000 paid; B5 d 8, 2000; B11 a 6, 1000 paid; B12 d 12, 6000 waived;
#              B14 c 30, 4500; B17 b 7, 1000 paid
#   cancelled: B6 b in time (0 due); B7 c late, 3000 due and paid; B8 a by the facility
#              (0 due), 5000 refunded.   B9 held, B10 pending, B15 expired: none counts.
# columns: bookings, headcount, early, late, by facility, no-shows, charged, paid, waived, refunded
GENERAL = (5, 10 + 40 + 8 + 6 + 12, 0, 0, 1, 0, 1000 + 4000 + 2000 + 1000 + 6000, 6000, 6000, 5000)
EXEMPT = (2, 20 + 7, 1, 0, 0, 0, 1500 + 1000, 1000, 1500, 0)
COMMERCIAL = (2, 5 + 30, 0, 1, 0, 1, 3000 + 4500 + 3000, 3000, 0, 0)
IN_CITY = (5, 10 + 20 + 40 + 6 + 7, 1, 0, 1, 0, 1000 + 1500 + 4000 + 1000 + 1000, 7000, 1500, 5000)
OUT_OF_CITY = (4, 5 + 8 + 12 + 30, 0, 1, 0, 1, 3000 + 2000 + 6000 + 4500 + 3000, 3000, 6000, 0)


async def test_use_by_category_and_residency(
    session: AsyncSession, database: Database, world: Place
) -> None:
    src = source(session, database, world)
    by_category = await table(src, USE, WHOLE_JANUARY, ("category",), world.scope)
    assert lines(by_category, 1) == [
        ("General", *GENERAL),
        ("Exempt (reduced fees)", *EXEMPT),
        ("Commercial", *COMMERCIAL),
    ]
    by_residency = await table(src, USE, WHOLE_JANUARY, ("residency",), world.scope)
    assert lines(by_residency, 1) == [("In the city", *IN_CITY), ("Out of the city", *OUT_OF_CITY)]
    headline = await total(src, USE, WHOLE_JANUARY, world.scope)
    assert headline == (9, 138, 1, 1, 1, 1, 27000, 10000, 7500, 5000)
    assert headline == tuple(a + b for a, b in zip(IN_CITY, OUT_OF_CITY, strict=True))


async def test_occupancy_total_and_the_facility_scope(
    session: AsyncSession, database: Database, world: Place
) -> None:
    src = source(session, database, world)
    assert await total(src, OCCUPANCY, WHOLE_JANUARY, world.scope) == pytest.approx(
        (308, 13, 13 / 308), abs=1e-4
    )
    # B13 is the other facility's: its one slot and one booking, and nothing of this one's
    other = frozenset({world.other_facility})
    assert (await total(src, OCCUPANCY, WHOLE_JANUARY, other))[1] == 1
    assert (await total(src, USE, WHOLE_JANUARY, other))[:2] == (1, 3)
    # city-wide: both (the bundled data has no bookings of its own)
    assert (await total(src, OCCUPANCY, WHOLE_JANUARY))[1] == 13 + 1
    assert (await total(src, USE, WHOLE_JANUARY))[:2] == (9 + 1, 138 + 3)
    by_facility = await table(src, OCCUPANCY, WHOLE_JANUARY, ("facility",), world.scope)
    assert lines(by_facility, 1)[0][1:3] == (308, 13)
    assert len(by_facility.rows) == 1
    # the facility has no ward in the data: 区不明
    by_ward = await table(src, OCCUPANCY, WHOLE_JANUARY, ("ward",), world.scope)
    assert [row[0] for row in by_ward.rows] == [Name("区不明", "Ward unknown")]


async def test_heat_map_room_by_month(
    session: AsyncSession, database: Database, world: Place
) -> None:
    # February: every room 84 slots; B16 (P2, 23rd 午前 午後) takes 2 of C's
    _f, p1, p2, c, g = room_names(world)
    found = await heat_map(
        source(session, database, world),
        Span(JANUARY, date(2027, 2, 28)),
        "room",
        "month",
        world.scope,
    )
    assert [n.en for n in found.rows] == [f"{_f} {room}" for room in (p1, p2, c, g)]
    assert [n.en for n in found.columns] == ["Jan 2027", "Feb 2027"]
    expected = [(6 / 79, 0.0), (2 / 75, 2 / 84), (2 / 70, 0 / 82), (3 / 84, 0.0)]
    assert_lines(found.values, expected)
    assert_lines([row[2:] for row in found.table.rows], expected)
    assert found.rows[0].ja == "東海道かわさき宿交流館 第1集会室"
    assert found.table.title == "Occupancy"
    assert [column.key for column in found.table.columns][-2:] == ["c1", "c2"]


async def test_heat_map_weekday_by_period(
    session: AsyncSession, database: Database, world: Place
) -> None:
    # Bookable per period a day: 4 slots (one a room); less what K1, K2 and the bookings take:
    #   Mon 12: K1 25th 午前 午後 3 rooms          → 9 9 12      booked 0 0 0
    #   Tue 16: K1 26th 3 rooms; C on 5th each     → 12 12 15    B1, B2 → 1 1 1
    #   Wed 16: K2 27th P2 C; B4 13th 午後 P1 P2    → 14 12 14    B4 → 0 1 0
    #   Thu 16: B5 14th 午前 午後 C                 → 15 15 16    B5 → 1 1 0
    #   Fri 16: B17 15th 夜間 C                     → 16 16 15    B17 → 0 0 1
    #   Sat 16: B3 9th 午前 C -1, B11 2nd P1 +1     → 16 16 16    B3, B11 → 2 0 0
    #   Sun 16                                      → 16 16 16    B12 → 1 1 1
    #   holiday 4: B14 11th 午前 P1 P2               → 2 4 4       B14 → 1 0 0
    found = await heat_map(
        source(session, database, world), WHOLE_JANUARY, "weekday", "period", world.scope
    )
    assert [n.en for n in found.rows] == [
        "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday",
        "Public holiday",
    ]  # fmt: skip
    assert [n.ja for n in found.columns] == ["午前", "午後", "夜間"]
    assert_lines(
        found.values,
        [
            (0.0, 0.0, 0.0),
            (1 / 12, 1 / 12, 1 / 15),
            (0.0, 1 / 12, 0.0),
            (1 / 15, 1 / 15, 0.0),
            (0.0, 0.0, 1 / 15),
            (2 / 16, 0.0, 0.0),
            (1 / 16, 1 / 16, 1 / 16),
            (1 / 2, 0.0, 0.0),
        ],
    )


async def test_a_span_inside_a_month_counts_its_days_alone(
    session: AsyncSession, database: Database, world: Place
) -> None:
    # 2-10 January: open days 4-10 (7 × 3 = 21 a room) and closed 2nd with B11.
    #   P1 21 + 1 = 22, booked B1 B2 B11 = 4; P2 21, B3 1; C 21 - 3 (5th) - 1 (9th) = 17, 0;
    #   G 21, B12 3  → 81 bookable, 8 booked
    # 11-31 January: the month's rest, 308 - 81 = 227 and 13 - 8 = 5 (B4 B5 B14 B17), which is
    #   21 open days × 12 = 252 less K1 12, K2 6, B4 2, B5 2, B17 1, B14 2
    src = source(session, database, world)
    scope = world.scope
    assert await total(src, OCCUPANCY, Span(jan(2), jan(10)), scope) == pytest.approx(
        (81, 8, 8 / 81), abs=1e-4
    )
    assert await total(src, OCCUPANCY, Span(jan(1), jan(10)), scope) == pytest.approx(
        (81, 8, 8 / 81), abs=1e-4
    )
    assert await total(src, OCCUPANCY, Span(jan(11), jan(31)), scope) == pytest.approx(
        (227, 5, 5 / 227), abs=1e-4
    )
    # the whole month (cached) is the sum of its two parts (read directly)
    assert (await total(src, OCCUPANCY, WHOLE_JANUARY, scope))[:2] == (308, 13)
    # demand and use cut the same way: the lottery's 15th-17th and W1 (13th) fall after the 10th
    assert (await total(src, DEMAND, Span(jan(2), jan(10)), scope))[1:3] == (0, 0)
    assert (await total(src, DEMAND, Span(jan(11), jan(31)), scope))[1:3] == (4, 8)
    assert (await total(src, USE, Span(jan(1), jan(10)), scope))[:2] == (5, 10 + 20 + 5 + 6 + 12)


async def test_a_cut_span_counts_the_rows_on_its_first_and_its_last_day(
    session: AsyncSession, database: Database, world: Place
) -> None:
    """Rows on the very first and the very last day of a span cut inside a month count."""
    src = source(session, database, world)
    scope = world.scope
    # 13-14 January: booked B4 (C, 13th 午後) and B5 (P1, 14th 午前 午後): 3 slots;
    #   wait list W1 (P1, 13th 午後 夜間) and W2 (C, 14th 午前, expired): 3 joins
    first_last = await total(src, DEMAND, Span(jan(13), jan(14)), scope)
    assert first_last[8] == 2 + 1
    assert (await total(src, OCCUPANCY, Span(jan(13), jan(14)), scope))[1] == 1 + 2
    # 15-16 January: L1-L3 (P1, 15th 午前: 3 applicants), L4 and L5 (P2, 16th 午前: 1, 午後: 2)
    #   → 3 slots, 6 slot applications, L4 winning twice and L1 once
    assert (await total(src, DEMAND, Span(jan(15), jan(16)), scope))[1:3] == (3, 6)
    assert (await total(src, DEMAND, Span(jan(15), jan(16)), scope))[5] == 3
    # a month's counts are of its first day, whole or cut
    tz = database.settings.tz
    assert (await read_month(session, world.network, JANUARY, tz)).month == JANUARY
    assert (await read_month(session, world.network, jan(13), tz, last=jan(14))).month == JANUARY


async def test_rates_are_rounded_to_their_digits(
    session: AsyncSession, database: Database, world: Place
) -> None:
    src = source(session, database, world)
    # 2-10 January: 8 booked of 81 bookable = 0.098765...: four digits
    assert (await total(src, OCCUPANCY, Span(jan(2), jan(10)), world.scope))[2] == 0.0988
    # 16-17 January: L4 L5 (P2: 2 slots, 3 applications), L7 L8 (C: 1 slot, 2): 5 / 3 = 1.666...,
    #   applications per slot in two digits
    demand = await total(src, DEMAND, Span(jan(16), jan(17)), world.scope)
    assert demand[1:4] == (3, 5, 1.67)


async def test_a_groups_bookings_of_one_room_and_weekday_add_up(
    session: AsyncSession, database: Database, world: Place
) -> None:
    """Bookings that fall in one count (one room, weekday, category and residency; one slot
    of a weekday) add up, whatever comes between them: group a's P1 on February's Tuesdays."""
    C = BookingStatus  # noqa: N806 - short names for a table of rows
    paid, waived, refunded = PaymentStatus.PAID, PaymentStatus.WAIVED, PaymentStatus.REFUNDED
    opened = jst(date(2026, 10, 29), 0)  # first-come for February 2027: 29 October, 00:00
    feb = [date(2027, 2, day) for day in (1, 2, 9, 16)]
    # First of the month: a hold, not a use (the rows after it count all the same)
    await add_booking(session, world, "a", world.p1, feb[0], ["10"], C.HELD, fee=800)
    # 午前 of three Tuesdays: two online in the first hour (paid), two no-shows
    await add_booking(session, world, "a", world.p1, feb[1], ["10"], headcount=5, fee=1000,
                      payment=paid, channel="online",
                      created_at=opened + timedelta(minutes=10))  # fmt: skip
    await add_booking(session, world, "a", world.p1, feb[2], ["10"], C.NO_SHOW, headcount=7,
                      fee=2000, payment=paid, channel="online",
                      created_at=opened + timedelta(minutes=40))  # fmt: skip
    await add_booking(session, world, "a", world.p1, feb[3], ["10"], C.NO_SHOW, headcount=2,
                      fee=300, payment=waived)  # fmt: skip
    # 午後 of the same Tuesdays: cancelled late, the charge due (none on the 16th)
    await add_booking(session, world, "a", world.p1, feb[1], ["20"], C.CANCELLED, fee=900,
                      cause="late", charge=500, payment=waived)  # fmt: skip
    await add_booking(session, world, "a", world.p1, feb[2], ["20"], C.CANCELLED, fee=1100,
                      cause="late", charge=700, payment=refunded)  # fmt: skip
    await add_booking(session, world, "a", world.p1, feb[3], ["20"], C.CANCELLED, fee=1300,
                      cause="late", payment=refunded)  # fmt: skip
    src = source(session, database, world)
    span = Span(FEBRUARY, feb[3])  # cut before B16 (23 February)
    # bookings 3, headcount 5 + 7 + 2, cancelled early / late / by the facility, no-shows 2,
    # charged 1000 + 2000 + 300 + 500 + 700 + 0, paid 1000 + 2000, waived 300 + 500,
    # refunded (the fee) 1100 + 1300
    assert await total(src, USE, span, world.scope) == (3, 14, 0, 3, 0, 2, 4500, 3000, 800, 2400)
    demand = await total(src, DEMAND, span, world.scope)
    assert demand[9] == 2  # first-hour slots: P1's Tuesday 午前 twice
    assert (await total(src, OCCUPANCY, span, world.scope))[1] == 3


async def test_february_demand_adds_up_per_room_date_and_periods(
    session: AsyncSession, database: Database, world: Place
) -> None:
    """Applications and wait-list entries alike in all but their room, their date or their
    periods are counted apart, and a weekday's slots add up: February's Wednesdays 3 and 10."""
    S = ApplicationStatus  # noqa: N806 - short names for a table of rows
    wed3, wed10 = date(2027, 2, 3), date(2027, 2, 10)
    # P1 午前 on the 3rd: b won, c lost; on the 10th: L9 (a, not drawn) and b, won.
    # P2 午前 on the 3rd: a lost
    await add_application(session, world, "b", world.p1, wed3, ["10"], S.WON)
    await add_application(session, world, "c", world.p1, wed3, ["10"], S.LOST)
    await add_application(session, world, "b", world.p1, wed10, ["10"], S.WON)
    await add_application(session, world, "a", world.p2, wed3, ["10"], S.LOST)
    # Wait list: W3 (P2 3rd 午前); P1 3rd 午前, P1 3rd 午後+夜間, P2 10th 午前
    await add_entry(session, world, "a", world.p1, wed3, ["10"])
    await add_entry(session, world, "c", world.p1, wed3, ["20", "30"])
    await add_entry(session, world, "b", world.p2, wed10, ["10"])
    src = source(session, database, world)
    demand = await total(src, DEMAND, Span(FEBRUARY, date(2027, 2, 28)), world.scope)
    # slots: P1 3rd, P1 10th, P2 3rd = 3; applications 2 + 2 + 1 = 5; contested P1's two;
    # winning 2; wait-list joins 1 + 1 + 2 + 1 = 5
    assert (demand[1], demand[2], demand[4], demand[5], demand[8]) == (3, 5, 2, 2, 5)
    counts = await read_month(session, world.network, FEBRUARY, database.settings.tz)
    waiting = {room: sum(v[6] for k, v in counts.slots.items() if k[0] == room) for room in (
        world.p1, world.p2)}  # fmt: skip
    assert waiting == {world.p1: 1 + 2, world.p2: 1 + 1}  # wait-list joins per room
    # distinct groups applying: P1 a, b, c (four applications); P2 a
    assert {r: n for r, n in counts.groups_applying.items() if r in (world.p1, world.p2)} == {
        world.p1: 3,
        world.p2: 1,
    }


async def test_a_span_across_two_months_is_their_sum(
    session: AsyncSession, database: Database, world: Place
) -> None:
    # February: 4 × 84 = 336 less B16's 2 slots of C = 334; booked B16's 2
    src = source(session, database, world)
    scope = world.scope
    both = Span(JANUARY, date(2027, 2, 28))
    assert (await total(src, OCCUPANCY, Span(FEBRUARY, date(2027, 2, 28)), scope))[:2] == (334, 2)
    assert (await total(src, OCCUPANCY, both, scope))[:2] == (308 + 334, 13 + 2)
    by_month = await table(src, OCCUPANCY, both, ("month",), scope)
    assert_lines(
        lines(by_month, 1), [("Jan 2027", 308, 13, 13 / 308), ("Feb 2027", 334, 2, 2 / 334)]
    )
    # February's L9 and W3, B16's use; and a cut on both sides: 11 January to 28 February
    assert (await total(src, DEMAND, both, scope))[1:3] == (4 + 1, 8 + 1)
    assert (await total(src, DEMAND, both, scope))[8] == 3 + 1
    assert (await total(src, USE, both, scope))[:2] == (9 + 1, 138 + 15)
    assert (await total(src, OCCUPANCY, Span(jan(11), date(2027, 2, 28)), scope))[:2] == (
        227 + 334,
        5 + 2,
    )


@pytest.mark.parametrize(
    ("report", "dimension"),
    [(USE, "period"), (OCCUPANCY, "category"), (DEMAND, "residency"), (OCCUPANCY, "colour")],
)
async def test_a_grouping_a_report_has_not_is_refused_naming_group_by(
    session: AsyncSession, database: Database, world: Place, report: Report, dimension: str
) -> None:
    group_by = cast("Dimension", dimension)  # a value from outside, as a query gives it
    with pytest.raises(InvalidInput) as refused:
        await table(source(session, database, world), report, WHOLE_JANUARY, (group_by,))
    assert refused.value.field == "group_by"
    choices = refused.value.message.removeprefix("must be one of ").split(", ")
    assert choices[:2] == ["facility", "room"]
    assert dimension not in choices


async def test_a_heat_map_by_a_grouping_it_has_not_is_refused_naming_by(
    session: AsyncSession, database: Database, world: Place
) -> None:
    with pytest.raises(InvalidInput) as refused:
        await heat_map(source(session, database, world), WHOLE_JANUARY, "category", "month")
    assert refused.value.field == "by"


async def test_a_table_is_named_by_its_groupings_and_nothing_counted_is_zero(
    session: AsyncSession, database: Database, world: Place
) -> None:
    src = source(session, database, world)
    found = await table(src, OCCUPANCY, WHOLE_JANUARY, ("facility", "period"), world.scope)
    assert found.key == "occupancy_by_facility_period"
    # A facility that does not exist: nothing bookable, nothing booked, no rate
    assert await total(src, OCCUPANCY, WHOLE_JANUARY, frozenset({-1})) == (0, 0, None)


async def test_a_requests_source_takes_the_settings_zone_and_age(
    session: AsyncSession, database: Database, world: Place
) -> None:
    settings = database.settings.model_copy(update={"statistics_max_age_seconds": 45.0})
    found = Source.of(session, world.network, CountsCache(), settings)
    assert (found.tz, found.max_age) == (settings.tz, 45.0)
