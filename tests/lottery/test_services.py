"""The lottery services' other paths: who withdraws, what a withdrawal leaves behind, what is
left of the quota per facility and month, and how a month is read. Services, no HTTP."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from booking.accounts.access import Principal
from booking.accounts.models import Group, User
from booking.accounts.sessions import principal_for_user
from booking.audit.models import AuditEvent
from booking.errors import BookingError, InvalidInput
from booking.inventory.models import Room
from booking.inventory.network import SnapshotCache
from booking.inventory.policy import LotteryRules
from booking.lottery import applications as lottery
from booking.lottery.draw import commitment
from booking.lottery.drawing import (
    DrawResult,
    due_draws,
    lapse_unconfirmed,
    lottery_pass,
    remind_winners,
    run_due_draws,
)
from booking.lottery.models import ApplicationStatus, LotteryApplication, LotteryCycle
from booking.notifications.models import OutboxMessage
from booking.reservations.bookings import is_closed
from booking.reservations.models import Claim, ClaimKind
from tests.helpers import jst
from tests.lottery.test_boundaries import (
    MARCH,
    WINDOW_OPEN,
    Applicant,
    applicant,
    open_weekdays,
    other_hall_room,
    with_lottery,
)
from tests.places import Hall, open_weekday
from tests.reservations.test_eligibility import SetPolicy, room_policy

__all__ = ["applicant", "room_policy"]  # the fixtures, used here


async def test_only_the_groups_members_withdraw_and_only_once(
    applicant: Applicant, hall: Hall, session: AsyncSession
) -> None:
    world = applicant.world
    (day,) = open_weekdays(hall.snapshot, hall.facility_id, 1)
    made = await applicant.apply(world.group_a, hall.room_id, day, ("10",))
    application_id = made.id
    manager = await principal_for_user(session, await session.get_one(User, hall.manager_id))
    # Another group's representative, and the hall's manager (who sees the application).
    strangers = {world.group_b: applicant.principals[world.group_b], 0: manager}
    refused = {}
    for key, principal in strangers.items():
        applicant.principals[-1] = principal
        with pytest.raises(BookingError) as error:
            await applicant.withdraw(-1, application_id)
        refused[key] = (type(error.value).__name__, error.value.code)
    assert refused == {
        world.group_b: ("NotFound", "application_not_found"),
        0: ("NotFound", "application_not_found"),
    }

    applicant.clock.set(jst(date(2026, 11, 21), 15, 30))
    withdrawn = await applicant.withdraw(world.group_a, application_id)
    assert (withdrawn.status, withdrawn.withdrawn_at) == (
        ApplicationStatus.WITHDRAWN,
        applicant.clock.now(),
    )
    events = (
        await session.execute(
            select(AuditEvent.action, AuditEvent.actor_user_id, AuditEvent.at).where(
                AuditEvent.target_type == "lottery_application",
                AuditEvent.target_id == str(application_id),
            )
        )
    ).all()
    user = world.user_ids["representative"]
    assert sorted(events) == [
        ("lottery.applied", user, jst(date(2026, 11, 20), 10)),
        ("lottery.withdrawn", user, applicant.clock.now()),
    ]
    with pytest.raises(BookingError) as again:
        await applicant.withdraw(world.group_a, application_id)
    assert (type(again.value).__name__, again.value.code, again.value.message) == (
        "Conflict",
        "not_applied",
        "the application is withdrawn",
    )


async def test_what_is_left_of_the_quota_per_facility_and_month(
    applicant: Applicant, hall: Hall, session: AsyncSession, room_policy: SetPolicy
) -> None:
    """The limit is the smallest of the policies of the rooms applied for in the facility;
    each facility and use month counts apart, listed by month, then facility."""
    world = applicant.world
    await room_policy({"lottery": {"quota_per_facility_month": 5}})
    applicant.snapshot = await SnapshotCache().get(session)
    snapshot = applicant.snapshot
    same_hall = next(
        room.id
        for room in snapshot.rooms
        if room.facility_id == hall.facility_id
        and room.id != hall.room_id
        and room.online_bookable
        and len(room.unit_ids) == 1
        and (room.capacity or 0) >= 10
        and room.purposes is None
    )
    assert (await session.get_one(Room, same_hall)).policy_id is None  # the default: 8
    there = await other_hall_room(session, hall)
    there_facility = next(r.facility_id for r in snapshot.rooms if r.id == there)
    day = open_weekdays(snapshot, hall.facility_id, 1)[0]
    there_day = open_weekday(snapshot, there_facility, MARCH)
    # Applied in the order that would list the other hall first if the order were by insertion.
    await applicant.apply(world.group_a, there, there_day, ("10", "20", "30"))
    await applicant.apply(world.group_a, hall.room_id, day, ("20", "30"))
    await applicant.apply(world.group_a, same_hall, day, ("10",))  # last, with the larger quota
    # April's window (17-23 December), for a registration renewed to 31 March 2028.
    await session.execute(
        update(Group).where(Group.id == world.group_a).values(valid_until=date(2028, 3, 31))
    )
    applicant.clock.set(jst(date(2026, 12, 18), 10))
    april = open_weekday(snapshot, hall.facility_id, date(2027, 4, 5))
    await applicant.apply(world.group_a, hall.room_id, april, ("10",))

    left = await lottery.quota_left(session, snapshot, world.group_a)
    march = sorted(
        [
            (hall.facility_id, MARCH, 3, 5, 2),
            (there_facility, MARCH, 3, 8, 5),
        ]
    )
    assert [(q.facility_id, q.use_month, q.used, q.limit, q.left) for q in left] == [
        *march,
        (hall.facility_id, date(2027, 4, 1), 1, 5, 4),
    ]


@pytest.mark.parametrize(
    ("value", "field", "message"),
    [
        ("2027-13", "cycle", "a month reads YYYY-MM"),
        ("2027", "month", "a month reads YYYY-MM"),
        ("1899-12", "month", "must be from 1900-01 to 2199-12"),
        ("2200-01", "cycle", "must be from 1900-01 to 2199-12"),
    ],
)
def test_a_month_that_is_not_a_usable_yyyy_mm_names_its_field(
    value: str, field: str, message: str
) -> None:
    # "cycle" is the default field name: called without one.
    kwargs = {} if field == "cycle" else {"field": field}
    with pytest.raises(InvalidInput) as error:
        lottery.parse_month(value, **kwargs)
    assert (error.value.field, error.value.message) == (field, message)


def test_the_first_and_last_usable_months_are_read() -> None:
    assert lottery.parse_month("1900-01") == date(1900, 1, 1)
    assert lottery.parse_month("2199-12", field="month") == date(2199, 12, 1)


async def test_reminders_and_lapses_follow_each_wins_own_cycle(
    applicant: Applicant,
    hall: Hall,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """A March win left unconfirmed (no lapse run since) and an April win: on 27 December, the
    day before April's confirmation deadline, only April's is reminded; on that day March's,
    past its deadline of 28 November, lapses and April's does not. A facility no longer in the
    network is passed over by every job."""
    world, clock, settings = applicant.world, applicant.clock, applicant.world.settings
    (march,) = open_weekdays(hall.snapshot, hall.facility_id, 1)
    april = open_weekday(hall.snapshot, hall.facility_id, date(2027, 4, 5))
    await session.execute(
        update(Group).where(Group.id == world.group_a).values(valid_until=date(2028, 3, 31))
    )
    march_id = (await applicant.apply(world.group_a, hall.room_id, march, ("10",))).id
    await session.commit()
    clock.set(jst(date(2026, 11, 24), 9))
    await run_due_draws(sessionmaker, clock, settings, hall.snapshot)
    clock.set(jst(date(2026, 12, 18), 10))
    april_id = (await applicant.apply(world.group_a, hall.room_id, april, ("10",))).id
    await session.commit()
    clock.set(jst(date(2026, 12, 24), 9))
    (drawn,) = await run_due_draws(sessionmaker, clock, settings, hall.snapshot)
    assert (drawn.use_month, drawn.wins) == (date(2027, 4, 1), 1)

    clock.set(jst(date(2026, 12, 27), 10))
    gone = replace(
        hall.snapshot,
        facilities={k: v for k, v in hall.snapshot.facilities.items() if k != hall.facility_id},
    )
    assert await remind_winners(sessionmaker, clock, settings, gone) == 0
    assert await lapse_unconfirmed(sessionmaker, clock, settings, gone) == 0
    assert await remind_winners(sessionmaker, clock, settings, hall.snapshot) == 1
    assert await lapse_unconfirmed(sessionmaker, clock, settings, hall.snapshot) == 1
    rows = await session.execute(
        select(LotteryApplication.id, LotteryApplication.status, LotteryApplication.reminded_at)
        .where(LotteryApplication.id.in_([march_id, april_id]))
        .execution_options(populate_existing=True)
    )
    assert sorted(rows.all()) == [
        (march_id, ApplicationStatus.LAPSED, None),
        (april_id, ApplicationStatus.WON, clock.now()),
    ]


async def test_a_lapse_frees_the_slot_is_dated_audited_and_mailed_and_spares_open_windows(
    applicant: Applicant,
    hall: Hall,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """On 29 November the other hall's March win lapses: its claims go, the application is
    settled at that minute, the system's event names it, the group gets its mail. This hall
    confirms until the 30th (its own policy): its wins, made before and after, stay won."""
    world, clock, settings = applicant.world, applicant.clock, applicant.world.settings
    a = world.group_a
    here, later = open_weekdays(hall.snapshot, hall.facility_id, 2)
    there = await other_hall_room(session, hall)
    there_facility = hall.snapshot.room(there).facility_id  # type: ignore[union-attr]
    there_day = open_weekday(hall.snapshot, there_facility, MARCH)
    kept = [(await applicant.apply(a, hall.room_id, here, ("10",))).id]
    lapsing = (await applicant.apply(a, there, there_day, ("10",))).id
    kept.append((await applicant.apply(a, hall.room_id, later, ("10",))).id)
    await session.commit()
    clock.set(jst(date(2026, 11, 24), 9))
    drawn = await run_due_draws(sessionmaker, clock, settings, hall.snapshot)
    assert {r.facility_id: r.wins for r in drawn} == {hall.facility_id: 2, there_facility: 1}
    longer = with_lottery(hall.snapshot, hall.facility_id, confirm_to_day=30)

    clock.set(jst(date(2026, 11, 29), 0, 30))
    assert await lapse_unconfirmed(sessionmaker, clock, settings, longer) == 1
    rows = await session.execute(
        select(LotteryApplication.id, LotteryApplication.status, LotteryApplication.settled_at)
        .order_by(LotteryApplication.id)
        .execution_options(populate_existing=True)
    )
    assert rows.all() == [
        (kept[0], ApplicationStatus.WON, None),
        (lapsing, ApplicationStatus.LAPSED, clock.now()),
        (kept[1], ApplicationStatus.WON, None),
    ]
    owners = await session.scalars(
        select(Claim.owner_id).where(Claim.kind == ClaimKind.LOTTERY_WIN)
    )
    assert sorted(owners) == kept
    events = await session.execute(
        select(
            AuditEvent.action,
            AuditEvent.target_type,
            AuditEvent.target_id,
            AuditEvent.actor_user_id,
        ).where(AuditEvent.at == clock.now())  # what the lapse run recorded
    )
    assert events.all() == [("lottery.lapsed", "lottery_application", str(lapsing), None)]
    email = await session.scalar(select(Group.email).where(Group.id == a))
    mails = await session.scalars(
        select(OutboxMessage.to_address).where(OutboxMessage.template == "lottery_lapsed")
    )
    assert list(mails) == [email]


async def test_a_due_draw_of_a_facility_no_longer_in_the_network_is_not_listed(
    applicant: Applicant, hall: Hall, session: AsyncSession
) -> None:
    (day,) = open_weekdays(hall.snapshot, hall.facility_id, 1)
    await applicant.apply(applicant.world.group_a, hall.room_id, day, ("10",))
    applicant.clock.set(jst(date(2026, 11, 24), 9))
    settings = applicant.world.settings
    gone = replace(
        hall.snapshot,
        facilities={k: v for k, v in hall.snapshot.facilities.items() if k != hall.facility_id},
    )
    assert await due_draws(session, applicant.clock, settings, gone) == []
    assert await due_draws(session, applicant.clock, settings, hall.snapshot) == [
        (MARCH, hall.facility_id)
    ]


@pytest.mark.parametrize(
    ("today", "use_month"),
    [
        (date(2026, 11, 1), date(2027, 3, 1)),
        (date(2026, 11, 23), date(2027, 3, 1)),  # the window's last day
        (date(2026, 11, 24), date(2027, 4, 1)),  # the day after: the next cycle
        (date(2026, 12, 31), date(2027, 5, 1)),  # across the year
        (date(2027, 8, 24), date(2028, 1, 1)),  # a use month in the next year
    ],
)
def test_the_use_month_whose_applications_are_open_or_open_next(
    today: date, use_month: date
) -> None:
    assert lottery.next_use_month(today, LotteryRules()) == use_month


@pytest.mark.parametrize(
    ("month", "n", "expected"),
    [
        (date(2026, 12, 1), 1, date(2027, 1, 1)),
        (date(2027, 1, 1), -1, date(2026, 12, 1)),
        (date(2027, 1, 1), 11, date(2027, 12, 1)),
        (date(2027, 1, 1), 12, date(2028, 1, 1)),
        (date(2027, 3, 1), -15, date(2025, 12, 1)),
    ],
)
def test_adding_months_across_year_ends(month: date, n: int, expected: date) -> None:
    assert lottery.add_months(month, n) == expected


async def test_the_workers_lottery_pass_commits_draws_reminds_and_lapses(
    applicant: Applicant,
    hall: Hall,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    world, clock, settings = applicant.world, applicant.clock, applicant.world.settings
    (day,) = open_weekdays(hall.snapshot, hall.facility_id, 1)
    won = (await applicant.apply(world.group_a, hall.room_id, day, ("10",))).id
    await session.commit()

    async def status() -> tuple[ApplicationStatus, object]:
        row = await session.get_one(LotteryApplication, won, populate_existing=True)
        return row.status, row.reminded_at

    clock.set(jst(date(2026, 11, 24), 9))
    assert await lottery_pass(sessionmaker, clock, settings, SnapshotCache()) == [
        DrawResult(MARCH, hall.facility_id, drawn=True, applications=1, wins=1)
    ]
    # The next cycle's commitment (April: applications open on 17 December) is published.
    april = await session.get(LotteryCycle, date(2027, 4, 1), populate_existing=True)
    assert april is not None
    assert april.commitment == commitment(bytes.fromhex(april.secret_hex))
    assert await status() == (ApplicationStatus.WON, None)
    clock.set(jst(date(2026, 11, 27), 9))
    assert await lottery_pass(sessionmaker, clock, settings, SnapshotCache()) == []
    assert await status() == (ApplicationStatus.WON, clock.now())
    clock.set(jst(date(2026, 11, 29), 9))
    assert await lottery_pass(sessionmaker, clock, settings, SnapshotCache()) == []
    assert (await status())[0] is ApplicationStatus.LAPSED


async def test_each_refusal_of_an_application_names_its_reason(
    applicant: Applicant, hall: Hall, session: AsyncSession, room_policy: SetPolicy
) -> None:
    """One row per check of `apply`, each the only thing wrong, with the field it names; the
    headcount at the room's capacity is taken and one more is refused."""
    world, snapshot = applicant.world, hall.snapshot
    a = world.group_a
    member = applicant.principals[a]
    (day,) = open_weekdays(snapshot, hall.facility_id, 1)
    # 29 December, closed everywhere (RULES.md): applied for in August, renewed by then.
    closed = date(2027, 12, 29)
    assert is_closed(snapshot, snapshot.facilities[hall.facility_id], closed)
    counter_only = next(
        r.id for r in snapshot.rooms if r.facility_id == hall.facility_id and not r.online_bookable
    )
    staff = await principal_for_user(session, await session.get_one(User, hall.manager_id))
    room = hall.room_id
    # name: (who applies, the registration's facility, room, date, periods, headcount,
    # (code, field) refused with)
    rows = {
        "at capacity": (member, None, room, day, ("10",), hall.capacity, None),
        "over capacity": (
            member, None, room, day, ("10",), hall.capacity + 1, ("over_capacity", "headcount")
        ),
        "periods not consecutive": (
            member, None, room, day, ("10", "30"), 10, ("bad_periods", "period_codes")
        ),
        "the hall is closed": (member, None, room, closed, ("10",), 10, ("closed", "use_date")),
        "a counter-only room": (
            member, None, counter_only, day, ("10",), 10, ("counter_only", "room_id")
        ),
        "staff for a group": (staff, None, room, day, ("10",), 10, ("members_only", "group_id")),
        "registered elsewhere": (
            member, world.here, room, day, ("10",), 10, ("not_eligible", "group_id")
        ),
    }  # fmt: skip
    messages = {}
    told = {
        "over capacity": f"the room holds at most {hall.capacity} people",
        "the hall is closed": "the facility is closed on this date",
        "a counter-only room": "this room is booked at the facility's counter only",
        "staff for a group": "groups apply for the lottery themselves",
    }
    outcomes = {}
    for name, (who, registered_at, where, on, periods, headcount, _) in rows.items():
        nested = await session.begin_nested()
        if registered_at is not None:
            await session.execute(
                update(Group).where(Group.id == a).values(facility_id=registered_at)
            )
        if on == closed:
            applicant.clock.set(jst(date(2027, 8, 20), 10))
            await session.execute(
                update(Group).where(Group.id == a).values(valid_until=date(2028, 3, 31))
            )
        session.expire_all()
        applicant.principals[a] = who
        error = await applicant.error(a, where, on, periods, headcount)
        outcomes[name] = None if error is None else (error.code, error.field)
        messages[name] = None if error is None else error.message
        await nested.rollback()
        session.expire_all()
        applicant.clock.set(WINDOW_OPEN)
    applicant.principals[a] = member
    assert outcomes == {name: row[-1] for name, row in rows.items()}
    # What the applicant reads, where this service words it.
    assert {name: messages[name] for name in rows if name in told} == told
    # A room whose policy runs no lottery.
    await room_policy({"lottery": {"enabled": False}})
    applicant.snapshot = await SnapshotCache().get(session)
    with pytest.raises(BookingError) as raised:
        await applicant.apply(a, hall.room_id, day, ("10",))
    assert (raised.value.code, raised.value.field, raised.value.message) == (
        "no_lottery",
        "room_id",
        "this room has no lottery",
    )


