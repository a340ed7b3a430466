"""A mailed link's token never reaches the access log of `booking serve`."""

from __future__ import annotations

import logging

import uvicorn

from booking.web.redaction import ACCESS_LOGGER, redact, redact_access_log


def test_a_links_token_is_redacted_and_nothing_else() -> None:
    assert (
        redact("/password/set?token=abc.DEF-123_x&lang=ja")
        == "/password/set?token=[redacted]&lang=ja"
    )
    assert redact("/register/confirm?a=1&token=s.v") == "/register/confirm?a=1&token=[redacted]"
    assert redact("/ical/bkf_sel.secret.ics?lang=en") == "/ical/[redacted].ics?lang=en"
    assert redact("/search?ward=kawasaki") == "/search?ward=kawasaki"


def test_the_access_log_says_the_path_without_the_token() -> None:
    redact_access_log()
    # The server's own logging set-up (run when serve starts) keeps the filter.
    uvicorn.Config(app=lambda *_: None, log_level="info")
    logger = logging.getLogger(ACCESS_LOGGER)
    lines: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: lines.append(record.getMessage())  # type: ignore[method-assign]
    logger.addHandler(handler)
    try:
        logger.info(
            '%s - "%s %s HTTP/%s" %d',
            "127.0.0.1:5000",
            "GET",
            "/password/set?token=sel.verifier-secret",
            "1.1",
            200,
        )
    finally:
        logger.removeHandler(handler)
    assert lines == ['127.0.0.1:5000 - "GET /password/set?token=[redacted] HTTP/1.1" 200']
