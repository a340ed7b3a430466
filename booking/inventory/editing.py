"""Staff keep the facility network in the system (issue 16 §2).

Administrators create, edit and retire facilities and rooms; a facility's managers edit its
rooms. A change is validated by applying it to the row's record in the data files' format
(inventory/records.py) and checking the result with the files' own models and cross-record
checks: one set of rules. Each change is audited with before and after, marks its fields in
`staff_edits` (which a later `booking facilities load` reports instead of overwriting) and bumps
the inventory revision in the same transaction, so every process's snapshot follows at once.

A retirement, a new set of parts or service dates that would strand live bookings or lottery
applications is refused (409, listing them): staff move or cancel them first, as with closures.
Estimated fields stay estimated when edited; a confirmation (another act) clears the mark.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.access import Principal, require_admin, require_facility
from booking.audit.service import record
from booking.clock import Clock, local_today
from booking.errors import Conflict, InvalidInput, NotFound, RuleViolation
from booking.inventory.data_format import FacilityData, RoomData
from booking.inventory.datafiles import facility_problems, room_problems
from booking.inventory.load import facility_values, room_values
from booking.inventory.models import Facility, Room, RoomUnit, Unit
from booking.inventory.records import Keys, facility_record, live_keys, room_record, unit_keys
from booking.inventory.services import bump_revision
from booking.lottery.models import ApplicationStatus, LotteryApplication
from booking.reservations.models import Booking, BookingStatus
from booking.settings import Settings

# What staff may set, by the data files' field names (the API's too).
FACILITY_FIELDS = frozenset(
    {
        "kind",
        "ward",
        "name_ja",
        "name_en",
        "address",
        "phone",
        "external_id",
        "opens_on",
        "closes_on",
        "notes",
        "sources",
        "active",
    }
)
ROOM_FIELDS = frozenset(
    {
        "name_ja",
        "name_en",
        "capacity",
        "area_m2",
        "equipment",
        "purposes",
        "online_bookable",
        "parts",  # the rooms a combined room is made of (ids); its units are theirs
        "external_id",
        "notes",
        "sources",
        "sort_order",
        "active",
    }
)
# Fields only an administrator sets on a room: the network's shape is the city's.
ADMIN_ROOM_FIELDS = frozenset({"active"})
SORT_ORDER_MAX = 10_000
MAX_PARTS = 20
_LIVE_BOOKINGS = (BookingStatus.HELD, BookingStatus.PENDING_APPROVAL, BookingStatus.CONFIRMED)
_LIVE_APPLICATIONS = (ApplicationStatus.APPLIED, ApplicationStatus.WON)
_SHOWN = 20  # bookings listed in a refusal
M = TypeVar("M", bound=BaseModel)


def staff_source(principal: Principal, today: date) -> str:
    """The source of a value staff entered: the city itself, and when. Sources are public (the
    API and the facility page show them), so by role: the audit event keeps the person."""
    who = "the city's administrator" if principal.is_admin else "the facility's staff"
    return f"entered in booking by {who} on {today.isoformat()}"


# --- facilities ---------------------------------------------------------------------------


async def create_facility(
    session: AsyncSession,
    clock: Clock,
    settings: Settings,
    principal: Principal,
    key: str,
    values: Mapping[str, Any],
) -> Facility:
    """A new facility (administrators). `values` by FACILITY_FIELDS; kind, name_ja and name_en
    are required, sources default to the administrator's entry."""
    require_admin(principal)
    _known(values, FACILITY_FIELDS - {"active"})
    today = local_today(clock, settings.tz)
    keys = await live_keys(session)
    wanted = {"sources": [staff_source(principal, today)], **values, "key": key}
    data = _validated(FacilityData, wanted, values)
    _refuse(facility_problems(keys.references, data))
    if await session.scalar(select(Facility.id).where(Facility.key == data.key)) is not None:
        raise Conflict(
            f"a facility has the key {data.key!r} already", field="key", code="duplicate_key"
        )
    now = clock.now()
    facility = Facility(
        key=data.key,
        created_at=now,
        updated_at=now,
        **_facility_columns(data, keys),
        staff_edits=_marks(principal, clock, [*values, "key", "active"]),
    )
    session.add(facility)
    await session.flush()
    after = _dump(data, {*values, "key"}) | {"active": True}
    await record(
        session, clock, principal.actor, "facility.create", ("facility", facility.id), after=after
    )
    await bump_revision(session, now)
    return facility


