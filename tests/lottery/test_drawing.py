"""A facility's draw through the service, on both databases: a combined room against one of its
parts, what the draw writes (statuses, claims of every unit, the draw row, the published file,
one mail per group), which claims of the month it counts, and that it runs once."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from booking.accounts.models import Group, GroupCategory, User
from booking.accounts.sessions import principal_for_user
from booking.audit.models import AuditEvent
from booking.lottery.drawing import DrawResult, draw_facility, run_due_draws
from booking.lottery.models import ApplicationStatus, LotteryApplication, LotteryCycle, LotteryDraw
from booking.lottery.verify import verify_document
from booking.notifications.models import OutboxMessage
from booking.reservations.changes import cancel
from booking.reservations.consistency import check
from booking.reservations.models import Booking, BookingStatus, Claim, ClaimKind, PaymentStatus
from tests.helpers import jst
from tests.lottery.test_boundaries import (
    MARCH,
    Applicant,
    applicant,
    open_weekdays,
    other_hall_room,
    with_lottery,
)
from tests.places import Hall, open_weekday

__all__ = ["applicant"]  # the fixture, used here

BLOCKED = date(2027, 2, 26)  # a day before the use month
APRIL = date(2027, 4, 1)


async def test_a_draw_of_a_combined_room_against_its_part(
    applicant: Applicant, hall: Hall, session: AsyncSession
) -> None:
    snapshot, world, clock = hall.snapshot, applicant.world, applicant.clock
    combined = next(
        room
        for room in snapshot.rooms
        if len(room.unit_ids) > 1
        and room.online_bookable
        and room.policy.lottery.enabled
        and snapshot.facilities[room.facility_id].closes_on is None
        and room.purposes is None
        and (room.capacity or 0) >= 10
    )
    part = next(
        room
        for room in snapshot.rooms
        if room.id != combined.id
        and set(room.unit_ids) < set(combined.unit_ids)
        and room.online_bookable
        and room.purposes is None
        and (room.capacity or 0) >= 10
    )
    facility = combined.facility_id
    day = open_weekday(snapshot, facility, MARCH)
    a, b = world.group_a, world.group_b
    # A wants the combined room in the morning; B the part; A the part in the afternoon.
    whole = (await applicant.apply(a, combined.id, day, ("10",))).id
    piece = (await applicant.apply(b, part.id, day, ("10",))).id
    afternoon = (await applicant.apply(a, part.id, day, ("20",))).id
    # Claims before the draw: on the month's first and last days (counted) and just outside.
    for when in (date(2027, 2, 28), MARCH, date(2027, 3, 31), date(2027, 4, 1)):
        session.add(
            Claim(
                unit_id=part.unit_ids[0],
                use_date=when,
                period_code="30",
                kind=ClaimKind.BLOCK,
                owner_id=0,
                created_at=clock.now(),
            )
        )
    await session.commit()

    clock.set(jst(date(2026, 11, 24), 9))
    result = await draw_facility(session, clock, world.settings, snapshot, MARCH, facility)
    assert result == DrawResult(MARCH, facility, drawn=True, applications=3, wins=2)
    rows = {
        app.id: app
        for app in await session.scalars(
            select(LotteryApplication).execution_options(populate_existing=True)
        )
    }
    morning = {whole, piece}
    (winner,) = [i for i in morning if rows[i].status is ApplicationStatus.WON]
    (loser,) = morning - {winner}
    assert (rows[loser].status, rows[loser].lose_reason, rows[loser].settled_at) == (
        ApplicationStatus.LOST,
        "taken",
        clock.now(),
    )
    assert (rows[loser].position or 0) > (rows[winner].position or 0)
    for won in (winner, afternoon):
        assert (rows[won].status, rows[won].lose_reason, rows[won].settled_at) == (
            ApplicationStatus.WON,
            None,
            None,
        )
    assert sorted(rows[i].position or 0 for i in rows) == [1, 2, 3]

    # The win claims every unit of its room, for the slot won, in the winner's name.
    units = {whole: combined.unit_ids, piece: part.unit_ids}
    claims = await session.execute(
        select(Claim.unit_id, Claim.use_date, Claim.period_code, Claim.owner_id).where(
            Claim.kind == ClaimKind.LOTTERY_WIN
        )
    )
    assert sorted(claims.all()) == sorted(
        [(u, day, "10", winner) for u in units[winner]]
        + [(u, day, "20", afternoon) for u in part.unit_ids]
    )

    drawn = await session.scalar(select(LotteryDraw))
    assert drawn is not None
    doc = drawn.document
    assert (drawn.use_month, drawn.facility_id, drawn.application_count, drawn.win_count) == (
        MARCH,
        facility,
        3,
        2,
    )
    assert (drawn.algorithm, drawn.digest, drawn.drawn_at) == (
        doc["algorithm"],
        doc["digest"],
        clock.now(),
    )
    assert (doc["use_month"], doc["facility_id"]) == ("2027-03", facility)
    assert doc["pre_claimed"] == [f"{part.unit_ids[0]}|2027-03-{d}|30" for d in ("01", "31")]
    line = f"{whole}|{a}|{combined.id}|{day.isoformat()}|10|"
    assert line + ",".join(str(u) for u in sorted(combined.unit_ids)) in doc["applications"]
    cycle = await session.get_one(LotteryCycle, MARCH)
    assert verify_document(doc, cycle.commitment) == []

    # One mail per group, to the group's address, naming its applications.
    mails = await session.execute(
        select(OutboxMessage.to_address).where(OutboxMessage.template == "lottery_results")
    )
    emails = await session.scalars(select(Group.email).where(Group.id.in_([a, b])))
    assert sorted(mails.scalars()) == sorted(e for e in emails if e)

    again = await draw_facility(session, clock, world.settings, snapshot, MARCH, facility)
    assert again == DrawResult(MARCH, facility, drawn=False)
    assert await session.scalar(select(func.count()).select_from(LotteryDraw)) == 1


async def test_confirming_a_win_makes_the_booking_and_hands_over_its_claims(
    applicant: Applicant, hall: Hall, session: AsyncSession
) -> None:
    world, clock, snapshot = applicant.world, applicant.clock, hall.snapshot
    a, b = world.group_a, world.group_b
    day = open_weekday(snapshot, hall.facility_id, MARCH)
    # Both apply for the whole day (全日, at the room's all-day fee) and name their event.
    won = await applicant.apply(a, hall.room_id, day, ("20", "10", "30"), 12, "定期演奏会")
    won_id = won.id
    lost_id = (await applicant.apply(b, hall.room_id, day, ("10", "20", "30"), 15, "将棋大会")).id
    await session.commit()
    clock.set(jst(date(2026, 11, 24), 9))
    snapshot_now = applicant.snapshot
    await draw_facility(session, clock, world.settings, snapshot_now, MARCH, hall.facility_id)
    await session.commit()
    statuses = dict(
        (await session.execute(select(LotteryApplication.id, LotteryApplication.status))).all()
    )
    if statuses[won_id] is not ApplicationStatus.WON:  # B's application came first
        won_id, lost_id, a, b = lost_id, won_id, b, a
    # A block of the facility that happens to carry the same owner number, on another day.
    (unit,) = snapshot.room(hall.room_id).unit_ids  # type: ignore[union-attr]
    session.add(
        Claim(
            unit_id=unit,
            use_date=BLOCKED,
            period_code="10",
            kind=ClaimKind.BLOCK,
            owner_id=won_id,
            created_at=clock.now(),
        )
    )
    await session.commit()
    clock.set(jst(date(2026, 11, 26), 14, 5))
    assert await applicant.confirm(b, lost_id) == "not_won"
    assert await applicant.confirm(b, won_id) == "application_not_found"
    # The hall's manager sees the application but does not confirm for the group.
    applicant.principals[-1] = await principal_for_user(
        session, await session.get_one(User, hall.manager_id)
    )
    assert await applicant.confirm(-1, won_id) == "application_not_found"
    assert await applicant.confirm(a, won_id) == "confirmed"
    await session.commit()
    assert await applicant.confirm(a, won_id) == "not_won"

    application = await session.get_one(LotteryApplication, won_id, populate_existing=True)
    assert (application.status, application.settled_at) == (
        ApplicationStatus.CONFIRMED,
        clock.now(),
    )
    booking = await session.get_one(Booking, application.booking_id)
    periods = list(application.period_codes)
    room_info = snapshot.room(hall.room_id)
    assert room_info is not None
    assert room_info.all_day_fee is not None
    assert periods == ["10", "20", "30"]
    fees = room_info.all_day_fee  # less than the three periods' fees
    assert fees < sum(hall.fees.values())
    assert (
        booking.group_id,
        booking.room_id,
        booking.facility_id,
        booking.use_date,
        booking.period_codes,
        booking.status,
        booking.purpose,
        booking.headcount,
        booking.event_name,
        booking.channel,
        booking.fee_total,
        booking.payment_status,
        booking.created_at,
        booking.created_by_user_id,
    ) == (
        a,
        hall.room_id,
        hall.facility_id,
        day,
        periods,
        BookingStatus.CONFIRMED,
        "meeting",
        application.headcount,
        application.event_name,
        "lottery",
        fees,
        PaymentStatus.UNPAID,
        clock.now(),
        applicant.principals[a].user_id,
    )
    claims = await session.execute(
        select(Claim.use_date, Claim.unit_id, Claim.period_code, Claim.kind, Claim.owner_id)
    )
    assert sorted(claims.all()) == [
        (BLOCKED, unit, "10", ClaimKind.BLOCK, won_id),
        *[(day, unit, p, ClaimKind.BOOKING, booking.id) for p in sorted(periods)],
    ]
    event = await session.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "lottery.confirmed",
            AuditEvent.target_type == "lottery_application",
            AuditEvent.target_id == str(won_id),
        )
    )
    assert event is not None
    assert (event.after, event.actor_user_id) == (
        {"booking_id": booking.id},
        applicant.principals[a].user_id,
    )


async def test_an_exempt_groups_confirmed_win_costs_nothing_and_is_waived(
    applicant: Applicant, hall: Hall, session: AsyncSession
) -> None:
    world, clock = applicant.world, applicant.clock
    await session.execute(
        update(Group).where(Group.id == world.group_a).values(category=GroupCategory.EXEMPT)
    )
    day = open_weekday(hall.snapshot, hall.facility_id, MARCH)
    won = (await applicant.apply(world.group_a, hall.room_id, day, ("10", "20", "30"))).id
    await session.commit()
    clock.set(jst(date(2026, 11, 24), 9))
    await draw_facility(session, clock, world.settings, hall.snapshot, MARCH, hall.facility_id)
    clock.set(jst(date(2026, 11, 28), 23, 59))
    assert await applicant.confirm(world.group_a, won) == "confirmed"
    booking = await session.scalar(select(Booking).where(Booking.use_date == day))
    assert booking is not None
    assert (booking.fee_total, booking.payment_status, booking.updated_at) == (
        0,
        PaymentStatus.WAIVED,
        clock.now(),
    )
    assert booking.charges_admission is False


async def test_a_confirmed_wins_booking_cancels_like_any_other_and_frees_its_slot(
    applicant: Applicant, hall: Hall, session: AsyncSession
) -> None:
    """The win's claims become the booking's, under the booking's number: the group cancels
    it online and the slot is free again; the claims agree with the bookings throughout."""
    world, clock = applicant.world, applicant.clock
    a, b = world.group_a, world.group_b
    first, day = open_weekdays(hall.snapshot, hall.facility_id, 2)
    # B's application comes first, so A's number is not the booking's (1 on a fresh database).
    await applicant.apply(b, hall.room_id, first, ("10",))
    won = (await applicant.apply(a, hall.room_id, day, ("10", "20"))).id
    await session.commit()
    clock.set(jst(date(2026, 11, 24), 9))
    await draw_facility(session, clock, world.settings, hall.snapshot, MARCH, hall.facility_id)
    clock.set(jst(date(2026, 11, 25), 10))
    await applicant.confirm_raising(a, won)
    booking = await session.scalar(select(Booking).where(Booking.use_date == day))
    assert booking is not None
    assert booking.id != won
    held = await session.execute(
        select(Claim.period_code, Claim.kind, Claim.owner_id).where(Claim.use_date == day)
    )
    assert sorted(held.all()) == [
        ("10", ClaimKind.BOOKING, booking.id),
        ("20", ClaimKind.BOOKING, booking.id),
    ]
    assert (await check(session)).ok

    outcome = await cancel(
        session, clock, world.settings, hall.snapshot, applicant.principals[a], booking.id
    )
    assert (outcome.applied, outcome.charge, booking.status) == (True, 0, BookingStatus.CANCELLED)
    assert list(await session.scalars(select(Claim.id).where(Claim.use_date == day))) == []
    assert (await check(session)).ok


async def test_a_late_draw_takes_each_facility_and_month_with_its_own_applications(
    applicant: Applicant,
    hall: Hall,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """The worker was down from November's draw to December's: on 24 December it draws March
    and April at two halls, each draw with its own facility's applications for its month."""
    world, clock, settings = applicant.world, applicant.clock, applicant.world.settings
    a = world.group_a
    await session.execute(update(Group).where(Group.id == a).values(valid_until=date(2028, 3, 31)))
    there = await other_hall_room(session, hall)
    there_facility = hall.snapshot.room(there).facility_id  # type: ignore[union-attr]
    rooms = {hall.facility_id: hall.room_id, there_facility: there}
    for month, applied_on in ((MARCH, date(2026, 11, 20)), (APRIL, date(2026, 12, 18))):
        clock.set(jst(applied_on, 10))
        for facility, room in rooms.items():
            await applicant.apply(a, room, open_weekday(hall.snapshot, facility, month), ("10",))
    await session.commit()
    clock.set(jst(date(2026, 12, 24), 9))
    drawn = await run_due_draws(sessionmaker, clock, settings, hall.snapshot)
    draws = [(month, facility) for month in (MARCH, APRIL) for facility in sorted(rooms)]
    assert drawn == [DrawResult(*draw, drawn=True, applications=1, wins=1) for draw in draws]
    # Each published file counts its own facility's claims: none, though the other hall's
    # March win was claimed in the same run.
    published = await session.execute(
        select(LotteryDraw.use_month, LotteryDraw.facility_id, LotteryDraw.document)
    )
    assert {(m, f): len(doc["pre_claimed"]) for m, f, doc in published.all()} == dict.fromkeys(
        draws, 0
    )
    events = await session.execute(
        select(AuditEvent.action, AuditEvent.target_type, AuditEvent.target_id, AuditEvent.after)
        .where(AuditEvent.at == clock.now())
        .order_by(AuditEvent.id)
    )
    assert events.all() == [
        (
            "lottery.drawn",
            "facility",
            str(facility),
            {"use_month": month.isoformat(), "applications": 1, "wins": 1},
        )
        for month, facility in draws
    ]


