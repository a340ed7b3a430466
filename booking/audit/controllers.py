"""HTTP for reading the audit trail (administrators)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from litestar import Controller, get
from litestar.params import FromQuery, QueryParameter

from booking.accounts.access import require_admin
from booking.accounts.auth import Auth
from booking.accounts.schemas import AuditRead
from booking.audit.service import AuditQuery, list_events
from booking.deps import DbSession
from booking.errors import InvalidInput
from booking.web.errors import error_responses
from booking.web.fields import ONE_LINE, Limit, MaybeId


class AuditController(Controller):
    path = "/api/v1/audit"
    tags = ["audit"]  # noqa: RUF012 - Litestar's own class attribute

    @get(
        "/",
        summary="Audit events, newest first (administrator)",
        description="`action` ending in a dot is a prefix (group., login., token., user.). "
        "Page with `before_id` = the last id of the previous page.",
        responses=error_responses(400, 401, 403),
    )
    async def search(  # noqa: PLR0913, PLR0917 - one parameter per documented filter
        self,
        auth: Auth,
        db_session: DbSession,
        action: Annotated[str | None, QueryParameter(max_length=60, pattern=ONE_LINE)] = None,
        actor_user_id: MaybeId = None,
        target_type: Annotated[str | None, QueryParameter(max_length=30, pattern=ONE_LINE)] = None,
        target_id: Annotated[str | None, QueryParameter(max_length=300, pattern=ONE_LINE)] = None,
        since: FromQuery[datetime | None] = None,
        until: FromQuery[datetime | None] = None,
        before_id: MaybeId = None,
        limit: Limit = 100,
    ) -> list[AuditRead]:
        principal = auth.required()
        require_admin(principal)
        for name, value in (("since", since), ("until", until)):
            if value is not None and value.tzinfo is None:
                raise InvalidInput("give a time zone, e.g. 2026-11-24T09:00+09:00", field=name)
        query = AuditQuery(
            action, actor_user_id, target_type, target_id, since, until, before_id, limit
        )
        return [
            AuditRead(
                id=e.id,
                at=e.at,
                actor_user_id=e.actor_user_id,
                action=e.action,
                target_type=e.target_type,
                target_id=e.target_id,
                before=e.before,
                after=e.after,
                address=e.address,
            )
            for e in await list_events(db_session, query)
        ]
