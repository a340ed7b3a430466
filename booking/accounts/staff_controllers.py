"""HTTP for administrators: facility managers, administrators and suspending people."""

from __future__ import annotations

from litestar import Controller, delete, get, post, put
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK

from booking.accounts import staff
from booking.accounts.auth import Auth
from booking.accounts.models import StaffRole, User, UserStatus
from booking.accounts.schemas import (
    AdministratorIn,
    ManagerFacilitiesIn,
    ManagerIn,
    SuspendIn,
    UserRead,
)
from booking.deps import AppSettings, CurrentClock, DbSession
from booking.web.errors import error_responses


async def user_read(db_session: DbSession, user: User) -> UserRead:
    return UserRead(
        id=user.id,
        name=user.name,
        email=user.email,
        staff_role=user.staff_role,
        status=user.status,
        facility_ids=await staff.facilities_of(db_session, user.id),
    )


class ManagerController(Controller):
    path = "/api/v1/managers"
    tags = ["staff"]  # noqa: RUF012 - Litestar's own class attribute

    @post(
        "/",
        summary="Make someone a facility manager (administrator)",
        description="Creates the login if the e-mail is new and mails an invitation to set a "
        "password.",
        responses=error_responses(400, 401, 403, 409, 415),
    )
    async def create(
        self,
        data: JSONBody[ManagerIn],
        auth: Auth,
        db_session: DbSession,
        clock: CurrentClock,
        settings: AppSettings,
    ) -> UserRead:
        principal = auth.required()
        user = await staff.appoint(
            db_session,
            clock,
            settings,
            principal,
            email=data.email,
            name=data.name,
            role=StaffRole.MANAGER,
            facility_ids=data.facility_ids,
        )
        return await user_read(db_session, user)

    @get("/", summary="Facility managers (administrator)", responses=error_responses(401, 403))
    async def list(self, auth: Auth, db_session: DbSession) -> list[UserRead]:
        principal = auth.required()
        return [
            await user_read(db_session, u) for u in await staff.list_managers(db_session, principal)
        ]

    @put(
        "/{user_id:int}/facilities",
        summary="Replace a manager's facilities (administrator)",
        responses=error_responses(400, 401, 403, 404, 415),
    )
    async def assign(
        self,
        user_id: FromPath[int],
        data: JSONBody[ManagerFacilitiesIn],
        auth: Auth,
        db_session: DbSession,
        clock: CurrentClock,
    ) -> UserRead:
        principal = auth.required()
        user = await staff.set_manager_facilities(
            db_session, clock, principal, user_id, data.facility_ids
        )
        return await user_read(db_session, user)

    @delete(
        "/{user_id:int}",
        summary="Take the manager role away (administrator)",
        responses=error_responses(400, 401, 403, 404),
    )
    async def revoke(
        self,
        user_id: FromPath[int],
        auth: Auth,
        db_session: DbSession,
        clock: CurrentClock,
    ) -> None:
        principal = auth.required()
        await staff.revoke_manager(db_session, clock, principal, user_id)


class AdministratorController(Controller):
    path = "/api/v1/administrators"
    tags = ["staff"]  # noqa: RUF012

    @post(
        "/",
        summary="Make someone an administrator (administrator)",
        description="Creates the login if the e-mail is new and mails an invitation to set a "
        "password; a manager's facilities go (an administrator acts everywhere).",
        responses=error_responses(400, 401, 403, 415),
    )
    async def create(
        self,
        data: JSONBody[AdministratorIn],
        auth: Auth,
        db_session: DbSession,
        clock: CurrentClock,
        settings: AppSettings,
    ) -> UserRead:
        principal = auth.required()
        user = await staff.appoint(
            db_session,
            clock,
            settings,
            principal,
            email=data.email,
            name=data.name,
            role=StaffRole.ADMIN,
        )
        return await user_read(db_session, user)

    @get("/", summary="Administrators (administrator)", responses=error_responses(401, 403))
    async def list(self, auth: Auth, db_session: DbSession) -> list[UserRead]:
        principal = auth.required()
        found = await staff.list_staff(db_session, principal, StaffRole.ADMIN)
        return [await user_read(db_session, u) for u in found]

    @delete(
        "/{user_id:int}",
        summary="Take the administrator role away (administrator; never one's own)",
        responses=error_responses(400, 401, 403, 404, 409),
    )
    async def revoke(
        self,
        user_id: FromPath[int],
        auth: Auth,
        db_session: DbSession,
        clock: CurrentClock,
    ) -> None:
        principal = auth.required()
        await staff.revoke_admin(db_session, clock, principal, user_id)


class UserController(Controller):
    path = "/api/v1/users"
    tags = ["staff"]  # noqa: RUF012

    @post(
        "/{user_id:int}/suspend",
        status_code=HTTP_200_OK,
        summary="Suspend a person: every session and token stops at once (administrator)",
        description="An optional `reason` is kept in the audit event.",
        responses=error_responses(400, 401, 403, 404, 409, 415),
    )
    async def suspend(
        self,
        user_id: FromPath[int],
        auth: Auth,
        db_session: DbSession,
        clock: CurrentClock,
        data: JSONBody[SuspendIn | None] = None,
    ) -> UserRead:
        principal = auth.required()
        user = await staff.set_user_status(
            db_session,
            clock,
            principal,
            user_id,
            UserStatus.SUSPENDED,
            reason=data.reason if data else None,
        )
        return await user_read(db_session, user)

    @post(
        "/{user_id:int}/reinstate",
        status_code=HTTP_200_OK,
        summary="Lift a person's suspension (administrator)",
        responses=error_responses(400, 401, 403, 404, 409),
    )
    async def reinstate(
        self,
        user_id: FromPath[int],
        auth: Auth,
        db_session: DbSession,
        clock: CurrentClock,
    ) -> UserRead:
        principal = auth.required()
        user = await staff.set_user_status(db_session, clock, principal, user_id, UserStatus.ACTIVE)
        return await user_read(db_session, user)
