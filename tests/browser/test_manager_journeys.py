"""A facility manager's journeys at the counter, in a real browser: the day and week board,
booking and holding for a group, approvals, payment and no-shows, cancelling for the
facility, blocks and closures, the CSV export and the lottery statistics. Each runs in
Japanese on a phone and in English on a desktop; axe-core checks every page reached.
"""

from __future__ import annotations

import io
import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect
from pypdf import PdfReader

from tests.browser.conftest import COMBINATIONS, Visit, another_visit
from tests.browser.site import use_month_window
from tests.browser.steps import (
    TODAY,
    book_from_search,
    nth,
    room_name,
    search_one_day,
    slot_item,
    tokyo,
)

BOTH = pytest.mark.parametrize("visit", COMBINATIONS, indirect=True)
GROUP_A = "川崎合唱団"


def open_desk(visit: Visit) -> None:
    visit.log_in("manager")
    visit.submit(visit.link("Facility desk"), "**/manage")
    hall = f"/manage/facilities/{visit.site.hall_id}"
    # Waited for: the next step's click on the desk's home page raced this navigation (both
    # swapped in, the lottery page shown at this page's address) under a loaded machine.
    visit.submit(visit.page.locator(f'a[href="{hall}"]').first, f"**{hall}")


def counter_booking(
    visit: Visit, room_id: int, day: date, *, hold: bool = False, headcount: str = "10"
) -> int:
    """Book (or hold) at the counter for group A, by its card number: the booking id."""
    site = visit.site
    visit.go(f"/manage/facilities/{site.hall_id}/book?room={room_id}&date={day.isoformat()}")
    page = visit.page
    expect(page.get_by_role("heading", level=1)).to_have_text(visit._("Counter booking"))
    visit.field("Card number of the registration").fill(site.card_a)
    page.locator("#p-10").check()
    visit.field("Purpose").select_option(index=1)
    visit.field("Number of people").fill(headcount)
    if hold:
        page.get_by_label(visit._("Hold taken by phone (lapses unless completed)")).check()
    visit.submit(visit.button("Book at the counter"), "**/manage/bookings/*?done=1")
    return int(re.findall(r"/manage/bookings/(\d+)", page.url)[0])


def free_day(visit: Visit, room_id: int, start: date) -> date:
    return visit.free_days(room_id, start + timedelta(days=7 * nth(visit)))[0]


@BOTH
def test_day_and_week_board_and_a_counter_booking(visit: Visit) -> None:
    site = visit.site
    open_desk(visit)
    page = visit.page
    hall = page.request.get(f"{site.url}/api/v1/facilities/{site.hall_id}").json()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        hall["name_ja"] if visit.lang == "ja" else hall["name_en"]
    )
    expect(page.locator("table.board")).to_have_count(1)  # today only
    expect(page.locator("table.board tbody th").first).to_be_visible()
    visit.submit(visit.link("Week board"), "**view=week**")
    expect(page.locator("table.board.week")).to_have_count(1)  # the week in one table

    # From the board's free cell to a counter booking for group A, outside the online window.
    day = TODAY + timedelta(days=8 + nth(visit))
    visit.field("Date").fill(day.isoformat())
    visit.submit(visit.button("Show"), f"**date={day.isoformat()}**")
    cell = page.locator(
        f'a[href="/manage/facilities/{site.hall_id}/book?room={site.room_id}'
        f'&date={day.isoformat()}&period=10"]'
    ).first
    visit.submit(cell, "**/book?**")
    visit.field("Card number of the registration").fill(site.card_a)
    visit.field("Purpose").select_option(index=1)
    visit.field("Number of people").fill("8")
    expect(page.locator("#p-10")).to_be_checked()
    visit.submit(visit.button("Book at the counter"), "**/manage/bookings/*?done=1")
    expect(page.get_by_role("status")).to_have_text(visit._("Saved."))
    expect(page.locator("dl.facts")).to_contain_text(GROUP_A)
    expect(page.locator("dl.facts")).to_contain_text(visit._("Confirmed"))

    visit.submit(visit.link("Back to the board"), f"**date={day.isoformat()}**")
    expect(page.locator("table.board")).to_contain_text(GROUP_A)
    visit.shot("desk-board")

    # A card number that is nobody's is said beside the field; the rest stays.
    visit.go(
        f"/manage/facilities/{site.hall_id}/book?room={site.room_id}"
        f"&date={(day + timedelta(days=14)).isoformat()}&period=10"
    )
    visit.field("Card number of the registration").fill("0000000")
    visit.field("Number of people").fill("8")
    visit.field("Purpose").select_option(index=1)
    visit.submit(visit.button("Book at the counter"))
    expect(page.locator("#e-card_number")).to_have_text(
        visit._("No registration has this card number.")
    )
    expect(visit.field("Number of people")).to_have_value("8")


