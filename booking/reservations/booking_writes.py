"""A new booking's statements: the group read before it, then the write in as few round trips
as the engine allows.

The ORM was a booking's largest cost in Python (bench/bookings.py): the group is read with one
plain SELECT, which also finds the first wanted slot already claimed (a 409 before anything
is written: most attempts of an opening rush) and, on PostgreSQL, reserves the booking's id.
The row is written with plain INSERTs and attached to the session as if loaded, so later
changes to it (a cancellation, a move) are flushed as usual. On PostgreSQL the booking, its
audit event, its claims and its mail are one statement (data-modifying CTEs): atomic on its
own, so a booking needs no transaction around it (booking/deps.py, ONE_STATEMENT), and the
claims' unique constraint still decides every race (the statement then fails whole).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Integer,
    String,
    Table,
    bindparam,
    func,
    insert,
    literal,
    select,
    true,
)
from sqlalchemy import (
    Sequence as DbSequence,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached

from booking.accounts.group_facts import GROUP_FACTS, GroupRow
from booking.accounts.models import Group
from booking.audit.service import AUDIT_EVENTS, Actor, insert_event
from booking.clock import Clock
from booking.db.direct import Direct, autocommit, fetch
from booking.db.errors import constraint_of
from booking.errors import NotFound
from booking.inventory.network import RoomInfo
from booking.notifications.models import OutboxMessage
from booking.notifications.outbox import OUTBOX_ROW_KEYS, enqueue, outbox_row
from booking.reservations.claims import CLAIM_CONSTRAINTS, CLAIMS, claim_slots, taken, taken_as
from booking.reservations.models import Booking, ClaimKind

BOOKINGS = cast("Table", Booking.__table__)
GROUPS = cast("Table", Group.__table__)
OUTBOX = cast("Table", OutboxMessage.__table__)
_COLUMNS = tuple(column.key for column in BOOKINGS.columns if column.key != "id")
# The audit event's columns, each bound under its own name (prefix + column); the mail's are
# outbox_row's.
_EVENT_COLUMNS = ("at", "actor_user_id", "action", "target_type", "address", "after")
# (to, template, context) of a mail about the booking, once it has its id; None: no mail.
Mail = Callable[[Booking], tuple[str, str, Mapping[str, object]] | None]


@dataclass(frozen=True, slots=True)
class Wanted:
    """The slots a booking asks for: the claims it will write."""

    room: RoomInfo
    use_date: date
    periods: Sequence[str]
    kind: ClaimKind


@dataclass(frozen=True, slots=True)
class GroupRead:
    group: GroupRow
    # The first wanted slot already claimed: (period code, claim kind); None when all are free.
    taken: tuple[str, ClaimKind] | None
    booking_id: int | None  # reserved on PostgreSQL (its mail names it before the write)


_NEXT_ID = DbSequence("bookings_id_seq").next_value()


def _group_read(dialect: str) -> Any:
    booking_id: ColumnElement[Any]
    if dialect == "postgresql":
        units = CLAIMS.c.unit_id == func.any(bindparam("units", type_=ARRAY(Integer)))
        codes = CLAIMS.c.period_code == func.any(bindparam("codes", type_=ARRAY(String)))
        booking_id = _NEXT_ID
    else:
        units = CLAIMS.c.unit_id.in_(bindparam("units", expanding=True))
        codes = CLAIMS.c.period_code.in_(bindparam("codes", expanding=True))
        booking_id = literal(None, Integer)
    first = (
        select(CLAIMS.c.period_code, CLAIMS.c.kind)
        .where(units, CLAIMS.c.use_date == bindparam("use_date"), codes)
        .order_by(CLAIMS.c.period_code)
        .limit(1)
    )
    return select(
        *(GROUPS.c[key] for key in GROUP_FACTS),
        first.with_only_columns(CLAIMS.c.period_code).scalar_subquery().label("taken_code"),
        first.with_only_columns(CLAIMS.c.kind).scalar_subquery().label("taken_kind"),
        booking_id.label("booking_id"),
    ).where(GROUPS.c.id == bindparam("group_id"))


_GROUP_READS = {dialect: Direct(_group_read(dialect)) for dialect in ("postgresql", "sqlite")}


async def read_group(session: AsyncSession, group_id: int, wanted: Wanted | None) -> GroupRead:
    """The group, and with `wanted` the first of its slots claimed now (no look-up without)."""
    params = {
        "group_id": group_id,
        "units": list(wanted.room.unit_ids) if wanted else [],
        "use_date": wanted.use_date if wanted else None,
        "codes": list(wanted.periods) if wanted else [],
    }
    dialect = session.get_bind().dialect.name
    rows = await fetch(session, _GROUP_READS[dialect], params)
    if not rows:
        raise NotFound(f"no group {group_id}", code="group_not_found")
    *facts, taken_code, taken_kind, booking_id = rows[0]
    taken = None if taken_code is None else (taken_code, ClaimKind(taken_kind))
    return GroupRead(GroupRow(*facts), taken, booking_id)


def _pg_write() -> Any:
    """PostgreSQL's one statement: the booking, then from its id the audit event, the claims
    (one per unit and period, unnested from two arrays) and the mail (when it has an address)."""
    booking = (
        insert(BOOKINGS)
        .values({key: bindparam(key, type_=BOOKINGS.c[key].type) for key in ("id", *_COLUMNS)})
        .returning(BOOKINGS.c.id)
        .cte("booking")
    )
    binds = [bindparam(f"event_{key}", type_=AUDIT_EVENTS.c[key].type) for key in _EVENT_COLUMNS]
    event = insert(AUDIT_EVENTS).from_select(
        [*_EVENT_COLUMNS, "target_id"], select(*binds, sql_cast(booking.c.id, String))
    )
    slots = (
        func.unnest(
            bindparam("units", type_=ARRAY(Integer)), bindparam("codes", type_=ARRAY(String))
        )
        .table_valued("unit_id", "period_code")
        .render_derived(name="slots")
    )
    claim = {
        key: bindparam(f"claim_{key}", type_=CLAIMS.c[key].type)
        for key in ("use_date", "kind", "created_at")
    }
    claims = insert(CLAIMS).from_select(
        ["unit_id", "period_code", *claim, "owner_id"],
        select(slots.c.unit_id, slots.c.period_code, *claim.values(), booking.c.id).select_from(
            booking.join(slots, true())  # every slot with the one booking row
        ),
    )
    mail = {key: bindparam(f"mail_{key}", type_=OUTBOX.c[key].type) for key in OUTBOX_ROW_KEYS}
    mails = insert(OUTBOX).from_select(
        list(mail), select(*mail.values()).where(mail["to_address"].is_not(None))
    )
    return (
        select(booking.c.id)
        .add_cte(event.cte("event"))
        .add_cte(claims.cte("claims"))
        .add_cte(mails.cte("mail"))
    )


_PG_WRITE = Direct(_pg_write())


async def insert_booking(  # noqa: PLR0913 - the row and everything written with it
    session: AsyncSession,
    clock: Clock,
    booking: Booking,
    actor: Actor,
    action: str,
    after: dict[str, object],
    *,
    wanted: Wanted,
    mail: Mail,
) -> Booking:
    """Insert a new booking (not yet in the session; on PostgreSQL with its reserved id), its
    audit event `action` with `after`, its claims and its mail; the booking is returned
    attached to the session, every column loaded. A wanted slot claimed first by another
    writer is a 409 naming it, and nothing of this booking is written."""
    booking.sequence = 1  # the ORM's version counter (Booking.sequence) starts at 1
    values = {key: getattr(booking, key) for key in _COLUMNS}
    for key, value in values.items():  # every column loaded: none is read lazily later
        setattr(booking, key, value)
    if session.get_bind().dialect.name == "postgresql":
        await _write_pg(session, clock, booking, actor, action, after, wanted=wanted, mail=mail)
    else:  # a local file: one statement each, in a savepoint that a lost slot undoes whole
        async with session.begin_nested():
            booking.id = (
                await session.execute(insert(BOOKINGS).values(values).returning(BOOKINGS.c.id))
            ).scalar_one()
            await insert_event(session, clock, actor, action, ("booking", booking.id), after=after)
            if found := mail(booking):
                await enqueue(session, clock, to=found[0], template=found[1], context=found[2])
            await claim_slots(
                session,
                clock,
                wanted.room,
                wanted.use_date,
                wanted.periods,
                wanted.kind,
                booking.id,
            )
    make_transient_to_detached(booking)
    session.add(booking)
    return booking


async def _write_pg(  # noqa: PLR0913 - insert_booking's
    session: AsyncSession,
    clock: Clock,
    booking: Booking,
    actor: Actor,
    action: str,
    after: dict[str, object],
    *,
    wanted: Wanted,
    mail: Mail,
) -> None:
    if booking.id is None:  # not reserved by read_group: the mail names it, so first
        booking.id = (await session.execute(select(_NEXT_ID))).scalar_one()
    now = clock.now()
    event = {
        "at": now,
        "actor_user_id": actor.user_id,
        "action": action,
        "target_type": "booking",
        "address": actor.address,
        "after": after,
    }
    found = mail(booking)
    message = outbox_row(now, *found) if found else dict.fromkeys(OUTBOX_ROW_KEYS)
    slots = [(unit_id, code) for unit_id in wanted.room.unit_ids for code in wanted.periods]
    units, codes = zip(*slots, strict=True)
    params = {
        **{key: getattr(booking, key) for key in ("id", *_COLUMNS)},
        **{f"event_{key}": value for key, value in event.items()},
        **{f"mail_{key}": message[key] for key in OUTBOX_ROW_KEYS},
        "units": units,
        "codes": codes,
        "claim_use_date": wanted.use_date,
        "claim_kind": wanted.kind,
        "claim_created_at": now,
    }
    try:
        if autocommit(await session.connection()):
            [(booking.id,)] = await fetch(session, _PG_WRITE, params)
        else:  # in a transaction, a failed statement aborts it: look for the slot after
            async with session.begin_nested():
                [(booking.id,)] = await fetch(session, _PG_WRITE, params)
    except IntegrityError as exc:  # the statement failed whole: nothing of it is written
        if constraint_of(exc) not in CLAIM_CONSTRAINTS:
            raise
        conflict = await taken(session, wanted.room, wanted.use_date, wanted.periods)
        first = wanted.periods[0]  # released again since: still this request's loss, named
        raise conflict or taken_as(wanted.room, wanted.use_date, first, ClaimKind.BOOKING) from exc
