"""A civic group's journeys in a real browser: find a room, book it, see, download and cancel
it, the lottery from application to confirmation, the calendar feed, registering a group and
keeping its roster. Each runs in Japanese on a phone and in English on a desktop (the search
in all four combinations); every page reached is checked by axe-core (conftest.Visit.check).
"""

from __future__ import annotations

import io
import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect
from pypdf import PdfReader

from booking.notifications.booking_mail import date_en, date_ja
from tests.browser.conftest import ALL_COMBINATIONS, COMBINATIONS, Visit, another_visit
from tests.browser.site import Site, use_month_window
from tests.browser.steps import book_from_search, nth, room_name, search_one_day, slot_item, tokyo

BOTH = pytest.mark.parametrize("visit", COMBINATIONS, indirect=True)


@pytest.mark.parametrize("visit", ALL_COMBINATIONS, indirect=True)
def test_find_free_rooms_as_a_list_and_a_month_grid(visit: Visit) -> None:
    site = visit.site
    visit.go("/")
    expect(visit.page.get_by_role("heading", level=1)).to_have_text(visit._("Find a free room"))
    visit.field("Ward").select_option(site.hall_ward)
    visit.field("From").fill("2027-01-04")
    visit.field("To").fill("2027-01-31")
    visit.field("People (at least)").fill("20")
    visit.submit(visit.button("Search"), "**/search?**")
    # The free slots a day at a time (the days with free slots as links), by facility and
    # room (issue 18).
    shown = visit.page.locator("section.day")
    expect(shown.locator("li.slot").first).to_be_visible()
    first_day = shown.locator("h3 time").get_attribute("datetime")
    assert first_day is not None
    assert first_day >= "2027-01-04"
    # Results are per day: nothing closed on the New Year holidays (29 Dec - 3 Jan) shows.
    assert visit.page.locator('nav.days time[datetime="2027-01-03"]').count() == 0

    # After a search the form is folded behind「条件を変える」: opened to change the view.
    visit.page.locator("details.search-form > summary").click()
    visit.page.get_by_label(visit._("Month grid")).check()
    visit.submit(visit.button("Search"), "**view=grid**")
    grid = visit.page.locator("table.grid")
    expect(grid).to_be_visible()
    expect(grid.locator("thead th")).to_have_count(2 + 28)  # the room, the period, 28 days
    expect(grid.locator("a.mark.open").first).to_be_visible()
    visit.shot("search-grid")

    # Bad input is shown beside its field, what was typed stays.
    visit.page.locator("details.search-form > summary").click()
    visit.field("To").fill("2027-01-01")
    visit.submit(visit.button("Search"))
    expect(visit.page.locator("#e-to")).to_have_text(visit._("The last date is before the first."))
    expect(visit.field("From")).to_have_value("2027-01-04")
    expect(visit.field("People (at least)")).to_have_value("20")


@BOTH
def test_a_facility_page_has_rooms_fees_closures_and_a_map(visit: Visit) -> None:
    site = visit.site
    search_one_day(visit, visit.free_days(site.room_id, date(2027, 1, 5))[0])
    item = slot_item(visit, site.room_id, visit.free_days(site.room_id, date(2027, 1, 5))[0])
    facility = visit.page.locator(f'#results h4.facility a[href="/facilities/{site.hall_id}"]')
    expect(item).to_be_visible()
    visit.submit(facility.first, f"**/facilities/{site.hall_id}")
    page = visit.page
    expect(page.get_by_role("heading", name=visit._("Rooms and fees"))).to_be_visible()
    expect(page.locator(f"#room-{site.room_id}")).to_have_text(room_name(visit, site.room_id))
    fees = page.locator(f"#room-{site.room_id} ~ table.fees")
    expect(fees).to_contain_text("¥" if visit.lang == "en" else "￥")
    map_link = page.get_by_role("link", name=visit.containing("Map"))
    assert (map_link.get_attribute("href") or "").startswith("https://www.openstreetmap.org/")
    expect(page.get_by_role("heading", name=visit._("Closures"))).to_be_visible()
    # The New Year holidays are within 60 days of the 25th of November.
    expect(page.locator('ul.dates time[datetime="2027-01-01"]')).to_have_count(1)


