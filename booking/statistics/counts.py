"""A month's rows read into the counts every figure is made of, cached per month.

The counts are keyed finely enough for every grouping the reports offer: a slot count by
(room, day, period) where day is the weekday 0-6 or 7 for a public holiday, a booking count by
(room, day, category, in-city). A year of a city is twelve of these; a month is read again
only when its version moves (versions.py), so a dashboard reads the one month that changed.
"""

from __future__ import annotations

import json
from collections import OrderedDict, defaultdict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from time import monotonic
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, DateTime, String, cast, func, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.models import Group
from booking.inventory.calendar import DayType, day_type, is_holiday
from booking.inventory.network import NetworkSnapshot, RoomInfo
from booking.inventory.policy import first_come_opens
from booking.lottery.models import ApplicationStatus, LotteryApplication
from booking.reservations.models import Block, Booking, BookingStatus, PaymentStatus
from booking.statistics.span import month_end
from booking.statistics.versions import MonthVersions, month_versions
from booking.waitlist.models import WaitlistEntry

HOLIDAY = 7  # the day key of a public holiday; 0-6 are Monday to Sunday
BOOKED = (BookingStatus.CONFIRMED, BookingStatus.COMPLETED, BookingStatus.NO_SHOW)
APPLIED = (
    ApplicationStatus.APPLIED,
    ApplicationStatus.WON,
    ApplicationStatus.LOST,
    ApplicationStatus.CONFIRMED,
    ApplicationStatus.LAPSED,
)
WON = (ApplicationStatus.WON, ApplicationStatus.CONFIRMED, ApplicationStatus.LAPSED)
FIRST_HOUR = timedelta(hours=1)

# Slot counts, in this order (figures.py defines each).
SLOT_COUNTS = (
    "bookable_slots",
    "booked_slots",
    "lottery_slots",
    "slot_applications",
    "contested_slots",
    "winning",
    "waitlist_joins",
    "first_hour_slots",
)
BOOKABLE, BOOKED_SLOTS, LOTTERY, APPLICATIONS, CONTESTED, WINNING, WAITING, FIRST = range(8)
DEMAND_PLACES = (LOTTERY, APPLICATIONS, CONTESTED, WINNING, WAITING)  # read_demand's
# Booking counts, in this order.
USE_COUNTS = (
    "bookings",
    "headcount",
    "cancelled_early",
    "cancelled_late",
    "cancelled_by_facility",
    "no_shows",
    "fees_charged",
    "fees_paid",
    "fees_waived",
    "fees_refunded",
)
(
    BOOKINGS,
    HEADCOUNT,
    EARLY,
    LATE,
    BY_FACILITY,
    NO_SHOWS,
    CHARGED,
    PAID,
    WAIVED,
    REFUNDED,
) = range(10)
CANCEL_CAUSES = {"group": EARLY, "late": LATE, "facility": BY_FACILITY}

T = TypeVar("T")
SlotKey = tuple[int, int, str]  # room, day key, period code
UseKey = tuple[int, int, str, bool]  # room, day key, group category, in city


def day_key(day: date) -> int:
    return HOLIDAY if is_holiday(day) else day.weekday()


def day_type_of_key(key: int) -> DayType:
    if key in (HOLIDAY, 6):
        return DayType.SUNDAY_HOLIDAY
    return DayType.SATURDAY if key == 5 else DayType.WEEKDAY


@dataclass
class MonthCounts:
    """A month's counts. Lists while they are read, tuples once kept (`sealed`): a process
    keeps two years of them, and the garbage collector, which walks every list on each full
    collection (half a second inside a request, bench/usage_statistics.py), leaves tuples of
    numbers alone."""

    month: date
    slots: dict[SlotKey, Sequence[int]] = field(default_factory=dict)
    uses: dict[UseKey, Sequence[int]] = field(default_factory=dict)
    # Distinct groups behind a room's figures in the month: the open data's anonymity rule.
    groups_booking: dict[int, int] = field(default_factory=dict)
    groups_applying: dict[int, int] = field(default_factory=dict)
    # report.py's sums of these counts by its groupings: kept with the counts they sum
    grouped: dict[object, Any] = field(default_factory=dict)

    def slot(self, key: SlotKey) -> list[int]:
        found = self.slots.get(key)
        if found is None:
            found = self.slots[key] = [0] * len(SLOT_COUNTS)
        assert isinstance(found, list)  # noqa: S101 - a sealed month is read, never added to
        return found

    def use(self, key: UseKey) -> list[int]:
        found = self.uses.get(key)
        if found is None:
            found = self.uses[key] = [0] * len(USE_COUNTS)
        assert isinstance(found, list)  # noqa: S101 - as in slot()
        return found

    def sealed(self) -> MonthCounts:
        self.slots = {key: tuple(values) for key, values in self.slots.items()}
        self.uses = {key: tuple(values) for key, values in self.uses.items()}
        return self


