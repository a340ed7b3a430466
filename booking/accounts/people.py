"""Users as people: clean e-mail addresses, find or create the login of someone on a roster."""

from __future__ import annotations

from collections.abc import Iterable

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.models import User, UserStatus
from booking.clock import Clock
from booking.errors import InvalidInput


def clean_email(value: str, field: str) -> str:
    """A syntactically valid address, lower-cased; no DNS lookup (offline, and fast)."""
    try:
        checked = validate_email(value.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidInput(f"not a valid e-mail address: {exc}", field=field) from exc
    return checked.normalized.lower()


async def user_by_email(session: AsyncSession, email: str) -> User | None:
    return (await session.scalars(select(User).where(User.email == email))).one_or_none()


async def find_or_invite(
    session: AsyncSession, clock: Clock, email: str, name: str, phone: str | None
) -> tuple[User, bool]:
    """The user with this e-mail, or a new one without a password (True: invite them)."""
    user = await user_by_email(session, email)
    if user is not None:
        return user, False
    user = User(
        email=email, name=name, phone=phone, status=UserStatus.ACTIVE, created_at=clock.now()
    )
    session.add(user)
    await session.flush()
    return user, True


async def names_of(session: AsyncSession, user_ids: Iterable[int | None]) -> dict[int, str]:
    """Who acted, by name, for a list of audit events (the desk's history, the audit trail)."""
    wanted = {user_id for user_id in user_ids if user_id is not None}
    if not wanted:
        return {}
    rows = await session.execute(select(User.id, User.name).where(User.id.in_(wanted)))
    return {int(row.id): str(row.name) for row in rows}