@BOTH
def test_approve_a_pending_booking_and_complete_a_hold(visit: Visit, browser: Browser) -> None:
    site = visit.site
    # A member books the room that needs approval: it waits.
    member = another_visit(browser, site, visit.lang, visit.viewport)
    try:
        member.log_in("member")
        day = free_day(member, site.approval_room_id, date(2027, 1, 19))
        search_one_day(member, day)
        item = slot_item(member, site.approval_room_id, day)
        member.submit(item.locator("a.button"), "**/book?**")
        member.page.locator("#p-10").check()
        member.field("Purpose").select_option(index=1)
        member.field("Number of people").fill("9")
        member.submit(member.button("Book"), "**/my/bookings/*")
        expect(member.page.locator("dl.facts")).to_contain_text(member._("Waiting for approval"))
        pending_id = int(re.findall(r"/my/bookings/(\d+)", member.page.url)[0])
    finally:
        member.page.context.close()

    open_desk(visit)
    page = visit.page
    waiting = page.locator(f'a[href="/manage/bookings/{pending_id}"]')
    visit.submit(waiting, f"**/manage/bookings/{pending_id}")
    visit.submit(visit.button("Approve"), f"**/manage/bookings/{pending_id}?done=1")
    expect(page.locator("dl.facts")).to_contain_text(visit._("Confirmed"))

    # A hold taken by phone lapses unless completed; completing it confirms it.
    hold_day = free_day(visit, site.approval_room_id, date(2027, 1, 26))
    hold_id = counter_booking(visit, site.approval_room_id, hold_day, hold=True)
    facts = page.locator("dl.facts")
    expect(facts).to_contain_text(visit._("Held (provisional)"))
    expect(facts).to_contain_text(visit._("Hold lapses"))
    visit.submit(visit.button("Complete the hold"), f"**/manage/bookings/{hold_id}?done=1")
    expect(facts.locator("dd").first).to_have_text(visit._("Confirmed"))
    expect(facts).not_to_contain_text(visit._("Hold lapses"))


@BOTH
def test_payment_and_a_no_show(visit: Visit) -> None:
    site = visit.site
    open_desk(visit)
    day = TODAY + timedelta(days=1)
    room = site.room_id if nth(visit) == 0 else site.approval_room_id
    booking_id = counter_booking(visit, room, day, headcount="6")
    page = visit.page
    visit.field("Payment").select_option("paid")
    visit.field("How (cash, transfer...)").fill("現金")
    visit.submit(visit.button("Save the payment"), f"**/manage/bookings/{booking_id}?done=1")
    how = "（現金）" if visit.lang == "ja" else " (現金)"  # as each language brackets words
    expect(page.locator("dl.facts")).to_contain_text(f"{visit._('Paid')}{how}")
    # The payment issued a receipt: the desk's page links it, and its PDF says so.
    receipt = visit._("%(document)s (PDF)", document=visit._("Receipt"))
    link = page.get_by_role("link", name=receipt)
    answer = page.request.get(visit.site.url + (link.get_attribute("href") or ""))
    assert answer.ok
    assert answer.headers["content-type"] == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(answer.body())).pages)
    for words in (
        ("領収書", "施設使用料として") if visit.lang == "ja" else ("Receipt", "Facility use fee")
    ):
        assert re.sub(r"\s+", "", words) in re.sub(r"\s+", "", text), text
    # The counter checks the printed receipt: its number and code, from the desk's home.
    number = re.search(r"R-\d{4}-\d{4}-\d{6}", text)
    code = re.search(r"[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}", text)
    assert number, text
    assert code, text
    visit.go("/manage")
    visit.submit(visit.link("Check a permit or receipt"), "**/manage/documents/check")
    visit.field("Number").fill(number[0])
    visit.field("Verification code").fill(code[0].lower())
    visit.submit(visit.button("Check"), "**/manage/documents/check?*")
    expect(page.get_by_role("status")).to_have_text(
        visit._("Valid: this document was issued by the system and still holds.")
    )
    expect(page.locator("dl.facts")).to_contain_text(str(booking_id))
    visit.go(f"/manage/bookings/{booking_id}")

    # Before the day a no-show cannot be recorded: the reason is shown, nothing changes.
    visit.submit(visit.button("Record a no-show"))
    expect(page.locator(".alert")).to_contain_text(visit._("Not yet: the window has not opened."))
    site.clock.set(tokyo(day, 18))
    visit.log_in("manager")
    visit.go(f"/manage/bookings/{booking_id}")
    visit.submit(visit.button("Record a no-show"), f"**/manage/bookings/{booking_id}?done=1")
    expect(page.locator("dl.facts")).to_contain_text(visit._("Not used (no-show)"))


