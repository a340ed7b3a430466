"""The network kept in the system, in a real browser (issue 16 §4): an administrator adds a
facility with a room and a fee from next 1 April; a group books it before and after that date
and sees each fee on the booking form and on its booking. In Japanese, on a phone and on a
desktop; axe-core checks every page reached.
"""

from __future__ import annotations

import re
from datetime import date

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import Visit, another_visit
from tests.browser.steps import tokyo

TODAY = date(2027, 1, 12)  # the journey's clock: April's first-come window opened 29 December
APRIL = date(2027, 4, 1)
FEE_NOW, FEE_APRIL = 1000, 1200


def add_facility_with_a_room(visit: Visit, key: str) -> tuple[int, int]:
    """As the administrator: a new civic hall in the site's ward with one room: their ids."""
    page = visit.page
    visit.go("/admin/facilities")
    visit.submit(visit.link("New facility"), "**/admin/facilities/new")
    visit.field("Key").fill(key)
    visit.field("Kind of facility").select_option("civic_hall")
    visit.field("Ward").select_option(visit.site.hall_ward)
    visit.field("Name in Japanese").fill(f"ふれあい市民館 {key}")
    visit.field("Name in English").fill(f"Fureai Civic Hall {key}")
    visit.field("Address").fill("川崎市中原区小杉町3-1")
    visit.field("Phone").fill("044-700-0000")
    visit.submit(visit.button("Create the facility"), "**/admin/facilities/*?done=created")
    expect(page.get_by_role("status")).to_have_text(visit._("The facility is created."))
    facility_id = int(re.findall(r"/admin/facilities/(\d+)", page.url)[0])

    visit.submit(visit.link("Add a room"), f"**/admin/facilities/{facility_id}/rooms/new")
    visit.field("Key").fill("room-1")
    visit.field("Name in Japanese").fill("第1会議室")
    visit.field("Name in English").fill("Meeting Room 1")
    visit.field("Capacity (people)").fill("30")
    visit.field("Area (m²)").fill("52.5")
    visit.field("Equipment (one per line)").fill("ホワイトボード\nプロジェクター")
    expect(page.get_by_label(visit._("Online and at the counter"))).to_be_checked()
    visit.submit(visit.button("Create the room"), "**/admin/rooms/*?done=created")
    expect(page.get_by_role("status")).to_have_text(visit._("The room is created."))
    return facility_id, int(re.findall(r"/admin/rooms/(\d+)", page.url)[0])


def add_fees(visit: Visit, room_id: int, day: date, yen: int) -> None:
    page = visit.page
    visit.field("From").fill(day.isoformat())
    page.locator("#f-fee_10").fill(str(yen))
    visit.submit(visit.button("Save the fees"), f"**/admin/rooms/{room_id}/fees?done=added")
    expect(page.get_by_role("status")).to_have_text(visit._("The fees from that date are saved."))


def book(visit: Visit, room_id: int, day: date, fee: int) -> None:
    """As a member of group A: the form shows the date's fee, and so does the booking."""
    page = visit.page
    visit.go(f"/book?room={room_id}&date={day.isoformat()}&period=10")
    expect(page.get_by_role("heading", level=1)).to_have_text(visit._("Book a room"))
    expect(page.locator('label[for="p-10"]')).to_contain_text(visit.texts.yen(fee))
    page.locator("#p-10").check()
    visit.field("Purpose").select_option(index=1)
    visit.field("Number of people").fill("12")
    visit.submit(visit.button("Book"), "**/my/bookings/*")
    expect(page.get_by_role("status")).to_have_text(visit._("Your booking is made."))
    expect(page.locator("dl.facts")).to_contain_text(visit.texts.yen(fee))
    expect(page.locator("dl.facts")).to_contain_text(visit.texts.long_day(day))


@pytest.mark.parametrize("visit", [("ja", "phone"), ("ja", "desktop")], indirect=True)
def test_an_administrator_adds_a_facility_and_a_fee_from_april(
    visit: Visit, browser: Browser
) -> None:
    site = visit.site
    site.clock.set(tokyo(TODAY))
    visit.log_in("admin")
    facility_id, room_id = add_facility_with_a_room(visit, f"journey-{visit.viewport}")

    visit.submit(visit.link("Fees by date"), f"**/admin/rooms/{room_id}/fees")
    add_fees(visit, room_id, TODAY, FEE_NOW)
    add_fees(visit, room_id, APRIL, FEE_APRIL)
    table = visit.page.locator("#fee-schedules")
    expect(table.locator("tr.current")).to_contain_text(visit.texts.yen(FEE_NOW))
    expect(table.locator("tr.current")).to_contain_text(visit._("In effect today"))
    expect(table.locator("tr.future")).to_have_count(1)
    expect(table.locator("tr.future")).to_contain_text(visit.texts.long_day(APRIL))
    expect(table.locator("tr.future")).to_contain_text(visit.texts.yen(FEE_APRIL))

    # A fee that is no number is said beside its field; what was typed stays.
    visit.field("From").fill("2027-05-01")
    visit.page.locator("#f-fee_10").fill("千円")
    visit.submit(visit.button("Save the fees"))
    expect(visit.page.locator("#e-fee_10")).to_have_text(visit._("Enter a whole number."))
    expect(visit.field("From")).to_have_value("2027-05-01")

    # The new facility is in the list, with its room.
    visit.go("/admin/facilities")
    visit.submit(visit.page.locator(f'a[href="/admin/facilities/{facility_id}"]'))
    expect(visit.page.locator(f'a[href="/admin/rooms/{room_id}"]')).to_have_text("第1会議室")

    member = another_visit(browser, site, visit.lang, visit.viewport)
    try:
        member.log_in("member")
        days = member.free_days(room_id, date(2027, 3, 22))
        before = next(d for d in days if d < APRIL)
        after = next(d for d in days if d >= APRIL)
        book(member, room_id, before, FEE_NOW)
        book(member, room_id, after, FEE_APRIL)
    finally:
        member.page.context.close()


@pytest.mark.parametrize("visit", [("ja", "phone")], indirect=True)
def test_a_manager_keeps_a_room_of_their_facility(visit: Visit) -> None:
    site = visit.site
    page = visit.page
    visit.log_in("manager")
    visit.go(f"/manage/facilities/{site.hall_id}")
    visit.submit(visit.link("Rooms"), f"**/manage/facilities/{site.hall_id}/rooms")
    visit.submit(page.locator(f'a[href="/manage/rooms/{site.approval_room_id}"]'))
    expect(page.locator("#f-key")).to_have_count(0)  # a room's key is never changed
    # Labels may carry ≈ (an estimate of the data): the fields by their ids.
    page.locator("#f-equipment").fill("ピアノ\n譜面台")
    page.locator("#f-capacity").fill("100001")
    visit.submit(visit.button("Save"))
    expect(page.locator("#e-capacity")).to_have_text(visit._("Enter %(max)s or less.", max=100_000))
    expect(page.locator("#f-equipment")).to_have_value("ピアノ\n譜面台")
    page.locator("#f-capacity").fill("40")
    visit.submit(visit.button("Save"), f"**/manage/rooms/{site.approval_room_id}?done=saved")
    expect(page.get_by_role("status")).to_have_text(visit._("Saved."))
    expect(page.locator("#f-capacity")).to_have_value("40")
    expect(page.locator("a[href*='/fees']")).to_have_count(0)  # fees are the city's
