"""The administrator's pages: managers and their facilities, administrators, suspending
people, the audit trail with its filters. Over HTTP as a browser sends the forms, on both
engines; a refused form says which field and why, and writes nothing."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.auth import CSRF_FORM_FIELD
from booking.accounts.models import StaffRole, User, UserStatus
from booking.accounts.staff import facilities_of
from booking.audit.models import AuditEvent
from booking.audit.service import Actor, record
from booking.clock import FrozenClock
from booking.inventory.models import Facility
from booking.waitlist.models import WaitlistOffer
from tests.conftest import DEFAULT_NOW
from tests.helpers import jst
from tests.pages.browsing import alerts, changes, cookies, field_error, footprint, token
from tests.people import World
from tests.places import Hall
from tests.reservations.test_series import in_window


async def _get(client: httpx.AsyncClient, world: World, path: str, role: str = "admin") -> Any:
    client.cookies.clear()
    return await client.get(path, headers=cookies(world, role))


async def _post(
    client: httpx.AsyncClient,
    world: World,
    path: str,
    data: dict[str, Any] | None = None,
    role: str = "admin",
) -> Any:
    client.cookies.clear()
    form = {**(data or {}), CSRF_FORM_FIELD: token(world, role)}
    return await client.post(path, data=form, headers=cookies(world, role))


@dataclass(frozen=True)
class Person:
    name: str
    staff_role: StaffRole | None
    status: UserStatus


@dataclass(frozen=True)
class Event:
    actor_user_id: int | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None


# The test's session reads in a transaction of its own, ended at once (as footprint() does):
# left open, the app's next request would nest inside it and the next rollback undo it.
async def _user(session: AsyncSession, user_id: int) -> Person:
    await session.rollback()
    user = await session.get_one(User, user_id, populate_existing=True)
    person = Person(user.name, user.staff_role, user.status)
    await session.rollback()
    return person


async def _facilities(session: AsyncSession, user_id: int) -> list[int]:
    await session.rollback()
    found = await facilities_of(session, user_id)
    await session.rollback()
    return found


async def _events(session: AsyncSession, action: str, target_id: int) -> list[Event]:
    await session.rollback()
    stmt = (
        select(AuditEvent)
        .where(AuditEvent.action == action, AuditEvent.target_id == str(target_id))
        .order_by(AuditEvent.id)
    )
    found = [Event(e.actor_user_id, e.before, e.after) for e in await session.scalars(stmt)]
    await session.rollback()
    return found


async def test_the_navigation_links_the_administration_for_administrators_only(
    world: World, client: httpx.AsyncClient
) -> None:
    for role, shown in (("admin", True), ("manager_here", False), ("member", False)):
        page = await _get(client, world, "/my/bookings", role)
        assert page.status_code == 200, role
        assert ('<a href="/admin"' in page.text) is shown, role
    home = await _get(client, world, "/admin")
    for path in ("/admin/staff", "/admin/people", "/admin/audit"):
        assert f'href="{path}"' in home.text
        assert (await _get(client, world, path)).status_code == 200, path


async def test_a_person_found_by_email_is_made_a_manager_of_facilities(
    world: World, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    member = world.user_ids["member"]
    made = await _post(
        client,
        world,
        "/admin/staff",
        {
            "email": " Member-A@example.jp ",
            "role": "manager",
            "facility_ids": [str(world.here), str(world.elsewhere)],
        },
    )
    assert made.status_code == 303, made.text
    assert made.headers["location"] == "/admin/staff?done=appointed"
    user = await _user(session, member)
    assert user.staff_role is StaffRole.MANAGER
    assert user.name == "川崎合唱団 会員0"  # their own name kept: no name was typed
    assert await _facilities(session, member) == sorted([world.here, world.elsewhere])
    (event,) = await _events(session, "user.role_changed", member)
    assert event.actor_user_id == world.user_ids["admin"]
    assert event.before == {"staff_role": None, "facility_ids": []}
    assert event.after == {
        "staff_role": "manager",
        "facility_ids": sorted([world.here, world.elsewhere]),
    }
    listed = await _get(client, world, "/admin/staff?done=appointed")
    assert "役割を付与しました。" in listed.text
    assert f'href="/admin/managers/{member}"' in listed.text


async def test_a_new_person_made_a_manager_gets_a_login_and_an_invitation(
    world: World, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    made = await _post(
        client,
        world,
        "/admin/staff",
        {
            "email": "new-clerk@city.example",
            "name": "新任 窓口",
            "role": "manager",
            "facility_ids": [str(world.here)],
        },
    )
    assert made.status_code == 303, made.text
    await session.rollback()
    user = await session.scalar(select(User).where(User.email == "new-clerk@city.example"))
    assert user is not None
    assert (user.name, user.staff_role) == ("新任 窓口", StaffRole.MANAGER)


APPOINTMENTS: dict[str, tuple[dict[str, Any], str, str]] = {
    # name: (the form, the field, its message as the page shows it)
    "no facility": (
        {"email": "member-a@example.jp", "role": "manager"},
        "facility_ids",
        "施設を1つ以上選んでください。",
    ),
    "an unknown facility": (
        {"email": "member-a@example.jp", "role": "manager", "facility_ids": ["999999"]},
        "facility_ids",
        "この値は使えません。 (no facility 999999)",
    ),
    "a facility that is no number": (
        {"email": "member-a@example.jp", "role": "manager", "facility_ids": ["1x"]},
        "facility_ids",
        "施設を1つ以上選んでください。",
    ),
    "no e-mail": ({"role": "admin"}, "email", "入力してください。"),
    "a bad e-mail": ({"email": "not-an-address", "role": "admin"}, "email", "この値は使えません。"),
    "a new person without a name": (
        {"email": "nobody-yet@example.jp", "role": "admin"},
        "name",
        "新しい方には氏名が必要です",
    ),
    "a name with a tab": (
        {"email": "nobody-yet@example.jp", "name": "新\t任", "role": "admin"},
        "name",
        "改行やタブなどの制御文字は使えません。",
    ),
    "an unknown role": (
        {"email": "member-a@example.jp", "role": "king"},
        "role",
        "選択肢から選んでください。",
    ),
    "an administrator made a manager": (
        {"email": "admin@city.example", "role": "manager", "facility_ids": ["1"]},
        "email",
        "この方はすでに管理者です。",
    ),
}


@pytest.mark.parametrize("case", APPOINTMENTS)
async def test_a_bad_appointment_names_its_field_and_writes_nothing(
    case: str, world: World, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    form, field, message = APPOINTMENTS[case]
    if case == "an administrator made a manager":
        form = {**form, "facility_ids": [str(world.here)]}
    before = await footprint(session)
    refused = await _post(client, world, "/admin/staff", form)
    assert refused.status_code == 422, refused.text
    shown = field_error(refused.text, field)
    assert shown is not None, alerts(refused.text)
    assert shown.startswith(message), shown
    assert changes(before, await footprint(session)) == {}
    if "email" in form:  # what was typed is shown again
        assert f'value="{form["email"]}"' in refused.text


async def test_a_managers_facilities_are_changed_and_the_role_taken_away(
    world: World, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    manager = world.user_ids["manager_here"]
    page = await _get(client, world, f"/admin/managers/{manager}")
    assert page.status_code == 200
    assert re.search(rf'value="{world.here}" checked', page.text)
    assert not re.search(rf'value="{world.elsewhere}" checked', page.text)

    before = await footprint(session)
    refused = await _post(client, world, f"/admin/managers/{manager}/facilities", {})
    assert refused.status_code == 422
    assert field_error(refused.text, "facility_ids") == "施設を1つ以上選んでください。"
    assert changes(before, await footprint(session)) == {}

    changed = await _post(
        client,
        world,
        f"/admin/managers/{manager}/facilities",
        {"facility_ids": [str(world.elsewhere)]},
    )
    assert changed.status_code == 303, changed.text
    assert await _facilities(session, manager) == [world.elsewhere]
    event = (await _events(session, "user.role_changed", manager))[-1]
    assert event.before == {"staff_role": "manager", "facility_ids": [world.here]}
    assert event.after == {"staff_role": "manager", "facility_ids": [world.elsewhere]}

    revoked = await _post(client, world, f"/admin/managers/{manager}/revoke")
    assert revoked.status_code == 303
    assert (await _user(session, manager)).staff_role is None
    assert await _facilities(session, manager) == []
    # No longer a manager: their page is gone, and a second revocation finds no one.
    assert (await _get(client, world, f"/admin/managers/{manager}")).status_code == 404
    again = await _post(client, world, f"/admin/managers/{manager}/revoke")
    assert again.status_code == 404
    assert "その施設管理者は見つかりません。" in again.text


async def test_the_administrator_role_is_granted_and_taken_away_but_not_ones_own(
    world: World, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    member = world.user_ids["member"]
    granted = await _post(
        client, world, "/admin/staff", {"email": "member-a@example.jp", "role": "admin"}
    )
    assert granted.status_code == 303, granted.text
    assert (await _user(session, member)).staff_role is StaffRole.ADMIN
    staff_page = await _get(client, world, "/admin/staff")
    assert f'action="/admin/administrators/{member}/revoke"' in staff_page.text
    own = world.user_ids["admin"]
    assert f'action="/admin/administrators/{own}/revoke"' not in staff_page.text

    revoked = await _post(client, world, f"/admin/administrators/{member}/revoke")
    assert revoked.status_code == 303
    assert (await _user(session, member)).staff_role is None
    events = await _events(session, "user.role_changed", member)
    assert [(e.before or {})["staff_role"] for e in events] == [None, "admin"]
    assert [(e.after or {})["staff_role"] for e in events] == ["admin", None]

    before = await footprint(session)
    self_revoked = await _post(client, world, f"/admin/administrators/{own}/revoke")
    assert self_revoked.status_code == 409
    assert "ご自身の管理者の役割は外せません。" in self_revoked.text
    assert (await _user(session, own)).staff_role is StaffRole.ADMIN
    not_admin = await _post(
        client, world, f"/admin/administrators/{world.user_ids['manager_here']}/revoke"
    )
    assert not_admin.status_code == 404
    assert changes(before, await footprint(session)) == {}


async def test_a_person_is_found_by_email_or_name_with_their_groups(
    world: World, client: httpx.AsyncClient
) -> None:
    representative = world.user_ids["representative"]
    for typed in ("REP-A@example", "合唱団 代表"):
        found = await _get(client, world, f"/admin/people?q={typed}")
        assert found.status_code == 200, typed
        assert f'href="/admin/people/{representative}"' in found.text, typed
        assert f'href="/admin/people/{world.user_ids["other_representative"]}"' not in found.text
    nobody = await _get(client, world, "/admin/people?q=no-such-person")
    assert "該当する方はいません。" in nobody.text
    bad = await _get(client, world, "/admin/people?q=a%00b")
    assert bad.status_code == 400
    assert field_error(bad.text, "q") == "改行やタブなどの制御文字は使えません。"

    page = await _get(client, world, f"/admin/people/{representative}")
    assert page.status_code == 200
    assert (
        f'<a href="/manage/registrations/{world.group_a}">川崎合唱団</a> · 代表者 · 有効'
        in page.text
    )
    assert "rep-a@example.jp" in page.text
    missing = await _get(client, world, "/admin/people/999999")
    assert missing.status_code == 404
    assert "その方は見つかりません。" in missing.text


async def test_a_person_is_suspended_with_a_reason_and_reinstated(
    world: World, client: httpx.AsyncClient, session: AsyncSession, clock: FrozenClock
) -> None:
    member = world.user_ids["member"]
    suspended = await _post(
        client, world, f"/admin/people/{member}/suspend", {"reason": "予約の転売"}
    )
    assert suspended.status_code == 303, suspended.text
    assert suspended.headers["location"] == f"/admin/people/{member}?done=suspended"
    assert (await _user(session, member)).status is UserStatus.SUSPENDED
    (event,) = await _events(session, "user.suspended", member)
    assert event.before == {"status": "active"}
    assert event.after == {"status": "suspended", "reason": "予約の転売"}
    # Their session has ended: a page of theirs asks them to log in.
    theirs = await _get(client, world, "/my/bookings", "member")
    assert theirs.status_code == 303
    assert theirs.headers["location"].startswith("/login?next=")
    page = await _get(client, world, f"/admin/people/{member}?done=suspended")
    assert "利用停止中" in page.text
    assert "予約の転売" in page.text
    assert f'action="/admin/people/{member}/reinstate"' in page.text

    reinstated = await _post(client, world, f"/admin/people/{member}/reinstate")
    assert reinstated.status_code == 303
    assert reinstated.headers["location"] == f"/admin/people/{member}?done=reinstated"
    assert (await _user(session, member)).status is UserStatus.ACTIVE
    (back,) = await _events(session, "user.reinstated", member)
    assert (back.before, back.after) == ({"status": "suspended"}, {"status": "active"})
    assert clock.now() == DEFAULT_NOW


SUSPENSIONS: dict[str, tuple[str, dict[str, str], str, str | None]] = {
    # name: (whose page, the form, the message, beside which field (None: the summary))
    "no reason": ("member", {"reason": " "}, "入力してください。", "reason"),
    "a reason too long": (
        "member",
        {"reason": "理" * 201},
        "200文字以内で入力してください。",
        "reason",
    ),
    "a reason with a line break": (
        "member",
        {"reason": "一行目\n二行目"},
        "改行やタブなどの制御文字は使えません。",
        "reason",
    ),
    "oneself": ("admin", {"reason": "試しに"}, "ご自身を利用停止にはできません。", None),
}


@pytest.mark.parametrize("case", SUSPENSIONS)
async def test_a_bad_suspension_says_why_and_writes_nothing(
    case: str, world: World, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    whose, form, message, field = SUSPENSIONS[case]
    user_id = world.user_ids[whose]
    before = await footprint(session)
    refused = await _post(client, world, f"/admin/people/{user_id}/suspend", form)
    assert refused.status_code == 422, refused.text
    if field is None:
        assert message in alerts(refused.text)
    else:
        assert field_error(refused.text, field) == message
    assert changes(before, await footprint(session)) == {}
    assert (await _user(session, user_id)).status is UserStatus.ACTIVE


def _shown_events(page: str) -> list[tuple[str, str]]:
    """(action, target) of each event the audit page lists, in its order."""
    return re.findall(r"<h2><code>([^<]+)</code> · (?:<a [^>]*>)?([^<]+?)(?:</a>)?</h2>", page)


async def test_the_audit_trail_filters_by_action_actor_target_and_tokyo_dates(
    world: World, client: httpx.AsyncClient, session: AsyncSession, clock: FrozenClock
) -> None:
    member, rep = world.user_ids["member"], world.user_ids["representative"]
    # Late on the 24th in Tokyo (already the 24th in UTC), and just after midnight on the 25th
    # (still the 24th in UTC): the date filter reads Tokyo's days.
    clock.set(jst(date(2026, 11, 24), 23, 30))
    assert (
        await _post(client, world, f"/admin/people/{member}/suspend", {"reason": "一"})
    ).status_code == 303
    clock.set(jst(date(2026, 11, 25), 0, 30))
    assert (
        await _post(client, world, f"/admin/people/{rep}/suspend", {"reason": "二"})
    ).status_code == 303
    clock.set(DEFAULT_NOW)

    def shown(page: Any) -> list[tuple[str, str]]:
        assert page.status_code == 200, page.text
        return _shown_events(page.text)

    both = [("user.suspended", f"user {rep}"), ("user.suspended", f"user {member}")]
    assert shown(await _get(client, world, "/admin/audit?action=user.suspended")) == both
    on_25th = await _get(client, world, "/admin/audit?action=user.suspended&from=2026-11-25")
    assert shown(on_25th) == both[:1]
    on_24th = await _get(
        client, world, "/admin/audit?action=user.suspended&from=2026-11-24&to=2026-11-24"
    )
    assert shown(on_24th) == both[1:]
    by_target = await _get(client, world, f"/admin/audit?target_type=user&target_id={member}")
    assert ("user.suspended", f"user {member}") in shown(by_target)
    assert {target for _, target in shown(by_target)} == {f"user {member}"}
    # A prefix, and the actor by e-mail address or number: the administrator's events only.
    for actor in ("admin@city.example", str(world.user_ids["admin"])):
        mine = shown(await _get(client, world, f"/admin/audit?action=user.&actor={actor}"))
        assert set(both) <= set(mine), actor
        assert all(action.startswith("user.") for action, _ in mine)
    by_member = await _get(client, world, f"/admin/audit?actor={member}&action=user.suspended")
    assert shown(by_member) == []
    assert "該当する記録はありません。" in by_member.text


AUDIT_FILTERS: dict[str, tuple[str, str, str]] = {
    "the last day first": ("from=2026-11-25&to=2026-11-24", "to", "終了日が開始日より前です。"),
    "no date": ("from=2026-13-01", "from", "日付は YYYY-MM-DD の形で入力してください。"),
    "an unknown actor": ("actor=nobody@example.jp", "actor", "このメールアドレスの方はいません。"),
    "an actor that is neither": (
        "actor=someone",
        "actor",
        "メールアドレスか利用者番号を入力してください。",
    ),
    "an action with a tab": (
        "action=user.%09x",
        "action",
        "改行やタブなどの制御文字は使えません。",
    ),
    "an action too long": (f"action={'a' * 61}", "action", "60文字以内で入力してください。"),
    "a page that is no number": ("before=abc", "before", "整数で入力してください。"),
}
# A page's place in the trail is in its links, not a field of the form: said in the summary.
NOT_IN_THE_FORM = {"before"}


@pytest.mark.parametrize("case", AUDIT_FILTERS)
async def test_a_bad_audit_filter_is_a_400_beside_its_field(
    case: str, world: World, client: httpx.AsyncClient
) -> None:
    query, field, message = AUDIT_FILTERS[case]
    page = await _get(client, world, f"/admin/audit?{query}")
    assert page.status_code == 400
    if field in NOT_IN_THE_FORM:
        assert message in alerts(page.text)
    else:
        assert field_error(page.text, field) == message, alerts(page.text)
    assert _shown_events(page.text) == []


async def test_the_audit_trail_pages_newest_first(
    world: World, client: httpx.AsyncClient, session: AsyncSession, clock: FrozenClock
) -> None:
    admin = Actor(world.user_ids["admin"])
    for n in range(1, 61):
        await record(session, clock, admin, "test.paged", ("user", n), after={"n": n})
    await session.commit()
    first = await _get(client, world, "/admin/audit?action=test.paged")
    assert [t for _, t in _shown_events(first.text)] == [f"user {n}" for n in range(60, 10, -1)]
    older = re.search(r'<a href="([^"]+)">古い記録</a>', first.text)
    assert older is not None
    second = await _get(client, world, older[1].replace("&amp;", "&"))
    assert [t for _, t in _shown_events(second.text)] == [f"user {n}" for n in range(10, 0, -1)]
    assert "古い記録" not in second.text
    assert 'href="/admin/audit?action=test.paged">最新の記録</a>' in second.text


async def test_an_events_before_and_after_are_shown_side_by_side(
    world: World, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """Key by key, the changed ones marked; a manager's facilities by their names."""
    found = await session.execute(select(Facility.id, Facility.name_ja))
    names = dict(found.all())
    await session.rollback()
    manager = world.user_ids["manager_here"]
    changed = await _post(
        client,
        world,
        f"/admin/managers/{manager}/facilities",
        {"facility_ids": [str(world.elsewhere)]},
    )
    assert changed.status_code == 303, changed.text
    page = await _get(client, world, f"/admin/audit?action=user.role_changed&target_id={manager}")
    newest = page.text.split('<ul class="cards">', 1)[1].split("</li>", 1)[0]
    pattern = r'<tr class="changed"><th scope="row">([^<]+)</th><td>([^<]+)</td><td><strong>([^<]+)'
    rows = re.findall(pattern, newest)
    assert rows == [("facility_ids", names[world.here], names[world.elsewhere])]
    assert '<th scope="row">staff_role</th><td>manager</td><td>manager</td>' in newest
    assert f'<a href="/admin/people/{world.user_ids["admin"]}">管理者</a>' in page.text


