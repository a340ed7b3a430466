"""Facility notices (お知らせ): posted, edited and withdrawn by the facility's staff, shown to
anyone from their first to their last day; bad input refused field by field, nothing written."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.audit.models import AuditEvent
from booking.clock import FrozenClock
from booking.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from booking.inventory import notices
from booking.inventory.models import Notice
from booking.inventory.notices import NoticeText
from tests.conftest import DEFAULT_NOW
from tests.helpers import jst
from tests.people import World, principal_as

DECEMBER = NoticeText(
    title_ja="年末の窓口時間",
    body_ja="12月1日から3日まで、窓口は17時で閉まります。\n電話予約も同じです。",
    starts_on=date(2026, 12, 1),
    ends_on=date(2026, 12, 3),
    title_en="Counter hours at the year end",
)


async def _count(session: AsyncSession, table: type) -> int:
    return int(await session.scalar(select(func.count()).select_from(table)) or 0)


async def test_a_notice_is_shown_from_its_first_day_to_its_last(
    session: AsyncSession, clock: FrozenClock, world: World
) -> None:
    manager = await principal_as(session, world, "manager_here")
    posted = await notices.post_notice(
        session, clock, world.settings, manager, world.here, DECEMBER
    )
    shown = {}
    for day in (date(2026, 11, 30), date(2026, 12, 1), date(2026, 12, 3), date(2026, 12, 4)):
        found = await notices.current_notices(session, world.here, day)
        shown[day] = [n.id for n in found]
        assert notices.is_current(posted, day) == bool(shown[day])
    assert shown == {
        date(2026, 11, 30): [],  # the day before starts_on
        date(2026, 12, 1): [posted.id],  # the day of
        date(2026, 12, 3): [posted.id],  # ends_on: its last day
        date(2026, 12, 4): [],  # the day after
    }
    assert await notices.current_notices(session, world.elsewhere, date(2026, 12, 1)) == []


async def test_a_notice_without_an_end_stays_until_withdrawn(
    session: AsyncSession, clock: FrozenClock, world: World
) -> None:
    admin = await principal_as(session, world, "admin")
    text = NoticeText(
        title_ja="駐車場について", body_ja="駐車場はありません。", starts_on=date(2026, 11, 25)
    )
    posted = await notices.post_notice(session, clock, world.settings, admin, world.here, text)
    assert posted.ends_on is None
    assert await notices.current_notices(session, world.here, date(2036, 1, 1)) == [posted]
    clock.set(jst(date(2026, 11, 26), 9))
    await notices.withdraw_notice(session, clock, admin, posted.id)
    assert await notices.current_notices(session, world.here, date(2026, 11, 26)) == []
    events = await _count(session, AuditEvent)
    again = await notices.withdraw_notice(session, clock, admin, posted.id)
    assert again.withdrawn_at == jst(date(2026, 11, 26), 9)
    assert await _count(session, AuditEvent) == events  # a second withdrawal changes nothing
    # The desk still lists it.
    assert [n.id for n in await notices.facility_notices(session, admin, world.here)] == [posted.id]


async def test_posting_is_audited_with_what_was_posted(
    session: AsyncSession, clock: FrozenClock, world: World
) -> None:
    manager = await principal_as(session, world, "manager_here")
    posted = await notices.post_notice(
        session, clock, world.settings, manager, world.here, DECEMBER
    )
    event = await session.scalar(select(AuditEvent).where(AuditEvent.action == "notice.posted"))
    assert event is not None
    assert (event.actor_user_id, event.target_type, event.target_id) == (
        world.user_ids["manager_here"],
        "notice",
        str(posted.id),
    )
    assert event.after == {
        "title_ja": DECEMBER.title_ja,
        "title_en": DECEMBER.title_en,
        "body_ja": DECEMBER.body_ja,
        "body_en": None,
        "starts_on": "2026-12-01",
        "ends_on": "2026-12-03",
    }


async def test_an_edit_changes_only_what_it_names_and_audits_before_and_after(
    session: AsyncSession, clock: FrozenClock, world: World
) -> None:
    manager = await principal_as(session, world, "manager_here")
    posted = await notices.post_notice(
        session, clock, world.settings, manager, world.here, DECEMBER
    )
    clock.set(jst(date(2026, 11, 26), 10))
    edited = await notices.edit_notice(
        session,
        clock,
        world.settings,
        manager,
        posted.id,
        {"ends_on": date(2026, 12, 5), "title_en": None},
    )
    assert (edited.ends_on, edited.title_en, edited.title_ja) == (
        date(2026, 12, 5),
        None,
        DECEMBER.title_ja,
    )
    assert edited.updated_at == jst(date(2026, 11, 26), 10)
    event = await session.scalar(select(AuditEvent).where(AuditEvent.action == "notice.edited"))
    assert event is not None
    assert event.before == {"ends_on": "2026-12-03", "title_en": DECEMBER.title_en}
    assert event.after == {"ends_on": "2026-12-05", "title_en": None}
    # The same values again: nothing changed, nothing audited.
    events = await _count(session, AuditEvent)
    await notices.edit_notice(
        session, clock, world.settings, manager, posted.id, {"ends_on": date(2026, 12, 5)}
    )
    assert await _count(session, AuditEvent) == events


async def test_a_withdrawn_notice_is_not_edited(
    session: AsyncSession, clock: FrozenClock, world: World
) -> None:
    manager = await principal_as(session, world, "manager_here")
    posted = await notices.post_notice(
        session, clock, world.settings, manager, world.here, DECEMBER
    )
    await notices.withdraw_notice(session, clock, manager, posted.id)
    with pytest.raises(Conflict) as refused:
        await notices.edit_notice(
            session, clock, world.settings, manager, posted.id, {"title_ja": "新"}
        )
    assert refused.value.code == "notice_withdrawn"
    assert posted.title_ja == DECEMBER.title_ja


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"title_ja": "年末\tの窓口"}, "title_ja"),  # a tab
        ({"title_ja": "年末の\n窓口"}, "title_ja"),  # a line break in a one-line title
        ({"title_en": "Year\x85end"}, "title_en"),  # C1 (NEL)
        ({"body_ja": "本文\x00です"}, "body_ja"),  # NUL
        ({"body_en": "Text\u2028here"}, "body_en"),  # the Unicode line separator
        ({"title_ja": "   "}, "title_ja"),
        ({"body_ja": ""}, "body_ja"),
        ({"title_ja": "あ" * 101}, "title_ja"),
        ({"body_ja": "あ" * 2001}, "body_ja"),
        ({"ends_on": date(2026, 11, 30)}, "ends_on"),  # before starts_on
        ({"starts_on": date(2026, 11, 1), "ends_on": date(2026, 11, 24)}, "ends_on"),  # ended
        ({"starts_on": date(2027, 11, 27), "ends_on": None}, "starts_on"),  # 367 days ahead
    ],
)
async def test_bad_input_is_refused_naming_its_field_and_writes_nothing(
    session: AsyncSession, clock: FrozenClock, world: World, change: dict[str, object], field: str
) -> None:
    manager = await principal_as(session, world, "manager_here")
    before = (await _count(session, Notice), await _count(session, AuditEvent))
    with pytest.raises(InvalidInput) as refused:
        await notices.post_notice(
            session, clock, world.settings, manager, world.here, replace(DECEMBER, **change)
        )
    assert refused.value.field == field
    assert (await _count(session, Notice), await _count(session, AuditEvent)) == before


async def test_the_edges_of_what_is_allowed(
    session: AsyncSession, clock: FrozenClock, world: World
) -> None:
    """One day, the longest texts, line breaks in the body, 366 days ahead: all accepted."""
    manager = await principal_as(session, world, "manager_here")
    for text in (
        NoticeText(
            title_ja="あ" * 100,
            body_ja="い\r\n" * 666,
            starts_on=date(2026, 11, 25),
            ends_on=date(2026, 11, 25),
        ),
        NoticeText(title_ja="来年", body_ja="う" * 2000, starts_on=date(2027, 11, 26)),
    ):
        await notices.post_notice(session, clock, world.settings, manager, world.here, text)


async def test_only_the_facility_s_staff_post_edit_and_withdraw(
    session: AsyncSession, clock: FrozenClock, world: World
) -> None:
    manager = await principal_as(session, world, "manager_here")
    posted = await notices.post_notice(
        session, clock, world.settings, manager, world.here, DECEMBER
    )
    for role in ("member", "representative", "manager_elsewhere"):
        someone = await principal_as(session, world, role)
        with pytest.raises(PermissionDenied):
            await notices.post_notice(session, clock, world.settings, someone, world.here, DECEMBER)
        with pytest.raises(NotFound):
            await notices.edit_notice(
                session, clock, world.settings, someone, posted.id, {"title_ja": "乗っ取り"}
            )
        with pytest.raises(NotFound):
            await notices.withdraw_notice(session, clock, someone, posted.id)
    assert (posted.title_ja, posted.withdrawn_at) == (DECEMBER.title_ja, None)


async def test_the_api_shows_the_current_notices_to_anyone(client, world, session, clock) -> None:
    made = await client.post(
        f"/api/v1/facilities/{world.here}/notices",
        json={
            "title_ja": "年末の窓口時間",
            "body_ja": "17時まで。",
            "starts_on": "2026-12-01",
            "ends_on": "2026-12-03",
        },
        headers=world.headers("manager_here"),
    )
    assert made.status_code == 201, made.text
    notice = made.json()
    assert (notice["title_en"], notice["withdrawn_at"]) == (None, None)
    path = f"/api/v1/facilities/{world.here}/notices"
    clock.set(jst(date(2026, 11, 30), 23, 59))
    assert (await client.get(path)).json() == []
    clock.set(jst(date(2026, 12, 1), 0, 0))  # midnight in Tokyo, still 30 November in UTC
    assert [n["id"] for n in (await client.get(path)).json()] == [notice["id"]]
    clock.set(DEFAULT_NOW)  # back within the staff member's session
    cleared = await client.patch(
        f"/api/v1/notices/{notice['id']}",
        json={"ends_on": None, "title_en": "Counter hours", "starts_on": "2026-11-25"},
        headers=world.headers("manager_here"),
    )
    assert cleared.status_code == 200, cleared.text
    assert (cleared.json()["ends_on"], cleared.json()["title_en"]) == (None, "Counter hours")
    assert [n["title_en"] for n in (await client.get(path)).json()] == ["Counter hours"]
    withdrawn = await client.post(
        f"/api/v1/notices/{notice['id']}/withdraw", headers=world.headers("manager_here")
    )
    assert withdrawn.status_code == 200, withdrawn.text
    assert (await client.get(path)).json() == []  # withdrawn


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title_ja": "a\tb", "body_ja": "x", "starts_on": "2026-12-01"}, "title_ja"),
        ({"title_ja": "a", "body_ja": "x\x00", "starts_on": "2026-12-01"}, "body_ja"),
        (
            {"title_ja": "a", "body_ja": "x", "starts_on": "2026-12-01", "ends_on": "2026-11-30"},
            "ends_on",
        ),
        ({"title_ja": "a", "body_ja": "x", "starts_on": "2026-13-01"}, "starts_on"),
        ({"title_ja": "a" * 101, "body_ja": "x", "starts_on": "2026-12-01"}, "title_ja"),
    ],
)
async def test_the_api_refuses_bad_input_naming_the_field(client, world, body, field) -> None:
    refused = await client.post(
        f"/api/v1/facilities/{world.here}/notices", json=body, headers=world.headers("admin")
    )
    assert refused.status_code == 400, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert field in {e["field"] for e in refused.json()["errors"]}, refused.json()


async def test_the_api_s_notices_of_an_unknown_facility_are_a_404(client) -> None:
    assert (await client.get("/api/v1/facilities/999999/notices")).status_code == 404