async def update_facility(
    session: AsyncSession,
    clock: Clock,
    settings: Settings,
    principal: Principal,
    facility_id: int,
    changes: Mapping[str, Any],
) -> Facility:
    """Change some of FACILITY_FIELDS (administrators); `active` false retires the facility,
    true reinstates it. A change that sets what is already there changes nothing."""
    require_admin(principal)
    _known(changes, FACILITY_FIELDS)
    facility = await _facility(session, facility_id, lock=True)
    keys = await live_keys(session)
    current = facility_record(facility, keys)
    data = _validated(FacilityData, {**current, **_without(changes, "active")}, changes)
    _refuse(facility_problems(keys.references, data))
    old = FacilityData.model_validate(current)
    changed = [f for f in changes if f != "active" and _dump(old, {f}) != _dump(data, {f})]
    before, after = _dump(old, set(changed)), _dump(data, set(changed))
    if "active" in changes and bool(changes["active"]) != facility.active:
        changed.append("active")
        before["active"], after["active"] = facility.active, bool(changes["active"])
    if not changed:
        return facility
    today = local_today(clock, settings.tz)
    rooms = list(
        (await session.scalars(select(Room.id).where(Room.facility_id == facility.id))).all()
    )
    if after.get("active") is False:
        await _refuse_stranded(session, "active", rooms, today)
    if {"opens_on", "closes_on"} & set(changed):
        field = "closes_on" if "closes_on" in changed else "opens_on"
        await _refuse_stranded(session, field, rooms, today, (data.opens_on, data.closes_on))
    if "kind" in changed:
        await _refuse_room_problems(session, keys, facility, data)
    columns = _facility_columns(data, keys)
    for name, value in columns.items():
        setattr(facility, name, value)
    if "active" in changed:
        facility.active = bool(changes["active"])
    await _finish(session, clock, principal, facility, "facility", changed, (before, after))
    return facility


def _facility_columns(data: FacilityData, keys: Keys) -> dict[str, Any]:
    columns = facility_values(
        data, keys.ids("kinds"), keys.ids("wards"), keys.ids("grids"), keys.ids("policies")
    )
    del columns["active"]
    return columns


async def _refuse_room_problems(
    session: AsyncSession, keys: Keys, facility: Facility, data: FacilityData
) -> None:
    """Another kind may bring another period grid: every room's fees must still name its
    periods."""
    rooms = (
        await session.scalars(
            select(Room).where(Room.facility_id == facility.id, Room.active.is_(True))
        )
    ).all()
    units = await unit_keys(session, [room.id for room in rooms])
    grid = keys.references.grid_of(data)
    problems = [
        ("kind", f"room {room.key}: {reason}")
        for room in rooms
        for _, reason in room_problems(
            keys.references,
            RoomData.model_validate(room_record(room, units[room.id], keys)),
            grid,
        )
    ]
    _refuse(problems)


# --- rooms --------------------------------------------------------------------------------


