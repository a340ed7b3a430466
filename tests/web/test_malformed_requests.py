"""Requests no client sends, answered as bad input, never a 500: JSON nested a thousand deep
(the decoder ran out of stack: a RecursionError, anonymously, on the login) and a file name with
a NUL byte or longer than any file system's names under /static/ (the operating system refused
the name with an error that was no "not found")."""

from __future__ import annotations

import httpx
import pytest

DEPTHS = (1_000, 100_000)


@pytest.mark.parametrize("depth", DEPTHS)
@pytest.mark.parametrize("shape", ["array", "object"])
async def test_json_nested_too_deep_is_a_400(
    client: httpx.AsyncClient, depth: int, shape: str
) -> None:
    body = (
        "[" * depth + "]" * depth if shape == "array" else '{"login":' * depth + '"x"' + "}" * depth
    )
    for path in ("/api/v1/auth/login", "/api/v1/bookings", "/api/v1/groups"):
        response = await client.post(
            path, content=body, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 400, (path, response.text)
        problem = response.json()
        assert problem["errors"] == [
            {"field": "body", "reason": "the JSON is nested too deeply"}
        ], problem


@pytest.mark.parametrize(
    "body", [b"{", b'{"login": "a"', b"\xff\xfe", b'{"login": "\\ud800"}x', b"nul\x00"]
)
async def test_a_body_that_is_not_json_is_a_400(client: httpx.AsyncClient, body: bytes) -> None:
    """Decoded before the handler (for the depth check), so Litestar's own 400 never came:
    every such body on every write was a 500, anonymously on the login."""
    for path in ("/api/v1/auth/login", "/api/v1/bookings", "/api/v1/groups"):
        response = await client.post(
            path, content=body, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 400, (path, response.text)
        assert response.json()["errors"] == [
            {"field": "body", "reason": "the body is not valid JSON"}
        ]


async def test_json_of_an_ordinary_depth_still_reaches_its_handler(
    client: httpx.AsyncClient,
) -> None:
    """Nested but shallow: the handler's own answer (a field's type), not the depth's."""
    body = '{"login":' * 20 + '"x"' + "}" * 20
    response = await client.post(
        "/api/v1/auth/login", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "login"


@pytest.mark.parametrize(
    "path",
    [
        "/static/site.css%00",
        "/static/%00",
        "/static/site%00.css",
        "/static/site.css%01",
        "/static/site.css%7F",
        "/static/" + "a" * 300,
        "/static/" + "a" * 5_000 + ".css",
    ],
)
async def test_a_static_file_name_no_file_can_have_is_not_found(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.get(path)
    assert response.status_code == 404, (path, response.status_code)
    assert response.headers["content-type"].startswith("text/html")


async def test_the_static_files_are_still_served(client: httpx.AsyncClient) -> None:
    response = await client.get("/static/site.css")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")
