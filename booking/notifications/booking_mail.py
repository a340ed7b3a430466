"""What a mail about a booking or a lottery application says of it, in both of its languages.

Every booking mail (confirmed, cancelled, a hold expiring, a closure on its date, lottery
results, reminder and lapse) names the facility and the room, the date with its weekday, the
periods by name with their times, and its status in the language of each part, and links to
the page where the group sees it (/my/bookings/{id}, /my/lottery). The Japanese part is
written first, the English after it: names come from the data in both languages.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, time
from typing import Any

from booking.inventory.network import NetworkSnapshot, PeriodInfo
from booking.reservations.models import Booking, PaymentStatus
from booking.settings import Settings

WEEKDAYS_JA = "月火水木金土日"
WEEKDAYS_EN = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS_EN = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)

# A booking's status and a cancellation's cause, as the pages say them (messages.po).
BOOKING_STATUS = {
    "held": ("仮予約", "held (provisional)"),
    "pending_approval": ("承認待ち", "waiting for approval"),
    "confirmed": ("予約確定", "confirmed"),
    "cancelled": ("取消済み", "cancelled"),
    "completed": ("利用済み", "used"),
    "no_show": ("無断不使用", "not used (no-show)"),
}
CANCEL_CAUSE = {
    "group": ("ご依頼により取り消しました。", "Cancelled at your request."),
    "late": ("ご依頼により取り消しました（取消期限後のため取消料がかかります）。",
             "Cancelled at your request, after the free cancellation deadline."),
    "facility": ("施設の都合により取り消しました。使用料はかかりません。",
                 "Cancelled by the facility, free of charge."),
    "rejected": ("施設が予約を承認しませんでした。使用料はかかりません。",
                 "The facility did not approve the booking; nothing is charged."),
}  # fmt: skip
LOTTERY_VERDICT = {True: ("当選", "won"), False: ("落選", "not drawn")}


def date_ja(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日（{WEEKDAYS_JA[day.weekday()]}）"


def date_en(day: date) -> str:
    return f"{WEEKDAYS_EN[day.weekday()]} {day.day} {MONTHS_EN[day.month - 1][:3]} {day.year}"


def month_ja(month: date) -> str:
    return f"{month.year}年{month.month}月"


def month_en(month: date) -> str:
    return f"{MONTHS_EN[month.month - 1]} {month.year}"


def clock_time(value: time) -> str:
    return f"{value.hour}:{value.minute:02d}"


def moment_ja(local: datetime) -> str:
    return f"{date_ja(local.date())} {clock_time(local.time())}"


def moment_en(local: datetime) -> str:
    return f"{date_en(local.date())}, {clock_time(local.time())} (Japan time)"


@dataclass(frozen=True)
class Slot:
    """A room on a date for some periods, as a mail names it."""

    place_ja: str  # 中原市民館 音楽室
    place_en: str  # Music Room, Nakahara Civic Hall
    date_ja: str  # 2027年2月8日（月）
    date_en: str  # Mon 8 Feb 2027
    periods_ja: str  # 午前（9:00〜12:00）・午後（13:00〜17:00）
    periods_en: str  # Morning (9:00–12:00), Afternoon (13:00–17:00)


def slot(
    snapshot: NetworkSnapshot, room_id: int, use_date: date, period_codes: Sequence[str]
) -> Slot:
    room = snapshot.room(room_id)
    facility = snapshot.facilities.get(room.facility_id) if room else None
    if room is None or facility is None:  # a room retired since: its number and codes
        place_ja = place_en = f"No. {room_id}"
        periods: dict[str, PeriodInfo] = {}
    else:
        place_ja = f"{facility.name_ja} {room.name_ja}"
        place_en = f"{room.name_en}, {facility.name_en}"
        periods = {p.code: p for p in room.grid.periods}
    ja, en = [], []
    for code in period_codes:
        period = periods.get(code)
        if period is None:
            ja.append(code)
            en.append(code)
            continue
        hours = (clock_time(period.start), clock_time(period.end))
        ja.append(f"{period.name_ja}（{hours[0]}〜{hours[1]}）")
        en.append(f"{period.name_en} ({hours[0]}–{hours[1]})")
    return Slot(
        place_ja, place_en, date_ja(use_date), date_en(use_date), "・".join(ja), ", ".join(en)
    )


def booking_url(settings: Settings, booking_id: int) -> str:
    """The group's page of the booking (booking/pages/bookings.py, `my_booking`)."""
    return f"{settings.public_url.rstrip('/')}/my/bookings/{booking_id}"


