"""The statistics tests' small world: one facility of the bundled network with a combined room,
and a January 2027 of rows written with the ORM in the test's savepoint (figures count rows, so
rows are what the tests make; test_versions.py goes through the services where a version
depends on what a service writes beside the row, as a block's claims).

The facility is 東海道かわさき宿交流館, the only one in the bundled data with a combined room:

    P1 第1集会室 (meeting-room-1)           one unit
    P2 第2集会室 (meeting-room-2)           another unit
    C  第1・第2集会室 合併利用 (rooms-1-2)   both units: it shares a unit with P1 and with P2
    G  談話室 (green-room)                  a unit of its own; booked at the counter only

Every room has 午前 10, 午後 20 and 夜間 30 on every kind of day. The facility is closed
29 December to 3 January (its closure rule) and on no other day; January 2027 begins on a
Friday, 1 January and 11 January (成人の日) are public holidays. Its open days are 4 to 31
January, 28 days:

    Mon 4 18 25 (3)   Tue 5 12 19 26 (4)   Wed 6 13 20 27 (4)   Thu 7 14 21 28 (4)
    Fri 8 15 22 29 (4)   Sat 9 16 23 30 (4)   Sun 10 17 24 31 (4)   holiday 11 (1)

so each room offers 28 × 3 = 84 slots before anything takes some. February 2027 is open on all
its 28 days (holidays 11 and 23 February): 84 slots a room.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.models import Group, GroupCategory, GroupKind, GroupStatus
from booking.inventory.network import NetworkSnapshot, RoomInfo, SnapshotCache
from booking.lottery.models import ApplicationStatus, LotteryApplication
from booking.reservations.models import Block, Booking, BookingStatus, PaymentStatus
from booking.waitlist.models import EntryStatus, WaitlistEntry
from tests.helpers import facility_id, jst, room_id

FACILITY = "kawasaki-shuku-koryukan"
OTHER_FACILITY, OTHER_ROOM = "kyoiku-bunka-kaikan", "audio-visual-room"
JANUARY, FEBRUARY = date(2027, 1, 1), date(2027, 2, 1)
# First-come booking for January 2027 opens on the 29th of M-4: 29 September 2026, 00:00 JST.
OPENED = date(2026, 9, 29)


def jan(day: int) -> date:
    return date(2027, 1, day)


@dataclass
class Place:
    network: NetworkSnapshot
    facility: int
    p1: int
    p2: int
    combined: int
    green: int
    other_facility: int
    other_room: int
    groups: dict[str, int] = field(default_factory=dict)

    @property
    def scope(self) -> frozenset[int]:
        """The report's facility_ids: this facility alone."""
        return frozenset({self.facility})

    def room(self, room: int) -> RoomInfo:
        return next(r for r in self.network.rooms if r.id == room)


async def place(session: AsyncSession) -> Place:
    network = await SnapshotCache().get(session)
    found = Place(
        network,
        await facility_id(session, FACILITY),
        await room_id(session, FACILITY, "meeting-room-1"),
        await room_id(session, FACILITY, "meeting-room-2"),
        await room_id(session, FACILITY, "rooms-1-2"),
        await room_id(session, FACILITY, "green-room"),
        await facility_id(session, OTHER_FACILITY),
        await room_id(session, OTHER_FACILITY, OTHER_ROOM),
    )
    # What the counts by hand assume of the data.
    p1, p2, c, g = (found.room(r) for r in (found.p1, found.p2, found.combined, found.green))
    assert set(p1.unit_ids) | set(p2.unit_ids) == set(c.unit_ids)
    assert not set(p1.unit_ids) & set(p2.unit_ids)
    assert not set(g.unit_ids) & set(c.unit_ids)
    assert not g.online_bookable
    for room in (p1, p2, c, g):
        assert {k.value: v for k, v in room.grid.codes_by_day_type.items()} == {
            "weekday": ("10", "20", "30"),
            "saturday": ("10", "20", "30"),
            "sunday_holiday": ("10", "20", "30"),
        }
    assert sorted(network.closed_dates(found.facility, 2027))[:3] == [jan(1), jan(2), jan(3)]
    assert not {d for d in network.closed_dates(found.facility, 2027) if d.month in (1, 2)} - {
        jan(1),
        jan(2),
        jan(3),
    }
    return found


async def add_group(
    session: AsyncSession, name: str, category: GroupCategory, *, in_city: bool
) -> int:
    group = Group(
        kind=GroupKind.GROUP,
        category=category,
        name=name,
        status=GroupStatus.ACTIVE,
        in_city=in_city,
        created_at=datetime(2026, 4, 1, tzinfo=UTC),
    )
    session.add(group)
    await session.flush()
    return group.id


