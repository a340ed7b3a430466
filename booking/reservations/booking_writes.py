"""A new booking's row and its audit event, written in as few round trips as the engine allows.

The ORM's unit of work was a booking's largest cost in Python (bench/bookings.py): the row is
written with a plain INSERT ... RETURNING id and attached to the session as if loaded, so
later changes to it (a cancellation, a move) are flushed as usual. On PostgreSQL the audit
event rides in the same statement (a data-modifying CTE): one round trip instead of two.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import String, Table, bindparam, insert, select
from sqlalchemy import cast as sql_cast
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached

from booking.audit.service import AUDIT_EVENTS, Actor, insert_event
from booking.clock import Clock
from booking.reservations.models import Booking

BOOKINGS = cast("Table", Booking.__table__)
_COLUMNS = tuple(column.key for column in BOOKINGS.columns if column.key != "id")
# The audit event's columns, each bound under its own name ("event_" + column).
_EVENT_COLUMNS = ("at", "actor_user_id", "action", "target_type", "address", "after")


def _booking_with_event() -> Any:
    booking = (
        insert(BOOKINGS)
        .values({key: bindparam(key, type_=BOOKINGS.c[key].type) for key in _COLUMNS})
        .returning(BOOKINGS.c.id)
        .cte("booking")
    )
    binds = [bindparam(f"event_{key}", type_=AUDIT_EVENTS.c[key].type) for key in _EVENT_COLUMNS]
    event = (
        insert(AUDIT_EVENTS)
        .from_select(
            [*_EVENT_COLUMNS, "target_id"],
            select(*binds, sql_cast(booking.c.id, String)),
        )
        .cte("event")
    )
    return select(booking.c.id).add_cte(event)


_BOOKING_WITH_EVENT = _booking_with_event()


async def insert_booking(
    session: AsyncSession,
    clock: Clock,
    booking: Booking,
    actor: Actor,
    action: str,
    after: dict[str, object],
) -> Booking:
    """Insert a new booking (not yet in the session) and its audit event `action` with
    `after`; the booking is returned attached to the session, every column loaded."""
    booking.sequence = 1  # the ORM's version counter (Booking.sequence) starts at 1
    values = {key: getattr(booking, key) for key in _COLUMNS}
    for key, value in values.items():  # every column loaded: none is read lazily later
        setattr(booking, key, value)
    if session.get_bind().dialect.name == "postgresql":
        event = {
            "at": clock.now(),
            "actor_user_id": actor.user_id,
            "action": action,
            "target_type": "booking",
            "address": actor.address,
            "after": after,
        }
        params = {**values, **{f"event_{key}": value for key, value in event.items()}}
        booking.id = (await session.execute(_BOOKING_WITH_EVENT, params)).scalar_one()
    else:
        booking.id = (
            await session.execute(insert(BOOKINGS).values(values).returning(BOOKINGS.c.id))
        ).scalar_one()
        await insert_event(session, clock, actor, action, ("booking", booking.id), after=after)
    make_transient_to_detached(booking)
    session.add(booking)
    return booking