def permit_url(settings: Settings, booking_id: int) -> str:
    """A confirmed booking's usage permit (booking/pages/bookings.py, `my_permit`: the login
    first for whoever opens the mail logged out)."""
    return f"{settings.public_url.rstrip('/')}/my/bookings/{booking_id}/permit.pdf"


def group_url(settings: Settings, group_id: int) -> str:
    """The group's page (booking/pages/account.py, `my_group`): its validity and where its
    representative turns the use-date reminders off (the `#reminders` section)."""
    return f"{settings.public_url.rstrip('/')}/my/groups/{group_id}"


def facility_url(settings: Settings, facility_id: int) -> str:
    """A facility's public page (booking/pages/search.py, `facility`): its rooms, each with a
    link to search its free slots."""
    return f"{settings.public_url.rstrip('/')}/facilities/{facility_id}"


# How a fee is paid (RULES.md "Fees"): at the facility's counter or by a bank debit that is
# arranged at a counter. This system records payments (staff, booking/reservations/changes.py
# set_payment) but takes none itself, so the mail says so rather than promise online payment.
HOW_TO_PAY_JA = (
    "お支払い方法: 使用料は利用日に施設の窓口でお支払いください。"
    "口座振替をお申し込みの団体は、利用月の翌月27日に引き落とされます。"
    "このシステムではお支払いはできません。"
)
HOW_TO_PAY_EN = (
    "How to pay: at the facility's counter on the day of use; a group that has arranged a "
    "bank debit pays on the 27th of the month after use. Fees cannot be paid on this site."
)


def lottery_url(settings: Settings) -> str:
    """The group's applications and wins (booking/pages/lottery.py, `my_lottery`)."""
    return f"{settings.public_url.rstrip('/')}/my/lottery"


def slot_context(found: Slot) -> dict[str, Any]:
    return asdict(found)


def booking_context(
    snapshot: NetworkSnapshot,
    settings: Settings,
    group_name: str,
    booking: Booking,
    **extra: Any,
) -> dict[str, Any]:
    """A booking mail's values: who, what, where, when, its status and its page."""
    status = booking.status.value
    status_ja, status_en = BOOKING_STATUS.get(status, (status, status))
    # How to pay, where a final booking still owes its fee (not a hold, not waived or paid).
    owes = (
        status == "confirmed"
        and booking.fee_total > 0
        and booking.payment_status is PaymentStatus.UNPAID
    )
    return {
        "name": group_name,
        "booking_id": booking.id,
        "status_ja": status_ja,
        "status_en": status_en,
        "url": booking_url(settings, booking.id),
        # Only a confirmed booking has a permit (booking/documents/permits.py).
        "permit_url": permit_url(settings, booking.id) if status == "confirmed" else None,
        "pay_ja": HOW_TO_PAY_JA if owes else None,
        "pay_en": HOW_TO_PAY_EN if owes else None,
        **slot_context(slot(snapshot, booking.room_id, booking.use_date, booking.period_codes)),
        **extra,
    }


def lottery_line(found: Slot, application_id: int, *, won: bool) -> tuple[str, str]:
    """One application's result, in Japanese and in English; `found` its `slot` (a draw
    names the same few thousand slots in 100,000 lines, so it asks for each once)."""
    verdict_ja, verdict_en = LOTTERY_VERDICT[won]
    ja = f"申込No.{application_id} {found.place_ja} {found.date_ja} {found.periods_ja}"
    en = f"No. {application_id} {found.place_en}, {found.date_en}, {found.periods_en}"
    return f"{ja}: {verdict_ja}", f"{en}: {verdict_en}"