async def test_a_draw_holds_each_group_to_the_facilitys_win_cap(
    applicant: Applicant, hall: Hall, session: AsyncSession
) -> None:
    """A cap of 2 wins per group: A's third uncontested application loses for the cap, B's
    wins; the published file carries the cap, and replays."""
    world, clock = applicant.world, applicant.clock
    a, b = world.group_a, world.group_b
    day, other = open_weekdays(hall.snapshot, hall.facility_id, 2)
    mine = [(await applicant.apply(a, hall.room_id, day, (p,))).id for p in ("10", "20", "30")]
    theirs = (await applicant.apply(b, hall.room_id, other, ("10",))).id
    await session.commit()
    capped = with_lottery(hall.snapshot, hall.facility_id, win_cap=2)
    clock.set(jst(date(2026, 11, 24), 9))
    result = await draw_facility(session, clock, world.settings, capped, MARCH, hall.facility_id)
    assert (result.applications, result.wins) == (4, 3)
    rows = await session.execute(
        select(
            LotteryApplication.id, LotteryApplication.status, LotteryApplication.lose_reason
        ).execution_options(populate_existing=True)
    )
    outcomes = {i: (status, reason) for i, status, reason in rows.all()}
    assert outcomes[theirs] == (ApplicationStatus.WON, None)
    assert sorted(outcomes[i] for i in mine) == [
        (ApplicationStatus.LOST, "win_cap"),
        (ApplicationStatus.WON, None),
        (ApplicationStatus.WON, None),
    ]
    drawn = await session.scalar(select(LotteryDraw))
    assert drawn is not None
    assert drawn.document["win_cap"] == 2
    cycle = await session.get_one(LotteryCycle, MARCH)
    assert verify_document(drawn.document, cycle.commitment) == []


