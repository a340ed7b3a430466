"""The desk's notices and estimates pages over HTTP, and what the public facility page then
shows: the current notices with their dates (English where given), estimates marked with ≈
until confirmed, then who (a role, never a name) confirmed them and when."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.auth import CSRF_FORM_FIELD
from booking.inventory.models import Facility, Room
from booking.pages.manage_estimates import ADDRESS_MAX
from tests.pages.browsing import changes, cookies, field_error, footprint, token
from tests.people import World
from tests.places import Hall, template_room


def _hall_cookies(hall: Hall) -> dict[str, str]:
    return {"Cookie": hall.manager["Cookie"]}


async def _post_notice(
    client: httpx.AsyncClient, hall: Hall, form: dict[str, str]
) -> httpx.Response:
    client.cookies.clear()
    return await client.post(
        f"/manage/facilities/{hall.facility_id}/notices",
        data={**form, CSRF_FORM_FIELD: hall.manager["X-CSRF-Token"]},
        headers=_hall_cookies(hall),
    )


async def test_a_posted_notice_shows_on_the_facility_page_in_both_languages(
    client: httpx.AsyncClient, hall: Hall, world: World
) -> None:
    posted = await _post_notice(
        client,
        hall,
        {
            "title_ja": "空調工事のお知らせ",
            "title_en": "Air conditioning works",
            "body_ja": "11月25日から12月3日まで工事をします。\n騒音にご注意ください。",
            "starts_on": "2026-11-25",
            "ends_on": "2026-12-03",
        },
    )
    assert posted.status_code == 303, posted.text
    assert posted.headers["location"] == f"/manage/facilities/{hall.facility_id}/notices?posted=1"
    client.cookies.clear()
    page = (await client.get(f"/facilities/{hall.facility_id}")).text
    assert "空調工事のお知らせ" in page
    assert "2026年11月25日(水)" in page
    assert "2026年12月3日(木)" in page
    assert "11月25日から12月3日まで工事をします。<br>騒音にご注意ください。" in page
    english = (
        await client.get(f"/facilities/{hall.facility_id}", headers={"Cookie": "lang=en"})
    ).text
    assert "Air conditioning works" in english
    # No English text: the Japanese, marked as Japanese for screen readers.
    assert '<p lang="ja">11月25日から12月3日まで工事をします。<br>' in english
    desk = await client.get(
        f"/manage/facilities/{hall.facility_id}/notices", headers=_hall_cookies(hall)
    )
    assert "掲載中" in desk.text
    notice_id = re.search(r"/manage/notices/(\d+)/withdraw", desk.text)
    assert notice_id is not None
    edit = await client.get(f"/manage/notices/{notice_id[1]}", headers=_hall_cookies(hall))
    assert edit.status_code == 200
    assert 'value="Air conditioning works"' in edit.text


async def test_a_bad_notice_comes_back_with_its_errors_and_nothing_is_written(
    client: httpx.AsyncClient, hall: Hall, session: AsyncSession
) -> None:
    before = await footprint(session)
    refused = await _post_notice(
        client,
        hall,
        {
            "title_ja": "題名\tタブ",
            "body_ja": "本文",
            "starts_on": "2026-12-05",
            "ends_on": "2026-12-04",
        },
    )
    assert refused.status_code == 422
    assert field_error(refused.text, "title_ja") == ("改行やタブなどの制御文字は使えません。")
    assert changes(before, await footprint(session)) == {}
    # The second check (the dates) is the service's, reached once the text is clean.
    dated = await _post_notice(
        client,
        hall,
        {"title_ja": "題名", "body_ja": "本文", "starts_on": "2026-12-05", "ends_on": "2026-12-04"},
    )
    assert dated.status_code == 422
    assert field_error(dated.text, "ends_on")
    assert changes(before, await footprint(session)) == {}


async def test_a_confirmed_estimate_says_who_and_when_on_the_facility_page(
    client: httpx.AsyncClient, hall: Hall, world: World
) -> None:
    client.cookies.clear()
    before = (await client.get(f"/facilities/{hall.facility_id}")).text
    assert "施設の職員が確認" not in before
    assert "市の管理者が確認" not in before
    desk = await client.get(
        f"/manage/facilities/{hall.facility_id}/estimates", headers=cookies(world, "admin")
    )
    assert desk.status_code == 200
    assert f'value="room:{hall.room_id}"' in desk.text
    confirmed = await client.post(
        f"/manage/facilities/{hall.facility_id}/estimates",
        data={
            "target": f"room:{hall.room_id}",
            "field": "fees",
            CSRF_FORM_FIELD: token(world, "admin"),
        },
        headers=cookies(world, "admin"),
    )
    assert confirmed.status_code == 303, confirmed.text
    client.cookies.clear()
    after = (await client.get(f"/facilities/{hall.facility_id}")).text
    assert "区分ごとの利用料金：2026年11月25日(水)に市の管理者が確認" in after
    assert "管理者</" not in after  # the role in words, never the administrator's name


async def test_a_manager_corrects_an_estimated_capacity_at_the_desk(
    client: httpx.AsyncClient, hall: Hall, session: AsyncSession
) -> None:
    """The hall's manager types the right capacity (full-width digits count): the page then
    shows it without ≈ and says the facility's staff confirmed it; a bad number changes
    nothing and comes back beside the field."""
    rooms = (
        await session.scalars(select(Room).where(Room.facility_id == hall.facility_id, Room.active))
    ).all()
    room_id, capacity = next((r.id, r.capacity) for r in rooms if "capacity" in r.estimated_fields)
    client.cookies.clear()
    page = (await client.get(f"/facilities/{hall.facility_id}")).text
    assert re.search(rf'id="room-{room_id}".*?定員{capacity}人 <abbr', page, re.DOTALL)
    before = await footprint(session)
    refused = await client.post(
        f"/manage/facilities/{hall.facility_id}/estimates",
        data={
            "target": f"room:{room_id}",
            "field": "capacity",
            "value": "0",
            CSRF_FORM_FIELD: hall.manager["X-CSRF-Token"],
        },
        headers=_hall_cookies(hall),
    )
    assert refused.status_code == 422
    assert field_error(refused.text, "value") == "1以上で入力してください。"
    assert changes(before, await footprint(session)) == {}
    done = await client.post(
        f"/manage/facilities/{hall.facility_id}/estimates",
        data={
            "target": f"room:{room_id}",
            "field": "capacity",
            "value": "４２",
            CSRF_FORM_FIELD: hall.manager["X-CSRF-Token"],
        },
        headers=_hall_cookies(hall),
    )
    assert done.status_code == 303, done.text
    client.cookies.clear()
    page = (await client.get(f"/facilities/{hall.facility_id}")).text
    section = page[page.index(f'id="room-{room_id}"') :]
    section = section[: section.index("</section>")]
    assert "定員42人" in section
    assert "定員42人 <abbr" not in section
    assert "定員：2026年11月25日(水)に施設の職員が確認" in section


async def test_an_estimated_address_is_corrected_within_the_column_s_length(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    assert Facility.__table__.c.address.type.length == ADDRESS_MAX
    facility_id = next(
        f.id
        for f in (await session.scalars(select(Facility).where(Facility.active))).all()
        if "address" in f.estimated_fields
    )
    page = await client.get(
        f"/manage/facilities/{facility_id}/estimates", headers=cookies(world, "admin")
    )
    assert f'maxlength="{ADDRESS_MAX}"' in page.text
    before = await footprint(session)
    refused = await client.post(
        f"/manage/facilities/{facility_id}/estimates",
        data={
            "target": "facility",
            "field": "address",
            "value": "あ" * (ADDRESS_MAX + 1),
            CSRF_FORM_FIELD: token(world, "admin"),
        },
        headers=cookies(world, "admin"),
    )
    assert refused.status_code == 422
    assert field_error(refused.text, "value") == f"{ADDRESS_MAX}文字以内で入力してください。"
    assert changes(before, await footprint(session)) == {}


async def test_an_administrator_confirms_a_template_room_at_the_desk(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    """A room from its kind's template is confirmed as a whole, in words: its fees lose the ≈
    and the facility page says the city's administrator confirmed the room and its fees."""
    room = await template_room(session)
    facility_id, room_id = room.facility_id, room.id

    def section(page: str) -> str:
        found = page[page.index(f'id="room-{room_id}"') :]
        return found[: found.index("</section>")]

    fee_estimate = re.compile(r"￥[\d,]+ <abbr")  # a fee with ≈ (a period's times have theirs)
    client.cookies.clear()
    assert fee_estimate.search(section((await client.get(f"/facilities/{facility_id}")).text))
    desk = await client.get(
        f"/manage/facilities/{facility_id}/estimates", headers=cookies(world, "admin")
    )
    assert desk.status_code == 200
    card = desk.text.split(f'value="room:{room_id}"')[0].rsplit("<li>", 1)[1]
    assert "部屋と利用料金</h2>" in card
    assert "部屋全体が推定です。" in card
    english = await client.get(
        f"/manage/facilities/{facility_id}/estimates", headers=cookies(world, "admin", lang="en")
    )
    assert "The room and its fees</h2>" in english.text
    confirmed = await client.post(
        f"/manage/facilities/{facility_id}/estimates",
        data={
            "target": f"room:{room_id}",
            "field": "estimated",
            CSRF_FORM_FIELD: token(world, "admin"),
        },
        headers=cookies(world, "admin"),
    )
    assert confirmed.status_code == 303, confirmed.text
    desk = await client.get(
        f"/manage/facilities/{facility_id}/estimates", headers=cookies(world, "admin")
    )
    assert f'value="room:{room_id}"' not in desk.text
    assert "部屋と利用料金：2026年11月25日(水)に市の管理者が確認" in desk.text
    client.cookies.clear()
    after = section((await client.get(f"/facilities/{facility_id}")).text)
    assert fee_estimate.search(after) is None
    assert "￥" in after
    assert "部屋と利用料金：2026年11月25日(水)に市の管理者が確認" in after
    client.cookies.clear()
    english = await client.get(f"/facilities/{facility_id}", headers={"Cookie": "lang=en"})
    assert (
        "The room and its fees, confirmed by the city&#39;s administrator on Wed, Nov 25, 2026"
        in section(english.text)
    )
