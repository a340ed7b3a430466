"""The facility page's fee tables, Japanese punctuation and counts, and what a registration
that may not book yet is told (issue 18).

- Fees the same every day: no "Days" column repeating 土曜日・日曜・祝日・平日 on each row; where
  periods differ by day, the days are joined with 、 (", " in English).
- A fee and its ≈ never wrap apart, and the page says in words what ≈ means.
- Each room's 「空きを探す」 searches that room (`/search?facility=&room=`), and the link works.
- A ja msgstr has no ASCII ", ", ".", "(", ")" or ": "; a page's counts have separators.
- After registering: which documents, which counters, what then; before the booking form: a
  pending, suspended or expired registration says so and what to do, with no form to fail.
"""

from __future__ import annotations

import html
import re
from datetime import date
from zoneinfo import ZoneInfo

import httpx
from babel.messages.pofile import read_po
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts import groups
from booking.accounts.models import Group
from booking.accounts.sessions import open_session
from booking.clock import FrozenClock
from booking.pages.i18n import LOCALE_DIR, Texts
from tests.people import PASSWORD, World, principal, registration
from tests.places import Hall

TOKYO = ZoneInfo("Asia/Tokyo")
BOOK_FORM = '<form method="post" action="/book">'
# What a count looks like on a page: digits before a counter word (1,227件, 30 rooms).
COUNT = re.compile(
    r"(?<![\d,.:/\-])(\d[\d,]*)\s*(?=件|人|組|室|名|コマ|free slot|slot|booking|people|rooms?\b)"
)
# Where an ASCII mark is right in a Japanese text: file names, action names, numbers.
ASCII_ALLOWED = re.compile(r"\.ics|[a-z]+\.[a-z_]*|\d[.,]\d|%%|https?://\S+")
ASCII_MARKS = re.compile(r", |,|\.|\(|\)|:(?: |$)")  # a label ends with ：too


def visible(page: str) -> str:
    """The page's text as read: no tags, no markup, entities decoded."""
    main = page[page.find("<main") :]
    return html.unescape(re.sub(r"<[^>]+>", " ", main))


def unseparated_counts(page: str) -> list[str]:
    """Counts of 1,000 or more written without their thousands separator."""
    return [n for n in COUNT.findall(visible(page)) if "," not in n and len(n) >= 4]


def room_section(page: str, room_id: int) -> str:
    start = page.index(f'aria-labelledby="room-{room_id}"')
    return page[start : page.index("</section>", start)]


async def get(
    client: httpx.AsyncClient, path: str, cookie: str = "", lang: str = "ja"
) -> httpx.Response:
    client.cookies.clear()
    return await client.get(path, headers={"Cookie": f"lang={lang}; {cookie}".strip("; ")})


async def test_fees_the_same_every_day_are_one_column_with_the_estimate_explained(
    client: httpx.AsyncClient, hall: Hall
) -> None:
    response = await get(client, f"/facilities/{hall.facility_id}")
    assert response.status_code == 200
    page = response.text
    section = room_section(page, hall.room_id)
    # Every civic-hall period runs every day: no Days column, one header says so.
    assert '<th scope="col">曜日</th>' not in section
    assert "使用料（毎日同じ）" in section
    assert "土曜日" not in section
    assert "平日" not in section
    periods = hall.snapshot.room(hall.room_id).grid.periods  # type: ignore[union-attr]
    rows = re.findall(r'<tr><th scope="row">', section)
    assert len(rows) == len(periods) + (1 if "全日" in section else 0)
    # The fee and its ≈ in one unbreakable span; ≈ carries words for screen readers.
    fee = hall.fees[periods[0].code]
    assert re.search(
        rf'<span class="nowrap">￥{fee:,} <abbr title="推定値" class="approx">'
        r'<span aria-hidden="true">≈</span><span class="visually-hidden">（推定値）</span>',
        section,
    ), section
    # …and the page says what ≈ means, in words, once.
    assert page.count("≈ は推定値（市の公表資料で確認できていない値）です。") == 1
    # The lone ≈ on a period's estimated time (午前 9:00–12:00) is explained the same way.
    assert re.search(r'午前 09:00–12:00 <abbr title="推定値"', section)
    assert "平日: " not in page
    assert "平日：09:00–21:00" in visible(page).replace(" ", "")

    english = await get(client, f"/facilities/{hall.facility_id}", lang="en")
    assert "≈ marks an estimate" in english.text
    assert "Fee (every day)" in room_section(english.text, hall.room_id)