async def test_a_draw_writes_its_claims_in_date_unit_period_order(
    applicant: Applicant, hall: Hall, session: AsyncSession
) -> None:
    """Wins' claims go in (date, unit, period) order whatever the draw's order: claims taken
    in crossing orders by a draw and a booking can deadlock on PostgreSQL. Claim ids follow
    the order of insertion."""
    world, clock = applicant.world, applicant.clock
    days = open_weekdays(hall.snapshot, hall.facility_id, 3)
    groups = [world.group_a, world.group_b]
    for k, (day, period) in enumerate((d, p) for d in reversed(days) for p in ("30", "20", "10")):
        if k < 8:  # within the groups' quotas, uncontested: every one wins
            await applicant.apply(groups[k % 2], hall.room_id, day, (period,))
    await session.commit()
    clock.set(jst(date(2026, 11, 24), 9))
    result = await draw_facility(
        session, clock, world.settings, hall.snapshot, MARCH, hall.facility_id
    )
    assert (result.applications, result.wins) == (8, 8)
    claims = (
        await session.execute(
            select(Claim.use_date, Claim.unit_id, Claim.period_code)
            .where(Claim.kind == ClaimKind.LOTTERY_WIN)
            .order_by(Claim.id)
        )
    ).all()
    room = hall.snapshot.room(hall.room_id)
    assert room is not None
    assert len(claims) == 8 * len(room.unit_ids)
    assert [tuple(c) for c in claims] == sorted(tuple(c) for c in claims)
