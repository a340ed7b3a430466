"""The `booking` command for operators."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from booking.clock import SystemClock
from booking.errors import BookingError
from booking.paths import facilities_data_dir

# The rest is imported by the commands that use it: SQLAlchemy, the models and Litestar
# take over a second to import, which `booking --help` (and each command's) need not wait.
if TYPE_CHECKING:
    from booking.accounts.models import StaffRole
    from booking.inventory.datafiles import DataValidationError
    from booking.inventory.load import TakeFile
    from booking.settings import Settings


def _settings() -> Settings:
    from pydantic import ValidationError  # noqa: PLC0415

    from booking.settings import load_settings  # noqa: PLC0415

    try:
        return load_settings()
    except ValidationError as exc:
        for error in exc.errors():
            field = "BOOKING_" + str(error["loc"][0]).upper() if error["loc"] else "settings"
            click.echo(f"error: {field}: {error['msg']}", err=True)
        sys.exit(2)


def _existing(*, need_schema: bool = True) -> Settings:
    """The settings of a command that works on the database `serve` made: say where it was
    looked for and stop (exit 1, nothing created) when it is missing or not migrated."""
    from booking.db.existing import database_problem  # noqa: PLC0415

    settings = _settings()
    problem = asyncio.run(database_problem(settings, need_schema=need_schema))
    if problem:
        click.echo(f"error: {problem}", err=True)
        sys.exit(1)
    return settings


def _data_path(path: Path | None, settings: Settings) -> Path:
    return path or settings.facilities_path or facilities_data_dir()


def _report_invalid(exc: DataValidationError) -> None:
    for error in exc.errors:
        click.echo(f"error: {error}", err=True)
    click.echo(f"{len(exc.errors)} problem(s); nothing was loaded", err=True)


def _load_or_exit(settings: Settings, path: Path, take_file: TakeFile | None = None) -> None:
    from sqlalchemy.exc import DBAPIError  # noqa: PLC0415

    from booking.inventory.commands import NotMigratedError, load_facilities  # noqa: PLC0415
    from booking.inventory.datafiles import DataValidationError  # noqa: PLC0415
    from booking.inventory.load import KEEP_STAFF_EDITS  # noqa: PLC0415

    take_file = KEEP_STAFF_EDITS if take_file is None else take_file
    try:
        report = asyncio.run(load_facilities(settings, path, SystemClock(), take_file))
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
    for conflict in report.conflicts:
        click.echo(f"conflict: {conflict}", err=True)
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
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=None,
    help="Server processes on the one port [default: BOOKING_WORKERS or 1]",
)
def serve(host: str | None, port: int | None, workers: int | None) -> None:
    """Migrate the database, load the bundled data if it is empty, and serve HTTP."""
    from booking import serving  # noqa: PLC0415 - only the server needs it
    from booking.db import migrate  # noqa: PLC0415
    from booking.inventory.commands import network_is_empty  # noqa: PLC0415
    from booking.web.logs import configure_logging  # noqa: PLC0415

    settings = _settings()
    configure_logging(settings)  # the migration's and the load's warnings as the server's lines

    def prepare() -> None:
        migrate.upgrade(settings)
        if asyncio.run(network_is_empty(settings)):
            _load_or_exit(settings, _data_path(None, settings))

    # Once, before any server process starts (N workers never race to migrate or load), and
    # one host at a time when several start together on one PostgreSQL.
    serving.first_start(settings, prepare)
    workers = workers or settings.workers
    serving.run(settings, host=host, port=port, workers=workers)


@main.group()
def db() -> None:
    """The database: schema (upgrade, downgrade, current), check, backup and restore."""


@db.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: head)."""
    from booking.db import migrate  # noqa: PLC0415

    migrate.upgrade(_settings(), revision)


