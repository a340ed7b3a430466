"""The registration desk in a real browser, in Japanese on a phone and on a desktop: a group
registers on the public form, the clerk finds it in the queue with the documents to check,
activates it, reads the card number out and prints the card (its PDF's text is checked).
"""

from __future__ import annotations

import io
import re

import pytest
from playwright.sync_api import Browser, expect
from pypdf import PdfReader

from tests.browser.conftest import Visit, another_visit
from tests.browser.steps import register_online

JAPANESE = pytest.mark.parametrize("visit", [("ja", "phone"), ("ja", "desktop")], indirect=True)


@JAPANESE
def test_from_the_public_form_through_the_queue_to_the_printed_card(
    visit: Visit, browser: Browser
) -> None:
    name = f"中原ハイキングの会 窓口{visit.viewport}"
    email = f"desk-{visit.viewport}@example.jp"
    registrant = another_visit(browser, visit.site, visit.lang, visit.viewport)
    try:
        register_online(registrant, name, email, "mountain trail 2027")
    finally:
        registrant.page.context.close()

    # The clerk of the hall: from the desk to the queue, where the group waits (city-wide).
    visit.log_in("manager")
    page = visit.page
    visit.submit(visit.link("Facility desk"), "**/manage")
    visit.submit(visit.link("Registrations: the queue and the search"), "**/manage/registrations")
    expect(page.get_by_role("heading", level=2)).to_have_text(
        visit._("Waiting for a check, oldest first")
    )
    entry = page.locator("ul.queue > li").filter(has_text=name)
    expect(entry).to_have_count(1)
    # Two of the four members and the representative live in the city: their proof is asked.
    expect(entry).to_contain_text(visit._("The representative's identity document"))
    expect(entry).to_contain_text(
        visit._("Proof of living, working or studying in the city (in-city members)")
    )
    expect(entry).to_contain_text(visit._("%(n)s in the city", n=3))

    # The same registration found by its e-mail address, typed in capitals.
    visit.field("Card number, name, phone, e-mail or a member's name").fill(email.upper())
    visit.submit(visit.button("Search"), "**/manage/registrations?q=**")
    found = page.locator("ul.queue > li")
    expect(found).to_have_count(1)
    visit.submit(found.get_by_role("link", name=name), re.compile(r"/manage/registrations/\d+$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    expect(page.locator("ul.documents")).to_contain_text(visit._("The member list"))
    history = page.locator("table.list").last
    expect(history).to_contain_text(visit._("Registered"))

    visit.submit(
        visit.button("Checked: activate and issue the card"), "**/manage/registrations/*?done=*"
    )
    expect(page.get_by_role("status")).to_have_text(visit._("Activated: the card is issued."))
    number = page.locator("p.card-number").inner_text()
    assert re.fullmatch(r"[1-9][0-9]{6}", number), number
    expect(page.locator("dl.facts")).to_contain_text(visit._("Active"))
    expect(history).to_contain_text(visit._("Activated: card issued"))
    visit.shot("registration-desk")

    # The printed card: the link's PDF, its text read back.
    link = page.get_by_role("link", name=visit._("Print the card (PDF)"))
    answer = page.request.get(visit.site.url + (link.get_attribute("href") or ""))
    assert answer.ok
    assert answer.headers["content-type"] == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(answer.body())).pages)
    assert f"{number[:3]} {number[3:]}" in text
    assert name in text
    assert "利用者登録カード" in text
    assert "2027年3月31日" in text
