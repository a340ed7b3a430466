"""Roster changes at the registration rules' thresholds, through the services (no HTTP).

Group A (tests/people.py) has the minimum of 5: its representative and 4 members, all living in
the city. A removal that would leave fewer than 5 is refused, the one that leaves exactly 5 is
not; the in-city share is recomputed on every change, in-city from exactly half; a
representative stays 15 and out of junior high through every change.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts import groups, roster
from booking.accounts.access import Principal
from booking.accounts.models import Member, MemberRole, Residency, User
from booking.accounts.schemas import MemberIn, MemberPatch
from booking.accounts.sessions import principal_for_user
from booking.clock import FrozenClock
from booking.errors import BookingError, RuleViolation
from tests.people import World


async def representative(session: AsyncSession, world: World) -> Principal:
    user = await session.get_one(User, world.user_ids["representative"])
    return await principal_for_user(session, user)


async def members(session: AsyncSession, world: World) -> list[Member]:
    return [m for m in await groups.roster(session, world.group_a) if m.role is MemberRole.MEMBER]


async def in_city(session: AsyncSession, world: World) -> bool:
    """As stored: what the services changed is flushed, then the row is read again."""
    await session.flush()
    group = await groups.get_group(session, world.group_a)
    await session.refresh(group)
    return group.in_city


def refused(exc: pytest.ExceptionInfo[BookingError], code: str | None, field: str) -> None:
    assert isinstance(exc.value, RuleViolation)
    assert (exc.value.code, exc.value.field) == (code or exc.value.code, field)


async def test_a_removal_may_leave_exactly_the_minimum_and_no_fewer(
    world: World, session: AsyncSession, clock: FrozenClock
) -> None:
    rep = await representative(session, world)
    first = (await members(session, world))[0]
    with pytest.raises(BookingError) as five:
        await roster.remove_member(session, clock, rep, world.group_a, first.id)
    refused(five, "too_few_members", "members")
    assert len(await groups.roster(session, world.group_a)) == 5
    await roster.add_member(
        session,
        clock,
        world.settings,
        rep,
        world.group_a,
        MemberIn(name="六人目", birth_date=date(1990, 1, 1), residency=Residency.LIVES),
    )
    await roster.remove_member(session, clock, rep, world.group_a, first.id)  # 6 -> 5
    assert len(await groups.roster(session, world.group_a)) == 5
    second = (await members(session, world))[0]
    with pytest.raises(BookingError) as again:
        await roster.remove_member(session, clock, rep, world.group_a, second.id)
    refused(again, "too_few_members", "members")


async def test_in_city_is_recomputed_on_every_change_from_exactly_half(
    world: World, session: AsyncSession, clock: FrozenClock
) -> None:
    rep = await representative(session, world)
    others = await members(session, world)
    assert await in_city(session, world)
    outside = MemberPatch(residency=Residency.NONE)
    for member in others[:2]:
        await roster.update_member(
            session, clock, world.settings, rep, world.group_a, member.id, outside
        )
    assert await in_city(session, world)  # 3 of 5
    await roster.update_member(
        session, clock, world.settings, rep, world.group_a, others[2].id, outside
    )
    assert not await in_city(session, world)  # 2 of 5
    added = await roster.add_member(
        session,
        clock,
        world.settings,
        rep,
        world.group_a,
        MemberIn(name="市内在勤", birth_date=date(1990, 1, 1), residency=Residency.WORKS),
    )
    assert await in_city(session, world)  # 3 of 6: exactly half
    await roster.remove_member(session, clock, rep, world.group_a, added.id)
    assert not await in_city(session, world)  # 2 of 5 again


async def test_a_representative_stays_15_and_out_of_junior_high(
    world: World, session: AsyncSession, clock: FrozenClock
) -> None:
    """Today is 25 November 2026. Born 1 April 2011: 15 and in high school since 1 April 2026,
    may represent; born 2 April 2011: 15, but in junior high until March 2027, may not."""
    rep = await representative(session, world)
    rep_member = next(
        m for m in await groups.roster(session, world.group_a) if m.user_id == rep.user_id
    )
    with pytest.raises(BookingError) as too_young:
        await roster.update_member(
            session,
            clock,
            world.settings,
            rep,
            world.group_a,
            rep_member.id,
            MemberPatch(birth_date=date(2011, 4, 2)),
        )
    refused(too_young, None, "birth_date")
    updated = await roster.update_member(
        session,
        clock,
        world.settings,
        rep,
        world.group_a,
        rep_member.id,
        MemberPatch(birth_date=date(2011, 4, 1)),
    )
    assert updated.birth_date == date(2011, 4, 1)
    # The member with a login (member-a) as the new representative: at 2 April 2011, refused.
    member_a = next(m for m in await members(session, world) if m.user_id is not None)
    await roster.update_member(
        session,
        clock,
        world.settings,
        rep,
        world.group_a,
        member_a.id,
        MemberPatch(birth_date=date(2011, 4, 2)),
    )
    with pytest.raises(BookingError) as pupil:
        await roster.change_representative(
            session, clock, world.settings, rep, world.group_a, member_a.id
        )
    refused(pupil, None, "member_id")
    await roster.update_member(
        session,
        clock,
        world.settings,
        rep,
        world.group_a,
        member_a.id,
        MemberPatch(birth_date=date(2011, 4, 1)),
    )
    changed = await roster.change_representative(
        session, clock, world.settings, rep, world.group_a, member_a.id
    )
    assert changed.role is MemberRole.REPRESENTATIVE
