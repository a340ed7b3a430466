"""Ids in addresses: a number no row can have is an unknown id, a 404 before the database.

Every `{x:int}` path parameter of the app (API and pages) is a row's id, an INTEGER primary
key: PostgreSQL's int4 refuses a larger number and SQLite's driver one past 64 bits, both with
an error that is no "not found". One guard on the app checks them all before any handler,
dependency or query runs; the handler's own error handlers answer (a problem or a page).
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotFoundException
from litestar.handlers.base import BaseRouteHandler

from booking.errors import NotFound

MAX_ID = 2**31 - 1  # the largest INTEGER on PostgreSQL, the stricter engine
MAX_FILE_NAME = 255  # a longer name is an OSError of the file system, not "no such file"


async def ids_in_range(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """A guard: an int path parameter below 1 or above MAX_ID names nothing that exists.

    A coroutine: Litestar runs a plain function guard in a worker thread, a thread hop on
    every request of the app (bench/bookings.py)."""
    for name, value in connection.path_params.items():
        if isinstance(value, int) and not 1 <= value <= MAX_ID:
            raise NotFound(f"no {name.removesuffix('_id')} {value}", field=name)


async def plain_file_path(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    """A guard of the static files: a name with a control character (a NUL is a ValueError of
    the operating system's calls) or longer than any file's names no file: 404, not a 500."""
    path = str(connection.scope["path"])
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in path) or any(
        len(part.encode()) > MAX_FILE_NAME for part in path.split("/")
    ):
        raise NotFoundException
