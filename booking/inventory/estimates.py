"""Estimates staff confirm (issue 16 §2): a facility's or a room's value the data files mark as
estimated (`estimated_fields`) stays marked on every page until staff confirm it, as it is or
corrected. The field then leaves `estimated_fields`, `confirmations[field]` says who confirmed
it, when and in which role, and `staff_edits[field]` makes a later `booking facilities load`
report a differing file value as a conflict instead of putting the estimate back.

Who: administrators confirm anything; a facility's managers confirm their rooms' fields, the
fees excepted. A manager stands at the room and counts its chairs, but the fee table is the
city's (set by ordinance, revised by administrators as fee schedules from a date), so a
manager's word cannot make a fee official. A facility's own fields (address, service dates)
are the administrators', as editing them is (inventory/editing.py).

A room made from a kind's room template (`rooms.is_estimated`) is an estimate as a whole: the
data files call that field `estimated` (the load maps `is_estimated` to it), and staff confirm
it as one field. The room is then no longer an estimate, so by the data files' rule it needs a
source: one without gets the city's entry as its source (editing.staff_source), kept as staff's
like the flag, so the export loads back unchanged and a later load of the template reports
both instead of making the room an estimate again.

A correction goes through editing.update_facility / update_room: the same rules, audit and
staff mark as any edit. Fees are corrected as a fee schedule (inventory/schedules.py), then
confirmed here.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.access import Principal, require_admin, require_facility
from booking.audit.service import record
from booking.clock import Clock, local_today
from booking.errors import BookingError, InvalidInput, NotFound, RuleViolation
from booking.inventory import editing
from booking.inventory.models import Facility, Room
from booking.inventory.services import bump_revision
from booking.settings import Settings

Target = Literal["facility", "room"]
# A template room as a whole (rooms.is_estimated), by the data files' name.
WHOLE_ROOM = "estimated"
# Room fields only an administrator confirms: the fee table is the city's (a whole template
# room's confirmation makes its fees official too).
ADMIN_ROOM_FIELDS = frozenset({"fees", "all_day_fee", WHOLE_ROOM})
# What a correction may change, by target: what staff may edit (inventory/editing.py).
CORRECTABLE: dict[Target, frozenset[str]] = {
    "facility": editing.FACILITY_FIELDS - {"active"},
    "room": editing.ROOM_FIELDS - {"active", "parts", "sort_order"},
}


def estimated(row: Facility | Room) -> list[str]:
    """The fields still shown as estimates: marked by the data, not confirmed by staff (a
    confirmation outlives a load that marks the field again); a template room's first."""
    fields = [f for f in row.estimated_fields if f not in row.confirmations]
    if isinstance(row, Room) and row.is_estimated and WHOLE_ROOM not in row.confirmations:
        fields.insert(0, WHOLE_ROOM)
    return fields


def may_confirm(principal: Principal, target: Target, row: Facility | Room, field: str) -> bool:
    """Whether confirm_estimate lets this principal confirm the field (pages show the button
    only then)."""
    if principal.is_admin:
        return True
    if target == "facility" or field in ADMIN_ROOM_FIELDS:
        return False
    return isinstance(row, Room) and principal.manages(row.facility_id)


def _require(principal: Principal, row: Facility | Room, field: str) -> None:
    if isinstance(row, Room) and field not in ADMIN_ROOM_FIELDS:
        require_facility(principal, row.facility_id)
    else:
        require_admin(principal)


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def _value(row: Facility | Room, field: str) -> Any:
    if isinstance(row, Room) and field == WHOLE_ROOM:
        return row.is_estimated
    return _plain(getattr(row, field, None))


async def _row(session: AsyncSession, target: Target, target_id: int) -> Facility | Room:
    row: Facility | Room | None = await session.get(
        Facility if target == "facility" else Room, target_id, with_for_update=True
    )
    if row is None or not row.active:
        raise NotFound(f"no {target} {target_id}", field=f"{target}_id")
    return row


async def confirm_estimate(
    session: AsyncSession,
    clock: Clock,
    settings: Settings,
    principal: Principal,
    target: tuple[Target, int],
    field: str,
    value: Any = None,
) -> Facility | Room:
    """Confirm an estimated field, with `value` (not None) as its corrected value."""
    kind, target_id = target
    row = await _row(session, kind, target_id)
    _require(principal, row, field)
    if field not in estimated(row):
        raise RuleViolation(
            f"{field} is not an estimate of this {kind}", field="field", code="not_estimated"
        )
    before_value = _value(row, field)
    if value is not None:
        if field not in CORRECTABLE[kind]:
            raise InvalidInput(
                f"{field} cannot be corrected here (fees: a fee schedule from a date)",
                field="value",
            )
        try:
            if kind == "facility":
                await editing.update_facility(
                    session, clock, settings, principal, target_id, {field: value}
                )
            else:
                await editing.update_room(
                    session, clock, settings, principal, target_id, {field: value}
                )
        except BookingError as exc:  # the value is what the request calls it
            exc.problems = [("value" if f == field else f, r) for f, r in exc.problems]
            exc.field = "value" if exc.field == field else exc.field
            raise
    now = clock.now()
    mark = {"by": principal.user_id, "at": now.isoformat()}
    confirmation = {**mark, "role": "admin" if principal.is_admin else "manager"}
    before = {"estimated_fields": list(row.estimated_fields), field: before_value}
    marked = {field: mark}
    if isinstance(row, Room) and field == WHOLE_ROOM:
        row.is_estimated = False
        if not row.sources:  # the data files' rule: a room that is not an estimate has one
            before["sources"] = []
            row.sources = [editing.staff_source(principal, local_today(clock, settings.tz))]
            marked["sources"] = mark
    row.estimated_fields = [f for f in row.estimated_fields if f != field]
    row.confirmations = {**row.confirmations, field: confirmation}
    row.staff_edits = {**row.staff_edits, **marked}
    row.updated_at = now
    after = {
        "estimated_fields": list(row.estimated_fields),
        field: _value(row, field),
        **({"sources": list(row.sources)} if "sources" in before else {}),
        "confirmed": confirmation,
    }
    await record(
        session,
        clock,
        principal.actor,
        f"{kind}.estimate_confirmed",
        (kind, row.id),
        before=before,
        after=after,
    )
    await session.flush()
    await bump_revision(session, now)
    return row
