"""The registration card (登録カード) a counter prints on activation: the card number large, the
group, its category and validity, on an A4 sheet with the card's outline to cut out.

Rendered like the permit (render.py: the bundled font, the worker threads); printing changes
nothing, so it is not audited.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.access import Principal, require_administer_group
from booking.accounts.groups import get_group
from booking.accounts.models import GroupCategory, GroupStatus
from booking.clock import Clock, local_today
from booking.documents.render import FONT, Lang, in_worker, register_font
from booking.errors import Conflict
from booking.inventory.network import NetworkSnapshot
from booking.notifications.booking_mail import date_en, date_ja
from booking.settings import Settings

# An ID-1 card (ISO/IEC 7810), as a wallet takes it.
CARD_WIDTH = 85.6 * mm
CARD_HEIGHT = 54 * mm

_CATEGORY = {
    GroupCategory.GENERAL: ("一般", "General"),
    GroupCategory.EXEMPT: ("減免", "Exempt (reduced fees)"),
    GroupCategory.COMMERCIAL: ("営利", "Commercial"),
    GroupCategory.SENIOR_CIVIC: ("老人いこいの家 市民活動団体", "Civic group at a senior centre"),
    GroupCategory.CHILDREN_CENTRE: ("こども文化センター登録団体", "Children's centre group"),
}
_LABELS = {
    "title": ("利用者登録カード", "Registration card"),
    "number": ("カード番号", "Card number"),
    "name": ("登録名", "Registered as"),
    "category": ("区分", "Category"),
    "facility": ("登録施設", "Facility"),
    "valid": ("有効期限", "Valid until"),
    "issued": ("発行日", "Issued"),
    "login": (
        "ログインはカード番号とパスワードで。",
        "Log in with the card number and your password.",
    ),
    "cut": ("線に沿って切り取ってください。", "Cut along the line."),
}


@dataclass(frozen=True, slots=True)
class CardFacts:
    card_number: str
    group_name: str
    category: GroupCategory
    facility_ja: str | None  # a facility's own registration; None when city-wide
    facility_en: str | None
    valid_until: date
    issued_on: date


async def card_facts(
    session: AsyncSession,
    clock: Clock,
    settings: Settings,
    network: NetworkSnapshot,
    principal: Principal,
    group_id: int,
) -> CardFacts:
    """What the card prints: only an active registration has one (staff who serve it)."""
    group = await get_group(session, group_id)
    require_administer_group(principal, group)
    if group.status is not GroupStatus.ACTIVE or not group.card_number or not group.valid_until:
        raise Conflict("only an active registration has a card", code="not_active")
    facility = network.facilities.get(group.facility_id) if group.facility_id else None
    return CardFacts(
        card_number=group.card_number,
        group_name=group.name,
        category=group.category,
        facility_ja=facility.name_ja if facility else None,
        facility_en=(facility.name_en or facility.name_ja) if facility else None,
        valid_until=group.valid_until,
        issued_on=local_today(clock, settings.tz),
    )


def spaced(card_number: str) -> str:
    """1234567 as "123 4567": read aloud at a counter, typed at a login."""
    return f"{card_number[:3]} {card_number[3:]}"


def render_card(facts: CardFacts, lang: Lang = "ja") -> bytes:
    """One A4 sheet; the same facts give the same bytes (invariant)."""
    register_font()
    i = 0 if lang == "ja" else 1
    day = date_ja if lang == "ja" else date_en
    out = io.BytesIO()
    page = canvas.Canvas(out, pagesize=A4, pageCompression=1, invariant=1, initialFontName=FONT)
    page.setTitle(f"{_LABELS['title'][i]} {facts.card_number}")
    _, height = A4
    left, top = 20 * mm, height - 25 * mm
    page.setDash(3, 2)
    page.roundRect(left, top - CARD_HEIGHT, CARD_WIDTH, CARD_HEIGHT, 3 * mm)
    page.setDash()
    x = left + 5 * mm
    page.setFont(FONT, 11)
    page.drawString(x, top - 8 * mm, _LABELS["title"][i])
    page.setFont(FONT, 7)
    page.drawString(x, top - 14 * mm, _LABELS["number"][i])
    page.setFont(FONT, 22)
    page.drawString(x, top - 23 * mm, spaced(facts.card_number))
    lines = [
        (_LABELS["name"][i], facts.group_name),
        (_LABELS["category"][i], _CATEGORY[facts.category][i]),
    ]
    facility = facts.facility_ja if lang == "ja" else facts.facility_en
    if facility:
        lines.append((_LABELS["facility"][i], facility))
    lines.append((_LABELS["valid"][i], day(facts.valid_until)))
    y = top - 30 * mm
    for label, value in lines:
        page.setFont(FONT, 7)
        page.drawString(x, y, label)
        page.setFont(FONT, 8.5)
        page.drawString(x + 20 * mm, y, value)
        y -= 4.5 * mm
    page.setFont(FONT, 9)
    below = top - CARD_HEIGHT - 8 * mm
    page.drawString(left, below, _LABELS["cut"][i])
    page.drawString(left, below - 6 * mm, _LABELS["login"][i])
    page.drawString(left, below - 12 * mm, f"{_LABELS['issued'][i]} {day(facts.issued_on)}")
    page.showPage()
    page.save()
    return out.getvalue()


async def card_pdf(facts: CardFacts, lang: Lang = "ja") -> bytes:
    """render_card in one of the documents' worker threads."""
    return await in_worker(render_card, facts, lang)
