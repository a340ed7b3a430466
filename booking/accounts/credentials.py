"""Ending a person's credentials when they may be in someone else's hands.

A changed or reset password means the old one may be known: every web session but the one
making the change ends, every API token is revoked (a token is a password a program keeps),
every calendar feed URL too (one made with a stolen session would go on showing bookings,
and to staff the groups' contacts), and every unused password link is spent. Suspension
does the same for good: reinstating the person later revives none of it; they log in again
and make new tokens and feeds.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.models import ApiToken, PasswordToken
from booking.accounts.sessions import end_all_sessions
from booking.audit.service import Actor, record
from booking.calendars.models import CalendarFeed
from booking.clock import Clock


@dataclass(frozen=True, slots=True)
class Ended:
    sessions: int
    tokens: int
    feeds: int
    links: int


async def end_credentials(
    session: AsyncSession,
    clock: Clock,
    actor: Actor,
    user_id: int,
    *,
    reason: str,
    keep_session_id: int | None = None,
) -> Ended:
    """End sessions (all but `keep_session_id`), revoke tokens and calendar feeds, spend
    password links. Each revoked token and feed gets its audit event, with the reason."""
    now = clock.now()
    sessions = await end_all_sessions(session, user_id, keep_session_id=keep_session_id)
    revoked = (
        await session.scalars(
            update(ApiToken)
            .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
            .values(revoked_at=now)
            .returning(ApiToken.id)
            .execution_options(synchronize_session="fetch")
        )
    ).all()
    for token_id in sorted(revoked):
        await record(
            session,
            clock,
            actor,
            "token.revoked",
            ("api_token", token_id),
            before={"revoked_at": None},
            after={"revoked_at": now.isoformat(), "user_id": user_id, "reason": reason},
        )
    feeds = (
        await session.scalars(
            update(CalendarFeed)
            .where(CalendarFeed.owner_user_id == user_id, CalendarFeed.revoked_at.is_(None))
            .values(revoked_at=now)
            .returning(CalendarFeed.id)
            .execution_options(synchronize_session="fetch")
        )
    ).all()
    for feed_id in sorted(feeds):
        await record(
            session,
            clock,
            actor,
            "feed.revoked",
            ("calendar_feed", feed_id),
            after={"reason": reason},
        )
    links = await session.execute(
        update(PasswordToken)
        .where(PasswordToken.user_id == user_id, PasswordToken.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    return Ended(sessions, len(revoked), len(feeds), int(getattr(links, "rowcount", 0) or 0))