@BOTH
def test_book_first_come_see_download_and_cancel(visit: Visit) -> None:
    site = visit.site
    visit.log_in("member")
    day = visit.free_days(site.room_id, date(2027, 1, 12) + timedelta(days=7 * nth(visit)))[0]
    booking_id = book_from_search(visit, site.room_id, day)
    page = visit.page
    expect(page.locator("dl.facts")).to_contain_text(visit._("Confirmed"))
    expect(page.locator("dl.facts")).to_contain_text(visit.texts.long_day(day))
    visit.shot("booking")

    # The same slot is now taken for everyone.
    search_one_day(visit, day)
    expect(slot_item(visit, site.room_id, day)).to_have_count(0)

    visit.submit(visit.link("My bookings"), "**/my/bookings")
    card = page.locator("ul.cards li").filter(
        has=page.locator(f'a[href="/my/bookings/{booking_id}"]')
    )
    expect(card).to_contain_text(visit._("Unpaid"))
    with page.expect_download() as csv_download:
        visit.link("Download as CSV").click()
    csv = Path(csv_download.value.path()).read_text(encoding="utf-8-sig")
    assert str(booking_id) in csv
    assert day.isoformat() in csv

    visit.submit(card.get_by_role("link"), f"**/my/bookings/{booking_id}")
    with page.expect_download() as ics_download:
        visit.link("Add to my calendar (.ics)").click()
    ics = Path(ics_download.value.path()).read_text(encoding="utf-8")
    assert "BEGIN:VEVENT" in ics
    assert f"DTSTART;TZID=Asia/Tokyo:{day.strftime('%Y%m%d')}T09" in ics

    # The usage permit, as the group prints it from its booking's page.
    permit = page.get_by_role("link", name=visit._("Usage permit (PDF)"))
    answer = page.request.get(site.url + (permit.get_attribute("href") or ""))
    assert answer.ok
    assert answer.headers["content-type"] == "application/pdf"
    pages = PdfReader(io.BytesIO(answer.body())).pages
    text = re.sub(r"\s+", "", "".join(p.extract_text() for p in pages))
    ja = visit.lang == "ja"
    for words in (
        "利用許可書" if ja else "Facility Use Permit",
        room_name(visit, site.room_id),
        date_ja(day) if ja else date_en(day),
    ):
        assert re.sub(r"\s+", "", words) in text, (words, text)
    assert re.search(r"\d{4}-\d{4}-\d{6}", text), text  # its permit number

    # Cancelling shows the charge first; early enough, it is free.
    visit.submit(visit.link("Cancel this booking"), f"**/my/bookings/{booking_id}/cancel")
    expect(page.locator("#charge")).to_have_text(visit._("Cancelling now is free of charge."))
    visit.submit(visit.button("Cancel the booking"), f"**/my/bookings/{booking_id}")
    expect(page.locator("dl.facts")).to_contain_text(visit._("Cancelled"))
    search_one_day(visit, day)
    expect(slot_item(visit, site.room_id, day)).to_have_count(1)


@BOTH
def test_booking_errors_are_shown_beside_their_fields(visit: Visit) -> None:
    site = visit.site
    visit.log_in("member")
    day = visit.free_days(site.room_id, date(2027, 2, 2) + timedelta(days=7 * nth(visit)))[0]
    visit.go(f"/book?room={site.room_id}&date={day.isoformat()}&period=10")
    page = visit.page
    # What the browser lets through but the server refuses: no period chosen.
    page.locator("#p-10").uncheck()
    visit.field("Purpose").select_option(index=1)
    visit.field("Number of people").fill("9999")
    visit.field("Name of the event (optional)").fill("定期練習会")
    visit.submit(visit.button("Book"))
    expect(page.locator("#e-periods")).to_have_text(visit._("Choose one or more periods."))
    # Nothing typed is lost.
    expect(visit.field("Name of the event (optional)")).to_have_value("定期練習会")
    expect(visit.field("Number of people")).to_have_value("9999")
    # Over the room's capacity: the service's rule, in the user's language, by the field.
    page.locator("#p-10").check()
    visit.submit(visit.button("Book"))
    expect(page.locator("#e-headcount")).to_have_text(visit._("More people than the room holds."))
    expect(page.locator("#p-10")).to_be_checked()
    expect(page.locator("[aria-invalid=true]")).to_have_count(1)


