"""The logs of a real `booking serve` (issue 20): BOOKING_LOG_FORMAT=json makes every line one
JSON object (uvicorn's and the app's alike) carrying the request id the response returned;
text stays the default and carries it too; a mailed link's token stays out in both."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from booking.settings import Settings
from booking.web.logs import JsonLines, RequestIdFilter
from booking.web.request_id import enter, leave
from tests.conftest import committed_database
from tests.web.served import serve

SECRET = "sel.verifier-secret"
# /metrics refused (loopback is not in it): a line of the app's own logger, inside a request.
ELSEWHERE = {"BOOKING_METRICS_NETWORKS": "192.0.2.1"}


@pytest.fixture
def site(engine_settings: Settings, tmp_path: Path) -> Iterator[Settings]:
    (tmp_path / "data").mkdir()
    with committed_database(engine_settings, tmp_path / "data", "logs") as settings:
        yield settings


def _requests(base: str) -> dict[str, httpx.Response]:
    return {
        "link": httpx.get(f"{base}/password/set", params={"token": SECRET}),
        "refused": httpx.get(f"{base}/metrics"),
        "proxied": httpx.get(f"{base}/health", headers={"X-Request-ID": "lb-4711"}),
    }


def test_json_lines_carry_the_request_id(site: Settings, tmp_path: Path) -> None:
    with serve(site, tmp_path, BOOKING_LOG_FORMAT="json", **ELSEWHERE) as served:
        responses = _requests(served.base)
    lines = served.lines()
    records = [json.loads(line) for line in lines]  # every line: one JSON object
    assert all({"time", "level", "logger", "message"} <= record.keys() for record in records)
    by_id = {record.get("request_id"): record for record in records}
    access = {r["request_id"]: r for r in records if r["logger"] == "uvicorn.access"}

    link = access[responses["link"].headers["x-request-id"]]
    assert link["path"] == "/password/set?token=[redacted]"
    assert link["method"] == "GET"
    assert link["status"] == responses["link"].status_code
    assert SECRET not in "\n".join(lines)

    refused = by_id[responses["refused"].headers["x-request-id"]]
    assert refused["logger"] == "booking.web.metrics"
    assert "BOOKING_METRICS_NETWORKS" in refused["message"]
    assert access["lb-4711"]["path"] == "/health"  # the proxy's id, in our line
    # Outside a request (the server starting and stopping): no id at all.
    assert any(r["logger"].startswith("uvicorn") and "request_id" not in r for r in records)


def test_text_lines_carry_the_request_id(site: Settings, tmp_path: Path) -> None:
    with serve(site, tmp_path, **ELSEWHERE) as served:
        responses = _requests(served.base)
    lines = served.lines()
    link_id = responses["link"].headers["x-request-id"]
    (link,) = [line for line in lines if f"[{link_id}]" in line]
    assert "uvicorn.access" in link
    assert "/password/set?token=[redacted]" in link
    assert SECRET not in "\n".join(lines)
    refused_id = responses["refused"].headers["x-request-id"]
    assert any(f"booking.web.metrics [{refused_id}]" in line for line in lines)
    assert any("[lb-4711]" in line for line in lines)
    with pytest.raises(json.JSONDecodeError):
        json.loads(link)


def _formatted(record: logging.LogRecord) -> dict[str, object]:
    RequestIdFilter().filter(record)
    parsed: dict[str, object] = json.loads(JsonLines().format(record))
    return parsed


def _fail() -> None:
    raise ValueError("broken")


def test_a_json_line_keeps_a_traceback_and_extras_and_drops_terminal_colours() -> None:
    try:
        _fail()
    except ValueError as exc:
        error = logging.LogRecord("booking.web", logging.ERROR, __file__, 1, "failed", (), None)
        error.exc_info = (type(exc), exc, exc.__traceback__)
    token = enter("abc-1")
    try:
        line = _formatted(error)
    finally:
        leave(token)
    assert line["request_id"] == "abc-1"
    assert "ValueError: broken" in str(line["exc_info"])
    started = logging.LogRecord("uvicorn.error", logging.INFO, __file__, 1, "up %s", (1,), None)
    started.color_message = "\x1b[1mup\x1b[0m"
    started.worker = 3
    line = _formatted(started)
    assert line == {
        "time": line["time"],
        "level": "INFO",
        "logger": "uvicorn.error",
        "message": "up 1",
        "worker": 3,
    }


def test_the_worker_logs_json_lines_too(site: Settings) -> None:
    env = {
        **os.environ,
        "BOOKING_DATA_DIR": str(site.data_dir),
        "BOOKING_DATABASE_URL": site.database_url or "",
        "BOOKING_LOG_FORMAT": "json",
        "BOOKING_MAIL_BACKEND": "files",  # the worker says it sends nothing: a warning
    }
    ran = subprocess.run(
        [sys.executable, "-m", "booking", "worker", "--once"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    records = [json.loads(line) for line in ran.stderr.splitlines() if line.strip()]
    assert any(
        r["logger"] == "booking.jobs" and "BOOKING_MAIL_BACKEND" in r["message"] for r in records
    ), ran.stderr
