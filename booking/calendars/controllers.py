"""HTTP for calendar feeds: manage tokens under /api/v1/feeds, serve /ical/<token>.ics."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import msgspec
from litestar import Controller, HttpMethod, Request, Response, delete, get, post, route
from litestar.background_tasks import BackgroundTask
from litestar.datastructures import State
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_304_NOT_MODIFIED
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.access import Principal
from booking.accounts.auth import Auth
from booking.calendars import feeds, render
from booking.calendars.models import CalendarFeed, FeedKind
from booking.clock import Clock, local_today
from booking.deps import AppSettings, CurrentClock, DbSession, Network, ReadSession
from booking.inventory.network import NetworkSnapshot
from booking.reservations.changes import get_booking
from booking.reservations.models import Booking
from booking.settings import Settings
from booking.web.errors import error_responses
from booking.web.fields import TOKEN_NAME_MAX, Id, OneLine

ICS = "text/calendar"  # Litestar adds "; charset=utf-8"


class FeedIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    kind: FeedKind
    # the group, room or facility; none for a manager's feed
    target_id: Id | None = None
    name: Annotated[OneLine, msgspec.Meta(min_length=1, max_length=TOKEN_NAME_MAX)] = "booking"


class FeedRead(msgspec.Struct):
    id: int
    kind: FeedKind
    target_id: int | None
    name: str
    created_at: datetime
    revoked_at: datetime | None


class FeedIssued(FeedRead):
    # Shown once: the secret is in the URL; only its hash is kept.
    url: str
    webcal_url: str


def feed_read(feed: CalendarFeed) -> FeedRead:
    return FeedRead(
        id=feed.id,
        kind=feed.kind,
        target_id=feed.target_id,
        name=feed.name,
        created_at=feed.created_at,
        revoked_at=feed.revoked_at,
    )


def issued(feed: CalendarFeed, token: str, public_url: str) -> FeedIssued:
    url = f"{public_url.rstrip('/')}/ical/{token}.ics"
    read = feed_read(feed)
    return FeedIssued(
        **{f: getattr(read, f) for f in read.__struct_fields__},
        url=url,
        webcal_url="webcal://" + url.split("://", 1)[1],
    )


class FeedController(Controller):
    path = "/api/v1/feeds"
    tags = ["calendars"]  # noqa: RUF012 - Litestar's own class attribute

    @post(
        "/",
        summary="Create a calendar feed (its URL is shown once)",
        description="group: its members; room, facility: public occupancy, anyone logged in; "
        "facility_staff: its staff; manager: every facility assigned to you.",
        responses=error_responses(400, 401, 403, 404, 415),
    )
    async def create(
        self,
        data: JSONBody[FeedIn],
        auth: Auth,
        db_session: DbSession,
        clock: CurrentClock,
        settings: AppSettings,
        network: Network,
    ) -> FeedIssued:
        made = await feeds.create_feed(
            db_session, clock, network, auth.required(), data.kind, data.target_id, data.name
        )
        return issued(made.feed, made.token, settings.public_url)

    @get("/", summary="Your calendar feeds", responses=error_responses(401))
    async def mine(self, auth: Auth, db_session: DbSession) -> list[FeedRead]:
        return [feed_read(f) for f in await feeds.list_feeds(db_session, auth.required())]

    @post(
        "/{feed_id:int}/rotate",
        status_code=HTTP_200_OK,
        summary="A new URL for the feed; the old one stops working at once",
        responses=error_responses(400, 401, 404),
    )
    async def rotate(
        self,
        feed_id: FromPath[int],
        auth: Auth,
        db_session: DbSession,
        clock: CurrentClock,
        settings: AppSettings,
    ) -> FeedIssued:
        made = await feeds.rotate_feed(db_session, clock, auth.required(), feed_id)
        return issued(made.feed, made.token, settings.public_url)

    @delete("/{feed_id:int}", summary="Revoke a feed", responses=error_responses(400, 401, 404))
    async def revoke(
        self, feed_id: FromPath[int], auth: Auth, db_session: DbSession, clock: CurrentClock
    ) -> None:
        await feeds.revoke_feed(db_session, clock, auth.required(), feed_id)


def _host(settings: Settings) -> str:
    return urlsplit(settings.public_url).hostname or "booking.local"


def _etags(request: Request[Any, Any, Any]) -> list[str]:
    """The entity tags of If-None-Match (every header line), weak ones as their opaque tag."""
    tags = ",".join(request.headers.getall("if-none-match", [])).split(",")
    return [tag.strip().removeprefix("W/") for tag in tags if tag.strip()]


def _not_modified(
    request: Request[Any, Any, Any], etag: str, last_modified: datetime | None
) -> bool:
    """RFC 9110 §13.1.2 and §13.1.3: If-None-Match compares weakly (W/"x" matches "x", * any)
    and, when present, If-Modified-Since is not looked at; dates compare at whole seconds."""
    if "if-none-match" in request.headers:
        return any(tag in {"*", etag} for tag in _etags(request))
    since = request.headers.get("if-modified-since")
    if not since or last_modified is None:
        return False
    try:
        when = parsedate_to_datetime(since)
    except (TypeError, ValueError):
        return False
    if when.tzinfo is None:  # "-0000": UTC of unknown origin
        when = when.replace(tzinfo=UTC)
    return last_modified.replace(microsecond=0) <= when


def _version(
    feed: CalendarFeed,
    principal: Principal,
    win: feeds.Window,
    rows: str,
    ctx: render.Context,
) -> str:
    """A digest of everything the body is made of: the rows, the feed, who reads it and how."""
    scope = sorted(principal.facility_ids) if feed.kind is FeedKind.MANAGER else []
    inputs = (
        rows,
        feed.id,
        feed.kind,
        feed.target_id,
        feed.name,
        win,
        principal.staff_role,
        principal.is_admin,
        scope,
        ctx.key,
        render.CODE_VERSION,
    )
    return hashlib.sha256(repr(inputs).encode()).hexdigest()


def _headers(served: feeds.Validators) -> dict[str, str]:
    headers = {
        "ETag": f'"{served.etag}"',
        "Cache-Control": "private, max-age=900, must-revalidate",
    }
    if served.last_modified is not None:
        headers["Last-Modified"] = format_datetime(served.last_modified, usegmt=True)
    return headers


async def _body(
    db_session: AsyncSession,
    feed: CalendarFeed,
    principal: Principal,
    win: feeds.Window,
    ctx: render.Context,
) -> bytes:
    rows = await feeds.bookings_of(db_session, feed, principal, win)
    if feed.kind in feeds.PUBLIC:
        events = [render.public_event(ctx, row, feed.uid_key) for row in rows]
    else:
        detail: Literal["group", "staff"] = "group" if feed.kind is FeedKind.GROUP else "staff"
        events = [render.booking_event(ctx, row, detail) for row in rows]
    events += [render.win_event(ctx, won) for won in await feeds.wins_of(db_session, feed, win)]
    return render.calendar(feed.name, events)


async def _rendered(
    read_session: AsyncSession,
    feed: CalendarFeed,
    principal: Principal,
    win: feeds.Window,
    ctx: render.Context,
    version: str,
    etag: str | None,
) -> tuple[bytes, str]:
    """The body at this version and its ETag (`etag`: the stored one, when it is of this very
    version). The same inputs make the same bytes: read, rendered and hashed once per version
    in each process."""
    cached = ctx.cache.bodies.get(feed.id, version)
    if cached is not None:
        return cached
    body = await _body(read_session, feed, principal, win, ctx)
    etag = etag or hashlib.sha256(body).hexdigest()[:32]
    ctx.cache.bodies.put(feed.id, version, body, etag)
    return body, etag


class ICalController(Controller):
    path = "/ical"
    tags = ["calendars"]  # noqa: RUF012

    @route(
        "/{feed_file:str}",
        http_method=[HttpMethod.GET, HttpMethod.HEAD],
        summary="A calendar feed (RFC 5545) by its secret URL: /ical/<token>.ics",
        description="HEAD answers with the same headers and no body. ETag (strong, the "
        "body's hash) and Last-Modified (never moving back) answer If-None-Match (weak "
        "comparison, lists, *) and If-Modified-Since with 304.",
        media_type=ICS,
        responses=error_responses(400, 404),
    )
    async def feed(  # noqa: PLR0913, PLR0917 - Litestar passes handler arguments by name
        self,
        request: Request[Any, Any, Any],
        feed_file: FromPath[str],
        db_session: DbSession,
        read_session: ReadSession,
        state: State,
        lang: FromQuery[Literal["ja", "en"]] = "ja",
        past_days: Annotated[int, QueryParameter(ge=0, le=feeds.MAX_PAST_DAYS)] = 90,
        future_days: Annotated[int, QueryParameter(ge=1, le=feeds.MAX_FUTURE_DAYS)] = 400,
    ) -> Response[bytes]:
        # The clock, settings and network from the app's state, not their providers: a feed
        # is polled all day, and those providers (with `auth`, which `network` waits for) were
        # a task group and a round trip per request (bench/ical.py, README "Issue 20").
        clock: Clock = state.clock
        settings: Settings = state.settings
        token = feed_file.removesuffix(".ics") if feed_file.endswith(".ics") else ""
        # The token on the primary (a rotated or revoked URL stops working at once), read with
        # the network's revision; the bookings, which may lag a little, from the read replica
        # if one is set.
        found = await feeds.resolve(db_session, state.snapshot_cache, token)
        feed, principal = found.feed, found.principal
        win = feeds.window(local_today(clock, settings.tz), settings.tz, past_days, future_days)
        ctx = await _context(request, db_session, settings, found.snapshot, lang)
        rows = await feeds.fingerprint(read_session, feed, principal, win)
        version = _version(feed, principal, win, rows, ctx)
        served = feeds.Validators.of(feed)
        unchanged = served.version == version and served.etag is not None
        if unchanged and _not_modified(request, f'"{served.etag}"', served.last_modified):
            # nothing the body is made of has changed since it was served: nothing to render
            return Response(b"", status_code=HTTP_304_NOT_MODIFIED, headers=_headers(served))
        body, etag = await _rendered(
            read_session, feed, principal, win, ctx, version, served.etag if unchanged else None
        )
        if unchanged:
            new = served
            background = None
        else:
            new = feeds.after_render(served, version, etag, clock.now())
            background = BackgroundTask(
                feeds.store_validators, request.app.state.sessionmaker, feed.id, served, new
            )
        headers = _headers(new)
        if _not_modified(request, headers["ETag"], new.last_modified):
            return Response(
                b"", status_code=HTTP_304_NOT_MODIFIED, headers=headers, background=background
            )
        return Response(body, media_type=ICS, headers=headers, background=background)


async def _context(
    request: Request[Any, Any, Any],
    db_session: AsyncSession,
    settings: Settings,
    network: NetworkSnapshot,
    lang: render.Lang,
) -> render.Context:
    return render.Context(
        cache=request.app.state.event_cache,
        snapshot=network,
        purposes=await feeds.purpose_names(db_session, network),
        lang=lang,
        base_url=settings.public_url.rstrip("/"),
        host=_host(settings),
    )


class BookingICalController(Controller):
    path = "/api/v1/bookings"
    tags = ["calendars"]  # noqa: RUF012

    @get(
        "/{booking_id:int}/calendar.ics",
        summary="One booking as an .ics file to import",
        media_type=ICS,
        responses=error_responses(400, 401, 404),
    )
    async def one(
        self,
        request: Request[Any, Any, Any],
        booking_id: FromPath[int],
        auth: Auth,
        db_session: DbSession,
        settings: AppSettings,
        network: Network,
        lang: FromQuery[Literal["ja", "en"]] = "ja",
    ) -> Response[bytes]:
        booking, _ = await get_booking(db_session, auth.required(), booking_id)
        (row,) = await feeds.event_rows(db_session, [Booking.id == booking.id])
        ctx = await _context(request, db_session, settings, network, lang)
        event = render.booking_event(ctx, row, "group")
        return Response(
            render.calendar(f"booking {booking.id}", [event]),
            media_type=ICS,
            headers={"Content-Disposition": f'attachment; filename="booking-{booking.id}.ics"'},
        )
