"""The registration desk: the queue of registrations to check, a registration's page and its
counter acts (activate and print the card, suspend, reinstate, renew, contact and roster).

Thin over accounts/groups.py, roster.py and desk.py: they check who may do what."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from booking.accounts import desk, groups, roster
from booking.accounts.access import Principal
from booking.accounts.auth import Auth
from booking.accounts.rules import renewal_opens
from booking.accounts.schemas import GroupPatch, MemberPatch
from booking.clock import Clock, local_today
from booking.deps import AppSettings, CurrentClock, DbSession, Network
from booking.documents.cards import card_facts, card_pdf
from booking.errors import NotFound
from booking.inventory.network import NetworkSnapshot
from booking.lottery.applications import group_applications
from booking.pages.account import (
    CATEGORIES,
    MEMBER_FIELDS,
    RESIDENCY,
    STATUSES,
    completed,
    member_entry,
)
from booking.pages.bookings import BOOKING_STATUSES, shown
from booking.pages.forms import Form, attempt
from booking.pages.i18n import N_
from booking.pages.lottery import APPLICATION_STATUSES
from booking.pages.manage import staff_of
from booking.pages.next_steps import DOCUMENTS  # the desk checks what a group is told to bring
from booking.pages.web import Page
from booking.reservations import listing
from booking.settings import Settings
from booking.web.fields import EMAIL_MAX, NAME_MAX, NOTE_MAX, PHONE_MAX, SEARCH_MAX

HISTORY = {
    "registered": N_("Registered"),
    "activated": N_("Activated: card issued"),
    "suspended": N_("Suspended"),
    "reinstated": N_("Reinstated"),
    "renewed": N_("Renewed"),
    "updated": N_("Contact changed"),
    "member_added": N_("Member added"),
    "member_updated": N_("Member changed"),
    "member_removed": N_("Member removed"),
    "representative_changed": N_("Representative changed"),
}
NOTICES = {
    "activate": N_("Activated: the card is issued."),
    "suspend": N_("The registration is suspended."),
    "reinstate": N_("The registration is reinstated."),
    "renew": N_("The registration is renewed."),
    "contact": N_("The contact details are saved."),
    "members": N_("The member was added."),
    "update": N_("The member's details are saved."),
    "remove": N_("The member was removed."),
    "representative": N_("The representative is changed."),
}
SHOWN_BOOKINGS = 50
Work = Callable[[], Awaitable[Any]]
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Counter:
    """One counter act's inputs: who, on which registration, with what."""

    db_session: DbSession
    clock: Clock
    settings: Settings
    principal: Principal
    group_id: int


