"""The web forms' text fields take what the API takes: the same length (the rendered
`maxlength`, the API's `max_length` and the column's length agree) and no control characters.

Before, the calendar page's form took 100 characters for a feed name where the API and the
column take 60, the payment form 40 where the column takes 30, and a feed named with a line
break was accepted, after which every fetch of the feed was a 500.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import msgspec
import pytest
from sqlalchemy import String
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.auth import CSRF_FORM_FIELD
from booking.accounts.models import Group, Member, User
from booking.accounts.schemas import (
    LoginIn,
    MemberIn,
    RegistrationIn,
    RepresentativeIn,
    ResetConfirmIn,
    ResetRequestIn,
)
from booking.calendars.controllers import FeedIn
from booking.calendars.models import CalendarFeed
from booking.inventory.models import Notice
from booking.inventory.notice_controllers import NoticeIn
from booking.reservations.models import Block, Booking
from booking.reservations.schemas import BlockIn, BookingIn, ClosureIn
from booking.reservations.series_dates import MAX_OCCURRENCES
from tests.pages.browsing import changes, cookies, field_error, footprint, input_value, token
from tests.people import World
from tests.places import Hall

# A form field: the API field it becomes (struct, attribute), and the column it is kept in.
API = tuple[type[msgspec.Struct] | None, str | None]
FIELDS: dict[str, tuple[API, Any]] = {
    "login": ((LoginIn, "login"), User.email),
    "password": ((LoginIn, "password"), None),
    "forgotten login": ((ResetRequestIn, "login"), User.email),
    "new_password": ((ResetConfirmIn, "new_password"), None),
    "new_password_again": ((ResetConfirmIn, "new_password"), None),
    "name": ((RegistrationIn, "name"), Group.name),
    "name_kana": ((RegistrationIn, "name_kana"), Group.name_kana),
    "email": ((RegistrationIn, "email"), Group.email),
    "phone": ((RegistrationIn, "phone"), Group.phone),
    "rep_name": ((MemberIn, "name"), Member.name),
    "rep_email": ((MemberIn, "email"), Member.email),
    "rep_phone": ((MemberIn, "phone"), Member.phone),
    "rep_password": ((RepresentativeIn, "password"), None),
    "m0_name": ((MemberIn, "name"), Member.name),
    "m0_email": ((MemberIn, "email"), Member.email),
    "new_name": ((MemberIn, "name"), Member.name),
    "new_email": ((MemberIn, "email"), Member.email),
    "feed name": ((FeedIn, "name"), CalendarFeed.name),
    "event_name": ((BookingIn, "event_name"), Booking.event_name),
    "card_number": ((None, None), Group.card_number),
    "note": ((BlockIn, "note"), Block.note),
    "close_note": ((ClosureIn, "note"), Block.note),
    "payment_method": ((None, None), Booking.payment_method),
    "title_ja": ((NoticeIn, "title_ja"), Notice.title_ja),
    "title_en": ((NoticeIn, "title_en"), Notice.title_en),
    "body_ja": ((NoticeIn, "body_ja"), Notice.body_ja),
    "body_en": ((NoticeIn, "body_en"), Notice.body_en),
}
# Text a form reads into something else, bounded by the form itself: the dates a series leaves
# out, a list of at most as many dates as a series has (the API's list), typed YYYY-MM-DD each.
FORM_OWN = {"skip": MAX_OCCURRENCES * len("YYYY-MM-DD ")}
TEXT_INPUT = re.compile(r'<(input|textarea)\b[^>]*\bname="([^"]+)"[^>]*>')


def _api_limit(struct: type[msgspec.Struct], name: str) -> int | None:
    info = msgspec.inspect.type_info(struct)
    assert isinstance(info, msgspec.inspect.StructType)
    field = next(f for f in info.fields if f.name == name)
    kinds = field.type.types if isinstance(field.type, msgspec.inspect.UnionType) else (field.type,)
    limits = [k.max_length for k in kinds if isinstance(k, msgspec.inspect.StrType)]
    if limits and limits[0] is None and (pattern := kinds[0].pattern):  # type: ignore[union-attr]
        found = re.search(r"\{(?:\d+,)?(\d+)\}", pattern)  # {6,20}: at most 20
        return int(found[1]) if found else None
    return limits[0] if limits else None


def _text_inputs(page: str) -> dict[str, int | None]:
    """name -> maxlength of every input a person types text into, and every text area."""
    found = {}
    for match in TEXT_INPUT.finditer(page):
        tag, name = match[1], match[2]
        kind = re.search(r'\btype="([^"]+)"', match[0])
        if tag == "input" and (kind[1] if kind else "text") not in {
            "text",
            "email",
            "tel",
            "password",
            "search",
            "url",
        }:
            continue
        if re.search(r"\breadonly\b", match[0]):
            continue
        length = re.search(r'\bmaxlength="(\d+)"', match[0])
        found[name] = int(length[1]) if length else None
    return found


async def _pages(world: World, hall: Hall, client: httpx.AsyncClient) -> dict[str, str]:
    """Every form page with text fields, as its user sees it."""
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
    booking = made.json()["id"]
    manager = hall.manager
    wanted = {
        "/login": cookies(world, "anonymous"),
        "/password/forgot": cookies(world, "anonymous"),
        "/register": cookies(world, "anonymous"),
        f"/my/groups/{world.group_a}": cookies(world, "representative"),
        "/my/calendar": cookies(world, "member"),
        f"/book?room={hall.room_id}&date={hall.day.isoformat()}&period=20": cookies(
            world, "member"
        ),
        f"/manage/facilities/{hall.facility_id}/book": manager,
        f"/manage/facilities/{hall.facility_id}/blocks": manager,
        f"/manage/facilities/{hall.facility_id}/notices": manager,
        f"/manage/bookings/{booking}": manager,
    }
    pages = {}
    for path, headers in wanted.items():
        response = await client.get(path, headers={"Cookie": headers["Cookie"]})
        assert response.status_code == 200, (path, response.status_code)
        pages[path] = response.text
    return pages


async def test_every_text_field_of_the_forms_is_as_long_as_the_apis(
    world: World, hall: Hall, client: httpx.AsyncClient
) -> None:
    seen = set()
    for path, page in (await _pages(world, hall, client)).items():
        for name, maxlength in _text_inputs(page).items():
            key = "feed name" if path == "/my/calendar" and name == "name" else name
            key = "forgotten login" if path == "/password/forgot" and name == "login" else key
            key = re.sub(r"^m\d+_", "m0_", key)  # the registration's roster rows
            if key in FORM_OWN:
                assert maxlength == FORM_OWN[key], (path, name, maxlength)
                seen.add(key)
                continue
            assert key in FIELDS, f"{path}: a text field {name} this test does not know"
            (struct, attribute), column = FIELDS[key]
            api = _api_limit(struct, attribute) if struct and attribute else None
            stored = column.type.length if column is not None else None
            if column is not None:
                assert isinstance(column.type, String)
            assert maxlength is not None, f"{path}: {name} has no maxlength"
            assert maxlength == (api or stored), (path, name, maxlength, api, stored)
            if api and stored:
                assert api <= stored, (name, api, stored)
            assert stored is None or maxlength <= stored, (path, name, maxlength, stored)
            seen.add(key)
    assert {
        "feed name",
        "event_name",
        "payment_method",
        "rep_name",
        "note",
        "body_ja",
        "skip",
    } <= seen


CONTROLS = ("Line\nbreak", "tab\there", "nul\x00", "del\x7f", "sep\u2028arator")


@pytest.mark.parametrize("typed", CONTROLS)
async def test_a_feed_name_with_a_control_character_is_refused_beside_its_field(
    world: World, client: httpx.AsyncClient, session: AsyncSession, typed: str
) -> None:
    before = await footprint(session)
    shown = await client.post(
        "/my/calendar",
        data={
            "target": f"group:{world.group_a}",
            "name": typed,
            CSRF_FORM_FIELD: token(world, "member"),
        },
        headers=cookies(world, "member", lang="en"),
    )
    assert shown.status_code == 422, shown.text
    assert field_error(shown.text, "name") == (
        "Line breaks, tabs and other control characters cannot be used here."
    )
    assert not changes(before, await footprint(session))


async def test_a_feed_name_longer_than_the_apis_is_refused_and_one_as_long_is_taken(
    world: World, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    limit = _api_limit(FeedIn, "name")
    assert limit == 60
    form = {"target": f"group:{world.group_a}", CSRF_FORM_FIELD: token(world, "member")}
    headers = cookies(world, "member", lang="en")
    before = await footprint(session)
    refused = await client.post(
        "/my/calendar", data={**form, "name": "長" * (limit + 1)}, headers=headers
    )
    assert refused.status_code == 422, refused.text
    assert field_error(refused.text, "name") == f"At most {limit} characters."
    assert input_value(refused.text, "name") == "長" * (limit + 1)
    assert not changes(before, await footprint(session))
    taken = await client.post("/my/calendar", data={**form, "name": "長" * limit}, headers=headers)
    assert taken.status_code == 201, taken.text
    assert changes(before, await footprint(session)).keys() >= {"calendar_feeds"}


async def test_an_event_name_with_a_line_break_is_refused_on_the_booking_form(
    world: World, hall: Hall, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    before = await footprint(session)
    shown = await client.post(
        "/book",
        data={
            "room": str(hall.room_id),
            "date": hall.day.isoformat(),
            "group_id": str(world.group_a),
            "periods": ["20"],
            "purpose": "meeting",
            "headcount": "10",
            "event_name": "合唱\r\n練習",
            "request_key": "control-test",
            CSRF_FORM_FIELD: token(world, "member"),
        },
        headers=cookies(world, "member"),
    )
    assert shown.status_code == 422, shown.text
    assert field_error(shown.text, "event_name") == "改行やタブなどの制御文字は使えません。"
    assert not changes(before, await footprint(session))


@pytest.mark.parametrize("number", [str(2**31), str(2**63), "99999999999"])
async def test_an_id_past_its_column_in_a_form_is_refused_not_a_500(
    world: World, client: httpx.AsyncClient, session: AsyncSession, number: str
) -> None:
    """The calendar form's target is `group:<id>`: 2^31 overflowed PostgreSQL's INTEGER."""
    before = await footprint(session)
    shown = await client.post(
        "/my/calendar",
        data={"target": f"group:{number}", CSRF_FORM_FIELD: token(world, "member")},
        headers=cookies(world, "member", lang="en"),
    )
    assert shown.status_code in {400, 404, 422}, shown.status_code
    assert not changes(before, await footprint(session))
