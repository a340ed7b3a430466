"""API tokens for programs: named, expiring, revocable, shown once, stored hashed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.access import Principal
from booking.accounts.models import ApiToken
from booking.accounts.secrets import new_secret
from booking.accounts.sessions import TOKEN_PREFIX
from booking.audit.service import record
from booking.clock import Clock
from booking.errors import NotFound, PermissionDenied

MAX_TOKEN_DAYS = 366


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: ApiToken
    secret: str  # the only time the whole token exists outside the caller's hands


async def create_token(
    session: AsyncSession, clock: Clock, principal: Principal, name: str, days: int
) -> IssuedToken:
    """A token acts with its owner's rights. A token cannot mint tokens: a leaked one must
    not be able to outlive its own revocation."""
    if principal.via == "token":
        raise PermissionDenied(
            "API tokens are created from a logged-in session, not with another token",
            code="session_required",
        )
    now = clock.now()
    secret = new_secret()
    token = ApiToken(
        user_id=principal.user_id,
        name=name,
        selector=secret.selector,
        verifier_hash=secret.verifier_hash,
        created_at=now,
        expires_at=now + timedelta(days=days),
    )
    session.add(token)
    await session.flush()
    await record(
        session,
        clock,
        principal.actor,
        "token.created",
        ("api_token", token.id),
        after={
            "name": name,
            "user_id": principal.user_id,
            "expires_at": token.expires_at.isoformat(),
        },
    )
    return IssuedToken(token, f"{TOKEN_PREFIX}{secret}")


async def list_tokens(session: AsyncSession, principal: Principal) -> Sequence[ApiToken]:
    stmt = select(ApiToken).where(ApiToken.user_id == principal.user_id).order_by(ApiToken.id)
    return (await session.scalars(stmt)).all()


async def revoke_token(
    session: AsyncSession, clock: Clock, principal: Principal, token_id: int
) -> ApiToken:
    """The owner revokes their own tokens; an administrator anyone's. Revoking twice is fine."""
    token = await session.get(ApiToken, token_id, with_for_update=True)
    if token is None or (token.user_id != principal.user_id and not principal.is_admin):
        raise NotFound(f"no token {token_id}", code="token_not_found")
    if token.revoked_at is None:
        token.revoked_at = clock.now()
        await record(
            session,
            clock,
            principal.actor,
            "token.revoked",
            ("api_token", token.id),
            before={"revoked_at": None},
            after={"revoked_at": token.revoked_at.isoformat(), "user_id": token.user_id},
        )
    return token