async def add_booking(
    session: AsyncSession,
    where: Place,
    group: str,
    room: int,
    day: date,
    codes: list[str],
    status: BookingStatus = BookingStatus.CONFIRMED,
    *,
    headcount: int = 10,
    fee: int = 1000,
    payment: PaymentStatus = PaymentStatus.UNPAID,
    channel: str = "counter",
    created_at: datetime | None = None,
    cause: str | None = None,
    charge: int | None = None,
) -> Booking:
    row = Booking(
        group_id=where.groups[group],
        room_id=room,
        facility_id=where.other_facility if room == where.other_room else where.facility,
        use_date=day,
        period_codes=codes,
        status=status,
        purpose="meeting",
        headcount=headcount,
        fee_total=fee,
        fee_breakdown={},
        payment_status=payment,
        channel=channel,
        created_at=created_at or jst(date(2026, 10, 15), 10),
        cancel_cause=cause,
        cancellation_charge=charge,
    )
    session.add(row)
    await session.flush()
    return row


async def add_application(
    session: AsyncSession,
    where: Place,
    group: str,
    room: int,
    day: date,
    codes: list[str],
    status: ApplicationStatus,
) -> LotteryApplication:
    row = LotteryApplication(
        use_month=day.replace(day=1),
        group_id=where.groups[group],
        room_id=room,
        facility_id=where.facility,
        use_date=day,
        period_codes=codes,
        purpose="meeting",
        headcount=10,
        status=status,
        created_at=jst(date(2026, 9, 18), 10),
    )
    session.add(row)
    await session.flush()
    return row


async def add_entry(
    session: AsyncSession,
    where: Place,
    group: str,
    room: int,
    day: date,
    codes: list[str],
    status: EntryStatus = EntryStatus.WAITING,
) -> WaitlistEntry:
    row = WaitlistEntry(
        group_id=where.groups[group],
        room_id=room,
        facility_id=where.facility,
        use_date=day,
        period_codes=codes,
        periods_key=",".join(codes),
        status=status,
        joined_at=jst(date(2026, 10, 20), 10),
    )
    session.add(row)
    await session.flush()
    return row


async def add_block(
    session: AsyncSession,
    where: Place,
    room: int,
    start: date,
    end: date,
    codes: list[str],
    *,
    released: bool = False,
) -> None:
    """A block row as blocks.create_block stores it: no period codes is every period."""
    session.add(
        Block(
            facility_id=where.facility,
            room_id=room,
            start_date=start,
            end_date=end,
            period_codes=codes,
            reason="maintenance",
            created_at=jst(date(2026, 10, 1), 9),
            released_at=jst(date(2026, 10, 2), 9) if released else None,
        )
    )
    await session.flush()


