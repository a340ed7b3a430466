"""Names in the bundled data are names: research notes live in `notes`, never in a name.

Every name the pages or the API show (wards, purposes, period grids and periods, kinds,
closures, facilities, rooms, standard rooms) is checked in both languages.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from booking.inventory.closures import ClosureSpec
from booking.inventory.datafiles import DataValidationError, Network, read_network
from booking.paths import facilities_data_dir
from tests.conftest import TEST_DATA

# A remark in brackets, or the words research notes are made of.
NOTE_PATTERNS = [
    re.compile(r"[()（）「」\[\]【】]"),
    re.compile(
        r"\b(source|sources|confirmed|unconfirmed|planned|provisional|romani[sz]ation|"
        r"successor|written|unknown|probably|estimated?)\b",
        re.IGNORECASE,
    ),
    re.compile(r"仮称|予定|未確認|出典|不明"),
]
JAPANESE = re.compile(r"[\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")


def _closures(
    where: str, rules: tuple[ClosureSpec, ...]
) -> Iterator[tuple[str, str | None, str | None]]:
    for index, rule in enumerate(rules):
        yield f"{where} closure {index}", rule.name_ja, rule.name_en


def every_name(network: Network) -> Iterator[tuple[str, str | None, str | None]]:
    """(where, name_ja, name_en) of every named record of the data."""
    data = network.network
    for ward in data.wards:
        yield f"ward {ward.key}", ward.name_ja, ward.name_en
    for key, purpose in data.purposes.items():
        yield f"purpose {key}", purpose.name_ja, purpose.name_en
    for key, grid in data.period_grids.items():
        yield f"period grid {key}", grid.name_ja, grid.name_en
        for period in grid.periods:
            yield f"period {key}/{period.code}", period.name_ja, period.name_en
    for key, kind in data.kinds.items():
        yield f"kind {key}", kind.name_ja, kind.name_en
        yield from _closures(f"kind {key}", kind.closures)
    for key, template in data.room_templates.items():
        for room in template.rooms:
            yield f"room template {key}/{room.key}", room.name_ja, room.name_en
    for facility in network.facilities:
        f = facility.data
        yield f"facility {f.key}", f.name_ja, f.name_en
        yield from _closures(f"facility {f.key}", f.closures)
        for room in f.rooms:
            yield f"room {f.key}/{room.key}", room.name_ja, room.name_en


def name_problems(network: Network) -> list[str]:
    problems = []
    for where, ja, en in every_name(network):
        if not ja or not en:
            problems.append(f"{where}: needs name_ja and name_en ({ja!r}, {en!r})")
            continue
        for lang, name in (("ja", ja), ("en", en)):
            problems.extend(
                f"{where}: name_{lang} {name!r} holds a note ({pattern.pattern[:30]})"
                for pattern in NOTE_PATTERNS
                if pattern.search(name)
            )
        if JAPANESE.search(en):
            problems.append(f"{where}: name_en {en!r} has Japanese in it")
    return problems


@pytest.fixture(scope="module")
def bundled() -> Network:
    return read_network(facilities_data_dir())


def test_bundled_names_are_names(bundled):
    assert name_problems(bundled) == []


def test_the_check_finds_the_notes_that_were_in_names():
    """The notes that issue 14 found in names are what the check refuses."""
    found = [
        ("（仮称）川崎市民館・労働会館", "Kawasaki Civic Hall"),
        ("会議室（各室）", "Conference Rooms"),
        ("虹ケ丘", "Nijigaoka Children's Culture Center (source writes 虹ケ丘)"),
        ("神地", "神地 Senior Citizens' Recreation House"),
        ("a", "Kawasaki Civic Hall / Workers' Hall, service start planned Feb 2026"),
        ("a", "Kuji House, official kanji not confirmed"),
        ("年末年始", "年末年始"),
        ("年末年始", None),
    ]
    for ja, en in found:
        problems = []
        for lang, name in (("ja", ja), ("en", en)):
            if name is None:
                problems.append("missing")
                continue
            problems += [p.pattern for p in NOTE_PATTERNS if p.search(name)]
            if lang == "en" and JAPANESE.search(name):
                problems.append("japanese")
        assert problems, (ja, en)


def test_every_closure_is_named_in_both_languages(bundled):
    closures = [(where, ja, en) for where, ja, en in every_name(bundled) if " closure " in where]
    assert len(closures) >= 6
    year_end = [en for _, ja, en in closures if ja == "年末年始"]
    assert year_end
    assert set(year_end) == {"Year-end and New Year holidays"}


def test_the_notes_moved_out_of_names_were_kept(bundled):
    """Never dropped: what a name used to say is in the record's notes."""
    facilities = {f.data.key: f.data for f in bundled.facilities}
    kamiji = facilities["senior-centre-16"]
    assert kamiji.name_en == "Kamiji Senior Citizens' Recreation House"
    assert "not confirm" in (kamiji.notes or "")
    assert "神地" in (kamiji.notes or "")
    assert "虹ヶ丘" in (facilities["nijigaoka-childrens-centre"].notes or "")
    successor = facilities["kawasaki-civic-hall"]
    assert "（仮称）" in (successor.notes or "")
    assert "February 2026" in (successor.notes or "")
    rooms = {(f.data.key, r.key): r for f in bundled.facilities for r in f.data.rooms}
    assert "各室" in (rooms["saiwai-civic-hall", "conference-rooms"].notes or "")
    assert "gym-type" in (rooms["suge-childrens-centre", "assembly-room"].notes or "")


def _data_copy(tmp_path: Path, file: str, old: str, new: str) -> Path:
    copy = tmp_path / "data"
    shutil.copytree(TEST_DATA / "network", copy)
    path = copy / file
    text = path.read_text("utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), "utf-8")
    return copy


def test_validate_refuses_japanese_in_an_english_name(tmp_path):
    path = _data_copy(
        tmp_path, "network.toml", 'name_en = "Kawasaki Ward"', 'name_en = "川崎 Ward"'
    )
    with pytest.raises(DataValidationError) as raised:
        read_network(path)
    (error,) = raised.value.errors
    assert error.where.startswith("wards[0].name_en")
    assert "must not contain Japanese" in error.reason


def test_validate_refuses_a_closure_without_names(tmp_path):
    path = _data_copy(
        tmp_path,
        "network.toml",
        'name_ja = "年末年始"\nname_en = "Year-end and New Year holidays"\n',
        'note = "年末年始"\n',
    )
    with pytest.raises(DataValidationError) as raised:
        read_network(path)
    (error,) = raised.value.errors
    assert "closures[0]" in error.where
    assert "needs name_ja and name_en" in error.reason
