"""The application factory: the only place where plugins, routes and providers are wired."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from litestar.exceptions import NotFoundException
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from booking.accounts.auth import provide_auth, touch_credentials
from booking.accounts.controllers import AuthController, MeController, TokenController
from booking.accounts.group_controllers import GroupController
from booking.accounts.staff_controllers import (
    AdministratorController,
    ManagerController,
    UserController,
)
from booking.audit.controllers import AuditController
from booking.calendars.controllers import (
    BookingICalController,
    FeedController,
    ICalController,
)
from booking.calendars.render import EventCache
from booking.clock import Clock, SystemClock
from booking.db.engine import create_engine, create_sessionmaker
from booking.db.replica import replica_reads, replica_retry_middleware
from booking.deps import (
    provide_claims_cache,
    provide_clock,
    provide_context,
    provide_db_session,
    provide_network,
    provide_read_session,
    provide_settings,
    provide_statistics_counts,
)
from booking.documents.controllers import DocumentCheckController, PermitController
from booking.health import health, ready
from booking.inventory.controllers import FacilityController, RoomController, WardController
from booking.inventory.estimate_controllers import EstimateController
from booking.inventory.network import SnapshotCache
from booking.inventory.notice_controllers import FacilityNoticeController, NoticeController
from booking.inventory.schedule_controllers import PolicyController, RoomFeeController
from booking.lottery.controllers import LotteryController
from booking.pages.routes import not_found, pages_router, static_router
from booking.pages.web import template_config
from booking.reservations.booking_controllers import (
    BlockController,
    BookingController,
    FacilityBookingsController,
    HoldController,
)
from booking.reservations.claims_cache import ClaimsCache
from booking.reservations.controllers import AvailabilityController
from booking.reservations.series_controllers import SeriesController
from booking.settings import Settings, load_settings
from booking.statistics.controllers import StatisticsController
from booking.statistics.counts import CountsCache
from booking.statistics.open_data_controllers import OpenDataController
from booking.statistics.warm import keep_warm
from booking.waitlist.controllers import WaitlistController
from booking.web.content_type import require_json_body
from booking.web.errors import EXCEPTION_HANDLERS
from booking.web.headers import response_headers
from booking.web.metrics import STATE_KEY as METRICS
from booking.web.metrics import Metrics, metrics_endpoint, watch_pool
from booking.web.observe import observe
from booking.web.openapi import TimeOfDaySchema, api_docs_assets_router, openapi_config
from booking.web.overload import overload_middleware
from booking.web.path_ids import ids_in_range
from booking.web.proxies import trusted_proxies_middleware
from booking.web.timing import server_timing_middleware


def settle_heap() -> None:
    """Before serving: move what start-up made (modules, the app) out of the garbage
    collector's sight. Otherwise every full collection rescans those ~190,000 objects, a
    110-250 ms pause that a month-grid page (thousands of strings) triggers every few
    requests (bench/pages.py: grid p95 164 ms -> 47 ms)."""
    gc.collect()
    gc.freeze()


def _serving(
    clock: Clock, sessionmaker: async_sessionmaker[AsyncSession] | None
) -> dict[str, object]:
    """What an app serves with besides its settings: the clock, the sessions, empty caches."""
    return {
        "clock": clock,
        "sessionmaker": sessionmaker,
        "snapshot_cache": SnapshotCache(),
        "claims_cache": ClaimsCache(),
        "event_cache": EventCache(),
        "statistics_counts": CountsCache(),
    }


def serve_test(
    app: Litestar, *, clock: Clock, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """Testing hook: the tests build one app per database (building one costs 0.3 s) and give
    it each test's clock and sessionmaker (bound to the test's rolled-back transaction). Its
    caches start empty too: a rolled-back test's snapshot, claims or events were cached under
    revisions and versions that the next test reuses for other contents."""
    app.state.update(_serving(clock, sessionmaker))


def create_app(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    sessionmaker: async_sessionmaker[AsyncSession] | None = None,
) -> Litestar:
    """Build the app. Tests pass their own clock and a sessionmaker bound to their transaction."""
    settings = settings or load_settings()
    state = State({"settings": settings, **_serving(clock or SystemClock(), sessionmaker)})
    state[METRICS] = Metrics()

    @asynccontextmanager
    async def database(app: Litestar) -> AsyncGenerator[None, None]:
        if sessionmaker is not None:  # the caller owns the engine
            yield
            return
        engine = create_engine(settings)
        watch_pool(app.state[METRICS], engine)
        app.state.sessionmaker = create_sessionmaker(engine)
        stop = asyncio.Event()
        warming = (
            asyncio.create_task(keep_warm(app.state, settings, stop))
            if settings.statistics_warm_seconds
            else None
        )
        try:
            async with replica_reads(app.state, settings):  # if one is set
                if app.state.get("replica") is not None:
                    watch_pool(app.state[METRICS], app.state.replica.engine, "replica")
                yield
        finally:
            stop.set()
            if warming is not None:  # a read under way is not waited for
                warming.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await warming
            await engine.dispose()

    app = Litestar(
        route_handlers=[
            health,
            ready,
            metrics_endpoint,
            WardController,
            FacilityController,
            RoomController,
            FacilityNoticeController,
            NoticeController,
            EstimateController,
            RoomFeeController,
            PolicyController,
            AvailabilityController,
            AuthController,
            MeController,
            TokenController,
            GroupController,
            ManagerController,
            AdministratorController,
            UserController,
            AuditController,
            BookingController,
            PermitController,
            DocumentCheckController,
            FacilityBookingsController,
            HoldController,
            BlockController,
            WaitlistController,
            SeriesController,
            LotteryController,
            FeedController,
            ICalController,
            BookingICalController,
            StatisticsController,
            OpenDataController,
            pages_router(),
            static_router(),
            api_docs_assets_router(),
        ],
        template_config=template_config(),
        dependencies={
            "db_session": Provide(provide_db_session),
            "read_session": Provide(provide_read_session),
            "clock": Provide(provide_clock, sync_to_thread=False),
            "settings": Provide(provide_settings, sync_to_thread=False),
            "network": Provide(provide_network),
            "context": Provide(provide_context),
            "claims_cache": Provide(provide_claims_cache, sync_to_thread=False),
            "statistics_counts": Provide(provide_statistics_counts, sync_to_thread=False),
            "auth": Provide(provide_auth),
        },
        before_request=require_json_body,
        # Every handler's int path parameters (ids) checked before it runs: 404 if impossible.
        guards=[ids_in_range],
        # An address no route matches is a page's error, unless it is the API's or a feed's.
        exception_handlers={**EXCEPTION_HANDLERS, NotFoundException: not_found},
        # The client's address behind trusted proxies first: throttling and the audit use it.
        middleware=[
            # Past the limit, a 503 at once: before any other work is spent on the request.
            overload_middleware(settings.max_requests_in_flight),
            trusted_proxies_middleware(settings.trusted_networks),
            server_timing_middleware,
            # A read that failed on the replica answered again from the primary.
            *([replica_retry_middleware] if settings.database_read_url else []),
        ],
        # A session's or token's last use is written after the answer, in its own transaction.
        after_response=touch_credentials,
        before_send=[response_headers],
        lifespan=[database],
        state=state,
        openapi_config=openapi_config(),
        plugins=[TimeOfDaySchema()],
        debug=settings.debug,
    )
    # Every request, routed or not: its X-Request-ID, counted and timed for /metrics.
    observe(app, state[METRICS], settings.trusted_networks)
    return app
