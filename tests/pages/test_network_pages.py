"""The pages that keep the network in the system (issue 16 §2), over HTTP on both engines:
an administrator creates a facility, a room and fees from a date; a manager edits a room of
their own facility; every bad value is said beside its field, in Japanese, and changes nothing.
"""

from __future__ import annotations

import html
import re
from datetime import date
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.auth import CSRF_FORM_FIELD
from booking.accounts.sessions import open_session
from booking.audit.models import AuditEvent
from booking.clock import FrozenClock
from booking.inventory.models import Facility, Room, RoomFeeSchedule, RoomUnit, Unit
from tests.helpers import jst
from tests.pages.browsing import (
    alerts,
    changes,
    cookies,
    field_error,
    footprint,
    input_value,
    is_checked,
    selected,
    token,
)
from tests.people import World
from tests.places import template_room

FACILITY = {
    "key": "test-new-hall",
    "kind": "civic_hall",
    "ward": "",
    "name_ja": "新しい市民館",
    "name_en": "New Civic Hall",
    "address": "川崎市中原区1-2-3",
    "phone": "044-123-4567",
    "opens_on": "",
    "closes_on": "",
    "external_id": "FN-999",
    "notes": "",
}
ROOM = {
    "key": "hall-a",
    "name_ja": "大ホール",
    "name_en": "Main hall",
    "capacity": "80",
    "area_m2": "120.5",
    "equipment": "ピアノ\nプロジェクター",
    "purposes": ["meeting"],
    "online_bookable": "online",
    "external_id": "",
    "notes": "",
}


async def post(
    client: httpx.AsyncClient, world: World, role: str, path: str, form: dict[str, Any]
) -> httpx.Response:
    client.cookies.clear()
    data = {**form, CSRF_FORM_FIELD: token(world, role)}
    return await client.post(path, data=data, headers=cookies(world, role))


async def get(client: httpx.AsyncClient, world: World, role: str, path: str) -> httpx.Response:
    client.cookies.clear()
    return await client.get(path, headers=cookies(world, role))


async def made_facility(client: httpx.AsyncClient, world: World) -> int:
    made = await post(client, world, "admin", "/admin/facilities/new", FACILITY)
    assert made.status_code == 303, made.text
    return int(made.headers["location"].split("/")[3].split("?")[0])


async def made_room(client: httpx.AsyncClient, world: World, facility_id: int) -> int:
    path = f"/admin/facilities/{facility_id}/rooms/new"
    made = await post(client, world, "admin", path, ROOM)
    assert made.status_code == 303, made.text
    return int(made.headers["location"].split("/")[3].split("?")[0])


async def test_an_administrator_adds_a_facility_a_room_and_fees_from_a_date(
    world: World, client: httpx.AsyncClient, session: AsyncSession, clock: FrozenClock
) -> None:
    facility_id = await made_facility(client, world)
    shown = await get(client, world, "admin", f"/admin/facilities/{facility_id}?done=created")
    assert shown.status_code == 200
    assert input_value(shown.text, "name_ja") == "新しい市民館"

    room_id = await made_room(client, world, facility_id)
    room = await session.get_one(Room, room_id)
    assert (room.name_ja, room.capacity, room.area_m2) == ("大ホール", 80, 120.5)
    assert room.equipment == ["ピアノ", "プロジェクター"]
    assert room.purposes == ["meeting"]
    assert room.online_bookable is True

    fees = f"/admin/rooms/{room_id}/fees"
    today = await post(
        client, world, "admin", fees, {"effective_from": "2026-11-25", "fee_10": "1000"}
    )
    assert today.status_code == 303, today.text
    april = await post(
        client, world, "admin", fees, {"effective_from": "2027-04-01", "fee_10": "1200"}
    )
    assert april.status_code == 303, april.text
    page = await get(client, world, "admin", fees)
    assert page.status_code == 200
    assert "1,000" in page.text
    assert "1,200" in page.text
    rows = (
        await session.scalars(select(RoomFeeSchedule).where(RoomFeeSchedule.room_id == room_id))
    ).all()
    assert sorted((r.effective_from, r.fees) for r in rows) == [
        (date(2026, 11, 25), {"10": 1000}),
        (date(2027, 4, 1), {"10": 1200}),
    ]


async def refused(
    client: httpx.AsyncClient,
    world: World,
    session: AsyncSession,
    path: str,
    form: dict[str, Any],
    role: str = "admin",
) -> str:
    """Post a bad form: the page again (422) in Japanese, and nothing changed anywhere."""
    before = await footprint(session)
    answer = await post(client, world, role, path, form)
    assert answer.status_code == 422, answer.text
    assert '<html lang="ja">' in answer.text
    assert not changes(before, await footprint(session))
    return answer.text


