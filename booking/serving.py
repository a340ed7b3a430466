"""`booking serve`: one server process, or N of them on one port (BOOKING_WORKERS).

With several, uvicorn's supervisor binds the port once and starts N worker processes (spawned:
each imports the app afresh), and restarts one that dies or stops answering its pings. Each
worker builds its app with `served_app`, the factory uvicorn calls by name. They share
nothing but the database: every cache of a process (the network snapshot, the claims of a
month, rendered events and feeds) is checked against a version in the database on use (the
statistics counts at most BOOKING_STATISTICS_MAX_AGE_SECONDS old), and throttles, sessions
and scheduled work live in the database (tests/processes/test_caches.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import make_url

from booking.clock import Clock, SystemClock
from booking.settings import Settings, load_settings
from booking.web.logs import log_config
from booking.web.metrics_processes import share_metrics
from booking.web.redaction import redact_access_log

if TYPE_CHECKING:
    from litestar import Litestar

FACTORY = "booking.serving:served_app"


def served_app(settings: Settings | None = None, *, clock: Clock | None = None) -> Litestar:
    """The app of one server process, as `booking serve` runs it (uvicorn calls it with no
    arguments in each worker: the settings come from the environment the parent was given)."""
    # Imported here: the supervisor of N workers never builds an app (nor holds its memory).
    from booking.app import create_app, settle_heap  # noqa: PLC0415

    settings = settings or load_settings()
    clock = clock or SystemClock()
    app = create_app(settings, clock=clock)
    if settings.mail_backend != "smtp":  # the quick start: links readable without a worker
        from booking.notifications.delivery import LocalDelivery  # noqa: PLC0415

        # Each worker delivers: a message is claimed by one deliverer (delivery.py).
        delivery = LocalDelivery(settings, clock)
        app.on_startup.append(delivery.start)
        app.on_shutdown.append(delivery.close)
    redact_access_log()  # mailed links' tokens never reach the log
    settle_heap()
    return app


# Hosts started together each prepare the database first (migrate; load the network when
# empty): on PostgreSQL they take turns on this lock, and each after the first finds the work
# done. Without it a second host's load waited out lock_timeout on the first's and exited.
FIRST_START_LOCK = 20_201_921


def first_start(settings: Settings, prepare: Callable[[], None]) -> None:
    """`prepare` (blocking: it runs its own event loops) holding the first-start lock."""
    if make_url(settings.effective_database_url).get_backend_name() != "postgresql":
        prepare()  # SQLite: one host's own file
        return
    asyncio.run(_holding_lock(settings, prepare))


async def _holding_lock(settings: Settings, prepare: Callable[[], None]) -> None:
    from booking.db.engine import create_engine  # noqa: PLC0415 - the supervisor's only use

    engine = create_engine(settings)
    try:
        async with engine.connect() as connection:
            # A session lock outside any transaction, waited for as long as the other's load
            # takes (the engine's lock and statement timeouts are for requests); released
            # when this connection closes, also if the process dies.
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.exec_driver_sql("SET lock_timeout = 0")
            await connection.exec_driver_sql("SET statement_timeout = 0")
            await connection.exec_driver_sql(f"SELECT pg_advisory_lock({FIRST_START_LOCK})")
            await asyncio.to_thread(prepare)
    finally:
        await engine.dispose()


def uvicorn_options(settings: Settings, host: str | None, port: int | None) -> dict[str, Any]:
    """What every server process is run with, one or several."""
    return {
        "host": host or settings.host,
        "port": port or settings.port,
        # The app reads X-Forwarded-* itself, from BOOKING_TRUSTED_PROXIES only.
        "proxy_headers": False,
        "log_level": settings.log_level,
        "access_log": settings.log_level in {"info", "debug"},
        "log_config": log_config(settings),  # text or JSON lines, each with its request id
    }


def run(settings: Settings, *, host: str | None, port: int | None, workers: int) -> None:
    """Serve until stopped. The database must be migrated and loaded already (the parent does
    it once, so N workers do not race to migrate)."""
    import uvicorn  # noqa: PLC0415 - only the server needs it

    options = uvicorn_options(settings, host, port)
    share_metrics(workers)  # several: one /metrics that adds up every worker's figures
    if workers == 1:  # one process, no supervisor: the quickest start
        uvicorn.run(served_app(settings), **options)
        return
    uvicorn.run(FACTORY, factory=True, workers=workers, **options)