class CountsCache:
    """A process's counts by month, each part with the version it was read at (versions.py).

    A month's booking counts and its demand counts are read apart, each again only when its
    version moved: a booking changed re-reads the month's bookings, not its lottery. A write
    committed between reading the versions and the rows only makes the next request read
    that part once more.
    """

    def __init__(self, max_months: int = 48) -> None:
        self._parts: dict[str, OrderedDict[date, tuple[tuple[int, ...], MonthCounts]]] = {
            "bookings": OrderedDict(),
            "demand": OrderedDict(),
        }
        self._merged: OrderedDict[date, tuple[MonthVersions, MonthCounts]] = OrderedDict()
        self._max = max_months
        # When each month's version was last found current (monotonic()), and the network's
        # revision it was read under.
        self._checked: dict[date, tuple[float, int]] = {}

    async def months(
        self,
        session: AsyncSession,
        network: NetworkSnapshot,
        months: Sequence[date],
        tz: ZoneInfo,
        *,
        max_age: float = 0.0,
    ) -> list[MonthCounts]:
        """The months' counts. With `max_age`, months found current at most that many seconds
        ago are served as they are, without asking the database (the pages and the open data:
        a figure a minute old is the figure; the background reads keep them that fresh)."""
        now = monotonic()
        if max_age > 0 and all(
            month in self._merged
            and self._checked.get(month, (-max_age - 1, -1))[1] == network.revision
            and now - self._checked[month][0] <= max_age
            for month in months
        ):
            return [self._merged[month][1] for month in months]
        versions = await month_versions(session, months, network.revision)
        result = []
        for month in months:
            merged = self._merged.get(month)
            if merged is None or merged[0] != versions[month]:
                bookings = await self._part(
                    "bookings",
                    month,
                    versions[month].bookings,
                    partial(read_bookings, session, network, month, tz),
                )
                demand = await self._part(
                    "demand",
                    month,
                    versions[month].demand,
                    partial(read_demand, session, network, month),
                )
                merged = (versions[month], merge(bookings, demand))
                _keep(self._merged, month, merged, self._max)
            self._merged.move_to_end(month)
            self._checked[month] = (now, network.revision)  # once read, not before
            result.append(merged[1])
        return result

    async def _part(
        self,
        part: str,
        month: date,
        version: tuple[int, ...],
        read: Callable[[], Awaitable[MonthCounts]],
    ) -> MonthCounts:
        cached = self._parts[part].get(month)
        if cached is None or cached[0] != version:
            cached = (version, await read())
            _keep(self._parts[part], month, cached, self._max)
        return cached[1]


def _keep(store: OrderedDict[date, T], month: date, value: T, most: int) -> None:
    store[month] = value
    store.move_to_end(month)
    while len(store) > most:
        store.popitem(last=False)


async def read_month(
    session: AsyncSession,
    network: NetworkSnapshot,
    first: date,
    tz: ZoneInfo,
    *,
    last: date | None = None,
) -> MonthCounts:
    """Every count of one month from its rows: the whole month from `first`, its first day,
    or `first` to `last` within it."""
    return merge(
        await read_bookings(session, network, first, tz, last=last),
        await read_demand(session, network, first, last=last),
    )


def merge(bookings: MonthCounts, demand: MonthCounts) -> MonthCounts:
    """One month's counts from its two parts (each fills its own places of a slot's list)."""
    slots = dict(bookings.slots)
    for key, values in demand.slots.items():
        found = slots.get(key)
        slots[key] = (
            values
            if found is None
            else tuple(
                a + b if index in DEMAND_PLACES else a
                for index, (a, b) in enumerate(zip(found, values, strict=True))
            )
        )
    return MonthCounts(
        bookings.month, slots, bookings.uses, bookings.groups_booking, demand.groups_applying
    )