class RegistrationDeskPages(Controller):
    path = "/manage/registrations"
    include_in_schema = False

    @get("/", name="registrations")
    async def queue(
        self,
        request: Request[Any, Any, Any],
        auth: Auth,
        db_session: DbSession,
        clock: CurrentClock,
        settings: AppSettings,
        network: Network,
    ) -> Template | Redirect:
        page = Page.logged_in(request, auth)
        principal = staff_of(page)
        form = Form(request.query_params, page.texts)
        q = form.text("q", required=False, max_length=SEARCH_MAX)
        number = form.integer("page", required=False, minimum=1, maximum=desk.MAX_PAGE) or 1
        found = None
        if form.ok:
            query = desk.QueueQuery(q=q, page=number)
            today = local_today(clock, settings.tz)
            found = await desk.registration_queue(db_session, principal, query, today)
        return page.render(
            "manage/registrations.html",
            status_code=200 if form.ok else 400,
            nav="manage",
            form=form,
            searched=bool(q),
            search_max=SEARCH_MAX,
            found=found,
            facilities={f.id: page.texts.name(f) for f in network.facilities.values()},
            documents=DOCUMENTS,
            statuses=STATUSES,
            categories=CATEGORIES,
        )

    @get("/{group_id:int}", name="desk_registration")
    async def registration(
        self,
        request: Request[Any, Any, Any],
        group_id: FromPath[int],
        auth: Auth,
        db_session: DbSession,
        clock: CurrentClock,
        settings: AppSettings,
        network: Network,
    ) -> Template | Redirect:
        page = Page.logged_in(request, auth)
        counter = Counter(db_session, clock, settings, staff_of(page), group_id)
        return await _registration_page(page, Form({}, page.texts), counter, network)

    @get("/{group_id:int}/card.pdf", name="desk_card")
    async def card(
        self,
        request: Request[Any, Any, Any],
        group_id: FromPath[int],
        auth: Auth,
        db_session: DbSession,
        clock: CurrentClock,
        settings: AppSettings,
        network: Network,
    ) -> Response[bytes] | Redirect:
        page = Page.logged_in(request, auth)
        principal = staff_of(page)
        facts = await card_facts(db_session, clock, settings, network, principal, group_id)
        lang: Literal["ja", "en"] = "en" if request.query_params.get("lang") == "en" else "ja"
        return Response(
            await card_pdf(facts, lang),
            media_type="application/pdf",
            headers={"Content-Disposition": f'inline; filename="card-{facts.card_number}.pdf"'},
        )

    @post("/{group_id:int}/{action:str}")
    async def act(  # noqa: PLR0913, PLR0917
        self,
        request: Request[Any, Any, Any],
        group_id: FromPath[int],
        action: FromPath[str],
        auth: Auth,
        db_session: DbSession,
        clock: CurrentClock,
        settings: AppSettings,
        network: Network,
    ) -> Template | Redirect:
        page, counter = _counter(request, auth, db_session, clock, settings, group_id)
        acts = GROUP_ACTS.get(action)
        if acts is None:
            raise NotFound(f"no action {action}", code="not_found")
        form = Form(await request.form(), page.texts)
        work, fields = acts(counter, form)
        return await _done(page, form, counter, network, action, work, fields)

    # Its own route: a static segment ("members") is not matched by the {action} above.
    @post("/{group_id:int}/members")
    async def add_member(
        self,
        request: Request[Any, Any, Any],
        group_id: FromPath[int],
        auth: Auth,
        db_session: DbSession,
        clock: CurrentClock,
        settings: AppSettings,
        network: Network,
    ) -> Template | Redirect:
        page, counter = _counter(request, auth, db_session, clock, settings, group_id)
        form = Form(await request.form(), page.texts)
        work, fields = _add_member(counter, form)
        return await _done(page, form, counter, network, "members", work, fields)

    @post("/{group_id:int}/members/{member_id:int}/{action:str}")
    async def act_on_member(  # noqa: PLR0913, PLR0917
        self,
        request: Request[Any, Any, Any],
        group_id: FromPath[int],
        member_id: FromPath[int],
        action: FromPath[str],
        auth: Auth,
        db_session: DbSession,
        clock: CurrentClock,
        settings: AppSettings,
        network: Network,
    ) -> Template | Redirect:
        page, counter = _counter(request, auth, db_session, clock, settings, group_id)
        acts = MEMBER_ACTS.get(action)
        if acts is None:
            raise NotFound(f"no action {action}", code="not_found")
        form = Form(await request.form(), page.texts)
        work, fields = acts(counter, form, member_id)
        return await _done(page, form, counter, network, action, work, fields)


def _counter(
    request: Request[Any, Any, Any],
    auth: Auth,
    db_session: DbSession,
    clock: Clock,
    settings: Settings,
    group_id: int,
) -> tuple[Page, Counter]:
    """A desk form's page and act: logged in (else to the login and back), staff only, as
    the desk's pages (the services then check the registration is theirs to serve)."""
    page = Page.of(request, auth)
    auth.required()
    return page, Counter(db_session, clock, settings, staff_of(page), group_id)


async def _done(
    page: Page,
    form: Form,
    counter: Counter,
    network: NetworkSnapshot,
    action: str,
    work: Work | None,
    fields: dict[str, str],
) -> Template | Redirect:
    """The act in a savepoint: done, back to the page with its notice (a reload repeats
    nothing); refused, the page again with the reason beside its field."""
    if (
        work is not None
        and form.ok
        and await attempt(counter.db_session, form, fields, lambda: completed(work()))
    ):
        target = f"/manage/registrations/{counter.group_id}?done={action}"
        return Redirect(target, status_code=303)
    return await _registration_page(page, form, counter, network, 422)


Acts = tuple[Work | None, dict[str, str]]


def _activate(c: Counter, _form: Form) -> Acts:
    return lambda: groups.activate(
        c.db_session, c.clock, c.settings, c.principal, c.group_id, None
    ), {}


def _suspend(c: Counter, form: Form) -> Acts:
    reason = form.text("reason", max_length=NOTE_MAX)
    if reason is None:
        return None, {}
    return lambda: groups.suspend(c.db_session, c.clock, c.principal, c.group_id, reason), {
        "reason": "reason"
    }


def _reinstate(c: Counter, _form: Form) -> Acts:
    return lambda: groups.reinstate(c.db_session, c.clock, c.principal, c.group_id), {}


def _renew(c: Counter, _form: Form) -> Acts:
    return lambda: groups.renew(c.db_session, c.clock, c.settings, c.principal, c.group_id), {}


CONTACT_FIELDS = {"name": NAME_MAX, "name_kana": NAME_MAX, "email": EMAIL_MAX, "phone": PHONE_MAX}


def _contact(c: Counter, form: Form) -> Acts:
    values = {
        name: form.text(name, required=name == "name", max_length=limit)
        for name, limit in CONTACT_FIELDS.items()
    }
    patch = _converted(form, values, GroupPatch)
    if patch is None:
        return None, {}
    return lambda: groups.update_group(c.db_session, c.clock, c.principal, c.group_id, patch), {
        f: f for f in CONTACT_FIELDS
    }