@BOTH
def test_lottery_apply_quota_draw_and_confirm(visit: Visit, browser: Browser) -> None:
    site = visit.site
    use_month = date(2027, 4 + nth(visit), 1)  # each run its own cycle
    apply_day, confirm_day = use_month_window(use_month)
    site.clock.set(tokyo(apply_day))
    day = visit.free_days(site.room_id, use_month.replace(day=6))[0]
    visit.log_in("member")
    search_one_day(visit, day)
    item = slot_item(visit, site.room_id, day)
    expect(item).to_contain_text(visit._("Lottery"))
    expect(item).to_contain_text(visit.texts.ngettext("%(n)s applicant", "%(n)s applicants", 0))
    visit.submit(item.locator("a.button"), "**/book?**")
    expect(visit.page.get_by_role("heading", level=1)).to_have_text(
        visit._("Apply for the lottery")
    )
    visit.page.locator("#p-10").check()
    visit.field("Purpose").select_option(index=1)
    visit.field("Number of people").fill("15")
    visit.submit(visit.button("Apply"), "**/my/lottery?applied=1")
    page = visit.page
    expect(page.get_by_role("status")).to_have_text(
        visit._("Your application is in. The draw is on the 24th.")
    )
    expect(page.locator("main")).to_contain_text(
        visit._("%(left)s of %(limit)s period-slots left", left=7, limit=8)
    )
    visit.shot("lottery")

    # The count of applicants is public, and applying twice is refused beside the periods.
    search_one_day(visit, day)
    item = slot_item(visit, site.room_id, day)
    expect(item).to_contain_text(visit.texts.ngettext("%(n)s applicant", "%(n)s applicants", 1))
    visit.go(f"/book?room={site.room_id}&date={day.isoformat()}&period=10")
    visit.field("Purpose").select_option(index=1)
    visit.field("Number of people").fill("15")
    visit.submit(visit.button("Apply"))
    expect(page.locator(".alert")).to_contain_text(
        visit._("Your group has already applied for this slot.")
    )

    # The draw on the 24th (the worker's job), then the member confirms on the 25th.
    site.clock.set(tokyo(apply_day.replace(day=24), 10))
    assert site.draw(site.clock) >= 1
    site.clock.set(tokyo(confirm_day))
    visit.log_in("member")  # days later: the session of the 20th has ended
    visit.go("/my/lottery")
    expect(page.locator("main")).to_contain_text(visit._("Won: confirm it"))
    visit.submit(page.get_by_role("button", name=visit.containing("Confirm the booking")))
    page.wait_for_url("**/my/bookings/*?done=1")
    expect(page.locator("dl.facts")).to_contain_text(visit._("Confirmed"))
    expect(page.locator("dl.facts")).to_contain_text(visit.texts.long_day(day))

    # The group's representative sees it too.
    other = another_visit(browser, site, visit.lang, visit.viewport)
    try:
        other.log_in("representative")
        other.go("/my/lottery")
        expect(other.page.locator("main")).to_contain_text(visit._("Won and confirmed"))
    finally:
        other.page.context.close()


