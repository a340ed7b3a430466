"""The draw's properties, pure: fairness, no double allocation, verifiability."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from datetime import date
from pathlib import Path

from booking.lottery.draw import Entry, allocate, commitment, draw, seed
from booking.lottery.drawing import publish
from booking.lottery.verify import verify_document

DAY = date(2027, 8, 10)
# Chi-square critical value, 4 degrees of freedom, significance 0.001 (tables: 18.467).
CHI2_4DF_0_001 = 18.467


def entries_for_one_slot(n: int) -> list[Entry]:
    return [Entry(i, 100 + i, 1, DAY, ("10",), (7,)) for i in range(1, n + 1)]


def test_each_of_n_applicants_wins_with_probability_1_over_n() -> None:
    n, rounds = 5, 5000
    wins = dict.fromkeys(range(1, n + 1), 0)
    for r in range(rounds):  # deterministic seeds: the test never flakes
        outcomes = allocate(entries_for_one_slot(n), seed(r.to_bytes(8, "big"), "00" * 32))
        (winner,) = [o.id for o in outcomes if o.won]
        wins[winner] += 1
    expected = rounds / n
    chi2 = sum((observed - expected) ** 2 / expected for observed in wins.values())
    assert chi2 < CHI2_4DF_0_001, (chi2, wins)


def test_combined_rooms_and_multi_period_applications_never_overlap() -> None:
    # Room 1 = units 1+2 (combined), rooms 2 and 3 its parts; periods 10/20/30.
    rooms = {1: (1, 2), 2: (1,), 3: (2,)}
    applications = []
    ident = 0
    for room, units in rooms.items():
        for periods in (("10",), ("10", "20"), ("20", "30"), ("30",)):
            for _ in range(3):
                ident += 1
                applications.append(Entry(ident, ident, room, DAY, periods, units))
    for r in range(300):
        outcomes = allocate(applications, seed(r.to_bytes(4, "big"), "11" * 32))
        taken: set[tuple[int, date, str]] = set()
        by_id = {e.id: e for e in applications}
        for o in outcomes:
            if o.won:
                slots = set(by_id[o.id].slots())
                assert not slots & taken
                taken |= slots
        # Serial dictatorship leaves nothing winnable unwon: every loser met a taken slot.
        for o in outcomes:
            if not o.won:
                assert set(by_id[o.id].slots()) & taken


def test_pre_claimed_slots_and_the_win_cap() -> None:
    entries = [
        Entry(1, 1, 1, DAY, ("10",), (7,)),
        Entry(2, 1, 1, DAY, ("20",), (7,)),
        Entry(3, 2, 1, DAY, ("30",), (7,)),
    ]
    outcomes = {o.id: o for o in allocate(entries, b"s" * 32, {(7, DAY, "30")}, win_cap=1)}
    assert outcomes[3].reason == "pre_claimed"
    assert sorted(o.reason or "won" for o in (outcomes[1], outcomes[2])) == ["win_cap", "won"]


def published(secret: bytes = b"k" * 32) -> dict[str, object]:
    entries = [*entries_for_one_slot(4), Entry(9, 200, 2, DAY, ("10", "20"), (8, 9))]
    list_digest, _, outcomes = draw(secret, entries)
    return publish(
        date(2027, 8, 1),
        3,
        secret=secret,
        entries=entries,
        pre_claimed=set(),
        win_cap=None,
        list_digest=list_digest,
        outcomes=outcomes,
    )


def test_a_published_draw_replays_and_tampering_fails() -> None:
    doc = published()
    assert verify_document(doc, commitment(b"k" * 32)) == []
    other_secret = copy.deepcopy(doc)
    other_secret["secret"] = (b"x" * 32).hex()
    assert verify_document(other_secret, commitment(b"k" * 32))
    added = copy.deepcopy(doc)
    added["applications"].append("99|999|1|2027-08-10|10|7")  # type: ignore[attr-defined]
    assert "the applications do not match the published digest" in verify_document(added)
    flipped = copy.deepcopy(doc)
    results = flipped["results"]
    results[0]["won"] = not results[0]["won"]  # type: ignore[index]
    assert verify_document(flipped) == ["replaying the draw does not give the published results"]


def test_the_verifier_runs_on_the_published_file_alone(tmp_path: Path) -> None:
    file = tmp_path / "draw.json"
    file.write_text(json.dumps(published()), encoding="utf-8")
    ok = subprocess.run(  # noqa: S603 - our own module
        [
            sys.executable,
            "-m",
            "booking.lottery.verify",
            str(file),
            "--commitment",
            commitment(b"k" * 32),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    assert "OK: 5 results reproduced" in ok.stdout
    bad = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "booking.lottery.verify", str(file), "--commitment", "00" * 32],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 1
