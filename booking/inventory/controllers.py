"""HTTP for the facility network: wards, facilities, rooms."""

from __future__ import annotations

from datetime import date, timedelta

from litestar import Controller, get, patch, post
from litestar.params import FromPath, JSONBody

from booking.accounts.auth import Auth
from booking.clock import local_today
from booking.deps import AppSettings, CurrentClock, DbSession, Network
from booking.errors import NotFound
from booking.inventory import editing, schemas, services
from booking.inventory import editing_schemas as es
from booking.inventory.closures import closed_dates
from booking.inventory.models import Room
from booking.inventory.network import RoomInfo
from booking.web.errors import error_responses
from booking.web.fields import Limit, Offset, SearchText


class WardController(Controller):
    path = "/api/v1/wards"
    tags = ["inventory"]  # noqa: RUF012 - Litestar's own class attribute

    @get("/", summary="The wards of the city, with their facility counts")
    async def list_wards(self, db_session: DbSession) -> list[schemas.WardRead]:
        return [
            schemas.WardRead(key=w.key, name_ja=w.name_ja, name_en=w.name_en, facility_count=n)
            for w, n in await services.list_wards(db_session)
        ]


class FacilityController(Controller):
    path = "/api/v1/facilities"
    tags = ["inventory"]  # noqa: RUF012

    @get(
        "/",
        summary="Facilities, filtered by ward and kind, searched by name (ja or en)",
        responses=error_responses(400),
    )
    async def list_facilities(
        self,
        db_session: DbSession,
        ward: SearchText = None,
        kind: SearchText = None,
        q: SearchText = None,  # name contains, in Japanese or English
        limit: Limit = 100,
        offset: Offset = 0,
    ) -> schemas.FacilityPage:
        rows, total = await services.list_facilities(
            db_session, services.FacilityFilter(ward, kind, q, limit, offset)
        )
        items = [
            schemas.FacilitySummary(
                id=f.id,
                key=f.key,
                kind=kind_key,
                name_ja=f.name_ja,
                name_en=f.name_en,
                ward=ward_key,
                address=f.address,
                phone=f.phone,
                room_count=rooms,
                opens_on=f.opens_on,
                closes_on=f.closes_on,
                estimated_fields=f.estimated_fields,
            )
            for f, kind_key, ward_key, rooms in rows
        ]
        return schemas.FacilityPage(items=items, total=total, limit=limit, offset=offset)

    @get(
        "/{facility_id:int}",
        summary="A facility with its rooms, periods, policy and closures",
        responses=error_responses(400, 404),
    )
    async def get_facility(
        self,
        facility_id: FromPath[int],
        db_session: DbSession,
        network: Network,
        clock: CurrentClock,
        settings: AppSettings,
    ) -> schemas.FacilityDetailRead:
        detail = await services.get_facility(db_session, facility_id)
        info = network.facilities.get(facility_id)
        if info is None:
            raise NotFound(f"no facility {facility_id}", field="facility_id")
        f, today = detail.facility, local_today(clock, settings.tz)
        return schemas.FacilityDetailRead(
            id=f.id,
            key=f.key,
            kind=detail.kind.key,
            kind_name_ja=detail.kind.name_ja,
            kind_name_en=detail.kind.name_en,
            name_ja=f.name_ja,
            name_en=f.name_en,
            ward=schemas.WardRef(
                key=detail.ward.key, name_ja=detail.ward.name_ja, name_en=detail.ward.name_en
            )
            if detail.ward
            else None,
            address=f.address,
            phone=f.phone,
            external_id=f.external_id,
            opens_on=f.opens_on,
            closes_on=f.closes_on,
            opening_hours=f.opening_hours or detail.kind.opening_hours,
            period_grid=schemas.PeriodGridRead.of(info.grid),
            policy=info.policy_on(today),  # what applies to today's date; revisions may follow
            closure_rules=[
                schemas.ClosureRuleRead(
                    scope="facility" if r.facility_id else "kind",
                    name_ja=r.spec.get("name_ja"),
                    name_en=r.spec.get("name_en"),
                    rule=r.spec,
                    note=r.note,
                )
                for r in detail.closure_rules
            ],
            closed_dates=sorted(closed_dates(info.closures, today, today + timedelta(days=89))),
            rooms=[_room_summary(room, network.room(room.id), today) for room in detail.rooms],
            estimated_fields=f.estimated_fields,
            estimate_basis=f.estimate_basis,
            notes=f.notes,
            sources=f.sources,
        )

    @post(
        "/",
        summary="Add a facility to the network (administrators)",
        description="Checked by the data files' rules (facilities_data/README.md); `sources` "
        "default to the administrator's entry. The fields set are staff edits: a later load of "
        "the data files reports a different value instead of overwriting it.",
        responses=error_responses(400, 401, 403, 409, 415),
    )
    async def create(
        self,
        data: JSONBody[es.FacilityIn],
        auth: Auth,
        db_session: DbSession,
        clock: CurrentClock,
        settings: AppSettings,
    ) -> es.FacilityStaffRead:
        facility = await editing.create_facility(
            db_session, clock, settings, auth.required(), data.key, es.given(data, "key")
        )
        return await es.facility_staff_read(db_session, facility)

    @patch(
        "/{facility_id:int}",
        summary="Change a facility; `active: false` retires it (administrators)",
        description="A retirement, or service dates, that would leave live bookings or lottery "
        "applications stranded is refused (409 bookings_in_the_way, listing them).",
        responses=error_responses(400, 401, 403, 404, 409, 415),
    )
    async def change(
        self,
        facility_id: FromPath[int],
        data: JSONBody[es.FacilityFields],
        auth: Auth,
        db_session: DbSession,
        clock: CurrentClock,
        settings: AppSettings,
    ) -> es.FacilityStaffRead:
        facility = await editing.update_facility(
            db_session, clock, settings, auth.required(), facility_id, es.given(data)
        )
        return await es.facility_staff_read(db_session, facility)

    @post(
        "/{facility_id:int}/rooms",
        summary="Add a room to a facility (administrators)",
        description="`parts` (room ids of the same facility) make it a combined room: booking "
        "it takes its parts, and booking a part takes it.",
        responses=error_responses(400, 401, 403, 404, 409, 415, 422),
    )
    async def add_room(
        self,
        facility_id: FromPath[int],
        data: JSONBody[es.RoomIn],
        auth: Auth,
        db_session: DbSession,
        clock: CurrentClock,
        settings: AppSettings,
    ) -> es.RoomStaffRead:
        room = await editing.create_room(
            db_session,
            clock,
            settings,
            auth.required(),
            facility_id,
            data.key,
            es.given(data, "key"),
        )
        return await es.room_staff_read(db_session, room)


