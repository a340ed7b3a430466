"""Each check of a booking, one by one: the error, its code, the field it names and the reason
the group reads; a refusal writes nothing. Then what a booking writes when it goes through, by
channel: the row, its claims, the audit event and the group's mail (issue 15).

Service calls with the `session` and `clock` fixtures (no HTTP), like test_service_boundaries.py.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.access import Principal
from booking.accounts.models import Group, GroupStatus
from booking.audit.models import AuditEvent
from booking.clock import FrozenClock
from booking.errors import BookingError, InvalidInput, NotFound, PermissionDenied, RuleViolation
from booking.inventory.models import Facility, Room
from booking.inventory.network import NetworkSnapshot, SnapshotCache
from booking.inventory.services import bump_revision
from booking.notifications.models import OutboxMessage
from booking.reservations.bookings import BookingRequest, book
from booking.reservations.changes import cancel, decide
from booking.reservations.models import Booking, BookingStatus, Claim, ClaimKind, PaymentStatus
from tests.people import World
from tests.places import Hall, open_weekday
from tests.reservations.test_service_boundaries import (
    first_minute_of,
    last_minute_of,
    principal,
    request,
    with_policy,
)


@dataclass
class Attempt:
    """One call of book(): who asks, for what, and the reason the refusal must give."""

    who: Principal
    request: BookingRequest
    snapshot: NetworkSnapshot
    reason: str
    hold: bool = False


Arrange = Callable[[World, Hall, AsyncSession, FrozenClock], Awaitable[Attempt]]


async def written(session: AsyncSession) -> tuple[int, ...]:
    return tuple(
        [
            int(await session.scalar(select(func.count()).select_from(model)) or 0)
            for model in (Booking, Claim, AuditEvent, OutboxMessage)
        ]
    )


async def refresh(session: AsyncSession, clock: FrozenClock) -> NetworkSnapshot:
    await bump_revision(session, clock.now())
    await session.commit()
    return await SnapshotCache().get(session)


async def as_member(world: World, hall: Hall, session: AsyncSession, reason: str) -> Attempt:
    member = await principal(session, world.user_ids["member"])
    ask = request(world, hall.room_id, hall.day, ["10"])
    return Attempt(member, ask, hall.snapshot, reason)


async def unknown_room(world: World, hall: Hall, session: AsyncSession, _: FrozenClock) -> Attempt:
    attempt = await as_member(world, hall, session, "no room 999999")
    return replace(attempt, request=replace(attempt.request, room_id=999999))


async def someone_elses_group(
    world: World, hall: Hall, session: AsyncSession, _: FrozenClock
) -> Attempt:
    attempt = await as_member(world, hall, session, f"no group {world.group_a}")
    stranger = await principal(session, world.user_ids["other_representative"])
    return replace(attempt, who=stranger)


async def staff_of_another_facility(
    world: World, hall: Hall, session: AsyncSession, _: FrozenClock
) -> Attempt:
    reason = f"facility {hall.facility_id} is not assigned to you"
    attempt = await as_member(world, hall, session, reason)
    return replace(attempt, who=await principal(session, world.user_ids["manager_here"]))


async def a_member_asks_for_a_hold(
    world: World, hall: Hall, session: AsyncSession, clock: FrozenClock
) -> Attempt:
    snapshot = await with_policy(session, clock, [hall.room_id], {"holds": {"allowed": True}})
    attempt = await as_member(world, hall, session, "holds are taken by the facility's staff")
    return replace(attempt, snapshot=snapshot, hold=True)


async def a_hold_where_the_policy_has_none(
    world: World, hall: Hall, session: AsyncSession, _: FrozenClock
) -> Attempt:
    attempt = await as_member(world, hall, session, "this room takes no holds")
    return replace(attempt, who=await principal(session, hall.manager_id), hold=True)


async def a_suspended_group(
    world: World, hall: Hall, session: AsyncSession, _: FrozenClock
) -> Attempt:
    await session.execute(
        update(Group).where(Group.id == world.group_a).values(status=GroupStatus.SUSPENDED)
    )
    reason = "this registration cannot book: it is not active (pending, suspended or expired)"
    return await as_member(world, hall, session, reason)


async def a_centres_group_at_a_hall(
    world: World, hall: Hall, session: AsyncSession, _: FrozenClock
) -> Attempt:
    # An administrator acts for any group anywhere: only the registration stops this one.
    await session.execute(
        update(Group).where(Group.id == world.centre_group).values(status=GroupStatus.ACTIVE)
    )
    attempt = await as_member(world, hall, session, "this registration is for another facility")
    admin = await principal(session, world.user_ids["admin"])
    return replace(
        attempt, who=admin, request=replace(attempt.request, group_id=world.centre_group)
    )


async def a_city_wide_group_at_a_childrens_centre(
    world: World, hall: Hall, session: AsyncSession, _: FrozenClock
) -> Attempt:
    room = hall.snapshot.room(world.room)
    assert room is not None
    centre = hall.snapshot.facilities[room.facility_id]
    reason = f"{centre.name_ja} takes bookings only from groups registered with it"
    attempt = await as_member(world, hall, session, reason)
    day = open_weekday(hall.snapshot, centre.id, hall.day)
    return replace(attempt, request=replace(attempt.request, room_id=room.id, use_date=day))


async def an_out_of_city_group_where_only_the_city_books(
    world: World, hall: Hall, session: AsyncSession, clock: FrozenClock
) -> Attempt:
    await session.execute(update(Group).where(Group.id == world.group_a).values(in_city=False))
    snapshot = await with_policy(session, clock, [hall.room_id], {"out_of_city_may_book": False})
    attempt = await as_member(world, hall, session, "this room is booked only by in-city groups")
    return replace(attempt, snapshot=snapshot)


async def online_in_a_counter_only_room(
    world: World, hall: Hall, session: AsyncSession, clock: FrozenClock
) -> Attempt:
    await session.execute(update(Room).where(Room.id == hall.room_id).values(online_bookable=False))
    snapshot = await refresh(session, clock)
    reason = "this room is booked at the facility's counter only"
    return replace(await as_member(world, hall, session, reason), snapshot=snapshot)


async def yesterday(world: World, hall: Hall, session: AsyncSession, _: FrozenClock) -> Attempt:
    attempt = await as_member(world, hall, session, "the date is in the past")
    return replace(attempt, request=replace(attempt.request, use_date=date(2026, 11, 24)))


async def periods_with_a_gap(
    world: World, hall: Hall, session: AsyncSession, _: FrozenClock
) -> Attempt:
    reason = "the periods of one booking must follow each other (e.g. 午前 and 午後)"
    attempt = await as_member(world, hall, session, reason)
    return replace(attempt, request=replace(attempt.request, period_codes=["10", "30"]))


async def in_its_lottery_window(
    world: World, hall: Hall, session: AsyncSession, clock: FrozenClock
) -> Attempt:
    clock.set(datetime(2026, 11, 20, 1, 0, tzinfo=UTC))  # March's applications: 17th-23rd
    reason = "this date is in its lottery application window; apply for the lottery instead"
    attempt = await as_member(world, hall, session, reason)
    day = open_weekday(hall.snapshot, hall.facility_id, date(2027, 3, 2))
    return replace(attempt, request=replace(attempt.request, use_date=day))


async def before_first_come_opens(
    world: World, hall: Hall, session: AsyncSession, _: FrozenClock
) -> Attempt:
    reason = "first-come booking for this date opens on 2026-11-29"
    attempt = await as_member(world, hall, session, reason)
    day = open_weekday(hall.snapshot, hall.facility_id, date(2027, 3, 2))
    return replace(attempt, request=replace(attempt.request, use_date=day))


async def after_online_booking_closed(
    world: World, hall: Hall, session: AsyncSession, _: FrozenClock
) -> Attempt:
    day = open_weekday(hall.snapshot, hall.facility_id, date(2026, 11, 26))
    assert day <= date(2026, 11, 27), "the test needs the hall open on the 26th or 27th"
    last = day - timedelta(days=3)
    reason = f"online booking for this date closed on {last.isoformat()}; please ask the facility"
    attempt = await as_member(world, hall, session, reason)
    return replace(attempt, request=replace(attempt.request, use_date=day))


async def after_the_registration_ends(
    world: World, hall: Hall, session: AsyncSession, _: FrozenClock
) -> Attempt:
    valid_until = hall.day - timedelta(days=1)
    await session.execute(
        update(Group).where(Group.id == world.group_a).values(valid_until=valid_until)
    )
    reason = (
        f"the registration is valid until {valid_until.isoformat()}: renew it (from "
        "2026-11-01) before booking or applying for a later date"
    )
    return await as_member(world, hall, session, reason)


async def on_a_closed_day(
    world: World, hall: Hall, session: AsyncSession, _: FrozenClock
) -> Attempt:
    attempt = await as_member(world, hall, session, "the facility is closed on this date")
    return replace(attempt, request=replace(attempt.request, use_date=date(2027, 1, 2)))


async def one_person_too_many(
    world: World, hall: Hall, session: AsyncSession, _: FrozenClock
) -> Attempt:
    reason = f"the room holds at most {hall.capacity} people"
    attempt = await as_member(world, hall, session, reason)
    return replace(attempt, request=replace(attempt.request, headcount=hall.capacity + 1))


async def a_purpose_nobody_knows(
    world: World, hall: Hall, session: AsyncSession, _: FrozenClock
) -> Attempt:
    attempt = await as_member(world, hall, session, "unknown purpose 'karaoke'")
    return replace(attempt, request=replace(attempt.request, purpose="karaoke"))


async def a_purpose_the_room_does_not_take(
    world: World, hall: Hall, session: AsyncSession, clock: FrozenClock
) -> Attempt:
    await session.execute(
        update(Room).where(Room.id == hall.room_id).values(purposes=["meeting", "lecture"])
    )
    snapshot = await refresh(session, clock)
    room = snapshot.room(hall.room_id)
    assert room is not None
    reason = f"{room.name_ja} does not allow 'singing' (allowed: lecture, meeting)"
    attempt = await as_member(world, hall, session, reason)
    return replace(attempt, snapshot=snapshot, request=replace(attempt.request, purpose="singing"))


@pytest.mark.parametrize(
    ("arrange", "error", "code", "field"),
    [
        (unknown_room, InvalidInput, "room_not_found", "room_id"),
        (someone_elses_group, NotFound, "group_not_found", "group_id"),
        (staff_of_another_facility, PermissionDenied, "facility_not_assigned", "room_id"),
        (a_member_asks_for_a_hold, PermissionDenied, "staff_only", None),
        (a_hold_where_the_policy_has_none, RuleViolation, "holds_not_allowed", "room_id"),
        (a_suspended_group, RuleViolation, "registration_inactive", "group_id"),
        (a_centres_group_at_a_hall, RuleViolation, "not_eligible", "group_id"),
        (a_city_wide_group_at_a_childrens_centre, RuleViolation, "not_eligible", "group_id"),
        (an_out_of_city_group_where_only_the_city_books, RuleViolation, "out_of_city", "group_id"),
        (online_in_a_counter_only_room, RuleViolation, "counter_only", "room_id"),
        (yesterday, InvalidInput, "past_date", "use_date"),
        (periods_with_a_gap, InvalidInput, "bad_periods", "period_codes"),
        (in_its_lottery_window, RuleViolation, "outside_window", "use_date"),
        (before_first_come_opens, RuleViolation, "outside_window", "use_date"),
        (after_online_booking_closed, RuleViolation, "outside_window", "use_date"),
        (after_the_registration_ends, RuleViolation, "registration_expires", "use_date"),
        (on_a_closed_day, RuleViolation, "closed", "use_date"),
        (one_person_too_many, RuleViolation, "over_capacity", "headcount"),
        (a_purpose_nobody_knows, InvalidInput, "unknown_purpose", "purpose"),
        (a_purpose_the_room_does_not_take, RuleViolation, "purpose_not_allowed", "purpose"),
    ],
    ids=lambda value: getattr(value, "__name__", None) if callable(value) else None,
)
async def test_each_refusal_names_its_code_its_field_and_the_reason_and_writes_nothing(  # noqa: PLR0917 - pytest's parameters
    world: World,
    hall: Hall,
    session: AsyncSession,
    clock: FrozenClock,
    arrange: Arrange,
    error: type[BookingError],
    code: str,
    field: str | None,
) -> None:
    attempt = await arrange(world, hall, session, clock)
    before = await written(session)
    with pytest.raises(error) as raised:
        await book(
            session,
            clock,
            world.settings,
            attempt.snapshot,
            attempt.who,
            attempt.request,
            hold=attempt.hold,
        )
    refusal = raised.value
    assert (type(refusal), refusal.code, refusal.field) == (error, code, field)
    assert str(refusal) == attempt.reason
    assert await written(session) == before


def test_a_booking_request_for_a_date_out_of_range_names_the_use_date() -> None:
    with pytest.raises(InvalidInput) as raised:
        BookingRequest(
            group_id=1,
            room_id=1,
            use_date=date(1899, 12, 31),
            period_codes=["10"],
            purpose="meeting",
            headcount=1,
        )
    assert raised.value.field == "use_date"


# --- what a booking writes, by channel ------------------------------------------------------------

STATUS_WORDS = {
    BookingStatus.CONFIRMED: ("予約確定", "confirmed"),
    BookingStatus.PENDING_APPROVAL: ("承認待ち", "waiting for approval"),
    BookingStatus.HELD: ("仮予約", "held (provisional)"),
}


@pytest.mark.parametrize(
    ("who", "policy", "hold", "status", "channel", "kind", "action"),
    [
        ("member", None, False, BookingStatus.CONFIRMED, "online", ClaimKind.BOOKING, "created"),
        (
            "member",
            {"requires_approval": True},
            False,
            BookingStatus.PENDING_APPROVAL,
            "online",
            ClaimKind.BOOKING,
            "created",
        ),
        # The facility's own staff book at the counter: no approval to wait for.
        (
            "manager",
            {"requires_approval": True},
            False,
            BookingStatus.CONFIRMED,
            "counter",
            ClaimKind.BOOKING,
            "created",
        ),
        (
            "manager",
            {"holds": {"allowed": True}},
            True,
            BookingStatus.HELD,
            "counter",
            ClaimKind.HOLD,
            "held",
        ),
    ],
    ids=["online", "online-needing-approval", "counter-needing-approval", "hold"],
)
async def test_a_booking_writes_its_row_its_claims_one_audit_event_and_the_groups_mail(  # noqa: PLR0917 - pytest's parameters
    world: World,
    hall: Hall,
    session: AsyncSession,
    clock: FrozenClock,
    who: str,
    policy: dict[str, object] | None,
    hold: bool,
    status: BookingStatus,
    channel: str,
    kind: ClaimKind,
    action: str,
) -> None:
    snapshot = hall.snapshot
    if policy is not None:
        snapshot = await with_policy(session, clock, [hall.room_id], policy)
    user_id = world.user_ids["member"] if who == "member" else hall.manager_id
    asked = replace(
        request(world, hall.room_id, hall.day, ["20", "10"], headcount=12, purpose="singing"),
        event_name="定期練習",
        charges_admission=True,
    )
    made = await book(
        session,
        clock,
        world.settings,
        snapshot,
        await principal(session, user_id),
        asked,
        hold=hold,
    )
    await session.commit()
    await session.refresh(made)
    fee = (hall.fees["10"] + hall.fees["20"]) * 3  # an event charging admission pays x3
    assert {
        "group": made.group_id,
        "room": made.room_id,
        "facility": made.facility_id,
        "date": made.use_date,
        "periods": made.period_codes,
        "status": made.status,
        "purpose": made.purpose,
        "headcount": made.headcount,
        "event": made.event_name,
        "admission": made.charges_admission,
        "fee": made.fee_total,
        "coefficient": made.fee_breakdown["coefficient"],
        "payment": made.payment_status,
        "channel": made.channel,
        "created": made.created_at,
        "updated": made.updated_at,
        "by": made.created_by_user_id,
        "hold lapses": made.hold_expires_at,
    } == {
        "group": world.group_a,
        "room": hall.room_id,
        "facility": hall.facility_id,
        "date": hall.day,
        "periods": ["10", "20"],
        "status": status,
        "purpose": "singing",
        "headcount": 12,
        "event": "定期練習",
        "admission": True,
        "fee": fee,
        "coefficient": "admission",
        "payment": PaymentStatus.UNPAID,
        "channel": channel,
        "created": clock.now(),
        "updated": clock.now(),
        "by": user_id,
        # Taken on 25 November (JST): void unless completed by 28 November 17:00 JST.
        "hold lapses": datetime(2026, 11, 28, 8, 0, tzinfo=UTC) if hold else None,
    }

    room = snapshot.room(hall.room_id)
    assert room is not None
    claims = await session.execute(
        select(Claim.unit_id, Claim.use_date, Claim.period_code, Claim.kind).where(
            Claim.owner_id == made.id
        )
    )
    assert {tuple(row) for row in claims} == {
        (unit, hall.day, code, kind) for unit in room.unit_ids for code in ("10", "20")
    }

    events = await session.scalars(
        select(AuditEvent).where(
            AuditEvent.target_type == "booking", AuditEvent.target_id == str(made.id)
        )
    )
    assert [(e.action, e.actor_user_id, e.before, e.after) for e in events] == [
        (
            f"booking.{action}",
            user_id,
            None,
            {
                "status": status.value,
                "group_id": world.group_a,
                "room_id": hall.room_id,
                "use_date": hall.day.isoformat(),
                "period_codes": ["10", "20"],
                "fee_total": fee,
                "payment_status": "unpaid",
                "cancellation_charge": None,
            },
        )
    ]

    group = await session.get_one(Group, world.group_a)
    assert group.email is not None
    mails = (
        await session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.to_address == group.email,
                OutboxMessage.template == "booking_confirmed",
            )
        )
    ).all()
    status_ja, status_en = STATUS_WORDS[status]
    assert [m.subject for m in mails] == [
        f"予約を受け付けました（{status_ja}） / Booking received: {status_en} (No. {made.id})"
    ]
    assert "川崎合唱団 様" in mails[0].body_text
    assert f"使用料: {fee:,}円" in mails[0].body_text
    assert f"/my/bookings/{made.id}\n" in mails[0].body_text


async def test_a_group_without_a_contact_address_books_and_no_mail_is_written(
    world: World, hall: Hall, session: AsyncSession, clock: FrozenClock
) -> None:
    await session.execute(update(Group).where(Group.id == world.group_a).values(email=None))
    mails = await session.scalar(select(func.count()).select_from(OutboxMessage))
    member = await principal(session, world.user_ids["member"])
    made = await book(
        session,
        clock,
        world.settings,
        hall.snapshot,
        member,
        request(world, hall.room_id, hall.day, ["10"]),
    )
    assert made.status is BookingStatus.CONFIRMED
    assert await session.scalar(select(func.count()).select_from(OutboxMessage)) == mails


# --- the group's mail when a booking is cancelled -------------------------------------------------

CAUSES = {
    "group": ("ご依頼により取り消しました。", "Cancelled at your request."),
    "late": (
        "ご依頼により取り消しました（取消期限後のため取消料がかかります）。",
        "Cancelled at your request, after the free cancellation deadline.",
    ),
    "facility": (
        "施設の都合により取り消しました。使用料はかかりません。",
        "Cancelled by the facility, free of charge.",
    ),
    "rejected": (
        "施設が予約を承認しませんでした。使用料はかかりません。",
        "The facility did not approve the booking; nothing is charged.",
    ),
}


@pytest.mark.parametrize("cause", list(CAUSES))
async def test_a_cancellation_mail_says_why_and_what_is_charged_in_both_languages(
    world: World, hall: Hall, session: AsyncSession, clock: FrozenClock, cause: str
) -> None:
    snapshot = hall.snapshot
    if cause == "rejected":
        snapshot = await with_policy(session, clock, [hall.room_id], {"requires_approval": True})
    member = await principal(session, world.user_ids["member"])
    staff = await principal(session, hall.manager_id)
    made = await book(
        session,
        clock,
        world.settings,
        snapshot,
        member,
        request(world, hall.room_id, hall.day, ["10"]),
    )
    if cause == "rejected":
        await decide(session, clock, world.settings, snapshot, staff, made.id, approve=False)
    else:
        if cause == "late":
            clock.set(first_minute_of(hall.day - timedelta(days=2)))
        who = member if cause == "group" else staff
        await cancel(
            session,
            clock,
            world.settings,
            snapshot,
            who,
            made.id,
            facility_cause=cause == "facility",
        )
    charge = made.fee_total if cause == "late" else 0
    assert made.fee_total > 0
    mails = (
        await session.scalars(
            select(OutboxMessage).where(OutboxMessage.template == "booking_cancelled")
        )
    ).all()
    assert len(mails) == 1
    why_ja, why_en = CAUSES[cause]
    text = mails[0].body_text
    assert f"次の予約を取り消しました。{why_ja}\n" in text
    assert f"取消料: {charge:,}円\n" in text
    assert f"Booking No. {made.id} for 川崎合唱団 is cancelled. {why_en}\n" in text
    assert f"Cancellation charge: {charge:,} yen\n" in text


# --- a facility's service dates ------------------------------------------------------------------


@pytest.mark.parametrize("edge", ["opens_on", "closes_on"])
async def test_a_facility_takes_bookings_from_its_opening_day_to_its_closing_day(
    world: World, hall: Hall, session: AsyncSession, clock: FrozenClock, edge: str
) -> None:
    first = hall.day
    after = open_weekday(hall.snapshot, hall.facility_id, first + timedelta(days=1))
    # Opening on `after`, `first` is before it; closing on `first`, `after` is after it.
    await session.execute(
        update(Facility)
        .where(Facility.id == hall.facility_id)
        .values({edge: after if edge == "opens_on" else first})
    )
    snapshot = await refresh(session, clock)
    member = await principal(session, world.user_ids["member"])
    shut, served = (first, after) if edge == "opens_on" else (after, first)
    with pytest.raises(RuleViolation) as raised:
        await book(
            session,
            clock,
            world.settings,
            snapshot,
            member,
            request(world, hall.room_id, shut, ["10"]),
        )
    assert raised.value.code == "closed"
    made = await book(
        session,
        clock,
        world.settings,
        snapshot,
        member,
        request(world, hall.room_id, served, ["10"]),
    )
    assert made.use_date == served


async def test_the_counter_books_for_today_until_midnight_tokyo_then_the_date_is_past(
    world: World, hall: Hall, session: AsyncSession, clock: FrozenClock
) -> None:
    staff = await principal(session, hall.manager_id)
    clock.set(last_minute_of(hall.day))
    made = await book(
        session,
        clock,
        world.settings,
        hall.snapshot,
        staff,
        request(world, hall.room_id, hall.day, ["10"]),
    )
    assert (made.use_date, made.channel) == (hall.day, "counter")
    clock.set(first_minute_of(hall.day + timedelta(days=1)))
    with pytest.raises(InvalidInput) as raised:
        await book(
            session,
            clock,
            world.settings,
            hall.snapshot,
            staff,
            request(world, hall.room_id, hall.day, ["20"]),
        )
    assert raised.value.code == "past_date"