async def test_an_application_keeps_what_was_asked_and_who_asked_and_is_audited(
    applicant: Applicant, hall: Hall, session: AsyncSession
) -> None:
    """The periods in the day's order, the event's name, the member who applied; the event
    says what was applied for."""
    a = applicant.world.group_a
    (day,) = open_weekdays(hall.snapshot, hall.facility_id, 1)
    made = await applicant.apply(a, hall.room_id, day, ("20", "10"), 12, "定期演奏会")
    row = await session.get_one(LotteryApplication, made.id, populate_existing=True)
    member = applicant.principals[a].user_id
    assert (
        row.use_month,
        row.group_id,
        row.room_id,
        row.facility_id,
        row.use_date,
        row.period_codes,
        row.purpose,
        row.headcount,
        row.event_name,
        row.status,
        row.created_at,
        row.created_by_user_id,
    ) == (
        MARCH,
        a,
        hall.room_id,
        hall.facility_id,
        day,
        ["10", "20"],
        "meeting",
        12,
        "定期演奏会",
        ApplicationStatus.APPLIED,
        applicant.clock.now(),
        member,
    )
    events = await session.execute(
        select(AuditEvent.action, AuditEvent.actor_user_id, AuditEvent.after).where(
            AuditEvent.target_type == "lottery_application",
            AuditEvent.target_id == str(row.id),
        )
    )
    assert events.all() == [
        (
            "lottery.applied",
            member,
            {"room_id": hall.room_id, "use_date": day.isoformat(), "periods": ["10", "20"]},
        )
    ]