def landed_on(path: str) -> re.Pattern[str]:
    """The page at `path` itself: a glob "**/manage/bookings/N" also matches the cancel form's
    own address (".../cancel?next=/manage/bookings/N"), so waiting for it returned at once and
    the next step raced the form's POST."""
    return re.compile(rf"^[^?]*{re.escape(path)}$")


@BOTH
def test_cancel_as_the_facility_with_the_charge_shown_first(visit: Visit, browser: Browser) -> None:
    site = visit.site
    open_desk(visit)
    page = visit.page
    late = TODAY + timedelta(days=2)  # past the online deadline (3 days before)
    room = site.room_id if nth(visit) == 0 else site.approval_room_id
    late_id = counter_booking(visit, room, late)
    fee = page.locator("dl.facts dd").filter(has_text=re.compile("[¥￥]")).first.inner_text()

    # The group can no longer cancel online: the page says why.
    member = another_visit(browser, site, visit.lang, visit.viewport)
    try:
        member.log_in("member")
        member.go(f"/my/bookings/{late_id}/cancel")
        expect(member.page.locator(".alert")).to_contain_text(
            member._("The deadline for cancelling online has passed: please call the facility.")
        )
        expect(member.button("Cancel the booking")).to_have_count(0)
    finally:
        member.page.context.close()

    # The facility files the group's late cancellation: the full fee, shown before.
    visit.submit(visit.link("Cancel"), f"**/my/bookings/{late_id}/cancel?**")
    charge = page.locator("#charge")
    expect(charge).to_contain_text(fee.split(" ")[0].split("·")[0].strip())
    visit.submit(visit.button("Cancel the booking"), landed_on(f"/manage/bookings/{late_id}"))
    expect(page.locator("dl.facts")).to_contain_text(visit._("Cancelled"))

    # A cancellation for the facility's own reason is free.
    own_id = counter_booking(visit, room, free_day(visit, room, date(2026, 12, 14)))
    visit.submit(visit.link("Cancel"), f"**/my/bookings/{own_id}/cancel?**")
    page.get_by_label(visit._("The facility's reason (free)")).check()
    visit.submit(visit.button("Cancel the booking"), landed_on(f"/manage/bookings/{own_id}"))
    visit.go(f"/my/bookings/{own_id}")
    expect(page.locator("dl.facts")).to_contain_text(visit._("Cancelled"))
    expect(page.locator("dl.facts")).to_contain_text(visit.texts.yen(0))