async def create_room(
    session: AsyncSession,
    clock: Clock,
    settings: Settings,
    principal: Principal,
    facility_id: int,
    key: str,
    values: Mapping[str, Any],
) -> Room:
    """A new room of an active facility (administrators). `values` by ROOM_FIELDS; name_ja and
    name_en are required; `parts` make it a combined room; it goes last unless sort_order
    says otherwise."""
    require_admin(principal)
    _known(values, ROOM_FIELDS - {"active"})
    facility = await _facility(session, facility_id)
    if not facility.active:
        raise RuleViolation(
            f"facility {facility_id} is retired", field="facility_id", code="facility_retired"
        )
    keys = await live_keys(session)
    today = local_today(clock, settings.tz)
    units = await _units_of_parts(session, facility, None, values.get("parts"))
    wanted = {
        "sources": [staff_source(principal, today)],
        **_without(values, "parts", "sort_order"),
        "key": key,
        "units": list(units) if units else None,
    }
    data = _validated(RoomData, wanted, values)
    _refuse(room_problems(keys.references, data, _facility_grid(facility, keys)))
    taken = await session.scalar(
        select(Room.id).where(Room.facility_id == facility.id, Room.key == data.key)
    )
    if taken is not None:
        raise Conflict(
            f"facility {facility.key} has a room {data.key!r} already (retired rooms keep "
            "their keys)",
            field="key",
            code="duplicate_key",
        )
    order = values.get("sort_order")
    if order is None:
        last = await session.scalar(
            select(func.max(Room.sort_order)).where(Room.facility_id == facility.id)
        )
        order = (last or 0) + 1
    _check_sort_order(order)
    now = clock.now()
    columns = _room_columns(data, order, keys)
    room = Room(
        facility_id=facility.id,
        key=data.key,
        created_at=now,
        updated_at=now,
        **columns,
        staff_edits=_marks(
            principal, clock, [*_without(values, "parts"), "key", "units", "sort_order", "active"]
        ),
    )
    session.add(room)
    await session.flush()
    await _set_units(session, facility.id, room.id, data.unit_keys)
    after = _dump(data, {*_without(values, "parts", "sort_order"), "key"}) | {
        "units": list(data.unit_keys),
        "sort_order": order,
        "active": True,
    }
    await record(session, clock, principal.actor, "room.create", ("room", room.id), after=after)
    await bump_revision(session, now)
    return room


async def update_room(
    session: AsyncSession,
    clock: Clock,
    settings: Settings,
    principal: Principal,
    room_id: int,
    changes: Mapping[str, Any],
) -> Room:
    """Change some of ROOM_FIELDS: the facility's managers and administrators; `active`
    (retire, reinstate) administrators only."""
    # Locked: two edits of one room at once must not lose each other's staff_edits marks.
    room = await session.get(Room, room_id, with_for_update=True, populate_existing=True)
    if room is None:
        raise NotFound(f"no room {room_id}", field="room_id")
    require_facility(principal, room.facility_id)
    if ADMIN_ROOM_FIELDS & set(changes):
        require_admin(principal)
    _known(changes, ROOM_FIELDS)
    facility = await _facility(session, room.facility_id)
    keys = await live_keys(session)
    old_units = (await unit_keys(session, [room.id]))[room.id]
    current = room_record(room, old_units, keys)
    wanted = {**current, **_without(changes, "parts", "sort_order", "active")}
    if "parts" in changes:
        units = await _units_of_parts(session, facility, room, changes["parts"])
        wanted["units"] = list(units) if units else None
    data = _validated(RoomData, wanted, changes)
    _refuse(room_problems(keys.references, data, _facility_grid(facility, keys)))
    old = RoomData.model_validate(current)
    fields = {f for f in changes if f not in {"parts", "sort_order", "active"}}
    changed = [f for f in fields if _dump(old, {f}) != _dump(data, {f})]
    before, after = _dump(old, set(changed)), _dump(data, set(changed))
    if "parts" in changes and set(data.unit_keys) != set(old_units):
        changed.append("units")
        before["units"], after["units"] = list(old_units), list(data.unit_keys)
    order = changes.get("sort_order", room.sort_order)
    _check_sort_order(order)
    if order != room.sort_order:
        changed.append("sort_order")
        before["sort_order"], after["sort_order"] = room.sort_order, order
    if "active" in changes and bool(changes["active"]) != room.active:
        changed.append("active")
        before["active"], after["active"] = room.active, bool(changes["active"])
    if not changed:
        return room
    today = local_today(clock, settings.tz)
    if after.get("active") is False:
        await _refuse_stranded(session, "active", [room.id], today)
    if "units" in changed:
        # Live claims sit on the old units: moving them is a move of bookings, not an edit.
        await _refuse_stranded(session, "parts", [room.id], today)
        await _set_units(session, facility.id, room.id, data.unit_keys)
    for name, value in _room_columns(data, order, keys).items():
        setattr(room, name, value)
    if "active" in changed:
        room.active = bool(changes["active"])
    await _finish(session, clock, principal, room, "room", changed, (before, after))
    return room


