"""Read and validate facilities_data/ as a whole, reporting every bad record at once."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from booking.inventory.calendar import holidays_of_year
from booking.inventory.closures import ClosureSpec, HolidayClosure
from booking.inventory.data_format import FacilityData, NetworkData, RoomData
from booking.inventory.policy import policy_problems

NETWORK_FILE = "network.toml"
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class DataError:
    file: str
    where: str  # "line N" and/or the key path of the record
    reason: str

    def __str__(self) -> str:
        return f"{self.file}: {self.where}: {self.reason}"


class DataValidationError(Exception):
    def __init__(self, errors: Sequence[DataError]) -> None:
        super().__init__(f"{len(errors)} problem(s) in the facility data")
        self.errors = list(errors)


@dataclass(frozen=True)
class SourcedFacility:
    file: str
    data: FacilityData
    rooms: tuple[RoomData, ...]  # its own rooms, or its template's


@dataclass
class Network:
    network: NetworkData
    facilities: list[SourcedFacility] = field(default_factory=list)


def read_network(path: Path) -> Network:
    """Parse and check every file under `path`; raise DataValidationError listing all problems."""
    errors: list[DataError] = []
    if not path.is_dir():
        raise DataValidationError([DataError(str(path), "-", "not a directory")])
    network_doc = _parse(path / NETWORK_FILE, errors)
    network = _validate(NetworkData, network_doc, NETWORK_FILE, errors)
    documents = []
    for file in sorted(p for p in path.glob("*.toml") if p.name != NETWORK_FILE):
        doc = _parse(file, errors)
        if doc is not None:
            documents.append((file.name, doc, _record_lines(file.read_text("utf-8"))))
    if network is None:
        raise DataValidationError(errors or [DataError(NETWORK_FILE, "-", "invalid")])
    _check_network(network, errors)
    result = Network(network)
    seen: dict[str, str] = {}
    for name, doc, lines in documents:
        for index, facility, room_indices in _facilities_of(name, doc, lines, errors):
            where = _where(lines, ("facilities", index), facility.key)
            if facility.key in seen:
                errors.append(DataError(name, where, f"key also used in {seen[facility.key]}"))
            seen[facility.key] = name
            rooms = _check_facility(network, facility, name, (lines, index, room_indices), errors)
            result.facilities.append(SourcedFacility(name, facility, rooms))
    if errors:
        raise DataValidationError(errors)
    return result


def _parse(file: Path, errors: list[DataError]) -> dict[str, Any] | None:
    try:
        with file.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        errors.append(DataError(file.name, "-", "file is missing"))
    except tomllib.TOMLDecodeError as exc:
        errors.append(DataError(file.name, _toml_line(str(exc)), f"not valid TOML: {exc}"))
    except UnicodeDecodeError as exc:
        errors.append(DataError(file.name, "-", f"not UTF-8: {exc}"))
    return None


def _toml_line(message: str) -> str:
    match = re.search(r"line (\d+)", message)
    return f"line {match[1]}" if match else "-"


def _validate(
    model: type[M], doc: dict[str, Any] | None, file: str, errors: list[DataError]
) -> M | None:
    if doc is None:
        return None
    try:
        return model.model_validate(doc)
    except ValidationError as exc:
        errors.extend(
            DataError(file, _where({}, tuple(error["loc"]), None), error["msg"])
            for error in exc.errors()
        )
        return None


def _facilities_of(
    file: str, doc: dict[str, Any], lines: dict[tuple[int, ...], int], errors: list[DataError]
) -> list[tuple[int, FacilityData, list[int]]]:
    """Validate each facility on its own, so one bad record hides no other's problems."""
    if unknown := set(doc) - {"facilities"}:
        errors.append(DataError(file, "-", f"unknown top-level keys {sorted(unknown)}"))
    entries = doc.get("facilities", [])
    if not isinstance(entries, list):
        errors.append(DataError(file, "facilities", "must be an array of tables [[facilities]]"))
        return []
    valid = []
    for index, raw in enumerate(entries):
        key = raw.get("key") if isinstance(raw, dict) else None
        entry, room_indices = raw, []
        if isinstance(raw, dict) and isinstance(raw.get("rooms"), list):
            # Rooms are checked one by one too: a bad room hides neither its siblings'
            # problems nor its facility's.
            room_indices = _valid_rooms(file, index, key, raw["rooms"], lines, errors)
            entry = {**raw, "rooms": [raw["rooms"][i] for i in room_indices]}
        try:
            valid.append((index, FacilityData.model_validate(entry), room_indices))
        except ValidationError as exc:
            for error in exc.errors():
                loc = ("facilities", index, *error["loc"])
                errors.append(DataError(file, _where(lines, loc, key), error["msg"]))
    return valid


