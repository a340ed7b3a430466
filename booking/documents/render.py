"""The permit and the receipts as PDFs (reportlab, IPAexGothic bundled in fonts/; README
"Dependencies"): one A4 page, a title, a table of facts, a note.

Rendering takes a few milliseconds of CPU: it runs in a worker thread, at most two at once, so
the event loop keeps serving while a counter prints a stack of permits.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Literal, TypeVar

import anyio
import anyio.to_thread
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

from booking.documents.codes import RECEIPT, REFUND, WAIVER
from booking.documents.permits import PeriodLine, PermitFacts
from booking.documents.reading import ReceiptFacts
from booking.notifications.booking_mail import date_en, date_ja
from booking.reservations.models import PaymentStatus

Lang = Literal["ja", "en"]
F = TypeVar("F")
FONT = "IPAexGothic"
FONT_FILE = Path(__file__).parent / "fonts" / "ipaexg.ttf"
RENDER_THREADS = 2

_font_lock = threading.Lock()
_font_registered = False
_limiter: anyio.CapacityLimiter | None = None

_PAYMENT = {
    PaymentStatus.UNPAID: ("未納", "Unpaid"),
    PaymentStatus.PAID: ("納付済", "Paid"),
    PaymentStatus.WAIVED: ("免除", "Waived"),
    PaymentStatus.REFUNDED: ("還付済", "Refunded"),
}
_LABELS = {
    "title": ("利用許可書", "Facility Use Permit"),
    "lead": ("次のとおり施設の利用を許可します。", "The use of the facility below is permitted."),
    "issued": ("発行日", "Issued"),
    "facility": ("施設", "Facility"),
    "room": ("室場", "Room"),
    "date": ("利用日", "Date"),
    "periods": ("利用時間", "Time"),
    "group": ("利用者", "User"),
    "purpose": ("利用目的", "Purpose"),
    "headcount": ("人数", "Headcount"),
    "fee": ("使用料", "Fee"),
    "number": ("許可番号", "Permit No."),
    "code": ("照合コード", "Verification code"),
    "note": (
        "※利用当日に受付へご提示ください。",
        "Please show this permit at the reception on the day of use.",
    ),
}


_RECEIPT_TITLES = {
    RECEIPT: ("領収書", "Receipt"),
    REFUND: ("還付通知書", "Refund Notice"),
    WAIVER: ("減免決定通知書", "Fee Waiver Notice"),
}
# 但し書き: what the money was for.
_RECEIPT_FOR = {
    RECEIPT: ("施設使用料として", "Facility use fee"),
    REFUND: ("施設使用料の還付として", "Refund of the facility use fee"),
    WAIVER: ("施設使用料の減免として", "Waiver of the facility use fee"),
}
_RECEIPT_LEAD = {
    RECEIPT: ("上記の金額を領収しました。", "Received with thanks the amount above."),
    REFUND: ("上記の金額を還付しました。", "The amount above has been refunded."),
    WAIVER: ("上記の金額の使用料を減免しました。", "The fee of the amount above is waived."),
}
_RECEIPT_LABELS = {
    "to": ("宛名", "To"),
    "amount": ("金額", "Amount"),
    "for": ("但し書き", "For"),
    "method": ("納付方法", "Paid by"),
    "booking": ("予約番号", "Booking No."),
    "number": ("番号", "No."),
    "issuer": ("発行者", "Issued by"),
}
_METHODS = {
    "counter": ("窓口", "At the counter"),
    "bank_debit": ("口座振替", "Bank debit"),
    "online": ("オンライン納付", "Online"),
}


def register_font() -> None:
    """Once per process: parsing the 6 MB font costs about as much as ten permits."""
    global _font_registered  # noqa: PLW0603 - a process-wide registration, done once
    with _font_lock:
        if not _font_registered:
            pdfmetrics.registerFont(TTFont(FONT, str(FONT_FILE)))
            _font_registered = True


def _date_text(day: date, lang: Lang) -> str:
    return date_ja(day) if lang == "ja" else date_en(day)


def _period_text(periods: tuple[PeriodLine, ...], lang: Lang) -> str:
    ja = lang == "ja"
    return ("、" if ja else ", ").join(
        f"{p.name_ja if ja else p.name_en} {p.start}–{p.end}" for p in periods
    )


def rows(facts: PermitFacts, lang: Lang) -> list[tuple[str, str]]:
    """The permit's table: (label, value) in the language asked for."""
    ja = lang == "ja"
    i = 0 if ja else 1
    purpose = facts.purpose_ja if ja else facts.purpose_en
    if facts.event_name:
        purpose = f"{purpose}（{facts.event_name}）" if ja else f"{purpose} ({facts.event_name})"
    headcount = f"{facts.headcount}名" if ja else str(facts.headcount)
    fee = f"¥{facts.fee_total:,}（{_PAYMENT[facts.payment_status][i]}）"
    if not ja:
        fee = f"¥{facts.fee_total:,} ({_PAYMENT[facts.payment_status][i]})"
    values = [
        ("facility", facts.facility_ja if ja else facts.facility_en),
        ("room", facts.room_ja if ja else facts.room_en),
        ("date", _date_text(facts.use_date, lang)),
        ("periods", _period_text(facts.periods, lang)),
        ("group", facts.group_name),
        ("purpose", purpose),
        ("headcount", headcount),
        ("fee", fee),
        ("number", facts.number),
        ("code", facts.verification_code),
    ]
    return [(_LABELS[key][i], value) for key, value in values]


