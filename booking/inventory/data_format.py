"""The format of facilities_data/: one pydantic model per record, documented in its README.

Every record keeps its sources; every estimate says which fields and on what basis.
"""

from __future__ import annotations

import re
from datetime import date, time
from itertools import pairwise
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from booking.control_characters import (
    CONTROL_REASON,
    MULTI_LINE_CONTROL_REASON,
    control_characters,
)
from booking.inventory.calendar import DayType
from booking.inventory.closures import ClosureSpec


def _one_line(value: str) -> str:
    if control_characters(value):
        raise ValueError(CONTROL_REASON)
    return value


def _multi_line(value: str) -> str:
    if control_characters(value, multiline=True):
        raise ValueError(MULTI_LINE_CONTROL_REASON)
    return value


# The field types of the data files, which the system's editing services validate with too
# (inventory/editing.py): one definition of each rule.
Key = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
Name = Annotated[
    str,
    StringConstraints(min_length=1, max_length=200, strip_whitespace=True),
    AfterValidator(_one_line),
]
OneLine = Annotated[str, AfterValidator(_one_line)]
Address = Annotated[str, StringConstraints(max_length=300), AfterValidator(_one_line)]
Phone = Annotated[str, StringConstraints(pattern=r"^[0-9+()\- ]{6,40}$")]
ExternalId = Annotated[str, StringConstraints(max_length=40), AfterValidator(_one_line)]
Remark = Annotated[str, StringConstraints(max_length=4000), AfterValidator(_multi_line)]
CAPACITY_MAX = 100_000
Capacity = Annotated[int, Field(gt=0, le=CAPACITY_MAX)]
Area = Annotated[float, Field(gt=0, le=100_000)]
# Kana, kanji and full-width forms (full-width brackets included).
_JAPANESE = re.compile(r"[\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")


def _english(value: str) -> str:
    """An English name is shown as is on English pages: the Japanese belongs in name_ja, and
    a remark about the name (the source's spelling, an unconfirmed reading) in notes."""
    if _JAPANESE.search(value):
        raise ValueError("an English name must not contain Japanese: put remarks in notes")
    return value


EnglishName = Annotated[Name, AfterValidator(_english)]
Yen = Annotated[int, Field(ge=0, le=10_000_000)]
FeeTable = dict[str, Yen]  # yen per period code of the room's grid


def _named(rule: ClosureSpec) -> ClosureSpec:
    """Pages and the API show a closure by its name in the reader's language; `note` is a
    remark, never a name."""
    if not rule.name_ja or not rule.name_en:
        raise ValueError("a closure needs name_ja and name_en (note is a remark, not a name)")
    _english(rule.name_en)
    return rule


NamedClosure = Annotated[ClosureSpec, AfterValidator(_named)]
FacilityKindKey = Literal["civic_hall", "branch_hall", "children_centre", "senior_centre", "other"]


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class _Estimable(_Record):
    estimated_fields: tuple[str, ...] = ()
    estimate_basis: Remark | None = None

    @model_validator(mode="after")
    def _basis_given(self) -> Any:
        if self.estimated_fields and not self.estimate_basis:
            raise ValueError("estimate_basis is required when estimated_fields is set")
        unknown = set(self.estimated_fields) - set(type(self).model_fields)
        if unknown:
            raise ValueError(f"estimated_fields names unknown fields: {sorted(unknown)}")
        return self


class WardData(_Record):
    key: Key
    name_ja: Name
    name_en: EnglishName


class PurposeData(_Record):
    name_ja: Name
    name_en: EnglishName


