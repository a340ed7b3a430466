"""What one search may cost, in rooms × days: the month grid of the whole network over 93 days
took 0.9 s and 5.2 MB a request, a lever anyone could pull a dozen times at once.

The grid takes at most a month of the ward with the most rooms anonymously (more for staff),
the list and the API at most the whole network over 93 days; past that, a 400 that says what
to narrow, beside the field, in the user's language.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from booking.inventory.network import NetworkSnapshot, SnapshotCache
from booking.pages import search
from booking.reservations import availability
from booking.reservations.availability import GRID_ROOM_DAYS, MAX_DAYS, SLOTS_ROOM_DAYS
from tests.pages.browsing import cookies, field_error
from tests.people import World

START = date(2026, 11, 26)  # the day after the tests' today


def _largest_ward(snapshot: NetworkSnapshot) -> tuple[str, int]:
    """The key of the ward with the most rooms, and its number of rooms."""
    wards = (snapshot.facilities[r.facility_id].ward_id for r in snapshot.rooms)
    counts = Counter(w for w in wards if w is not None)  # a facility no source places: None
    ward_id, rooms = counts.most_common(1)[0]
    key = next(k for k, v in snapshot.ward_keys.items() if v == ward_id)
    return key, rooms


@pytest.fixture
async def ward(session: AsyncSession) -> tuple[str, int]:
    return _largest_ward(await SnapshotCache().get(session))


def _grid(ward: str, days: int) -> dict[str, str]:
    end = START + timedelta(days=days - 1)
    return {"ward": ward, "from": START.isoformat(), "to": end.isoformat(), "view": "grid"}


async def test_a_month_of_the_largest_ward_fits_the_anonymous_bound(
    client: httpx.AsyncClient, ward: tuple[str, int]
) -> None:
    key, rooms = ward
    assert rooms * 31 <= GRID_ROOM_DAYS, "the README promises a ward's month in the grid"
    shown = await client.get("/search", params=_grid(key, 31))
    assert shown.status_code == 200
    assert shown.text.count('<th scope="rowgroup"') == rooms  # a room's lines are one group


async def test_the_grid_takes_exactly_its_bound_and_refuses_one_day_more(
    client: httpx.AsyncClient, ward: tuple[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    key, rooms = ward
    monkeypatch.setattr(search, "GRID_ROOM_DAYS", rooms * 20)
    exactly = await client.get("/search", params=_grid(key, 20))
    assert exactly.status_code == 200, field_error(exactly.text, "to")
    assert exactly.text.count('<th scope="rowgroup"') == rooms
    for lang, words in (
        ("en", f"{rooms} rooms for 21 days is more than one search can show (at most "),
        (
            "ja",
            f"{rooms}室×21日は一度に表示できる量を超えています（部屋数×日数で{rooms * 20}まで）",
        ),
    ):
        refused = await client.get(
            "/search", params=_grid(key, 21), headers={"Cookie": f"lang={lang}"}
        )
        assert refused.status_code == 400
        message = field_error(refused.text, "to")
        assert message is not None
        assert message.startswith(words), message
        assert ("Choose a ward or a kind of facility" in message) == (lang == "en")
        assert '<table class="grid' not in refused.text


async def test_staff_may_ask_for_more_than_anyone(
    world: World, client: httpx.AsyncClient, ward: tuple[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    key, rooms = ward
    monkeypatch.setattr(search, "GRID_ROOM_DAYS", rooms * 10)
    monkeypatch.setattr(search, "STAFF_GRID_ROOM_DAYS", rooms * 11)
    params = _grid(key, 11)
    assert (await client.get("/search", params=params)).status_code == 400
    member = await client.get("/search", params=params, headers=cookies(world, "member"))
    assert member.status_code == 400
    staff = await client.get("/search", params=params, headers=cookies(world, "manager_here"))
    assert staff.status_code == 200, field_error(staff.text, "to")
    more = await client.get(
        "/search", params=_grid(key, 12), headers=cookies(world, "manager_here")
    )
    assert more.status_code == 400


async def test_the_list_and_the_api_take_the_whole_network_at_the_longest_range(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    snapshot = await SnapshotCache().get(session)
    assert len(snapshot.rooms) * MAX_DAYS <= SLOTS_ROOM_DAYS
    end = (START + timedelta(days=MAX_DAYS - 1)).isoformat()
    listed = await client.get("/search", params={"from": START.isoformat(), "to": end})
    assert listed.status_code == 200, field_error(listed.text, "to")
    api = await client.get("/api/v1/availability", params={"from": START.isoformat(), "to": end})
    assert api.status_code == 200
    assert api.json()["room_count"] == len(snapshot.rooms)


async def test_the_api_takes_exactly_its_bound_and_refuses_one_day_more(
    client: httpx.AsyncClient, ward: tuple[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    key, rooms = ward
    monkeypatch.setattr(availability, "SLOTS_ROOM_DAYS", rooms * 10)
    asked = {"ward": key, "from": START.isoformat()}
    exactly = await client.get(
        "/api/v1/availability", params={**asked, "to": (START + timedelta(days=9)).isoformat()}
    )
    assert exactly.status_code == 200, exactly.text
    assert exactly.json()["room_count"] == rooms
    refused = await client.get(
        "/api/v1/availability", params={**asked, "to": (START + timedelta(days=10)).isoformat()}
    )
    assert refused.status_code == 400
    problem = refused.json()
    assert problem["code"] == "search_too_large"
    assert problem["errors"][0]["field"] == "to"
    assert f"{rooms} rooms × 11 days" in problem["detail"]
    assert "narrow it by ward, kind, facility, room or dates" in problem["detail"]
    # The list page is bounded as the API is.
    listed = await client.get(
        "/search", params={**asked, "to": (START + timedelta(days=10)).isoformat()}
    )
    assert listed.status_code == 400


async def test_the_search_form_says_how_much_the_grid_shows(
    world: World, client: httpx.AsyncClient
) -> None:
    anonymous = await client.get("/search", headers={"Cookie": "lang=en"})
    assert f"The month grid shows at most {GRID_ROOM_DAYS} rooms × days at once" in (anonymous.text)
    ja = await client.get("/search")
    assert f"月の表は一度に部屋数×日数で{GRID_ROOM_DAYS}まで表示できます" in ja.text
    staff = await client.get(
        "/search", headers={"Cookie": cookies(world, "manager_here", lang="en")["Cookie"]}
    )
    # A count with separators (issue 18): 4,960.
    assert f"at most {search.STAFF_GRID_ROOM_DAYS:,} rooms × days" in staff.text
