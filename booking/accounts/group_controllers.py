"""HTTP for registrations and rosters. Parse, call the service, shape; no rules here."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_202_ACCEPTED

from booking.accounts import groups, registrations, roster
from booking.accounts.auth import Auth, client_address
from booking.accounts.models import Group, GroupStatus, Member
from booking.accounts.schemas import (
    ActivateIn,
    GroupDetail,
    GroupPatch,
    GroupRead,
    MemberIn,
    MemberPatch,
    MemberRead,
    RegistrationConfirmIn,
    RegistrationIn,
    RepresentativeChange,
    SuspendIn,
)
from booking.clock import local_today
from booking.deps import AppSettings, CurrentClock, DbSession
from booking.web.errors import error_responses
from booking.web.fields import CARD_NUMBER, Limit, MaybeId, Offset, SearchText

REGISTRATION_ANSWER = {
    "detail": "To finish the registration, open the link mailed to the representative's "
    "e-mail address. / 代表者のメールアドレスにお送りしたリンクから登録を完了してください。"
}


def group_read(group: Group, member_count: int, today: date) -> GroupRead:
    return GroupRead(
        id=group.id,
        kind=group.kind,
        category=group.category,
        name=group.name,
        name_kana=group.name_kana,
        facility_id=group.facility_id,
        status=group.status,
        effective_status=groups.effective_status(group, today),
        card_number=group.card_number,
        valid_until=group.valid_until,
        in_city=group.in_city,
        email=group.email,
        phone=group.phone,
        use_reminders=group.use_reminders,
        member_count=member_count,
        created_at=group.created_at,
        activated_at=group.activated_at,
        suspended_reason=group.suspended_reason,
    )


def member_read(member: Member) -> MemberRead:
    return MemberRead(
        id=member.id,
        name=member.name,
        role=member.role,
        birth_date=member.birth_date,
        residency=member.residency,
        email=member.email,
        phone=member.phone,
        has_login=member.user_id is not None,
    )


async def group_detail(db_session: DbSession, group: Group, today: date) -> GroupDetail:
    members: Sequence[Member] = await groups.roster(db_session, group.id)
    read = group_read(group, len(members), today)
    return GroupDetail(
        **{f: getattr(read, f) for f in read.__struct_fields__},
        members=[member_read(m) for m in members],
    )


class GroupController(Controller):
    path = "/api/v1/groups"
    tags = ["groups"]  # noqa: RUF012 - Litestar's own class attribute

    @post(
        "/",
        summary="Register a group or an individual (starts pending)",
        description="Anonymous: 202, and a link is mailed to the representative's e-mail; "
        "the registration and its login exist once the link is used with the password chosen "
        "here (POST /api/v1/groups/confirm). The answer is the same whether or not the address "
        "already has an account. Logged in: 201, you are the representative. Staff at a "
        "counter: 201, the representative is invited by mail to set a password.",
        responses=error_responses(400, 403, 409, 415, 422, 429),
    )
    async def register(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[RegistrationIn],
        auth: Auth,
        db_session: DbSession,
        clock: CurrentClock,
        settings: AppSettings,
    ) -> Response[GroupDetail | dict[str, str]]:
        viewer = auth.optional()
        if viewer is None:
            await registrations.request(db_session, clock, settings, data, client_address(request))
            return Response(REGISTRATION_ANSWER, status_code=HTTP_202_ACCEPTED)
        group = await groups.register(
            db_session, clock, settings, viewer, data, client_address(request)
        )
        detail = await group_detail(db_session, group, local_today(clock, settings.tz))
        return Response(detail, status_code=HTTP_201_CREATED)

    @post(
        "/confirm",
        summary="Finish an online registration with its mailed link and its password",
        description="Once per link (24 hours). Creates the representative's login and the "
        "pending registration, as a logged-in registration would have.",
        responses=error_responses(400, 409, 415, 422),
    )
    async def confirm(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[RegistrationConfirmIn],
        db_session: DbSession,
        clock: CurrentClock,
        settings: AppSettings,
    ) -> GroupDetail:
        group = await registrations.confirm(
            db_session, clock, settings, data.token, data.password, client_address(request)
        )
        return await group_detail(db_session, group, local_today(clock, settings.tz))

    @get(
        "/",
        summary="Search registrations (staff)",
        description="A manager sees city-wide registrations and those of their facilities.",
        responses=error_responses(400, 401, 403),
    )
    async def search(  # noqa: PLR0913, PLR0917 - one parameter per documented filter
        self,
        auth: Auth,
        db_session: DbSession,
        clock: CurrentClock,
        settings: AppSettings,
        status: FromQuery[GroupStatus | None] = None,
        facility_id: MaybeId = None,
        card_number: Annotated[str | None, QueryParameter(pattern=CARD_NUMBER)] = None,
        q: SearchText = None,
        limit: Limit = 100,
        offset: Offset = 0,
    ) -> list[GroupRead]:
        principal = auth.required()
        query = groups.GroupQuery(status, facility_id, card_number, q, limit, offset)
        found = await groups.list_groups(db_session, principal, query)
        counts = await groups.member_counts(db_session, [g.id for g in found])
        today = local_today(clock, settings.tz)
        return [group_read(g, counts.get(g.id, 0), today) for g in found]

    @get(
        "/{group_id:int}",
        summary="A registration and its roster (its members and staff)",
        responses=error_responses(400, 401, 403, 404),
    )
    async def read(
        self,
        group_id: FromPath[int],
        auth: Auth,
        db_session: DbSession,
        clock: CurrentClock,
        settings: AppSettings,
    ) -> GroupDetail:
        principal = auth.required()
        group = await groups.view_group(db_session, principal, group_id)
        return await group_detail(db_session, group, local_today(clock, settings.tz))

    @patch(
        "/{group_id:int}",
        summary="Change the name, contact details or use-date reminders (representative or staff)",
        responses=error_responses(400, 401, 403, 404, 415, 422),
    )
    async def update(
        self,
        group_id: FromPath[int],
        data: JSONBody[GroupPatch],
        auth: Auth,
        db_session: DbSession,
        clock: CurrentClock,
        settings: AppSettings,
    ) -> GroupDetail:
        principal = auth.required()
        group = await groups.update_group(db_session, clock, principal, group_id, data)
        return await group_detail(db_session, group, local_today(clock, settings.tz))

    @post(
        "/{group_id:int}/activate",
        status_code=HTTP_200_OK,
        summary="Activate after checking documents: issues the card (staff)",
        responses=error_responses(400, 401, 403, 404, 409, 415),
    )
    async def activate(
        self,
        group_id: FromPath[int],
        auth: Auth,
        db_session: DbSession,
        clock: CurrentClock,
        settings: AppSettings,
        data: JSONBody[ActivateIn | None] = None,
    ) -> GroupDetail:
        principal = auth.required()
        card = data.card_number if data else None
        group = await groups.activate(db_session, clock, settings, principal, group_id, card)
        return await group_detail(db_session, group, local_today(clock, settings.tz))

    @post(
        "/{group_id:int}/suspend",
        status_code=HTTP_200_OK,
        summary="Suspend: no booking, no roster change (staff)",
        responses=error_responses(400, 401, 403, 404, 415),
    )
    async def suspend(
        self,
        group_id: FromPath[int],
        data: JSONBody[SuspendIn],
        auth: Auth,
        db_session: DbSession,
        clock: CurrentClock,
        settings: AppSettings,
    ) -> GroupDetail:
        principal = auth.required()
        group = await groups.suspend(db_session, clock, principal, group_id, data.reason)
        return await group_detail(db_session, group, local_today(clock, settings.tz))

    @post(
        "/{group_id:int}/reinstate",
        status_code=HTTP_200_OK,
        summary="Lift a suspension (staff)",
        responses=error_responses(400, 401, 403, 404, 409),
    )
    async def reinstate(
        self,
        group_id: FromPath[int],
        auth: Auth,
        db_session: DbSession,
        clock: CurrentClock,
        settings: AppSettings,
    ) -> GroupDetail:
        principal = auth.required()
        group = await groups.reinstate(db_session, clock, principal, group_id)
        return await group_detail(db_session, group, local_today(clock, settings.tz))

    @post(
        "/{group_id:int}/renew",
        status_code=HTTP_200_OK,
        summary="Renew to the end of the next fiscal year (staff; from 1 December)",
        responses=error_responses(400, 401, 403, 404, 409, 422),
    )
    async def renew(
        self,
        group_id: FromPath[int],
        auth: Auth,
        db_session: DbSession,
        clock: CurrentClock,
        settings: AppSettings,
    ) -> GroupDetail:
        principal = auth.required()
        group = await groups.renew(db_session, clock, settings, principal, group_id)
        return await group_detail(db_session, group, local_today(clock, settings.tz))

    @get(
        "/{group_id:int}/members",
        summary="The roster (its members and staff)",
        responses=error_responses(400, 401, 403, 404),
    )
    async def members(
        self, group_id: FromPath[int], auth: Auth, db_session: DbSession
    ) -> list[MemberRead]:
        principal = auth.required()
        group = await groups.view_group(db_session, principal, group_id)
        return [member_read(m) for m in await groups.roster(db_session, group.id)]

    @post(
        "/{group_id:int}/members",
        summary="Add a member (representative or staff); an e-mail gets an invitation",
        responses=error_responses(400, 401, 403, 404, 409, 415, 422),
    )
    async def add_member(
        self,
        group_id: FromPath[int],
        data: JSONBody[MemberIn],
        auth: Auth,
        db_session: DbSession,
        clock: CurrentClock,
        settings: AppSettings,
    ) -> MemberRead:
        principal = auth.required()
        member = await roster.add_member(db_session, clock, settings, principal, group_id, data)
        return member_read(member)

    @patch(
        "/{group_id:int}/members/{member_id:int}",
        summary="Correct a member's details (representative or staff)",
        responses=error_responses(400, 401, 403, 404, 415, 422),
    )
    async def update_member(
        self,
        group_id: FromPath[int],
        member_id: FromPath[int],
        data: JSONBody[MemberPatch],
        auth: Auth,
        db_session: DbSession,
        clock: CurrentClock,
        settings: AppSettings,
    ) -> MemberRead:
        principal = auth.required()
        member = await roster.update_member(
            db_session, clock, settings, principal, group_id, member_id, data
        )
        return member_read(member)

    @delete(
        "/{group_id:int}/members/{member_id:int}",
        summary="Remove a member (representative or staff)",
        responses=error_responses(400, 401, 403, 404, 422),
    )
    async def remove_member(
        self,
        group_id: FromPath[int],
        member_id: FromPath[int],
        auth: Auth,
        db_session: DbSession,
        clock: CurrentClock,
    ) -> None:
        principal = auth.required()
        await roster.remove_member(db_session, clock, principal, group_id, member_id)

    @post(
        "/{group_id:int}/representative",
        status_code=HTTP_200_OK,
        summary="Hand the representative's role to another member",
        responses=error_responses(400, 401, 403, 404, 415, 422),
    )
    async def change_representative(
        self,
        group_id: FromPath[int],
        data: JSONBody[RepresentativeChange],
        auth: Auth,
        db_session: DbSession,
        clock: CurrentClock,
        settings: AppSettings,
    ) -> MemberRead:
        principal = auth.required()
        member = await roster.change_representative(
            db_session, clock, settings, principal, group_id, data.member_id
        )
        return member_read(member)
