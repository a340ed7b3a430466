"""The text size (標準 / 大 / 特大) and the high-contrast theme over HTTP: the footer's links set
a cookie for a year and come back to the page; every page then carries the choice as classes
on <html> (error pages too); a cookie of another value is ignored, never a 500; a link with
another value is refused (400, in the visitor's language) and sets nothing."""

from __future__ import annotations

import html
import re

import httpx

from booking.pages.display import Display, read_display
from tests.pages.browsing import cookies
from tests.people import World
from tests.places import Hall


def _html_tag(page: str) -> str:
    found = re.search(r"<html[^>]*>", page)
    assert found is not None
    return found[0]


def _footer_links(page: str) -> dict[str, str]:
    """The display links of the footer: their visible words -> href."""
    nav = page[page.index('<nav id="display"') :]
    nav = nav[: nav.index("</nav>")]
    return {
        html.unescape(re.sub(r"<span class=\"visually-hidden\">.*?</span>", "", words)): href
        for href, words in re.findall(r'<a href="([^"]+)"[^>]*>(.*?)</a>', nav)
    }


def test_a_cookie_of_another_value_is_the_default() -> None:
    assert read_display({}) == Display("normal", "normal")
    assert read_display({"text_size": "larger", "contrast": "high"}).classes == (
        "text-larger contrast-high"
    )
    for bad in ("huge", "LARGE", "large ", "", "x" * 4000, "normal;large"):
        assert read_display({"text_size": bad, "contrast": bad}) == Display(), bad
    assert read_display({"text_size": "large"}).classes == "text-large"


async def test_the_footer_links_set_the_cookies_and_come_back(client: httpx.AsyncClient) -> None:
    page = await client.get("/search", headers={"Cookie": "lang=ja"})
    assert page.status_code == 200
    assert _html_tag(page.text) == '<html lang="ja">'  # nothing chosen: a plain page
    links = _footer_links(page.text)
    assert set(links) == {"標準", "大", "特大", "高コントラスト"}
    assert "#display" in page.text  # the header's way down to them

    chosen = await client.get(html.unescape(links["特大"]))
    assert chosen.status_code == 303
    assert chosen.headers["location"] == "/search"
    cookie = chosen.headers["set-cookie"]
    assert cookie.startswith("text_size=larger;")
    assert "Max-Age=31622400" in cookie
    assert "Path=/" in cookie
    assert "samesite=lax" in cookie.lower()
    contrast = await client.get(html.unescape(links["高コントラスト"]))
    assert contrast.status_code == 303
    assert contrast.headers["set-cookie"].startswith("contrast=high;")

    client.cookies.clear()
    shown = await client.get(
        "/search", headers={"Cookie": "lang=ja; text_size=larger; contrast=high"}
    )
    assert _html_tag(shown.text) == '<html lang="ja" class="text-larger contrast-high">'
    # The choice is marked in the footer, for a screen reader too.
    current = re.findall(
        r'aria-current="true"><span class="visually-hidden">([^<]+)</span>([^<]+)<', shown.text
    )
    assert current == [("文字の大きさ： ", "特大"), ("配色： ", "高コントラスト")]

    # Back to the defaults: the classes go.
    normal = await client.get("/display?text_size=normal&contrast=normal&next=/search")
    assert normal.status_code == 303
    assert {c.split(";")[0] for c in normal.headers.get_list("set-cookie")} == {
        "text_size=normal",
        "contrast=normal",
    }


async def test_every_page_carries_the_choice_error_pages_too(
    world: World, hall: Hall, client: httpx.AsyncClient
) -> None:
    chosen = "; text_size=large; contrast=high"
    for role, path, status in [
        ("anonymous", f"/facilities/{hall.facility_id}", 200),
        ("anonymous", "/login", 200),
        ("member", "/my/bookings", 200),
        ("anonymous", "/nowhere", 404),
        ("member", f"/book?room={hall.room_id}&date=9999-12-31&period=20", 404),
    ]:
        client.cookies.clear()
        jar = cookies(world, role)["Cookie"] + chosen
        page = await client.get(path, headers={"Cookie": jar})
        assert page.status_code == status, path
        assert 'class="text-large contrast-high"' in _html_tag(page.text), path
    client.cookies.clear()
    board = await client.get(
        f"/manage/facilities/{hall.facility_id}?view=week",
        headers={"Cookie": hall.manager["Cookie"] + chosen},
    )
    assert board.status_code == 200
    assert 'class="text-large contrast-high"' in _html_tag(board.text)


async def test_bad_cookie_values_are_ignored_never_a_500(client: httpx.AsyncClient) -> None:
    for bad in ("huge", "LARGE", "0", "x" * 3000, "%00", "high%20"):
        client.cookies.clear()
        page = await client.get(
            "/search", headers={"Cookie": f"lang=en; text_size={bad}; contrast={bad}"}
        )
        assert page.status_code == 200, bad
        assert _html_tag(page.text) == '<html lang="en">', bad
        assert 'aria-current="true"><span class="visually-hidden">Text size: </span>Normal' in (
            page.text
        )


async def test_a_link_with_another_value_is_refused_and_sets_nothing(
    client: httpx.AsyncClient,
) -> None:
    for query, words in [
        ("text_size=huge", "文字の大きさは標準・大・特大から選んでください。"),
        ("text_size=", "文字の大きさは標準・大・特大から選んでください。"),
        ("text_size=large&contrast=dark", "配色は標準か高コントラストを選んでください。"),
        ("contrast=HIGH", "配色は標準か高コントラストを選んでください。"),
        ("next=/search", "文字の大きさか配色を選んでください。"),
        ("", "文字の大きさか配色を選んでください。"),
    ]:
        client.cookies.clear()
        refused = await client.get(f"/display?{query}", headers={"Cookie": "lang=ja"})
        assert refused.status_code == 400, query
        assert refused.headers["content-type"].startswith("text/html")
        assert words in refused.text, query
        assert "set-cookie" not in refused.headers, query
    # Only our own pages to come back to, as for the language.
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example", "search"):
        client.cookies.clear()
        away = await client.get("/display", params={"text_size": "large", "next": target})
        assert away.status_code == 303, target
        assert away.headers["location"] == "/", target
