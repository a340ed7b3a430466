"""Recurring bookings through the services on both engines: each occurrence's state in the
preview, all or nothing, the free ones, the window online and the fiscal year at the counter,
the cap, one mail, reading and cancelling the rest, and closures and blocks that hit
occurrences listed to staff like single bookings."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from booking.accounts.access import Principal
from booking.audit.models import AuditEvent
from booking.clock import FrozenClock
from booking.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from booking.inventory.calendar import DayType, day_type
from booking.inventory.network import NetworkSnapshot, SnapshotCache
from booking.notifications.models import OutboxMessage
from booking.reservations import blocks
from booking.reservations.bookings import BookingRequest, book, is_closed
from booking.reservations.models import (
    Booking,
    BookingStatus,
    Claim,
    PaymentStatus,
    Series,
    SeriesPattern,
)
from booking.reservations.series import (
    SeriesRequest,
    book_series,
    get_series,
    preview_series,
)
from booking.reservations.series_cancel import cancel_series
from tests.people import World, principal
from tests.places import Hall
from tests.reservations.test_service_boundaries import with_policy

MODELS = (Series, Booking, Claim, AuditEvent, OutboxMessage)


async def counts(session: AsyncSession) -> tuple[int, ...]:
    return tuple(
        [
            int(await session.scalar(select(func.count()).select_from(model)) or 0)
            for model in MODELS
        ]
    )


def open_weekdays(snapshot: NetworkSnapshot, hall: Hall, first: date, last: date) -> list[date]:
    """The hall's open weekdays (no holiday) of first's weekday, weekly from first to last."""
    facility = snapshot.facilities[hall.facility_id]
    found, day = [], first
    while day <= last:
        if day_type(day) is DayType.WEEKDAY and not is_closed(snapshot, facility, day):
            found.append(day)
        day += timedelta(days=7)
    return found


def weekly(world: World, hall: Hall, first: date, last: date, **changes: object) -> SeriesRequest:
    values: dict[str, object] = {
        "group_id": world.group_a,
        "room_id": hall.room_id,
        "period_codes": ["20"],
        "purpose": "singing",
        "headcount": 12,
        "first_date": first,
        "last_date": last,
        "every": SeriesPattern.WEEK,
        "event_name": "定期練習",
    }
    values.update(changes)
    return SeriesRequest(**values)  # type: ignore[arg-type]


async def as_role(session: AsyncSession, world: World, role: str) -> Principal:
    return await principal(session, world.user_ids[role])


def in_window(snapshot: NetworkSnapshot, hall: Hall) -> tuple[date, date, list[date]]:
    """Six weeks of one weekday in January-February 2027 (first-come open on 25 November
    2026) on which the hall is open and no date is a holiday."""
    for offset in range(14):
        first = date(2027, 1, 5) + timedelta(days=offset)
        last = first + timedelta(weeks=5)
        dates = open_weekdays(snapshot, hall, first, last)
        if len(dates) == 6:
            return first, last, dates
    raise AssertionError("no weekday of the hall is open six weeks running")


async def test_a_preview_says_each_occurrences_state_and_fee_and_writes_nothing(
    world: World, hall: Hall, session: AsyncSession, clock: FrozenClock
) -> None:
    member = await as_role(session, world, "member")
    staff = await principal(session, hall.manager_id)
    snapshot = hall.snapshot
    first, last, dates = in_window(snapshot, hall)
    weeks = open_weekdays(snapshot, hall, first, last)
    closed_day, blocked_day, taken_day = weeks[1], weeks[2], weeks[3]
    await blocks.close_dates(
        session, clock, world.settings, staff, hall.facility_id,
        start=closed_day, end=closed_day, note=None,
    )  # fmt: skip
    snapshot = await SnapshotCache().get(session)
    await blocks.create_block(
        session, clock, snapshot, staff,
        blocks.BlockRequest(hall.room_id, blocked_day, blocked_day, ["20"], "maintenance"),
    )  # fmt: skip
    other = await as_role(session, world, "other_representative")
    taken = BookingRequest(world.group_b, hall.room_id, taken_day, ["20", "30"], "meeting", 3)
    await book(session, clock, world.settings, snapshot, other, taken)
    await session.commit()
    before = await counts(session)

    preview = await preview_series(
        session, clock, world.settings, snapshot, member, weekly(world, hall, first, last)
    )
    states = {o.use_date: o.state for o in preview.occurrences}
    assert [o.use_date for o in preview.occurrences] == dates
    assert states[closed_day] == "closed"
    assert states[blocked_day] == "blocked"
    assert states[taken_day] == "taken"
    free = [d for d in dates if d not in (closed_day, blocked_day, taken_day)]
    assert [o.use_date for o in preview.free] == free
    assert all(o.fee == hall.fees["20"] for o in preview.free)
    assert preview.fee_total == hall.fees["20"] * len(free)
    assert preview.channel == "online"
    assert await counts(session) == before


async def test_all_or_nothing_writes_nothing_and_names_the_dates(
    world: World, hall: Hall, session: AsyncSession, clock: FrozenClock
) -> None:
    member = await as_role(session, world, "member")
    other = await as_role(session, world, "other_representative")
    first, last, dates = in_window(hall.snapshot, hall)
    taken = BookingRequest(world.group_b, hall.room_id, dates[-1], ["20"], "meeting", 3)
    await book(session, clock, world.settings, hall.snapshot, other, taken)
    await session.commit()
    before = await counts(session)
    with pytest.raises(Conflict) as raised:
        await book_series(
            session, clock, world.settings, hall.snapshot, member,
            weekly(world, hall, first, last), mode="all",
        )  # fmt: skip
    assert raised.value.code == "series_not_free"
    assert (f"occurrences.{dates[-1].isoformat()}", "taken") in raised.value.problems
    await session.rollback()
    assert await counts(session) == before


async def test_free_books_only_the_free_ones_each_an_ordinary_booking_with_one_mail(
    world: World, hall: Hall, session: AsyncSession, clock: FrozenClock
) -> None:
    member = await as_role(session, world, "member")
    other = await as_role(session, world, "other_representative")
    first, last, dates = in_window(hall.snapshot, hall)
    taken = BookingRequest(world.group_b, hall.room_id, dates[1], ["20"], "meeting", 3)
    await book(session, clock, world.settings, hall.snapshot, other, taken)
    await session.commit()
    before = await counts(session)
    outcome = await book_series(
        session, clock, world.settings, hall.snapshot, member,
        weekly(world, hall, first, last), mode="free",
    )  # fmt: skip
    await session.commit()
    booked = [d for d in dates if d != dates[1]]
    assert [b.use_date for b in outcome.bookings] == booked
    assert all(b.series_id == outcome.series.id for b in outcome.bookings)
    assert all(b.status is BookingStatus.CONFIRMED for b in outcome.bookings)
    assert all(b.fee_total == hall.fees["20"] for b in outcome.bookings)
    by_date = {o.use_date: o for o in outcome.occurrences}
    assert by_date[dates[1]].state == "taken"
    assert by_date[dates[1]].booking_id is None
    assert by_date[dates[0]].booking_id == outcome.bookings[0].id
    series, ev, mail = 1, len(booked) + 1, 1  # a series, events per booking + the series', a mail
    assert await counts(session) == (
        before[0] + series, before[1] + len(booked), before[2] + len(booked),
        before[3] + ev, before[4] + mail,
    )  # fmt: skip
    message = (
        await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(1))
    ).one()
    assert message.template == "series_booked"
    assert f"/my/series/{outcome.series.id}" in message.body_text
    assert str(outcome.bookings[0].id) in message.body_text


async def test_online_only_in_the_first_come_window_at_the_counter_to_31_march(
    world: World, hall: Hall, session: AsyncSession, clock: FrozenClock
) -> None:
    member = await as_role(session, world, "member")
    staff = await principal(session, hall.manager_id)
    first = hall.day
    last = date(2027, 4, 30)
    online = await preview_series(
        session, clock, world.settings, hall.snapshot, member, weekly(world, hall, first, last)
    )
    states = {o.use_date: o.state for o in online.occurrences}
    # First-come for March opens on 29 November: on 25 November only February is open.
    assert all(s != "free" for d, s in states.items() if d >= date(2027, 3, 1))
    assert {s for d, s in states.items() if d >= date(2027, 3, 1)} == {"outside_window"}
    assert any(s == "free" for d, s in states.items() if d < date(2027, 3, 1))
    counter = await preview_series(
        session, clock, world.settings, hall.snapshot, staff, weekly(world, hall, first, last)
    )
    assert counter.channel == "counter"
    at_counter = {o.use_date: o for o in counter.occurrences}
    march = [d for d in at_counter if date(2027, 3, 1) <= d <= date(2027, 3, 31)]
    assert march
    facility = hall.snapshot.facilities[hall.facility_id]
    assert all(
        at_counter[d].state == "free" for d in march if not is_closed(hall.snapshot, facility, d)
    )
    april = [o for d, o in at_counter.items() if d >= date(2027, 4, 1)]
    assert april
    assert {o.state for o in april} == {"outside_window"}
    assert all("2027-03-31" in (o.reason or "") for o in april)


async def test_the_cap_counts_the_groups_series_occurrences_per_facility_and_month(
    world: World, hall: Hall, session: AsyncSession, clock: FrozenClock
) -> None:
    snapshot = await with_policy(
        session, clock, [hall.room_id], {"series": {"cap_per_facility_month": 3}}
    )
    member = await as_role(session, world, "member")
    february = open_weekdays(snapshot, hall, hall.day - timedelta(days=7), date(2027, 2, 28))
    february = [d for d in february if d.month == 2]
    assert len(february) >= 3
    # One series occurrence in February already (another weekday, the same facility) ...
    other_day = february[0] + timedelta(days=1)
    await book_series(
        session, clock, world.settings, snapshot, member,
        weekly(world, hall, other_day, other_day),
    )  # fmt: skip
    # ... and a single booking, which does not count.
    await book(
        session, clock, world.settings, snapshot, member,
        BookingRequest(world.group_a, hall.room_id, other_day, ["30"], "meeting", 3),
    )  # fmt: skip
    preview = await preview_series(
        session, clock, world.settings, snapshot, member,
        weekly(world, hall, february[0], february[-1]),
    )  # fmt: skip
    states = [o.state for o in preview.occurrences if o.use_date in february]
    assert states[:2] == ["free", "free"]
    assert set(states[2:]) == {"over_cap"}
    with pytest.raises(Conflict):
        await book_series(
            session, clock, world.settings, snapshot, member,
            weekly(world, hall, february[0], february[-1]), mode="all",
        )  # fmt: skip


async def test_a_series_is_seen_by_its_group_and_the_facility_only(
    world: World, hall: Hall, session: AsyncSession, clock: FrozenClock
) -> None:
    member = await as_role(session, world, "member")
    first, last, dates = in_window(hall.snapshot, hall)
    outcome = await book_series(
        session, clock, world.settings, hall.snapshot, member, weekly(world, hall, first, last)
    )
    await session.commit()
    series_id = outcome.series.id
    for role in ("member", "representative"):
        _, _, bookings = await get_series(session, await as_role(session, world, role), series_id)
        assert [b.use_date for b in bookings] == dates
    await get_series(session, await principal(session, hall.manager_id), series_id)
    for role in ("other_representative", "manager_elsewhere"):
        with pytest.raises(NotFound):
            await get_series(session, await as_role(session, world, role), series_id)
    with pytest.raises(NotFound):
        await get_series(session, member, series_id + 1000)


async def test_cancel_the_rest_online_to_the_deadline_the_counter_with_charges(
    world: World, hall: Hall, session: AsyncSession, clock: FrozenClock
) -> None:
    member = await as_role(session, world, "member")
    staff = await principal(session, hall.manager_id)
    first, last, dates = in_window(hall.snapshot, hall)
    outcome = await book_series(
        session, clock, world.settings, hall.snapshot, member, weekly(world, hall, first, last)
    )
    await session.commit()
    fee = hall.fees["20"]
    # Two days before the second occurrence: the first has passed, the second is past the
    # online deadline (3 days before), the rest are not.
    clock.advance(dates[1] - date(2026, 11, 25) - timedelta(days=2))
    assert clock.now().date() == dates[1] - timedelta(days=2)
    before = await counts(session)
    preview = await cancel_series(
        session, clock, world.settings, hall.snapshot, member, outcome.series.id,
        dates[0], dry_run=True,
    )  # fmt: skip
    assert await counts(session) == before
    assert [o.booking.use_date for o in preview.occurrences] == dates[1:]
    assert preview.occurrences[0].needs_counter
    assert preview.occurrences[0].charge == fee
    assert all(o.charge == 0 and not o.needs_counter for o in preview.occurrences[1:])

    done = await cancel_series(
        session, clock, world.settings, hall.snapshot, member, outcome.series.id, dates[0]
    )
    await session.commit()
    assert [o.applied for o in done.occurrences] == [False] + [True] * (len(dates) - 2)
    statuses = {
        b.use_date: b.status for b in (await get_series(session, member, outcome.series.id))[2]
    }
    assert statuses[dates[1]] is BookingStatus.CONFIRMED
    assert all(statuses[d] is BookingStatus.CANCELLED for d in dates[2:])
    after = await counts(session)
    assert after[2] == before[2] - (len(dates) - 2)  # their claims released
    assert after[4] == before[4] + 1  # one mail for all of them

    at_counter = await cancel_series(
        session, clock, world.settings, hall.snapshot, staff, outcome.series.id, dates[0]
    )
    assert [(o.booking.use_date, o.charge, o.applied) for o in at_counter.occurrences] == [
        (dates[1], fee, True)
    ]
    with pytest.raises(Conflict) as raised:
        await cancel_series(
            session, clock, world.settings, hall.snapshot, staff, outcome.series.id, dates[0]
        )
    assert raised.value.code == "series_nothing_to_cancel"


async def test_staff_cancel_the_rest_for_the_facilitys_reasons_free_a_group_may_not(
    world: World, hall: Hall, session: AsyncSession, clock: FrozenClock
) -> None:
    member = await as_role(session, world, "member")
    staff = await principal(session, hall.manager_id)
    first, last, dates = in_window(hall.snapshot, hall)
    outcome = await book_series(
        session, clock, world.settings, hall.snapshot, member, weekly(world, hall, first, last)
    )
    await session.commit()
    series_id = outcome.series.id
    # Two days before the second date: past the online deadline, the schedule's full fee.
    clock.advance(dates[1] - date(2026, 11, 25) - timedelta(days=2))
    with pytest.raises(PermissionDenied) as raised:
        await cancel_series(
            session, clock, world.settings, hall.snapshot, member, series_id, dates[1],
            facility_cause=True, dry_run=True,
        )  # fmt: skip
    assert raised.value.code == "facility_staff_only"  # as a single booking's facility cancel
    charged = await cancel_series(
        session, clock, world.settings, hall.snapshot, staff, series_id, dates[1], dry_run=True
    )
    assert charged.occurrences[0].charge == hall.fees["20"]
    before = await counts(session)
    preview = await cancel_series(
        session, clock, world.settings, hall.snapshot, staff, series_id, dates[1],
        facility_cause=True, dry_run=True,
    )  # fmt: skip
    assert await counts(session) == before
    assert [(o.charge, o.cause) for o in preview.occurrences] == [(0, "facility")] * 5
    assert preview.charge_total == 0

    done = await cancel_series(
        session, clock, world.settings, hall.snapshot, staff, series_id, dates[1],
        facility_cause=True,
    )  # fmt: skip
    await session.commit()
    assert [(o.charge, o.cause, o.applied) for o in done.occurrences] == [(0, "facility", True)] * 5
    rows = (await get_series(session, staff, series_id))[2]
    for booking in rows[1:]:
        assert booking.status is BookingStatus.CANCELLED
        assert (booking.cancel_cause, booking.cancellation_charge) == ("facility", 0)
        assert booking.payment_status is PaymentStatus.WAIVED
    assert rows[0].status is BookingStatus.CONFIRMED  # before the date asked
    event_after = await session.scalar(
        select(AuditEvent.after).where(AuditEvent.action == "series.cancelled")
    )
    assert event_after is not None
    assert event_after["cause"] == "facility"
    mail = (
        await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(1))
    ).one()
    assert mail.template == "series_cancelled"
    assert "施設の都合により取り消しました。使用料はかかりません。" in mail.body_text
    assert "Cancelled by the facility, free of charge." in mail.body_text


async def test_closures_and_blocks_hitting_occurrences_are_listed_to_staff(
    world: World, hall: Hall, session: AsyncSession, clock: FrozenClock
) -> None:
    member = await as_role(session, world, "member")
    staff = await principal(session, hall.manager_id)
    first, last, dates = in_window(hall.snapshot, hall)
    outcome = await book_series(
        session, clock, world.settings, hall.snapshot, member, weekly(world, hall, first, last)
    )
    await session.commit()
    ids, series_id = [b.id for b in outcome.bookings], outcome.series.id
    with pytest.raises(Conflict) as raised:
        await blocks.create_block(
            session, clock, hall.snapshot, staff,
            blocks.BlockRequest(hall.room_id, dates[1], dates[2], None, "maintenance"),
        )  # fmt: skip
    listed = " ".join(reason for _, reason in raised.value.problems)
    assert f"booking {ids[1]}" in listed
    assert f"booking {ids[2]}" in listed
    await session.rollback()
    affected = await blocks.close_dates(
        session, clock, world.settings, staff, hall.facility_id,
        start=dates[3], end=dates[3], note=None,
    )  # fmt: skip
    assert [b.id for b in affected] == [ids[3]]
    assert affected[0].series_id == series_id


async def test_a_first_date_in_the_past_and_periods_no_date_has_are_refused(
    world: World, hall: Hall, session: AsyncSession, clock: FrozenClock
) -> None:
    member = await as_role(session, world, "member")
    first, last, _ = in_window(hall.snapshot, hall)
    for wanted, code in (
        (weekly(world, hall, date(2026, 11, 2), last), "past_date"),
        (weekly(world, hall, first, last, period_codes=["99"]), "bad_periods"),
    ):
        with pytest.raises(InvalidInput) as raised:
            await preview_series(session, clock, world.settings, hall.snapshot, member, wanted)
        assert raised.value.code == code


async def test_a_long_series_takes_no_more_statements_than_a_short_one(
    world: World,
    hall: Hall,
    session: AsyncSession,
    clock: FrozenClock,
    connection: AsyncConnection,
) -> None:
    """Preview and booking cost a fixed number of statements whatever the series' length
    (no query per date): 4 weeks and a year of weeks at the counter (to 31 March, the rest
    outside the window) read with the same statements, and on PostgreSQL write with the same
    too (its driver sends a batch of rows as one statement; SQLite's one per row)."""
    staff = await principal(session, hall.manager_id)
    statements: list[str] = []

    def seen(*args: object) -> None:
        statements.append(str(args[2]).split()[0])

    costs = []
    for first, weeks in ((hall.day - timedelta(days=28), 3), (date(2026, 12, 1), 52)):
        last = first + timedelta(weeks=weeks)
        wanted = weekly(world, hall, first, last, group_id=world.group_b, period_codes=["30"])
        event.listen(connection.sync_connection, "before_cursor_execute", seen)
        try:
            statements.clear()
            outcome = await book_series(
                session, clock, world.settings, hall.snapshot, staff, wanted, mode="free"
            )
            costs.append(Counter(statements))
        finally:
            event.remove(connection.sync_connection, "before_cursor_execute", seen)
        assert len(outcome.bookings) >= 3
    assert len(outcome.occurrences) == 53
    assert costs[0]["SELECT"] == costs[1]["SELECT"], costs
    if connection.dialect.name == "postgresql":
        assert costs[0] == costs[1], costs