async def test_the_audit_trails_links_lead_to_pages_that_exist(
    world: World, hall: Hall, client: httpx.AsyncClient, session: AsyncSession, clock: FrozenClock
) -> None:
    """Each kind of target with a page of its own links it; the administrator opens each."""
    made = await client.post(
        "/api/v1/bookings",
        json={
            "group_id": world.group_a,
            "room_id": hall.room_id,
            "use_date": hall.day.isoformat(),
            "period_codes": ["10"],
            "purpose": "meeting",
            "headcount": 10,
        },
        headers=world.headers("member"),
    )
    assert made.status_code == 201, made.text
    notice = await client.post(
        f"/api/v1/facilities/{hall.facility_id}/notices",
        json={"title_ja": "休館のお知らせ", "body_ja": "設備点検のため", "starts_on": "2026-12-01"},
        headers=world.headers("admin"),
    )
    assert notice.status_code == 201, notice.text
    first = in_window(hall.snapshot, hall)[0]
    series = await client.post(
        "/api/v1/series",
        json={
            "group_id": world.group_a,
            "room_id": hall.room_id,
            "period_codes": ["20"],
            "purpose": "singing",
            "headcount": 12,
            "first_date": first.isoformat(),
            "last_date": (first + timedelta(weeks=1)).isoformat(),
            "every": "week",
        },
        headers=world.headers("member"),
    )
    assert series.status_code == 201, series.text
    # A line on group A's booked slot; group A cancels and the slot is offered to group B.
    line = await client.post(
        "/api/v1/waitlist",
        json={
            "group_id": world.group_b,
            "room_id": hall.room_id,
            "use_date": first.isoformat(),
            "period_codes": ["20"],
        },
        headers=world.headers("other_representative"),
    )
    assert line.status_code == 201, line.text
    first_booking = series.json()["bookings"][0]["id"]
    freed = await client.post(
        f"/api/v1/bookings/{first_booking}/cancel", json={}, headers=world.headers("member")
    )
    assert freed.status_code == 200, freed.text
    offer = await session.scalar(select(WaitlistOffer.id))
    assert offer is not None
    admin = Actor(world.user_ids["admin"])
    await record(session, clock, admin, "facility.test", ("facility", hall.facility_id))
    await record(session, clock, admin, "room.test", ("room", hall.room_id))
    await session.commit()
    page = await _get(client, world, "/admin/audit")
    main = page.text.split('<main id="main"', 1)[1]
    events = main.split('<ul class="cards">', 1)[1]
    links = set(re.findall(r'<h2><code>[^<]+</code> · <a href="([^"]+)">', events))
    expected = {
        f"/manage/bookings/{made.json()['id']}",
        f"/manage/registrations/{world.group_a}",
        f"/admin/facilities/{hall.facility_id}",
        f"/admin/rooms/{hall.room_id}",
        f"/manage/notices/{notice.json()['id']}",
        f"/admin/people/{world.user_ids['manager_here']}",
        f"/manage/series/{series.json()['id']}",
        f"/my/waitlist/offers/{offer}",
    }
    assert expected <= links, links
    actors = set(re.findall(r'<p>[^<]+ · <a href="(/admin/people/\d+)">', events))
    assert actors, "no actor linked"
    for link in sorted(links | actors):
        opened = await _get(client, world, link)
        assert opened.status_code == 200, link
    # A target with no page of its own (an API token, a wait-list entry) is named, not linked.
    assert re.search(r"<h2><code>token\.[a-z_]+</code> · api_token \d+</h2>", events)
    assert re.search(r"<h2><code>waitlist\.[a-z_]+</code> · waitlist_entry \d+</h2>", events)
