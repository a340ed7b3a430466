"""`booking facilities export [DIR]`: the live network written in the facilities_data/ format.

Every file the loader reads: network.toml and one file of facilities per group of kinds. Only
active facilities and rooms are written (a load retires what a file leaves out, and they are
retired already), templated rooms as the rooms they became, and closures that came from the
data (a manager's closures stay the system's own). A load of the export changes nothing.
"""

from __future__ import annotations

import json
import re
from datetime import date, time
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.inventory.datafiles import NETWORK_FILE
from booking.inventory.models import (
    ClosureRule,
    Facility,
    FacilityKind,
    Period,
    PeriodGrid,
    Policy,
    Purpose,
    Room,
    Ward,
)
from booking.inventory.records import facility_record, live_keys, room_record, unit_keys
from booking.inventory.schedules import (
    fee_revisions_data,
    fee_schedules,
    policy_revisions,
    policy_revisions_data,
)

# Which file holds a kind's facilities (as in the bundled data).
FILE_OF_KIND = {
    "civic_hall": "civic_halls.toml",
    "branch_hall": "civic_halls.toml",
    "other": "civic_halls.toml",
    "children_centre": "children_centres.toml",
    "senior_centre": "senior_centres.toml",
}


class ExportError(Exception):
    pass


async def export_network(session: AsyncSession) -> dict[str, str]:
    """File name -> TOML text of the live network."""
    files = {NETWORK_FILE: to_toml(await _network_document(session))}
    by_file: dict[str, list[dict[str, Any]]] = {name: [] for name in FILE_OF_KIND.values()}
    keys = await live_keys(session)
    facilities = (
        await session.scalars(
            select(Facility).where(Facility.active.is_(True)).order_by(Facility.id)
        )
    ).all()
    for facility in facilities:
        by_file[FILE_OF_KIND[keys.kinds[facility.kind_id]]].append(
            await _facility_document(session, facility, keys)
        )
    for name, entries in by_file.items():
        files[name] = to_toml({"facilities": entries})
    return files


def write_export(files: dict[str, str], directory: Path) -> None:
    """Write the files; refuse a directory holding other TOML files, which a load would read
    too."""
    directory.mkdir(parents=True, exist_ok=True)
    others = sorted(p.name for p in directory.glob("*.toml") if p.name not in files)
    if others:
        raise ExportError(
            f"{directory} holds other data files ({', '.join(others)}) that a load would read "
            "too: export into an empty directory"
        )
    for name, text in files.items():
        (directory / name).write_text(text, "utf-8")


async def _network_document(session: AsyncSession) -> dict[str, Any]:
    wards = (await session.scalars(select(Ward).order_by(Ward.sort_order, Ward.id))).all()
    purposes = (await session.scalars(select(Purpose).order_by(Purpose.id))).all()
    grids = (await session.scalars(select(PeriodGrid).order_by(PeriodGrid.id))).all()
    periods = (await session.scalars(select(Period).order_by(Period.sort_order))).all()
    policies = (await session.scalars(select(Policy).order_by(Policy.id))).all()
    kinds = (await session.scalars(select(FacilityKind).order_by(FacilityKind.id))).all()
    grid_keys = {grid.id: grid.key for grid in grids}
    policy_keys = {policy.id: policy.key for policy in policies}
    document: dict[str, Any] = {
        "wards": [{"key": w.key, "name_ja": w.name_ja, "name_en": w.name_en} for w in wards],
        "purposes": {p.key: {"name_ja": p.name_ja, "name_en": p.name_en} for p in purposes},
        "period_grids": {
            grid.key: _present(
                {
                    "name_ja": grid.name_ja,
                    "name_en": grid.name_en,
                    "estimated_fields": grid.estimated_fields,
                    "estimate_basis": grid.estimate_basis,
                    "periods": [_period(p, grid) for p in periods if p.grid_id == grid.id],
                }
            )
            for grid in grids
        },
        "policies": {},
        "kinds": {},
    }
    for policy in policies:
        revisions = policy_revisions_data(await policy_revisions(session, policy.id))
        document["policies"][policy.key] = _present(
            {
                **policy.settings,
                "estimate_basis": policy.estimate_basis,
                "revisions": revisions,
            }
        )
    for kind in kinds:
        closures = await _closures(session, ClosureRule.facility_kind_id == kind.id)
        document["kinds"][kind.key] = _present(
            {
                "name_ja": kind.name_ja,
                "name_en": kind.name_en,
                "policy": policy_keys.get(kind.policy_id) if kind.policy_id else None,
                "period_grid": grid_keys[kind.period_grid_id],
                "opening_hours": kind.opening_hours,
                "closures": closures,
            }
        )
    return document


