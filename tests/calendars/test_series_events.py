"""An occurrence of a series is an event of its own whose RELATED-TO names the series by a
UID of the feed's own scheme (pure rendering, read back with icalendar), and over HTTP a
booking's .ics does the same."""

from __future__ import annotations

from typing import Literal

import httpx
import icalendar
import pytest

from booking.calendars import render
from tests.calendars.calendar_world import HOST, Row, context, parse
from tests.people import World
from tests.places import Hall
from tests.reservations.test_series import in_window
from tests.reservations.test_series_api import body


@pytest.mark.parametrize(
    ("detail", "uid", "series"),
    [("group", "booking-41@", "series-7@"), ("staff", "booking-41.staff@", "series-7.staff@")],
)
def test_an_occurrence_names_its_series_in_the_feeds_scheme(
    detail: Literal["group", "staff"], uid: str, series: str
) -> None:
    event = parse(render.booking_event(context(), Row(series_id=7), detail))
    assert str(event["UID"]) == uid + HOST
    assert str(event["RELATED-TO"]) == series + HOST
    # Another occurrence of the same series: its own event, the same parent.
    other = parse(render.booking_event(context(), Row(id=42, series_id=7), detail))
    assert str(other["UID"]) != str(event["UID"])
    assert str(other["RELATED-TO"]) == str(event["RELATED-TO"])
    assert "RELATED-TO" not in parse(render.booking_event(context(), Row(), detail))


def test_a_public_feed_names_the_series_opaquely_and_stably_under_its_key() -> None:
    first = parse(render.public_event(context(), Row(series_id=7), b"key"))
    second = parse(render.public_event(context(), Row(id=42, series_id=7), b"key"))
    related = str(first["RELATED-TO"])
    assert related == str(second["RELATED-TO"])
    assert related.endswith("@" + HOST)
    assert not related.startswith("series-")  # opaque: no series id to count
    assert len(related.split("@", maxsplit=1)[0]) == 32
    assert related != str(first["UID"])
    other_key = parse(render.public_event(context(), Row(series_id=7), b"another"))
    assert str(other_key["RELATED-TO"]) != related
    assert "RELATED-TO" not in parse(render.public_event(context(), Row(), b"key"))


async def test_a_bookings_ics_relates_it_to_its_series(
    world: World, hall: Hall, client: httpx.AsyncClient
) -> None:
    first, last, _ = in_window(hall.snapshot, hall)
    member = world.headers("member")
    made = await client.post("/api/v1/series", json=body(world, hall, first, last), headers=member)
    assert made.status_code == 201, made.text
    series = made.json()
    related = set()
    for booking in series["bookings"][:2]:
        ics = await client.get(f"/api/v1/bookings/{booking['id']}/calendar.ics", headers=member)
        assert ics.status_code == 200
        (event,) = icalendar.Calendar.from_ical(ics.content).walk("VEVENT")
        assert str(event["UID"]).startswith(f"booking-{booking['id']}@")
        related.add(str(event["RELATED-TO"]))
    assert len(related) == 1
    assert related.pop().startswith(f"series-{series['id']}@")
