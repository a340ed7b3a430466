"""Steps that several journeys take, as a person would take them."""

from __future__ import annotations

import re
from datetime import date, datetime

from playwright.sync_api import Locator, expect

from tests.browser.conftest import COMBINATIONS, Visit
from tests.helpers import jst

TODAY = date(2026, 11, 25)  # the site's clock (tests.conftest.DEFAULT_NOW)


def tokyo(day: date, hour: int = 10) -> datetime:
    return jst(day, hour)


def nth(visit: Visit) -> int:
    """0 or 1: each language/viewport run takes its own slots of the shared site."""
    return COMBINATIONS.index((visit.lang, visit.viewport))


def room_name(visit: Visit, room_id: int) -> str:
    room = visit.page.request.get(f"{visit.site.url}/api/v1/rooms/{room_id}").json()
    return str(room["name_ja" if visit.lang == "ja" else "name_en"] or room["name_ja"])


def search_one_day(visit: Visit, day: date, period: str = "10") -> None:
    """The search form filled in as a person would: the hall's ward, one day, one period."""
    visit.go("/search")
    visit.field("Ward").select_option(visit.site.hall_ward)
    visit.field("Kind of facility").select_option("civic_hall")
    visit.field("From").fill(day.isoformat())
    visit.field("To").fill(day.isoformat())
    visit.field("Period").select_option(period)
    visit.submit(visit.button("Search"), "**/search?**")


def slot_item(visit: Visit, room_id: int, day: date) -> Locator:
    return visit.page.locator("li.slot").filter(
        has=visit.page.locator(f'a[href*="room={room_id}&date={day.isoformat()}"]')
    )


def book_from_search(visit: Visit, room_id: int, day: date, headcount: str = "12") -> int:
    """Search, pick the room's slot from the list, fill in the booking form: the booking id."""
    search_one_day(visit, day)
    item = slot_item(visit, room_id, day)
    expect(item).to_have_count(1)
    visit.submit(item.locator("a.button"), "**/book?**")
    expect(visit.page.get_by_role("heading", level=1)).to_have_text(visit._("Book a room"))
    visit.page.locator("#p-10").check()
    visit.field("Purpose").select_option(index=1)
    visit.field("Number of people").fill(headcount)
    visit.submit(visit.button("Book"), "**/my/bookings/*")
    expect(visit.page.get_by_role("status")).to_have_text(visit._("Your booking is made."))
    return int(re.findall(r"/my/bookings/(\d+)", visit.page.url)[0])


def register_online(visit: Visit, name: str, email: str, password: str) -> None:
    """The public registration form filled in as a representative would, with four members,
    then the mailed link and the password chosen: the registration waits for a check."""
    page = visit.page
    visit.go("/register")
    visit.field("Name of the group").fill(name)
    visit.field("Category").select_option("general")
    fieldset = page.locator("fieldset").filter(
        has=page.locator("legend", has_text=visit._("Representative"))
    )
    fieldset.get_by_label(re.compile(rf"^{visit._('Name')}")).fill("山田 花子")
    fieldset.get_by_label(re.compile(rf"^{visit._('Date of birth')}")).fill("1975-04-01")
    fieldset.get_by_label(re.compile(rf"^{visit._('Tie to the city')}")).select_option("lives")
    visit.field("E-mail address (for logging in)").fill(email)
    visit.field("Password").fill(password)
    for i in range(4):
        page.locator(f"#f-m{i}_name").fill(f"会員 {i}")
        page.locator(f"#f-m{i}_birth_date").fill(f"198{i}-01-01")
        page.locator(f"#f-m{i}_residency").select_option("lives" if i % 2 else "none")
    visit.submit(visit.button("Send the registration"), "**/login?done=mailed")
    visit.go(visit.site.mailed_link(email, "registration_confirm"))
    visit.field("Password").fill(password)
    visit.submit(visit.button("Finish the registration"), "**/login?done=registered")
