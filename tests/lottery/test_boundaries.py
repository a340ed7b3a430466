"""The lottery's thresholds at their edges, through the services (no HTTP), on both databases.

Use month March 2027 of a civic hall (the default policy): apply 17-23 November 2026 (Tokyo
time), draw 24 November 9:00, confirm 25-28 November. The world's registrations are valid until
31 March 2027. Each table row runs in a savepoint rolled back after it, so rows do not see each
other's applications.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from booking.accounts.access import Principal
from booking.accounts.models import Group, GroupStatus
from booking.clock import FrozenClock
from booking.errors import BookingError
from booking.inventory.models import Room
from booking.inventory.network import NetworkSnapshot
from booking.lottery import applications as lottery
from booking.lottery.drawing import due_draws, lapse_unconfirmed, remind_winners, run_due_draws
from booking.lottery.models import ApplicationStatus, LotteryApplication
from booking.reservations.bookings import BookingRequest, is_closed
from booking.reservations.models import Claim, ClaimKind
from tests.helpers import jst
from tests.people import World, principal_as
from tests.places import Hall, open_weekday

MARCH = date(2027, 3, 1)
WINDOW_OPEN = jst(date(2026, 11, 20), 10)  # inside the application window for March


def open_weekdays(
    snapshot: NetworkSnapshot, facility_id: int, n: int, month: date = MARCH
) -> list[date]:
    days: list[date] = []
    while len(days) < n:
        start = days[-1] + timedelta(days=1) if days else month
        days.append(open_weekday(snapshot, facility_id, start))
    assert days[-1].month == month.month, days
    return days


def with_lottery(snapshot: NetworkSnapshot, facility_id: int, **rules: object) -> NetworkSnapshot:
    """The network with the facility's own lottery rules changed (say a win cap, or a longer
    confirmation window), the rest as bundled."""
    facility = snapshot.facilities[facility_id]
    lottery_rules = facility.policy.lottery.model_copy(update=rules)
    policy = facility.policy.model_copy(update={"lottery": lottery_rules})
    return replace(
        snapshot,
        facilities={**snapshot.facilities, facility_id: replace(facility, policy=policy)},
    )


@dataclass
class Applicant:
    session: AsyncSession
    clock: FrozenClock
    world: World
    snapshot: NetworkSnapshot
    principals: dict[int, Principal]  # group id -> a member of it

    async def apply(
        self,
        group: int,
        room: int,
        day: date,
        periods: Sequence[str],
        headcount: int = 10,
        event_name: str | None = None,
    ) -> LotteryApplication:
        request = BookingRequest(group, room, day, list(periods), "meeting", headcount, event_name)
        return await lottery.apply(
            self.session,
            self.clock,
            self.world.settings,
            self.snapshot,
            self.principals[group],
            request,
        )

    async def error(
        self, group: int, room: int, day: date, periods: Sequence[str], headcount: int = 10
    ) -> BookingError | None:
        """The error apply raises, or None when it applied."""
        try:
            await self.apply(group, room, day, periods, headcount)
        except BookingError as error:
            return error
        return None

    async def refusal(
        self, group: int, room: int, day: date, periods: Sequence[str], headcount: int = 10
    ) -> str:
        """The code of the error apply raises, or "applied"."""
        error = await self.error(group, room, day, periods, headcount)
        return "applied" if error is None else error.code

    async def withdraw(self, group: int, application_id: int) -> LotteryApplication:
        return await lottery.withdraw(
            self.session,
            self.clock,
            self.world.settings,
            self.snapshot,
            self.principals[group],
            application_id,
        )

    async def confirm_raising(self, group: int, application_id: int) -> None:
        await lottery.confirm(
            self.session,
            self.clock,
            self.world.settings,
            self.snapshot,
            self.principals[group],
            application_id,
        )

    async def confirm(self, group: int, application_id: int) -> str:
        """The code of the error confirm raises, or "confirmed"."""
        try:
            await self.confirm_raising(group, application_id)
        except BookingError as error:
            return error.code
        return "confirmed"


@pytest.fixture
async def applicant(
    world: World, hall: Hall, session: AsyncSession, clock: FrozenClock
) -> Applicant:
    clock.set(WINDOW_OPEN)
    return Applicant(
        session,
        clock,
        world,
        hall.snapshot,
        {
            world.group_a: await principal_as(session, world, "representative"),
            world.group_b: await principal_as(session, world, "other_representative"),
        },
    )


async def other_hall_room(session: AsyncSession, hall: Hall) -> int:
    """A room of another civic hall open in March, bookable online, one unit, any purpose."""
    for room in hall.snapshot.rooms:
        facility = hall.snapshot.facilities[room.facility_id]
        if (
            facility.kind == "civic_hall"
            and room.facility_id != hall.facility_id
            and facility.closes_on is None
            and room.online_bookable
            and len(room.unit_ids) == 1
            and (await session.get_one(Room, room.id)).purposes is None
            and (room.capacity or 0) >= 10
            and not is_closed(hall.snapshot, facility, MARCH)
        ):
            return room.id
    raise AssertionError("no second civic hall")


# The quota: 8 period-slots per group, facility and use month (RULES.md). Each row: what is
# applied for first (group, "here" or "there" for the other hall, day index, periods,
# withdrawn), then what group A applies for (day index, periods) and the outcome.
A, B = "a", "b"
QUOTA_ROWS = [
    ("7 used, 1 more: exactly 8", [(A, "here", 0, 3), (A, "here", 1, 3), (A, "here", 2, 1)],
     (3, 1), "applied"),
    ("8 used, 1 more: 9 refused", [(A, "here", 0, 3), (A, "here", 1, 3), (A, "here", 2, 2)],
     (3, 1), "over_quota"),
    ("6 used, 2 more: exactly 8", [(A, "here", 0, 3), (A, "here", 1, 3)], (2, 2), "applied"),
    ("6 used, 3 more: 9 refused", [(A, "here", 0, 3), (A, "here", 1, 3)], (2, 3), "over_quota"),
    ("none used, 3 at once", [], (0, 3), "applied"),
    ("8 used at another hall do not count",
     [(A, "there", 0, 3), (A, "there", 1, 3), (A, "there", 2, 2)], (3, 3), "applied"),
    ("8 used by another group do not count",
     [(B, "here", 0, 3), (B, "here", 1, 3), (B, "here", 2, 2)], (3, 1), "applied"),
    ("8 used, 3 of them withdrawn: 5 + 3 = 8",
     [(A, "here", 0, 3), (A, "here", 1, 2), ("a-withdrawn", "here", 2, 3)], (3, 3), "applied"),
]  # fmt: skip


async def test_the_quota_allows_8_period_slots_and_refuses_the_9th(
    applicant: Applicant, hall: Hall, session: AsyncSession
) -> None:
    world = applicant.world
    days = open_weekdays(hall.snapshot, hall.facility_id, 4)
    there = await other_hall_room(session, hall)
    there_days = open_weekdays(hall.snapshot, hall.snapshot.room(there).facility_id, 4)  # type: ignore[union-attr]
    groups = {A: world.group_a, B: world.group_b, "a-withdrawn": world.group_a}
    outcomes = {}
    for name, before, (day, periods), _ in QUOTA_ROWS:
        nested = await session.begin_nested()
        for who, where, index, count in before:
            room, on = (hall.room_id, days) if where == "here" else (there, there_days)
            made = await applicant.apply(groups[who], room, on[index], ("10", "20", "30")[:count])
            if who == "a-withdrawn":
                await applicant.withdraw(world.group_a, made.id)
        outcomes[name] = await applicant.refusal(
            world.group_a, hall.room_id, days[day], ("10", "20", "30")[:periods]
        )
        await nested.rollback()
    assert outcomes == {name: expected for name, _, _, expected in QUOTA_ROWS}


async def test_what_is_left_of_the_quota_counts_live_applications_only(
    applicant: Applicant, hall: Hall, session: AsyncSession
) -> None:
    world = applicant.world
    days = open_weekdays(hall.snapshot, hall.facility_id, 3)
    await applicant.apply(world.group_a, hall.room_id, days[0], ("10", "20", "30"))
    await applicant.apply(world.group_a, hall.room_id, days[1], ("10", "20", "30"))
    gone = await applicant.apply(world.group_a, hall.room_id, days[2], ("10",))
    await applicant.apply(world.group_b, hall.room_id, days[2], ("20",))
    await applicant.withdraw(world.group_a, gone.id)
    await applicant.apply(world.group_a, hall.room_id, days[2], ("20", "30"))
    (left,) = await lottery.quota_left(session, hall.snapshot, world.group_a)
    assert (left.facility_id, left.use_month, left.used, left.limit, left.left) == (
        hall.facility_id,
        MARCH,
        8,
        8,
        0,
    )
    assert await applicant.refusal(world.group_a, hall.room_id, days[2], ("10",)) == "over_quota"


async def test_the_quota_is_per_use_month_march_waiting_for_a_late_draw_leaves_april_whole(
    applicant: Applicant, hall: Hall, session: AsyncSession
) -> None:
    """The worker missed March's draw: A's 8 March period-slots still wait when April's window
    opens on 17 December, and April's quota is 8 of its own: the 8th taken, the 9th refused."""
    a = applicant.world.group_a
    await set_registration(session, a, GroupStatus.ACTIVE, date(2028, 3, 31))
    periods = [("10", "20", "30"), ("10", "20", "30"), ("10", "20")]
    for day, codes in zip(open_weekdays(hall.snapshot, hall.facility_id, 3), periods, strict=True):
        await applicant.apply(a, hall.room_id, day, codes)
    applicant.clock.set(jst(date(2026, 12, 18), 10))
    april = open_weekdays(hall.snapshot, hall.facility_id, 4, date(2027, 4, 1))
    outcomes = [
        await applicant.error(a, hall.room_id, day, codes)
        for day, codes in zip(april, [*periods, ("10",)], strict=True)
    ]
    assert outcomes[:3] == [None, None, None]
    assert outcomes[3] is not None
    assert (outcomes[3].code, outcomes[3].field, outcomes[3].message) == (
        "over_quota",
        "period_codes",
        "at most 8 period-slots per facility and month in the lottery; 8 already applied for",
    )
    left = await lottery.quota_left(session, hall.snapshot, a)
    assert [(q.use_month, q.used, q.left) for q in left] == [
        (MARCH, 8, 0),
        (date(2027, 4, 1), 8, 0),
    ]


