"""The pages' forms: CSRF, errors beside their fields with what was typed, the language,
security headers, and the search's bad input. Over HTTP, no browser (tests/browser has one).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.auth import CSRF_FORM_FIELD, SESSION_COOKIE
from booking.pages.web import ANON_CSRF_COOKIE
from booking.reservations.models import Booking, BookingStatus
from tests.pages.browsing import (
    alerts,
    changes,
    cookies,
    field_error,
    footprint,
    html_lang,
    input_value,
    is_checked,
    selected,
    token,
)
from tests.people import PASSWORD, World
from tests.places import Hall

FORM_EXPIRED = "フォームの有効期限が切れました。ページを読み込み直してもう一度お試しください。"


def _set_cookies(response: httpx.Response) -> dict[str, Any]:
    """The response's Set-Cookie headers, by name (SimpleCookie's morsels)."""
    jar: SimpleCookie = SimpleCookie()
    for header in response.headers.get_list("set-cookie"):
        jar.load(header)
    return dict(jar)


def _booking(hall: Hall, world: World, **changed: Any) -> dict[str, Any]:
    return {
        "room": str(hall.room_id),
        "date": hall.day.isoformat(),
        "group_id": str(world.group_a),
        "periods": ["20"],
        "purpose": "meeting",
        "headcount": "10",
        "event_name": "合唱練習",
        "request_key": "forms-test",
        **changed,
    }


async def _booking_to_cancel(client: httpx.AsyncClient, world: World, hall: Hall) -> int:
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
    return int(made.json()["id"])


# CSRF: a form of a logged-in page, posted with the session's cookie but not its token.
# Each: who posts it, the form's path and its fields (given the world, the hall and a
# booking of group A).
Made = Callable[[World, Hall, int], tuple[str, str, dict[str, Any]]]
LOGGED_IN_FORMS: dict[str, Made] = {
    "book": lambda w, h, _b: ("member", "/book", _booking(h, w)),
    "make a calendar feed": lambda w, _h, _b: (
        "member",
        "/my/calendar",
        {"target": f"group:{w.group_a}"},
    ),
    "cancel a booking": lambda _w, _h, b: ("member", f"/my/bookings/{b}/cancel", {}),
    "add a member": lambda w, _h, _b: (
        "representative",
        f"/my/groups/{w.group_a}/members",
        {"new_name": "新会員", "new_birth_date": "2001-02-03", "new_residency": "lives"},
    ),
    "log out": lambda _w, _h, _b: ("member", "/logout", {}),
}


@pytest.mark.parametrize("name", LOGGED_IN_FORMS)
async def test_a_logged_in_form_needs_its_sessions_token(
    name: str, world: World, hall: Hall, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """Without the token, with a wrong one, or with another person's: a 403 page that
    changed nothing. With the session's own token the same form works."""
    booking = await _booking_to_cancel(client, world, hall)
    role, path, form = LOGGED_IN_FORMS[name](world, hall, booking)
    other = "admin" if role == "representative" else "representative"
    for sent in (None, "", "not-the-token", token(world, other)):
        before = await footprint(session)
        fields = form if sent is None else {**form, CSRF_FORM_FIELD: sent}
        client.cookies.clear()
        refused = await client.post(path, data=fields, headers=cookies(world, role))
        assert refused.status_code == 403, (sent, refused.text)
        assert refused.headers["content-type"].startswith("text/html")
        assert FORM_EXPIRED in refused.text
        assert not changes(before, await footprint(session)), f"token {sent!r} changed rows"
    # The session lives on (a refused logout did not end it) and the booking too.
    client.cookies.clear()
    assert (await client.get("/my/groups", headers=cookies(world, role))).status_code == 200
    assert (await session.get_one(Booking, booking, populate_existing=True)).status is (
        BookingStatus.CONFIRMED
    )
    before = await footprint(session)
    client.cookies.clear()
    done = await client.post(
        path, data={**form, CSRF_FORM_FIELD: token(world, role)}, headers=cookies(world, role)
    )
    assert done.status_code in {201, 303}, done.text
    assert changes(before, await footprint(session)), "the form with its token did nothing"