async def test_days_that_differ_are_joined_with_the_languages_separator(
    client: httpx.AsyncClient, world: World
) -> None:
    """A children's culture centre's afternoon runs weekdays and Saturdays, another Sundays."""
    ja = await get(client, f"/facilities/{world.here}")
    en = await get(client, f"/facilities/{world.here}", lang="en")
    section = room_section(ja.text, world.room)
    assert '<th scope="col">曜日</th>' in section
    assert "<td>平日、土曜日</td>" in section
    assert "<td>日曜・祝日</td>" in section
    assert "<td>毎日</td>" in section  # 午前 runs on every day type
    assert ", " not in visible(section)
    assert "<td>Weekdays, Saturdays</td>" in room_section(en.text, world.room)


async def test_each_rooms_find_free_slots_link_searches_that_room(
    client: httpx.AsyncClient, hall: Hall
) -> None:
    response = await get(client, f"/facilities/{hall.facility_id}")
    rooms = [r for r in hall.snapshot.rooms if r.facility_id == hall.facility_id]
    for room in rooms:
        link = f"/search?facility={hall.facility_id}&amp;room={room.id}"
        assert f'<a href="{link}">空きを探す' in room_section(response.text, room.id)
    found = await get(
        client, html.unescape(f"/search?facility={hall.facility_id}&amp;room={hall.room_id}")
    )
    assert found.status_code == 200, found.text
    booked_rooms = set(re.findall(r'href="/book\?room=(\d+)', found.text))
    assert booked_rooms == {str(hall.room_id)}, booked_rooms  # that room, none other