def _frame(first: date, last: date | None) -> tuple[date, date, dict[date, int]]:
    """The month of `first`, the last day read, and each day's key."""
    month = first.replace(day=1)
    if last is None:
        last = month_end(month)
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    return month, last, {day: day_key(day) for day in days}


async def read_bookings(
    session: AsyncSession,
    network: NetworkSnapshot,
    first: date,
    tz: ZoneInfo,
    *,
    last: date | None = None,
) -> MonthCounts:
    """The month's booking counts: bookable, booked and first-hour slots, uses (two queries,
    bookings and blocks; the closures come from the network)."""
    month, last, keys = _frame(first, last)
    counts = MonthCounts(month)
    rooms = {room.id: room for room in network.rooms}
    open_days = _open_days(network, rooms.values(), list(keys))
    booked = await _bookings(session, counts, rooms, first, last, keys, tz)
    taken = await _taken(session, rooms, first, last, booked, open_days)
    _supply(counts, rooms.values(), open_days, keys, booked, taken)
    return counts.sealed()


async def read_demand(
    session: AsyncSession, network: NetworkSnapshot, first: date, *, last: date | None = None
) -> MonthCounts:
    """The month's demand counts: the lottery's slots and the wait lists' joins."""
    month, last, keys = _frame(first, last)
    counts = MonthCounts(month)
    rooms = {room.id: room for room in network.rooms}
    await _lottery(session, counts, rooms, first, last, keys)
    await _waiting(session, counts, rooms, first, last, keys)
    return counts.sealed()


def _open_days(
    network: NetworkSnapshot, rooms: Iterable[RoomInfo], days: Sequence[date]
) -> dict[int, frozenset[date]]:
    """Each facility's open days of the month: its closure rules, its opening and closing."""
    found: dict[int, frozenset[date]] = {}
    for facility_id in {room.facility_id for room in rooms}:
        facility = network.facilities[facility_id]
        closed = network.closed_dates(facility_id, days[0].year)
        found[facility_id] = frozenset(
            day
            for day in days
            if day not in closed
            and (facility.opens_on is None or facility.opens_on <= day)
            and (facility.closes_on is None or day <= facility.closes_on)
        )
    return found


