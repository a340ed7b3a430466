"""Every integer and every text a request can carry, walked from the app's own OpenAPI document,
so a new route or field is covered without a line here.

An integer past its column (2^31 on PostgreSQL's INTEGER, 2^63 past SQLite's) and a negative
one are a 400 naming the field, never a 500; a control character in a text field (a newline in
a feed's name broke every fetch of the feed) is a 400 naming the field.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest

from booking.app import create_app
from booking.settings import Settings
from booking.web.fields import CONTROL_REASON, MULTI_LINE, ONE_LINE
from tests.people import World
from tests.places import Hall
from tests.reservations.test_bookings import body

TOO_BIG = (2**31, 2**63, -1)
# C0 (NUL, LF, CR, unit separator), DEL, C1 (NEL), the Unicode line and paragraph separators
CONTROLS = ("\x00", "\n", "\r", "\t", "\x1f", "\x7f", "\x85", "\u2028", "\u2029")
# Seven digits: a valid card number, phone number, name, e-mail-length text and period code
TEXT = "1234567"
PATH_VALUES = {"month": "2027-03", "feed_file": "x.ics"}


def _openapi() -> dict[str, Any]:
    app = create_app(Settings(database_url="sqlite+aiosqlite:///:memory:"))
    return app.openapi_schema.to_schema()


SCHEMA = _openapi()


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if ref:
        return _resolve(SCHEMA["components"]["schemas"][ref.rsplit("/", 1)[1]])
    return node


def _kinds(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The alternatives of a node (`oneOf` of a nullable field), resolved."""
    node = _resolve(node)
    for alternative in node.get("oneOf", node.get("anyOf", [node])):
        resolved = _resolve(alternative)
        if resolved.get("type") != "null":
            # A nullable text's pattern sits beside its `oneOf`: it is the string's.
            yield {"pattern": node["pattern"], **resolved} if "pattern" in node else resolved


