"""What a registration's changes leave in the audit trail (accounts/groups.py), and what staff
are told when a change does not apply.

Staff answer a group's "who suspended us, and why?" or "since when is our name this?" from the
audit trail (GET /api/v1/audit): each change of a registration is one event naming the action,
the registration, who did it, and the state before and after (groups.snapshot: no personal data
beyond the name). A change that changes nothing leaves no event. Through the services on the
world of tests/people.py: group A registered online, then activated by the administrator.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts import groups
from booking.accounts.models import GroupStatus
from booking.accounts.schemas import GroupPatch
from booking.audit.models import AuditEvent
from booking.clock import FrozenClock
from booking.errors import BookingError, Conflict, InvalidInput, NotFound
from tests.helpers import jst
from tests.people import World, principal_as

# An audit event as staff read it: action, target, actor, before, after.
Event = tuple[str, str, str, int | None, dict[str, Any] | None, dict[str, Any] | None]


async def trail(session: AsyncSession, group_id: int) -> list[Event]:
    """Every audit event of one registration, oldest first."""
    await session.flush()
    events = await session.scalars(
        select(AuditEvent)
        .where(AuditEvent.target_id == str(group_id), AuditEvent.action.startswith("group."))
        .order_by(AuditEvent.id)
    )
    return [
        (e.action, e.target_type, e.target_id, e.actor_user_id, e.before, e.after) for e in events
    ]


def state(status: str, card: str | None, valid_until: str | None) -> dict[str, Any]:
    """groups.snapshot of group A (tests/people.py) in a status."""
    return {
        "status": status,
        "card_number": card,
        "valid_until": valid_until,
        "name": "川崎合唱団",
        "category": "general",
        "facility_id": None,
        "in_city": True,
    }


async def test_each_step_of_a_registrations_life_is_one_event_with_its_before_and_after(
    world: World, session: AsyncSession, clock: FrozenClock
) -> None:
    """Group A: registered online by its representative, activated by the administrator
    (tests/people.py); on 1 December suspended, suspended again (nothing to record),
    reinstated and renewed by the administrator."""
    admin = await principal_as(session, world, "admin")
    group_id, card, rep = world.group_a, world.card_a, world.user_ids["representative"]
    target = ("group", str(group_id))
    registered = state("pending", None, None)
    active = state("active", card, "2027-03-31")
    assert await trail(session, group_id) == [
        ("group.registered", *target, rep, None, registered),
        ("group.activated", *target, world.user_ids["admin"], registered, active),
    ]

    clock.set(jst(date(2026, 12, 1), 10))
    suspended = await groups.suspend(session, clock, admin, group_id, "会費未納の確認中")
    assert (suspended.status, suspended.suspended_reason) == (
        GroupStatus.SUSPENDED,
        "会費未納の確認中",
    )
    again = await groups.suspend(session, clock, admin, group_id, "別の理由")
    assert again.suspended_reason == "会費未納の確認中"  # the first reason stands
    reinstated = await groups.reinstate(session, clock, admin, group_id)
    assert (reinstated.status, reinstated.suspended_reason) == (GroupStatus.ACTIVE, None)
    renewed = await groups.renew(session, clock, world.settings, admin, group_id)
    assert renewed.valid_until == date(2028, 3, 31)

    was_suspended = state("suspended", card, "2027-03-31")
    assert (await trail(session, group_id))[2:] == [
        (
            "group.suspended",
            *target,
            world.user_ids["admin"],
            active,
            {**was_suspended, "reason": "会費未納の確認中"},
        ),
        ("group.reinstated", *target, world.user_ids["admin"], was_suspended, active),
        (
            "group.renewed",
            *target,
            world.user_ids["admin"],
            active,
            state("active", card, "2028-03-31"),
        ),
    ]


async def test_a_registration_without_a_card_is_reinstated_to_pending_and_audited_so(
    world: World, session: AsyncSession, clock: FrozenClock
) -> None:
    """The children's centre's group was registered at the counter and never activated."""
    manager = await principal_as(session, world, "manager_here")
    group_id = world.centre_group
    pending = {
        "status": "pending",
        "card_number": None,
        "valid_until": None,
        "name": "子ども会こまどり",
        "category": "children_centre",
        "facility_id": world.here,
        "in_city": True,
    }
    await groups.suspend(session, clock, manager, group_id, "書類の不備")
    reinstated = await groups.reinstate(session, clock, manager, group_id)
    assert (reinstated.status, reinstated.suspended_reason) == (GroupStatus.PENDING, None)
    suspended = {**pending, "status": "suspended"}
    who, target = world.user_ids["manager_here"], ("group", str(group_id))
    assert (await trail(session, group_id))[1:] == [
        ("group.suspended", *target, who, pending, {**suspended, "reason": "書類の不備"}),
        ("group.reinstated", *target, who, suspended, pending),
    ]


CONTACT = {
    "name": "川崎合唱団",
    "name_kana": None,
    "email": "rep-a@example.jp",
    "phone": None,
}


@pytest.mark.parametrize(
    ("patch", "after"),
    [
        pytest.param(GroupPatch(name="川崎市民合唱団"), {"name": "川崎市民合唱団"}, id="name"),
        pytest.param(
            GroupPatch(name_kana="カワサキガッショウダン"),
            {"name_kana": "カワサキガッショウダン"},
            id="reading",
        ),
        pytest.param(
            GroupPatch(email="  Chorus@Example.JP "),
            {"email": "chorus@example.jp"},
            id="e-mail-cleaned",
        ),
        pytest.param(GroupPatch(phone="044-200-0000"), {"phone": "044-200-0000"}, id="phone"),
        pytest.param(
            GroupPatch(name="川崎合唱団", email="REP-A@example.jp"), None, id="the-same-values"
        ),
        pytest.param(GroupPatch(), None, id="nothing"),
    ],
)
async def test_a_contact_change_is_stored_and_audited_only_when_it_changes_something(
    world: World,
    session: AsyncSession,
    clock: FrozenClock,
    patch: GroupPatch,
    after: dict[str, Any] | None,
) -> None:
    """The representative changes the group's name, reading, address or phone. An address is
    stored as groups keep them (trimmed, lower case), so typing the same one in capitals
    changes nothing, and nothing is recorded."""
    rep = await principal_as(session, world, "representative")
    before_events = await trail(session, world.group_a)
    group = await groups.update_group(session, clock, rep, world.group_a, patch)
    now = {f: getattr(group, f) for f in CONTACT}
    assert now == {**CONTACT, **(after or {})}
    events = (await trail(session, world.group_a))[len(before_events) :]
    if after is None:
        assert events == []
    else:
        assert events == [
            (
                "group.updated",
                "group",
                str(world.group_a),
                world.user_ids["representative"],
                CONTACT,
                {**CONTACT, **after},
            )
        ]


async def test_a_contact_address_that_is_not_one_is_refused_by_its_field(
    world: World, session: AsyncSession, clock: FrozenClock
) -> None:
    rep = await principal_as(session, world, "representative")
    events = await trail(session, world.group_a)
    with pytest.raises(InvalidInput) as refused:
        await groups.update_group(session, clock, rep, world.group_a, GroupPatch(email="no-at"))
    assert refused.value.field == "email"
    assert refused.value.message.startswith("not a valid e-mail address: ")
    group = await groups.get_group(session, world.group_a)
    assert group.email == "rep-a@example.jp"
    assert await trail(session, world.group_a) == events


@pytest.mark.parametrize(
    ("action", "group", "code", "message"),
    [
        pytest.param(
            "activate", "group_a", "not_pending", "the registration is active, not pending"
        ),
        pytest.param(
            "renew", "centre_group", "not_active", "only an active registration is renewed"
        ),
        pytest.param("reinstate", "group_a", "not_suspended", "the registration is not suspended"),
    ],
)
async def test_a_change_that_does_not_apply_to_the_status_says_so(
    world: World,
    session: AsyncSession,
    clock: FrozenClock,
    action: str,
    group: str,
    code: str,
    message: str,
) -> None:
    """Staff read the message at the counter: it names what the registration is not."""
    admin = await principal_as(session, world, "admin")
    group_id: int = getattr(world, group)
    calls = {
        "activate": lambda: groups.activate(session, clock, world.settings, admin, group_id, None),
        "renew": lambda: groups.renew(session, clock, world.settings, admin, group_id),
        "reinstate": lambda: groups.reinstate(session, clock, admin, group_id),
    }
    events = await trail(session, group_id)
    with pytest.raises(BookingError) as refused:
        await calls[action]()
    assert isinstance(refused.value, Conflict)
    assert (refused.value.code, refused.value.message) == (code, message)
    assert await trail(session, group_id) == events


@pytest.mark.parametrize("action", ["view", "update", "activate", "suspend", "reinstate", "renew"])
async def test_a_registration_that_does_not_exist_is_named_in_the_refusal(
    world: World, session: AsyncSession, clock: FrozenClock, action: str
) -> None:
    admin = await principal_as(session, world, "admin")
    missing = 999_999
    calls = {
        "view": lambda: groups.view_group(session, admin, missing),
        "update": lambda: groups.update_group(session, clock, admin, missing, GroupPatch()),
        "activate": lambda: groups.activate(session, clock, world.settings, admin, missing, None),
        "suspend": lambda: groups.suspend(session, clock, admin, missing, "確認中"),
        "reinstate": lambda: groups.reinstate(session, clock, admin, missing),
        "renew": lambda: groups.renew(session, clock, world.settings, admin, missing),
    }
    with pytest.raises(NotFound) as refused:
        await calls[action]()
    assert (refused.value.code, refused.value.message) == ("group_not_found", "no group 999999")