def _period(period: Period, grid: PeriodGrid) -> dict[str, Any]:
    day_types = [
        name
        for name, on in (
            ("weekday", period.on_weekday),
            ("saturday", period.on_saturday),
            ("sunday_holiday", period.on_sunday_holiday),
        )
        if on
    ]
    return _present(
        {
            "code": period.code,
            "name_ja": period.name_ja,
            "name_en": period.name_en,
            "start": period.start_time,
            "end": period.end_time,
            "day_types": day_types,
            "estimated_fields": period.estimated_fields,
            # The table keeps no basis of a period's own: its grid's stands for it.
            "estimate_basis": (grid.estimate_basis or "see the period grid")
            if period.estimated_fields
            else None,
        }
    )


async def _facility_document(
    session: AsyncSession, facility: Facility, keys: Any
) -> dict[str, Any]:
    rooms = (
        await session.scalars(
            select(Room)
            .where(Room.facility_id == facility.id, Room.active.is_(True))
            .order_by(Room.sort_order, Room.id)
        )
    ).all()
    units = await unit_keys(session, [room.id for room in rooms])
    documents = []
    for room in rooms:
        document = room_record(room, units[room.id], keys)
        if revisions := fee_revisions_data(await fee_schedules(session, room.id)):
            document["fee_revisions"] = revisions
        documents.append(document)
    closures = await _closures(session, ClosureRule.facility_id == facility.id)
    return _present({**facility_record(facility, keys), "closures": closures, "rooms": documents})


async def _closures(session: AsyncSession, owner: Any) -> list[dict[str, Any]]:
    rules = (
        await session.scalars(
            select(ClosureRule).where(owner, ClosureRule.origin == "data").order_by(ClosureRule.id)
        )
    ).all()
    found = []
    for rule in rules:
        spec = dict(rule.spec)
        if spec.get("type") == "dates":  # TOML dates, as the files write them
            spec = {k: date.fromisoformat(v) if k in {"from", "to"} else v for k, v in spec.items()}
        found.append(_present({**spec, "note": rule.note}))
    return found


def _present(table: dict[str, Any]) -> dict[str, Any]:
    """Leave out what a file leaves out: no value, an empty list or table."""
    return {k: v for k, v in table.items() if v is not None and v not in ([], {})}


# --- a small TOML writer: tables, arrays of tables, inline tables for flat ones -------------

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def to_toml(document: dict[str, Any]) -> str:
    lines: list[str] = []
    _table(document, [], lines, header=None)
    return "\n".join(lines).strip() + "\n"


def _key(key: str) -> str:
    return key if _BARE_KEY.match(key) else json.dumps(key, ensure_ascii=False)


def _is_tables(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def _is_inline(value: Any) -> bool:
    return isinstance(value, dict) and not any(
        isinstance(v, dict) or _is_tables(v) for v in value.values()
    )


def _table(table: dict[str, Any], path: list[str], lines: list[str], header: str | None) -> None:
    if header is not None:
        lines.extend(["", header])
    nested = []
    for key, value in table.items():
        if (isinstance(value, dict) and not (_is_inline(value) and path)) or _is_tables(value):
            nested.append((key, value))
        else:
            lines.append(f"{_key(key)} = {_value(value)}")
    for key, value in nested:
        inner = [*path, _key(key)]
        if isinstance(value, dict):
            _table(value, inner, lines, header=f"[{'.'.join(inner)}]")
        else:
            for item in value:
                _table(item, inner, lines, header=f"[[{'.'.join(inner)}]]")


def _value(value: Any) -> str:  # noqa: PLR0911 - one return per TOML type
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return json.dumps(value.strftime("%H:%M"))
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"no TOML for {type(value).__name__}")
