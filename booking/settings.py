"""One settings object, read from BOOKING_* environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator
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
    db_pool_size: int = Field(default=10, ge=1)

    @field_validator("database_url")
    @classmethod
    def _blank_is_unset(cls, value: str | None) -> str | None:
        return value or None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        ZoneInfo(value)  # raises for an unknown zone
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'booking.sqlite3').resolve()}"


def load_settings(**overrides: object) -> Settings:
    """Build settings from the environment; keyword overrides win (used by tests and the CLI)."""
    return Settings(**overrides)  # type: ignore[arg-type]