def test_japanese_texts_use_japanese_punctuation() -> None:
    """Every ja msgstr: 、。（）： rather than ASCII marks, except in numbers, file and action
    names (.ics, user.suspended) and addresses."""
    with (LOCALE_DIR / "ja" / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = read_po(po, locale="ja")
    wrong = []
    for message in catalog:
        if not message.id:
            continue  # the header
        found = message.string
        texts = [found] if isinstance(found, str) else list(found or ())
        for text in texts:
            bare = ASCII_ALLOWED.sub("", re.sub(r"%\(\w+\)[sd]", "X", text or ""))
            if ASCII_MARKS.search(bare):
                wrong.append(text)
    assert not wrong, wrong


def test_counts_and_lists_are_written_the_languages_way() -> None:
    ja = Texts("ja", TOKYO)
    en = Texts("en", TOKYO)
    assert ja.ngettext("%(n)s booking", "%(n)s bookings", 1227) == "予約1,227件"
    assert en.ngettext("%(n)s booking", "%(n)s bookings", 1227) == "1,227 bookings"
    assert ja.gettext("Booking %(id)s", id=12345) == "予約 12345"  # an id is a name
    assert ja.join(["平日", "土曜日"]) == "平日、土曜日"
    assert en.join(["Weekdays", "Saturdays"]) == "Weekdays, Saturdays"
    assert unseparated_counts("<main><p>空き・抽選受付中のコマが1227件あります。</p>") == ["1227"]
    assert unseparated_counts("<main><p>コマが1,227件、2027年</p>") == []


async def test_a_search_of_many_slots_counts_them_with_separators(
    client: httpx.AsyncClient, hall: Hall
) -> None:
    """The city's free slots over two weeks are thousands: 1,227件, never 1227件."""
    response = await get(client, f"/search?from={hall.day.isoformat()}")
    assert response.status_code == 200
    counts = COUNT.findall(visible(response.text))
    assert any("," in n for n in counts), counts
    assert unseparated_counts(response.text) == []


async def _new_member(
    session: AsyncSession, world: World, clock: FrozenClock, name: str, email: str
) -> tuple[int, str]:
    """A registration of its own (pending), its representative logged in: (group, cookie)."""
    group = await groups.register(
        session, clock, world.settings, None, registration(name, email, password=PASSWORD), None
    )
    rep = next(m for m in await groups.roster(session, group.id) if m.user_id)
    assert rep.user_id
    opened = await open_session(session, clock, world.settings, rep.user_id)
    await session.commit()
    return group.id, f"booking_session={opened.cookie_value}"


async def test_registered_online_the_login_page_says_what_to_bring_and_where(
    client: httpx.AsyncClient, hall: Hall
) -> None:
    response = await get(client, "/login?done=registered")
    page = response.text
    steps = page[page.index('id="next-steps"') : page.index("</section>")]
    assert page.index('id="next-steps"') < page.index('<form method="post" action="/login"')
    assert "代表者の本人確認書類" in steps
    assert "構成員名簿" in steps
    assert "その場で登録を有効にします" in steps
    assert "2027年3月31日" in steps  # a card issued now (26 Nov 2026) is valid to 31 March
    counters = re.findall(r'<a href="/facilities/(\d+)">', steps)
    kinds = {hall.snapshot.facilities[int(f)].kind for f in counters}
    assert int(hall.facility_id) in map(int, counters)
    assert kinds <= {"civic_hall", "branch_hall"}
    for facility in counters:  # every counter named links a page that exists
        linked = await get(client, f"/facilities/{facility}")
        assert linked.status_code == 200


async def test_a_pending_group_is_told_before_the_booking_form_and_gets_none(
    client: httpx.AsyncClient,
    hall: Hall,
    world: World,
    session: AsyncSession,
    clock: FrozenClock,
) -> None:
    group_id, cookie = await _new_member(session, world, clock, "まだの会", "pending@example.jp")
    book = f"/book?room={hall.room_id}&date={hall.day.isoformat()}&period=20"
    response = await get(client, book, cookie)
    assert response.status_code == 200
    page = response.text
    assert BOOK_FORM not in page  # nothing to fill in and fail
    notice = visible(page)
    assert "まだの会" in notice
    assert "施設の確認待ち" in notice
    assert "代表者の本人確認書類" in notice
    assert f'href="/my/groups/{group_id}#next-steps"' in page
    # The group's page says which counters and what next (the link's target exists).
    group_page = await get(client, f"/my/groups/{group_id}", cookie)
    assert 'id="next-steps"' in group_page.text
    assert "代表者の本人確認書類" in group_page.text


async def test_suspended_and_expired_registrations_say_why_and_what_to_do(
    client: httpx.AsyncClient,
    hall: Hall,
    world: World,
    session: AsyncSession,
    clock: FrozenClock,
) -> None:
    admin = await principal(session, world.user_ids["admin"])
    suspended, cookie_s = await _new_member(session, world, clock, "止めの会", "s@example.jp")
    await groups.activate(session, clock, world.settings, admin, suspended, None)
    await groups.suspend(session, clock, admin, suspended, "使用料の未納")
    expired, cookie_e = await _new_member(session, world, clock, "期限の会", "e@example.jp")
    await groups.activate(session, clock, world.settings, admin, expired, None)
    lapsed = date(2026, 3, 31)  # the card of the last fiscal year, not renewed
    await session.execute(update(Group).where(Group.id == expired).values(valid_until=lapsed))
    await session.commit()
    book = f"/book?room={hall.room_id}&date={hall.day.isoformat()}&period=20"

    response = await get(client, book, cookie_s)
    assert BOOK_FORM not in response.text
    text = visible(response.text)
    assert "利用停止中" in text
    assert "理由：使用料の未納" in text
    assert "施設の窓口にお問い合わせください。" in text
    # The desk's history of it writes the reason the Japanese way too: 利用停止（…）：理由
    admin_cookie = f"booking_session={world.sessions['admin'].cookie_value}"
    desk = visible((await get(client, f"/manage/registrations/{suspended}", admin_cookie)).text)
    assert "：使用料の未納" in desk
    assert ": 使用料の未納" not in desk

    response = await get(client, book, cookie_e)
    assert BOOK_FORM not in response.text
    text = visible(response.text)
    expected = Texts("ja", TOKYO).long_day(lapsed)
    assert f"登録の有効期限（{expected}）が過ぎています。" in text
    assert "更新は今受け付けており" in text

    # An active group's member still gets the form; a second, pending group is named above it.
    await groups.register(
        session,
        clock,
        world.settings,
        await principal(session, world.user_ids["member"]),
        registration("二つ目の会", None),
        None,
    )
    await session.commit()
    member = f"booking_session={world.sessions['member'].cookie_value}"
    # The member's session knows its memberships when it is read: a new one is seen at once.
    response = await get(client, book, member)
    page = response.text
    assert BOOK_FORM in page
    assert page.index("二つ目の会") < page.index(BOOK_FORM)
    assert "≈ は推定値（市の公表資料で確認できていない値）です。" in page  # its fees are estimates
    assert unseparated_counts(page) == []


# A Japanese word followed by an ASCII ": ", ", " or ". ": a template joined or ended
# translated words itself.
ASCII_AFTER_JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff）](?:[:,] |\.(?:\s|$))")


async def test_japanese_pages_join_words_the_japanese_way(
    client: httpx.AsyncClient, hall: Hall
) -> None:
    """Not only the catalogue: the words a template puts together (a heading's label and its
    dates, a list of conditions) are joined with ：and 、 on a Japanese page."""
    day = hall.day.isoformat()
    for path in (
        f"/search?from={day}",
        f"/search?from={day}&view=grid&facility={hall.facility_id}",
        f"/search?from={day}&view=week&facility={hall.facility_id}",
        f"/facilities/{hall.facility_id}",
        "/login",
        "/register",
    ):
        response = await get(client, path)
        assert response.status_code == 200, path
        assert ASCII_AFTER_JAPANESE.findall(visible(response.text)) == [], path
