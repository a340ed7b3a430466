"""The registration desk's pages over HTTP (the browser journey is in tests/browser): the card
issued on activation and its PDF, renewal from 1 December, and every refusal shown on the
page in Japanese and English, a 4xx that changed nothing.
"""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime

import httpx
import pytest
from pypdf import PdfReader
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts import groups
from booking.accounts.auth import CSRF_FORM_FIELD, SESSION_COOKIE
from booking.accounts.models import Group, GroupStatus
from booking.accounts.sessions import open_session
from booking.clock import FrozenClock
from tests.pages.browsing import alerts, changes, cookies, field_error, footprint, token
from tests.people import World


def _text(pdf: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


async def _post(
    client: httpx.AsyncClient, world: World, path: str, form: dict[str, str], lang: str = "ja"
) -> httpx.Response:
    client.cookies.clear()
    return await client.post(
        path,
        data={**form, CSRF_FORM_FIELD: token(world, "manager_here")},
        headers=cookies(world, "manager_here", lang=lang),
    )


async def test_activation_shows_the_card_number_and_prints_the_card(
    world: World, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    desk = f"/manage/registrations/{world.centre_group}"
    page = await client.get(desk, headers=cookies(world, "manager_here"))
    assert "確認する書類" in page.text
    assert "こども文化センターの登録申請書" in page.text  # the centre's own group
    assert "card.pdf" not in page.text  # pending: no card yet
    done = await _post(client, world, f"{desk}/activate", {})
    assert done.status_code == 303
    assert done.headers["location"] == f"{desk}?done=activate"
    client.cookies.clear()
    shown = await client.get(done.headers["location"], headers=cookies(world, "manager_here"))
    card = (await session.get_one(Group, world.centre_group, populate_existing=True)).card_number
    assert card
    assert f'<p class="card-number">{card}</p>' in shown.text
    assert "有効にしました。カードを発行しました。" in shown.text
    # The page's link to the card is followed: a PDF whose text has the number and the group.
    link = re.search(r'href="(/manage/registrations/\d+/card\.pdf\?lang=ja)"', shown.text)
    assert link
    client.cookies.clear()
    pdf = await client.get(link[1], headers=cookies(world, "manager_here"))
    assert pdf.headers["content-type"] == "application/pdf"
    text = _text(pdf.content)
    assert f"{card[:3]} {card[3:]}" in text
    assert "子ども会こまどり" in text
    assert "利用者登録カード" in text
    assert "2027年3月31日" in text  # valid to the end of the fiscal year
    client.cookies.clear()
    english = await client.get(f"{desk}/card.pdf?lang=en", headers=cookies(world, "manager_here"))
    assert "Registration card" in _text(english.content)
    assert "31 Mar 2027" in _text(english.content)


async def test_renewal_from_the_first_of_december(
    world: World, client: httpx.AsyncClient, session: AsyncSession, clock: FrozenClock
) -> None:
    """Group A's card runs to 31 March 2027: renewal opens on 1 December 2026 (Tokyo)."""
    path = f"/manage/registrations/{world.group_a}/renew"
    for at, status in (
        (datetime(2026, 11, 30, 14, 59, tzinfo=UTC), 422),  # 23:59 on 30 November in Tokyo
        (datetime(2026, 11, 30, 15, 0, tzinfo=UTC), 303),  # 00:00 on 1 December
    ):
        clock.set(at)
        opened = await open_session(session, clock, world.settings, world.user_ids["admin"])
        await session.commit()
        before = await footprint(session)
        client.cookies.clear()
        answer = await client.post(
            path,
            data={CSRF_FORM_FIELD: opened.csrf_token},
            headers={"Cookie": f"{SESSION_COOKIE}={opened.cookie_value}"},
        )
        assert answer.status_code == status, answer.text
        if status == 422:
            assert alerts(answer.text) == ["更新の受付は12月1日からです。"]
            assert not changes(before, await footprint(session))
    group = await session.get_one(Group, world.group_a, populate_existing=True)
    assert group.valid_until is not None
    assert group.valid_until.isoformat() == "2028-03-31"


@pytest.mark.parametrize(
    ("action", "form", "field", "words"),
    [
        (
            "suspend",
            {"reason": "書類\nの不備"},
            "reason",
            (
                "改行やタブなどの制御文字は使えません。",
                "Line breaks, tabs and other control characters cannot be used here.",
            ),
        ),
        ("suspend", {"reason": ""}, "reason", ("入力してください。", "Please fill this in.")),
        (
            "suspend",
            {"reason": "あ" * 201},
            "reason",
            ("200文字以内で入力してください。", "At most 200 characters."),
        ),
        ("contact", {"name": ""}, "name", ("入力してください。", "Please fill this in.")),
    ],
)
async def test_a_refused_form_says_why_beside_its_field(
    world: World,
    client: httpx.AsyncClient,
    session: AsyncSession,
    action: str,
    form: dict[str, str],
    field: str,
    words: tuple[str, str],
) -> None:
    path = f"/manage/registrations/{world.group_a}/{action}"
    for lang, said in zip(("ja", "en"), words, strict=True):
        before = await footprint(session)
        refused = await _post(client, world, path, form, lang)
        assert refused.status_code == 422, refused.text
        assert field_error(refused.text, field) == said
        assert not changes(before, await footprint(session))
    group = await session.get_one(Group, world.group_a, populate_existing=True)
    assert group.status is GroupStatus.ACTIVE


async def test_a_service_refusal_is_shown_in_the_pages_language(
    world: World, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """A phone that is not one (the API's own pattern) and a roster that would be too small."""
    contact = f"/manage/registrations/{world.group_a}/contact"
    bad_phone = await _post(client, world, contact, {"name": "川崎合唱団", "phone": "電話"})
    assert bad_phone.status_code == 422
    assert alerts(bad_phone.text)[0].startswith("この値は使えません。")
    member = world.member_ids["member"]
    remove = f"/manage/registrations/{world.group_a}/members/{member}/remove"
    for lang, words in (
        ("ja", "構成員の人数が足りません。"),
        ("en", "Too few members for this registration."),
    ):
        before = await footprint(session)
        refused = await _post(client, world, remove, {}, lang)
        assert refused.status_code == 422
        assert alerts(refused.text) == [words]
        assert not changes(before, await footprint(session))


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("q=%E5%90%88%0A%E5%94%B1", "q"),
        ("q=" + "a" * 101, "q"),
        ("page=0", "page"),
        ("page=abc", "page"),
        ("page=99999999999", "page"),
    ],
)
async def test_a_bad_search_is_a_400_naming_its_field(
    world: World, client: httpx.AsyncClient, query: str, field: str
) -> None:
    client.cookies.clear()
    answer = await client.get(
        f"/manage/registrations?{query}", headers=cookies(world, "manager_here")
    )
    assert answer.status_code == 400
    assert answer.headers["content-type"].startswith("text/html")
    assert f'<a href="#f-{field}">' in answer.text  # the summary of errors names it
    assert "確認待ち" not in answer.text  # and nothing was searched


async def test_the_representative_is_handed_on_only_to_someone_with_a_login(
    world: World, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    members = await groups.roster(session, world.group_a)
    without_login = next(m for m in members if m.user_id is None)
    path = f"/manage/registrations/{world.group_a}/members/{without_login.id}/representative"
    for lang, words in (
        ("ja", "新しい代表者にはログインが必要です。先にメールアドレスを登録してください。"),
        ("en", "the new representative needs a login: give them an e-mail address first"),
    ):
        before = await footprint(session)
        refused = await _post(client, world, path, {}, lang)
        assert refused.status_code == 422
        assert alerts(refused.text) == [words]
        assert not changes(before, await footprint(session))
    # The member with a login takes the role; the page says so and the history shows it.
    done = await _post(
        client,
        world,
        f"/manage/registrations/{world.group_a}/members/"
        f"{world.member_ids['member']}/representative",
        {},
    )
    assert done.status_code == 303
    client.cookies.clear()
    shown = await client.get(done.headers["location"], headers=cookies(world, "manager_here"))
    assert "代表者を変更しました。" in shown.text
    assert "代表者の変更" in shown.text  # the history's line