def receipt_rows(facts: ReceiptFacts, lang: Lang) -> list[tuple[str, str]]:
    """A receipt's (refund's, waiver's) table: (label, value) in the language asked for."""
    ja = lang == "ja"
    i = 0 if ja else 1
    method = _METHODS.get(facts.method or "", (facts.method or "—",) * 2)[i]
    labels = _RECEIPT_LABELS | _LABELS
    values = [
        ("to", f"{facts.group_name} 様" if ja else facts.group_name),
        ("amount", f"¥{facts.amount:,}-"),
        ("for", _RECEIPT_FOR[facts.kind][i]),
        ("facility", facts.facility_ja if ja else facts.facility_en),
        ("room", facts.room_ja if ja else facts.room_en),
        ("date", _date_text(facts.use_date, lang)),
        ("periods", _period_text(facts.periods, lang)),
        ("booking", str(facts.booking_id)),
        *([("method", method)] if facts.kind == RECEIPT else []),
        ("number", facts.number),
        ("code", facts.verification_code),
        ("issuer", facts.facility_ja if ja else facts.facility_en),
    ]
    return [(labels[key][i], value) for key, value in values]


def _page(
    title: str, issued: str, lead: str, table: list[tuple[str, str]], note: str, name: str
) -> bytes:
    """One A4 page; the same text gives the same bytes (invariant)."""
    register_font()
    out = io.BytesIO()
    page = canvas.Canvas(out, pagesize=A4, pageCompression=1, invariant=1, initialFontName=FONT)
    page.setTitle(f"{title} {name}")
    width, height = A4
    page.setFont(FONT, 22)
    page.drawCentredString(width / 2, height - 30 * mm, title)
    page.setFont(FONT, 10.5)
    page.drawRightString(width - 20 * mm, height - 40 * mm, issued)
    page.drawString(20 * mm, height - 50 * mm, lead)
    y = height - 60 * mm
    for label, value in table:
        page.rect(20 * mm, y - 3 * mm, 40 * mm, 9 * mm)
        page.rect(60 * mm, y - 3 * mm, 130 * mm, 9 * mm)
        page.drawString(23 * mm, y, label)
        page.drawString(63 * mm, y, value)
        y -= 9 * mm
    if note:
        page.setFont(FONT, 9.5)
        page.drawString(20 * mm, y - 6 * mm, note)
    page.showPage()
    page.save()
    return out.getvalue()


def render_permit(facts: PermitFacts, lang: Lang = "ja") -> bytes:
    i = 0 if lang == "ja" else 1
    return _page(
        _LABELS["title"][i],
        f"{_LABELS['issued'][i]} {_date_text(facts.issued_on, lang)}",
        _LABELS["lead"][i],
        rows(facts, lang),
        _LABELS["note"][i],
        facts.number,
    )


def render_receipt(facts: ReceiptFacts, lang: Lang = "ja") -> bytes:
    i = 0 if lang == "ja" else 1
    return _page(
        _RECEIPT_TITLES[facts.kind][i],
        f"{_LABELS['issued'][i]} {_date_text(facts.issued_on, lang)}",
        _RECEIPT_LEAD[facts.kind][i],
        receipt_rows(facts, lang),
        "",
        facts.number,
    )


async def in_worker(render: Callable[[F, Lang], bytes], facts: F, lang: Lang) -> bytes:
    """A document's render in a worker thread, at most RENDER_THREADS at once per process."""
    global _limiter  # noqa: PLW0603 - made in the running loop on first use
    if _limiter is None:
        _limiter = anyio.CapacityLimiter(RENDER_THREADS)
    return await anyio.to_thread.run_sync(render, facts, lang, limiter=_limiter)


async def permit_pdf(facts: PermitFacts, lang: Lang = "ja") -> bytes:
    return await in_worker(render_permit, facts, lang)


async def receipt_pdf(facts: ReceiptFacts, lang: Lang = "ja") -> bytes:
    return await in_worker(render_receipt, facts, lang)
