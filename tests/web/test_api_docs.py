"""Issue 14, item 8: the API documentation page loads only our own files, under the CSP."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest

from booking.app import create_app
from booking.settings import Settings


@pytest.fixture
async def http(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(database_url=None, data_dir=tmp_path))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts = 0
        self.styles = 0
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.urls += [v for k, v in attrs if k in {"src", "href"} and v is not None]
        if tag == "script":
            self._in_script = True
            self.inline_scripts += "src" not in found
        self.styles += tag == "style" or "style" in found

    def handle_endtag(self, tag: str) -> None:
        self._in_script = self._in_script and tag != "script"

    def handle_data(self, data: str) -> None:
        assert not (self._in_script and data.strip()), "inline script"


@pytest.mark.parametrize("path", ["/schema/swagger", "/schema"])
async def test_the_swagger_page_uses_only_same_origin_assets_under_the_csp(
    http: httpx.AsyncClient, path: str
) -> None:
    page = await http.get(path)
    assert page.status_code == 200
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "style-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    tags = Tags()
    tags.feed(page.text)
    assert tags.inline_scripts == 0
    assert tags.styles == 0
    assert "cdn" not in page.text
    assets = [url for url in tags.urls if not url.startswith("data:")]
    assert len(assets) == 4  # Swagger UI's script and stylesheet, our starter and stylesheet
    for url in assets:
        assert url.startswith("/schema/assets/"), url  # same origin, no scheme, no host
        served = await http.get(url, headers={"Accept-Encoding": "gzip"})
        assert served.status_code == 200, url
        kind = "text/javascript" if ".js" in url else "text/css"
        assert served.headers["content-type"].startswith(kind)
        assert "max-age=31536000" in served.headers["cache-control"]
        assert served.headers["x-content-type-options"] == "nosniff"
    starter = await http.get(next(u for u in assets if "api-docs.js" in u))
    assert re.search(r"SwaggerUIBundle\(", starter.text)
    spec = re.search(r'data-spec="([^"]+)"', page.text)
    assert spec
    assert (await http.get(spec[1])).json()["openapi"].startswith("3.")


@pytest.mark.parametrize(
    "path",
    [
        "/schema/redoc",
        "/schema/elements",
        "/schema/rapidoc",
        "/schema/scalar",
        "/schema/oauth2-redirect.html",
        "/schema/openapi.yaml",
        "/schema/assets/nothing.js",
    ],
)
async def test_renderers_we_do_not_ship_are_not_found(http: httpx.AsyncClient, path: str) -> None:
    response = await http.get(path)
    assert response.status_code == 404
    assert "cdn" not in response.text
