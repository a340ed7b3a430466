"""The administrator's pages: who is staff (managers and their facilities, administrators).

People and the audit trail are in admin_people.py. Every action goes through the services
of booking/accounts/staff.py, which refuse anyone but an administrator and write the audit
event; these pages only read the form and show the answer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from booking.accounts import staff
from booking.accounts.access import Principal, require_admin
from booking.accounts.auth import Auth
from booking.accounts.models import StaffRole, User
from booking.deps import AppSettings, CurrentClock, DbSession, Network
from booking.errors import NotFound
from booking.inventory.network import NetworkSnapshot
from booking.pages.catalogue import catalogue
from booking.pages.forms import Form, attempt, whole_id
from booking.pages.i18n import N_
from booking.pages.web import Page
from booking.web.fields import EMAIL_MAX, NAME_MAX

ROLES = {"manager": N_("Facility manager"), "admin": N_("City administrator")}
# What the staff page says after a change (its POST redirects there: a reload redoes nothing).
DONE = {
    "appointed": N_("The role is granted."),
    "facilities": N_("The manager's facilities are changed."),
    "revoked": N_("The role is taken away."),
}
# What the services say beside a field, for the catalog (shown translated where it appears).
REASONS = (N_("a new person needs a name"),)
# The services' field names -> the forms' own.
STAFF_FIELDS = {"email": "email", "name": "name", "facility_ids": "facility_ids"}


def admin_of(page: Page) -> Principal:
    require_admin(page.user)
    return page.user


@dataclass(frozen=True, slots=True)
class FacilityChoice:
    id: int
    name: str


async def facility_choices(
    db_session: DbSession, network: NetworkSnapshot, page: Page
) -> list[tuple[str, list[FacilityChoice]]]:
    """Every facility, by kind, for the managers' check boxes."""
    names = await catalogue(db_session, network)
    by_kind: dict[str, list[FacilityChoice]] = {}
    for facility in sorted(network.facilities.values(), key=lambda f: f.id):
        by_kind.setdefault(facility.kind, []).append(
            FacilityChoice(facility.id, page.texts.name(facility))
        )
    return [(page.texts.named(names.kinds, kind), found) for kind, found in by_kind.items()]


def facility_name(network: NetworkSnapshot, page: Page, facility_id: int) -> str:
    facility = network.facilities.get(facility_id)
    return page.texts.name(facility) if facility is not None else f"#{facility_id}"


def chosen_facilities(form: Form) -> list[int] | None:
    """The ticked facilities; an error beside the boxes when none, or one is no id."""
    wanted = form.all("facility_ids")
    ids = [whole_id(value) for value in wanted]
    if not wanted:
        form.error("facility_ids", "Choose one or more facilities.")
        return None
    if None in ids:
        form.error("facility_ids", "Choose one or more facilities.")
        return None
    return [i for i in ids if i is not None]


