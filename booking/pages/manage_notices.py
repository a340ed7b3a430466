"""The facility desk's notices (お知らせ): list, post, edit and withdraw them. The facility's
page shows the current ones (booking/pages/search.py)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from booking.accounts.auth import Auth
from booking.clock import local_today
from booking.deps import AppSettings, CurrentClock, DbSession, Network
from booking.inventory import notices
from booking.inventory.models import Notice
from booking.pages.forms import Form, attempt
from booking.pages.i18n import N_
from booking.pages.manage import managed_facility, staff_of
from booking.pages.web import Page
from booking.web.fields import NOTICE_BODY_MAX, NOTICE_TITLE_MAX

STATES = {
    "shown": N_("Shown now"),
    "upcoming": N_("Not shown yet"),
    "ended": N_("No longer shown"),
    "withdrawn": N_("Withdrawn"),
}
# The service's field -> the form's (the same names).
FIELDS = {name: name for name in notices.EDITABLE}


def _notice_form(form: Form) -> notices.NoticeText | None:
    """The form's notice, or None with its errors beside their fields."""
    title_ja = form.text("title_ja", max_length=NOTICE_TITLE_MAX)
    title_en = form.text("title_en", max_length=NOTICE_TITLE_MAX, required=False)
    body_ja = form.text("body_ja", max_length=NOTICE_BODY_MAX, multiline=True)
    body_en = form.text("body_en", max_length=NOTICE_BODY_MAX, required=False, multiline=True)
    starts_on = form.day("starts_on")
    ends_on = form.day("ends_on", required=False)
    if not (form.ok and title_ja and body_ja and starts_on):
        return None
    return notices.NoticeText(
        title_ja=title_ja,
        title_en=title_en,
        body_ja=body_ja,
        body_en=body_en,
        starts_on=starts_on,
        ends_on=ends_on,
    )


def _values(notice: Notice) -> dict[str, str]:
    return {
        "title_ja": notice.title_ja,
        "title_en": notice.title_en or "",
        "body_ja": notice.body_ja,
        "body_en": notice.body_en or "",
        "starts_on": notice.starts_on.isoformat(),
        "ends_on": notice.ends_on.isoformat() if notice.ends_on else "",
    }


class NoticePages(Controller):
    path = "/manage"
    include_in_schema = False

    @get("/facilities/{facility_id:int}/notices", name="notices")
    async def notices_page(
        self,
        request: Request[Any, Any, Any],
        facility_id: FromPath[int],
        auth: Auth,
        db_session: DbSession,
        network: Network,
        clock: CurrentClock,
        settings: AppSettings,
    ) -> Template:
        page = Page.logged_in(request, auth)
        today = local_today(clock, settings.tz)
        form = Form({"starts_on": today.isoformat()}, page.texts)
        return await _notices_page(page, form, db_session, network, clock, settings, facility_id)

    @post("/facilities/{facility_id:int}/notices")
    async def post_notice(
        self,
        request: Request[Any, Any, Any],
        facility_id: FromPath[int],
        auth: Auth,
        db_session: DbSession,
        network: Network,
        clock: CurrentClock,
        settings: AppSettings,
    ) -> Template | Redirect:
        page = Page.of(request, auth)
        principal = auth.required()
        form = Form(await request.form(), page.texts)
        text = _notice_form(form)
        if text is not None:
            posted = await attempt(
                db_session,
                form,
                FIELDS,
                lambda: notices.post_notice(
                    db_session, clock, settings, principal, facility_id, text
                ),
            )
            if posted is not None:
                return Redirect(
                    f"/manage/facilities/{facility_id}/notices?posted=1", status_code=303
                )
        return await _notices_page(
            page, form, db_session, network, clock, settings, facility_id, status_code=422
        )

    @get("/notices/{notice_id:int}", name="notice")
    async def notice_page(
        self,
        request: Request[Any, Any, Any],
        notice_id: FromPath[int],
        auth: Auth,
        db_session: DbSession,
        network: Network,
    ) -> Template:
        page = Page.logged_in(request, auth)
        notice = await notices.get_notice(db_session, staff_of(page), notice_id)
        form = Form(_values(notice), page.texts)
        return _notice_page(page, form, network, notice)

    @post("/notices/{notice_id:int}")
    async def edit_notice(
        self,
        request: Request[Any, Any, Any],
        notice_id: FromPath[int],
        auth: Auth,
        db_session: DbSession,
        network: Network,
        clock: CurrentClock,
        settings: AppSettings,
    ) -> Template | Redirect:
        page = Page.of(request, auth)
        principal = auth.required()
        notice = await notices.get_notice(db_session, staff_of(page), notice_id)
        form = Form(await request.form(), page.texts)
        text = _notice_form(form)
        if text is not None:
            changes = {name: getattr(text, name) for name in notices.EDITABLE}
            edited = await attempt(
                db_session,
                form,
                FIELDS,
                lambda: notices.edit_notice(
                    db_session, clock, settings, principal, notice_id, changes
                ),
            )
            if edited is not None:
                return Redirect(
                    f"/manage/facilities/{notice.facility_id}/notices?saved=1", status_code=303
                )
        return _notice_page(page, form, network, notice, status_code=422)

    @post("/notices/{notice_id:int}/withdraw")
    async def withdraw(
        self,
        notice_id: FromPath[int],
        auth: Auth,
        db_session: DbSession,
        clock: CurrentClock,
    ) -> Redirect:
        notice = await notices.withdraw_notice(db_session, clock, auth.required(), notice_id)
        return Redirect(
            f"/manage/facilities/{notice.facility_id}/notices?withdrawn=1", status_code=303
        )


async def _notices_page(  # noqa: PLR0913
    page: Page,
    form: Form,
    db_session: DbSession,
    network: Network,
    clock: CurrentClock,
    settings: AppSettings,
    facility_id: int,
    *,
    status_code: int = 200,
) -> Template:
    principal = staff_of(page)
    facility = managed_facility(network, principal, facility_id)
    today = local_today(clock, settings.tz)
    listed = await notices.facility_notices(db_session, principal, facility_id)
    query = page.request.query_params
    return page.render(
        "manage/notices.html",
        status_code=status_code,
        nav="manage",
        facility=facility,
        form=form,
        notices=[(n, _state(n, today)) for n in listed],
        states=STATES,
        done=next((key for key in ("posted", "saved", "withdrawn") if key in query), None),
    )


def _notice_page(
    page: Page, form: Form, network: Network, notice: Notice, *, status_code: int = 200
) -> Template:
    facility = managed_facility(network, staff_of(page), notice.facility_id)
    return page.render(
        "manage/notice.html",
        status_code=status_code,
        nav="manage",
        facility=facility,
        form=form,
        notice=notice,
    )


def _state(notice: Notice, today: Any) -> str:
    if notice.withdrawn_at is not None:
        return "withdrawn"
    if notices.is_current(notice, today):
        return "shown"
    return "upcoming" if notice.starts_on > today else "ended"