class PeriodData(_Estimable):
    code: Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z]{1,8}$")]
    name_ja: Name
    name_en: EnglishName
    start: time
    end: time
    day_types: tuple[DayType, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _start_before_end(self) -> PeriodData:
        if self.start >= self.end:
            raise ValueError("start must be before end")
        if len(set(self.day_types)) != len(self.day_types):
            raise ValueError("day_types has a duplicate")
        return self


class PeriodGridData(_Estimable):
    name_ja: Name
    name_en: EnglishName
    periods: tuple[PeriodData, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> PeriodGridData:
        codes = [p.code for p in self.periods]
        if len(set(codes)) != len(codes):
            raise ValueError(f"period codes must be unique in a grid: {codes}")
        for day_type in DayType:
            spans = sorted(
                (p.start, p.end, p.code) for p in self.periods if day_type in p.day_types
            )
            for (_, end, code), (start, _, next_code) in pairwise(spans):
                if start < end:
                    raise ValueError(f"periods {code} and {next_code} overlap on {day_type.value}")
        return self


class OpeningHours(_Record):
    weekday: tuple[time, time] | None = None
    saturday: tuple[time, time] | None = None
    sunday_holiday: tuple[time, time] | None = None

    @model_validator(mode="after")
    def _ordered(self) -> OpeningHours:
        for name in ("weekday", "saturday", "sunday_holiday"):
            span = getattr(self, name)
            if span is not None and span[0] >= span[1]:
                raise ValueError(f"{name}: opening must be before closing")
        return self

    def as_json(self) -> dict[str, list[str]]:
        return {
            name: [span[0].strftime("%H:%M"), span[1].strftime("%H:%M")]
            for name in ("weekday", "saturday", "sunday_holiday")
            if (span := getattr(self, name)) is not None
        }


class KindData(_Record):
    name_ja: Name
    name_en: EnglishName
    policy: Key | None = None
    period_grid: Key
    opening_hours: OpeningHours = OpeningHours()
    closures: tuple[NamedClosure, ...] = ()


class FeeRevisionData(_Record):
    """A room's fees from a use date on (a fiscal-year revision on 1 April is the model case).
    A booking keeps the fee it was made with; the revision prices what is booked later."""

    effective_from: date
    fees: FeeTable | None = None  # None: free from that date
    all_day_fee: Yen | None = None


class PolicyRevisionData(_Record):
    """A policy's change from a use date on: partial overrides, merged over the policy's own
    settings and its earlier revisions (checked against ReservationPolicy by the loader)."""

    effective_from: date
    settings: dict[str, Any] = Field(min_length=1)


def _distinct_dates(
    revisions: tuple[FeeRevisionData, ...] | tuple[PolicyRevisionData, ...],
) -> None:
    days = [revision.effective_from for revision in revisions]
    if len(set(days)) != len(days):
        raise ValueError(f"two revisions from one date: {sorted(map(str, days))}")


class RoomData(_Estimable):
    key: Key
    name_ja: Name
    name_en: EnglishName
    capacity: Capacity | None = None
    area_m2: Area | None = None
    equipment: tuple[Name, ...] = Field(default=(), max_length=100)
    fees: FeeTable | None = None
    all_day_fee: Yen | None = None
    # The fees from a date on; `fees`/`all_day_fee` above apply before the first of them.
    fee_revisions: tuple[FeeRevisionData, ...] = ()
    online_bookable: bool = True
    purposes: tuple[Key, ...] | None = Field(default=None, max_length=100)
    units: tuple[Key, ...] | None = Field(default=None, min_length=1, max_length=100)
    external_id: ExternalId | None = None
    policy: Key | None = None
    period_grid: Key | None = None
    estimated: bool = False
    notes: Remark | None = None
    sources: tuple[OneLine, ...] = ()

    @model_validator(mode="after")
    def _sourced_or_estimated(self) -> RoomData:
        if self.estimated and not self.estimate_basis:
            raise ValueError("estimate_basis is required for an estimated room")
        if not self.estimated and not self.sources:
            raise ValueError("a room that is not an estimate needs at least one source")
        _distinct_dates(self.fee_revisions)
        return self

    @property
    def unit_keys(self) -> tuple[str, ...]:
        return self.units or (self.key,)


class RoomTemplateData(_Record):
    """The standard rooms of a kind, for a facility whose rooms no source lists: every one of
    them is an estimate, on the template's basis."""

    estimate_basis: str = Field(min_length=1)
    rooms: tuple[RoomData, ...] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _rooms_are_estimates(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("rooms"), list):
            basis = data.get("estimate_basis")
            rooms = [
                {"estimated": True, "estimate_basis": basis, **room}
                if isinstance(room, dict)
                else room
                for room in data["rooms"]
            ]
            return {**data, "rooms": rooms}
        return data


class FacilityData(_Estimable):
    key: Key
    kind: FacilityKindKey
    name_ja: Name
    name_en: EnglishName
    ward: Key | None = None
    address: Address | None = None
    phone: Phone | None = None
    external_id: ExternalId | None = None
    opens_on: date | None = None
    closes_on: date | None = None
    policy: Key | None = None
    period_grid: Key | None = None
    opening_hours: OpeningHours | None = None
    room_template: Key | None = None
    notes: Remark | None = None
    sources: tuple[OneLine, ...] = Field(min_length=1)
    closures: tuple[NamedClosure, ...] = ()
    rooms: tuple[RoomData, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> FacilityData:
        if self.opens_on and self.closes_on and self.closes_on < self.opens_on:
            raise ValueError("closes_on is before opens_on")
        if self.room_template and self.rooms:
            raise ValueError("give either rooms or room_template, not both")
        keys = [room.key for room in self.rooms]
        if len(set(keys)) != len(keys):
            raise ValueError(f"room keys must be unique in a facility: {keys}")
        return self


class PolicyData(_Record):
    """A partial ReservationPolicy; checked against it by the loader."""

    model_config = ConfigDict(extra="allow", frozen=True)
    estimate_basis: str | None = None
    # Changes from a use date on (issue 16), each a partial override like the policy itself.
    revisions: tuple[PolicyRevisionData, ...] = ()

    @model_validator(mode="after")
    def _distinct(self) -> PolicyData:
        _distinct_dates(self.revisions)
        return self

    def overrides(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class NetworkData(_Record):
    wards: tuple[WardData, ...]
    purposes: dict[Key, PurposeData] = {}
    period_grids: dict[Key, PeriodGridData]
    policies: dict[Key, PolicyData] = {}
    kinds: dict[FacilityKindKey, KindData]
    room_templates: dict[Key, RoomTemplateData] = {}
