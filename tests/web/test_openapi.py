"""Issue 14, item 26: the API description says what the API does, read from
/schema/openapi.json."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from booking.accounts.auth import CSRF_HEADER, SESSION_COOKIE
from booking.accounts.sessions import TOKEN_PREFIX
from booking.app import create_app
from booking.settings import Settings
from tests.people import World
from tests.web.test_response_headers import machine_routes

PROBLEM = "application/problem+json"
OPERATIONS = ("get", "post", "put", "patch", "delete")


@pytest.fixture(scope="module")
async def schema(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    app = create_app(Settings(database_url=None, data_dir=tmp_path_factory.mktemp("openapi")))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        response = await http.get("/schema/openapi.json")
    assert response.status_code == 200
    found: dict[str, Any] = response.json()
    return found


def operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in OPERATIONS and path.startswith(("/api/", "/ical/"))
    ]


@pytest.mark.parametrize(
    ("path", "method"),
    [("/api/v1/bookings", "post"), ("/api/v1/lottery/applications", "post")],
)
def test_idempotency_key_is_a_declared_header(
    schema: dict[str, Any], path: str, method: str
) -> None:
    parameters = schema["paths"][path][method].get("parameters", [])
    header = next(p for p in parameters if p["name"].lower() == "idempotency-key")
    assert header["in"] == "header"
    assert header["required"] is False
    assert header["schema"].get("maxLength") == 100 or "100" in header.get("description", "")


def test_a_hold_deadline_is_a_time_of_day(schema: dict[str, Any]) -> None:
    expires_at = schema["components"]["schemas"]["HoldRules"]["properties"]["expires_at"]
    assert expires_at["format"] == "time"
    durations = re.findall(r'"format":\s*"duration"', str(schema).replace("'", '"'))
    assert durations == []


def test_every_error_is_documented_as_problem_details(schema: dict[str, Any]) -> None:
    wrong = [
        (method, path, status, sorted(response.get("content", {})))
        for method, path, operation in operations(schema)
        for status, response in operation["responses"].items()
        if status.startswith(("4", "5")) and sorted(response.get("content", {})) != [PROBLEM]
    ]
    assert wrong == []


def test_every_route_with_an_id_in_its_path_documents_its_404(schema: dict[str, Any]) -> None:
    """An unknown, foreign or impossible id (booking/web/path_ids.py) is a 404."""
    missing = [
        (method, path)
        for method, path, operation in operations(schema)
        if "{" in path and "404" not in operation["responses"]
    ]
    assert missing == []


def test_no_content_means_no_body(schema: dict[str, Any]) -> None:
    with_body = [
        (method, path)
        for method, path, operation in operations(schema)
        if operation["responses"].get("204", {}).get("content")
    ]
    assert with_body == []
    logout = schema["paths"]["/api/v1/auth/logout"]["post"]["responses"]
    assert "204" in logout


def test_csv_is_text_csv_once(schema: dict[str, Any]) -> None:
    ok = schema["paths"]["/api/v1/facilities/{facility_id}/bookings.csv"]["get"]["responses"]
    assert list(ok["200"]["content"]) == ["text/csv"]


async def test_every_status_a_route_answers_is_documented(
    world: World, client: httpx.AsyncClient, schema: dict[str, Any], tmp_path: Path
) -> None:
    """Every API route, anonymous and as an administrator, with ids that exist nowhere: what
    it answers is in its description."""
    app = create_app(Settings(database_url=None, data_dir=tmp_path))
    undocumented = set()
    for headers in ({}, world.headers("admin")):
        for method, path, template in machine_routes(app, number="99999"):
            if method == "OPTIONS" or template in {"/health", "/ready"}:
                continue
            body = {} if method in {"POST", "PUT", "PATCH"} else None
            response = await client.request(method, path, json=body, headers=headers)
            documented = schema["paths"][template][method.lower()]["responses"]
            if str(response.status_code) not in documented:
                undocumented.add((method, template, response.status_code))
    assert sorted(undocumented) == []


def test_how_a_request_authenticates_is_described(schema: dict[str, Any]) -> None:
    """A sibling of the undeclared Idempotency-Key: the bearer token, the session cookie and
    the CSRF header every cookie-authenticated unsafe request must send."""
    schemes = schema["components"]["securitySchemes"]
    assert schemes["bearer"]["scheme"] == "bearer"
    assert schemes["bearer"]["bearerFormat"].startswith(TOKEN_PREFIX)
    assert (schemes["session"]["in"], schemes["session"]["name"]) == ("cookie", SESSION_COOKIE)
    assert (schemes["csrf"]["in"], schemes["csrf"]["name"]) == ("header", CSRF_HEADER)
    assert {"session": [], "csrf": []} in schema["security"]
    assert {} in schema["security"]  # searching and the public reports need nobody