def _room_columns(data: RoomData, order: int, keys: Keys) -> dict[str, Any]:
    columns = room_values(data, order, keys.ids("grids"), keys.ids("policies"))
    del columns["active"]
    return columns


def _facility_grid(facility: Facility, keys: Keys) -> str | None:
    if facility.period_grid_id:
        return keys.grids[facility.period_grid_id]
    return keys.references.kinds.get(keys.kinds[facility.kind_id])


def _check_sort_order(order: Any) -> None:
    if isinstance(order, bool) or not isinstance(order, int) or not 0 <= order <= SORT_ORDER_MAX:
        raise InvalidInput(f"sort_order is a whole number 0-{SORT_ORDER_MAX}", field="sort_order")


async def _units_of_parts(
    session: AsyncSession, facility: Facility, room: Room | None, parts: Any
) -> tuple[str, ...]:
    """The units of a combined room: its parts' units. None or [] when it is no combination
    (it occupies a unit of its own key)."""
    if not parts:
        return ()
    if not isinstance(parts, Sequence) or len(parts) > MAX_PARTS:
        raise InvalidInput(f"parts is a list of at most {MAX_PARTS} room ids", field="parts")
    found = {r.id: r for r in (await session.scalars(select(Room).where(Room.id.in_(parts)))).all()}
    problems = []
    for part in parts:
        other = found.get(part)
        if other is None or not other.active:
            problems.append(("parts", f"no room {part}"))
        elif other.facility_id != facility.id:
            problems.append(("parts", f"room {part} is a room of another facility"))
        elif room is not None and other.id == room.id:
            problems.append(("parts", "a room is not a part of itself"))
    if len(set(parts)) != len(parts):
        problems.append(("parts", "a room is named twice"))
    _refuse(problems)
    units = await unit_keys(session, list(found))
    return tuple(sorted({key for part in parts for key in units[part]}))


async def _set_units(
    session: AsyncSession, facility_id: int, room_id: int, keys: Sequence[str]
) -> None:
    existing = {
        u.key: u
        for u in (await session.scalars(select(Unit).where(Unit.facility_id == facility_id)))
    }
    for key in set(keys) - set(existing):
        existing[key] = Unit(facility_id=facility_id, key=key)
        session.add(existing[key])
    await session.flush()
    wanted = {existing[key].id for key in keys}
    current = {
        ru.unit_id: ru
        for ru in (await session.scalars(select(RoomUnit).where(RoomUnit.room_id == room_id)))
    }
    for unit_id, row in current.items():
        if unit_id not in wanted:
            await session.delete(row)
    for unit_id in wanted - set(current):
        session.add(RoomUnit(room_id=room_id, unit_id=unit_id))
    await session.flush()


# --- shared -------------------------------------------------------------------------------


async def _facility(session: AsyncSession, facility_id: int, *, lock: bool = False) -> Facility:
    """The facility; with `lock`, its row locked for the change (as update_room's room)."""
    facility = await session.get(
        Facility, facility_id, with_for_update=lock, populate_existing=lock
    )
    if facility is None:
        raise NotFound(f"no facility {facility_id}", field="facility_id")
    return facility


