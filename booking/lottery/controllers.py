"""HTTP for the lottery: cycles, applications, confirmation, published draws, reports."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import msgspec
from litestar import Controller, Response, get, post
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_200_OK
from sqlalchemy import select

from booking.accounts.auth import Auth
from booking.clock import local_today
from booking.deps import AppSettings, CurrentClock, DbSession, Network
from booking.errors import NotFound
from booking.inventory.policy import DEFAULT_POLICY, lottery_cycle
from booking.lottery import applications, reports
from booking.lottery.models import LotteryApplication, LotteryCycle, LotteryDraw
from booking.reservations import idempotency
from booking.reservations.booking_controllers import booking_read, request_of
from booking.reservations.schemas import BookingIn, BookingRead
from booking.web.errors import error_responses
from booking.web.fields import Id


class CalendarRead(msgspec.Struct):
    facility_kind: str
    apply_from: date
    apply_to: date
    draw_at: datetime
    confirm_from: date
    confirm_to: date
    first_come_from: date


class CycleRead(msgspec.Struct):
    use_month: str
    # SHA-256 of the draw secret, published when applications open; null before
    commitment: str | None
    calendars: list[CalendarRead]


class ApplicationRead(msgspec.Struct):
    id: int
    use_month: str
    group_id: int
    room_id: int
    facility_id: int
    use_date: date
    period_codes: list[str]
    purpose: str
    headcount: int
    event_name: str | None
    status: str
    position: int | None
    lose_reason: str | None
    booking_id: int | None
    created_at: datetime


class SlotCount(msgspec.Struct):
    room_id: int
    date: date
    period: str
    applicants: int


class ReportRead(msgspec.Struct):
    use_month: str
    facility_id: int
    applications: int
    wins: int
    win_rate: float | None
    slots: int
    contested_slots: int
    applicants_per_slot: list[SlotCount]


class SharedContactRead(msgspec.Struct):
    group_ids: list[int]
    shared: str
    room_id: int
    date: date
    period: str


def application_read(a: LotteryApplication) -> ApplicationRead:
    return ApplicationRead(
        id=a.id,
        use_month=a.use_month.strftime("%Y-%m"),
        group_id=a.group_id,
        room_id=a.room_id,
        facility_id=a.facility_id,
        use_date=a.use_date,
        period_codes=list(a.period_codes),
        purpose=a.purpose,
        headcount=a.headcount,
        event_name=a.event_name,
        status=a.status.value,
        position=a.position,
        lose_reason=a.lose_reason,
        booking_id=a.booking_id,
        created_at=a.created_at,
    )


class LotteryController(Controller):
    path = "/api/v1/lottery"
    tags = ["lottery"]  # noqa: RUF012 - Litestar's own class attribute

    @get(
        "/cycles",
        summary="A use month's lottery calendar per facility kind, and its seed commitment",
        description="Default: the month whose applications are open or open next.",
        responses=error_responses(400),
    )
    async def cycles(
        self,
        db_session: DbSession,
        clock: CurrentClock,
        settings: AppSettings,
        network: Network,
        month: FromQuery[str | None] = None,
    ) -> CycleRead:
        today = local_today(clock, settings.tz)
        if month is not None:
            use_month = applications.parse_month(month, "month")
        else:
            use_month = applications.next_use_month(today, DEFAULT_POLICY.lottery)
        calendars: dict[str, CalendarRead] = {}
        for facility in network.facilities.values():
            cycle = lottery_cycle(facility.policy_on(use_month), use_month, settings.tz)
            if cycle is None or facility.kind in calendars:
                continue
            calendars[facility.kind] = CalendarRead(
                facility_kind=facility.kind,
                apply_from=cycle.apply_from,
                apply_to=cycle.apply_to,
                draw_at=cycle.draw_at,
                confirm_from=cycle.confirm_from,
                confirm_to=cycle.confirm_to,
                first_come_from=cycle.first_come_from,
            )
        committed = await db_session.get(LotteryCycle, use_month)
        return CycleRead(
            use_month=use_month.strftime("%Y-%m"),
            commitment=committed.commitment if committed else None,
            calendars=sorted(calendars.values(), key=lambda c: c.facility_kind),
        )

    @post(
        "/applications",
        summary="Apply for a slot in the lottery (a group member, in the application window)",
        description="Honours Idempotency-Key like bookings do.",
        responses=error_responses(400, 401, 403, 404, 409, 415, 422),
    )
    async def apply(
        self,
        data: JSONBody[BookingIn],
        auth: Auth,
        db_session: DbSession,
        clock: CurrentClock,
        settings: AppSettings,
        network: Network,
        idempotency_key: idempotency.IdempotencyKey = None,
    ) -> Response[Any]:
        principal = auth.required()

        async def create() -> dict[str, Any]:
            made = await applications.apply(
                db_session, clock, settings, network, principal, request_of(data)
            )
            return msgspec.to_builtins(application_read(made))  # type: ignore[no-any-return]

        status, body = await idempotency.once(
            db_session,
            clock,
            principal.user_id,
            idempotency_key,
            b"lottery:" + msgspec.json.encode(data),
            create,
        )
        return Response(body, status_code=status)

    @get(
        "/applications",
        summary="A group's applications and their state",
        responses=error_responses(400, 401, 404),
    )
    async def mine(
        self,
        auth: Auth,
        db_session: DbSession,
        group_id: Id,
        month: FromQuery[str | None] = None,
    ) -> list[ApplicationRead]:
        use_month = applications.parse_month(month, "month") if month else None
        found = await applications.group_applications(
            db_session, auth.required(), group_id, use_month
        )
        return [application_read(a) for a in found]

    @get(
        "/applications/{application_id:int}",
        summary="One application (its group's members, the facility's staff)",
        responses=error_responses(400, 401, 404),
    )
    async def read(
        self, application_id: FromPath[int], auth: Auth, db_session: DbSession
    ) -> ApplicationRead:
        found, _ = await applications.get_application(db_session, auth.required(), application_id)
        return application_read(found)

    @post(
        "/applications/{application_id:int}/withdraw",
        status_code=HTTP_200_OK,
        summary="Withdraw an application before the application window closes",
        responses=error_responses(400, 401, 404, 409, 422),
    )
    async def withdraw(
        self,
        application_id: FromPath[int],
        auth: Auth,
        db_session: DbSession,
        clock: CurrentClock,
        settings: AppSettings,
        network: Network,
    ) -> ApplicationRead:
        done = await applications.withdraw(
            db_session, clock, settings, network, auth.required(), application_id
        )
        return application_read(done)

    @post(
        "/applications/{application_id:int}/confirm",
        status_code=HTTP_200_OK,
        summary="Confirm a win in the confirmation window: it becomes a confirmed booking",
        responses=error_responses(400, 401, 404, 409, 422),
    )
    async def confirm(
        self,
        application_id: FromPath[int],
        auth: Auth,
        db_session: DbSession,
        clock: CurrentClock,
        settings: AppSettings,
        network: Network,
    ) -> BookingRead:
        booking = await applications.confirm(
            db_session, clock, settings, network, auth.required(), application_id
        )
        return booking_read(booking)

    @get(
        "/draws/{month:str}/{facility_id:int}",
        summary="The published draw file: check it with `python -m booking.lottery.verify`",
        responses=error_responses(400, 404),
    )
    async def published(
        self, month: FromPath[str], facility_id: FromPath[int], db_session: DbSession
    ) -> dict[str, Any]:
        use_month = applications.parse_month(month, "month")
        drawn = await db_session.scalar(
            select(LotteryDraw).where(
                LotteryDraw.use_month == use_month, LotteryDraw.facility_id == facility_id
            )
        )
        if drawn is None or not drawn.document:
            raise NotFound("not drawn yet", code="not_drawn")
        return drawn.document

    @get(
        "/reports/{month:str}/{facility_id:int}",
        summary="Applications, contested slots, applicants per slot and the win rate",
        responses=error_responses(400, 404),
    )
    async def report(
        self, month: FromPath[str], facility_id: FromPath[int], db_session: DbSession
    ) -> ReportRead:
        use_month = applications.parse_month(month, "month")
        found = await reports.cycle_report(db_session, use_month, facility_id)
        return ReportRead(
            use_month=use_month.strftime("%Y-%m"),
            facility_id=facility_id,
            applications=found.applications,
            wins=found.wins,
            win_rate=found.win_rate,
            slots=found.slots,
            contested_slots=found.contested_slots,
            applicants_per_slot=[
                SlotCount(room_id=r, date=d, period=p, applicants=n)
                for r, d, p, n in found.applicants_per_slot
            ],
        )

    @get(
        "/reports/{month:str}/{facility_id:int}/shared-contacts",
        summary="Groups applying for the same slot with a shared representative, e-mail or "
        "phone (the facility's staff)",
        responses=error_responses(400, 401, 403, 404),
    )
    async def shared(
        self, month: FromPath[str], facility_id: FromPath[int], auth: Auth, db_session: DbSession
    ) -> list[SharedContactRead]:
        use_month = applications.parse_month(month, "month")
        found = await reports.shared_contacts(db_session, auth.required(), use_month, facility_id)
        return [
            SharedContactRead(
                group_ids=list(s.group_ids),
                shared=s.shared,
                room_id=s.slot[0],
                date=s.slot[1],
                period=s.slot[2],
            )
            for s in found
        ]
