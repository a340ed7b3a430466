"""Writing and reading audit events (DESIGN.md invariant 6)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.audit.models import AuditEvent
from booking.clock import Clock


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is acting: a user, or nobody (anonymous or the system), and from which address."""

    user_id: int | None
    address: str | None = None


SYSTEM = Actor(None)
AUDIT_EVENTS = cast("Table", AuditEvent.__table__)


async def record(
    session: AsyncSession,
    clock: Clock,
    actor: Actor,
    action: str,
    target: tuple[str, object],
    *,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit event to the session's transaction: it lands if and only if the change does."""
    target_type, target_id = target
    event = AuditEvent(
        at=clock.now(),
        actor_user_id=actor.user_id,
        action=action,
        target_type=target_type,
        target_id=str(target_id)[:300],
        before=dict(before) if before is not None else None,
        after=dict(after) if after is not None else None,
        address=actor.address,
    )
    session.add(event)
    return event


async def insert_event(
    session: AsyncSession,
    clock: Clock,
    actor: Actor,
    action: str,
    target: tuple[str, object],
    *,
    after: Mapping[str, Any] | None = None,
) -> None:
    """`record` as one INSERT executed now, outside the ORM's unit of work: for hot paths
    (a booking), where the flush's bookkeeping cost more than the statement."""
    target_type, target_id = target
    await session.execute(
        insert(AUDIT_EVENTS).values(
            at=clock.now(),
            actor_user_id=actor.user_id,
            action=action,
            target_type=target_type,
            target_id=str(target_id)[:300],
            before=None,
            after=dict(after) if after is not None else None,
            address=actor.address,
        )
    )


@dataclass(frozen=True, slots=True)
class AuditQuery:
    action: str | None = None
    actor_user_id: int | None = None
    target_type: str | None = None
    target_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    before_id: int | None = None  # keyset paging: the events older than this one
    limit: int = 100


async def list_events(session: AsyncSession, query: AuditQuery) -> Sequence[AuditEvent]:
    """Newest first. An `action` ending in a dot is a prefix: "group." is every group event."""
    stmt = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(query.limit)
    if query.action:
        if query.action.endswith("."):
            stmt = stmt.where(AuditEvent.action.startswith(query.action, autoescape=True))
        else:
            stmt = stmt.where(AuditEvent.action == query.action)
    if query.actor_user_id is not None:
        stmt = stmt.where(AuditEvent.actor_user_id == query.actor_user_id)
    if query.target_type:
        stmt = stmt.where(AuditEvent.target_type == query.target_type)
    if query.target_id:
        stmt = stmt.where(AuditEvent.target_id == query.target_id)
    if query.since:
        stmt = stmt.where(AuditEvent.at >= query.since)
    if query.until:
        stmt = stmt.where(AuditEvent.at < query.until)
    if query.before_id is not None:
        stmt = stmt.where(AuditEvent.id < query.before_id)
    return (await session.scalars(stmt)).all()
