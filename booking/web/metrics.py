"""/metrics for Prometheus: what each server process counts itself (requests, latency, its
database pools), what the database holds, read once per scrape (booking/web/metrics_db.py),
and the read replica as the answering process sees it.

Label values are bounded: a request is counted under its route's template
(`/api/v1/bookings/{booking_id}`, never the raw path), an address no route matches under
`(unmatched)`, a method outside the usual seven as `other`.

Several server processes (`booking serve --workers N`) give one answer: each writes its
figures to files in PROMETHEUS_MULTIPROC_DIR (booking/web/metrics_processes.py) and the
process that is scraped adds them up. Counters and histograms keep what a dead process
counted; a gauge of a live process's state (pool, requests in flight) counts live ones only.

Readable only from BOOKING_METRICS_NETWORKS (the client's address after trusted proxies).
Anyone else gets the 404 of an address that does not exist, the same page a scanner gets
for any other guess, so the internet learns nothing of what runs here; the refusal is logged
(logger booking.web.metrics) for the operator who wonders why a scrape fails.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from typing import Any

from litestar import Request, Response, get
from litestar.datastructures import State
from litestar.exceptions import NotFoundException
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from booking.db.replica import Replica
from booking.settings import Settings, parse_networks
from booking.web.metrics_db import CountsCache, DatabaseCollector, read_database_gauges
from booking.web.metrics_processes import MULTIPROC_ENV, sweep_dead
from booking.web.proxies import is_trusted

log = logging.getLogger("booking.web.metrics")

UNMATCHED = "(unmatched)"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Seconds. A booking is ~10-50 ms, a month grid up to ~200 ms, a spreadsheet seconds. Each
# bucket is a series per route: 11 buckets x ~200 routes is most of a scrape's cost.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
STATE_KEY = "metrics"
# The classic text format, which every Prometheus reads (the library's "latest" says 1.0.0,
# which a Prometheus 2 does not know); Litestar adds the charset.
CONTENT_TYPE = "text/plain; version=0.0.4"


class Metrics:
    """One app's own metrics (its registry; in multiprocess mode, files shared by all)."""

    def __init__(self) -> None:
        disable_created_metrics()  # type: ignore[no-untyped-call] # no `_created` twin of every series
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "booking_http_requests",
            "HTTP requests answered, by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "booking_http_request_duration_seconds",
            "Time from a request's arrival to the end of its answer, by route.",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "booking_http_requests_in_flight",
            "Requests being answered now (all processes).",
            registry=self.registry,
            multiprocess_mode="livesum",
        )
        pool = {"labelnames": ["pool"], "registry": self.registry, "multiprocess_mode": "livesum"}
        self.pool_checked_out = Gauge(
            "booking_db_pool_checked_out",
            "Database connections in use now (all processes).",
            **pool,  # type: ignore[arg-type]
        )
        self.pool_size = Gauge(
            "booking_db_pool_size",
            "Connections each pool keeps (BOOKING_DB_POOL_SIZE), summed over processes.",
            **pool,  # type: ignore[arg-type]
        )
        self.pool_overflow = Gauge(
            "booking_db_pool_overflow",
            "Connections opened beyond the pools' size now (all processes).",
            **pool,  # type: ignore[arg-type]
        )

        # The database's counts this process read last (metrics_db.py), for the next scrapes.
        self.database_counts = CountsCache()

        # Each label set's child, found once: `labels()` checks and locks on every call.
        self._counted: dict[tuple[str, str | None, int], Any] = {}
        self._timed: dict[str | None, Any] = {}

    def count(self, method: str, route: str | None, status: int, seconds: float) -> None:
        method = method if method in _METHODS else "other"  # a client names any method
        counted = self._counted.get((method, route, status))
        if counted is None:
            counted = self.requests.labels(method, route or UNMATCHED, str(status))
            self._counted[(method, route, status)] = counted
        counted.inc()
        timed = self._timed.get(route)
        if timed is None:
            timed = self._timed[route] = self.latency.labels(route or UNMATCHED)
        timed.observe(seconds)


def metrics_of(state: State) -> Metrics:
    metrics: Metrics = state[STATE_KEY]
    return metrics


def watch_pool(metrics: Metrics, engine: AsyncEngine, name: str = "primary") -> None:
    """Keep the pool gauges of this process current from the pool's own check-out and
    check-in events (each process publishes its own; a scrape reads them all)."""
    pool: Any = engine.sync_engine.pool
    if not hasattr(pool, "overflow"):  # a pool without a size (NullPool, StaticPool)
        return
    checked_out = metrics.pool_checked_out.labels(name)
    overflow = metrics.pool_overflow.labels(name)
    metrics.pool_size.labels(name).set(pool.size())
    checked_out.set(0)
    overflow.set(0)

    def on_checkout(*_: object) -> None:
        checked_out.inc()
        overflow.set(max(0, pool.overflow()))

    def on_checkin(*_: object) -> None:
        checked_out.dec()
        overflow.set(max(0, pool.overflow()))

    event.listen(pool, "checkout", on_checkout)
    event.listen(pool, "checkin", on_checkin)


class ReplicaCollector(Collector):
    """The read replica as this process sees it (BOOKING_DATABASE_READ_URL; none: nothing)."""

    def __init__(self, replica: Replica | None) -> None:
        self.replica = replica

    def collect(self) -> Iterator[Metric]:
        if self.replica is None:
            return
        yield GaugeMetricFamily(
            "booking_replica_usable",
            "1 when reads go to the replica (answering, lag within BOOKING_READ_MAX_LAG_SECONDS).",
            value=1 if self.replica.usable() else 0,
        )
        lag = self.replica.lag()
        if lag is not None:  # unknown (down, just started): absent rather than a made-up number
            yield GaugeMetricFamily(
                "booking_replica_lag_seconds",
                "How far behind the primary the replica is at most.",
                value=lag,
            )


def exposition(
    metrics: Metrics, database: DatabaseCollector, replica: Replica | None = None
) -> bytes:
    """Every process's figures (or this one's alone), then the database's and the replica's."""
    directory = os.environ.get(MULTIPROC_ENV)
    if directory:
        sweep_dead(directory)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, directory)  # type: ignore[no-untyped-call]
        processes = generate_latest(registry)
    else:
        processes = generate_latest(metrics.registry)
    own = CollectorRegistry()
    own.register(database)
    own.register(ReplicaCollector(replica))
    return processes + generate_latest(own)


def may_read_metrics(host: str | None, settings: Settings) -> bool:
    return is_trusted(host, parse_networks(settings.metrics_networks))


@get("/metrics", include_in_schema=False, cache=False)
async def metrics_endpoint(request: Request[Any, Any, Any], state: State) -> Response[bytes]:
    settings: Settings = state.settings
    host = request.client.host if request.client else None
    if not may_read_metrics(host, settings):
        log.info("/metrics refused to %s: not in BOOKING_METRICS_NETWORKS", host)
        raise NotFoundException
    started = time.perf_counter()
    cache = metrics_of(state).database_counts
    gauges = await read_database_gauges(state.sessionmaker, state.clock, settings, cache)
    database = DatabaseCollector(gauges, time.perf_counter() - started)
    body = exposition(metrics_of(state), database, state.get("replica"))
    return Response(body, media_type=CONTENT_TYPE)