class RoomController(Controller):
    path = "/api/v1/rooms"
    tags = ["inventory"]  # noqa: RUF012

    @get(
        "/{room_id:int}",
        summary="A room with its units, fees, periods and policy",
        responses=error_responses(400, 404),
    )
    async def get_room(
        self,
        room_id: FromPath[int],
        db_session: DbSession,
        network: Network,
        clock: CurrentClock,
        settings: AppSettings,
    ) -> schemas.RoomDetailRead:
        detail = await services.get_room(db_session, room_id)
        info = network.room(room_id)
        if info is None:
            raise NotFound(f"no room {room_id}", field="room_id")
        room, today = detail.room, local_today(clock, settings.tz)
        return schemas.RoomDetailRead(
            **_room_summary(room, info, today).model_dump(),
            facility_id=detail.facility.id,
            facility_name_ja=detail.facility.name_ja,
            facility_name_en=detail.facility.name_en,
            equipment=room.equipment,
            purposes=room.purposes,
            external_id=room.external_id,
            units=detail.unit_keys,
            shares_units_with=[
                schemas.RoomRef(id=r.id, key=r.key, name_ja=r.name_ja, name_en=r.name_en)
                for r in detail.shares_units_with
            ],
            period_grid=schemas.PeriodGridRead.of(info.grid),
            policy=info.policy_on(today),  # what applies to today's date; revisions may follow
            estimate_basis=room.estimate_basis,
            notes=room.notes,
            sources=room.sources,
        )

    @patch(
        "/{room_id:int}",
        summary="Change a room (its facility's managers, administrators); `active: false` "
        "retires it (administrators)",
        description="Fees are dated schedules (POST /api/v1/rooms/{id}/fees). New parts, or a "
        "retirement, that would strand live bookings are refused (409 bookings_in_the_way).",
        responses=error_responses(400, 401, 403, 404, 409, 415),
    )
    async def change(
        self,
        room_id: FromPath[int],
        data: JSONBody[es.RoomFields],
        auth: Auth,
        db_session: DbSession,
        clock: CurrentClock,
        settings: AppSettings,
    ) -> es.RoomStaffRead:
        room = await editing.update_room(
            db_session, clock, settings, auth.required(), room_id, es.given(data)
        )
        return await es.room_staff_read(db_session, room)


def _room_summary(room: Room, info: RoomInfo | None, today: date) -> schemas.RoomSummary:
    """The room with the fees of today's date: a fee schedule's from its date on (the room's
    dated schedules: GET /api/v1/rooms/{id}/fees)."""
    table = info.fees_on(today) if info else None
    return schemas.RoomSummary(
        id=room.id,
        key=room.key,
        name_ja=room.name_ja,
        name_en=room.name_en,
        capacity=room.capacity,
        area_m2=room.area_m2,
        online_bookable=room.online_bookable,
        fees=table.fees if table else room.fees,
        all_day_fee=table.all_day_fee if table else room.all_day_fee,
        fee_is_estimate=table.is_estimate
        if table
        else room.is_estimated or "fees" in room.estimated_fields,
        is_estimated=room.is_estimated,
        estimated_fields=room.estimated_fields,
    )