async def january(session: AsyncSession) -> Place:
    """The month the figures tests count by hand (their comments say what each row adds)."""
    w = await place(session)
    C, S = BookingStatus, ApplicationStatus  # noqa: N806 - short names for a table of rows
    general, exempt, commercial = (
        GroupCategory.GENERAL,
        GroupCategory.EXEMPT,
        GroupCategory.COMMERCIAL,
    )
    w.groups = {
        "a": await add_group(session, "統計 一般 市内", general, in_city=True),
        "b": await add_group(session, "統計 減免 市内", exempt, in_city=True),
        "c": await add_group(session, "統計 営利 市外", commercial, in_city=False),
        "d": await add_group(session, "統計 一般 市外", general, in_city=False),
    }
    paid, waived, refunded = PaymentStatus.PAID, PaymentStatus.WAIVED, PaymentStatus.REFUNDED
    # B1: online 30 minutes after first-come opened: a first-hour slot
    await add_booking(session, w, "a", w.p1, jan(5), ["10"], headcount=10, fee=1000,
                      payment=paid, channel="online", created_at=jst(OPENED, 0, 30))  # fmt: skip
    # B2: used (completed), online at 01:30: after the first hour
    await add_booking(session, w, "b", w.p1, jan(5), ["20", "30"], C.COMPLETED, headcount=20,
                      fee=1500, payment=waived, channel="online",
                      created_at=jst(OPENED, 1, 30))  # fmt: skip
    # B3: nobody came
    await add_booking(session, w, "c", w.p2, jan(9), ["10"], C.NO_SHOW, headcount=5, fee=3000)
    # B4: the combined room, at the counter in the first hour (not online: not counted)
    await add_booking(session, w, "a", w.combined, jan(13), ["20"], headcount=40, fee=4000,
                      payment=paid, created_at=jst(OPENED, 0, 10))  # fmt: skip
    # B5: a part of the combined room, online at 01:00 exactly: the first hour has ended
    await add_booking(session, w, "d", w.p1, jan(14), ["10", "20"], headcount=8, fee=2000,
                      channel="online", created_at=jst(OPENED, 1))  # fmt: skip
    # B6: cancelled by the group in time: nothing due
    await add_booking(session, w, "b", w.p2, jan(18), ["30"], C.CANCELLED, fee=1200,
                      cause="group")  # fmt: skip
    # B7: cancelled late at the counter: the charge is due, and paid
    await add_booking(session, w, "c", w.p2, jan(19), ["10"], C.CANCELLED, fee=3000,
                      cause="late", charge=3000, payment=paid)  # fmt: skip
    # B8: cancelled by the facility, the fee paid before refunded
    await add_booking(session, w, "a", w.combined, jan(20), ["30"], C.CANCELLED, fee=5000,
                      cause="facility", payment=refunded)  # fmt: skip
    # B9, B10: a hold and a booking waiting for approval: neither is a use yet
    await add_booking(session, w, "a", w.green, jan(21), ["10"], C.HELD, fee=800)
    await add_booking(session, w, "b", w.green, jan(22), ["20"], C.PENDING_APPROVAL, fee=800)
    # B11: on 2 January, a closed day (made before the closure was set)
    await add_booking(session, w, "a", w.p1, jan(2), ["10"], headcount=6, fee=1000,
                      payment=paid)  # fmt: skip
    # B12: the counter-only room, the whole Sunday
    await add_booking(session, w, "d", w.green, jan(10), ["10", "20", "30"], headcount=12,
                      fee=6000, payment=waived)  # fmt: skip
    # B13: another facility: outside the report of this one
    await add_booking(session, w, "a", w.other_room, jan(5), ["10"], headcount=3, fee=500)
    # B14: the combined room on the holiday, online at 00:59: a first-hour slot
    await add_booking(session, w, "c", w.combined, jan(11), ["10"], headcount=30, fee=4500,
                      channel="online", created_at=jst(OPENED, 0, 59))  # fmt: skip
    # B15: a hold that expired: not a use
    await add_booking(session, w, "a", w.green, jan(23), ["10"], C.CANCELLED, fee=800,
                      cause="expired")  # fmt: skip
    # B16: February, a part on the holiday of 23 February
    await add_booking(session, w, "a", w.p2, date(2027, 2, 23), ["10", "20"], headcount=15,
                      fee=2000, payment=paid)  # fmt: skip
    # B17: a lottery win's booking, made in the first hour: not a first-come booking
    await add_booking(session, w, "b", w.p2, jan(15), ["30"], headcount=7, fee=1000,
                      payment=paid, channel="lottery", created_at=jst(OPENED, 0, 20))  # fmt: skip

    # K1: the combined room blocked 25-26 January, 午前 and 午後: both parts lose them too
    await add_block(session, w, w.combined, jan(25), jan(26), ["10", "20"])
    # K2: P2 blocked all day on 27 January (no codes: every period): C loses them too
    await add_block(session, w, w.p2, jan(27), jan(27), [])
    # K3: released: takes nothing
    await add_block(session, w, w.p1, jan(28), jan(28), ["30"], released=True)

    # L1-L3: three applicants for P1 15 January 午前, one won; L6 withdrew from it
    await add_application(session, w, "a", w.p1, jan(15), ["10"], S.WON)
    await add_application(session, w, "b", w.p1, jan(15), ["10"], S.LOST)
    await add_application(session, w, "c", w.p1, jan(15), ["10"], S.LOST)
    await add_application(session, w, "d", w.p1, jan(15), ["10"], S.WITHDRAWN)
    # L4: P2 16 January 午前+午後, won and confirmed: one applicant in each of the two slots;
    # L5 lost 午後 to it
    await add_application(session, w, "d", w.p2, jan(16), ["10", "20"], S.CONFIRMED)
    await add_application(session, w, "a", w.p2, jan(16), ["20"], S.LOST)
    # L7, L8: C 17 January 夜間: one not drawn yet, one won and lapsed
    await add_application(session, w, "b", w.combined, jan(17), ["30"], S.APPLIED)
    await add_application(session, w, "c", w.combined, jan(17), ["30"], S.LAPSED)
    # L9: an application for February
    await add_application(session, w, "a", w.p1, date(2027, 2, 10), ["10"], S.APPLIED)

    # W1: P1 13 January 午後+夜間 (two slots); W2: C 14 January 午前, expired; W3: February
    await add_entry(session, w, "b", w.p1, jan(13), ["20", "30"])
    await add_entry(session, w, "c", w.combined, jan(14), ["10"], EntryStatus.EXPIRED)
    await add_entry(session, w, "d", w.p2, date(2027, 2, 3), ["10"])
    return w