@pytest.mark.parametrize(
    ("changed", "field", "reason"),
    [
        ({"key": "Big Hall"}, "key", "英小文字"),
        ({"name_ja": ""}, "name_ja", "入力してください"),
        ({"name_en": "新館"}, "name_en", "英語名に日本語"),
        ({"name_ja": "新\t館"}, "name_ja", "制御文字"),
        ({"phone": "044-123-4567 (代表)"}, "phone", "数字"),
        ({"kind": "castle"}, "kind", "選択肢"),
        ({"ward": "atlantis"}, "ward", "選択肢"),
        ({"opens_on": "2027-04-01", "closes_on": "2027-03-31"}, "closes_on", "開始日より前"),
        ({"opens_on": "2027-02-30"}, "opens_on", "YYYY-MM-DD"),
        ({"address": "川" * 301}, "address", "300文字"),
    ],
)
async def test_a_bad_facility_is_said_beside_its_field(
    changed: dict[str, str],
    field: str,
    reason: str,
    world: World,
    client: httpx.AsyncClient,
    session: AsyncSession,
) -> None:
    page = await refused(client, world, session, "/admin/facilities/new", {**FACILITY, **changed})
    error = field_error(page, field)
    assert reason in (error or ""), (field, error, alerts(page))
    # What was typed stays in the form.
    assert input_value(page, "name_en") == {**FACILITY, **changed}["name_en"]


async def test_a_facility_key_taken_is_said_beside_the_key(
    world: World, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await made_facility(client, world)
    page = await refused(client, world, session, "/admin/facilities/new", FACILITY)
    assert "既に使われて" in (field_error(page, "key") or ""), alerts(page)


@pytest.mark.parametrize(
    ("changed", "field", "reason"),
    [
        ({"capacity": "0"}, "capacity", "1以上"),
        ({"capacity": "100001"}, "capacity", "100,000以下"),
        ({"area_m2": "広い"}, "area_m2", "平方メートル"),
        ({"purposes": ["meeting", "karaoke"]}, "purposes", "選択肢"),
        ({"online_bookable": "phone"}, "online_bookable", "選択肢"),
        ({"equipment": "ピアノ\n" + "譜" * 201}, "equipment", "200文字"),
        ({"name_en": "大ホール"}, "name_en", "英語名に日本語"),
        ({"parts": ["1"]}, "parts", "選択肢"),  # a room of another facility
    ],
)
async def test_a_bad_room_is_said_beside_its_field(
    changed: dict[str, Any],
    field: str,
    reason: str,
    world: World,
    client: httpx.AsyncClient,
    session: AsyncSession,
) -> None:
    facility_id = await made_facility(client, world)
    path = f"/admin/facilities/{facility_id}/rooms/new"
    page = await refused(client, world, session, path, {**ROOM, **changed})
    error = field_error(page, field)
    assert reason in (error or ""), (field, error, alerts(page))
    assert input_value(page, "key") == "hall-a"
    assert is_checked(page, "purposes", "meeting")


@pytest.mark.parametrize(
    ("form", "field", "reason"),
    [
        ({"effective_from": "2026-11-24", "fee_10": "1000"}, "effective_from", "今日以降"),
        ({"effective_from": "", "fee_10": "1000"}, "effective_from", "入力してください"),
        ({"effective_from": "2027-04-01", "fee_10": "-5"}, "fee_10", "0以上"),
        ({"effective_from": "2027-04-01", "fee_10": "千円"}, "fee_10", "整数"),
        ({"effective_from": "2027-04-01", "fee_10": "10000001"}, "fee_10", "10,000,000以下"),
        ({"effective_from": "2027-04-01", "all_day_fee": "1.5"}, "all_day_fee", "整数"),
    ],
)
async def test_bad_fees_are_said_beside_their_field(
    form: dict[str, str],
    field: str,
    reason: str,
    world: World,
    client: httpx.AsyncClient,
    session: AsyncSession,
) -> None:
    facility_id = await made_facility(client, world)
    room_id = await made_room(client, world, facility_id)
    page = await refused(client, world, session, f"/admin/rooms/{room_id}/fees", form)
    error = field_error(page, field)
    assert reason in (error or ""), (field, error, alerts(page))


async def test_fees_in_effect_stay_and_fees_to_come_may_be_withdrawn(
    world: World, client: httpx.AsyncClient, session: AsyncSession, clock: FrozenClock
) -> None:
    facility_id = await made_facility(client, world)
    room_id = await made_room(client, world, facility_id)
    fees = f"/admin/rooms/{room_id}/fees"
    for day, yen in (("2026-11-25", "1000"), ("2027-04-01", "1200")):
        made = await post(client, world, "admin", fees, {"effective_from": day, "fee_10": yen})
        assert made.status_code == 303, made.text
    clock.set(jst(date(2026, 11, 26), 10))  # the first is in effect now: history
    # A day later the administrator's session has ended: a new one.
    world.sessions["admin"] = await open_session(
        session, clock, world.settings, world.user_ids["admin"]
    )
    await session.commit()
    await refused(client, world, session, f"{fees}/2026-11-25/withdraw", {})
    page = await refused(client, world, session, f"{fees}/2027-05-01/withdraw", {})
    assert alerts(page)
    withdrawn = await post(client, world, "admin", f"{fees}/2027-04-01/withdraw", {})
    assert withdrawn.status_code == 303, withdrawn.text
    left = (
        await session.scalars(
            select(RoomFeeSchedule.effective_from).where(RoomFeeSchedule.room_id == room_id)
        )
    ).all()
    assert left == [date(2026, 11, 25)]
    events = (
        await session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("room.fee%")))
    ).all()
    assert sorted(events) == [
        "room.fee_schedule_added",
        "room.fee_schedule_added",
        "room.fee_schedule_deleted",
    ]