async def test_a_groups_applications_are_listed_to_its_members_and_staff_only(
    applicant: Applicant, hall: Hall, session: AsyncSession
) -> None:
    world = applicant.world
    a, b = world.group_a, world.group_b
    day, other = open_weekdays(hall.snapshot, hall.facility_id, 2)
    later = (await applicant.apply(a, hall.room_id, other, ("10",))).id
    # Two of the same day, the afternoon's made first and withdrawn since (PostgreSQL then
    # keeps its row after the other's): in the order they were made, withdrawn ones too.
    same_day = [
        (await applicant.apply(a, hall.room_id, day, ("20",))).id,
        (await applicant.apply(a, hall.room_id, day, ("10",))).id,
    ]
    await applicant.withdraw(a, same_day[0])
    await applicant.apply(b, hall.room_id, day, ("30",))
    admin = await principal_for_user(session, await session.get_one(User, world.user_ids["admin"]))
    member = applicant.principals[a]

    async def listed(principal: Principal, month: date | None) -> list[int]:
        return [x.id for x in await lottery.group_applications(session, principal, a, month)]

    # In date order, then in the order made; the month's or every month's; the staff see them.
    mine = [*same_day, later]
    assert await listed(member, MARCH) == mine
    assert await listed(member, None) == mine
    assert await listed(member, date(2027, 4, 1)) == []
    assert await listed(admin, MARCH) == mine
    with pytest.raises(BookingError) as error:
        await listed(applicant.principals[b], MARCH)
    assert (type(error.value).__name__, error.value.code, error.value.field) == (
        "NotFound",
        "group_not_found",
        "group_id",
    )


