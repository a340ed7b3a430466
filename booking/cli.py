"""The `booking` command for operators."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError

from booking.clock import SystemClock
from booking.db import migrate
from booking.inventory.commands import NotMigratedError, load_facilities, network_is_empty
from booking.inventory.datafiles import DataValidationError, read_network
from booking.paths import facilities_data_dir
from booking.settings import Settings, load_settings


def _settings() -> Settings:
    try:
        return load_settings()
    except ValidationError as exc:
        for error in exc.errors():
            field = "BOOKING_" + str(error["loc"][0]).upper() if error["loc"] else "settings"
            click.echo(f"error: {field}: {error['msg']}", err=True)
        sys.exit(2)


def _data_path(path: Path | None, settings: Settings) -> Path:
    return path or settings.facilities_path or facilities_data_dir()


def _report_invalid(exc: DataValidationError) -> None:
    for error in exc.errors:
        click.echo(f"error: {error}", err=True)
    click.echo(f"{len(exc.errors)} problem(s); nothing was loaded", err=True)


def _load_or_exit(settings: Settings, path: Path) -> None:
    try:
        report = asyncio.run(load_facilities(settings, path, SystemClock()))
    except DataValidationError as exc:
        _report_invalid(exc)
        sys.exit(1)
    except NotMigratedError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except DBAPIError as exc:
        click.echo(
            f"error: the database refused the load ({exc.orig}); nothing was loaded", err=True
        )
        sys.exit(1)
    click.echo(f"loaded facility data from {path}: {report.summary()}")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """booking: reservations for a city's civic halls, children's and senior centres.

    Configured by BOOKING_* environment variables (see the README); with no
    BOOKING_DATABASE_URL it uses an embedded SQLite file under BOOKING_DATA_DIR.
    """


@main.command()
@click.option(
    "--host", default=None, help="Address to listen on [default: BOOKING_HOST or 127.0.0.1]"
)
@click.option("--port", type=int, default=None, help="Port [default: BOOKING_PORT or 8000]")
def serve(host: str | None, port: int | None) -> None:
    """Migrate the database, load the bundled data if it is empty, and serve HTTP."""
    import uvicorn  # noqa: PLC0415 - only the server needs it

    from booking.app import create_app  # noqa: PLC0415

    settings = _settings()
    migrate.upgrade(settings)
    if asyncio.run(network_is_empty(settings)):
        _load_or_exit(settings, _data_path(None, settings))
    uvicorn.run(
        create_app(settings),
        host=host or settings.host,
        port=port or settings.port,
        proxy_headers=True,
        log_level=settings.log_level,
        access_log=settings.log_level in {"info", "debug"},
    )


@main.group()
def db() -> None:
    """Database schema: upgrade, downgrade, current."""


@db.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: head)."""
    migrate.upgrade(_settings(), revision)


@db.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Revert migrations down to REVISION (e.g. -1, or base)."""
    migrate.downgrade(_settings(), revision)


@db.command("current")
def db_current() -> None:
    """Show the revision the database is at."""
    migrate.current(_settings())


@main.group()
def facilities() -> None:
    """The facility network's data files: validate, load."""


@facilities.command("validate")
@click.argument("path", type=click.Path(path_type=Path), required=False)
def facilities_validate(path: Path | None) -> None:
    """Check the data files under PATH (default: the bundled data) without loading them."""
    path = _data_path(path, _settings())
    try:
        network = read_network(path)
    except DataValidationError as exc:
        _report_invalid(exc)
        sys.exit(1)
    rooms = sum(len(f.rooms) for f in network.facilities)
    click.echo(f"{path}: valid ({len(network.facilities)} facilities, {rooms} rooms)")


@facilities.command("load")
@click.argument("path", type=click.Path(path_type=Path), required=False)
def facilities_load(path: Path | None) -> None:
    """Validate, then load PATH (default: the bundled data) in one transaction.

    Loading again changes nothing; a changed file updates rows in place, and facilities or
    rooms that left the data are retired, never deleted.
    """
    settings = _settings()
    _load_or_exit(settings, _data_path(path, settings))