async def test_the_login_form_needs_its_double_submit_token(
    world: World, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """The login form's cookie and hidden field go together: either alone, or two that
    differ, is a 403 page and no session; both together log in."""
    client.cookies.clear()
    shown = await client.get("/login?next=/my/lottery")
    assert shown.status_code == 200
    form_cookie = _set_cookies(shown)[ANON_CSRF_COOKIE]
    assert form_cookie["httponly"]
    assert form_cookie["samesite"].lower() == "strict"
    assert input_value(shown.text, CSRF_FORM_FIELD) == form_cookie.value
    assert input_value(shown.text, "next") == "/my/lottery"
    login = {"login": world.card_a, "password": PASSWORD, "next": "/my/lottery"}
    value = form_cookie.value
    for jar, field in ((None, None), (value, None), (None, value), (value, value[::-1])):
        before = await footprint(session)
        client.cookies.clear()
        headers = {"Cookie": f"{ANON_CSRF_COOKIE}={jar}"} if jar else {}
        fields = login if field is None else {**login, CSRF_FORM_FIELD: field}
        refused = await client.post("/login", data=fields, headers=headers)
        assert refused.status_code == 403, (jar, field, refused.text)
        assert FORM_EXPIRED in refused.text
        assert SESSION_COOKIE not in _set_cookies(refused)
        assert not changes(before, await footprint(session))
    client.cookies.clear()
    done = await client.post(
        "/login",
        data={**login, CSRF_FORM_FIELD: value},
        headers={"Cookie": f"{ANON_CSRF_COOKIE}={value}"},
    )
    assert done.status_code == 303, done.text
    assert done.headers["location"] == "/my/lottery"
    session_cookie = _set_cookies(done)[SESSION_COOKIE]
    assert session_cookie["httponly"]
    assert session_cookie["samesite"].lower() == "lax"
    assert session_cookie["path"] == "/"
    client.cookies.clear()
    mine = await client.get(
        "/my/groups", headers={"Cookie": f"{SESSION_COOKIE}={session_cookie.value}"}
    )
    assert mine.status_code == 200
    assert "川崎合唱団" in mine.text


async def test_the_registration_form_needs_its_double_submit_token(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """A registration that would be received (see below) is refused without the token."""
    before = await footprint(session)
    client.cookies.clear()
    refused = await client.post("/register", data=_registration(members=4))
    assert refused.status_code == 403
    assert FORM_EXPIRED in refused.text
    assert not changes(before, await footprint(session))


async def test_login_goes_on_to_our_own_pages_only(world: World, client: httpx.AsyncClient) -> None:
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example", "/my/lottery"):
        client.cookies.clear()
        done = await client.post(
            "/login",
            data={"login": world.card_a, "password": PASSWORD, "next": target, "csrf_token": "t"},
            headers={"Cookie": f"{ANON_CSRF_COOKIE}=t"},
        )
        assert done.status_code == 303, target
        location = done.headers["location"]
        assert _lands_here(location), location
        if not target.startswith("/") or target.startswith("//") or "\\" in target:
            assert location == "/my/bookings", target
    assert location == "/my/lottery"


async def test_a_failed_login_keeps_the_login_not_the_password(
    world: World, client: httpx.AsyncClient
) -> None:
    client.cookies.clear()
    failed = await client.post(
        "/login",
        data={"login": world.card_a, "password": "wrong horse battery", "csrf_token": "t"},
        headers={"Cookie": f"{ANON_CSRF_COOKIE}=t"},
    )
    assert failed.status_code == 401
    assert "利用者番号・メールアドレスまたはパスワードが正しくありません。" in failed.text
    assert input_value(failed.text, "login") == world.card_a
    assert input_value(failed.text, "password") == ""
    assert "wrong horse battery" not in failed.text
    assert SESSION_COOKIE not in _set_cookies(failed)


async def test_a_login_says_empty_fields_and_lockouts_by_their_status(
    world: World, client: httpx.AsyncClient
) -> None:
    """422 for a field left empty (nothing tried), 401 for a wrong password, 429 once the
    account is locked out after 5 failures (accounts/throttle.py)."""
    answers = []
    for password in ("", *["wrong horse battery"] * 6):
        client.cookies.clear()
        answers.append(
            await client.post(
                "/login",
                data={"login": world.card_a, "password": password, "csrf_token": "t"},
                headers={"Cookie": f"{ANON_CSRF_COOKIE}=t"},
            )
        )
    assert [a.status_code for a in answers] == [422, *[401] * 5, 429]
    assert field_error(answers[0].text, "password") == "入力してください。"
    assert alerts(answers[-1].text) == ["試行回数が多すぎます。数分待ってからお試しください。"]


# Booking with a bad headcount: the message beside the field in the page's language.
HEADCOUNT_ERRORS = [
    # Each: what was typed ("capacity+1": one more than the room holds), the message in
    # Japanese and in English.
    ("0", "1以上で入力してください。", "Enter 1 or more."),
    ("", "入力してください。", "Please fill this in."),
    ("十二", "整数で入力してください。", "Enter a whole number."),
    ("capacity+1", "部屋の定員を超えています。", "More people than the room holds."),
]


async def test_a_bad_headcount_is_shown_beside_its_field_with_what_was_typed(
    world: World, hall: Hall, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """In Japanese by default, in English with the lang cookie; nothing written."""
    event = '<script>alert("歌")</script>'
    for lang, (typed, ja, en) in itertools.product(("ja", "en"), HEADCOUNT_ERRORS):
        headcount = str(hall.capacity + 1) if typed == "capacity+1" else typed
        before = await footprint(session)
        client.cookies.clear()
        shown = await client.post(
            "/book",
            data={
                **_booking(hall, world, headcount=headcount, event_name=event),
                CSRF_FORM_FIELD: token(world, "member"),
                "charges_admission": "yes",
            },
            headers=cookies(world, "member", lang=None if lang == "ja" else lang),
        )
        assert shown.status_code == 422, (typed, shown.text)
        page = shown.text
        assert html_lang(page) == lang
        assert field_error(page, "headcount") == (ja if lang == "ja" else en), (lang, typed)
        assert 'aria-describedby="h-headcount e-headcount" aria-invalid="true"' in page
        # What was typed is in the form again, the markup escaped, and nothing was written.
        assert input_value(page, "headcount") == headcount
        assert input_value(page, "event_name") == event
        assert "<script>alert" not in page
        assert is_checked(page, "periods", "20")
        assert is_checked(page, "charges_admission", "yes")
        assert selected(page, "purpose") == "meeting"
        assert selected(page, "group_id") == str(world.group_a)
        assert input_value(page, "request_key") == "forms-test"
        assert not changes(before, await footprint(session)), typed


async def test_full_width_digits_are_a_headcount(
    world: World, hall: Hall, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """１２ typed on a Japanese keyboard is 12."""
    client.cookies.clear()
    done = await client.post(
        "/book",
        data={**_booking(hall, world, headcount="１２"), CSRF_FORM_FIELD: token(world, "member")},
        headers=cookies(world, "member"),
    )
    assert done.status_code == 303, done.text
    found = re.fullmatch(r"/my/bookings/([0-9]+)\?done=1", done.headers["location"])
    assert found, done.headers["location"]
    booking = await session.get_one(Booking, int(found[1]))
    assert booking.headcount == 12
    assert booking.event_name == "合唱練習"
    assert booking.period_codes == ["20"]


async def test_a_form_sent_again_books_once(
    world: World, hall: Hall, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """The form's request key: sent twice (a double click, a reload), one booking; sent
    again with other values (back, change, send), refused with words for it."""
    form = {**_booking(hall, world), CSRF_FORM_FIELD: token(world, "member")}
    client.cookies.clear()
    first = await client.post("/book", data=form, headers=cookies(world, "member"))
    assert first.status_code == 303, first.text
    before = await footprint(session)
    client.cookies.clear()
    again = await client.post("/book", data=form, headers=cookies(world, "member"))
    assert again.status_code == 303
    assert again.headers["location"] == first.headers["location"]
    client.cookies.clear()
    changed = await client.post(
        "/book", data={**form, "headcount": "11"}, headers=cookies(world, "member")
    )
    assert changed.status_code == 422, changed.text
    resent = "このフォームは別の内容ですでに送信されています。ページを読み込み直して"
    assert alerts(changed.text) == [resent + "もう一度お試しください。"]
    assert input_value(changed.text, "headcount") == "11"
    assert not changes(before, await footprint(session))


async def test_the_roster_tells_why_a_member_cannot_be_removed(
    world: World, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """A member may not change the roster; the representative may not remove themself."""
    before = await footprint(session)
    for role, member, message in (
        ("member", world.member_ids["member"], "団体の代表者のみが行えます。"),
        (
            "representative",
            world.member_ids["representative"],
            "代表者は削除できません。先に別の構成員を代表者にしてください。",
        ),
    ):
        client.cookies.clear()
        refused = await client.post(
            f"/my/groups/{world.group_a}/members/{member}/remove",
            data={CSRF_FORM_FIELD: token(world, role)},
            headers=cookies(world, role),
        )
        assert refused.status_code == 422, (role, refused.text)
        assert alerts(refused.text) == [message], role
    assert not changes(before, await footprint(session))


def _registration(members: int, **changed: str) -> dict[str, Any]:
    form = {
        "rows": "4",
        "kind": "group",
        "category": "general",
        "name": "中原ハイキングの会",
        "rep_name": "山田 花子",
        "rep_birth_date": "1975-04-01",
        "rep_residency": "lives",
        "rep_email": "hanako@example.jp",
        "rep_password": "secret-but-typed-here",
    }
    for i in range(members):
        form |= {
            f"m{i}_name": f"会員{i}号",
            f"m{i}_birth_date": f"199{i}-01-0{i + 1}",
            f"m{i}_residency": "works",
        }
    return form | changed


async def test_a_registration_with_too_few_members_keeps_what_was_typed(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """The rule in the page's language; every typed value but the password shown again."""
    typed = _registration(members=2, csrf_token="t")
    for lang, message in (
        ("ja", "団体登録には代表者を含め5人以上が必要です"),
        ("en", "a general group needs at least 5 members, the representative included"),
    ):
        before = await footprint(session)
        client.cookies.clear()
        shown = await client.post(
            "/register", data=typed, headers={"Cookie": f"{ANON_CSRF_COOKIE}=t; lang={lang}"}
        )
        assert shown.status_code == 422, shown.text
        page = shown.text
        assert message in alerts(page), lang
        for name in ("name", "rep_name", "rep_birth_date", "rep_email", "m0_name", "m1_birth_date"):
            assert input_value(page, name) == typed[name], name
        assert selected(page, "rep_residency") == "lives"
        assert selected(page, "m1_residency") == "works"
        assert input_value(page, "m2_name") == ""
        assert input_value(page, "rep_password") == ""
        assert typed["rep_password"] not in page
        assert not changes(before, await footprint(session))


async def test_a_registration_with_enough_members_waits_for_its_mailed_link(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """The same form with a fourth member (five with the representative) is received; it
    becomes a registration once the link mailed to the representative is used
    (tests/pages/test_password_pages.py follows it)."""
    before = await footprint(session)
    client.cookies.clear()
    done = await client.post(
        "/register",
        data=_registration(members=4, csrf_token="t"),
        headers={"Cookie": f"{ANON_CSRF_COOKIE}=t"},
    )
    assert done.status_code == 303, done.text
    assert done.headers["location"] == "/login?done=mailed"
    grown = changes(before, await footprint(session))
    assert "groups" not in grown
    assert "users" not in grown
    assert grown["pending_registrations"][1] == grown["pending_registrations"][0] + 1
    assert grown["outbox_messages"][1] == grown["outbox_messages"][0] + 1


def _lands_here(location: str) -> bool:
    """Whether a browser following this Location stays on our site: browsers read a
    backslash as a slash and drop tabs and newlines."""
    cleaned = re.sub(r"[\t\n\r]", "", location).replace("\\", "/")
    return urlsplit(urljoin("http://testserver/search", cleaned)).netloc == "testserver"


async def test_the_language_switch_sets_its_cookie_and_goes_back(
    client: httpx.AsyncClient,
) -> None:
    client.cookies.clear()
    japanese = await client.get("/search")
    assert html_lang(japanese.text) == "ja"
    assert "空き施設を探す" in japanese.text
    switched = await client.get("/lang/en?next=/search")
    assert switched.status_code == 303
    assert switched.headers["location"] == "/search"
    lang = _set_cookies(switched)["lang"]
    assert lang.value == "en"
    assert lang["path"] == "/"
    assert lang["samesite"].lower() == "lax"
    assert int(lang["max-age"]) > 300 * 24 * 3600
    client.cookies.clear()
    english = await client.get("/search", headers={"Cookie": "lang=en"})
    assert html_lang(english.text) == "en"
    assert "Find a free room" in english.text
    assert "空き施設を探す" not in english.text
    back = await client.get("/lang/ja?next=/facilities/1%3Fx%3D1")
    assert _set_cookies(back)["lang"].value == "ja"
    unknown = await client.get("/lang/fr?next=/search")
    assert _set_cookies(unknown)["lang"].value == "ja"


async def test_the_language_switch_goes_back_to_our_own_pages_only(
    client: httpx.AsyncClient,
) -> None:
    for target in (
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example/",
        "\\\\evil.example/",
        "/\t/evil.example/",
        "javascript:alert(1)",
        "evil.example",
    ):
        client.cookies.clear()
        switched = await client.get("/lang/en", params={"next": target})
        assert switched.status_code == 303, target
        location = switched.headers["location"]
        assert _lands_here(location), (target, location)
        if not target.startswith("/") or target.startswith("//"):
            assert location == "/", (target, location)


# Security headers on every kind of answer the pages give.
HEADER_PAGES = [
    ("anonymous", "/"),
    ("anonymous", "/search?from=2026-12-01&to=2026-12-02&kind=civic_hall"),
    ("anonymous", "/login"),
    ("anonymous", "/facilities/999999"),  # a 404 page
    ("anonymous", "/my/bookings"),  # a redirect to the login
    ("member", "/manage"),  # a 403 page
    ("member", "/my/bookings"),
    ("admin", "/manage"),
]


async def test_pages_carry_the_security_headers(world: World, client: httpx.AsyncClient) -> None:
    for role, path in HEADER_PAGES:
        client.cookies.clear()
        response = await client.get(path, headers=cookies(world, role))
        headers = response.headers
        policy = headers["content-security-policy"]
        directives = {d.split()[0]: d.split()[1:] for d in policy.split(";") if d.strip()}
        assert "'unsafe-inline'" not in policy, path
        assert "'unsafe-eval'" not in policy, path
        assert directives["default-src"] == ["'self'"], path
        assert directives["script-src"] == ["'self'"], path
        assert directives["style-src"] == ["'self'"], path
        assert directives["frame-ancestors"] == ["'none'"], path
        assert directives["object-src"] == ["'none'"], path
        assert headers["x-frame-options"] == "DENY", path
        assert headers["x-content-type-options"] == "nosniff", path
        assert headers["referrer-policy"] == "same-origin", path
        assert headers["cache-control"] == "no-store", path


PAGES_WITHOUT_INLINE_CODE = [
    ("anonymous", "/search?from=2026-12-01&to=2026-12-02&kind=civic_hall"),
    ("anonymous", "/search?from=2026-12-01&to=2026-12-02&kind=civic_hall&view=grid"),
    ("anonymous", "/register"),
    ("anonymous", "/facilities/{hall}"),
    ("member", "/book?room={room}&date={day}&period=20"),
    ("member", "/my/groups/{group_a}"),
    ("representative", "/my/groups/{group_a}"),
    ("member", "/my/calendar"),
    ("admin", "/manage/facilities/{hall}?view=week&date={day}"),
    ("admin", "/manage/facilities/{hall}/blocks"),
]


async def test_pages_have_no_inline_script_or_style(
    world: World, hall: Hall, client: httpx.AsyncClient
) -> None:
    """The policy refuses inline code: a page must not need any (it would break)."""
    ids = {
        "hall": hall.facility_id,
        "room": hall.room_id,
        "day": hall.day,
        "group_a": world.group_a,
    }
    for role, path in PAGES_WITHOUT_INLINE_CODE:
        client.cookies.clear()
        response = await client.get(path.format_map(ids), headers=cookies(world, role))
        assert response.status_code == 200, path
        page = response.text
        scripts = re.findall(r"<script\b[^>]*>(.*?)</script>", page, re.DOTALL)
        assert scripts == [""], path  # htmx, from /static; its settings are in a <meta>
        assert re.search(r'<script src="/static/[^"]+" defer></script>', page), path
        assert not re.search(r"<style\b", page), path
        assert not re.search(r"\sstyle=", page), path
        assert not re.search(r"\son[a-z]+=", page), path
        assert "javascript:" not in page, path


async def test_the_session_cookie_is_http_only_and_secure_over_https(
    world: World, client: httpx.AsyncClient
) -> None:
    client.cookies.clear()
    done = await client.post(
        "https://testserver/login",
        data={"login": world.card_a, "password": PASSWORD, CSRF_FORM_FIELD: "t"},
        headers={"Cookie": f"{ANON_CSRF_COOKIE}=t"},
    )
    assert done.status_code == 303, done.text
    session_cookie = _set_cookies(done)[SESSION_COOKIE]
    assert session_cookie["httponly"]
    assert session_cookie["secure"]
    assert session_cookie["samesite"].lower() == "lax"
    client.cookies.clear()
    shown = await client.get("https://testserver/login")
    assert _set_cookies(shown)[ANON_CSRF_COOKIE]["secure"]


# The search's bad input: a 400 page, the message beside the field, never a 500.
SEARCH_ERRORS = [
    # Each: the query, the field, the message in Japanese and in English.
    (
        "from=2026-12-10&to=2026-12-01",
        "to",
        "終了日が開始日より前です。",
        "The last date is before the first.",
    ),
    (
        "from=2026-12-01&to=2027-03-31",
        "to",
        "一度に検索できるのは93日までです。",
        "At most 93 days at a time.",
    ),
    ("ward=atlantis", "ward", "選択肢から選んでください。", "Choose one of the options."),
    ("kind=castle", "kind", "選択肢から選んでください。", "Choose one of the options."),
    ("purpose=duel", "purpose", "選択肢から選んでください。", "Choose one of the options."),
    ("period=99", "period", "選択肢から選んでください。", "Choose one of the options."),
    (
        "from=2026-02-30",
        "from",
        "日付は YYYY-MM-DD の形で入力してください。",
        "Enter a date as YYYY-MM-DD.",
    ),
    (
        "from=9999-12-30",
        "from",
        "日付は YYYY-MM-DD の形で入力してください。",
        "Enter a date as YYYY-MM-DD.",
    ),
    (
        "from=0001-01-01",
        "from",
        "日付は YYYY-MM-DD の形で入力してください。",
        "Enter a date as YYYY-MM-DD.",
    ),
    (
        "to=9999-12-31",
        "to",
        "日付は YYYY-MM-DD の形で入力してください。",
        "Enter a date as YYYY-MM-DD.",
    ),
    ("capacity=abc", "capacity", "整数で入力してください。", "Enter a whole number."),
    ("capacity=0", "capacity", "1以上で入力してください。", "Enter 1 or more."),
    ("capacity=99999999999", "capacity", "整数で入力してください。", "Enter a whole number."),
]


async def test_bad_search_input_is_a_400_page_with_the_message_beside_the_field(
    client: httpx.AsyncClient,
) -> None:
    for lang, (query, name, ja, en) in itertools.product(("ja", "en"), SEARCH_ERRORS):
        client.cookies.clear()
        shown = await client.get(f"/search?{query}", headers={"Cookie": f"lang={lang}"})
        assert shown.status_code == 400, (query, shown.status_code)
        assert field_error(shown.text, name) == (ja if lang == "ja" else en), (lang, query)
        typed = dict(pair.split("=") for pair in query.split("&"))
        if name in {"from", "to", "capacity"}:
            assert input_value(shown.text, name) == typed[name], query
        assert 'id="results-heading"' not in shown.text  # no results for a bad search


async def test_the_search_takes_full_width_dates_and_digits(client: httpx.AsyncClient) -> None:
    client.cookies.clear()
    found = await client.get(
        "/search?from=２０２６－１２－０１&to=２０２６－１２－０２&capacity=１２"
    )
    assert found.status_code == 200
    assert field_error(found.text, "from") is None
    assert "2026年12月1日(火) – 2026年12月2日(水)" in found.text


async def test_odd_search_input_is_never_a_500(client: httpx.AsyncClient) -> None:
    for query in (
        "day=0",
        "day=abc",
        "ward=kawasaki&ward=saiwai",
        "view=%3Cscript%3E",
        "from=%00",
        "from=2026-12-01T10:00",
        "capacity=%EF%BC%91%EF%BC%90%EF%BC%90%EF%BC%90%EF%BC%90%EF%BC%90",  # １０００００
    ):
        client.cookies.clear()
        shown = await client.get(f"/search?{query}")
        assert shown.status_code in {200, 400}, (query, shown.status_code)
        assert shown.headers["content-type"].startswith("text/html"), query
        assert "<script>" not in shown.text.split("</head>", 1)[1], query


async def test_a_stale_day_of_the_list_shows_a_day_of_results(client: httpx.AsyncClient) -> None:
    """The list's `day` (issue 18: the list pages by day) is no field of the form: day=x or a
    day outside the results (a hand-made or stale link) shows the first day with free slots
    from it, else the first, never an error."""
    search = "/search?from=2026-12-01&to=2026-12-14"
    first = await client.get(search, headers={"Cookie": "lang=en"})
    assert first.status_code == 200
    days = re.findall(r'<a href="[^"]+"[^>]*><time datetime="([0-9-]+)">', first.text)
    assert len(days) > 1
    for day, shown_as in [
        ("0", days[0]),
        ("-3", days[0]),
        ("abc", days[0]),
        ("99999999999", days[0]),
        ("2026-11-01", days[0]),
        ("9999-12-31", days[0]),
        (days[1], days[1]),
    ]:
        client.cookies.clear()
        shown = await client.get(f"{search}&day={day}", headers={"Cookie": "lang=en"})
        assert shown.status_code == 200, (day, shown.status_code)
        assert alerts(shown.text) == [], day
        assert 'id="results-heading"' in shown.text, day
        assert f'<h3 id="day-heading"><time datetime="{shown_as}">' in shown.text, day


async def test_far_dates_elsewhere_are_refused_not_a_500(
    world: World, hall: Hall, client: httpx.AsyncClient
) -> None:
    """A hand-made address with year 1 or 9999: the board shows today, the booking form
    has no such slot (404 page), the lottery's month is refused (400 page)."""
    lottery = f"/manage/facilities/{hall.facility_id}/lottery"
    for role, path, status in [
        ("member", f"/book?room={hall.room_id}&date=9999-12-31&period=20", 404),
        ("member", f"/book?room={hall.room_id}&date=0001-01-01&period=20", 404),
        ("admin", f"/manage/facilities/{hall.facility_id}?date=0001-01-01", 200),
        ("admin", f"/manage/facilities/{hall.facility_id}?date=9999-12-31&view=week", 200),
        ("admin", f"{lottery}?month=0001-01", 400),
        ("admin", f"{lottery}?month=9999-12", 400),
        ("admin", f"{lottery}?month=1900-01", 200),
        ("admin", f"{lottery}?month=2199-12", 200),
    ]:
        client.cookies.clear()
        shown = await client.get(path, headers=cookies(world, role))
        assert shown.status_code == status, (path, shown.status_code)
        assert shown.headers["content-type"].startswith("text/html")


async def test_digits_that_are_not_ascii_are_no_id_and_no_500(
    world: World, client: httpx.AsyncClient, hall: Hall
) -> None:
    """'²' is a digit to str.isdigit() but not to int(): a link with it is simply wrong."""
    for path in (
        f"/book?room=²&date={hall.day.isoformat()}&period=10",
        f"/book?room={hall.room_id}&date=２０２７-０１-０１&period=10",
    ):
        shown = await client.get(path, headers=cookies(world, "member"))
        assert shown.status_code == 404, (path, shown.status_code)
        assert shown.headers["content-type"].startswith("text/html")
    made = await client.post(
        "/my/calendar",
        data={"target": "group:²", "csrf_token": token(world, "member")},
        headers=cookies(world, "member"),
    )
    assert made.status_code == 422, made.text


async def test_the_registration_forms_row_count_is_kept_within_bounds(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """A hidden field someone changed: never a 500, never a page of 100,000 rows."""
    for rows, shown_rows in (("abc", 5), ("100000", 60), ("0", 5)):  # with one row added
        before = await footprint(session)
        client.cookies.clear()
        shown = await client.post(
            "/register",
            data={**_registration(members=2, csrf_token="t"), "rows": rows, "add_row": "1"},
            headers={"Cookie": f"{ANON_CSRF_COOKIE}=t"},
        )
        assert shown.status_code == 200, (rows, shown.status_code)
        assert shown.text.count('class="member"') == shown_rows, rows
        assert not changes(before, await footprint(session))


async def test_a_closure_redirects_so_a_reload_closes_nothing_twice(
    world: World, client: httpx.AsyncClient, hall: Hall, session: AsyncSession
) -> None:
    booking_id = await _booking_to_cancel(client, world, hall)
    day = hall.day.isoformat()
    closed = await client.post(
        f"/manage/facilities/{hall.facility_id}/closures",
        data={"close_from": day, "close_to": day, "csrf_token": hall.manager["X-CSRF-Token"]},
        headers={"Cookie": hall.manager["Cookie"]},
    )
    assert closed.status_code == 303, closed.text
    target = closed.headers["location"]
    assert target == (
        f"/manage/facilities/{hall.facility_id}/blocks?closed_from={day}&closed_to={day}"
    )
    before = await footprint(session)
    for _ in range(2):  # the page after it, and its reload
        shown = await client.get(target, headers={"Cookie": hall.manager["Cookie"]})
        assert shown.status_code == 200
        assert f'href="/manage/bookings/{booking_id}"' in shown.text
    assert not changes(before, await footprint(session))


async def test_a_form_whose_session_ended_logs_in_and_goes_back_to_its_page(
    client: httpx.AsyncClient, hall: Hall
) -> None:
    """The form's address answers POST only: after the login, the page it was on."""
    client.cookies.clear()
    form_page = f"/book?room={hall.room_id}&date={hall.day.isoformat()}&period=10"
    sent = await client.post(
        "/book",
        data={"room": str(hall.room_id), "csrf_token": "stale"},
        headers={"Referer": f"http://testserver{form_page}"},
    )
    assert sent.status_code == 303
    assert urlsplit(sent.headers["location"]).query == f"next={quote(form_page, safe='')}"
    elsewhere = await client.post(
        "/book", data={"csrf_token": "stale"}, headers={"Referer": "https://evil.example/x"}
    )
    assert elsewhere.headers["location"] == "/login?next=%2F"
