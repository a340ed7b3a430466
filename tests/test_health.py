"""Readiness tells an orchestrator the truth about the database."""

from __future__ import annotations

import httpx
from alembic.script import ScriptDirectory
from sqlalchemy import text

from booking.app import create_app
from booking.db.engine import create_engine
from booking.db.migrate import head_revision
from booking.paths import migrations_dir
from booking.settings import Settings
from tests.conftest import committed_database


async def test_ready_is_503_until_migrated_and_health_still_answers(tmp_path):
    app = create_app(Settings(database_url=None, data_dir=tmp_path))
    async with app.lifespan():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as http:
            ready = await http.get("/ready")
            assert ready.status_code == 503
            assert ready.json()["migration"] is None
            assert (await http.head("/ready")).status_code == 503  # HEAD tells it too
            assert (await http.get("/health")).status_code == 200


async def test_head_answers_as_get_without_a_body(client: httpx.AsyncClient) -> None:
    """A load balancer may probe with HEAD (it was 405 Method Not Allowed)."""
    for path in ("/health", "/ready"):
        got, head = await client.get(path), await client.head(path)
        assert (head.status_code, got.status_code) == (200, 200), path
        assert head.content == b"", path
        for name in ("cache-control", "content-type"):
            assert head.headers[name] == got.headers[name], (path, name)


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


async def test_ready_while_a_newer_release_has_migrated_but_not_behind(engine_settings, tmp_path):
    """A rolling upgrade: the database is migrated past this code's head by the next release
    while this process still serves; it stays ready. A schema behind the code is not."""
    with committed_database(engine_settings, tmp_path, "ready", load=False) as settings:
        app = create_app(settings)
        async with app.lifespan():
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://app") as http:
                assert (await http.get("/ready")).json()["status"] == "ok"
                engine = create_engine(settings)
                try:
                    for revision, status in (
                        ("0099_from_the_next_release", 200),
                        (previous_revision(), 503),
                        (head_revision(), 200),
                    ):
                        async with engine.begin() as connection:
                            await connection.execute(
                                text("UPDATE alembic_version SET version_num = :r"), {"r": revision}
                            )
                        ready = await http.get("/ready")
                        assert (ready.status_code, ready.json()["migration"]) == (status, revision)
                finally:
                    await engine.dispose()


def previous_revision() -> str:
    script = ScriptDirectory(str(migrations_dir()))
    head = script.get_revision(script.get_current_head())
    assert head is not None
    assert isinstance(head.down_revision, str)
    return head.down_revision
