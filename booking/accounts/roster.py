"""A group's roster: the representative (or staff at a counter) adds, edits and removes members.

The roster keeps the registration's rules true after every change: enough members, a
representative who may represent, and the in-city flag recomputed from residencies.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.access import Principal, require_manage_roster
from booking.accounts.groups import check_member_fields, get_group, roster
from booking.accounts.login import issue_password_link
from booking.accounts.models import Group, GroupKind, Member, MemberRole, TokenPurpose
from booking.accounts.people import clean_email, find_or_invite
from booking.accounts.rules import (
    REPRESENTATIVE_RULE,
    RosterEntry,
    is_in_city,
    may_represent,
    min_members,
)
from booking.accounts.schemas import MemberIn, MemberPatch
from booking.audit.service import record
from booking.clock import Clock, local_today
from booking.errors import Conflict, InvalidInput, NotFound, RuleViolation
from booking.settings import Settings


def _audited(member: Member) -> dict[str, object]:
    return {
        "name": member.name,
        "role": member.role.value,
        "residency": member.residency.value,
        "user_id": member.user_id,
    }


async def _refresh_in_city(session: AsyncSession, group: Group) -> None:
    await session.flush()
    members = await roster(session, group.id)
    group.in_city = is_in_city([RosterEntry(m.birth_date, m.residency) for m in members])


async def _member_of(session: AsyncSession, group: Group, member_id: int) -> Member:
    member = await session.get(Member, member_id, with_for_update=True)
    if member is None or member.group_id != group.id:
        raise NotFound(f"no member {member_id} in group {group.id}", code="member_not_found")
    return member


async def add_member(
    session: AsyncSession,
    clock: Clock,
    settings: Settings,
    principal: Principal,
    group_id: int,
    entry: MemberIn,
) -> Member:
    group = await get_group(session, group_id, for_update=True)
    require_manage_roster(principal, group)
    if group.kind is GroupKind.INDIVIDUAL:
        raise RuleViolation("an individual registration has no other members", field="members")
    problems = check_member_fields(entry, "member", local_today(clock, settings.tz))
    if problems:
        raise InvalidInput(problems[0][1], field=problems[0][0], problems=problems)
    user = None
    if entry.email:
        user, created = await find_or_invite(session, clock, entry.email, entry.name, entry.phone)
        if any(m.user_id == user.id for m in await roster(session, group.id)):
            raise Conflict(
                "this person is already on the roster", field="email", code="duplicate_member"
            )
        if created:
            await issue_password_link(session, clock, settings, user, TokenPurpose.INVITE)
    member = Member(
        group_id=group.id,
        user_id=user.id if user else None,
        role=MemberRole.MEMBER,
        name=entry.name,
        birth_date=entry.birth_date,
        residency=entry.residency,
        email=entry.email,
        phone=entry.phone,
    )
    session.add(member)
    await _refresh_in_city(session, group)
    await record(
        session,
        clock,
        principal.actor,
        "group.member_added",
        ("group", group.id),
        after=_audited(member),
    )
    return member


async def update_member(
    session: AsyncSession,
    clock: Clock,
    settings: Settings,
    principal: Principal,
    group_id: int,
    member_id: int,
    patch: MemberPatch,
) -> Member:
    group = await get_group(session, group_id, for_update=True)
    require_manage_roster(principal, group)
    member = await _member_of(session, group, member_id)
    before = _audited(member)
    today = local_today(clock, settings.tz)
    if patch.birth_date is not None:
        probe = MemberIn(name=member.name, birth_date=patch.birth_date, residency=member.residency)
        if problems := check_member_fields(probe, "birth_date", today):
            raise InvalidInput(problems[0][1], field="birth_date")
        if member.role is MemberRole.REPRESENTATIVE and not may_represent(patch.birth_date, today):
            raise RuleViolation(
                REPRESENTATIVE_RULE,
                field="birth_date",
            )
        member.birth_date = patch.birth_date
    if patch.email is not None:
        member.email = clean_email(patch.email, "email")
    for name in ("name", "residency", "phone"):
        value = getattr(patch, name)
        if value is not None:
            setattr(member, name, value)
    await _refresh_in_city(session, group)
    await record(
        session,
        clock,
        principal.actor,
        "group.member_updated",
        ("group", group.id),
        before=before,
        after=_audited(member),
    )
    return member


async def remove_member(
    session: AsyncSession, clock: Clock, principal: Principal, group_id: int, member_id: int
) -> None:
    group = await get_group(session, group_id, for_update=True)
    require_manage_roster(principal, group)
    member = await _member_of(session, group, member_id)
    if member.role is MemberRole.REPRESENTATIVE:
        raise RuleViolation(
            "the representative cannot be removed; hand the role to another member first",
            code="representative_required",
        )
    size = len(await roster(session, group.id))
    needed = min_members(group.kind, group.category)
    if size - 1 < needed:
        raise RuleViolation(
            f"a {group.category.value} group keeps at least {needed} members",
            field="members",
            code="too_few_members",
        )
    before = _audited(member)
    await session.delete(member)
    await _refresh_in_city(session, group)
    await record(
        session, clock, principal.actor, "group.member_removed", ("group", group.id), before=before
    )


async def change_representative(
    session: AsyncSession,
    clock: Clock,
    settings: Settings,
    principal: Principal,
    group_id: int,
    member_id: int,
) -> Member:
    """Hand the representative's role (and so the card's login) to another member: a role
    change, audited as one."""
    group = await get_group(session, group_id, for_update=True)
    require_manage_roster(principal, group)
    member = await _member_of(session, group, member_id)
    if member.role is MemberRole.REPRESENTATIVE:
        return member
    if member.user_id is None:
        raise RuleViolation(
            "the new representative needs a login: give them an e-mail address first",
            field="member_id",
        )
    if not may_represent(member.birth_date, local_today(clock, settings.tz)):
        raise RuleViolation(
            REPRESENTATIVE_RULE,
            field="member_id",
        )
    current = next(
        m for m in await roster(session, group.id) if m.role is MemberRole.REPRESENTATIVE
    )
    current.role = MemberRole.MEMBER
    await session.flush()  # one representative at a time, even inside the transaction
    member.role = MemberRole.REPRESENTATIVE
    await session.flush()
    await record(
        session,
        clock,
        principal.actor,
        "group.representative_changed",
        ("group", group.id),
        before={"representative_member_id": current.id, "user_id": current.user_id},
        after={"representative_member_id": member.id, "user_id": member.user_id},
    )
    return member
