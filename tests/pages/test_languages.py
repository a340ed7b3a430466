"""The pages' language: the cookie, else the browser's Accept-Language, else Japanese; and
names from the data shown in the page's language, notes kept out of them."""

from __future__ import annotations

import re

import pytest

from tests.helpers import facility_id
from tests.pages.browsing import html_lang


@pytest.mark.parametrize(
    ("accept_language", "lang"),
    [
        (None, "ja"),
        ("en-US,en;q=0.9", "en"),
        ("en", "en"),
        ("EN-gb", "en"),
        ("ja", "ja"),
        ("ja-JP,ja;q=0.9,en-US;q=0.8,en;q=0.7", "ja"),
        ("fr-FR", "ja"),
        ("*", "ja"),
        ("", "ja"),
        ("ja;q=0.4, en;q=0.8", "en"),  # q-values, not the order, decide
        ("en;q=0.1, ja;q=0.9", "ja"),
        ("en;q=0, fr", "ja"),  # q=0: not English
        ("fr, en;q=0.5", "en"),  # English acceptable, Japanese not asked for
        ("en;q=nonsense", "ja"),
    ],
)
async def test_first_visit_follows_accept_language(client, accept_language, lang):
    headers = {} if accept_language is None else {"Accept-Language": accept_language}
    response = await client.get("/search", headers=headers)
    assert response.status_code == 200, response.text
    assert html_lang(response.text) == lang


@pytest.mark.parametrize(
    ("cookie", "accept_language"), [("ja", "en-US,en;q=0.9"), ("en", "ja-JP,ja")]
)
async def test_the_language_cookie_wins_over_accept_language(client, cookie, accept_language):
    response = await client.get(
        "/search", headers={"Accept-Language": accept_language, "Cookie": f"lang={cookie}"}
    )
    assert html_lang(response.text) == cookie


async def test_english_facility_page_names_closures_in_english(client, session):
    hall = await facility_id(session, "plaza-tachibana")
    english = (await client.get(f"/facilities/{hall}", headers={"Cookie": "lang=en"})).text
    assert html_lang(english) == "en"
    assert "<li>Year-end and New Year holidays</li>" in english
    assert "<li>Closing day</li>" in english
    assert "年末年始" not in english
    assert "休館日" not in english
    # The address stays as the source writes it, marked as Japanese for screen readers.
    assert '<span lang="ja">川崎市高津区久末</span>' in english
    japanese = (await client.get(f"/facilities/{hall}", headers={"Cookie": "lang=ja"})).text
    assert "<li>年末年始</li>" in japanese
    assert "<li>休館日</li>" in japanese


async def test_english_pages_show_names_without_notes(client, session):
    """The names issue 14 found with research notes in them, as an English reader sees them."""
    expected = {
        "senior-centre-16": "Kamiji Senior Citizens&#39; Recreation House",
        "nijigaoka-childrens-centre": "Nijigaoka Children&#39;s Culture Center",
        "kawasaki-civic-hall": "Kawasaki Civic Hall and Workers&#39; Hall",
    }
    for key, name in expected.items():
        page = (
            await client.get(
                f"/facilities/{await facility_id(session, key)}", headers={"Cookie": "lang=en"}
            )
        ).text
        heading = re.search(r"<h1>(.*?)</h1>", page, re.DOTALL)
        assert heading is not None
        assert heading[1].strip() == name
        for note in ("source", "confirmed", "planned", "神地", "虹ケ丘", "仮称"):
            assert note not in heading[1]


async def test_error_pages_follow_accept_language_too(client):
    english = await client.get("/no-such-page", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert english.status_code == 404
    assert html_lang(english.text) == "en"
    japanese = await client.get("/no-such-page", headers={"Accept-Language": "ja"})
    assert html_lang(japanese.text) == "ja"