def _known(values: Mapping[str, Any], allowed: frozenset[str]) -> None:
    _refuse([(name, "not a field staff may set") for name in values if name not in allowed])


def _without(values: Mapping[str, Any], *names: str) -> dict[str, Any]:
    return {name: value for name, value in values.items() if name not in names}


def _refuse(problems: list[tuple[str, str]]) -> None:
    if problems:
        field, reason = problems[0]
        raise InvalidInput(f"{field}: {reason}", field=field, problems=problems)


def _validated(model: type[M], wanted: Mapping[str, Any], given: Any) -> M:
    """The record checked by the data files' model; each problem named by the field given."""
    try:
        return model.model_validate(wanted)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            reason = error["msg"].removeprefix("Value error, ")
            loc = error["loc"]
            field = str(loc[0]) if loc else _field_named(reason, given)
            if field == "units":
                field = "parts"
            problems.append((field, reason))
        _refuse(problems)
        raise  # unreachable: _refuse raised


def _field_named(reason: str, given: Any) -> str:
    """The field a whole-record rule's reason is about ("closes_on is before opens_on")."""
    names = [name for name in given if name in reason]
    return min(names, key=reason.index) if names else next(iter(given), "body")


def _dump(data: BaseModel, fields: set[str]) -> dict[str, Any]:
    dumped: dict[str, Any] = data.model_dump(mode="json", include=fields)
    return dumped


def _marks(principal: Principal, clock: Clock, fields: Any) -> dict[str, Any]:
    mark = {"by": principal.user_id, "at": clock.now().isoformat()}
    return dict.fromkeys(fields, mark)


async def _finish(
    session: AsyncSession,
    clock: Clock,
    principal: Principal,
    row: Facility | Room,
    kind: str,
    changed: list[str],
    diff: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    before, after = diff
    row.staff_edits = {**row.staff_edits, **_marks(principal, clock, changed)}
    row.updated_at = clock.now()
    action = f"{kind}.update"
    if "active" in changed:
        action = f"{kind}.retire" if not after["active"] else f"{kind}.reinstate"
    target = (kind, row.id)
    await record(session, clock, principal.actor, action, target, before=before, after=after)
    await session.flush()
    await bump_revision(session, clock.now())


async def _refuse_stranded(
    session: AsyncSession,
    field: str,
    room_ids: list[int],
    today: date,
    service: tuple[date | None, date | None] | None = None,
) -> None:
    """Refuse when live bookings or lottery applications from today on would be left in a
    retired room, on the old units, or outside the new service dates."""

    def outside(day: date) -> bool:
        if service is None:
            return True
        opens_on, closes_on = service
        return bool((opens_on and day < opens_on) or (closes_on and day > closes_on))

    bookings = (
        await session.execute(
            select(Booking.id, Booking.use_date)
            .where(
                Booking.room_id.in_(room_ids),
                Booking.status.in_(_LIVE_BOOKINGS),
                Booking.use_date >= today,
            )
            .order_by(Booking.use_date, Booking.id)
        )
    ).all()
    applications = (
        await session.execute(
            select(LotteryApplication.id, LotteryApplication.use_date)
            .where(
                LotteryApplication.room_id.in_(room_ids),
                LotteryApplication.status.in_(_LIVE_APPLICATIONS),
                LotteryApplication.use_date >= today,
            )
            .order_by(LotteryApplication.use_date, LotteryApplication.id)
        )
    ).all()
    problems = [
        (field, f"booking {booking_id} on {day.isoformat()}")
        for booking_id, day in bookings
        if outside(day)
    ] + [
        (field, f"lottery application {application_id} on {day.isoformat()}")
        for application_id, day in applications
        if outside(day)
    ]
    if problems:
        raise Conflict(
            f"{len(problems)} live booking(s) or application(s) would be stranded; move or "
            "cancel them first",
            field=field,
            code="bookings_in_the_way",
            problems=problems[:_SHOWN],
        )