# One application per group and slot: the same room, date and an overlapping period is refused;
# the next period, another group, or after a withdrawal is not.
async def test_one_application_per_group_and_slot(
    applicant: Applicant, hall: Hall, session: AsyncSession
) -> None:
    world = applicant.world
    (day,) = open_weekdays(hall.snapshot, hall.facility_id, 1)
    first = await applicant.apply(world.group_a, hall.room_id, day, ("10", "20"))
    rows = [
        ("the same periods", world.group_a, ("10", "20"), "already_applied"),
        ("one period of it", world.group_a, ("20",), "already_applied"),
        ("overlapping by one", world.group_a, ("20", "30"), "already_applied"),
        ("the next period", world.group_a, ("30",), "applied"),
        ("another group, the same slot", world.group_b, ("10", "20"), "applied"),
    ]
    outcomes = {}
    for name, group, periods, _ in rows:
        nested = await session.begin_nested()
        outcomes[name] = await applicant.refusal(group, hall.room_id, day, periods)
        await nested.rollback()
    assert outcomes == {name: expected for name, _, _, expected in rows}
    twice = await applicant.error(world.group_a, hall.room_id, day, ("10",))
    assert twice is not None
    assert (twice.field, twice.message) == (
        "period_codes",
        "your group has applied for this slot already",
    )
    await applicant.withdraw(world.group_a, first.id)
    assert await applicant.refusal(world.group_a, hall.room_id, day, ("10",)) == "applied"


