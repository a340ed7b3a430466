"""A small network in memory for the pure render tests: one hall with three periods (午前,
午後, 夜間) and a late-night room whose period runs across JST midnight's UTC hours, and
booking rows as plain objects (the columns of feeds.EVENT_COLUMNS). No database."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

import icalendar

from booking.calendars import render
from booking.inventory.calendar import DayType
from booking.inventory.network import FacilityInfo, GridInfo, NetworkSnapshot, PeriodInfo, RoomInfo
from booking.inventory.policy import ReservationPolicy
from booking.lottery.models import ApplicationStatus, LotteryApplication
from booking.reservations.models import BookingStatus

FACILITY_ID = 7
ROOM_ID = 70
NIGHT_ROOM_ID = 71  # a grid whose period starts at 00:00 JST (15:00 UTC the day before)
BASE_URL = "https://yoyaku.example.jp"
HOST = "yoyaku.example.jp"
EVERY_DAY = frozenset(DayType)


def _period(code: str, ja: str, en: str, start: time, end: time) -> PeriodInfo:
    return PeriodInfo(code, ja, en, start, end, EVERY_DAY, ())


HALL_GRID = GridInfo(
    id=1,
    key="hall",
    name_ja="区分",
    name_en="Periods",
    periods=(
        _period("10", "午前", "Morning", time(9), time(12)),
        _period("20", "午後", "Afternoon", time(13), time(17)),
        _period("30", "夜間", "Evening", time(17, 30), time(21)),
    ),
    codes_by_day_type=dict.fromkeys(DayType, ("10", "20", "30")),
)
NIGHT_GRID = GridInfo(
    id=2,
    key="night",
    name_ja="深夜",
    name_en="Night",
    periods=(
        _period("N1", "未明", "Small hours", time(0), time(8, 59)),
        _period("N2", "深夜", "Late night", time(21), time(23, 59, 59)),
    ),
    codes_by_day_type=dict.fromkeys(DayType, ("N1", "N2")),
)


def _room(room_id: int, key: str, ja: str, en: str, grid: GridInfo) -> RoomInfo:
    return RoomInfo(
        id=room_id,
        facility_id=FACILITY_ID,
        key=key,
        name_ja=ja,
        name_en=en,
        capacity=30,
        online_bookable=True,
        unit_ids=(room_id,),
        grid=grid,
        policy=ReservationPolicy(),
    )


def snapshot(revision: int = 1, address: str | None = "川崎区東田町8") -> NetworkSnapshot:
    facility = FacilityInfo(
        id=FACILITY_ID,
        key="hall",
        kind="civic_hall",
        ward_id=None,
        # another revision of the network, other names (what a cached event must not outlive)
        name_ja="川崎市民館" if revision == 1 else f"川崎市民館（第{revision}版）",
        name_en="Kawasaki Civic Hall"
        if revision == 1
        else f"Kawasaki Civic Hall (rev. {revision})",
        opens_on=None,
        closes_on=None,
        closures=(),
        policy=ReservationPolicy(),
        grid=HALL_GRID,
        address=address,
    )
    return NetworkSnapshot(
        revision=revision,
        ward_keys={},
        kinds=frozenset({"civic_hall"}),
        facilities={FACILITY_ID: facility},
        purposes=frozenset({"singing", "meeting"}),
        rooms=(
            _room(ROOM_ID, "r1", "第1会議室", "Meeting room 1", HALL_GRID),
            _room(NIGHT_ROOM_ID, "n1", "夜の部屋", "Night room", NIGHT_GRID),
        ),
    )


PURPOSES = {"singing": ("合唱・歌", "Singing"), "meeting": ("会議", "Meeting")}


def context(
    lang: render.Lang = "ja",
    *,
    cache: render.EventCache | None = None,
    revision: int = 1,
    base_url: str = BASE_URL,
    host: str = HOST,
    address: str | None = "川崎区東田町8",
) -> render.Context:
    return render.Context(
        cache=render.EventCache() if cache is None else cache,
        snapshot=snapshot(revision, address),
        purposes=PURPOSES,
        lang=lang,
        base_url=base_url,
        host=host,
    )


CREATED = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Row:
    """A row of feeds.event_rows (render.EventRow)."""

    id: int = 41
    sequence: int = 1
    status: BookingStatus = BookingStatus.CONFIRMED
    room_id: int = ROOM_ID
    use_date: date = date(2026, 12, 3)
    period_codes: list[str] = field(default_factory=lambda: ["10"])
    updated_at: datetime | None = None
    created_at: datetime = CREATED
    decided_at: datetime | None = None
    event_name: str | None = "定期練習"
    purpose: str = "singing"
    headcount: int = 12
    fee_total: int = 12340
    series_id: int | None = None
    group_name: str = "川崎合唱団"
    group_email: str | None = "rep-a@example.jp"
    group_phone: str | None = "044-200-0000"

    def but(self, **changes: object) -> Row:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


def win(status: ApplicationStatus = ApplicationStatus.WON, **changes: object) -> LotteryApplication:
    data: dict[str, object] = {
        "id": 5,
        "use_month": date(2026, 12, 1),
        "group_id": 1,
        "room_id": ROOM_ID,
        "facility_id": FACILITY_ID,
        "use_date": date(2026, 12, 3),
        "period_codes": ["20"],
        "purpose": "meeting",
        "headcount": 5,
        "status": status,
        "created_at": CREATED,
        "settled_at": None,
    }
    data.update(changes)
    return LotteryApplication(**data)


def parse(event: bytes) -> icalendar.Event:
    """One rendered VEVENT, read back by the icalendar parser (its TZID is Asia/Tokyo, which the
    parser knows without the calendar's VTIMEZONE: 5 times cheaper than parsing a calendar)."""
    found = icalendar.Event.from_ical(event)
    assert isinstance(found, icalendar.Event)
    return found