async def test_applicants_are_counted_per_slot_within_the_dates_asked(
    applicant: Applicant, hall: Hall, session: AsyncSession
) -> None:
    world = applicant.world
    a, b = world.group_a, world.group_b
    first, second = open_weekdays(hall.snapshot, hall.facility_id, 2)
    room = hall.room_id
    await applicant.apply(a, room, first, ("10", "20"))
    await applicant.apply(b, room, first, ("10",))
    gone = await applicant.apply(b, room, first, ("30",))
    await applicant.withdraw(b, gone.id)
    await applicant.apply(a, room, second, ("30",))
    both = {(room, first, "10"): 2, (room, first, "20"): 1, (room, second, "30"): 1}
    assert await lottery.applicant_counts(session, first, second) == both
    assert await lottery.applicant_counts(session, first, first) == {
        k: v for k, v in both.items() if k[1] == first
    }
    assert await lottery.applicant_counts(session, second, second) == {(room, second, "30"): 1}


async def test_a_cycles_secret_is_made_once_and_committed_to(
    applicant: Applicant, session: AsyncSession
) -> None:
    clock = applicant.clock
    first = await lottery.ensure_cycle(session, clock, date(2027, 6, 1))
    secret_hex, made_at = first.secret_hex, first.created_at
    clock.set(jst(date(2026, 11, 21), 10))
    again = await lottery.ensure_cycle(session, clock, date(2027, 6, 1))
    assert (again.secret_hex, again.created_at) == (secret_hex, made_at)
    assert made_at == jst(date(2026, 11, 20), 10)
    secret = bytes.fromhex(secret_hex)
    assert len(secret) == 32
    assert again.commitment == commitment(secret)
    other = await lottery.ensure_cycle(session, clock, date(2027, 7, 1))
    assert other.secret_hex != secret_hex