async def test_a_combined_room_is_refused_when_any_of_its_units_is_claimed(
    applicant: Applicant, hall: Hall, session: AsyncSession
) -> None:
    # A combined room bookable online where the lottery runs (RoomInfo.purposes: any when None).
    combined = next(
        room
        for room in hall.snapshot.rooms
        if len(room.unit_ids) > 1
        and room.online_bookable
        and room.policy.lottery.enabled
        and hall.snapshot.facilities[room.facility_id].closes_on is None
        and (room.purposes is None or "meeting" in room.purposes)
        and (room.capacity or 0) >= 10
    )
    (day,) = open_weekdays(hall.snapshot, combined.facility_id, 1)
    world = applicant.world
    # Another room's unit, claimed at the same time, leaves the combined room free.
    elsewhere = next(
        unit
        for room in hall.snapshot.rooms
        for unit in room.unit_ids
        if unit not in combined.unit_ids
    )
    outcomes, alone = {}, {}
    told = set()
    for unit in [*combined.unit_ids, elsewhere]:
        nested = await session.begin_nested()
        session.add(
            Claim(
                unit_id=unit,
                use_date=day,
                period_code="20",
                kind=ClaimKind.BLOCK,
                owner_id=0,
                created_at=applicant.clock.now(),
            )
        )
        await session.flush()
        error = await applicant.error(world.group_a, combined.id, day, ("10", "20"))
        outcomes[unit] = "applied" if error is None else error.code
        if error is not None:  # the morning alone is still free
            told.add((error.field, error.message))
            alone[unit] = await applicant.refusal(world.group_a, combined.id, day, ("10",))
        await nested.rollback()
    assert outcomes == {
        **dict.fromkeys(combined.unit_ids, "slot_unavailable"),
        elsewhere: "applied",
    }
    assert alone == dict.fromkeys(combined.unit_ids, "applied")
    assert told == {
        (
            "period_codes",
            "this slot is not available (blocked by the facility or already taken)",
        )
    }


