"""How `booking serve` and `booking worker` log: text lines (the default) or, with
BOOKING_LOG_FORMAT=json, one JSON object a line for a log collector.

Every line, the app's (`booking.*`) and uvicorn's (its errors and its access log) alike,
carries the id of the request it was written for (booking/web/request_id.py): `[<id>]` in
text, `"request_id"` in JSON (absent outside a request). The access log keeps its redaction
(booking/web/redaction.py) in both formats: the filter rewrites the record before any
formatter reads it.

    2026-12-04 15:41:30,009 INFO uvicorn.access [9f0c...] 127.0.0.1:50312 - "GET / HTTP/1.1" 200
    {"time": "2026-12-04T15:41:30.009+00:00", "level": "INFO", "logger": "uvicorn.access",
     "message": "127.0.0.1:50312 - \\"GET / HTTP/1.1\\" 200", "request_id": "9f0c...",
     "client": "127.0.0.1:50312", "method": "GET", "path": "/", "status": 200}
"""

from __future__ import annotations

import logging
import logging.config
from datetime import UTC, datetime
from typing import Any

from pythonjsonlogger.core import RESERVED_ATTRS, merge_record_extra
from pythonjsonlogger.json import JsonFormatter

from booking.settings import Settings
from booking.web.redaction import ACCESS_LOGGER, RedactTokens
from booking.web.request_id import current_request_id

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
NO_REQUEST = "-"
# Record attributes that are not extra fields: the standard ones, ours, and uvicorn's
# `color_message` (the same message with terminal colours).
_NOT_EXTRA = {*RESERVED_ATTRS, "request_id", "color_message", "message", "asctime"}


class RequestIdFilter(logging.Filter):
    """Stamps each record with the current request's id (a handler's filter, so records
    propagated from any logger get it)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id() or NO_REQUEST
        return True


class JsonLines(JsonFormatter):
    """time, level, logger, message, request_id, then what the record adds: an access
    line's parts, a traceback (`exc_info`), extra fields."""

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        log_data["time"] = datetime.fromtimestamp(record.created, UTC).isoformat(
            timespec="milliseconds"
        )
        log_data["level"] = record.levelname
        log_data["logger"] = record.name
        log_data["message"] = record.message
        request_id = getattr(record, "request_id", NO_REQUEST)
        if request_id != NO_REQUEST:
            log_data["request_id"] = request_id
        if record.name == ACCESS_LOGGER and isinstance(record.args, tuple):
            log_data.update(_access_fields(record.args))
        log_data.update(message_dict)
        merge_record_extra(record, log_data, reserved=_NOT_EXTRA)


def _access_fields(args: tuple[Any, ...]) -> dict[str, Any]:
    """uvicorn's access line is '%s - "%s %s HTTP/%s" %d' (client, method, path, version,
    status): its parts as fields, the path as redacted."""
    if len(args) != 5:
        return {}
    client, method, path, _, status = args
    return {"client": client, "method": method, "path": path, "status": status}


def log_config(settings: Settings) -> dict[str, Any]:
    """A logging.config.dictConfig for uvicorn's `log_config` (or `configure_logging`)."""
    level = settings.log_level.upper()
    line: dict[str, Any] = (
        {"()": JsonLines} if settings.log_format == "json" else {"format": TEXT_FORMAT}
    )
    stream = {"class": "logging.StreamHandler", "formatter": "line", "filters": ["request_id"]}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": RequestIdFilter}, "redact": {"()": RedactTokens}},
        "formatters": {"line": line},
        "handlers": {
            "stderr": {**stream, "stream": "ext://sys.stderr"},
            "stdout": {**stream, "stream": "ext://sys.stdout"},
        },
        "loggers": {
            "booking": {"level": level},
            "uvicorn": {"level": level},
            # As uvicorn has it: requests on standard output, the rest on standard error.
            ACCESS_LOGGER: {
                "handlers": ["stdout"],
                "level": level,
                "propagate": False,
                "filters": ["redact"],
            },
        },
        # Libraries log their warnings and errors only.
        "root": {"handlers": ["stderr"], "level": "WARNING"},
    }


def configure_logging(settings: Settings) -> None:
    """For a process that logs without uvicorn (the worker)."""
    logging.config.dictConfig(log_config(settings))
