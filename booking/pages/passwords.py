"""The pages every account mail links to: set a password from an invitation or a reset link,
ask for a reset, and finish an online registration with its confirmation link.

The same services as the API (`login.confirm_reset`, `login.send_reset_link_later`,
`registrations.confirm`), so the same rules, audit events and throttles; anonymous forms carry
the double-submit token, as the login's does.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.background_tasks import BackgroundTask
from litestar.response import Redirect, Template

from booking.accounts import login, registrations
from booking.accounts.auth import Auth, client_address
from booking.accounts.models import TokenPurpose
from booking.deps import AppSettings, CurrentClock, DbSession
from booking.errors import BookingError
from booking.pages.forms import Form, attempt
from booking.pages.i18n import N_
from booking.pages.web import Page, check_anonymous_form
from booking.web.errors import status_of
from booking.web.fields import EMAIL_MAX, PASSWORD_MAX

TOKEN_MAX = 200
NOT_THE_SAME = N_("The two passwords are not the same.")


def _token(form: Form) -> str:
    """The link's token from a hidden field; an over-long one is no link of ours."""
    token = form["token"].strip()
    return token if len(token) <= TOKEN_MAX else ""


async def _anonymous_checked(request: Request[Any, Any, Any], auth: Any) -> Page:
    page = Page.of(request, auth)
    if page.principal is None:
        await check_anonymous_form(request)
    return page


class PasswordPages(Controller):
    include_in_schema = False

    @get("/password/forgot", name="password_forgot")
    async def forgot_form(self, request: Request[Any, Any, Any], auth: Auth) -> Template:
        page = Page.of(request, auth)
        sent = request.query_params.get("sent") == "1"
        return page.render(
            "password_forgot.html", nav="login", form=Form({}, page.texts), sent=sent
        )

    @post("/password/forgot")
    async def forgot_submit(
        self,
        request: Request[Any, Any, Any],
        auth: Auth,
        db_session: DbSession,
        clock: CurrentClock,
        settings: AppSettings,
    ) -> Template | Redirect:
        page = await _anonymous_checked(request, auth)
        form = Form(await request.form(), page.texts)
        name = form.text("login", max_length=EMAIL_MAX)
        status = 422
        if form.ok and name:
            address = client_address(request)
            try:
                await login.limit_reset_requests(db_session, clock, address)
            except BookingError as exc:
                form.fail(exc, {"login": "login"})
                status = status_of(exc)  # 429 for a client asking too often
            else:
                # As the API: the link is written after the answer, the same for any login.
                link = BackgroundTask(
                    login.send_reset_link_later,
                    request.app.state.sessionmaker,
                    clock,
                    settings,
                    name,
                    address,
                )
                return Redirect("/password/forgot?sent=1", status_code=303, background=link)
        return page.render(
            "password_forgot.html", status_code=status, nav="login", form=form, sent=False
        )

    @get("/password/set", name="password_set")
    async def set_form(
        self,
        request: Request[Any, Any, Any],
        auth: Auth,
        db_session: DbSession,
        clock: CurrentClock,
    ) -> Template:
        page = Page.of(request, auth)
        form = Form({"token": request.query_params.get("token", "")}, page.texts)
        purpose = None
        try:
            purpose = await login.live_password_link(db_session, clock, _token(form))
        except BookingError as exc:
            form.fail(exc)
        return _set_page(page, form, purpose, 200 if purpose else 400)

    @post("/password/set")
    async def set_submit(
        self,
        request: Request[Any, Any, Any],
        auth: Auth,
        db_session: DbSession,
        clock: CurrentClock,
        settings: AppSettings,
    ) -> Template | Redirect:
        page = await _anonymous_checked(request, auth)
        form = Form(await request.form(), page.texts)
        token = _token(form)
        new = form.text("new_password", max_length=PASSWORD_MAX)
        again = form.text("new_password_again", max_length=PASSWORD_MAX)
        if new and again and new != again:
            form.error("new_password_again", NOT_THE_SAME)
        if form.ok and new:
            try:
                await login.confirm_reset(
                    db_session, clock, settings, token, new, client_address(request)
                )
            except BookingError as exc:
                form.fail(exc, {"new_password": "new_password"})
            else:
                return Redirect("/login?done=password_set", status_code=303)
        form.values["new_password"] = form.values["new_password_again"] = ""
        try:  # the form again while the link works; otherwise the way to a new one
            purpose = await login.live_password_link(db_session, clock, token)
        except BookingError:
            purpose = None
        return _set_page(page, form, purpose, 422)

    @get("/register/confirm", name="register_confirm")
    async def confirm_form(
        self,
        request: Request[Any, Any, Any],
        auth: Auth,
        db_session: DbSession,
        clock: CurrentClock,
    ) -> Template:
        page = Page.of(request, auth)
        form = Form({"token": request.query_params.get("token", "")}, page.texts)
        usable = True
        try:
            await registrations.pending_for(db_session, clock, _token(form))
        except BookingError as exc:
            form.fail(exc)
            usable = False
        return page.render(
            "register_confirm.html",
            status_code=200 if usable else 400,
            nav="register",
            form=form,
            usable=usable,
        )

    @post("/register/confirm")
    async def confirm_submit(
        self,
        request: Request[Any, Any, Any],
        auth: Auth,
        db_session: DbSession,
        clock: CurrentClock,
        settings: AppSettings,
    ) -> Template | Redirect:
        page = await _anonymous_checked(request, auth)
        form = Form(await request.form(), page.texts)
        password = form.text("password", max_length=PASSWORD_MAX)
        if form.ok and password:
            # The link and its password first, outside the savepoint below: it commits its
            # read and hashes with no lock held (it writes nothing, so nothing to undo).
            try:
                checked = await registrations.checked_link(
                    db_session, clock, settings, _token(form), password
                )
            except BookingError as exc:
                form.fail(exc, {"password": "password"})
                checked = None
            # In a savepoint: a registration refused at this point leaves nothing behind.
            group = (
                await attempt(
                    db_session,
                    form,
                    {"password": "password"},
                    lambda: registrations.confirm(
                        db_session,
                        clock,
                        settings,
                        _token(form),
                        password,
                        client_address(request),
                        checked=checked,
                    ),
                )
                if checked is not None
                else None
            )
            if group is not None:
                return Redirect("/login?done=registered", status_code=303)
        form.values["password"] = ""
        try:  # the form again while the link works; otherwise the way to register again
            await registrations.pending_for(db_session, clock, _token(form))
            usable = True
        except BookingError:
            usable = False
        return page.render(
            "register_confirm.html", status_code=422, nav="register", form=form, usable=usable
        )


def _set_page(page: Page, form: Form, purpose: TokenPurpose | None, status: int) -> Template:
    """The set-a-password form while its link works; otherwise the way to a new link."""
    return page.render(
        "password_set.html",
        status_code=status,
        nav="login",
        form=form,
        invited=purpose is TokenPurpose.INVITE,
        usable=purpose is not None,
    )