@BOTH
def test_blocks_and_closures(visit: Visit) -> None:
    site = visit.site
    open_desk(visit)
    page = visit.page
    visit.submit(visit.link("Blocks and closures"), "**/blocks")
    start = free_day(visit, site.room_id, date(2027, 2, 1))
    visit.field("Room").select_option(str(site.room_id))
    visit.field("From").first.fill(start.isoformat())
    visit.field("To").first.fill(start.isoformat())
    visit.field("Reason").select_option("maintenance")
    visit.field("Note").fill(f"空調点検 {visit.lang}")
    visit.submit(visit.button("Block"), "**/blocks?made=1")
    expect(page.get_by_role("status")).to_have_text(visit._("The block is in place."))
    block = page.locator("ul.cards li").filter(has_text=f"空調点検 {visit.lang}")
    expect(block).to_have_count(1)
    search_one_day(visit, start)
    expect(slot_item(visit, site.room_id, start)).to_have_count(0)

    visit.go(f"/manage/facilities/{site.hall_id}/blocks")
    visit.submit(block.get_by_role("button"), "**/blocks")
    expect(block).to_have_count(0)
    search_one_day(visit, start)
    expect(slot_item(visit, site.room_id, start)).to_have_count(1)

    # A closure on a day with a booking lists it, so the desk can call the group.
    day = free_day(visit, site.room_id, date(2027, 2, 15))
    booked = counter_booking(visit, site.room_id, day)
    visit.go(f"/manage/facilities/{site.hall_id}/blocks")
    closure = page.locator("form[action$='/closures']")
    closure.get_by_label(re.compile(f"^{re.escape(visit._('From'))}")).fill(day.isoformat())
    closure.get_by_label(re.compile(f"^{re.escape(visit._('To'))}")).fill(day.isoformat())
    visit.field("Reason shown to groups").fill("設備故障のため")
    visit.submit(visit.button("Close on these dates"))
    expect(page.get_by_role("status")).to_contain_text(
        visit._("The facility is closed on those dates.")
    )
    expect(page.locator(f'a[href="/manage/bookings/{booked}"]')).to_have_count(1)
    search_one_day(visit, day)
    expect(slot_item(visit, site.room_id, day)).to_have_count(0)


@BOTH
def test_export_the_bookings_as_csv(visit: Visit) -> None:
    site = visit.site
    open_desk(visit)
    day = TODAY + timedelta(days=5 + nth(visit))
    booking_id = counter_booking(visit, site.approval_room_id, day)
    visit.go(f"/manage/facilities/{site.hall_id}?date={day.isoformat()}")
    with visit.page.expect_download() as download:
        visit.link("Export the next 31 days as CSV").click()
    raw = Path(download.value.path()).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # a UTF-8 BOM, for Excel
    text = raw.decode("utf-8-sig")
    assert str(booking_id) in text
    assert GROUP_A in text


@BOTH
def test_lottery_statistics(visit: Visit, browser: Browser) -> None:
    site = visit.site
    use_month = date(2027, 6 + nth(visit), 1)
    apply_day, _ = use_month_window(use_month)
    site.clock.set(tokyo(apply_day))
    member = another_visit(browser, site, visit.lang, visit.viewport)
    try:
        member.log_in("member")
        day = member.free_days(site.room_id, use_month.replace(day=8))[0]
        member.go(f"/book?room={site.room_id}&date={day.isoformat()}&period=10")
        member.field("Purpose").select_option(index=1)
        member.field("Number of people").fill("11")
        member.submit(member.button("Apply"), "**/my/lottery?applied=1")
    finally:
        member.page.context.close()

    open_desk(visit)
    visit.submit(visit.link("Lottery statistics"), "**/lottery")
    page = visit.page
    expect(page.get_by_role("heading", level=2).first).to_have_text(visit.texts.month(use_month))
    facts = page.locator("dl.facts")
    expect(facts.locator("dd").first).to_have_text("1")
    table = page.locator("table.list")
    expect(table).to_contain_text(visit.texts.day(day))
    expect(table).to_contain_text(room_name(visit, site.room_id))


@BOTH
def test_a_manager_acts_only_at_their_facility(visit: Visit) -> None:
    site = visit.site
    visit.log_in("manager")
    other = next(
        f["id"]
        for f in visit.page.request.get(f"{site.url}/api/v1/facilities").json()["items"]
        if f["id"] != site.hall_id
    )
    for path in (f"/manage/facilities/{other}", f"/manage/facilities/{other}/blocks"):
        visit.page.goto(site.url + path)
        expect(visit.page.get_by_role("heading", level=1)).to_have_text(visit._("Sorry"))
        expect(visit.page.locator(".alert")).to_have_text(
            visit._("That facility is not assigned to you.")
        )
        visit.check()
    # A group's member sees their booking, without the desk's link.
    day = free_day(visit, site.room_id, date(2027, 2, 9))
    visit.log_in("member")
    booking_id = book_from_search(visit, site.room_id, day)
    visit.go(f"/my/bookings/{booking_id}")
    expect(visit.link("Open at the facility desk")).to_have_count(0)
