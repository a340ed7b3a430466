"""HTTP for calendar feeds: manage tokens under /api/v1/feeds, serve /ical/<token>.ics."""

from __future__ import annotations

import hashlib
from datetime import datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import msgspec
from litestar import Controller, Request, Response, delete, get, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_304_NOT_MODIFIED

from booking.accounts.auth import Auth
from booking.calendars import feeds, render
from booking.calendars.models import CalendarFeed, FeedKind
from booking.clock import local_today
from booking.deps import AppSettings, CurrentClock, DbSession, Network
from booking.reservations.changes import get_booking
from booking.reservations.models import Booking
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


def _host(settings: Any) -> str:
    return urlsplit(settings.public_url).hostname or "booking.local"


def _not_modified(request: Request[Any, Any, Any], etag: str, latest: datetime | None) -> bool:
    match = request.headers.get("if-none-match")
    if match is not None:
        return etag in [tag.strip() for tag in match.split(",")] or match.strip() == "*"
    since = request.headers.get("if-modified-since")
    if since and latest is not None:
        try:
            return latest.replace(microsecond=0) <= parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False
    return False


class ICalController(Controller):
    path = "/ical"
    tags = ["calendars"]  # noqa: RUF012

    @get(
        "/{feed_file:str}",
        summary="A calendar feed (RFC 5545) by its secret URL: /ical/<token>.ics",
        media_type=ICS,
        responses=error_responses(400, 404),
    )
    async def feed(  # noqa: PLR0913, PLR0917 - Litestar passes handler arguments by name
        self,
        request: Request[Any, Any, Any],
        feed_file: FromPath[str],
        db_session: DbSession,
        clock: CurrentClock,
        settings: AppSettings,
        network: Network,
        lang: FromQuery[Literal["ja", "en"]] = "ja",
        past_days: Annotated[int, QueryParameter(ge=0, le=feeds.MAX_PAST_DAYS)] = 90,
        future_days: Annotated[int, QueryParameter(ge=1, le=feeds.MAX_FUTURE_DAYS)] = 400,
    ) -> Response[bytes]:
        token = feed_file.removesuffix(".ics") if feed_file.endswith(".ics") else ""
        feed, principal = await feeds.resolve(db_session, network, token)
        win = feeds.window(local_today(clock, settings.tz), settings.tz, past_days, future_days)
        count, latest, sequences = await feeds.fingerprint(db_session, feed, principal, win)
        tag = hashlib.sha256(
            f"{feed.id}|{feed.kind}|{lang}|{win}|{count}|{latest}|{sequences}|"
            f"{network.revision}|{principal.staff_role}".encode()
        ).hexdigest()[:32]
        etag = f'"{tag}"'
        headers = {
            "ETag": etag,
            "Cache-Control": "private, max-age=900, must-revalidate",
        }
        if latest is not None:
            headers["Last-Modified"] = format_datetime(latest, usegmt=True)
        if _not_modified(request, etag, latest):
            return Response(b"", status_code=HTTP_304_NOT_MODIFIED, headers=headers)
        detail: render.Detail = (
            "public"
            if feed.kind in feeds.PUBLIC
            else ("group" if feed.kind is FeedKind.GROUP else "staff")
        )
        host, base = _host(settings), settings.public_url.rstrip("/")
        events = [
            render.booking_event(
                request.app.state.event_cache, network, row, lang, detail, base, host
            )
            for row in await feeds.bookings_of(db_session, feed, principal, win)
        ]
        events += [
            render.win_event(request.app.state.event_cache, network, application, lang, base, host)
            for application in await feeds.wins_of(db_session, feed, win)
        ]
        body = render.calendar(feed.name, events)
        return Response(body, media_type=ICS, headers=headers)


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
        event = render.booking_event(
            request.app.state.event_cache,
            network,
            row,
            lang,
            "group",
            settings.public_url.rstrip("/"),
            _host(settings),
        )
        return Response(
            render.calendar(f"booking {booking.id}", [event]),
            media_type=ICS,
            headers={"Content-Disposition": f'attachment; filename="booking-{booking.id}.ics"'},
        )
