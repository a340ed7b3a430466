"""The permit as a PDF (reportlab, IPAexGothic bundled in fonts/; README "Dependencies").

Rendering takes a few milliseconds of CPU: it runs in a worker thread, at most two at once, so
the event loop keeps serving while a counter prints a stack of permits.
"""

from __future__ import annotations

import io
import threading
from datetime import date
from pathlib import Path
from typing import Literal

import anyio
import anyio.to_thread
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

from booking.documents.permits import PermitFacts
from booking.notifications.booking_mail import date_en, date_ja
from booking.reservations.models import PaymentStatus

Lang = Literal["ja", "en"]
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


def _register_font() -> None:
    """Once per process: parsing the 6 MB font costs about as much as ten permits."""
    global _font_registered  # noqa: PLW0603 - a process-wide registration, done once
    with _font_lock:
        if not _font_registered:
            pdfmetrics.registerFont(TTFont(FONT, str(FONT_FILE)))
            _font_registered = True


def _date_text(day: date, lang: Lang) -> str:
    return date_ja(day) if lang == "ja" else date_en(day)


def rows(facts: PermitFacts, lang: Lang) -> list[tuple[str, str]]:
    """The permit's table: (label, value) in the language asked for."""
    ja = lang == "ja"
    i = 0 if ja else 1
    periods = "、" if ja else ", "
    period_text = periods.join(
        f"{p.name_ja if ja else p.name_en} {p.start}–{p.end}" for p in facts.periods
    )
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
        ("periods", period_text),
        ("group", facts.group_name),
        ("purpose", purpose),
        ("headcount", headcount),
        ("fee", fee),
        ("number", facts.number),
        ("code", facts.verification_code),
    ]
    return [(_LABELS[key][i], value) for key, value in values]


def render_permit(facts: PermitFacts, lang: Lang = "ja") -> bytes:
    """One A4 page; the same facts give the same bytes (invariant)."""
    _register_font()
    i = 0 if lang == "ja" else 1
    out = io.BytesIO()
    page = canvas.Canvas(out, pagesize=A4, pageCompression=1, invariant=1, initialFontName=FONT)
    page.setTitle(f"{_LABELS['title'][i]} {facts.number}")
    width, height = A4
    page.setFont(FONT, 22)
    page.drawCentredString(width / 2, height - 30 * mm, _LABELS["title"][i])
    page.setFont(FONT, 10.5)
    page.drawRightString(
        width - 20 * mm,
        height - 40 * mm,
        f"{_LABELS['issued'][i]} {_date_text(facts.issued_on, lang)}",
    )
    page.drawString(20 * mm, height - 50 * mm, _LABELS["lead"][i])
    y = height - 60 * mm
    for label, value in rows(facts, lang):
        page.rect(20 * mm, y - 3 * mm, 40 * mm, 9 * mm)
        page.rect(60 * mm, y - 3 * mm, 130 * mm, 9 * mm)
        page.drawString(23 * mm, y, label)
        page.drawString(63 * mm, y, value)
        y -= 9 * mm
    page.setFont(FONT, 9.5)
    page.drawString(20 * mm, y - 6 * mm, _LABELS["note"][i])
    page.showPage()
    page.save()
    return out.getvalue()


async def permit_pdf(facts: PermitFacts, lang: Lang = "ja") -> bytes:
    """render_permit in a worker thread, at most RENDER_THREADS at once per process."""
    global _limiter  # noqa: PLW0603 - made in the running loop on first use
    if _limiter is None:
        _limiter = anyio.CapacityLimiter(RENDER_THREADS)
    return await anyio.to_thread.run_sync(render_permit, facts, lang, limiter=_limiter)