@BOTH
def test_subscribe_to_my_calendar(visit: Visit) -> None:
    site = visit.site
    visit.log_in("member")
    day = visit.free_days(site.room_id, date(2027, 2, 16) + timedelta(days=7 * nth(visit)))[0]
    book_from_search(visit, site.room_id, day)
    visit.submit(visit.link("Calendar"), "**/my/calendar")
    page = visit.page
    visit.field("A name for it (optional)").fill(f"合唱団の予定 {visit.lang}")
    # Wait for the new page's state, not for time: the click returns before htmx swaps it in.
    visit.button("Make the address").click()
    expect(page.locator("#feed-url")).to_be_visible()
    visit.check()
    address = page.locator("#feed-url").input_value()
    webcal = page.get_by_role("link", name=visit._("Subscribe in my calendar app"))
    assert (webcal.get_attribute("href") or "").startswith("webcal://")
    feed = page.request.get(address)
    assert feed.ok
    assert feed.headers["content-type"].startswith("text/calendar")
    assert f"DTSTART;TZID=Asia/Tokyo:{day.strftime('%Y%m%d')}" in feed.text()

    # A new address: the old one stops at once.
    card = page.locator("ul.cards li").filter(has_text=f"合唱団の予定 {visit.lang}")
    card.get_by_role("button", name=visit.containing("New address (the old stops)")).click()
    expect(page.locator("#feed-url")).not_to_have_value(address)
    visit.check()
    assert page.request.get(address).status == 404


@BOTH
def test_register_a_group_then_log_in(visit: Visit, browser: Browser) -> None:
    stamp = f"{visit.lang}{visit.viewport}"
    visit.go("/register")
    page = visit.page
    visit.field("Name of the group").fill(f"中原ハイキングの会 {stamp}")
    visit.field("Category").select_option("general")
    fieldset = page.locator("fieldset").filter(
        has=page.locator("legend", has_text=visit._("Representative"))
    )
    fieldset.get_by_label(re.compile(rf"^{visit._('Name')}")).fill("山田 花子")
    fieldset.get_by_label(re.compile(rf"^{visit._('Date of birth')}")).fill("1975-04-01")
    fieldset.get_by_label(re.compile(rf"^{visit._('Tie to the city')}")).select_option("lives")
    email = f"hiking-{stamp}@example.jp"
    visit.field("E-mail address (for logging in)").fill(email)
    visit.field("Password").fill("mountain trail 2027")
    # Only one member: too few. The form comes back with everything kept but the password.
    page.locator("#f-m0_name").fill("佐藤 一郎")
    page.locator("#f-m0_birth_date").fill("1980-05-05")
    page.locator("#f-m0_residency").select_option("works")
    visit.submit(visit.button("Send the registration"))
    expect(page.locator(".alert")).to_be_visible()
    expect(visit.field("Name of the group")).to_have_value(f"中原ハイキングの会 {stamp}")
    expect(page.locator("#f-m0_name")).to_have_value("佐藤 一郎")
    expect(visit.field("Password")).to_have_value("")

    visit.field("Password").fill("mountain trail 2027")
    for i in range(1, 4):
        page.locator(f"#f-m{i}_name").fill(f"会員 {i}")
        page.locator(f"#f-m{i}_birth_date").fill(f"198{i}-01-01")
        page.locator(f"#f-m{i}_residency").select_option("lives")
    visit.submit(visit.button("Send the registration"), "**/login?done=mailed")
    expect(page.get_by_role("status")).to_have_text(
        visit._(
            "Thank you. To finish the registration, open the link we have mailed to the "
            "representative's e-mail address within 24 hours."
        )
    )
    # The mail's link, and the password chosen above, finish it.
    visit.go(visit.site.mailed_link(email, "registration_confirm"))
    visit.field("Password").fill("mountain trail 2027")
    visit.submit(visit.button("Finish the registration"), "**/login?done=registered")
    expect(page.get_by_role("status")).to_have_text(
        visit._(
            "Thank you: your registration was received. A facility will check it; you can log "
            "in now with your e-mail address and password."
        )
    )

    visit.field("Card number or e-mail address").fill(email)
    visit.field("Password").fill("mountain trail 2027")
    visit.submit(visit.button("Log in"), "**/my/bookings")
    visit.submit(visit.link("My groups"), "**/my/groups")
    card = page.locator("ul.cards li").filter(has_text=f"中原ハイキングの会 {stamp}")
    expect(card).to_contain_text(visit._("Waiting for a facility to check it"))
    expect(card).to_contain_text(visit._("You are the representative"))


