"""Properties of the draw and its verifier on random applications (Hypothesis, pure).

The rooms are those of a hall with combined rooms: room 3 = units 1+2, room 5 = units 1+2+3,
rooms 1, 2 and 4 single units. The oracle replays random serial dictatorship from its
definition (RULES.md; draw.py's docstring): the order is SHA-256(seed || id), and an
application wins when none of its (unit, date, period) slots was claimed before the draw or
won by an application earlier in the order, and its group is under the win cap.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import date
from typing import Any

from hypothesis import assume, given
from hypothesis import strategies as st

from booking.lottery.draw import Entry, Outcome, Slot, allocate, commitment, draw, seed
from booking.lottery.drawing import publish
from booking.lottery.verify import verify_document

ROOMS: dict[int, tuple[int, ...]] = {1: (1,), 2: (2,), 3: (1, 2), 4: (3,), 5: (1, 2, 3)}
DAYS = (date(2027, 8, 9), date(2027, 8, 10))
PERIODS = ("10", "20", "30")
RUNS = [PERIODS[i:j] for i in range(3) for j in range(i + 1, 4)]  # consecutive periods


@st.composite
def applications(draw_: st.DrawFn, max_size: int = 14) -> list[Entry]:
    ids = draw_(st.lists(st.integers(1, 10_000), unique=True, max_size=max_size))
    entries = []
    for ident in ids:
        room = draw_(st.sampled_from(sorted(ROOMS)))
        entries.append(
            Entry(
                ident,
                draw_(st.integers(1, 4)),
                room,
                draw_(st.sampled_from(DAYS)),
                draw_(st.sampled_from(RUNS)),
                ROOMS[room],
            )
        )
    return entries


slots = st.sets(
    st.tuples(st.sampled_from((1, 2, 3)), st.sampled_from(DAYS), st.sampled_from(PERIODS)),
    max_size=4,
)
seeds = st.binary(min_size=32, max_size=32)
win_caps = st.none() | st.integers(1, 3)


def oracle(
    entries: list[Entry], draw_seed: bytes, pre_claimed: set[Slot], win_cap: int | None
) -> list[tuple[int, bool, str | None]]:
    """(id, won, reason) in the order of the permutation, from the definition."""
    in_order = sorted(
        entries,
        key=lambda e: (hashlib.sha256(draw_seed + e.id.to_bytes(8, "big")).digest(), e.id),
    )
    won: set[Slot] = set()
    wins: dict[int, int] = {}
    result: list[tuple[int, bool, str | None]] = []
    for entry in in_order:
        mine = {(u, entry.use_date, p) for u in entry.units for p in entry.periods}
        if mine & pre_claimed:
            result.append((entry.id, False, "pre_claimed"))
        elif mine & won:
            result.append((entry.id, False, "taken"))
        elif win_cap is not None and wins.get(entry.group_id, 0) >= win_cap:
            result.append((entry.id, False, "win_cap"))
        else:
            won |= mine
            wins[entry.group_id] = wins.get(entry.group_id, 0) + 1
            result.append((entry.id, True, None))
    return result


def in_position_order(outcomes: list[Outcome]) -> list[Outcome]:
    return sorted(outcomes, key=lambda o: o.position)


@given(applications(), seeds, slots, win_caps)
def test_the_draw_is_random_serial_dictatorship(
    entries: list[Entry], draw_seed: bytes, pre_claimed: set[Slot], win_cap: int | None
) -> None:
    outcomes = allocate(entries, draw_seed, pre_claimed, win_cap)
    # Positions are 1..n, each application exactly once.
    assert sorted(o.position for o in outcomes) == list(range(1, len(entries) + 1))
    assert sorted(o.id for o in outcomes) == sorted(e.id for e in entries)
    assert [(o.id, o.won, o.reason) for o in in_position_order(outcomes)] == oracle(
        entries, draw_seed, pre_claimed, win_cap
    )


@given(applications(), seeds, slots, win_caps)
def test_no_unit_is_allocated_twice_and_every_loser_met_a_taken_slot(
    entries: list[Entry], draw_seed: bytes, pre_claimed: set[Slot], win_cap: int | None
) -> None:
    by_id = {e.id: e for e in entries}
    taken: set[Slot] = set()
    wins: dict[int, int] = {}
    for o in in_position_order(allocate(entries, draw_seed, pre_claimed, win_cap)):
        entry = by_id[o.id]
        # Every unit of a combined room, every period applied for.
        mine = {(u, entry.use_date, p) for u in ROOMS[entry.room_id] for p in entry.periods}
        if o.won:
            assert not mine & taken, "a unit allocated twice"
            assert not mine & pre_claimed, "a slot claimed before the draw allocated"
            assert win_cap is None or wins.get(entry.group_id, 0) < win_cap
            taken |= mine
            wins[entry.group_id] = wins.get(entry.group_id, 0) + 1
        elif o.reason == "pre_claimed":
            assert mine & pre_claimed
        elif o.reason == "taken":
            assert mine & taken, "lost for a slot nobody earlier won"
            assert not mine & pre_claimed
        else:
            assert o.reason == "win_cap"
            assert not mine & (taken | pre_claimed), "lost to the cap with a slot taken"
            assert win_cap is not None
            assert wins.get(entry.group_id, 0) == win_cap


@given(applications(), seeds, st.randoms(use_true_random=False))
def test_the_draw_depends_only_on_the_seed_and_the_applications(
    entries: list[Entry], secret: bytes, shuffler: Any
) -> None:
    first = draw(secret, entries)
    shuffled = list(entries)
    shuffler.shuffle(shuffled)
    assert draw(secret, shuffled) == first  # the same digest, seed and outcomes
    assert first[1] == seed(secret, first[0])


@given(applications(max_size=10), seeds, slots, win_caps)
def test_a_published_draw_verifies(
    entries: list[Entry], secret: bytes, pre_claimed: set[Slot], win_cap: int | None
) -> None:
    assert (
        verify_document(document(entries, secret, pre_claimed, win_cap), commitment(secret)) == []
    )


def document(
    entries: list[Entry], secret: bytes, pre_claimed: set[Slot], win_cap: int | None
) -> dict[str, Any]:
    list_digest, _, outcomes = draw(secret, entries, pre_claimed, win_cap)
    return publish(
        date(2027, 8, 1),
        1,
        secret=secret,
        entries=entries,
        pre_claimed=pre_claimed,
        win_cap=win_cap,
        list_digest=list_digest,
        outcomes=outcomes,
    )


FIELDS = ("id", "group_id", "room_id", "use_date", "periods")


@st.composite
def tampered_application(draw_: st.DrawFn) -> tuple[list[Entry], list[Entry]]:
    """A list of applications and the same list with one application changed, added or
    dropped."""
    entries = draw_(applications(max_size=8).filter(bool))
    index = draw_(st.integers(0, len(entries) - 1))
    entry = entries[index]
    how = draw_(st.sampled_from(("change", "add", "drop")))
    if how == "drop":
        return entries, entries[:index] + entries[index + 1 :]
    if how == "add":
        extra = Entry(
            10_001, entry.group_id, entry.room_id, entry.use_date, entry.periods, entry.units
        )
        return entries, [*entries, extra]
    field = draw_(st.sampled_from(FIELDS))
    values: dict[str, Any] = {
        "id": 10_001,
        "group_id": entry.group_id + 1,
        "room_id": entry.room_id % 5 + 1,
        "use_date": DAYS[1] if entry.use_date == DAYS[0] else DAYS[0],
        "periods": draw_(st.sampled_from([r for r in RUNS if r != entry.periods])),
    }
    changed_entry = replace(entry, **{field: values[field]})
    if field == "room_id":
        changed_entry = replace(changed_entry, units=ROOMS[changed_entry.room_id])
    changed = list(entries)
    changed[index] = changed_entry
    return entries, changed


@given(tampered_application(), seeds, slots, win_caps)
def test_any_change_to_the_published_applications_is_detected(
    lists: tuple[list[Entry], list[Entry]],
    secret: bytes,
    pre_claimed: set[Slot],
    win_cap: int | None,
) -> None:
    original, changed = lists
    doc = document(original, secret, pre_claimed, win_cap)
    doc["applications"] = [e.canonical() for e in sorted(changed, key=lambda e: e.id)]
    assert "the applications do not match the published digest" in verify_document(
        doc, commitment(secret)
    )


@given(applications(max_size=8).filter(bool), seeds, seeds, st.data())
def test_any_change_to_the_secret_or_a_result_is_detected(
    entries: list[Entry], secret: bytes, other: bytes, data: st.DataObject
) -> None:
    doc = document(entries, secret, set(), None)
    what = data.draw(st.sampled_from(("secret", "won", "position", "reason", "id")))
    if what == "secret":
        assume(other != secret)
        doc["secret"] = other.hex()
        assert "the secret does not match the published commitment" in verify_document(
            doc, commitment(secret)
        )
        return
    result = data.draw(st.sampled_from(doc["results"]))
    result[what] = {
        "won": not result["won"],
        "position": result["position"] + len(entries),
        "reason": "win_cap" if result["reason"] is None else None,
        "id": 10_001,
    }[what]
    assert verify_document(doc, commitment(secret)) == [
        "replaying the draw does not give the published results"
    ]
