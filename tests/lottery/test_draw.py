"""The draw's properties, pure: fairness, no double allocation, verifiability."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from booking.lottery.draw import Entry, allocate, commitment, digest, draw, seed
from booking.lottery.drawing import publish
from booking.lottery.verify import main, verify_document

DAY = date(2027, 8, 10)
PERIODS = ("10", "20", "30")
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
    by_id = {e.id: e for e in applications}
    for r in range(300):
        outcomes = allocate(applications, seed(r.to_bytes(4, "big"), "11" * 32))
        taken: set[tuple[int, date, str]] = set()
        for o in sorted(outcomes, key=lambda o: o.position):
            entry = by_id[o.id]
            # Every unit of the room (not Entry.slots, the code under test), every period.
            slots = {
                (unit, DAY, period) for unit in rooms[entry.room_id] for period in entry.periods
            }
            if o.won:
                assert not slots & taken
                taken |= slots
            else:
                # Serial dictatorship leaves nothing winnable unwon: every loser met a slot
                # taken by an application before it in the order.
                assert slots & taken
                assert o.reason == "taken"


def test_pre_claimed_slots_and_the_win_cap() -> None:
    entries = [
        Entry(1, 1, 1, DAY, ("10",), (7,)),
        Entry(2, 1, 1, DAY, ("20",), (7,)),
        Entry(3, 2, 1, DAY, ("30",), (7,)),
    ]
    outcomes = {o.id: o for o in allocate(entries, b"s" * 32, {(7, DAY, "30")}, win_cap=1)}
    assert outcomes[3].reason == "pre_claimed"
    assert sorted(o.reason or "won" for o in (outcomes[1], outcomes[2])) == ["win_cap", "won"]


SECRET = b"k" * 32
PRE_CLAIMED = {(8, DAY, "20")}


def published(
    secret: bytes = SECRET,
    pre_claimed: set[tuple[int, date, str]] | None = None,
    win_cap: int | None = None,
) -> dict[str, Any]:
    """A draw file: four applicants for one slot, a group applying twice (one for a combined
    room of units 8+9), a slot of unit 8 claimed before the draw."""
    claimed = PRE_CLAIMED if pre_claimed is None else pre_claimed
    entries = [
        *entries_for_one_slot(4),
        Entry(9, 200, 2, DAY, ("10",), (8, 9)),
        Entry(10, 200, 3, DAY, ("10",), (5,)),
        Entry(11, 300, 4, DAY, ("20", "30"), (8,)),
    ]
    list_digest, _, outcomes = draw(secret, entries, claimed, win_cap)
    return publish(
        date(2027, 8, 1),
        3,
        secret=secret,
        entries=entries,
        pre_claimed=set(claimed),
        win_cap=win_cap,
        list_digest=list_digest,
        outcomes=outcomes,
    )


def test_a_published_draw_replays_with_and_without_the_commitment() -> None:
    doc = published(win_cap=1)
    assert verify_document(doc, commitment(SECRET)) == []
    assert verify_document(doc) == []
    # The file covers every kind of result: a win, a taken slot, a pre-claimed one, the cap.
    reasons = {r["reason"] for r in doc["results"]}
    assert reasons == {None, "taken", "pre_claimed", "win_cap"}


def test_a_draw_redone_with_another_secret_fails_only_on_the_commitment() -> None:
    # The operator draws again with a secret of their choosing and publishes a file that is
    # consistent in itself (its digest and results replay): only the commitment published
    # before the applications closed shows the secret was swapped.
    forged = published(secret=b"x" * 32)
    assert verify_document(forged) == []
    assert verify_document(forged, commitment(SECRET)) == [
        "the secret does not match the published commitment"
    ]


def test_another_secret_with_the_old_results_fails_on_commitment_and_replay() -> None:
    doc = published()
    doc["secret"] = (b"x" * 32).hex()
    assert verify_document(doc, commitment(SECRET)) == [
        "the secret does not match the published commitment",
        "replaying the draw does not give the published results",
    ]


def test_an_application_added_to_the_list_fails_on_the_digest() -> None:
    doc = published()
    doc["applications"].append("99|999|1|2027-08-10|10|7")
    assert "the applications do not match the published digest" in verify_document(doc)


def test_a_published_digest_that_is_not_the_lists_fails_alone() -> None:
    # The seed is computed from the listed applications, so the replay still agrees: only the
    # digest check sees that the digest announced is not the list's.
    doc = published()
    doc["digest"] = "00" * 32
    assert verify_document(doc, commitment(SECRET)) == [
        "the applications do not match the published digest"
    ]


@pytest.mark.parametrize(
    ("field", "value"),
    [("won", "flip"), ("position", 99), ("reason", "win_cap"), ("id", 98)],
)
def test_a_changed_result_fails_on_the_replay(field: str, value: object) -> None:
    doc = published()
    result = doc["results"][0]
    result[field] = not result["won"] if value == "flip" else value
    assert verify_document(doc, commitment(SECRET)) == [
        "replaying the draw does not give the published results"
    ]


def test_a_dropped_result_fails_on_the_replay() -> None:
    doc = published()
    doc["results"].pop()
    assert verify_document(doc) == ["replaying the draw does not give the published results"]


def test_a_changed_pre_claimed_list_or_win_cap_fails_on_the_replay() -> None:
    # Application 11 (unit 8, periods 20 and 30) lost to the pre-claimed slot 8|20: without
    # it in the file the replay gives application 11 the win.
    doc = published()
    assert {r["id"]: r["reason"] for r in doc["results"]}[11] == "pre_claimed"
    doc["pre_claimed"] = []
    assert verify_document(doc) == ["replaying the draw does not give the published results"]
    capped = published(win_cap=1)
    capped["win_cap"] = None
    assert verify_document(capped) == ["replaying the draw does not give the published results"]


def test_an_unknown_algorithm_is_refused_before_anything_else() -> None:
    doc = published()
    doc["algorithm"] = "rsd-md5-v0"
    doc["secret"] = "not hex"  # never read
    assert verify_document(doc) == ["unknown algorithm 'rsd-md5-v0'"]
    del doc["algorithm"]
    assert verify_document(doc) == ["unknown algorithm None"]


def verifier(file: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own module
        [sys.executable, "-m", "booking.lottery.verify", str(file), *args],
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_verifier_runs_on_the_published_file_alone(tmp_path: Path) -> None:
    file = tmp_path / "draw.json"
    file.write_text(json.dumps(published()), encoding="utf-8")
    ok = verifier(file, "--commitment", commitment(SECRET))
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout == "OK: 7 results reproduced\n"
    assert ok.stderr == ""
    # The process that fails says why, on stderr, and prints no OK.
    bad = verifier(file, "--commitment", "00" * 32)
    assert bad.returncode == 1
    assert bad.stderr == "FAIL: the secret does not match the published commitment\n"
    assert bad.stdout == ""


def test_the_command_without_a_commitment_checks_the_rest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "draw.json"
    file.write_text(json.dumps(published()), encoding="utf-8")
    assert main([str(file)]) == 0
    assert capsys.readouterr().out == "OK: 7 results reproduced\n"
    doc = published()
    doc["digest"] = "00" * 32
    doc["results"][0]["won"] = not doc["results"][0]["won"]
    file.write_text(json.dumps(doc), encoding="utf-8")
    assert main([str(file)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        "FAIL: the applications do not match the published digest\n"
        "FAIL: replaying the draw does not give the published results\n"
    )


def test_the_commands_help_says_what_it_checks(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert re.search(r"(?m)^Check a published lottery draw file\.$", out), out
    assert re.search(
        r"(?m)^  --commitment COMMITMENT\s+the commitment published before the draw$", out
    )
    assert out.startswith("usage: ")
    assert " file\n" in out


def test_the_digest_and_seed_follow_the_published_algorithm() -> None:
    """Anyone re-implements rsd-sha256-v1 from draw.py's docstring: the lines, sorted by id,
    joined by a newline; seed = SHA-256(secret || digest as bytes)."""
    entries = [Entry(12, 3, 4, DAY, ("20", "30"), (9, 8)), Entry(2, 5, 1, DAY, ("10",), (7,))]
    lines = "2|5|1|2027-08-10|10|7\n12|3|4|2027-08-10|20,30|8,9"
    expected = hashlib.sha256(lines.encode()).hexdigest()
    assert digest(entries) == expected
    assert seed(SECRET, expected) == hashlib.sha256(SECRET + bytes.fromhex(expected)).digest()
    assert commitment(SECRET) == hashlib.sha256(SECRET).hexdigest()


def test_the_command_checks_the_commitment_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "draw.json"
    file.write_text(json.dumps(published()), encoding="utf-8")
    assert main([str(file), "--commitment", "00" * 32]) == 1
    assert capsys.readouterr() == (
        "",
        "FAIL: the secret does not match the published commitment\n",
    )
    assert main([str(file), "--commitment", commitment(SECRET)]) == 0


@pytest.mark.parametrize(("win_cap", "wins"), [(1, 1), (2, 2), (3, 3), (4, 3), (None, 3)])
def test_the_win_cap_allows_exactly_that_many_wins_per_group(
    win_cap: int | None, wins: int
) -> None:
    # One group, three applications for three free slots.
    entries = [Entry(i, 1, 1, DAY, (period,), (7,)) for i, period in enumerate(PERIODS, 1)]
    outcomes = allocate(entries, b"s" * 32, win_cap=win_cap)
    assert sum(o.won for o in outcomes) == wins
    assert [o.reason for o in outcomes if not o.won] == ["win_cap"] * (3 - wins)