def _add_member(c: Counter, form: Form) -> Acts:
    entry = member_entry(form, "new_")
    if entry is None:
        return None, {}
    fields = {f"member.{f}": f"new_{f}" for f in (*MEMBER_FIELDS, "phone")}
    return lambda: roster.add_member(
        c.db_session, c.clock, c.settings, c.principal, c.group_id, entry
    ), {**fields, "email": "new_email"}


def _update_member(c: Counter, form: Form, member_id: int) -> Acts:
    prefix = f"m{member_id}_"
    values: dict[str, Any] = {
        "name": form.text(f"{prefix}name", required=False, max_length=NAME_MAX),
        "birth_date": form.day(f"{prefix}birth_date", required=False),
        "residency": form[f"{prefix}residency"] or None,
        "email": form.text(f"{prefix}email", required=False, max_length=EMAIL_MAX),
        "phone": form.text(f"{prefix}phone", required=False, max_length=PHONE_MAX),
    }
    if values["residency"] is not None:
        values["residency"] = form.choice(f"{prefix}residency", RESIDENCY)
    patch = _converted(form, values, MemberPatch)
    if patch is None:
        return None, {}
    return lambda: roster.update_member(
        c.db_session, c.clock, c.settings, c.principal, c.group_id, member_id, patch
    ), {f: f"{prefix}{f}" for f in (*MEMBER_FIELDS, "phone")}


def _remove_member(c: Counter, _form: Form, member_id: int) -> Acts:
    return lambda: roster.remove_member(
        c.db_session, c.clock, c.principal, c.group_id, member_id
    ), {}


def _representative(c: Counter, _form: Form, member_id: int) -> Acts:
    return lambda: roster.change_representative(
        c.db_session, c.clock, c.settings, c.principal, c.group_id, member_id
    ), {}


GROUP_ACTS: dict[str, Callable[[Counter, Form], Acts]] = {
    "activate": _activate,
    "suspend": _suspend,
    "reinstate": _reinstate,
    "renew": _renew,
    "contact": _contact,
}
MEMBER_ACTS: dict[str, Callable[[Counter, Form, int], Acts]] = {
    "update": _update_member,
    "remove": _remove_member,
    "representative": _representative,
}


def _converted(form: Form, values: dict[str, Any], into: type[T]) -> T | None:
    """The form's values as the API's input (its patterns: a phone's digits, an e-mail's
    shape), None with the reason shown when they do not fit."""
    if not form.ok:
        return None
    try:
        return msgspec.convert({k: v for k, v in values.items() if v is not None}, into)
    except msgspec.ValidationError as exc:
        form.general.append(f"{form.texts.gettext('This value cannot be used.')} ({exc})")
        return None


async def _registration_page(
    page: Page, form: Form, counter: Counter, network: NetworkSnapshot, status_code: int = 200
) -> Template:
    principal = staff_of(page)
    db_session = counter.db_session
    group = await groups.view_group(db_session, principal, counter.group_id)
    members = await groups.roster(db_session, group.id)
    today = local_today(counter.clock, counter.settings.tz)
    bookings = await listing.group_bookings(db_session, principal, group.id, None, today)
    applications = await group_applications(db_session, principal, group.id, None)
    done = page.request.query_params.get("done", "")
    # The forms start from what is on record; what was typed in a refused form stays.
    on_record = {"name": group.name, "name_kana": group.name_kana, "email": group.email}
    on_record["phone"] = group.phone
    for m in members:
        on_record |= {f"m{m.id}_{f}": getattr(m, f) for f in (*MEMBER_FIELDS, "phone")}
    for name, value in on_record.items():
        form.values.setdefault(name, "" if value is None else str(value))
    return page.render(
        "manage/registration.html",
        status_code=status_code,
        nav="manage",
        group=group,
        status=groups.effective_status(group, today),
        members=members,
        documents=[DOCUMENTS[d] for d in desk.documents_to_check(group, members, today)],
        history=await desk.registration_history(db_session, principal, group.id),
        bookings=[shown(network, page.texts, b) for b in bookings[:SHOWN_BOOKINGS]],
        more_bookings=len(bookings) > SHOWN_BOOKINGS,
        applications=[shown(network, page.texts, a) for a in applications],
        renewal_opens=renewal_opens(group.valid_until) if group.valid_until else None,
        facility=network.facilities.get(group.facility_id) if group.facility_id else None,
        manages=principal.manages,
        form=form,
        notice=NOTICES.get(done),
        history_names=HISTORY,
        statuses=STATUSES,
        booking_statuses=BOOKING_STATUSES,
        application_statuses=APPLICATION_STATUSES,
        categories=CATEGORIES,
        residency=RESIDENCY,
    )
