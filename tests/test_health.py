"""Readiness tells an orchestrator the truth about the database."""

from __future__ import annotations

import httpx

from booking.app import create_app
from booking.settings import Settings


async def test_ready_is_503_until_migrated_and_health_still_answers(tmp_path):
    app = create_app(Settings(database_url=None, data_dir=tmp_path))
    async with app.lifespan():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as http:
            ready = await http.get("/ready")
            assert ready.status_code == 503
            assert ready.json()["migration"] is None
            assert (await http.get("/health")).status_code == 200


async def test_ready_is_503_when_the_database_is_unreachable(tmp_path):
    # Port 9 (discard) on loopback: nothing listens there.
    app = create_app(
        Settings(database_url="postgresql+asyncpg://x@127.0.0.1:9/none", data_dir=tmp_path)
    )
    async with app.lifespan():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as http:
            ready = await http.get("/ready")
            assert ready.status_code == 503
            assert ready.json()["status"] == "unavailable"