async def test_a_manager_edits_a_room_of_their_own_facility_only(
    world: World, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    room = await session.get_one(Room, world.room)  # a room of the facility "here"
    form = {
        "name_ja": room.name_ja,
        "name_en": room.name_en,
        "capacity": "33",
        "online_bookable": "counter",
        "equipment": "長机\n椅子",
    }
    page = await get(client, world, "manager_here", f"/manage/rooms/{room.id}")
    assert page.status_code == 200
    assert (
        await get(client, world, "manager_elsewhere", f"/manage/rooms/{room.id}")
    ).status_code == 403
    other = await post(client, world, "manager_elsewhere", f"/manage/rooms/{room.id}", form)
    assert other.status_code == 403
    saved = await post(client, world, "manager_here", f"/manage/rooms/{room.id}", form)
    assert saved.status_code == 303, saved.text
    assert saved.headers["location"] == f"/manage/rooms/{room.id}?done=saved"
    await session.refresh(room)
    assert (room.capacity, room.online_bookable, room.equipment) == (33, False, ["長机", "椅子"])
    bad = await refused(
        client,
        world,
        session,
        f"/manage/rooms/{room.id}",
        {**form, "capacity": "-1"},
        "manager_here",
    )
    assert "1以上" in (field_error(bad, "capacity") or "")


async def test_a_retired_facility_is_listed_apart_and_reinstated(
    world: World, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """Retired, it is listed apart (history stays); put back, it is in service again."""
    facility_id = await made_facility(client, world)
    retired = await post(client, world, "admin", f"/admin/facilities/{facility_id}/retire", {})
    assert retired.status_code == 303, retired.text
    listed = await get(client, world, "admin", "/admin/facilities")
    retired_part = listed.text.split('id="retired"')[1]
    assert f'href="/admin/facilities/{facility_id}"' in retired_part
    facility = await session.get_one(Facility, facility_id, populate_existing=True)
    assert facility.active is False
    # Out of the network's snapshot, its page still shows what it is.
    shown = await get(client, world, "admin", f"/admin/facilities/{facility_id}")
    assert selected(shown.text, "kind") == "civic_hall"
    back = await post(client, world, "admin", f"/admin/facilities/{facility_id}/reinstate", {})
    assert back.status_code == 303


async def test_a_facility_page_marks_estimates_and_says_who_confirmed_what(
    world: World, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    facility = await session.get_one(Facility, world.here)
    facility.estimated_fields = ["phone", "opens_on"]
    facility.estimate_basis = "区の案内から推定"
    facility.confirmations = {
        "address": {"by": world.user_ids["admin"], "at": "2026-11-20T01:00:00+00:00"}
    }
    await session.commit()
    page = await get(client, world, "admin", f"/admin/facilities/{world.here}")
    assert page.status_code == 200
    assert "推定値（未確認）：phone、供用開始日" in page.text
    assert "所在地：2026年11月20日(金)に市の管理者が確認" in page.text  # its words, as in public
    listed = await get(client, world, "admin", "/admin/facilities")
    row = listed.text.split(f'href="/admin/facilities/{world.here}"')[1].split("</tr>")[0]
    assert "≈" in row
    assert "phone" in row


async def test_a_combined_room_is_made_of_the_rooms_ticked(
    world: World, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """Its units are its parts' units (booking it takes them all); its page ticks them again,
    and saving it unchanged leaves the parts alone."""
    facility_id = await made_facility(client, world)
    path = f"/admin/facilities/{facility_id}/rooms/new"
    parts = []
    for key in ("east", "west"):
        made = await post(
            client, world, "admin", path, {**ROOM, "key": key, "name_ja": key, "name_en": key}
        )
        assert made.status_code == 303, made.text
        parts.append(int(made.headers["location"].split("/")[3].split("?")[0]))
    whole = {**ROOM, "key": "whole", "name_ja": "全室", "name_en": "Whole", "parts": parts}
    made = await post(client, world, "admin", path, whole)
    assert made.status_code == 303, made.text
    room_id = int(made.headers["location"].split("/")[3].split("?")[0])
    units = await session.execute(
        select(RoomUnit.room_id, Unit.key)
        .join(Unit, Unit.id == RoomUnit.unit_id)
        .where(RoomUnit.room_id.in_([*parts, room_id]))
    )
    by_room: dict[int, set[str]] = {}
    for owner, key in units:
        by_room.setdefault(owner, set()).add(key)
    assert by_room[room_id] == by_room[parts[0]] | by_room[parts[1]] == {"east", "west"}
    page = await get(client, world, "admin", f"/admin/rooms/{room_id}")
    assert all(is_checked(page.text, "parts", str(part)) for part in parts)
    before = await footprint(session)
    saved = await post(
        client, world, "admin", f"/admin/rooms/{room_id}", {**whole, "notes": "二室をつなげて使う"}
    )
    assert saved.status_code == 303, saved.text
    assert changes(before, await footprint(session)) == {
        "audit_events": (before["audit_events"], before["audit_events"] + 1)
    }


async def test_every_link_on_the_network_pages_leads_to_a_page(
    world: World, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """The links of each page (in <main>), followed as the administrator: each one answers."""
    facility_id = await made_facility(client, world)
    room_id = await made_room(client, world, facility_id)
    await post(
        client,
        world,
        "admin",
        f"/admin/rooms/{room_id}/fees",
        {"effective_from": "2027-04-01", "fee_10": "900"},
    )
    pages = [
        "/admin/facilities",
        "/admin/facilities/new",
        f"/admin/facilities/{facility_id}",
        f"/admin/facilities/{world.here}",
        f"/admin/facilities/{facility_id}/rooms/new",
        f"/admin/rooms/{room_id}",
        f"/admin/rooms/{room_id}/fees",
        f"/manage/facilities/{world.here}/rooms",
        f"/manage/rooms/{world.room}",
    ]
    followed: set[str] = set()
    for path in pages:
        page = await get(client, world, "admin", path)
        assert page.status_code == 200, path
        main = page.text.split('<main id="main"', 1)[1].split("</main>", 1)[0]
        for link in set(re.findall(r'<a [^>]*href="(/[^"#]*)"', main)) - followed:
            followed.add(link)
            answer = await get(client, world, "admin", html.unescape(link))
            assert answer.status_code == 200, (path, link, answer.status_code)
    assert f"/admin/rooms/{room_id}/fees" in followed
    assert f"/manage/facilities/{world.here}/estimates" in followed


async def test_an_edit_saves_what_changed_and_an_unchanged_form_changes_nothing(
    world: World, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    facility_id = await made_facility(client, world)
    path = f"/admin/facilities/{facility_id}"
    edited = {
        **FACILITY,
        "ward": "nakahara",
        "phone": "０４４－１２３－９９９９",
        "closes_on": "2030-03-31",
    }
    del edited["key"]
    saved = await post(client, world, "admin", path, edited)
    assert saved.status_code == 303, saved.text
    facility = await session.get_one(Facility, facility_id, populate_existing=True)
    assert (facility.phone, facility.closes_on) == ("044-123-9999", date(2030, 3, 31))
    event = await session.scalar(
        select(AuditEvent)
        .where(AuditEvent.action == "facility.update")
        .order_by(AuditEvent.id.desc())
    )
    assert event is not None
    assert event.before == {"ward": None, "phone": "044-123-4567", "closes_on": None}
    assert event.after == {"ward": "nakahara", "phone": "044-123-9999", "closes_on": "2030-03-31"}
    page = await get(client, world, "admin", path)
    assert selected(page.text, "ward") == "nakahara"
    assert input_value(page.text, "closes_on") == "2030-03-31"
    before = await footprint(session)
    again = await post(client, world, "admin", path, {**edited, "phone": "044-123-9999"})
    assert again.status_code == 303
    assert not changes(before, await footprint(session))  # the same values: no audit event


async def test_a_template_room_page_lists_the_room_itself_as_unconfirmed(
    world: World, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """A room from its kind's template is an estimate as a whole (no listed fields): its page
    says so until an administrator confirms it, as the estimates desk does."""
    room = await template_room(session)
    page = await get(client, world, "admin", f"/admin/rooms/{room.id}")
    assert page.status_code == 200
    assert "推定値（未確認）：部屋と利用料金" in page.text
