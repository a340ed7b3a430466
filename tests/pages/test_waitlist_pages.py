"""The wait list's pages (キャンセル待ち): a taken slot's line on the grid, the booking form and
the desk's board; joining from the join form, the group's lines with their places, leaving;
an offer's mail that leads to a page which exists, the notice on the group's pages, accepting
(a booking) and declining; every refusal beside its field in the visitor's language."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts import groups
from booking.accounts.auth import CSRF_FORM_FIELD
from booking.accounts.sessions import open_session
from booking.clock import FrozenClock
from booking.notifications.models import OutboxMessage
from booking.pages.i18n import Texts
from booking.waitlist.models import EntryStatus, OfferStatus, WaitlistEntry, WaitlistOffer
from tests.pages.browsing import alerts, cookies, field_error, token
from tests.people import PASSWORD, World, principal_as, registration
from tests.places import Hall


def _hall_cookies(hall: Hall, lang: str | None = None) -> dict[str, str]:
    jar = hall.manager["Cookie"] + (f"; lang={lang}" if lang else "")
    return {"Cookie": jar}


async def _book(
    client: httpx.AsyncClient, world: World, hall: Hall, role: str = "member", period: str = "10"
) -> int:
    client.cookies.clear()
    group = world.group_a if role in {"member", "representative"} else world.group_b
    made = await client.post(
        "/api/v1/bookings",
        json={
            "group_id": group,
            "room_id": hall.room_id,
            "use_date": hall.day.isoformat(),
            "period_codes": [period],
            "purpose": "meeting",
            "headcount": 10,
        },
        headers=world.headers(role),
    )
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


async def _post(
    client: httpx.AsyncClient,
    world: World,
    role: str,
    path: str,
    form: dict[str, Any] | None = None,
    lang: str | None = None,
) -> httpx.Response:
    client.cookies.clear()
    return await client.post(
        path,
        data={**(form or {}), CSRF_FORM_FIELD: token(world, role)},
        headers=cookies(world, role, lang=lang),
    )


async def _get(
    client: httpx.AsyncClient, world: World, role: str, path: str, lang: str | None = None
) -> httpx.Response:
    client.cookies.clear()
    return await client.get(path, headers=cookies(world, role, lang=lang))


async def _join(
    client: httpx.AsyncClient,
    world: World,
    hall: Hall,
    role: str = "other_representative",
    periods: tuple[str, ...] = ("10",),
    lang: str | None = None,
    group: int | None = None,
) -> httpx.Response:
    if group is None:
        group = world.group_b if role == "other_representative" else world.group_a
    return await _post(
        client,
        world,
        role,
        "/my/waitlist",
        {
            "room": str(hall.room_id),
            "date": hall.day.isoformat(),
            "group_id": str(group),
            "periods": list(periods),
            "request_key": f"join-{role}-{'-'.join(periods)}",
        },
        lang,
    )


async def _third_group(session: AsyncSession, world: World, clock: FrozenClock) -> int:
    """A third active group, its representative logged in as the role "third"."""
    made = await groups.register(
        session,
        clock,
        world.settings,
        None,
        registration("高津俳句の会", "rep-c@example.jp", password=PASSWORD),
        None,
    )
    admin = await principal_as(session, world, "admin")
    await groups.activate(session, clock, world.settings, admin, made.id, None)
    rep = next(m for m in await groups.roster(session, made.id) if m.user_id)
    assert rep.user_id is not None
    world.sessions["third"] = await open_session(session, clock, world.settings, rep.user_id)
    await session.commit()
    return made.id


async def _offer_to_b(
    client: httpx.AsyncClient, world: World, hall: Hall, session: AsyncSession
) -> WaitlistOffer:
    """Group A's booking of the morning cancelled while group B waits: B's offer."""
    booking = await _book(client, world, hall)
    assert (await _join(client, world, hall)).status_code == 303
    cancelled = await _post(client, world, "member", f"/my/bookings/{booking}/cancel")
    assert cancelled.status_code == 303, cancelled.text
    await session.rollback()
    offer = await session.scalar(
        select(WaitlistOffer).where(WaitlistOffer.group_id == world.group_b)
    )
    assert offer is not None
    assert offer.status is OfferStatus.OPEN
    return offer


async def test_a_taken_slot_shows_its_line_in_the_api_the_grid_the_form_and_the_board(
    client: httpx.AsyncClient, world: World, hall: Hall
) -> None:
    await _book(client, world, hall)
    day = hall.day.isoformat()
    # The booking form of that day offers the wait list for the taken morning.
    form = await _get(
        client, world, "other_representative", f"/book?room={hall.room_id}&date={day}"
    )
    assert f'href="/my/waitlist/join?room={hall.room_id}&amp;date={day}"' in form.text
    join_page = await _get(
        client,
        world,
        "other_representative",
        f"/my/waitlist/join?room={hall.room_id}&date={day}&period=10",
    )
    assert join_page.status_code == 200
    assert "キャンセル待ちに登録" in join_page.text
    assert re.search(
        r'<input type="checkbox" id="p-10" name="periods" value="10" checked>', join_page.text
    )
    assert "午前 09:00–12:00 · 予約済み（待ち0組）" in join_page.text

    joined = await _join(client, world, hall)
    assert joined.status_code == 303, field_error(joined.text, "periods") or alerts(joined.text)
    assert joined.headers["location"] == "/my/waitlist?joined=1"

    client.cookies.clear()
    answer = await client.get(
        "/api/v1/availability", params={"room": str(hall.room_id), "from": day, "to": day}
    )
    slots = {s["period"]: s for s in answer.json()["rooms"][0]["days"][0]["slots"]}
    assert slots["10"] == {"period": "10", "state": "booked", "waiting": 1}
    assert "waiting" not in slots["20"]  # a free slot has no line

    grid = await client.get(
        "/search",
        params={"from": day, "to": day, "view": "grid", "kind": "civic_hall"},
        headers={"Cookie": "lang=en"},
    )
    link = f'href="/my/waitlist/join?room={hall.room_id}&amp;date={day}&amp;period=10"'
    assert link in grid.text
    cell = grid.text[grid.text.index(link) :]
    cell = cell[: cell.index("</a>")]
    assert "<small>1</small>" in cell
    assert "1 group waiting" in cell

    form = await _get(client, world, "member", f"/book?room={hall.room_id}&date={day}", lang="en")
    assert "Morning 09:00–12:00 · Taken (1 group waiting)" in form.text

    board = await client.get(
        f"/manage/facilities/{hall.facility_id}?date={day}", headers=_hall_cookies(hall, "en")
    )
    assert board.status_code == 200
    assert "1 group waiting" in board.text


async def test_the_lines_show_each_groups_place_and_a_group_may_leave(
    client: httpx.AsyncClient,
    world: World,
    hall: Hall,
    session: AsyncSession,
    clock: FrozenClock,
) -> None:
    third = await _third_group(session, world, clock)
    await _book(client, world, hall, role="other_representative")
    assert (await _join(client, world, hall, role="member")).status_code == 303
    clock.advance(timedelta(minutes=1))
    assert (await _join(client, world, hall, role="third", group=third)).status_code == 303
    page = await _get(client, world, "member", "/my/waitlist?joined=1", lang="en")
    assert "Your group is on the wait list." in page.text
    assert "Your group is next in line." in page.text
    second = await _get(client, world, "third", "/my/waitlist")
    assert "順番：2番目" in second.text
    client.cookies.clear()
    day = hall.day.isoformat()
    answer = await client.get(
        "/api/v1/availability", params={"room": str(hall.room_id), "from": day, "to": day}
    )
    assert answer.json()["rooms"][0]["days"][0]["slots"][0] == {
        "period": "10",
        "state": "booked",
        "waiting": 2,
    }
    entry = await session.scalar(
        select(WaitlistEntry).where(WaitlistEntry.group_id == world.group_a)
    )
    assert entry is not None
    left = await _post(client, world, "member", f"/my/waitlist/{entry.id}/leave")
    assert left.status_code == 303
    assert left.headers["location"] == "/my/waitlist?left=1"
    await session.refresh(entry)
    assert entry.status is EntryStatus.LEFT
    page = await _get(client, world, "member", "/my/waitlist")
    assert "キャンセル待ちをしている枠はありません" in page.text
    assert "次の順番です。" in (await _get(client, world, "third", "/my/waitlist")).text
    # Leaving twice: said on the page, in Japanese.
    again = await _post(client, world, "member", f"/my/waitlist/{entry.id}/leave")
    assert again.status_code == 422
    assert alerts(again.text) == ["このキャンセル待ちはすでに終了しています。"]


async def test_joining_is_refused_beside_its_field(
    client: httpx.AsyncClient, world: World, hall: Hall
) -> None:
    await _book(client, world, hall)
    free = await _join(client, world, hall, periods=("20",))
    assert free.status_code == 422
    assert field_error(free.text, "periods") == (
        "この枠は空いています。キャンセル待ちではなく予約してください。"
    )
    assert (await _join(client, world, hall)).status_code == 303
    twice = await _join(client, world, hall, periods=("10",), lang="en")
    # The same form sent again (its request key): the first answer, not a second entry.
    assert twice.status_code == 303
    other_key = await _post(
        client,
        world,
        "other_representative",
        "/my/waitlist",
        {
            "room": str(hall.room_id),
            "date": hall.day.isoformat(),
            "group_id": str(world.group_b),
            "periods": ["10"],
            "request_key": "another-form",
        },
        "en",
    )
    assert other_key.status_code == 422
    assert field_error(other_key.text, "periods") == (
        "Your group is already on the wait list for this slot."
    )
    nothing = await _post(
        client,
        world,
        "other_representative",
        "/my/waitlist",
        {"room": str(hall.room_id), "date": hall.day.isoformat(), "group_id": str(world.group_b)},
    )
    assert nothing.status_code == 422
    assert field_error(nothing.text, "periods") == "区分を1つ以上選んでください。"


async def test_an_offer_mail_leads_to_the_wait_list_and_the_offer_is_accepted(
    client: httpx.AsyncClient, world: World, hall: Hall, session: AsyncSession
) -> None:
    offer = await _offer_to_b(client, world, hall, session)
    mail = await session.scalar(
        select(OutboxMessage)
        .where(OutboxMessage.template == "waitlist_offer")
        .order_by(OutboxMessage.id.desc())
    )
    assert mail is not None
    links = {word for word in mail.body_text.split() if word.startswith("http")}
    assert links == {f"{world.settings.public_url.rstrip('/')}/my/waitlist"}
    (link,) = links
    path = httpx.URL(link).path
    page = await _get(client, world, "other_representative", path, lang="en")
    assert page.status_code == 200
    assert f'href="/my/waitlist/offers/{offer.id}"' in page.text
    assert "Freed and offered to your group: accept by" in page.text
    # The group's bookings page says so too, with a link to the offer.
    bookings = await _get(client, world, "other_representative", "/my/bookings")
    assert "キャンセル待ちの枠が空きました" in bookings.text
    assert f'href="/my/waitlist/offers/{offer.id}"' in bookings.text
    # Another group sees neither.
    assert "/my/waitlist/offers/" not in (await _get(client, world, "member", "/my/bookings")).text
    shown = await _get(client, world, "other_representative", f"/my/waitlist/offers/{offer.id}")
    assert shown.status_code == 200
    deadline = Texts("ja", world.settings.tz).moment(offer.expires_at)
    assert f"{deadline} までにお申し込みください" in shown.text

    missing = await _post(
        client,
        world,
        "other_representative",
        f"/my/waitlist/offers/{offer.id}/accept",
        {"purpose": "meeting"},
    )
    assert missing.status_code == 422
    assert field_error(missing.text, "headcount") == "入力してください。"
    accepted = await _post(
        client,
        world,
        "other_representative",
        f"/my/waitlist/offers/{offer.id}/accept",
        {"purpose": "meeting", "headcount": "12"},
    )
    assert accepted.status_code == 303, alerts(accepted.text)
    location = accepted.headers["location"]
    assert re.fullmatch(r"/my/bookings/\d+\?done=1", location)
    booking = await _get(client, world, "other_representative", location, lang="en")
    assert "Your booking is made." in booking.text
    assert "Confirmed" in booking.text
    # Done: no notice any more, and the offer page says how it ended.
    assert (
        "/my/waitlist/offers/"
        not in (await _get(client, world, "other_representative", "/my/bookings")).text
    )
    ended = await _get(
        client, world, "other_representative", f"/my/waitlist/offers/{offer.id}", "en"
    )
    assert "Accepted: booked" in ended.text
    again = await _post(
        client,
        world,
        "other_representative",
        f"/my/waitlist/offers/{offer.id}/accept",
        {"purpose": "meeting", "headcount": "12"},
    )
    assert again.status_code == 422
    assert alerts(again.text) == ["このご案内はすでに終了しています（予約済み・辞退・期限切れ）。"]


async def test_an_offer_declined_or_past_its_deadline(
    client: httpx.AsyncClient, world: World, hall: Hall, session: AsyncSession, clock: FrozenClock
) -> None:
    offer = await _offer_to_b(client, world, hall, session)
    clock.set(offer.expires_at + timedelta(seconds=1))
    # Hours later: they log in again (a session ends after two idle hours).
    for role in ("other_representative", "member"):
        world.sessions[role] = await open_session(
            session, clock, world.settings, world.user_ids[role]
        )
    await session.commit()
    late = await _post(
        client,
        world,
        "other_representative",
        f"/my/waitlist/offers/{offer.id}/accept",
        {"purpose": "meeting", "headcount": "12"},
    )
    assert late.status_code == 422
    assert alerts(late.text) == ["このご案内の期限を過ぎました。"]
    clock.set(offer.expires_at - timedelta(minutes=1))
    # Not the group's: not found, and nothing declined.
    stranger = await _post(client, world, "member", f"/my/waitlist/offers/{offer.id}/decline")
    assert stranger.status_code == 404
    assert '<p class="alert" role="alert">そのご案内は見つかりません。</p>' in stranger.text
    declined = await _post(
        client, world, "other_representative", f"/my/waitlist/offers/{offer.id}/decline"
    )
    assert declined.status_code == 303
    assert declined.headers["location"] == "/my/waitlist?declined=1"
    await session.refresh(offer)
    assert offer.status is OfferStatus.DECLINED
    page = await _get(client, world, "other_representative", "/my/waitlist?declined=1")
    assert "辞退しました。枠は次の順番の団体にご案内します。" in page.text
