"""One settings object, read from BOOKING_* environment variables."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BOOKING_", extra="ignore")

    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL, e.g. postgresql+asyncpg://user@host/db. "
        "Unset: an embedded SQLite file under data_dir.",
    )
    data_dir: Path = Field(default=Path("data"), description="Where the embedded database lives.")
    facilities_path: Path | None = Field(
        default=None, description="Facility data to load on first start; default: the bundled data."
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    timezone: str = Field(default="Asia/Tokyo", description="The facilities' local time zone.")
    debug: bool = False
    log_level: Literal["critical", "error", "warning", "info", "debug"] = Field(
        default="info", description="Server log level; below info, requests are not logged."
    )
    db_pool_size: int = Field(default=10, ge=1, le=1000)

    # Past one process (issue 20). `booking serve` runs this many server processes on one
    # port; each has its own pool of db_pool_size connections.
    workers: int = Field(default=1, ge=1, le=64, description="Server processes (booking serve).")
    # An optional PostgreSQL streaming replica for reads that may lag a little (availability,
    # feeds, public pages). A person's own pages and every write use the primary; a replica
    # that is down or further behind than read_max_lag_seconds is not used.
    database_read_url: str | None = Field(
        default=None, description="PostgreSQL replica URL for public reads (unset: none)."
    )
    read_max_lag_seconds: float = Field(default=5.0, gt=0, le=3600)
    # Overload: a process answers 503 with Retry-After at once when this many requests are
    # already in flight, or when no database connection comes free within the timeout,
    # instead of letting every request's latency grow without bound.
    max_requests_in_flight: int = Field(default=100, ge=1, le=100_000)
    db_pool_timeout_seconds: float = Field(default=2.0, gt=0, le=60)
    # Logs: "json" writes one JSON object a line (with the request id) for a log collector.
    log_format: Literal["text", "json"] = Field(default="text", description="text or json")
    # Who may read /metrics (Prometheus): these addresses or networks, comma-separated.
    metrics_networks: str = Field(
        default="127.0.0.1,::1", description="Addresses or networks allowed to read /metrics."
    )
    # A scrape reuses the database counts a process read this recently (booking/web/metrics_db.py).
    metrics_max_age_seconds: float = Field(
        default=5.0,
        ge=0,
        le=300,
        description="/metrics: how old (seconds) the database counts may be "
        "(0: every scrape reads them).",
    )

    # Links in mails point here: the address people use to reach the site.
    public_url: str = Field(default="http://127.0.0.1:8000", description="Base URL for links.")

    # Passwords: Argon2id, tuned to 50-250 ms per hash on a 2-core server (bench/passwords.py).
    password_time_cost: int = Field(default=3, ge=1)
    password_memory_kib: int = Field(default=65536, ge=8)
    password_parallelism: int = Field(default=2, ge=1)

    # Web sessions end after this long idle, and after max_hours whatever happens.
    session_idle_minutes: int = Field(default=120, ge=1)
    session_max_hours: int = Field(default=12, ge=1)

    # Login throttling, counted in the database so every app process sees the same counts.
    login_account_failures: int = Field(default=5, ge=1, description="per account and window")
    login_address_failures: int = Field(default=20, ge=1, description="per address and window")
    login_window_minutes: int = Field(default=15, ge=1)
    login_lockout_minutes: int = Field(default=15, ge=1)

    # Peers whose X-Forwarded-For / X-Forwarded-Proto are believed: the reverse proxies in
    # front of the app. Anyone else's headers are ignored (they could name any address).
    trusted_proxies: str = Field(
        default="127.0.0.1,::1",
        description="Comma-separated addresses or CIDR networks of trusted reverse proxies.",
    )

    # Mail: the worker delivers the outbox through this SMTP server.
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = Field(default=False, description="Upgrade with STARTTLS after connect.")
    smtp_tls: bool = Field(default=False, description="Implicit TLS from the start (port 465).")
    smtp_timeout_seconds: float = Field(default=30.0, gt=0)
    mail_from: str = "booking@localhost"
    # Where mail goes. "smtp": the worker sends it to smtp_host. "console": printed on the
    # standard output of whoever delivers it ("files": one .eml per mail in mail_dir), and
    # `booking serve` delivers it itself, so the quick start (no mail server, maybe no worker)
    # shows the links people must follow: its command sets console. The default is smtp: a
    # site that forgot the setting must not print its members' password links into a log and
    # count them as sent.
    mail_backend: Literal["smtp", "console", "files"] = Field(
        default="smtp", description="smtp, console or files"
    )
    mail_dir: Path | None = Field(default=None, description="For files; default data_dir/mail")
    outbox_max_attempts: int = Field(default=8, ge=1)
    worker_poll_seconds: float = Field(default=5.0, gt=0)

    # Keys the verification code printed on permits (HMAC of the permit's facts). Unset: a
    # random key per process; codes already issued are stored and stay valid either way, but
    # set it (the same on every process) so a code can be recomputed from a printed permit.
    document_secret: SecretStr | None = Field(
        default=None, description="HMAC key of the permits' verification codes."
    )

    # The open data's anonymity rule (booking/statistics/open_data.py): a room-month's figures
    # are published only when at least this many distinct groups are behind them.
    open_data_minimum_groups: int = Field(
        default=3,
        ge=1,
        le=100,
        description="Open data: the fewest distinct groups behind a published room-month; "
        "fewer, and its figures are suppressed (秘匿).",
    )
    # Each app process reads the statistics of this fiscal year and the last in the background
    # at start and then every so often (booking/statistics/warm.py), so the first dashboard
    # or open-data file after a start or the night's prune is not the one that waits.
    statistics_warm_seconds: float = Field(
        default=30.0,
        ge=0,
        le=3600,
        description="Seconds between the background reads of the statistics (0: none).",
    )
    # The pages, the staff API and the open data serve a month's counts found current at most
    # this long ago without asking the database; the background reads keep them so.
    statistics_max_age_seconds: float = Field(
        default=60.0,
        ge=0,
        le=3600,
        description="Statistics: how old (seconds) a month's counts may be when served "
        "(0: every request checks the database).",
    )

    @field_validator("database_url", "database_read_url")
    @classmethod
    def _blank_is_unset(cls, value: str | None) -> str | None:
        return value or None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        ZoneInfo(value)  # raises for an unknown zone
        return value

    @field_validator("trusted_proxies", "metrics_networks")
    @classmethod
    def _networks(cls, value: str) -> str:
        parse_networks(value)  # raises, naming the bad entry
        return value

    @property
    def trusted_networks(self) -> tuple[IPNetwork, ...]:
        return parse_networks(self.trusted_proxies)

    @property
    def mail_path(self) -> Path:
        return self.mail_dir or self.data_dir / "mail"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'booking.sqlite3').resolve()}"


IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(value: str) -> tuple[IPNetwork, ...]:
    """ "10.0.0.0/8, 192.0.2.7" as networks; a bare address is a network of one."""
    networks = []
    for entry in (part.strip() for part in value.split(",")):
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError as exc:
            raise ValueError(f"not an address or network: {entry!r}") from exc
    return tuple(networks)


def load_settings(**overrides: object) -> Settings:
    """Build settings from the environment; keyword overrides win (used by tests and the CLI)."""
    return Settings(**overrides)  # type: ignore[arg-type]