def _valid_rooms(
    file: str,
    index: int,
    key: str | None,
    rooms: list[Any],
    lines: dict[tuple[int, ...], int],
    errors: list[DataError],
) -> list[int]:
    """The indices of the rooms that are valid on their own; the others' errors recorded."""
    kept = []
    for room_index, room in enumerate(rooms):
        try:
            RoomData.model_validate(room)
        except ValidationError as exc:
            room_key = room.get("key") if isinstance(room, dict) else None
            for error in exc.errors():
                loc = ("facilities", index, "rooms", room_index, *error["loc"])
                where = _where(lines, loc, f"{key}/{room_key}" if room_key else key)
                errors.append(DataError(file, where, error["msg"]))
        else:
            kept.append(room_index)
    return kept


# --- where a record is: line numbers of [[facilities]] / [[facilities.rooms]] headers -------


def _record_lines(text: str) -> dict[tuple[int, ...], int]:
    """Map (facility index,) and (facility index, room index) to the line of their header."""
    found: dict[tuple[int, ...], int] = {}
    facility, room = -1, -1
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped == "[[facilities]]":
            facility, room = facility + 1, -1
            found[(facility,)] = number
        elif stripped == "[[facilities.rooms]]" and facility >= 0:
            room += 1
            found[(facility, room)] = number
    return found


def _where(lines: dict[tuple[int, ...], int], loc: tuple[Any, ...], key: str | None) -> str:
    path = ".".join(f"[{part}]" if isinstance(part, int) else str(part) for part in loc)
    path = path.replace(".[", "[")
    line = None
    if len(loc) >= 2 and loc[0] == "facilities" and isinstance(loc[1], int):
        line = lines.get((loc[1],))
        if len(loc) >= 4 and loc[2] == "rooms" and isinstance(loc[3], int):
            line = lines.get((loc[1], loc[3]), line)
    prefix = f"line {line}: " if line else ""
    suffix = f" (key {key})" if key else ""
    return f"{prefix}{path}{suffix}"


# --- cross-record checks ----------------------------------------------------------------


def _check_network(network: NetworkData, errors: list[DataError]) -> None:
    def bad(where: str, reason: str) -> None:
        errors.append(DataError(NETWORK_FILE, where, reason))

    keys = [ward.key for ward in network.wards]
    if len(set(keys)) != len(keys):
        bad("wards", f"ward keys must be unique: {keys}")
    for key, policy in network.policies.items():
        for where, reason in policy_problems(policy.overrides()):
            bad(f"policies.{key}.{where}", reason)
        # Each revision is checked as it stands on its date: over the policy and the earlier ones.
        layers: list[dict[str, Any]] = [policy.overrides()]
        for index, revision in sorted(
            enumerate(policy.revisions), key=lambda item: item[1].effective_from
        ):
            layers.append(revision.settings)
            for where, reason in policy_problems(*layers):
                bad(f"policies.{key}.revisions[{index}].settings.{where}", reason)
    for key, kind in network.kinds.items():
        if kind.policy and kind.policy not in network.policies:
            bad(f"kinds.{key}.policy", f"unknown policy {kind.policy!r}")
        if kind.period_grid not in network.period_grids:
            bad(f"kinds.{key}.period_grid", f"unknown period grid {kind.period_grid!r}")
        _check_closures(kind.closures, f"kinds.{key}.closures", NETWORK_FILE, errors)
    for key, template in network.room_templates.items():
        for index, room in enumerate(template.rooms):
            _check_room_refs(
                network, room, None, f"room_templates.{key}.rooms[{index}]", NETWORK_FILE, errors
            )


@dataclass(frozen=True)
class References:
    """What a facility or a room may name: the data files' network.toml, or the live network
    (inventory/records.py) when staff edit it: one set of checks for both."""

    wards: frozenset[str]
    kinds: Mapping[str, str]  # kind key -> its period grid's key
    purposes: frozenset[str]
    policies: frozenset[str]
    grids: Mapping[str, tuple[str, ...]]  # grid key -> its period codes

    @classmethod
    def of(cls, network: NetworkData) -> References:
        return cls(
            wards=frozenset(w.key for w in network.wards),
            kinds={key: kind.period_grid for key, kind in network.kinds.items()},
            purposes=frozenset(network.purposes),
            policies=frozenset(network.policies),
            grids={
                key: tuple(p.code for p in grid.periods)
                for key, grid in network.period_grids.items()
            },
        )

    def grid_of(self, facility: FacilityData) -> str | None:
        """The period grid of the facility's rooms unless a room names its own."""
        return facility.period_grid or self.kinds.get(facility.kind)


