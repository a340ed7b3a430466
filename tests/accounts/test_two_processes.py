"""Logout and suspension end a session on another app process at once.

App A runs in the test; app B is a real `uvicorn` process on loopback. Both use the same
database (a fresh one, committed, dropped afterwards), so nothing but the database is shared.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from booking.accounts.models import StaffRole
from booking.accounts.staff import grant_staff_role
from booking.app import create_app
from booking.audit.service import SYSTEM
from booking.clock import SystemClock
from booking.db.engine import create_engine, create_sessionmaker
from booking.settings import Settings
from tests.conftest import (
    committed_database,
)

PASSWORD = "two processes, one truth"


@pytest.fixture
def shared_settings(engine_settings: Settings, tmp_path: Path) -> Iterator[Settings]:
    """A fresh, migrated database of the engine under test, committed to for real."""
    with committed_database(engine_settings, tmp_path, "processes", load=False) as settings:
        yield settings


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def process_b(shared_settings: Settings) -> Iterator[str]:
    port = _free_port()
    env = {
        **os.environ,
        "BOOKING_DATA_DIR": str(shared_settings.data_dir),
        "BOOKING_DATABASE_URL": shared_settings.database_url or "",
    }
    server = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [
            sys.executable,
            "-m",
            "uvicorn",
            "booking.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60  # as tests/web/served.py: a loaded CI machine
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                pytest.fail("app process B did not start")
            time.sleep(0.1)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture
async def app_a(shared_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    engine = create_engine(shared_settings)
    sessionmaker = create_sessionmaker(engine)
    async with sessionmaker.begin() as session:
        for email, role in (
            ("admin@city.example", StaffRole.ADMIN),
            ("mgr@city.example", StaffRole.MANAGER),
        ):
            await grant_staff_role(
                session,
                SystemClock(),
                shared_settings,
                SYSTEM,
                email=email,
                name=email,
                role=role,
                password=PASSWORD,
            )
    app = create_app(shared_settings, sessionmaker=sessionmaker)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://a") as client:
        yield client
    await engine.dispose()


async def _login(client: httpx.AsyncClient, email: str) -> dict[str, str]:
    response = await client.post("/api/v1/auth/login", json={"login": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    cookie = response.headers["set-cookie"].split(";")[0]
    return {"Cookie": cookie, "X-CSRF-Token": response.json()["csrf_token"]}


async def test_logout_and_suspension_reach_the_other_process(
    app_a: httpx.AsyncClient, process_b: str
) -> None:
    async with httpx.AsyncClient(base_url=process_b) as app_b:
        manager = await _login(app_a, "mgr@city.example")
        assert (await app_b.get("/api/v1/me", headers=manager)).status_code == 200
        assert (await app_a.post("/api/v1/auth/logout", headers=manager)).status_code == 204
        assert (await app_b.get("/api/v1/me", headers=manager)).status_code == 401

        manager = await _login(app_a, "mgr@city.example")
        token = (
            await app_a.post("/api/v1/tokens", json={"name": "script"}, headers=manager)
        ).json()
        bearer = {"Authorization": f"Bearer {token['token']}"}
        assert (await app_b.get("/api/v1/me", headers=bearer)).status_code == 200
        admin = await _login(app_a, "admin@city.example")
        me = (await app_b.get("/api/v1/me", headers=manager)).json()
        suspended = await app_a.post(f"/api/v1/users/{me['id']}/suspend", headers=admin)
        assert suspended.status_code == 200
        assert (await app_b.get("/api/v1/me", headers=manager)).status_code == 401
        assert (await app_b.get("/api/v1/me", headers=bearer)).status_code == 401
