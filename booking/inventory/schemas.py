"""Response shapes of the inventory API."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, Field

from booking.inventory.network import GridInfo
from booking.inventory.policy import ReservationPolicy


class WardRead(BaseModel):
    key: str
    name_ja: str
    name_en: str
    facility_count: int


class WardRef(BaseModel):
    key: str
    name_ja: str
    name_en: str


class FacilitySummary(BaseModel):
    id: int
    key: str
    kind: str
    name_ja: str
    name_en: str
    ward: str | None = Field(description="ward key; null where no source states it")
    address: str | None
    phone: str | None
    room_count: int
    opens_on: date | None
    closes_on: date | None
    estimated_fields: list[str]


class FacilityPage(BaseModel):
    items: list[FacilitySummary]
    total: int
    limit: int
    offset: int


class PeriodRead(BaseModel):
    code: str
    name_ja: str
    name_en: str
    start: str
    end: str
    day_types: list[str]
    estimated_fields: list[str]


class PeriodGridRead(BaseModel):
    key: str
    name_ja: str
    name_en: str
    periods: list[PeriodRead]

    @classmethod
    def of(cls, grid: GridInfo) -> PeriodGridRead:
        return cls(
            key=grid.key,
            name_ja=grid.name_ja,
            name_en=grid.name_en,
            periods=[
                PeriodRead(
                    code=p.code,
                    name_ja=p.name_ja,
                    name_en=p.name_en,
                    start=p.start.strftime("%H:%M"),
                    end=p.end.strftime("%H:%M"),
                    day_types=sorted(str(t) for t in p.day_types),
                    estimated_fields=list(p.estimated_fields),
                )
                for p in grid.periods
            ],
        )


class RoomSummary(BaseModel):
    id: int
    key: str
    name_ja: str
    name_en: str
    capacity: int | None
    area_m2: float | None
    online_bookable: bool
    fees: dict[str, int] | None = Field(
        description="yen per period code on today's date (a fee schedule's from its date on: "
        "GET /api/v1/rooms/{id}/fees lists them); null if unknown"
    )
    all_day_fee: int | None
    fee_is_estimate: bool
    is_estimated: bool = Field(description="the room itself is an estimate from the facility type")
    estimated_fields: list[str]


class ClosureRuleRead(BaseModel):
    scope: str = Field(description="'kind' (every facility of the kind) or 'facility'")
    name_ja: str | None = Field(description="what the closure is called, e.g. 年末年始")
    name_en: str | None = Field(description="e.g. Year-end and New Year holidays")
    rule: dict[str, Any]
    note: str | None = Field(description="a remark (a manager's reason), not a name")


class FacilityDetailRead(BaseModel):
    id: int
    key: str
    kind: str
    kind_name_ja: str
    kind_name_en: str
    name_ja: str
    name_en: str
    ward: WardRef | None
    address: str | None
    phone: str | None
    external_id: str | None
    opens_on: date | None
    closes_on: date | None
    opening_hours: dict[str, list[str]]
    period_grid: PeriodGridRead
    policy: ReservationPolicy
    closure_rules: list[ClosureRuleRead]
    closed_dates: list[date] = Field(description="closure days in the next 90 days")
    rooms: list[RoomSummary]
    estimated_fields: list[str]
    estimate_basis: str | None
    notes: str | None
    sources: list[str]


class RoomRef(BaseModel):
    id: int
    key: str
    name_ja: str
    name_en: str


class RoomDetailRead(RoomSummary):
    facility_id: int
    facility_name_ja: str
    facility_name_en: str
    equipment: list[str]
    purposes: list[str] | None = Field(description="allowed purposes; null = any")
    external_id: str | None
    units: list[str]
    shares_units_with: list[RoomRef] = Field(
        description="rooms that occupy some of the same units (combined rooms and their parts)"
    )
    period_grid: PeriodGridRead
    policy: ReservationPolicy
    estimate_basis: str | None
    notes: str | None
    sources: list[str]
