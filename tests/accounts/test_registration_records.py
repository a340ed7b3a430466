"""What a registration writes (accounts/groups.py `register`), for each way of registering.

Online (the representative's address proven by the mailed link: the service is called without
an actor), by a logged-in person who becomes the representative, and by staff at a counter.
Each writes the pending registration as typed, its roster with who has a login, invitations to
the people on it who have none yet, a receipt to an address someone has proven (or, at the
counter, the one staff were given), and one audit event naming who registered. Through the
service on the world of tests/people.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts import groups
from booking.accounts.access import Principal
from booking.accounts.models import (
    GroupCategory,
    GroupKind,
    GroupStatus,
    MemberRole,
    Residency,
    User,
    UserStatus,
)
from booking.accounts.passwords import verify_password
from booking.accounts.schemas import MemberIn, RegistrationIn, RepresentativeIn
from booking.audit.models import AuditEvent
from booking.clock import FrozenClock
from booking.errors import BookingError, Conflict, InvalidInput
from booking.notifications.models import OutboxMessage
from tests.people import PASSWORD, World, principal_as

ADDRESS = "203.0.113.7"  # the registrant's client address, kept in the audit trail online
REP_BORN = date(1975, 6, 15)


def form(way: str, *, contact: str | None, phone: str | None) -> RegistrationIn:
    """A choir of five: the representative, a member who has a login already (group B's
    representative), one with a new address, one without any, one who lives outside the city."""
    rep_email = {"online": "new-rep@example.jp", "logged-in": None, "counter": "desk@example.jp"}
    return RegistrationIn(
        kind=GroupKind.GROUP,
        name="宮前混声合唱団",
        name_kana="ミヤマエコンセイガッショウダン",
        category=GroupCategory.GENERAL,
        email=contact,
        phone=phone,
        guardian_consent=True,
        representative=RepresentativeIn(
            name="宮前 代表",
            birth_date=REP_BORN,
            residency=Residency.WORKS,
            email=rep_email[way],
            phone="044-111-2222",
            password=PASSWORD if way == "online" else None,
        ),
        members=[
            MemberIn(
                name="既存 会員",
                birth_date=date(1980, 1, 2),
                residency=Residency.LIVES,
                email="rep-b@example.jp",
            ),
            MemberIn(
                name="新規 会員",
                birth_date=date(1981, 3, 4),
                residency=Residency.STUDIES,
                email="new-member@example.jp",
                phone="090-0000-0001",
            ),
            MemberIn(name="連絡先なし", birth_date=date(1982, 5, 6), residency=Residency.LIVES),
            MemberIn(name="市外 会員", birth_date=date(1983, 7, 8), residency=Residency.NONE),
        ],
    )


async def actor_for(session: AsyncSession, world: World, way: str) -> Principal | None:
    role = {"online": None, "logged-in": "representative", "counter": "manager_here"}[way]
    if role is None:
        return None
    return await principal_as(session, world, role)


@dataclass(frozen=True)
class Way:
    way: str  # online, logged-in, counter
    contact: str | None  # the group's contact address and phone as typed
    phone: str | None
    rep_email: str  # the representative's login
    group_email: str  # as stored
    group_phone: str
    receipt: str  # where "registration received" is mailed
    invited: tuple[str, ...]


WAYS = {
    "online-contact-from-the-representative": Way(
        "online",
        None,
        None,
        "new-rep@example.jp",
        "new-rep@example.jp",
        "044-111-2222",
        "new-rep@example.jp",
        ("new-member@example.jp",),
    ),
    "online-own-contact": Way(
        "online",
        "choir@example.jp",
        "044-999-0000",
        "new-rep@example.jp",
        "choir@example.jp",
        "044-999-0000",
        "new-rep@example.jp",  # the typed contact address is not proven
        ("new-member@example.jp",),
    ),
    "logged-in": Way(
        "logged-in",
        "choir@example.jp",
        None,
        "rep-a@example.jp",
        "choir@example.jp",
        "044-111-2222",
        "rep-a@example.jp",  # the representative's own, proven, address
        ("new-member@example.jp",),
    ),
    "at-the-counter": Way(
        "counter",
        "choir@example.jp",
        None,
        "desk@example.jp",
        "choir@example.jp",
        "044-111-2222",
        "choir@example.jp",  # staff were given it at the counter
        ("desk@example.jp", "new-member@example.jp"),
    ),
}


@pytest.mark.parametrize("case", list(WAYS.values()), ids=list(WAYS))
async def test_what_each_way_of_registering_writes(
    world: World, session: AsyncSession, clock: FrozenClock, case: Way
) -> None:
    actor = await actor_for(session, world, case.way)
    mails_before = await session.scalar(select(func.max(OutboxMessage.id)))
    group = await groups.register(
        session,
        clock,
        world.settings,
        actor,
        form(case.way, contact=case.contact, phone=case.phone),
        ADDRESS,
    )
    await session.flush()

    stored = {
        "kind": group.kind,
        "category": group.category,
        "name": group.name,
        "name_kana": group.name_kana,
        "facility_id": group.facility_id,
        "status": group.status,
        "card_number": group.card_number,
        "in_city": group.in_city,
        "email": group.email,
        "phone": group.phone,
        "guardian_consent": group.guardian_consent,
        "created_at": group.created_at,
    }
    assert stored == {
        "kind": GroupKind.GROUP,
        "category": GroupCategory.GENERAL,
        "name": "宮前混声合唱団",
        "name_kana": "ミヤマエコンセイガッショウダン",
        "facility_id": None,
        "status": GroupStatus.PENDING,
        "card_number": None,
        "in_city": True,  # 4 of 5 live, work or study in the city
        "email": case.group_email,
        "phone": case.group_phone,
        "guardian_consent": True,
        "created_at": clock.now(),
    }

    rep_user = await session.scalar(select(User).where(User.email == case.rep_email))
    assert rep_user is not None
    existing = await session.scalar(select(User.id).where(User.email == "rep-b@example.jp"))
    new_member = await session.scalar(select(User).where(User.email == "new-member@example.jp"))
    assert new_member is not None
    assert (new_member.name, new_member.phone, new_member.password_hash) == (
        "新規 会員",
        "090-0000-0001",
        None,
    )
    roster = [
        (m.role, m.name, m.birth_date, m.residency, m.email, m.phone, m.user_id)
        for m in await groups.roster(session, group.id)
    ]
    assert roster == [
        (
            MemberRole.REPRESENTATIVE,
            "宮前 代表",
            REP_BORN,
            Residency.WORKS,
            None if case.way == "logged-in" else case.rep_email,
            "044-111-2222",
            rep_user.id,
        ),
        (
            MemberRole.MEMBER,
            "既存 会員",
            date(1980, 1, 2),
            Residency.LIVES,
            "rep-b@example.jp",
            None,
            existing,
        ),
        (
            MemberRole.MEMBER,
            "新規 会員",
            date(1981, 3, 4),
            Residency.STUDIES,
            "new-member@example.jp",
            "090-0000-0001",
            new_member.id,
        ),
        (MemberRole.MEMBER, "連絡先なし", date(1982, 5, 6), Residency.LIVES, None, None, None),
        (MemberRole.MEMBER, "市外 会員", date(1983, 7, 8), Residency.NONE, None, None, None),
    ]

    mails = (
        await session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.id > mails_before)
            .order_by(OutboxMessage.to_address)
        )
    ).all()
    assert sorted((m.template, m.to_address) for m in mails) == sorted(
        [("registration_received", case.receipt)] + [("invitation", a) for a in case.invited]
    )
    (received,) = [m for m in mails if m.template == "registration_received"]
    assert "宮前混声合唱団" in received.body_text
    assert world.settings.public_url in received.body_text

    (event,) = (
        await session.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "group.registered", AuditEvent.target_id == str(group.id)
            )
        )
    ).all()
    by = {
        "online": (rep_user.id, ADDRESS),
        "logged-in": (world.user_ids["representative"], None),
        "counter": (world.user_ids["manager_here"], None),
    }
    assert (event.target_type, event.actor_user_id, event.address) == ("group", *by[case.way])
    assert event.after == groups.snapshot(group)


@pytest.mark.parametrize("way", ["online", "counter"])
async def test_a_representatives_new_login_keeps_their_name_and_phone(
    world: World, session: AsyncSession, clock: FrozenClock, way: str
) -> None:
    """Online the login is made with the password chosen, and counts as set now; at the
    counter it has none until the invited person sets one."""
    actor = await actor_for(session, world, way)
    data = form(way, contact=None, phone=None)
    await groups.register(session, clock, world.settings, actor, data, None)
    user = await session.scalar(select(User).where(User.email == data.representative.email))
    assert user is not None
    assert (user.name, user.phone, user.status, user.created_at) == (
        "宮前 代表",
        "044-111-2222",
        UserStatus.ACTIVE,
        clock.now(),
    )
    if way == "online":
        assert await verify_password(world.settings, user.password_hash, PASSWORD)
        assert user.password_changed_at == clock.now()
    else:
        assert (user.password_hash, user.password_changed_at) == (None, None)


async def test_online_an_address_that_got_a_login_meanwhile_is_told_to_log_in_first(
    world: World, session: AsyncSession, clock: FrozenClock
) -> None:
    """The link was mailed, then the address got a login (staff put it on a roster): using the
    link now would make a second login for one address."""
    data = form("online", contact=None, phone=None)
    data.representative.email = "member-a@example.jp"  # group A's member: has a login
    with pytest.raises(BookingError) as refused:
        await groups.register(session, clock, world.settings, None, data, ADDRESS)
    assert isinstance(refused.value, Conflict)
    assert (refused.value.code, refused.value.field, refused.value.message) == (
        "email_taken",
        "representative.email",
        "this e-mail address is already registered: log in, then register the group",
    )


NEEDS_LOGIN = "an e-mail address is needed for the representative's login"
YOU = "the representative is you: leave the e-mail empty or give your own"
OWNER = "a password is set only by its owner"


@pytest.mark.parametrize(
    ("way", "rep_email", "password", "refusal"),
    [
        pytest.param("logged-in", None, None, None, id="logged-in-no-address"),
        pytest.param("logged-in", "REP-A@example.jp", None, None, id="logged-in-own-address"),
        pytest.param(
            "logged-in",
            "someone@example.jp",
            None,
            ("representative.email", YOU),
            id="logged-in-someone-elses-address",
        ),
        pytest.param(
            "logged-in",
            None,
            PASSWORD,
            ("representative.password", OWNER),
            id="logged-in-with-a-password",
        ),
        pytest.param("counter", "desk@example.jp", None, None, id="counter"),
        pytest.param(
            "counter", None, None, ("representative.email", NEEDS_LOGIN), id="counter-no-address"
        ),
        pytest.param(
            "counter",
            "desk@example.jp",
            PASSWORD,
            ("representative.password", OWNER),
            id="counter-with-a-password",
        ),
    ],
)
async def test_who_the_representative_is_when_someone_is_logged_in(
    world: World,
    session: AsyncSession,
    clock: FrozenClock,
    way: str,
    rep_email: str | None,
    password: str | None,
    refusal: tuple[str, str] | None,
) -> None:
    """A logged-in person registers a group they represent themselves: their own address or
    none. Staff register someone else, who needs an address to be invited to. Only the
    representative sets their password, online; nobody chooses one for someone else."""
    data = form(way, contact=None, phone=None)
    data.representative.email, data.representative.password = rep_email, password
    register = groups.register(
        session, clock, world.settings, await actor_for(session, world, way), data, None
    )
    if refusal is None:
        group = await register
        (rep,) = [m for m in await groups.roster(session, group.id) if m.role.value != "member"]
        expected = "rep-a@example.jp" if way == "logged-in" else "desk@example.jp"
        assert rep.user_id == await session.scalar(select(User.id).where(User.email == expected))
        return
    with pytest.raises(InvalidInput) as refused:
        await register
    assert (refused.value.field, refused.value.message) == refusal
