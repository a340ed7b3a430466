"""Secrets in addresses stay out of the access log: the `token=` of a mailed link (a password
or registration link works until used) is logged as `token=[redacted]`, and a calendar feed's
address (`/ical/<secret>.ics`, good until rotated) as `/ical/[redacted].ics`."""

from __future__ import annotations

import logging
import re

_TOKEN = re.compile(r"(?<=[?&]token=)[^&\s\"]+")
_FEED = re.compile(r"(?<=/ical/)[^/?\s\"]+(?=\.ics)")
ACCESS_LOGGER = "uvicorn.access"


def redact(text: str) -> str:
    return _FEED.sub("[redacted]", _TOKEN.sub("[redacted]", text))


class RedactTokens(logging.Filter):
    """Rewrites a record's arguments (uvicorn logs the path with its query as one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True


def redact_access_log() -> None:
    """Once per process, before the server starts (its logging set-up keeps a logger's filters)."""
    logger = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(f, RedactTokens) for f in logger.filters):
        logger.addFilter(RedactTokens())
