"""The control characters a text field refuses, without the web layer: the data files'
validation (inventory.data_format) checks them in `booking facilities load`, which then need
not import Litestar. booking.web.fields re-exports these for the API's and forms' fields."""

from __future__ import annotations

import re

# Python's `$` also matches before a final "\n": `(?!\n)` refuses that one too.
ONE_LINE = r"^[^\x00-\x1f\x7f-\x9f\u2028\u2029]*$(?!\n)"
MULTI_LINE = r"^[^\x00-\x09\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]*$"
CONTROL_REASON = "control characters (line breaks, tabs, NUL...) are not allowed"
MULTI_LINE_CONTROL_REASON = "control characters other than line breaks are not allowed"
ONE_LINE_RE = re.compile(ONE_LINE)
MULTI_LINE_RE = re.compile(MULTI_LINE)


def control_characters(value: str, *, multiline: bool = False) -> bool:
    """Whether the text holds a character its kind of field refuses."""
    return (MULTI_LINE_RE if multiline else ONE_LINE_RE).search(value) is None