@db.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Revert migrations down to REVISION (e.g. -1, or base)."""
    from booking.db import migrate  # noqa: PLC0415

    migrate.downgrade(_existing(need_schema=False), revision)


@db.command("current")
def db_current() -> None:
    """Show the revision the database is at."""
    from booking.db import migrate  # noqa: PLC0415

    migrate.current(_existing(need_schema=False))


@db.command("check")
def db_check() -> None:
    """Check that claims and reservations agree; exit 1 if any claim is orphaned or doubled."""
    if not _claims_agree(_existing()):
        sys.exit(1)


def _claims_agree(settings: Settings) -> bool:
    from booking.reservations.consistency import check  # noqa: PLC0415

    report = asyncio.run(_in_transaction(settings, check))
    for line in report.lines():
        click.echo(line)
    if not report.ok:
        click.echo(f"{len(report.lines())} problem(s)", err=True)
        return False
    click.echo("claims and reservations agree")
    return True


@db.command("backup")
@click.argument("path", type=click.Path(path_type=Path))
def db_backup(path: Path) -> None:
    """Write a consistent backup of the database to PATH while it serves (SQLite: the online
    backup API; PostgreSQL: pg_dump's custom format). PATH appears only once complete."""
    from booking.db.backup import BackupError, backup  # noqa: PLC0415

    settings = _existing(need_schema=False)  # before an upgrade is when one is wanted most
    try:
        report = asyncio.run(backup(settings, path))
    except BackupError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    click.echo(report.summary())


@db.command("restore")
@click.argument("path", type=click.Path(path_type=Path))
@click.option(
    "--force",
    is_flag=True,
    help="Replace what the database holds (stop every server and worker first); "
    "without it a database that has tables is refused",
)
def db_restore(path: Path, force: bool) -> None:
    """Restore the backup PATH into the configured database, which must be empty (a new
    PostgreSQL database, a new SQLite file), all or nothing; then check it."""
    from booking.db.backup import BackupError, Standing, is_postgresql, restore  # noqa: PLC0415
    from booking.db.existing import database_problem  # noqa: PLC0415

    settings = _settings()
    problem = is_postgresql(settings) and asyncio.run(database_problem(settings, need_schema=False))
    if problem:  # PostgreSQL's database must exist; SQLite's file is made
        click.echo(f"error: {problem}", err=True)
        click.echo("a restore goes into a new, empty database: make one with createdb", err=True)
        sys.exit(1)
    try:
        report = asyncio.run(restore(settings, path, force=force))
    except BackupError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    click.echo(report.summary())
    if report.standing is Standing.OLDER:
        click.echo(
            f"the backup's schema is older than this version's ({report.head}): run "
            "`booking db upgrade`, then `booking db check`, before `booking serve`"
        )
    elif not _claims_agree(settings):
        sys.exit(1)


@main.group()
def facilities() -> None:
    """The facility network's data files: validate, load."""


@facilities.command("validate")
@click.argument("path", type=click.Path(path_type=Path), required=False)
def facilities_validate(path: Path | None) -> None:
    """Check the data files under PATH (default: the bundled data) without loading them."""
    from booking.inventory.datafiles import DataValidationError, read_network  # noqa: PLC0415

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
@click.option(
    "--take-file",
    "take_file",
    multiple=True,
    metavar="SELECTOR",
    help="Take the file's value where staff changed it in the system: '*' for every "
    "conflict, or FACILITY, FACILITY/ROOM, each optionally :FIELD (e.g. hall:phone); "
    "repeatable",
)
def facilities_load(path: Path | None, take_file: tuple[str, ...]) -> None:
    """Validate, then load PATH (default: the bundled data) in one transaction.

    Loading again changes nothing; a changed file updates rows in place, and facilities or
    rooms that left the data are retired, never deleted. A value staff set or confirmed in
    the system is kept and reported as a conflict when the file differs, unless --take-file
    selects it.
    """
    from booking.inventory.datafiles import DataValidationError, read_network  # noqa: PLC0415
    from booking.inventory.load import TakeFile  # noqa: PLC0415

    settings = _settings()
    path = _data_path(path, settings)
    try:
        read_network(path)  # bad data is reported first, whatever the database
    except DataValidationError as exc:
        _report_invalid(exc)
        sys.exit(1)
    _existing()
    _load_or_exit(settings, path, TakeFile(frozenset(take_file)))


@facilities.command("export")
@click.argument("directory", type=click.Path(path_type=Path), default=Path("facilities_export"))
def facilities_export(directory: Path) -> None:
    """Write the live network to DIRECTORY (default: ./facilities_export) in the format of
    the data files; `booking facilities load DIRECTORY` then changes nothing."""
    from booking.inventory.commands import NotMigratedError, export_facilities  # noqa: PLC0415
    from booking.inventory.datafiles import DataValidationError  # noqa: PLC0415
    from booking.inventory.export import ExportError  # noqa: PLC0415

    settings = _existing()
    try:
        count = asyncio.run(export_facilities(settings, directory))
    except (ExportError, NotMigratedError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except DataValidationError as exc:
        for error in exc.errors:
            click.echo(f"error: {error}", err=True)
        click.echo(f"{len(exc.errors)} problem(s) in the written files", err=True)
        sys.exit(1)
    click.echo(f"wrote {count} facilities to {directory}")


@main.group()
def users() -> None:
    """Administrators and facility managers."""


def _staff_options(fn: Any) -> Any:
    fn = click.option("--email", required=True, help="Their e-mail: the login name")(fn)
    fn = click.option("--name", required=True, help="Their name as shown to staff")(fn)
    return click.option(
        "--password-stdin",
        is_flag=True,
        help="Read the password from standard input instead of prompting. "
        "With neither a terminal nor this flag, an invitation to set one is mailed.",
    )(fn)


def _password(from_stdin: bool) -> str | None:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    if sys.stdin.isatty():
        value: str = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        return value
    return None


def _create_staff(
    email: str, name: str, role: StaffRole, facility: tuple[str, ...], password_stdin: bool
) -> None:
    from booking.accounts.commands import create_staff  # noqa: PLC0415

    settings = _existing()  # before asking for a password that could not be stored
    password = _password(password_stdin)
    try:
        user_id = asyncio.run(
            create_staff(
                settings,
                SystemClock(),
                email=email,
                name=name,
                role=role,
                facilities=facility,
                password=password,
            )
        )
    except BookingError as exc:
        click.echo(f"error: {exc.field or 'input'}: {exc.message}", err=True)
        sys.exit(1)
    how = "with the password given" if password else "an invitation mail is in the outbox"
    click.echo(f"{role.value} {email} is user {user_id}; {how}")


@users.command("create-admin")
@_staff_options
def users_create_admin(email: str, name: str, password_stdin: bool) -> None:
    """Make someone an administrator (the first one is created this way)."""
    from booking.accounts.models import StaffRole  # noqa: PLC0415

    _create_staff(email, name, StaffRole.ADMIN, (), password_stdin)


@users.command("create-manager")
@_staff_options
@click.option(
    "--facility",
    "facility",
    multiple=True,
    required=True,
    help="A facility key or id they manage; repeat for several",
)
def users_create_manager(
    email: str, name: str, password_stdin: bool, facility: tuple[str, ...]
) -> None:
    """Make someone the manager of one or more facilities."""
    from booking.accounts.models import StaffRole  # noqa: PLC0415

    _create_staff(email, name, StaffRole.MANAGER, facility, password_stdin)


@main.group(invoke_without_command=True)
@click.option("--once", is_flag=True, help="Run what is due now, then exit")
@click.pass_context
def worker(context: click.Context, once: bool) -> None:
    """Run the scheduled jobs (mail, holds, the lottery, reminders, purges) until stopped
    (SIGTERM, Ctrl-C); booking/jobs/schedule.py lists them. `worker status`: their last runs."""
    if context.invoked_subcommand is not None:
        return
    from booking.jobs.worker import run_worker  # noqa: PLC0415
    from booking.web.logs import configure_logging  # noqa: PLC0415

    settings = _existing()
    configure_logging(settings)  # as serve's: text or JSON lines (BOOKING_LOG_FORMAT)
    report = asyncio.run(run_worker(settings, SystemClock(), once=once))
    click.echo(f"sent {report.sent}, to retry {report.retried}, dead {report.dead}")
    if report.failed:  # logged with their tracebacks; `booking worker status` shows them too
        click.echo(f"failed: {', '.join(report.failed)}", err=True)
        sys.exit(1)


@worker.command("status")
def worker_status() -> None:
    """Each job: its schedule, last run, result, how overdue it is, its last error."""
    from booking.jobs.status import show  # noqa: PLC0415

    settings = _existing()
    lines = asyncio.run(_in_transaction(settings, lambda s: show(s, SystemClock(), settings)))
    click.echo("\n".join(lines))


@main.group()
def outbox() -> None:
    """Look at and requeue undelivered mail."""


async def _in_transaction(settings: Settings, work: Any) -> Any:
    from booking.db.engine import create_engine, create_sessionmaker  # noqa: PLC0415

    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine).begin() as session:
            return await work(session)
    finally:
        await engine.dispose()


@outbox.command("status")
def outbox_status() -> None:
    """Messages by status: pending, sent, dead."""
    from booking.notifications.delivery import outbox_counts  # noqa: PLC0415

    counts = asyncio.run(_in_transaction(_existing(), outbox_counts))
    click.echo("  ".join(f"{status}: {count}" for status, count in counts.items()))


@outbox.command("requeue")
@click.argument("message_id", type=int, required=False)
@click.option("--all-dead", is_flag=True, help="Requeue every dead message")
def outbox_requeue(message_id: int | None, all_dead: bool) -> None:
    """Give a dead message (or --all-dead) a fresh set of attempts."""
    from booking.notifications.delivery import requeue  # noqa: PLC0415

    if (message_id is None) == (not all_dead):
        raise click.UsageError("give a MESSAGE_ID or --all-dead, not both")
    clock = SystemClock()
    count = asyncio.run(
        _in_transaction(_existing(), lambda session: requeue(session, clock, message_id))
    )
    click.echo(f"requeued {count}")


@main.group()
def lottery() -> None:
    """The monthly lottery: draw a cycle, verify a draw."""


def _month(value: str) -> Any:
    from booking.lottery.applications import parse_month  # noqa: PLC0415

    try:
        return parse_month(value)
    except BookingError as exc:
        raise click.BadParameter(exc.message) from exc


@lottery.command("draw")
@click.option("--cycle", "cycle", required=True, help="The use month, YYYY-MM")
@click.option("--facility", type=int, default=None, help="Only this facility (id)")
def lottery_draw(cycle: str, facility: int | None) -> None:
    """Draw a use month now (every facility with applications, or one). Safe to run twice."""
    from booking.lottery.commands import draw_cycle  # noqa: PLC0415

    month = _month(cycle)
    for result in asyncio.run(draw_cycle(_existing(), SystemClock(), month, facility)):
        state = "drawn" if result.drawn else "already drawn"
        click.echo(
            f"{result.use_month:%Y-%m} facility {result.facility_id}: {state}"
            + (f", {result.applications} applications, {result.wins} wins" if result.drawn else "")
        )


@lottery.command("verify")
@click.option("--cycle", "cycle", required=True, help="The use month, YYYY-MM")
@click.option("--facility", type=int, default=None, help="Only this facility (id)")
def lottery_verify(cycle: str, facility: int | None) -> None:
    """Replay every draw of a use month from its published file and the database's
    applications; exit 1 on any difference."""
    from booking.lottery.commands import verify_cycle  # noqa: PLC0415

    month = _month(cycle)
    problems = asyncio.run(verify_cycle(_existing(), month, facility))
    for line in problems:
        click.echo(f"FAIL: {line}", err=True)
    if problems:
        sys.exit(1)
    click.echo("every draw reproduces")
