"""What a request may carry: bounded integers and clean text, one definition for every field.

Integers: an id is an INTEGER column (PostgreSQL's int4 is the stricter engine), so a number
past it overflows the engine's driver (a 500) instead of naming nothing; a limit, an offset or a
count is bounded the same way. Each type carries the bound twice, for msgspec (a JSON body's
field) and for Litestar (a query parameter), so one name serves both.

Text: a one-line field (a name, a purpose, an e-mail address) refuses every control character:
C0 (NUL, tab, CR, LF...), DEL, C1 and the Unicode line and paragraph separators, which break
the calendar feeds' folded lines, mail headers and CSV rows, and a NUL which PostgreSQL refuses
outright. A multi-line field (a text area) allows CR and LF only. The web forms check the same
class of characters and the same lengths (booking/pages/forms.py, `Form.text`).
"""

from __future__ import annotations

from typing import Annotated

from litestar.params import Parameter
from msgspec import Meta

# The classes of characters are defined without Litestar (the data files check them too).
from booking.control_characters import (
    CONTROL_REASON,
    MULTI_LINE,
    MULTI_LINE_CONTROL_REASON,
    MULTI_LINE_RE,
    ONE_LINE,
    ONE_LINE_RE,
    control_characters,
)
from booking.web.path_ids import MAX_ID

__all__ = [  # re-exported from booking.control_characters (the names defined here are too)
    "CONTROL_REASON",
    "MULTI_LINE",
    "MULTI_LINE_CONTROL_REASON",
    "MULTI_LINE_RE",
    "ONE_LINE",
    "ONE_LINE_RE",
    "control_characters",
]

# The longest text each kind of field takes: the API, the column and the web form agree.
NAME_MAX = 100  # a person's or a group's name, its kana
EMAIL_MAX = 254
PASSWORD_MAX = 128
PURPOSE_MAX = 60
EVENT_NAME_MAX = 200
NOTE_MAX = 200  # a block's or a closure's note, a suspension's reason
TOKEN_NAME_MAX = 60  # an API token's or a calendar feed's name
PAYMENT_METHOD_MAX = 30
PHONE_MAX = 20
CARD_NUMBER_MAX = 7
SEARCH_MAX = 100
DOCUMENT_NUMBER_MAX = 30  # a permit's or receipt's printed number as typed: RF-2026-0017-000001
DOCUMENT_CODE_MAX = 20  # its verification code as typed: ABCD-EFGH-JKLM
LIST_MAX = 500  # the most rows a page of a list may ask for
NOTICE_TITLE_MAX = 100  # a facility's notice (お知らせ): its title, one line
NOTICE_BODY_MAX = 2000  # and its text, line breaks allowed
# A series' dates to leave out as the booking form takes them (YYYY-MM-DD and a space each): as
# many as a series may have dates (reservations/series_dates.py MAX_OCCURRENCES, a year of weeks).
SKIP_DATES_TEXT_MAX = 53 * len("YYYY-MM-DD ")

# The same, by the name the web forms' templates use for `maxlength` (`limits.purpose`).
LIMITS = {
    "name": NAME_MAX,
    "email": EMAIL_MAX,
    "login": EMAIL_MAX,
    "password": PASSWORD_MAX,
    "phone": PHONE_MAX,
    "card_number": CARD_NUMBER_MAX,
    "purpose": PURPOSE_MAX,
    "event_name": EVENT_NAME_MAX,
    "note": NOTE_MAX,
    "feed_name": TOKEN_NAME_MAX,
    "payment_method": PAYMENT_METHOD_MAX,
    "document_number": DOCUMENT_NUMBER_MAX,
    "document_code": DOCUMENT_CODE_MAX,
    "notice_title": NOTICE_TITLE_MAX,
    "notice_body": NOTICE_BODY_MAX,
    "skip_dates": SKIP_DATES_TEXT_MAX,
}

Id = Annotated[
    int, Meta(ge=1, le=MAX_ID), Parameter(ge=1, le=MAX_ID, description="an id (1 to 2^31 - 1)")
]
# An optional query parameter needs its bound outside the union for Litestar, inside for msgspec.
MaybeId = Annotated[
    Annotated[int, Meta(ge=1, le=MAX_ID)] | None,
    Parameter(ge=1, le=MAX_ID, description="an id (1 to 2^31 - 1)"),
]
Limit = Annotated[int, Meta(ge=1, le=LIST_MAX), Parameter(ge=1, le=LIST_MAX)]
Offset = Annotated[int, Meta(ge=0, le=MAX_ID), Parameter(ge=0, le=MAX_ID)]

OneLine = Annotated[str, Meta(pattern=ONE_LINE)]
MultiLine = Annotated[str, Meta(pattern=MULTI_LINE)]
PHONE = rf"^[0-9０-９+()\- ]{{6,{PHONE_MAX}}}$(?!\n)"
CARD_NUMBER = rf"^[0-9]{{{CARD_NUMBER_MAX}}}$(?!\n)"
Phone = Annotated[str, Meta(pattern=PHONE, description="digits, +, -, ()")]
CardNumber = Annotated[str, Meta(pattern=CARD_NUMBER, description="7 digits")]
# Text in a query: the bound outside the optional for Litestar, as with MaybeId.
SearchText = Annotated[
    Annotated[OneLine, Meta(max_length=SEARCH_MAX)] | None,
    Parameter(max_length=SEARCH_MAX, pattern=ONE_LINE),
]
