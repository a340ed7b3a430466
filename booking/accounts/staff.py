"""Staff and user administration: administrators, facility managers, suspending a person."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.access import Principal, require_admin
from booking.accounts.credentials import end_credentials
from booking.accounts.login import issue_password_link, set_password
from booking.accounts.models import (
    Group,
    ManagerFacility,
    Member,
    MemberRole,
    StaffRole,
    TokenPurpose,
    User,
    UserStatus,
)
from booking.accounts.people import clean_email, find_or_invite, user_by_email
from booking.audit.service import Actor, record
from booking.clock import Clock
from booking.errors import Conflict, InvalidInput, NotFound
from booking.inventory.models import Facility
from booking.settings import Settings


async def facilities_of(session: AsyncSession, user_id: int) -> list[int]:
    stmt = select(ManagerFacility.facility_id).where(ManagerFacility.user_id == user_id)
    return sorted((await session.scalars(stmt)).all())


async def _check_facilities(session: AsyncSession, facility_ids: Sequence[int]) -> list[int]:
    wanted = sorted(set(facility_ids))
    found = set((await session.scalars(select(Facility.id).where(Facility.id.in_(wanted)))).all())
    missing = [fid for fid in wanted if fid not in found]
    if missing:
        raise InvalidInput(f"no facility {missing[0]}", field="facility_ids")
    return wanted


async def _assign(session: AsyncSession, user_id: int, facility_ids: list[int]) -> None:
    await session.execute(delete(ManagerFacility).where(ManagerFacility.user_id == user_id))
    session.add_all(ManagerFacility(user_id=user_id, facility_id=fid) for fid in facility_ids)
    await session.flush()


async def _role_change(
    session: AsyncSession,
    clock: Clock,
    actor: Actor,
    user: User,
    before: tuple[StaffRole | None, list[int]],
    facility_ids: list[int],
) -> None:
    after = (user.staff_role, facility_ids)
    if after == before:
        return
    await record(
        session,
        clock,
        actor,
        "user.role_changed",
        ("user", user.id),
        before={"staff_role": before[0], "facility_ids": before[1]},
        after={"staff_role": after[0], "facility_ids": after[1]},
    )


async def grant_staff_role(  # noqa: PLR0913
    session: AsyncSession,
    clock: Clock,
    settings: Settings,
    actor: Actor,
    *,
    email: str,
    name: str,
    role: StaffRole,
    facility_ids: Sequence[int] = (),
    password: str | None = None,
) -> User:
    """Make someone an administrator or a manager, creating their login if need be.

    Without a password the person gets an invitation mail to set one. Used by the CLI (which
    has no principal: the operator at the server is trusted) and by the managers API.
    """
    email = clean_email(email, "email")
    if not name.strip() and await user_by_email(session, email) is None:
        raise InvalidInput("a new person needs a name", field="name")
    user, created = await find_or_invite(session, clock, email, name.strip(), None)
    before = (user.staff_role, await facilities_of(session, user.id))
    if role is StaffRole.MANAGER and user.staff_role is StaffRole.ADMIN:
        raise Conflict("this person is an administrator already", field="email", code="is_admin")
    assigned = await _check_facilities(session, facility_ids) if role is StaffRole.MANAGER else []
    user.staff_role = role
    await _assign(session, user.id, assigned)
    if password is not None:
        await set_password(clock, settings, user, password)
    elif created or user.password_hash is None:
        await issue_password_link(session, clock, settings, user, TokenPurpose.INVITE)
    await _role_change(session, clock, actor, user, before, assigned)
    return user


async def appoint(  # noqa: PLR0913
    session: AsyncSession,
    clock: Clock,
    settings: Settings,
    principal: Principal,
    *,
    email: str,
    name: str,
    role: StaffRole,
    facility_ids: Sequence[int] = (),
) -> User:
    """An administrator makes someone a manager of some facilities, or an administrator."""
    require_admin(principal)
    return await grant_staff_role(
        session,
        clock,
        settings,
        principal.actor,
        email=email,
        name=name,
        role=role,
        facility_ids=facility_ids,
    )


async def list_managers(session: AsyncSession, principal: Principal) -> Sequence[User]:
    return await list_staff(session, principal, StaffRole.MANAGER)


async def list_staff(
    session: AsyncSession, principal: Principal, role: StaffRole
) -> Sequence[User]:
    require_admin(principal)
    stmt = select(User).where(User.staff_role == role).order_by(User.id)
    return (await session.scalars(stmt)).all()


async def _manager(session: AsyncSession, user_id: int) -> User:
    user = await session.get(User, user_id, with_for_update=True)
    if user is None or user.staff_role is not StaffRole.MANAGER:
        raise NotFound(f"no manager {user_id}", code="manager_not_found")
    return user


async def set_manager_facilities(
    session: AsyncSession,
    clock: Clock,
    principal: Principal,
    user_id: int,
    facility_ids: Sequence[int],
) -> User:
    require_admin(principal)
    user = await _manager(session, user_id)
    before = (user.staff_role, await facilities_of(session, user.id))
    assigned = await _check_facilities(session, facility_ids)
    await _assign(session, user.id, assigned)
    await _role_change(session, clock, principal.actor, user, before, assigned)
    return user


async def revoke_manager(
    session: AsyncSession, clock: Clock, principal: Principal, user_id: int
) -> None:
    """The person stays (their groups and bookings are theirs); the staff role goes, at once."""
    require_admin(principal)
    user = await _manager(session, user_id)
    before = (user.staff_role, await facilities_of(session, user.id))
    user.staff_role = None
    await _assign(session, user.id, [])
    await _role_change(session, clock, principal.actor, user, before, [])


async def revoke_admin(
    session: AsyncSession, clock: Clock, principal: Principal, user_id: int
) -> None:
    """Not one's own role: the administrator acting stays one, so the city never has none."""
    require_admin(principal)
    user = await get_user(session, user_id)
    if user.staff_role is not StaffRole.ADMIN:
        raise NotFound(f"no administrator {user_id}", code="admin_not_found")
    if user.id == principal.user_id:
        raise Conflict("you cannot take your own administrator role", code="self_revocation")
    before = (user.staff_role, await facilities_of(session, user.id))
    user.staff_role = None
    await _role_change(session, clock, principal.actor, user, before, [])