async def _bookings(  # noqa: C901, PLR0912, PLR0915 - one pass over a month's bookings, inline
    session: AsyncSession,
    counts: MonthCounts,
    rooms: dict[int, RoomInfo],
    first: date,
    last: date,
    keys: dict[date, int],
    tz: ZoneInfo,
) -> dict[int, set[tuple[date, str]]]:
    """Use counts and booked slots; returns each room's booked slots.

    A city's month is some 25,000 bookings: the rows come through Core (no ORM rows), the
    period lists as text decoded once per distinct list (a month has a handful), and the
    first-come opening once per policy and date, not per booking (bench/usage_statistics.py).
    """
    connection = await session.connection()
    # As the database has them: no enum or UTC conversion per row (a third of the time).
    rows = await connection.execute(
        select(
            Booking.room_id,
            Booking.group_id,
            Booking.use_date,
            cast(Booking.period_codes, String),
            type_coerce(Booking.status, String),
            Booking.channel,
            type_coerce(Booking.created_at, DateTime(timezone=True)),
            Booking.headcount,
            Booking.fee_total,
            Booking.cancellation_charge,
            Booking.cancel_cause,
            type_coerce(Booking.payment_status, String),
            type_coerce(Group.category, String),
            Group.in_city,
        )
        .join(Group, Group.id == Booking.group_id)
        .where(Booking.use_date >= first, Booking.use_date <= last)
    )
    booked: dict[int, set[tuple[date, str]]] = defaultdict(set)
    groups: dict[int, set[int]] = defaultdict(set)
    lists: dict[str, list[str]] = {}
    opening: dict[tuple[int, date], datetime] = {}
    uses: dict[UseKey, list[int]] = {}
    slots: dict[SlotKey, list[int]] = {}
    width = len(SLOT_COUNTS)
    for (
        room_id,
        group_id,
        use_date,
        listed,
        status,
        channel,
        created_at,
        headcount,
        fee_total,
        charge,
        cause,
        payment,
        category,
        in_city,
    ) in rows.all():
        room = rooms.get(room_id)
        if room is None:  # a retired room: its history stays, the figures cover the network
            continue
        if status in BOOKED:
            due = fee_total
        elif status == BookingStatus.CANCELLED and cause in CANCEL_CAUSES:
            due = charge or 0
        else:  # held, pending, rejected, an expired hold: not a use
            continue
        day = keys[use_date]
        use_key = (room_id, day, category, in_city)
        use = uses.get(use_key)
        if use is None:
            use = uses[use_key] = [0] * len(USE_COUNTS)
        use[CHARGED] += due
        if payment == PaymentStatus.PAID:
            use[PAID] += due
        elif payment == PaymentStatus.WAIVED:
            use[WAIVED] += due
        elif payment == PaymentStatus.REFUNDED:
            use[REFUNDED] += fee_total
        if status not in BOOKED:
            use[CANCEL_CAUSES[cause]] += 1
            continue
        use[BOOKINGS] += 1
        use[HEADCOUNT] += headcount
        use[NO_SHOWS] += status == BookingStatus.NO_SHOW
        groups[room_id].add(group_id)
        first_hour = False
        if channel == "online":
            policy = (id(room.policy if room.timeline is None else room.timeline), use_date)
            opens = opening.get(policy)
            if opens is None:
                opened_on = first_come_opens(room.policy_on(use_date), use_date)
                opens = opening[policy] = datetime.combine(opened_on, time(), tz)
            # SQLite keeps the UTC instant without its zone
            made = created_at if created_at.tzinfo else created_at.replace(tzinfo=UTC)
            first_hour = opens <= made < opens + FIRST_HOUR
        codes = lists.get(listed)
        if codes is None:
            codes = lists[listed] = json.loads(listed)
        room_booked = booked[room_id]
        for code in codes:
            room_booked.add((use_date, code))
            slot_key = (room_id, day, code)
            slot = slots.get(slot_key)
            if slot is None:
                slot = slots[slot_key] = [0] * width
            slot[BOOKED_SLOTS] += 1
            slot[FIRST] += first_hour
    counts.uses.update(uses)
    counts.slots.update(slots)
    counts.groups_booking = {room_id: len(ids) for room_id, ids in groups.items()}
    return booked


async def _taken(
    session: AsyncSession,
    rooms: dict[int, RoomInfo],
    first: date,
    last: date,
    booked: dict[int, set[tuple[date, str]]],
    open_days: dict[int, frozenset[date]],
) -> dict[int, set[tuple[date, str]]]:
    """Each room's slots out of its supply: a live block on any of its units, or a booking of
    another room that shares a unit (a combined room and its parts)."""
    rooms_of_unit: dict[int, set[int]] = defaultdict(set)
    for room in rooms.values():
        for unit in room.unit_ids:
            rooms_of_unit[unit].add(room.id)
    sharing = {
        room.id: set().union(*(rooms_of_unit[unit] for unit in room.unit_ids))
        for room in rooms.values()
    }
    taken: dict[int, set[tuple[date, str]]] = defaultdict(set)
    blocks = await session.execute(
        select(Block.room_id, Block.start_date, Block.end_date, Block.period_codes).where(
            Block.released_at.is_(None), Block.start_date <= last, Block.end_date >= first
        )
    )
    for room_id, start, end, codes in blocks.all():
        if room_id not in rooms:
            continue
        opened, grid = open_days[rooms[room_id].facility_id], rooms[room_id].grid
        day = max(start, first)
        while day <= min(end, last):
            if day in opened:  # a block claims open days only (reservations/blocks.py)
                # no codes: every period of the day (create_block stores None as [])
                blocked = codes or grid.codes_by_day_type.get(day_type(day), ())
                for other in sharing[room_id]:
                    taken[other].update((day, code) for code in blocked)
            day += timedelta(days=1)
    for room_id, slots in booked.items():
        for other in sharing.get(room_id, ()):
            if other != room_id:
                taken[other] |= slots
    return taken


