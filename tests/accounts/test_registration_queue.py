"""The registration desk's queue and search (accounts/desk.py), through the service, on both
engines, with the world of tests/people.py: groups A and B (city-wide, active, with cards),
the children's centre's own group at "here" and another centre's "elsewhere" (both pending).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts import desk, groups
from booking.accounts.access import Principal
from booking.accounts.desk import QueueQuery
from booking.accounts.models import (
    Group,
    GroupCategory,
    GroupKind,
    Member,
    MemberRole,
    Residency,
)
from booking.accounts.schemas import GroupPatch
from booking.clock import FrozenClock
from booking.errors import InvalidInput, PermissionDenied
from tests.conftest import DEFAULT_NOW
from tests.people import World, principal_as, registration

TODAY = date(2026, 11, 25)


async def queue(session: AsyncSession, who: Principal, **query: object) -> list[int]:
    found = await desk.registration_queue(session, who, QueueQuery(**query), TODAY)  # type: ignore[arg-type]
    return [row.group.id for row in found.rows]


async def test_the_queue_is_the_pending_registrations_in_scope_oldest_first(
    world: World, session: AsyncSession, clock: FrozenClock
) -> None:
    admin = await principal_as(session, world, "admin")
    here = await principal_as(session, world, "manager_here")
    # Registered later but received earlier (its row's created_at): it comes first.
    clock.set(DEFAULT_NOW + timedelta(hours=2))
    later = await groups.register(
        session, clock, world.settings, here, registration("後の会", "later@example.jp"), None
    )
    clock.set(DEFAULT_NOW - timedelta(days=3))
    earlier = await groups.register(
        session, clock, world.settings, here, registration("先の会", "earlier@example.jp"), None
    )
    assert earlier.id > later.id
    # Active groups A and B are not waiting; another facility's own group is not this
    # manager's to check.
    assert await queue(session, admin) == [
        earlier.id,
        world.centre_group,
        world.other_centre_group,
        later.id,
    ]
    assert await queue(session, here) == [earlier.id, world.centre_group, later.id]
    member = await principal_as(session, world, "member")
    with pytest.raises(PermissionDenied):
        await queue(session, member)


async def test_paging_shows_each_registration_once(world: World, session: AsyncSession) -> None:
    admin = await principal_as(session, world, "admin")
    first = await desk.registration_queue(session, admin, QueueQuery(page_size=1), TODAY)
    second = await desk.registration_queue(session, admin, QueueQuery(page=2, page_size=1), TODAY)
    third = await desk.registration_queue(session, admin, QueueQuery(page=3, page_size=1), TODAY)
    assert [r.group.id for r in first.rows] == [world.centre_group]
    assert [r.group.id for r in second.rows] == [world.other_centre_group]
    assert (first.has_next, second.has_next, third.has_next) == (True, False, False)
    assert third.rows == []


async def test_a_queue_row_says_the_roster_and_the_documents(
    world: World, session: AsyncSession, clock: FrozenClock
) -> None:
    here = await principal_as(session, world, "manager_here")
    mixed = registration("混成の会", "mixed@example.jp")
    for outsider in mixed.members[:2]:
        outsider.residency = Residency.NONE
    counter = await groups.register(session, clock, world.settings, here, mixed, None)
    found = await desk.registration_queue(session, here, QueueQuery(), TODAY)
    rows = {r.group.id: r for r in found.rows}
    # tests/people.py: a representative and 4 members, all living in the city.
    centre = rows[world.centre_group]
    assert (centre.members, centre.in_city_members) == (5, 5)
    assert centre.documents == (desk.IDENTITY, desk.ROSTER, desk.IN_CITY, desk.CENTRE_FORM)
    assert (rows[counter.id].members, rows[counter.id].in_city_members) == (5, 3)
    assert rows[counter.id].documents == (desk.IDENTITY, desk.ROSTER, desk.IN_CITY)


def _registration(category: GroupCategory, kind: GroupKind = GroupKind.GROUP) -> Group:
    return Group(kind=kind, category=category, name="会", in_city=False)


def _person(role: MemberRole, born: date, residency: Residency) -> Member:
    return Member(role=role, name="人", birth_date=born, residency=residency)


def test_the_documents_follow_the_rules_of_registration() -> None:
    adult = _person(MemberRole.REPRESENTATIVE, date(1970, 1, 1), Residency.NONE)
    outsiders = [adult, *[_person(MemberRole.MEMBER, date(1980, 1, 1), Residency.NONE)] * 4]
    general = _registration(GroupCategory.GENERAL)
    # Nobody in the city: no proof of residence to ask for.
    assert desk.documents_to_check(general, outsiders, TODAY) == (desk.IDENTITY, desk.ROSTER)
    worker = _person(MemberRole.MEMBER, date(1980, 1, 1), Residency.WORKS)
    assert desk.IN_CITY in desk.documents_to_check(general, [*outsiders, worker], TODAY)
    # A representative of 17 (no longer a pupil) needs a guardian's consent; of 18, not.
    for born, needed in ((date(2009, 1, 1), True), (date(2008, 11, 25), False)):
        rep = _person(MemberRole.REPRESENTATIVE, born, Residency.NONE)
        documents = desk.documents_to_check(general, [rep], TODAY)
        assert (desk.GUARDIAN_CONSENT in documents) is needed, born
    exempt = desk.documents_to_check(_registration(GroupCategory.EXEMPT), [adult], TODAY)
    assert desk.EXEMPTION in exempt
    senior = desk.documents_to_check(_registration(GroupCategory.SENIOR_CIVIC), [adult], TODAY)
    assert desk.CIVIC_ACTIVITY in senior
    alone = _registration(GroupCategory.GENERAL, GroupKind.INDIVIDUAL)
    assert desk.documents_to_check(alone, [adult], TODAY) == (desk.IDENTITY,)


async def test_search_by_card_name_phone_email_and_member_whatever_the_status(
    world: World, session: AsyncSession, clock: FrozenClock
) -> None:
    admin = await principal_as(session, world, "admin")
    await groups.update_group(
        session, clock, admin, world.group_b, GroupPatch(phone="044-200-1234")
    )
    await groups.suspend(session, clock, admin, world.group_b, "会費未納")
    assert await queue(session, admin, q=world.card_a) == [world.group_a]  # active
    assert await queue(session, admin, q="将棋") == [world.group_b]  # suspended, by name
    assert await queue(session, admin, q="川崎合唱団 会員2") == [world.group_a]  # a member
    assert await queue(session, admin, q="REP-B@example.jp") == [world.group_b]  # any case
    assert await queue(session, admin, q="member-a@") == [world.group_a]  # a member's e-mail
    # A phone typed on a Japanese keyboard, with or without hyphens.
    assert await queue(session, admin, q="０４４２００１２３４") == [world.group_b]
    assert await queue(session, admin, q="200-1234") == [world.group_b]
    # Wildcards match only themselves; a card number is matched whole.
    assert await queue(session, admin, q="%") == []
    assert await queue(session, admin, q=world.card_a[:6]) == []
    # The search keeps the manager's scope: another facility's group stays unseen.
    here = await principal_as(session, world, "manager_here")
    assert await queue(session, admin, q="子ども会") == sorted(
        [world.centre_group, world.other_centre_group]
    )
    assert await queue(session, here, q="子ども会") == [world.centre_group]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"q": "合唱\n団"}, "q"),
        ({"q": "合\x00"}, "q"),
        ({"q": "あ" * 101}, "q"),
        ({"page": 0}, "page"),
        ({"page": desk.MAX_PAGE + 1}, "page"),
        ({"page_size": desk.PAGE_SIZE + 1}, "page_size"),
    ],
)
async def test_bad_input_names_its_field(
    world: World, session: AsyncSession, query: dict[str, object], field: str
) -> None:
    admin = await principal_as(session, world, "admin")
    with pytest.raises(InvalidInput) as refused:
        await queue(session, admin, **query)
    assert refused.value.field == field


async def test_the_history_is_the_audit_trail_newest_first(
    world: World, session: AsyncSession, clock: FrozenClock
) -> None:
    here = await principal_as(session, world, "manager_here")
    clock.set(datetime(2026, 11, 26, 1, 0, tzinfo=UTC))
    await groups.activate(session, clock, world.settings, here, world.centre_group, None)
    clock.set(datetime(2026, 11, 27, 1, 0, tzinfo=UTC))
    await groups.suspend(session, clock, here, world.centre_group, "書類の不備")
    history = await desk.registration_history(session, here, world.centre_group)
    assert [(h.action, h.status_before, h.status_after) for h in history] == [
        ("suspended", "active", "suspended"),
        ("activated", "pending", "active"),
        ("registered", None, "pending"),
    ]
    assert history[0].reason == "書類の不備"
    assert {h.actor for h in history} == {"manager_here"}  # registered at its counter
    elsewhere = await principal_as(session, world, "manager_elsewhere")
    with pytest.raises(PermissionDenied):
        await desk.registration_history(session, elsewhere, world.centre_group)


async def test_a_name_in_latin_letters_is_found_in_any_case(
    world: World, session: AsyncSession, clock: FrozenClock
) -> None:
    admin = await principal_as(session, world, "admin")
    await groups.update_group(
        session, clock, admin, world.group_b, GroupPatch(name_kana="Saiwai Shogi Club")
    )
    assert await queue(session, admin, q="shogi club") == [world.group_b]
    assert await queue(session, admin, q="SAIWAI") == [world.group_b]
