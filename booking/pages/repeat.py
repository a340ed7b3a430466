"""The booking forms' "repeat" choice (繰り返し): every week, every other week, the same
weekday of each month, until a date, some dates left out. Read here, beside its fields; the
series' dates and their states come from the service (reservations/series.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlencode

from booking.inventory.calendar import EARLIEST_DAY, LATEST_DAY
from booking.pages.forms import Form, half_width
from booking.pages.i18n import N_, Texts
from booking.reservations.models import SeriesPattern
from booking.reservations.series_dates import MAX_OCCURRENCES
from booking.reservations.series_mail import pattern_words
from booking.web.fields import SKIP_DATES_TEXT_MAX

# The values of the "repeat" radio buttons: "" is one date only.
PATTERNS = {
    SeriesPattern.WEEK.value: N_("Every week"),
    SeriesPattern.TWO_WEEKS.value: N_("Every other week"),
    SeriesPattern.MONTH_WEEKDAY.value: N_("The same weekday of each month"),
}
# What a series' date is when previewed (the service's states), in words.
OCCURRENCE_STATES = {
    "free": N_("Free"),
    "taken": N_("Taken"),
    "blocked": N_("Blocked (not in use)"),
    "closed": N_("Closed day"),
    "outside_window": N_("Outside the booking period"),
    "over_cap": N_("Over the limit for the month"),
    "not_online": N_("At the counter only"),
}
# As many as a series may have dates: the field's own bound, before the service's.
MAX_SKIP_DATES = MAX_OCCURRENCES
# The booking form's fields carried to the series' dates and back ("change").
REPEATED_FIELDS = (
    "group_id",
    "purpose",
    "headcount",
    "event_name",
    "charges_admission",
    "repeat",
    "until",
    "skip",
)
_SEPARATORS = re.compile(r"[\s,、，]+")


@dataclass(frozen=True, slots=True)
class Repeat:
    every: SeriesPattern
    last_date: date
    skip_dates: tuple[date, ...]


def pattern_choices(texts: Texts, first_date: date | None) -> list[tuple[str, str]]:
    """The repeat choices in words; the same weekday of each month says which, once the first
    date is known (毎月の同じ週・曜日（毎月 第2火曜日）)."""
    choices = []
    for value, label in PATTERNS.items():
        words = texts.gettext(label)
        if value == SeriesPattern.MONTH_WEEKDAY.value and first_date is not None:
            ja, en = pattern_words(SeriesPattern.MONTH_WEEKDAY, first_date)
            words = texts.gettext(
                "%(pattern)s (%(which)s)", pattern=words, which=ja if texts.lang == "ja" else en
            )
        choices.append((value, words))
    return choices


def read_repeat(form: Form, first_date: date | None) -> Repeat | None:
    """The repeat fields, each refusal beside its own (the first date is the form's own,
    if usable); None when none is chosen or one is refused."""
    if not form["repeat"]:
        return None
    every = form.choice("repeat", PATTERNS)
    last_date = form.day("until")
    if last_date is not None and first_date is not None and last_date < first_date:
        form.error("until", "The last date is before the first.")
        last_date = None
    skipped = _skip_dates(form)
    if every is None or last_date is None or skipped is None:
        return None
    return Repeat(SeriesPattern(every), last_date, skipped)


def _skip_dates(form: Form) -> tuple[date, ...] | None:
    raw = form.text("skip", required=False, max_length=SKIP_DATES_TEXT_MAX)
    if "skip" in form.errors:
        return None
    found: set[date] = set()
    for word in _SEPARATORS.split(half_width(raw or "")):
        if not word:
            continue
        try:
            day = date.fromisoformat(word)
        except ValueError:
            day = None
        if day is None or not EARLIEST_DAY <= day <= LATEST_DAY:
            form.error("skip", "Enter dates as YYYY-MM-DD, separated by spaces.")
            return None
        found.add(day)
    if len(found) > MAX_SKIP_DATES:
        form.error("skip", "At most %(max)s dates.", max=MAX_SKIP_DATES)
        return None
    return tuple(sorted(found))


def series_preview_url(path: str, form: Form, **extra: str) -> str:
    """The address of a series' dates, with what the form said (its token and key left out)."""
    query = [("room", form["room"]), ("date", form["date"])]
    query += [("periods", code) for code in form.all("periods")]
    query += [(name, form[name]) for name in REPEATED_FIELDS if form[name]]
    query += list(extra.items())
    return f"{path}?{urlencode(query)}"


def change_url(path: str, form: Form) -> str:
    """Back to the booking form with everything typed (its "change" link)."""
    return series_preview_url(path, form)
