"""The wait list (キャンセル待ち) in a real browser: a second group finds a taken slot on the
month grid and joins its line, the first group cancels, the second gets the offer mail, follows
its link and accepts: a confirmed booking. In Japanese on a phone and in English on a desktop;
every page reached is checked by axe-core (conftest.Visit.check).
"""

from __future__ import annotations

import asyncio
import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import select

from booking.accounts import groups
from booking.accounts.models import User
from booking.accounts.sessions import principal_for_user
from booking.db.engine import create_engine, create_sessionmaker
from tests.browser.conftest import COMBINATIONS, Visit, another_visit
from tests.browser.site import Site
from tests.browser.steps import book_from_search, nth
from tests.conftest import in_thread
from tests.people import PASSWORD, registration

WAITING_GROUP = "高津俳句の会"
WAITING_EMAIL = "rep-haiku@example.jp"
_seeded: set[str] = set()


def waiting_group(site: Site) -> str:
    """A second active group on the site (its representative's login), made once."""
    if site.url not in _seeded:
        in_thread(lambda: asyncio.run(_register(site)))
        _seeded.add(site.url)
    return WAITING_EMAIL


async def _register(site: Site) -> None:
    engine = create_engine(site.settings)
    try:
        async with create_sessionmaker(engine)() as session:
            group = await groups.register(
                session,
                site.clock,
                site.settings,
                None,
                registration(WAITING_GROUP, WAITING_EMAIL, password=PASSWORD),
                None,
            )
            admin = await session.scalar(select(User).where(User.email == site.users["admin"]))
            assert admin is not None
            principal = await principal_for_user(session, admin)
            activated = await groups.activate(
                session, site.clock, site.settings, principal, group.id, None
            )
            activated.valid_until = date(2028, 3, 31)  # as the site's group A: renewed already
            await session.commit()
    finally:
        await engine.dispose()


def log_in_as(visit: Visit, email: str) -> None:
    visit.go("/login")
    visit.field("Card number or e-mail address").fill(email)
    visit.field("Password").fill(PASSWORD)
    visit.submit(visit.button("Log in"), "**/my/bookings**")


def join_from_the_grid(visit: Visit, room_id: int, day: date) -> None:
    """The month grid of that day in the hall's ward, the taken morning chosen, the line joined."""
    site = visit.site
    visit.go("/search")
    visit.field("Ward").select_option(site.hall_ward)
    visit.field("Kind of facility").select_option("civic_hall")
    visit.field("From").fill(day.isoformat())
    visit.field("To").fill(day.isoformat())
    visit.page.get_by_label(visit._("Month grid")).check()
    visit.submit(visit.button("Search"), "**view=grid**")
    taken = visit.page.locator(
        f'a.mark.booked[href="/my/waitlist/join?room={room_id}&date={day.isoformat()}&period=10"]'
    )
    expect(taken).to_have_count(1)
    visit.submit(taken, "**/my/waitlist/join?**")
    page = visit.page
    expect(page.get_by_role("heading", level=1)).to_have_text(visit._("Join the wait list"))
    expect(page.locator("#p-10")).to_be_checked()  # the period chosen on the grid
    visit.submit(visit.button("Join the wait list"), "**/my/waitlist?joined=1")
    expect(page.get_by_role("status")).to_have_text(
        visit._("Your group is on the wait list. We will mail you if the slot is freed.")
    )
    expect(page.locator("ul.cards li")).to_contain_text(visit._("Your group is next in line."))


@pytest.mark.parametrize("visit", COMBINATIONS, indirect=True)
def test_a_second_group_waits_gets_the_freed_slot_by_mail_and_books_it(
    visit: Visit, browser: Browser
) -> None:
    site = visit.site
    email = waiting_group(site)
    # Group A books a morning in the first-come window.
    visit.log_in("member")
    day = visit.free_days(site.room_id, date(2027, 1, 20) + timedelta(days=7 * nth(visit)))[0]
    booking_id = book_from_search(visit, site.room_id, day)

    second = another_visit(browser, site, visit.lang, visit.viewport)
    try:
        log_in_as(second, email)
        join_from_the_grid(second, site.room_id, day)

        # Group A cancels: the slot is not free for anyone, it is offered to the line.
        visit.go(f"/my/bookings/{booking_id}/cancel")
        visit.submit(visit.button("Cancel the booking"), f"**/my/bookings/{booking_id}")
        expect(visit.page.locator("dl.facts")).to_contain_text(visit._("Cancelled"))
        assert day not in visit.free_days(site.room_id, day, days=1)

        # The second group's mail links to its wait list, which shows the offer.
        link = site.mailed_link(email, "waitlist_offer")
        assert link.startswith("/my/waitlist")
        second.go(link)
        page = second.page
        card = page.locator("ul.cards li").filter(
            has=page.locator(f'time[datetime="{day.isoformat()}"]')
        )
        expect(card.get_by_role("link", name=second.containing("Accept the offer"))).to_be_visible()
        expect(card.get_by_role("button", name=second.containing("Decline"))).to_be_visible()
        # My bookings says so too, linking to the offer.
        second.go("/my/bookings")
        notice = page.locator("div.notice.offer")
        expect(notice).to_contain_text(second.texts.long_day(day))
        second.submit(notice.locator("a").first, "**/my/waitlist/offers/*")
        expect(page.get_by_role("heading", level=1)).to_have_text(
            second._("A freed slot offered to your group")
        )
        second.field("Purpose").select_option(index=1)
        second.field("Number of people").fill("15")
        second.submit(second.button("Accept and book"), re.compile(r".*/my/bookings/\d+\?done=1$"))
        expect(page.get_by_role("status")).to_have_text(second._("Your booking is made."))
        facts = page.locator("dl.facts")
        expect(facts).to_contain_text(second._("Confirmed"))
        expect(facts).to_contain_text(second.texts.long_day(day))
        expect(facts).to_contain_text(WAITING_GROUP)
        second.shot("waitlist-booked")
    finally:
        second.page.context.close()
