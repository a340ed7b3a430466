"""job_runs: each scheduled job's last run, one row a job, for the operator and /metrics."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from booking.db.base import Base, UTCDateTime


class JobRun(Base):
    """Upserted by `booking worker` after every run of a job (one statement a run).

    first_seen_at is when a worker first listed the job (a job never run is overdue from
    then); last_succeeded_at stays at the last good run while later runs fail, so a job that
    fails each time falls behind like one that does not run. Two workers share the row: the
    last to finish writes it.
    """

    __tablename__ = "job_runs"

    job: Mapped[str] = mapped_column(String(60), primary_key=True)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_succeeded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_ok: Mapped[bool | None] = mapped_column(Boolean)
    last_error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int | None] = mapped_column(Integer)