class AdminPages(Controller):
    path = "/admin"
    include_in_schema = False

    @get("/", name="admin")
    async def home(self, request: Request[Any, Any, Any], auth: Auth) -> Template | Redirect:
        page = Page.logged_in(request, auth)
        admin_of(page)
        return page.render("admin/home.html", nav="admin")

    @get("/staff", name="admin_staff")
    async def staff_page(
        self,
        request: Request[Any, Any, Any],
        auth: Auth,
        db_session: DbSession,
        network: Network,
    ) -> Template | Redirect:
        page = Page.logged_in(request, auth)
        form = Form({"role": "manager"}, page.texts)
        return await _staff_page(page, form, db_session, network)

    @post("/staff")
    async def appoint(
        self,
        request: Request[Any, Any, Any],
        auth: Auth,
        db_session: DbSession,
        network: Network,
        clock: CurrentClock,
        settings: AppSettings,
    ) -> Template | Redirect:
        page = Page.of(request, auth)
        principal = auth.required()
        admin_of(page)
        form = Form(await request.form(), page.texts)
        email = form.text("email", max_length=EMAIL_MAX)
        name = form.text("name", required=False, max_length=NAME_MAX) or ""
        role = form.choice("role", ROLES)
        facility_ids = chosen_facilities(form) if role == "manager" else []
        if form.ok and email and role and facility_ids is not None:
            made = await attempt(
                db_session,
                form,
                STAFF_FIELDS,
                lambda: staff.appoint(
                    db_session,
                    clock,
                    settings,
                    principal,
                    email=email,
                    name=name,
                    role=StaffRole(role),
                    facility_ids=facility_ids,
                ),
            )
            if made is not None:
                return Redirect("/admin/staff?done=appointed", status_code=303)
        return await _staff_page(page, form, db_session, network, status_code=422)

    @get("/managers/{user_id:int}", name="admin_manager")
    async def manager_page(
        self,
        request: Request[Any, Any, Any],
        user_id: FromPath[int],
        auth: Auth,
        db_session: DbSession,
        network: Network,
    ) -> Template | Redirect:
        page = Page.logged_in(request, auth)
        principal = admin_of(page)
        manager = await _manager(db_session, principal, user_id)
        ticked = [str(i) for i in await staff.facilities_of(db_session, manager.id)]
        form = Form({"facility_ids": ticked}, page.texts)
        return await _manager_page(page, form, db_session, network, manager)

    @post("/managers/{user_id:int}/facilities")
    async def change_facilities(
        self,
        request: Request[Any, Any, Any],
        user_id: FromPath[int],
        auth: Auth,
        db_session: DbSession,
        network: Network,
        clock: CurrentClock,
    ) -> Template | Redirect:
        page = Page.of(request, auth)
        principal = auth.required()
        manager = await _manager(db_session, admin_of(page), user_id)
        form = Form(await request.form(), page.texts)
        facility_ids = chosen_facilities(form)
        if form.ok and facility_ids is not None:
            done = await attempt(
                db_session,
                form,
                STAFF_FIELDS,
                lambda: staff.set_manager_facilities(
                    db_session, clock, principal, user_id, facility_ids
                ),
            )
            if done is not None:
                return Redirect("/admin/staff?done=facilities", status_code=303)
        return await _manager_page(page, form, db_session, network, manager, status_code=422)

    @post("/managers/{user_id:int}/revoke")
    async def revoke_manager(
        self,
        user_id: FromPath[int],
        auth: Auth,
        db_session: DbSession,
        clock: CurrentClock,
    ) -> Redirect:
        principal = auth.required()
        await staff.revoke_manager(db_session, clock, principal, user_id)
        return Redirect("/admin/staff?done=revoked", status_code=303)

    @post("/administrators/{user_id:int}/revoke")
    async def revoke_admin(
        self,
        user_id: FromPath[int],
        auth: Auth,
        db_session: DbSession,
        clock: CurrentClock,
    ) -> Redirect:
        principal = auth.required()
        # One's own role is refused with a page that says why (the form is on no one's own row).
        await staff.revoke_admin(db_session, clock, principal, user_id)
        return Redirect("/admin/staff?done=revoked", status_code=303)


async def _manager(db_session: DbSession, principal: Principal, user_id: int) -> User:
    user = await staff.view_user(db_session, principal, user_id)
    if user.staff_role is not StaffRole.MANAGER:
        raise NotFound(f"no manager {user_id}", code="manager_not_found")
    return user


async def _staff_page(
    page: Page,
    form: Form,
    db_session: DbSession,
    network: NetworkSnapshot,
    *,
    status_code: int = 200,
) -> Template:
    principal = admin_of(page)
    managers = [
        (
            user,
            [
                facility_name(network, page, fid)
                for fid in await staff.facilities_of(db_session, user.id)
            ],
        )
        for user in await staff.list_staff(db_session, principal, StaffRole.MANAGER)
    ]
    done = page.request.query_params.get("done", "")
    return page.render(
        "admin/staff.html",
        status_code=status_code,
        nav="admin",
        managers=managers,
        admins=await staff.list_staff(db_session, principal, StaffRole.ADMIN),
        roles=ROLES,
        facilities=await facility_choices(db_session, network, page),
        form=form,
        done=DONE.get(done) if status_code == 200 else None,
    )


async def _manager_page(
    page: Page,
    form: Form,
    db_session: DbSession,
    network: NetworkSnapshot,
    manager: User,
    *,
    status_code: int = 200,
) -> Template:
    return page.render(
        "admin/manager.html",
        status_code=status_code,
        nav="admin",
        manager=manager,
        facilities=await facility_choices(db_session, network, page),
        form=form,
    )
