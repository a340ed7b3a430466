"""Staff search of registrations at the counter (accounts/groups.py `list_groups`), through the
service on the world of tests/people.py: groups A and B (city-wide, active, with cards), the
children's centre's own group at the facility "here" and another centre's group "elsewhere"
(both pending). Each filter, the manager's scope, paging, and the member counts beside them.
"""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts import groups
from booking.accounts.access import Principal
from booking.accounts.groups import GroupQuery
from booking.accounts.models import GroupStatus
from booking.accounts.schemas import GroupPatch
from booking.clock import FrozenClock
from booking.errors import PermissionDenied
from tests.people import World, principal_as, registration


async def found(session: AsyncSession, who: Principal, **query: object) -> list[int]:
    return [g.id for g in await groups.list_groups(session, who, GroupQuery(**query))]  # type: ignore[arg-type]


async def test_each_filter_and_each_staff_scope(
    world: World, session: AsyncSession, clock: FrozenClock
) -> None:
    admin = await principal_as(session, world, "admin")
    here = await principal_as(session, world, "manager_here")
    everyone = [world.group_a, world.group_b, world.centre_group, world.other_centre_group]
    # An administrator sees every registration, in id order; a manager the city-wide ones and
    # their own facility's, not another facility's.
    assert await found(session, admin) == sorted(everyone)
    assert await found(session, here) == sorted([world.group_a, world.group_b, world.centre_group])
    assert await found(session, here, facility_id=world.here) == [world.centre_group]
    with pytest.raises(PermissionDenied):
        await found(session, here, facility_id=world.elsewhere)
    assert await found(session, admin, facility_id=world.elsewhere) == [world.other_centre_group]
    assert await found(session, admin, status=GroupStatus.PENDING) == sorted(
        [world.centre_group, world.other_centre_group]
    )
    assert await found(session, admin, card_number=world.card_a) == [world.group_a]
    # Paging: the second of the id order, alone.
    assert await found(session, admin, limit=1, offset=1) == [sorted(everyone)[1]]


async def test_search_by_name_or_reading_takes_wildcards_literally(
    world: World, session: AsyncSession, clock: FrozenClock
) -> None:
    admin = await principal_as(session, world, "admin")
    await groups.update_group(
        session, clock, admin, world.group_b, GroupPatch(name_kana="サイワイク_ショウギ%")
    )
    assert await found(session, admin, q="ショウギ") == [world.group_b]  # by its reading
    assert await found(session, admin, q="合唱") == [world.group_a]  # by its name
    # "%" and "_" match only themselves: in B's reading, and nowhere else.
    assert await found(session, admin, q="%") == [world.group_b]
    assert await found(session, admin, q="ク_シ") == [world.group_b]
    assert await found(session, admin, q="ク%ョ") == []


async def test_member_counts_per_group(world: World, session: AsyncSession) -> None:
    assert await groups.member_counts(session, []) == {}
    counts = await groups.member_counts(session, [world.group_a, world.group_b, world.centre_group])
    # tests/people.py registers each with its representative and 4 members.
    assert counts == {world.group_a: 5, world.group_b: 5, world.centre_group: 5}


async def test_a_managers_list_pages_in_registration_order_across_city_wide_and_own(
    world: World, session: AsyncSession, clock: FrozenClock
) -> None:
    """A city-wide group registered after the facility's own comes after it, on its page: the
    list is in registration order whatever way the database finds the rows of the scope (city-
    wide or this facility's), so paging through it shows each registration once."""
    here = await principal_as(session, world, "manager_here")
    later = await groups.register(
        session, clock, world.settings, here, registration("中原囲碁の会", "go@example.jp"), None
    )
    assert later.facility_id is None
    in_order = [world.group_a, world.group_b, world.centre_group, later.id]
    assert await found(session, here) == in_order
    pages = [await found(session, here, limit=2, offset=offset) for offset in (0, 2)]
    assert pages == [in_order[:2], in_order[2:]]
