"""The one mail of a series: every date booked with its booking number and fee, the dates not
booked and why, and the link to the series' page (/my/series/{id})."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.models import Group
from booking.clock import Clock
from booking.inventory.network import NetworkSnapshot
from booking.notifications.booking_mail import BOOKING_STATUS, date_en, date_ja, slot
from booking.notifications.outbox import enqueue
from booking.reservations.models import Booking, Series, SeriesPattern
from booking.settings import Settings

PATTERN_WORDS = {
    SeriesPattern.WEEK: ("毎週", "every week"),
    SeriesPattern.TWO_WEEKS: ("隔週", "every other week"),
    SeriesPattern.MONTH_WEEKDAY: (
        "毎月 第{nth}{weekday}曜日",
        "the {nth_en} {weekday_en} of each month",
    ),
}
STATE_WORDS = {
    "taken": ("予約済み", "taken"),
    "blocked": ("施設の使用", "blocked by the facility"),
    "closed": ("休館日", "closed"),
    "outside_window": ("受付期間外", "outside the booking window"),
    "not_online": ("窓口でのみ受付", "at the counter only"),
    "over_cap": ("上限超過", "over the monthly limit"),
}
WEEKDAYS_JA = "月火水木金土日"
WEEKDAYS_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
ORDINALS_EN = ("first", "second", "third", "fourth", "fifth")


def series_url(settings: Settings, series_id: int) -> str:
    """The group's page of the series (series-pages: `/my/series/{id}`)."""
    return f"{settings.public_url.rstrip('/')}/my/series/{series_id}"


def pattern_words(every: SeriesPattern, first: date) -> tuple[str, str]:
    ja, en = PATTERN_WORDS[every]
    nth = (first.day - 1) // 7 + 1
    values = {
        "nth": nth,
        "weekday": WEEKDAYS_JA[first.weekday()],
        "nth_en": ORDINALS_EN[nth - 1],
        "weekday_en": WEEKDAYS_EN[first.weekday()],
    }
    return ja.format(**values), en.format(**values)


def series_context(
    snapshot: NetworkSnapshot,
    settings: Settings,
    group_name: str,
    series: Series,
    bookings: Sequence[Booking],
    not_booked: Sequence[tuple[date, str]] = (),
) -> dict[str, Any]:
    found = slot(snapshot, series.room_id, series.first_date, series.period_codes)
    every_ja, every_en = pattern_words(series.every, series.first_date)
    booked = []
    for booking in bookings:
        status_ja, status_en = BOOKING_STATUS.get(booking.status.value, ("", ""))
        booked.append(
            {
                "date_ja": date_ja(booking.use_date),
                "date_en": date_en(booking.use_date),
                "booking_id": booking.id,
                "status_ja": status_ja,
                "status_en": status_en,
                "fee": booking.fee_total,
            }
        )
    left = []
    for day, state in not_booked:
        state_ja, state_en = STATE_WORDS.get(state, (state, state))
        left.append(
            {
                "date_ja": date_ja(day),
                "date_en": date_en(day),
                "state_ja": state_ja,
                "state_en": state_en,
            }
        )
    return {
        "name": group_name,
        "series_id": series.id,
        "place_ja": found.place_ja,
        "place_en": found.place_en,
        "periods_ja": found.periods_ja,
        "periods_en": found.periods_en,
        "every_ja": every_ja,
        "every_en": every_en,
        "count": len(bookings),
        "booked": booked,
        "not_booked": left,
        "fee_total": sum(b.fee_total for b in bookings),
        "url": series_url(settings, series.id),
    }


async def notify_series(  # noqa: PLR0913
    session: AsyncSession,
    clock: Clock,
    settings: Settings,
    snapshot: NetworkSnapshot,
    group: Group,
    series: Series,
    bookings: Sequence[Booking],
    *,
    not_booked: Sequence[tuple[date, str]] = (),
    template: str = "series_booked",
    **extra: Any,
) -> None:
    """One mail to the group's contact address for the whole series, in this transaction."""
    if group.email is None:
        return
    context = series_context(snapshot, settings, group.name, series, bookings, not_booked)
    await enqueue(session, clock, to=group.email, template=template, context={**context, **extra})