@BOTH
def test_forgotten_password_from_the_login_to_a_new_one(visit: Visit) -> None:
    site = visit.site
    email = f"forgetful-{visit.lang}{visit.viewport}@example.jp"
    # Someone registered online (through the API, link and all) who forgets the password.
    rep = {"name": "忘れ 太郎", "birth_date": "1970-01-01", "residency": "lives"}
    sent = visit.page.request.post(
        f"{site.url}/api/v1/groups",
        data={
            "kind": "individual",
            "name": "忘れ 太郎",
            "representative": {**rep, "email": email, "password": "first passphrase"},
        },
    )
    assert sent.status == 202, sent.text()
    token = site.mailed_link(email, "registration_confirm").split("token=", 1)[1]
    done = visit.page.request.post(
        f"{site.url}/api/v1/groups/confirm",
        data={"token": token, "password": "first passphrase"},
    )
    assert done.status == 201, done.text()

    visit.go("/login")
    page = visit.page
    visit.submit(visit.link("Forgotten your password?"), "**/password/forgot")
    visit.field("Card number or e-mail address").fill(email)
    visit.submit(visit.button("Send the link"), "**/password/forgot?sent=1")
    expect(page.get_by_role("status")).to_be_visible()
    visit.go(site.mailed_link(email, "password_reset"))
    expect(page.get_by_role("heading", level=1)).to_have_text(visit._("Set a new password"))
    visit.field("New password").fill("second passphrase")
    visit.field("The same password again").fill("second passphrase")
    visit.submit(visit.button("Set the password"), "**/login?done=password_set")
    expect(page.get_by_role("status")).to_have_text(
        visit._("Your password is set: log in with it.")
    )
    visit.field("Card number or e-mail address").fill(email)
    visit.field("Password").fill("second passphrase")
    visit.submit(visit.button("Log in"), "**/my/bookings")


@BOTH
def test_the_representative_keeps_the_roster(visit: Visit) -> None:
    site = visit.site
    visit.log_in("representative")
    visit.go(f"/my/groups/{site.group_a}")
    page = visit.page
    roster = page.locator("table.list tbody tr")
    before = roster.count()
    # A birth date in the future is refused beside the field; the name stays.
    visit.field("Name").fill(f"新会員 {visit.lang}")
    visit.field("Date of birth").fill("2090-01-01")
    visit.field("Tie to the city").select_option("studies")
    visit.submit(visit.button("Add the member"))
    expect(page.locator("#e-new_birth_date")).to_have_text(
        visit._("a birth date cannot be in the future")
    )
    expect(visit.field("Name")).to_have_value(f"新会員 {visit.lang}")

    visit.field("Date of birth").fill("2001-07-07")
    visit.submit(visit.button("Add the member"), f"**/my/groups/{site.group_a}?added=1")
    expect(roster).to_have_count(before + 1)
    expect(page.locator("table.list")).to_contain_text(f"新会員 {visit.lang}")

    row = roster.filter(has_text=f"新会員 {visit.lang}")
    visit.submit(row.get_by_role("button"), f"**/my/groups/{site.group_a}?removed=1")
    expect(roster).to_have_count(before)
    # Down to five members, the next removal would break the rule: refused, roster unchanged.
    last = roster.filter(has=page.get_by_role("button")).last
    visit.submit(last.get_by_role("button"))
    expect(page.locator(".alert")).to_be_visible()
    expect(roster).to_have_count(before)


@BOTH
def test_a_member_cannot_reach_the_desk_nor_another_groups_booking(
    visit: Visit, site: Site
) -> None:
    visit.log_in("member")
    visit.page.goto(site.url + "/manage")
    expect(visit.page.get_by_role("heading", level=1)).to_have_text(visit._("Sorry"))
    visit.check()
    expect(visit.page.get_by_role("link", name=visit._("Facility desk"))).to_have_count(0)
