"""Language, logging in and out, registering a group and keeping its roster."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from booking.accounts import groups, login, registrations, roster
from booking.accounts.access import may_manage_roster
from booking.accounts.auth import Auth, cleared_cookie, client_address, session_cookie
from booking.accounts.models import GroupCategory, GroupKind, Residency
from booking.accounts.schemas import GroupPatch, MemberIn, RegistrationIn
from booking.accounts.sessions import end_session
from booking.accounts.standing import standing
from booking.audit.service import record
from booking.clock import local_today
from booking.deps import AppSettings, CurrentClock, DbSession, Network
from booking.errors import BookingError, TooManyRequests
from booking.pages.forms import NOT_A_CHOICE, Form, attempt, whole_id
from booking.pages.i18n import LANG_COOKIE, N_, parse_lang
from booking.pages.next_steps import for_anyone, for_registration
from booking.pages.web import Page, check_anonymous_form, remembered_cookie, safe_next
from booking.web.errors import status_of
from booking.web.fields import EMAIL_MAX, NAME_MAX, PASSWORD_MAX, PHONE_MAX

RESIDENCY = {
    Residency.LIVES.value: N_("Lives in the city"),
    Residency.WORKS.value: N_("Works in the city"),
    Residency.STUDIES.value: N_("Studies in the city"),
    Residency.NONE.value: N_("None of these"),
}
KINDS = {GroupKind.GROUP.value: N_("A group"), GroupKind.INDIVIDUAL.value: N_("An individual")}
CATEGORIES = {
    GroupCategory.GENERAL.value: N_("General"),
    GroupCategory.EXEMPT.value: N_("Exempt (reduced fees)"),
    GroupCategory.COMMERCIAL.value: N_("Commercial"),
    GroupCategory.SENIOR_CIVIC.value: N_("Civic group at a senior recreation centre"),
    GroupCategory.CHILDREN_CENTRE.value: N_("Group of a children's culture centre"),
}
STATUSES = {
    "pending": N_("Waiting for a facility to check it"),
    "active": N_("Active"),
    "suspended": N_("Suspended"),
    "expired": N_("Expired: renew it"),
}
# What the login page says after a journey that ends there (/login?done=<key>).
LOGIN_NOTICES = {
    "mailed": N_(
        "Thank you. To finish the registration, open the link we have mailed to the "
        "representative's e-mail address within 24 hours."
    ),
    "registered": N_(
        "Thank you: your registration was received. A facility will check it; you can log "
        "in now with your e-mail address and password."
    ),
    "password_set": N_("Your password is set: log in with it."),
}
MEMBER_FIELDS = ("name", "birth_date", "residency", "email")
DEFAULT_MEMBER_ROWS = 4
MAX_MEMBER_ROWS = 60
# The registration's domain fields (accounts/groups.py) and the form's.
REGISTRATION_FIELDS = {
    "name": "name",
    "kind": "kind",
    "category": "category",
    "facility_id": "facility_id",
    "guardian_consent": "guardian_consent",
    "representative.name": "rep_name",
    "representative.birth_date": "rep_birth_date",
    "representative.residency": "rep_residency",
    "representative.email": "rep_email",
    "representative.password": "rep_password",
    "representative.phone": "rep_phone",
    **{
        f"members[{i}].{f}": f"m{i}_{f}"
        for i in range(MAX_MEMBER_ROWS)
        for f in (*MEMBER_FIELDS, "phone")
    },
}


class AccountPages(Controller):
    include_in_schema = False

    @get("/lang/{code:str}", name="lang")
    async def switch_language(
        self, request: Request[Any, Any, Any], code: FromPath[str]
    ) -> Redirect:
        lang = parse_lang(code) or "ja"
        target = safe_next(request.query_params.get("next"))
        cookie = remembered_cookie(request, LANG_COOKIE, lang)
        return Redirect(target, status_code=303, cookies=[cookie])

    @get("/login", name="login")
    async def login_form(
        self,
        request: Request[Any, Any, Any],
        auth: Auth,
        network: Network,
        clock: CurrentClock,
        settings: AppSettings,
    ) -> Template:
        page = Page.of(request, auth)
        form = Form({"next": safe_next(request.query_params.get("next"), "")}, page.texts)
        done = request.query_params.get("done", "")
        return page.render(
            "login.html",
            nav="login",
            form=form,
            notice=LOGIN_NOTICES.get(done),
            # Just registered: what to bring to which counter, on the page they land on.
            steps=for_anyone(network, local_today(clock, settings.tz))
            if done == "registered"
            else None,
        )

    @post("/login")
    async def login_submit(
        self,
        request: Request[Any, Any, Any],
        auth: Auth,
        db_session: DbSession,
        clock: CurrentClock,
        settings: AppSettings,
    ) -> Template | Redirect:
        page = Page.of(request, auth)
        if page.principal is None:
            await check_anonymous_form(request)
        form = Form(await request.form(), page.texts)
        name = form.text("login", max_length=EMAIL_MAX)
        password = form.text("password", max_length=PASSWORD_MAX)
        status = 422  # a field left empty
        if form.ok and name and password:
            try:
                user, opened = await login.login(
                    db_session, clock, settings, name, password, client_address(request)
                )
            except BookingError as exc:  # a failure's count and audit event are kept
                form.fail(exc, {"login": "login", "password": "password"})
                status = status_of(exc)  # 401, or 429 while locked out
            else:
                del user
                return Redirect(
                    safe_next(form["next"], "/my/bookings"),
                    status_code=303,
                    cookies=[session_cookie(request, opened)],
                )
        form.values["password"] = ""  # never sent back
        return page.render("login.html", status_code=status, nav="login", form=form, notice=None)

    @post("/logout")
    async def logout(
        self,
        request: Request[Any, Any, Any],
        auth: Auth,
        db_session: DbSession,
        clock: CurrentClock,
    ) -> Redirect:
        principal = auth.optional()
        if principal is not None and principal.session_id is not None:
            await end_session(db_session, principal.session_id)
            await record(db_session, clock, principal.actor, "logout", ("user", principal.user_id))
        return Redirect("/", status_code=303, cookies=[cleared_cookie(request)])

    @get("/register", name="register")
    async def register_form(
        self, request: Request[Any, Any, Any], auth: Auth, network: Network
    ) -> Template:
        page = Page.of(request, auth)
        form = Form({"rows": str(DEFAULT_MEMBER_ROWS), "kind": "group"}, page.texts)
        return page.render("register.html", **_register_context(page, form, network))

    @post("/register")
    async def register_submit(
        self,
        request: Request[Any, Any, Any],
        auth: Auth,
        db_session: DbSession,
        clock: CurrentClock,
        settings: AppSettings,
        network: Network,
    ) -> Template | Redirect:
        page = Page.of(request, auth)
        if page.principal is None:
            await check_anonymous_form(request)
        form = Form(await request.form(), page.texts)
        rows = member_rows(form["rows"])
        form.values["rows"] = str(rows)
        if "add_row" in form.values:  # no JavaScript needed for a longer roster
            form.values["rows"] = str(min(MAX_MEMBER_ROWS, rows + 1))
            return page.render("register.html", **_register_context(page, form, network))
        data = _registration(form, rows, page.principal is None)
        status = 422
        if data is not None and page.principal is None:
            # Online: nothing exists until the mailed link is used (accounts/registrations).
            try:  # refuses before it writes: nothing to undo (it commits its reads)
                await registrations.request(
                    db_session, clock, settings, data, client_address(request)
                )
            except BookingError as exc:
                form.fail(exc, REGISTRATION_FIELDS)
                if isinstance(exc, TooManyRequests):  # a client registering too often
                    status = status_of(exc)
            else:
                return Redirect("/login?done=mailed", status_code=303)
        elif data is not None:
            group = await attempt(
                db_session,
                form,
                REGISTRATION_FIELDS,
                lambda: groups.register(
                    db_session,
                    clock,
                    settings,
                    page.principal,
                    data,
                    client_address(request),
                ),
            )
            if group is not None:
                return Redirect(f"/my/groups/{group.id}?registered=1", status_code=303)
        form.values["rep_password"] = ""
        return page.render(
            "register.html", status_code=status, **_register_context(page, form, network)
        )

    @get("/my/groups", name="my_groups")
    async def my_groups(
        self,
        request: Request[Any, Any, Any],
        auth: Auth,
        db_session: DbSession,
        clock: CurrentClock,
        settings: AppSettings,
    ) -> Template | Redirect:
        page = Page.logged_in(request, auth)
        today = local_today(clock, settings.tz)
        mine = [
            (await groups.get_group(db_session, gid), role)
            for gid, role in sorted(page.user.memberships.items())
        ]
        return page.render(
            "my/groups.html",
            nav="groups",
            groups=[(g, role, groups.effective_status(g, today)) for g, role in mine],
            statuses=STATUSES,
            categories=CATEGORIES,
        )

    @get("/my/groups/{group_id:int}", name="my_group")
    async def group_page(
        self,
        request: Request[Any, Any, Any],
        group_id: FromPath[int],
        auth: Auth,
        db_session: DbSession,
        clock: CurrentClock,
        settings: AppSettings,
    ) -> Template | Redirect:
        page = Page.logged_in(request, auth)
        form = Form({}, page.texts)
        return await _group_page(page, db_session, clock, settings, group_id, form)

    @post("/my/groups/{group_id:int}/members")
    async def add_member(
        self,
        request: Request[Any, Any, Any],
        group_id: FromPath[int],
        auth: Auth,
        db_session: DbSession,
        clock: CurrentClock,
        settings: AppSettings,
    ) -> Template | Redirect:
        page = Page.of(request, auth)
        principal = auth.required()
        form = Form(await request.form(), page.texts)
        entry = member_entry(form, "new_")
        if entry is not None:
            # The roster service names a new member's fields "member.<field>" (and a
            # duplicate's "email").
            fields = {
                **{f"member.{f}": f"new_{f}" for f in (*MEMBER_FIELDS, "phone")},
                "email": "new_email",
            }
            added = await attempt(
                db_session,
                form,
                fields,
                lambda: roster.add_member(db_session, clock, settings, principal, group_id, entry),
            )
            if added is not None:
                return Redirect(f"/my/groups/{group_id}?added=1", status_code=303)
        return await _group_page(page, db_session, clock, settings, group_id, form, 422)

    @post("/my/groups/{group_id:int}/members/{member_id:int}/remove")
    async def remove_member(
        self,
        request: Request[Any, Any, Any],
        group_id: FromPath[int],
        member_id: FromPath[int],
        auth: Auth,
        db_session: DbSession,
        clock: CurrentClock,
        settings: AppSettings,
    ) -> Template | Redirect:
        page = Page.of(request, auth)
        principal = auth.required()
        form = Form({}, page.texts)
        done = await attempt(
            db_session,
            form,
            {},
            lambda: completed(
                roster.remove_member(db_session, clock, principal, group_id, member_id)
            ),
        )
        if done:
            return Redirect(f"/my/groups/{group_id}?removed=1", status_code=303)
        return await _group_page(page, db_session, clock, settings, group_id, form, 422)

    @post("/my/groups/{group_id:int}/reminders")
    async def set_reminders(
        self,
        request: Request[Any, Any, Any],
        group_id: FromPath[int],
        auth: Auth,
        db_session: DbSession,
        clock: CurrentClock,
        settings: AppSettings,
    ) -> Template | Redirect:
        """The representative (or staff) turns the use-date reminders on or off: a ticked box
        sends `yes`, an unticked one nothing (so works without JavaScript)."""
        page = Page.of(request, auth)
        principal = auth.required()
        form = Form(await request.form(), page.texts)
        wanted = form["use_reminders"].strip()
        if wanted not in ("", "yes"):
            form.error("use_reminders", NOT_A_CHOICE)
        else:
            patch = GroupPatch(use_reminders=wanted == "yes")
            changed = await attempt(
                db_session,
                form,
                {"use_reminders": "use_reminders"},
                lambda: groups.update_group(db_session, clock, principal, group_id, patch),
            )
            if changed is not None:
                return Redirect(f"/my/groups/{group_id}?reminders=1#reminders", status_code=303)
        return await _group_page(page, db_session, clock, settings, group_id, form, 422)


async def completed(work: Any) -> bool:
    """True once the work is done: `attempt` tells success by a value, and some services
    return None."""
    await work
    return True


async def _group_page(
    page: Page,
    db_session: DbSession,
    clock: CurrentClock,
    settings: AppSettings,
    group_id: int,
    form: Form,
    status_code: int = 200,
) -> Template:
    group = await groups.view_group(db_session, page.user, group_id)
    members = await groups.roster(db_session, group.id)
    today = local_today(clock, settings.tz)
    where = standing(group, members, today)
    steps = None
    if where.status == "pending":  # what to bring to which counter, until it is checked
        network = await page.request.app.state.snapshot_cache.get(db_session)
        steps = for_registration(where, network, today)
    query = page.request.query_params
    return page.render(
        "my/group.html",
        status_code=status_code,
        nav="groups",
        group=group,
        members=members,
        status=groups.effective_status(group, today),
        statuses=STATUSES,
        categories=CATEGORIES,
        residency=RESIDENCY,
        form=form,
        may_manage=may_manage_roster(page.user, group),
        steps=steps,
        suspended_reason=where.reason,
        notice=next(
            (k for k in ("registered", "added", "removed", "reminders") if k in query), None
        ),
    )


def member_rows(value: str) -> int:
    """How many roster rows the form shows: what it said, within bounds (a hidden field)."""
    rows = whole_id(value)
    return min(MAX_MEMBER_ROWS, rows) if rows else DEFAULT_MEMBER_ROWS


def _register_context(page: Page, form: Form, network: Any) -> dict[str, Any]:
    rows = member_rows(form["rows"])
    centres = sorted(
        (f for f in network.facilities.values() if f.kind in groups.FACILITY_CATEGORIES.values()),
        key=lambda f: f.id,
    )
    return {
        "nav": "register",
        "form": form,
        "rows": rows,
        "kinds": KINDS,
        "categories": CATEGORIES,
        "residency": RESIDENCY,
        "centres": [(str(f.id), page.texts.name(f)) for f in centres],
    }


def member_entry(form: Form, prefix: str) -> MemberIn | None:
    """One roster row of the form, or None (with errors) when it is not filled in right."""
    name = form.text(f"{prefix}name", max_length=NAME_MAX)
    birth = form.day(f"{prefix}birth_date")
    residency = form.choice(f"{prefix}residency", RESIDENCY)
    email = form.text(f"{prefix}email", required=False, max_length=EMAIL_MAX)
    phone = form.text(f"{prefix}phone", required=False, max_length=PHONE_MAX)
    if name is None or birth is None or residency is None:
        return None
    return MemberIn(
        name=name, birth_date=birth, residency=Residency(residency), email=email, phone=phone
    )


def _registration(form: Form, rows: int, anonymous: bool) -> RegistrationIn | None:
    kind = form.choice("kind", KINDS)
    category = form.choice("category", CATEGORIES)
    name = form.text("name", max_length=NAME_MAX)
    facility = form.integer("facility_id", required=False, minimum=1)
    representative = member_entry(form, "rep_")
    password = form.text("rep_password", required=anonymous, max_length=PASSWORD_MAX)
    members = []
    for i in range(rows):
        prefix = f"m{i}_"
        if not any(form[f"{prefix}{f}"].strip() for f in MEMBER_FIELDS if f != "residency"):
            continue  # an empty row is not a member
        if (entry := member_entry(form, prefix)) is not None:
            members.append(entry)
    if not form.ok or kind is None or category is None or name is None or representative is None:
        return None
    try:
        return msgspec.convert(
            {
                "kind": kind,
                "name": name,
                "name_kana": form.text("name_kana", required=False, max_length=NAME_MAX),
                "category": category,
                "facility_id": facility,
                "email": form.text("email", required=False, max_length=EMAIL_MAX),
                "phone": form.text("phone", required=False, max_length=PHONE_MAX),
                "guardian_consent": form["guardian_consent"] == "yes",
                "representative": {
                    **msgspec.to_builtins(representative),
                    **({"password": password} if password else {}),
                },
                "members": [msgspec.to_builtins(m) for m in members],
            },
            RegistrationIn,
        )
    except msgspec.ValidationError as exc:
        form.general.append(f"{form.texts.gettext('This value cannot be used.')} ({exc})")
        return None