def _leaves(node: dict[str, Any], path: tuple[str | int, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """(path, schema) of every integer and free-text string inside a request body."""
    for kind in _kinds(node):
        match kind.get("type"):
            case "object":
                for name, child in kind.get("properties", {}).items():
                    yield from _leaves(child, (*path, name))
            case "array":
                yield from _leaves(kind["items"], (*path, 0))
            case "integer" | "string":
                yield path, kind


def _text(kind: dict[str, Any]) -> bool:
    return kind.get("type") == "string" and "enum" not in kind and "format" not in kind


def _body(path: tuple[str | int, ...], value: Any) -> Any:
    """The smallest JSON holding `value` at `path`: the decoder stops at the first bad value."""
    for step in reversed(path):
        value = [value] if isinstance(step, int) else {step: value}
    return value


def _operations() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for template, item in SCHEMA["paths"].items():
        for method, operation in item.items():
            if isinstance(operation, dict) and "responses" in operation and method != "head":
                yield method.upper(), template, operation


def _address(template: str, operation: dict[str, Any], query: dict[str, str]) -> str:
    path = re.sub(r"\{(\w+)\}", lambda m: PATH_VALUES.get(m[1], "1"), template)
    for parameter in operation.get("parameters", []):  # the other required ones, well formed
        if parameter["in"] == "query" and parameter.get("required"):
            kind = next(_kinds(parameter["schema"]))
            plain = "2027-03-01" if kind.get("format") == "date" else "1"
            query.setdefault(parameter["name"], plain)
    return path + ("?" + str(httpx.QueryParams(query)) if query else "")


def _query_cases(want: str) -> list[Any]:
    """(method, template, parameter, values) of every integer or text query parameter."""
    cases = []
    for method, template, operation in _operations():
        for parameter in operation.get("parameters", []):
            if parameter["in"] != "query":
                continue
            kinds = list(_kinds(parameter["schema"]))
            items = [_resolve(k["items"]) for k in kinds if k.get("type") == "array"]
            if want == "integer" and any(k.get("type") == "integer" for k in kinds):
                values = [str(n) for n in TOO_BIG]
            elif want == "string" and any(_text(k) for k in kinds + items):
                values = [TEXT + c for c in CONTROLS]
            else:
                continue
            name = parameter["name"]
            cases.append(pytest.param(method, template, name, values, id=f"{template}?{name}"))
    return cases


def _body_cases(want: str) -> list[Any]:
    """(method, template, path in the body, values) of every integer or text body field."""
    cases = []
    for method, template, operation in _operations():
        body = operation.get("requestBody")
        if body is None:
            continue
        schema = body["content"]["application/json"]["schema"]
        for path, kind in _leaves(schema):
            if want == "integer" and kind["type"] == "integer":
                values: list[Any] = list(TOO_BIG)
            elif want == "string" and _text(kind) and kind.get("pattern") == MULTI_LINE:
                # A text area (a notice's text) takes line breaks, nothing else of the kind.
                values = [TEXT + c for c in CONTROLS if c not in "\r\n"]
            elif want == "string" and _text(kind):
                values = [TEXT + c for c in CONTROLS] + [TEXT[:3] + "\n" + TEXT[3:]]
            else:
                continue
            label = f"{method} {template} {_names(path)}"
            cases.append(pytest.param(method, template, path, values, id=label))
    return cases


def _names(path: tuple[str | int, ...]) -> str:
    """The field as the problem names it: `move_to.group_id`, `facility_ids[0]`."""
    out = ""
    for step in path:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else step)
    return out


def _assert_names(response: httpx.Response, field: str, value: object) -> dict[str, Any]:
    assert response.status_code == 400, f"{value!r}: {response.status_code} {response.text}"
    problem = response.json()
    fields = [e.get("field") for e in problem.get("errors", [])]
    assert field in fields, (value, problem)
    return next(e for e in problem["errors"] if e.get("field") == field)


def test_the_walk_finds_the_fields_it_is_about() -> None:
    integers = {c.values[2] for c in _query_cases("integer")}
    assert {"offset", "limit", "group_id", "facility_id", "before_id"} <= integers
    body_ints = {_names(c.values[2]) for c in _body_cases("integer")}
    assert {"group_id", "room_id", "move_to.group_id", "facility_ids[0]", "target_id"} <= body_ints
    texts = {_names(c.values[2]) for c in _body_cases("string")}
    assert {
        "name",
        "purpose",
        "event_name",
        "note",
        "representative.name",
        "members[0].name",
    } <= texts


# One test per kind of field walks every case (an app per case cost 0.2 s each: 200 cases),
# and names every case that failed, not just the first.


async def _failures(cases: list[Any], check: Callable[..., Awaitable[None]]) -> list[str]:
    failed = []
    for case in cases:
        try:
            await check(*case.values)
        except AssertionError as exc:
            failed.append(f"{case.id}: {exc}")
    return failed


def _query_check(client: httpx.AsyncClient) -> Callable[..., Awaitable[None]]:
    async def check(method: str, template: str, name: str, values: list[str]) -> None:
        operation = SCHEMA["paths"][template][method.lower()]
        for value in values:
            response = await client.request(method, _address(template, operation, {name: value}))
            _assert_names(response, name, value)

    return check


async def test_an_integer_past_its_column_in_a_query_is_a_400_naming_it(
    client: httpx.AsyncClient,
) -> None:
    assert await _failures(_query_cases("integer"), _query_check(client)) == []


async def test_an_integer_past_its_column_in_a_body_is_a_400_naming_it(
    client: httpx.AsyncClient,
) -> None:
    async def check(
        method: str, template: str, path: tuple[str | int, ...], values: list[int]
    ) -> None:
        operation = SCHEMA["paths"][template][method.lower()]
        for value in values:
            response = await client.request(
                method, _address(template, operation, {}), json=_body(path, value)
            )
            _assert_names(response, _names(path), value)

    assert await _failures(_body_cases("integer"), check) == []


async def test_a_control_character_in_a_query_text_is_a_400_naming_it(
    client: httpx.AsyncClient,
) -> None:
    assert await _failures(_query_cases("string"), _query_check(client)) == []


async def test_a_control_character_in_a_body_text_is_a_400_naming_it(
    client: httpx.AsyncClient,
) -> None:
    async def check(
        method: str, template: str, path: tuple[str | int, ...], values: list[str]
    ) -> None:
        operation = SCHEMA["paths"][template][method.lower()]
        for value in values:
            response = await client.request(
                method,
                _address(template, operation, {}),
                content=json.dumps(_body(path, value)),
                headers={"Content-Type": "application/json"},
            )
            error = _assert_names(response, _names(path), value)
            if _pattern(template, method, path) == ONE_LINE:  # in words, not as the regex
                assert error["reason"] == CONTROL_REASON, error

    assert await _failures(_body_cases("string"), check) == []


def _pattern(template: str, method: str, path: tuple[str | int, ...]) -> str | None:
    body = SCHEMA["paths"][template][method.lower()]["requestBody"]
    found = dict(_leaves(body["content"]["application/json"]["schema"]))
    return found[path].get("pattern")  # type: ignore[no-any-return]


@pytest.mark.parametrize("key", ["a\x01b", "key\x7f", "tab\tkey"])
async def test_an_idempotency_key_with_a_control_character_is_a_400_naming_it(
    client: httpx.AsyncClient, world: World, hall: Hall, key: str
) -> None:
    response = await client.post(
        "/api/v1/bookings",
        json=body(world, hall),
        headers={**world.headers("member"), "Idempotency-Key": key},
    )
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["field"] == "Idempotency-Key"
