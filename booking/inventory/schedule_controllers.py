"""HTTP for fees and policies from a date: a room's fee schedules and a policy's revisions
(inventory/schedules.py has the rule). Anyone reads them; administrators enter them."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, delete, get, post
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_204_NO_CONTENT

from booking.accounts.auth import Auth
from booking.clock import local_today
from booking.deps import AppSettings, CurrentClock, DbSession, Network
from booking.errors import InvalidInput, NotFound
from booking.inventory import schedules
from booking.inventory.calendar import usable_day
from booking.inventory.models import Policy, PolicyRevision, RoomFeeSchedule
from booking.inventory.network import FeeTable
from booking.reservations.schemas import PeriodCode
from booking.web.errors import error_responses

Yen = Annotated[int, msgspec.Meta(ge=0, le=10_000_000)]
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
Fees = Annotated[
    dict[PeriodCode, Yen],
    msgspec.Meta(max_length=16, description="yen per period code of the room's grid"),
]


class FeeScheduleIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    # A use date, today or later: bookings for it and later dates, made from now on, pay these.
    effective_from: date
    fees: Fees | None = None  # null: free of charge from that date
    all_day_fee: Yen | None = None


class FeeScheduleRead(msgspec.Struct):
    effective_from: date
    fees: dict[str, int] | None
    all_day_fee: int | None
    origin: str  # 'data' (facilities_data) or 'staff' (entered in the system)
    created_at: datetime


class FeesTodayRead(msgspec.Struct):
    effective_from: date | None  # null: the room's own fees, before any schedule
    fees: dict[str, int] | None
    all_day_fee: int | None
    estimate: bool


class RoomFeesRead(msgspec.Struct):
    room_id: int
    today: FeesTodayRead  # what a booking for today's date pays (a general group, a weekday)
    schedules: list[FeeScheduleRead]  # every schedule, earliest first, past ones included


class PolicyRevisionIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    effective_from: date  # a use date, today or later
    settings: Annotated[
        dict[str, Any],
        msgspec.Meta(
            min_length=1,
            max_length=20,
            description="a partial policy (the keys of the room's `policy`), merged over the "
            "policy's settings and its earlier revisions",
        ),
    ]


class PolicyRevisionRead(msgspec.Struct):
    id: int
    policy_id: int
    effective_from: date
    settings: dict[str, Any]
    origin: str
    created_at: datetime


class PolicyRead(msgspec.Struct):
    id: int
    key: str
    settings: dict[str, Any]  # the policy's own partial override, before any revision
    revisions: list[PolicyRevisionRead]


def fee_schedule_read(row: RoomFeeSchedule) -> FeeScheduleRead:
    return FeeScheduleRead(
        effective_from=row.effective_from,
        fees=dict(row.fees) if row.fees is not None else None,
        all_day_fee=row.all_day_fee,
        origin=row.origin,
        created_at=row.created_at,
    )


def revision_read(row: PolicyRevision) -> PolicyRevisionRead:
    return PolicyRevisionRead(
        id=row.id,
        policy_id=row.policy_id,
        effective_from=row.effective_from,
        settings=dict(row.settings),
        origin=row.origin,
        created_at=row.created_at,
    )


def _today_read(table: FeeTable) -> FeesTodayRead:
    return FeesTodayRead(
        effective_from=table.effective_from,
        fees=table.fees,
        all_day_fee=table.all_day_fee,
        estimate=table.is_estimate and bool(table.fees),
    )


class RoomFeeController(Controller):
    path = "/api/v1/rooms/{room_id:int}/fees"
    tags = ["inventory"]  # noqa: RUF012 - Litestar's own class attribute

    @get(
        "/",
        summary="The room's fees today and its fee schedules from their dates",
        responses=error_responses(400, 404),
    )
    async def list_fees(
        self,
        room_id: FromPath[int],
        db_session: DbSession,
        network: Network,
        clock: CurrentClock,
        settings: AppSettings,
    ) -> RoomFeesRead:
        rows = await schedules.fee_schedules(db_session, room_id)
        info = network.room(room_id)
        if info is None:
            raise NotFound(f"no room {room_id}", field="room_id", code="room_not_found")
        today = local_today(clock, settings.tz)
        return RoomFeesRead(
            room_id=room_id,
            today=_today_read(info.fees_on(today)),
            schedules=[fee_schedule_read(row) for row in rows],
        )

    @post(
        "/",
        summary="Set the room's fees from a date (administrators)",
        description="A fee revision from `effective_from` (today or later; 1 April for a "
        "fiscal year): bookings for that date and later ones made from now on pay it; bookings "
        "already made keep their fee. A schedule from the same date not yet in effect is "
        "replaced. Fee codes are the periods of the room's grid.",
        responses=error_responses(400, 401, 403, 404, 415),
    )
    async def set_fees(
        self,
        room_id: FromPath[int],
        data: JSONBody[FeeScheduleIn],
        auth: Auth,
        db_session: DbSession,
        clock: CurrentClock,
        settings: AppSettings,
    ) -> FeeScheduleRead:
        row = await schedules.set_fee_schedule(
            db_session,
            clock,
            settings.tz,
            auth.required(),
            room_id,
            effective_from=data.effective_from,
            fees=data.fees,
            all_day_fee=data.all_day_fee,
        )
        return fee_schedule_read(row)

    @delete(
        "/{effective_from:str}",
        summary="Withdraw a fee schedule not yet in effect (administrators)",
        status_code=HTTP_204_NO_CONTENT,
        responses=error_responses(400, 401, 403, 404),
    )
    async def delete_fees(
        self,
        room_id: FromPath[int],
        effective_from: FromPath[str],
        auth: Auth,
        db_session: DbSession,
        clock: CurrentClock,
        settings: AppSettings,
    ) -> None:
        await schedules.delete_fee_schedule(
            db_session, clock, settings.tz, auth.required(), room_id, _day(effective_from)
        )


def _day(text: str) -> date:
    """A YYYY-MM-DD of the path: anything else is a 400 naming it (not the router's 404)."""
    try:
        day = date.fromisoformat(text) if _ISO_DAY.fullmatch(text) else None
    except ValueError:  # 2027-02-30
        day = None
    if day is None:
        raise InvalidInput("a date reads YYYY-MM-DD", field="effective_from")
    return usable_day(day, "effective_from")


class PolicyController(Controller):
    path = "/api/v1/policies"
    tags = ["inventory"]  # noqa: RUF012

    @get("/", summary="The reservation policies with their revisions from a date")
    async def list_policies(self, db_session: DbSession) -> list[PolicyRead]:
        return [
            _policy_read(policy, rows) for policy, rows in await schedules.all_policies(db_session)
        ]

    @post(
        "/{policy_id:int}/revisions",
        summary="Change a policy from a date (administrators)",
        description="Windows, lottery, holds, approval, cancellation schedule… from "
        "`effective_from` (today or later): bookings for that date and later ones made from now "
        "on follow it; bookings already made keep the policy they were made under. A second "
        "revision from one date is a 409.",
        responses=error_responses(400, 401, 403, 404, 409, 415),
    )
    async def add_revision(
        self,
        policy_id: FromPath[int],
        data: JSONBody[PolicyRevisionIn],
        auth: Auth,
        db_session: DbSession,
        clock: CurrentClock,
        settings: AppSettings,
    ) -> PolicyRevisionRead:
        row = await schedules.add_policy_revision(
            db_session,
            clock,
            settings.tz,
            auth.required(),
            policy_id,
            effective_from=data.effective_from,
            settings=data.settings,
        )
        return revision_read(row)


def _policy_read(policy: Policy, rows: list[PolicyRevision]) -> PolicyRead:
    return PolicyRead(
        id=policy.id,
        key=policy.key,
        settings=dict(policy.settings),
        revisions=[revision_read(row) for row in rows],
    )