# The registration: only an active, unexpired one applies or confirms, and only for dates up
# to its end (31 March).
STATUS_ROWS = [
    ("active", GroupStatus.ACTIVE, 0, "applied", "confirmed"),
    ("pending", GroupStatus.PENDING, 0, "registration_inactive", "registration_inactive"),
    ("suspended", GroupStatus.SUSPENDED, 0, "registration_inactive", "registration_inactive"),
    # Valid until yesterday: expired today.
    ("expired", GroupStatus.ACTIVE, -1, "registration_inactive", "registration_inactive"),
    # Valid until today: still active, but not for the use date after today.
    ("ends today", GroupStatus.ACTIVE, 0.5, "registration_expires", "registration_expires"),
]


async def set_registration(
    session: AsyncSession, group: int, status: GroupStatus, valid_until: date
) -> None:
    await session.execute(
        update(Group).where(Group.id == group).values(status=status, valid_until=valid_until)
    )
    await session.flush()
    session.expire_all()


def valid_until(shift: float, today: date) -> date:
    return today if shift == 0.5 else (date(2027, 3, 31) if shift == 0 else today - timedelta(1))


async def test_applying_and_confirming_by_registration_status(
    applicant: Applicant,
    hall: Hall,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    world = applicant.world
    day, other = open_weekdays(hall.snapshot, hall.facility_id, 2)
    applied = {}
    for name, status, shift, _, _ in STATUS_ROWS:
        nested = await session.begin_nested()
        await set_registration(
            session, world.group_a, status, valid_until(shift, date(2026, 11, 20))
        )
        applied[name] = await applicant.refusal(world.group_a, hall.room_id, day, ("10",))
        await nested.rollback()
    assert applied == {row[0]: row[3] for row in STATUS_ROWS}

    won = (await applicant.apply(world.group_a, hall.room_id, other, ("10",))).id
    await session.commit()
    applicant.clock.set(jst(date(2026, 11, 25), 10))
    await run_due_draws(sessionmaker, applicant.clock, world.settings, hall.snapshot)
    session.expire_all()
    confirmed = {}
    for name, status, shift, _, _ in STATUS_ROWS:
        nested = await session.begin_nested()
        await set_registration(
            session, world.group_a, status, valid_until(shift, date(2026, 11, 25))
        )
        confirmed[name] = await applicant.confirm(world.group_a, won)
        await nested.rollback()
        session.expire_all()
    assert confirmed == {row[0]: row[4] for row in STATUS_ROWS}
    # What a suspended group is told, on the field it concerns.
    await set_registration(session, world.group_a, GroupStatus.SUSPENDED, date(2027, 3, 31))
    told = {}
    for action, call in (
        ("apply", applicant.apply(world.group_a, hall.room_id, day, ("20",))),
        ("confirm", applicant.confirm_raising(world.group_a, won)),
    ):
        with pytest.raises(BookingError) as error:
            await call
        told[action] = (error.value.field, error.value.message)
    assert told == {
        "apply": ("group_id", "this registration cannot apply: it is not active"),
        "confirm": ("group_id", "this registration cannot confirm: it is not active"),
    }


async def test_the_use_date_up_to_the_last_day_of_the_registration(
    applicant: Applicant, hall: Hall, session: AsyncSession
) -> None:
    world = applicant.world
    (day,) = open_weekdays(hall.snapshot, hall.facility_id, 1)
    outcomes = {}
    for ends in (day, day - timedelta(days=1)):
        nested = await session.begin_nested()
        await set_registration(session, world.group_a, GroupStatus.ACTIVE, ends)
        outcomes[ends - day] = await applicant.refusal(world.group_a, hall.room_id, day, ("10",))
        await nested.rollback()
    assert outcomes == {timedelta(0): "applied", timedelta(-1): "registration_expires"}


async def test_every_deadline_of_the_cycle_at_the_minute_before_and_after(  # noqa: PLR0915
    applicant: Applicant,
    hall: Hall,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """In order, Tokyo time: applications open at 00:00 on the 17th and close at the end of the
    23rd (withdrawals too); the draw is due at 9:00 on the 24th; confirmations from 00:00 on the
    25th to the end of the 28th; the reminder on the 27th; unconfirmed wins lapse from the
    29th."""
    world, clock, settings = applicant.world, applicant.clock, applicant.world.settings
    a = world.group_a
    day, next_day = open_weekdays(hall.snapshot, hall.facility_id, 2)

    def at(d: int, hour: int, minute: int) -> None:
        clock.set(jst(date(2026, 11, d), hour, minute))

    async def application(application_id: int) -> LotteryApplication:
        return await session.get_one(LotteryApplication, application_id, populate_existing=True)

    at(16, 23, 59)
    early = await applicant.error(a, hall.room_id, day, ("10",))
    assert early is not None
    assert (early.code, early.field, early.message) == (
        "outside_application_window",
        "use_date",
        "applications for 2027-03 are taken from 2026-11-17 to 2026-11-23",
    )
    at(17, 0, 0)
    first = await applicant.apply(a, hall.room_id, day, ("10",))
    second = await applicant.apply(a, hall.room_id, day, ("20",))
    gone = await applicant.apply(a, hall.room_id, day, ("30",))
    at(23, 23, 59)
    assert (await applicant.withdraw(a, gone.id)).status is ApplicationStatus.WITHDRAWN
    last = await applicant.apply(a, hall.room_id, next_day, ("10",))
    first_id, second_id, last_id = first.id, second.id, last.id
    await session.commit()
    at(24, 0, 0)
    assert await applicant.refusal(a, hall.room_id, day, ("30",)) == "outside_application_window"
    with pytest.raises(BookingError) as closed:
        await applicant.withdraw(a, second_id)
    assert closed.value.code == "window_closed"
    await session.rollback()

    at(24, 8, 59)
    assert await due_draws(session, clock, settings, hall.snapshot) == []
    at(24, 9, 0)
    assert await due_draws(session, clock, settings, hall.snapshot) == [(MARCH, hall.facility_id)]
    (drawn,) = await run_due_draws(sessionmaker, clock, settings, hall.snapshot)
    assert (drawn.drawn, drawn.applications, drawn.wins) == (True, 3, 3)

    at(24, 23, 59)
    assert await applicant.confirm(a, first_id) == "outside_confirmation_window"
    at(25, 0, 0)
    assert await applicant.confirm(a, first_id) == "confirmed"
    await session.commit()

    at(26, 23, 59)
    assert await remind_winners(sessionmaker, clock, settings, hall.snapshot) == 0
    at(27, 0, 0)
    assert await remind_winners(sessionmaker, clock, settings, hall.snapshot) == 2

    at(28, 23, 59)
    assert await applicant.confirm(a, second_id) == "confirmed"
    await session.commit()
    assert await lapse_unconfirmed(sessionmaker, clock, settings, hall.snapshot) == 0
    at(29, 0, 0)
    assert await applicant.confirm(a, last_id) == "outside_confirmation_window"
    await session.rollback()
    assert await lapse_unconfirmed(sessionmaker, clock, settings, hall.snapshot) == 1
    assert (await application(last_id)).status is ApplicationStatus.LAPSED
    assert (await application(second_id)).status is ApplicationStatus.CONFIRMED
    claims = await session.scalars(select(Claim.kind).where(Claim.use_date == next_day))
    assert list(claims) == []  # the lapsed win's slot is free again