def facility_problems(refs: References, facility: FacilityData) -> list[tuple[str, str]]:
    """(field, reason) for each key the facility names that does not exist."""
    problems = []
    if facility.ward and facility.ward not in refs.wards:
        problems.append(("ward", f"unknown ward {facility.ward!r}"))
    if facility.kind not in refs.kinds:
        problems.append(("kind", f"no kinds.{facility.kind} in {NETWORK_FILE}"))
    if facility.policy and facility.policy not in refs.policies:
        problems.append(("policy", f"unknown policy {facility.policy!r}"))
    if facility.period_grid and facility.period_grid not in refs.grids:
        problems.append(("period_grid", f"unknown period grid {facility.period_grid!r}"))
    return problems


def room_problems(
    refs: References, room: RoomData, facility_grid: str | None
) -> list[tuple[str, str]]:
    """(field, reason) for each key the room names that does not exist, and each fee of a
    period its grid does not have."""
    problems = []
    if room.policy and room.policy not in refs.policies:
        problems.append(("policy", f"unknown policy {room.policy!r}"))
    grid_key = room.period_grid or facility_grid
    if room.period_grid and room.period_grid not in refs.grids:
        problems.append(("period_grid", f"unknown period grid {room.period_grid!r}"))
    problems += [
        ("purposes", f"unknown purpose {purpose!r}")
        for purpose in room.purposes or ()
        if purpose not in refs.purposes
    ]
    codes = refs.grids.get(grid_key) if grid_key else None
    if codes is not None:
        problems += [("fees", reason) for reason in fee_code_problems(room.fees, codes, grid_key)]
        for index, revision in enumerate(room.fee_revisions):
            problems += [
                (f"fee_revisions[{index}].fees", reason)
                for reason in fee_code_problems(revision.fees, codes, grid_key)
            ]
    return problems


def _check_facility(
    network: NetworkData,
    facility: FacilityData,
    file: str,
    position: tuple[dict[tuple[int, ...], int], int, list[int]],
    errors: list[DataError],
) -> tuple[RoomData, ...]:
    lines, index, room_indices = position
    where = _where(lines, ("facilities", index), facility.key)

    def bad(attr: str, reason: str) -> None:
        errors.append(DataError(file, f"{where}.{attr}", reason))

    refs = References.of(network)
    for attr, reason in facility_problems(refs, facility):
        bad(attr, reason)
    _check_closures(facility.closures, f"{where}.closures", file, errors)
    rooms = facility.rooms
    if facility.room_template:
        template = network.room_templates.get(facility.room_template)
        if template is None:
            bad("room_template", f"unknown room template {facility.room_template!r}")
        else:
            rooms = tuple(
                room.model_copy(
                    update={"estimated": True, "estimate_basis": template.estimate_basis}
                )
                for room in template.rooms
            )
    grid_key = refs.grid_of(facility)
    for room_index, room in zip(room_indices, facility.rooms, strict=True):
        room_where = _where(lines, ("facilities", index, "rooms", room_index), room.key)
        _check_room_refs(network, room, grid_key, room_where, file, errors)
    return rooms


def _check_room_refs(
    network: NetworkData,
    room: RoomData,
    facility_grid: str | None,
    where: str,
    file: str,
    errors: list[DataError],
) -> None:
    errors.extend(
        DataError(file, f"{where}.{attr}", reason)
        for attr, reason in room_problems(References.of(network), room, facility_grid)
    )


def fee_code_problems(
    fees: Mapping[str, int] | None, codes: Sequence[str], grid_key: str | None
) -> list[str]:
    """A fee table names periods of the room's grid only (the data files and staff alike)."""
    return [
        f"period {code!r} is not in grid {grid_key!r} ({sorted(codes)})"
        for code in fees or {}
        if code not in codes
    ]


_HOLIDAY_NAMES: frozenset[str] | None = None


def _check_closures(
    rules: tuple[ClosureSpec, ...], where: str, file: str, errors: list[DataError]
) -> None:
    global _HOLIDAY_NAMES  # noqa: PLW0603 - a lazily built constant
    if _HOLIDAY_NAMES is None:
        _HOLIDAY_NAMES = frozenset(
            name for year in range(2020, 2031) for name in holidays_of_year(year).values()
        )
    for index, rule in enumerate(rules):
        if isinstance(rule, HolidayClosure) and rule.name_ja not in _HOLIDAY_NAMES:
            errors.append(
                DataError(file, f"{where}[{index}].name_ja", f"no public holiday {rule.name_ja!r}")
            )