def _supply(
    counts: MonthCounts,
    rooms: Iterable[RoomInfo],
    open_days: dict[int, frozenset[date]],
    keys: dict[date, int],
    booked: dict[int, set[tuple[date, str]]],
    taken: dict[int, set[tuple[date, str]]],
) -> None:
    """Bookable slots: the room's periods on open days, less those taken from it, plus its own
    booked slots on days it would not offer (a booking made before a closure was set), so
    occupancy never exceeds 1."""
    day_counts: dict[int, dict[int, int]] = {}
    for facility_id, days in open_days.items():
        per_key: dict[int, int] = defaultdict(int)
        for day in days:
            per_key[keys[day]] += 1
        day_counts[facility_id] = per_key
    for room in rooms:
        codes = {kind: frozenset(found) for kind, found in room.grid.codes_by_day_type.items()}
        for key, number in day_counts[room.facility_id].items():
            for code in codes.get(day_type_of_key(key), ()):
                counts.slot((room.id, key, code))[BOOKABLE] += number
        opened = open_days[room.facility_id]
        own = booked.get(room.id, set())
        for day, code in taken.get(room.id, set()) - own:
            if day in opened and code in codes.get(day_type_of_key(keys[day]), ()):
                counts.slot((room.id, keys[day], code))[BOOKABLE] -= 1
        for day, code in own:
            if not (day in opened and code in codes.get(day_type_of_key(keys[day]), ())):
                counts.slot((room.id, keys[day], code))[BOOKABLE] += 1


async def _lottery(
    session: AsyncSession,
    counts: MonthCounts,
    rooms: dict[int, RoomInfo],
    first: date,
    last: date,
    keys: dict[date, int],
) -> None:
    """Demand from the month's lottery: applicants and winners per slot. The database groups
    the applications by their list of periods (as text: PostgreSQL's json has no equality to
    group by); the lists are split into slots here."""
    codes = cast(LotteryApplication.period_codes, String)
    rows = await session.execute(
        select(
            LotteryApplication.room_id,
            LotteryApplication.use_date,
            codes,
            func.count(),
            func.count().filter(LotteryApplication.status.in_(WON)),
        )
        .where(*_applied(first, last))
        .group_by(LotteryApplication.room_id, LotteryApplication.use_date, codes)
    )
    per_slot: dict[tuple[int, date, str], list[int]] = {}
    for room_id, use_date, listed, applicants, winners in rows.all():
        if room_id not in rooms:
            continue
        for code in json.loads(listed):
            found = per_slot.setdefault((room_id, use_date, code), [0, 0])
            found[0] += applicants
            found[1] += winners
    for (room_id, use_date, code), (applicants, winners) in per_slot.items():
        slot = counts.slot((room_id, keys[use_date], code))
        slot[LOTTERY] += 1
        slot[APPLICATIONS] += applicants
        slot[CONTESTED] += applicants > 1
        slot[WINNING] += winners
    groups = await session.execute(
        select(LotteryApplication.room_id, func.count(LotteryApplication.group_id.distinct()))
        .where(*_applied(first, last))
        .group_by(LotteryApplication.room_id)
    )
    counts.groups_applying = {room_id: n for room_id, n in groups.all() if room_id in rooms}


def _applied(first: date, last: date) -> tuple[ColumnElement[bool], ...]:
    """The applications counted, of the days from first to last in one month (the use month
    leads, for the index on it)."""
    return (
        LotteryApplication.use_month == first.replace(day=1),
        LotteryApplication.use_date >= first,
        LotteryApplication.use_date <= last,
        LotteryApplication.status.in_(APPLIED),
    )


async def _waiting(
    session: AsyncSession,
    counts: MonthCounts,
    rooms: dict[int, RoomInfo],
    first: date,
    last: date,
    keys: dict[date, int],
) -> None:
    codes = cast(WaitlistEntry.period_codes, String)
    rows = await session.execute(
        select(WaitlistEntry.room_id, WaitlistEntry.use_date, codes, func.count())
        .where(WaitlistEntry.use_date >= first, WaitlistEntry.use_date <= last)
        .group_by(WaitlistEntry.room_id, WaitlistEntry.use_date, codes)
    )
    for room_id, use_date, listed, entries in rows.all():
        if room_id in rooms:
            for code in json.loads(listed):
                counts.slot((room_id, keys[use_date], code))[WAITING] += entries
