"""HTTP for confirming estimates: staff say an estimated value is right, or correct it."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, post
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK

from booking.accounts.auth import Auth
from booking.deps import AppSettings, CurrentClock, DbSession
from booking.inventory import estimates
from booking.inventory.models import Facility, Room
from booking.web.errors import error_responses
from booking.web.fields import OneLine


class ConfirmationIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    field: Annotated[OneLine, msgspec.Meta(min_length=1, max_length=64)]
    # The corrected value, checked as an edit of the field is; none: the value shown is right.
    value: Any = None


class ConfirmationRead(msgspec.Struct):
    """Who confirmed, as the public pages say it: the role, never the person."""

    role: str  # "admin" (the city's administrator) or "manager" (the facility's staff)
    at: str


class EstimatesRead(msgspec.Struct):
    id: int
    estimated_fields: list[str]
    confirmations: dict[str, ConfirmationRead]


def estimates_read(row: Facility | Room) -> EstimatesRead:
    return EstimatesRead(
        id=row.id,
        estimated_fields=estimates.estimated(row),
        confirmations={
            field: ConfirmationRead(role=mark.get("role", "admin"), at=mark["at"])
            for field, mark in row.confirmations.items()
        },
    )


_SUMMARY = "Confirm an estimated value, as it is or corrected (%s)"
_DESCRIPTION = (
    "The field leaves estimated_fields and is marked confirmed (by whom and when) and as "
    "staff's, so a later data load reports a differing file value instead of taking it."
)
_WHOLE_ROOM = (
    " A room made from its kind's room template is confirmed as a whole with the field "
    "`estimated`: it is then no longer an estimate, and one without a source gets the city's "
    "entry as its source."
)


class EstimateController(Controller):
    tags = ["inventory"]  # noqa: RUF012 - Litestar's own class attribute

    @post(
        "/api/v1/facilities/{facility_id:int}/confirmations",
        summary=_SUMMARY % "administrators",
        description=_DESCRIPTION,
        status_code=HTTP_200_OK,
        responses=error_responses(400, 401, 403, 404, 415, 422),
    )
    async def confirm_facility(
        self,
        facility_id: FromPath[int],
        data: JSONBody[ConfirmationIn],
        auth: Auth,
        db_session: DbSession,
        clock: CurrentClock,
        settings: AppSettings,
    ) -> EstimatesRead:
        row = await estimates.confirm_estimate(
            db_session,
            clock,
            settings,
            auth.required(),
            ("facility", facility_id),
            data.field,
            data.value,
        )
        return estimates_read(row)

    @post(
        "/api/v1/rooms/{room_id:int}/confirmations",
        summary=_SUMMARY % "the facility's managers; fees, a whole template room: administrators",
        description=_DESCRIPTION + _WHOLE_ROOM,
        status_code=HTTP_200_OK,
        responses=error_responses(400, 401, 403, 404, 415, 422),
    )
    async def confirm_room(
        self,
        room_id: FromPath[int],
        data: JSONBody[ConfirmationIn],
        auth: Auth,
        db_session: DbSession,
        clock: CurrentClock,
        settings: AppSettings,
    ) -> EstimatesRead:
        row = await estimates.confirm_estimate(
            db_session,
            clock,
            settings,
            auth.required(),
            ("room", room_id),
            data.field,
            data.value,
        )
        return estimates_read(row)
