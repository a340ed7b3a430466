"""HTTP for facility notices (お知らせ): the current ones for anyone, the rest for its staff."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import msgspec
from litestar import Controller, get, patch, post
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK

from booking.accounts.auth import Auth
from booking.clock import local_today
from booking.deps import AppSettings, CurrentClock, DbSession
from booking.errors import NotFound
from booking.inventory import notices
from booking.inventory.models import Facility, Notice
from booking.web.errors import error_responses
from booking.web.fields import NOTICE_BODY_MAX, NOTICE_TITLE_MAX, MultiLine, OneLine

Title = Annotated[OneLine, msgspec.Meta(min_length=1, max_length=NOTICE_TITLE_MAX)]
Body = Annotated[MultiLine, msgspec.Meta(min_length=1, max_length=NOTICE_BODY_MAX)]


class NoticeIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    title_ja: Title
    body_ja: Body
    starts_on: date
    ends_on: date | None = None  # the last day shown; none: until withdrawn
    title_en: Title | None = None
    body_en: Body | None = None


class NoticePatch(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The fields to change; null clears an optional one (the English, the end)."""

    title_ja: Title | msgspec.UnsetType = msgspec.UNSET
    body_ja: Body | msgspec.UnsetType = msgspec.UNSET
    starts_on: date | msgspec.UnsetType = msgspec.UNSET
    ends_on: date | msgspec.UnsetType | None = msgspec.UNSET
    title_en: Title | msgspec.UnsetType | None = msgspec.UNSET
    body_en: Body | msgspec.UnsetType | None = msgspec.UNSET


class NoticeRead(msgspec.Struct):
    id: int
    facility_id: int
    title_ja: str
    title_en: str | None
    body_ja: str
    body_en: str | None
    starts_on: date
    ends_on: date | None
    created_at: datetime
    updated_at: datetime
    withdrawn_at: datetime | None


def notice_read(notice: Notice) -> NoticeRead:
    return NoticeRead(
        id=notice.id,
        facility_id=notice.facility_id,
        title_ja=notice.title_ja,
        title_en=notice.title_en,
        body_ja=notice.body_ja,
        body_en=notice.body_en,
        starts_on=notice.starts_on,
        ends_on=notice.ends_on,
        created_at=notice.created_at,
        updated_at=notice.updated_at,
        withdrawn_at=notice.withdrawn_at,
    )


class FacilityNoticeController(Controller):
    path = "/api/v1/facilities/{facility_id:int}/notices"
    tags = ["inventory"]  # noqa: RUF012 - Litestar's own class attribute

    @get(
        "/",
        summary="The facility's notices (お知らせ) shown today, the latest start first",
        responses=error_responses(400, 404),
    )
    async def current(
        self,
        facility_id: FromPath[int],
        db_session: DbSession,
        clock: CurrentClock,
        settings: AppSettings,
    ) -> list[NoticeRead]:
        facility = await db_session.get(Facility, facility_id)
        if facility is None or not facility.active:
            raise NotFound(f"no facility {facility_id}", field="facility_id")
        today = local_today(clock, settings.tz)
        return [
            notice_read(n) for n in await notices.current_notices(db_session, facility_id, today)
        ]

    @post(
        "/",
        summary="Post a notice on the facility's page (its managers, administrators)",
        description="Shown from starts_on to ends_on inclusive (no ends_on: until withdrawn).",
        responses=error_responses(400, 401, 403, 404, 415),
    )
    async def post_notice(
        self,
        facility_id: FromPath[int],
        data: JSONBody[NoticeIn],
        auth: Auth,
        db_session: DbSession,
        clock: CurrentClock,
        settings: AppSettings,
    ) -> NoticeRead:
        text = notices.NoticeText(**msgspec.structs.asdict(data))
        notice = await notices.post_notice(
            db_session, clock, settings, auth.required(), facility_id, text
        )
        return notice_read(notice)


class NoticeController(Controller):
    path = "/api/v1/notices"
    tags = ["inventory"]  # noqa: RUF012

    @patch(
        "/{notice_id:int}",
        summary="Change a notice (its facility's managers, administrators)",
        responses=error_responses(400, 401, 404, 409, 415),
    )
    async def edit(
        self,
        notice_id: FromPath[int],
        data: JSONBody[NoticePatch],
        auth: Auth,
        db_session: DbSession,
        clock: CurrentClock,
        settings: AppSettings,
    ) -> NoticeRead:
        changes = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}
        notice = await notices.edit_notice(
            db_session, clock, settings, auth.required(), notice_id, changes
        )
        return notice_read(notice)

    @post(
        "/{notice_id:int}/withdraw",
        summary="Take a notice off the facility's page (again: nothing changes)",
        status_code=HTTP_200_OK,
        responses=error_responses(400, 401, 404),
    )
    async def withdraw(
        self, notice_id: FromPath[int], auth: Auth, db_session: DbSession, clock: CurrentClock
    ) -> NoticeRead:
        notice = await notices.withdraw_notice(db_session, clock, auth.required(), notice_id)
        return notice_read(notice)