async def find_users(
    session: AsyncSession, principal: Principal, text: str, *, limit: int = 50
) -> Sequence[User]:
    """People whose e-mail address or name contains the text (an administrator's search)."""
    require_admin(principal)
    stmt = (
        select(User)
        .where(
            or_(
                User.email.icontains(text.lower(), autoescape=True),
                User.name.icontains(text, autoescape=True),
            )
        )
        .order_by(User.id)
        .limit(limit)
    )
    return (await session.scalars(stmt)).all()


async def groups_of(
    session: AsyncSession, principal: Principal, user_id: int
) -> Sequence[tuple[Group, MemberRole]]:
    """The registrations on whose roster the person is, and their role on each."""
    require_admin(principal)
    stmt = (
        select(Group, Member.role)
        .join(Member, Member.group_id == Group.id)
        .where(Member.user_id == user_id)
        .order_by(Group.id)
    )
    return [(group, role) for group, role in (await session.execute(stmt)).all()]


async def view_user(session: AsyncSession, principal: Principal, user_id: int) -> User:
    """A person as an administrator sees them (no lock: a page that only shows)."""
    require_admin(principal)
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user {user_id}", code="user_not_found")
    return user


async def get_user(session: AsyncSession, user_id: int) -> User:
    user = await session.get(User, user_id, with_for_update=True)
    if user is None:
        raise NotFound(f"no user {user_id}", code="user_not_found")
    return user


async def set_user_status(
    session: AsyncSession,
    clock: Clock,
    principal: Principal,
    user_id: int,
    status: UserStatus,
    *,
    reason: str | None = None,
) -> User:
    """Suspending a person ends every session of theirs at once and revokes their API tokens
    and password links for good: reinstating them later revives none of it. The reason is
    kept in the audit event (the person's page shows the latest)."""
    require_admin(principal)
    user = await get_user(session, user_id)
    if user.id == principal.user_id:
        raise Conflict("you cannot suspend yourself", code="self_suspension")
    if user.status is status:
        return user
    before = {"status": user.status.value}
    user.status = status
    if status is UserStatus.SUSPENDED:
        await end_credentials(session, clock, principal.actor, user.id, reason="user_suspended")
    action = "user.suspended" if status is UserStatus.SUSPENDED else "user.reinstated"
    await record(
        session,
        clock,
        principal.actor,
        action,
        ("user", user.id),
        before=before,
        after={"status": status.value, **({"reason": reason} if reason else {})},
    )
    return user
