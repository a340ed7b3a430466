"""The draw: random serial dictatorship over a verifiable permutation (pure, no database).

Algorithm "rsd-sha256-v1", reproducible in any language from the published draw file:

1. commitment = SHA-256(secret), published when the application window opens.
2. digest = SHA-256 of the canonical application list: one line per application, sorted by id,
   `id|group_id|room_id|use_date|periods|units`, periods and units joined by commas, lines
   joined by "\\n" (UTF-8).
3. seed = SHA-256(secret || digest), both as raw bytes: fixed only once applications closed.
4. The order: applications sorted by SHA-256(seed || id as 8 big-endian bytes), then by id.
   With SHA-256 as a random oracle this is a uniform random permutation.
5. In that order an application wins when every (unit, date, period) it needs is still free
   (not claimed before the draw, not won by an earlier application) and its group is under the
   win cap, if any; otherwise it loses, with the reason.

Every applicant for a contested slot is equally likely to come first, hence to win.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

ALGORITHM = "rsd-sha256-v1"

Slot = tuple[int, date, str]  # (unit, date, period)


@dataclass(frozen=True, slots=True)
class Entry:
    """An application as the draw sees it."""

    id: int
    group_id: int
    room_id: int
    use_date: date
    periods: tuple[str, ...]
    units: tuple[int, ...]

    def canonical(self) -> str:
        return (
            f"{self.id}|{self.group_id}|{self.room_id}|{self.use_date.isoformat()}|"
            f"{','.join(self.periods)}|{','.join(map(str, sorted(self.units)))}"
        )

    def slots(self) -> list[Slot]:
        return [(unit, self.use_date, period) for unit in self.units for period in self.periods]


@dataclass(frozen=True, slots=True)
class Outcome:
    id: int
    position: int  # 1-based place in the permutation
    won: bool
    reason: str | None  # why it lost: taken, pre_claimed, win_cap


def commitment(secret: bytes) -> str:
    return hashlib.sha256(secret).hexdigest()


def canonical_lines(entries: Iterable[Entry]) -> list[str]:
    """The canonical application list (step 2), one line per application sorted by id."""
    return [e.canonical() for e in sorted(entries, key=lambda e: e.id)]


def digest_of_lines(lines: Iterable[str]) -> str:
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def digest(entries: Iterable[Entry]) -> str:
    return digest_of_lines(canonical_lines(entries))


def seed(secret: bytes, list_digest: str) -> bytes:
    return hashlib.sha256(secret + bytes.fromhex(list_digest)).digest()


def order(entries: Sequence[Entry], draw_seed: bytes) -> list[Entry]:
    seeded = hashlib.sha256(draw_seed)  # copied per entry: cheaper than hashing the seed again

    def key(entry: Entry) -> tuple[bytes, int]:
        hashed = seeded.copy()
        hashed.update(entry.id.to_bytes(8, "big"))
        return hashed.digest(), entry.id

    return sorted(entries, key=key)


def allocate(
    entries: Sequence[Entry],
    draw_seed: bytes,
    pre_claimed: Iterable[Slot] = (),
    win_cap: int | None = None,
) -> list[Outcome]:
    """Random serial dictatorship: in the permutation's order, each takes its slots if free."""
    taken = set(pre_claimed)
    claimed_before = set(taken)
    wins: dict[int, int] = {}
    outcomes = []
    for position, entry in enumerate(order(entries, draw_seed), start=1):
        slots = entry.slots()
        reason = None
        if not claimed_before.isdisjoint(slots):
            reason = "pre_claimed"
        elif not taken.isdisjoint(slots):
            reason = "taken"
        elif win_cap is not None and wins.get(entry.group_id, 0) >= win_cap:
            reason = "win_cap"
        if reason is None:
            taken.update(slots)
            wins[entry.group_id] = wins.get(entry.group_id, 0) + 1
        outcomes.append(Outcome(entry.id, position, reason is None, reason))
    return outcomes


def draw(
    secret: bytes,
    entries: Sequence[Entry],
    pre_claimed: Iterable[Slot] = (),
    win_cap: int | None = None,
) -> tuple[str, bytes, list[Outcome]]:
    """(digest, seed, outcomes) of a draw."""
    list_digest = digest(entries)
    draw_seed = seed(secret, list_digest)
    return list_digest, draw_seed, allocate(entries, draw_seed, pre_claimed, win_cap)
