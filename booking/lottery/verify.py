"""Check a published draw file, with nothing but the file (and this module's 60 lines).

    python -m booking.lottery.verify draw.json [--commitment HEX]

Checks that the secret matches the commitment published when applications opened, that the
digest is that of the listed applications, and that replaying the draw gives every published
result bit for bit. Exit status 0 when all hold.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

from booking.lottery.draw import ALGORITHM, Entry, allocate, commitment, digest, seed


def parse_entry(line: str) -> Entry:
    ident, group, room, day, periods, units = line.split("|")
    return Entry(
        int(ident),
        int(group),
        int(room),
        date.fromisoformat(day),
        tuple(periods.split(",")),
        tuple(int(u) for u in units.split(",")),
    )


def verify_document(doc: dict[str, Any], published_commitment: str | None = None) -> list[str]:
    """Every way the document fails to reproduce; empty when it is sound."""
    problems = []
    if doc.get("algorithm") != ALGORITHM:
        return [f"unknown algorithm {doc.get('algorithm')!r}"]
    secret = bytes.fromhex(doc["secret"])
    if published_commitment is not None and commitment(secret) != published_commitment:
        problems.append("the secret does not match the published commitment")
    entries = [parse_entry(line) for line in doc["applications"]]
    list_digest = digest(entries)
    if list_digest != doc["digest"]:
        problems.append("the applications do not match the published digest")
    pre_claimed = []
    for item in doc["pre_claimed"]:
        unit, day, period = item.split("|")
        pre_claimed.append((int(unit), date.fromisoformat(day), period))
    outcomes = allocate(entries, seed(secret, list_digest), pre_claimed, doc["win_cap"])
    replayed = [
        {"id": o.id, "position": o.position, "won": o.won, "reason": o.reason}
        for o in sorted(outcomes, key=lambda o: o.position)
    ]
    if replayed != doc["results"]:
        problems.append("replaying the draw does not give the published results")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Check a published lottery draw file.")
    parser.add_argument("file", type=Path)
    parser.add_argument("--commitment", help="the commitment published before the draw")
    args = parser.parse_args(argv)
    doc = json.loads(args.file.read_text(encoding="utf-8"))
    problems = verify_document(doc, args.commitment)
    for problem in problems:
        print(f"FAIL: {problem}", file=sys.stderr)  # noqa: T201 - a command's output
    if not problems:
        print(f"OK: {len(doc['results'])} results reproduced")  # noqa: T201
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
