"""Parallel runs: `bash tests/run` spreads the tests over one worker per core (pytest-xdist).

Each worker is a process of its own, so the fixtures already give it its own databases
(PostgreSQL: RUN_ID holds the worker's process id; SQLite: its own temporary directory), its
own ports (free_port) and, for the browser tests, its own site and Chromium.

Tests that must share one worker are named here by path: the scheduler then sends each group
to one worker whole, in the order written, as a serial run has them. xdist's own
`xdist_group` mark cannot be relied on for that: with pytest 9.2 the group no longer reaches
the scheduler (pytest-xdist issue 1386: it rode on the test's id, which pytest 9.2 no longer
lets a plugin rewrite) and the group's tests are spread silently. The marks of
`--dist loadgroup` still count where they do reach it.

Tests that measure how long something takes against a fixed budget (SQLite's busy timeout
under 200 requests at once, a login flood) run alone: while one runs, no other worker runs a
test, so a parallel run starves them no more than a serial one does. Only the test itself
runs alone: its setup and teardown (a committed database copied and filled with people,
then dropped: two thirds of these tests' time) overlap the other workers' tests. They are
one group, on one worker, so two of them never wait for each other's lock.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from xdist.scheduler import LoadGroupScheduling

# Tests that run alone (path prefixes, as in a test's id).
ALONE = (
    "tests/reservations/test_concurrency.py",  # 200 bookings at once within SQLite's timeout
    "tests/accounts/test_login_races.py",  # a login flood, answers within 4 s
)
# path prefix -> group
TOGETHER = {
    # One site (its database, its clock, its login counts) and one Chromium for all the
    # journeys, which run one after the other on it.
    "tests/browser/": "browser",
    # One streaming replica of the server (pg_basebackup, seconds to make) for all its tests.
    "tests/test_replica.py": "replica",
    **dict.fromkeys(ALONE, "alone"),
}


def group_of(nodeid: str) -> str | None:
    return next((group for prefix, group in TOGETHER.items() if nodeid.startswith(prefix)), None)


class Together(LoadGroupScheduling):
    """--dist loadgroup, with the groups above: each group is one unit of work (the largest
    are handed out first), every other test a unit of its own."""

    def _split_scope(self, nodeid: str) -> str:
        return group_of(nodeid) or super()._split_scope(nodeid)


@pytest.hookimpl(optionalhook=True)  # xdist's hook: `-p no:xdist` leaves it unknown
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Together | None:
    if config.getoption("dist") not in {"load", "loadgroup"}:
        return None  # another --dist asked for: xdist's own
    return Together(config, log)


def _alone(item: pytest.Item) -> bool:
    return item.nodeid.startswith(ALONE)


class Turns:
    """A lock between the workers of one run (flock on files they share): every test holds it
    shared; a test that runs alone holds it exclusively, and holds the turnstile meanwhile so
    that no other test starts while it waits for those running to end."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(exist_ok=True)
        self._turnstile = os.open(directory / "turnstile", os.O_RDWR | os.O_CREAT)
        self._tests = os.open(directory / "tests", os.O_RDWR | os.O_CREAT)

    def shared(self) -> None:
        fcntl.flock(self._turnstile, fcntl.LOCK_EX)  # waits while a test runs alone
        fcntl.flock(self._turnstile, fcntl.LOCK_UN)
        fcntl.flock(self._tests, fcntl.LOCK_SH)

    def exclusive(self) -> None:
        # Our own shared hold first: waiting for the others while holding it could deadlock.
        fcntl.flock(self._tests, fcntl.LOCK_UN)
        fcntl.flock(self._turnstile, fcntl.LOCK_EX)
        fcntl.flock(self._tests, fcntl.LOCK_EX)  # once the running tests have ended

    def release(self) -> None:
        fcntl.flock(self._tests, fcntl.LOCK_UN)
        fcntl.flock(self._turnstile, fcntl.LOCK_UN)


_turns: list[Turns] = []


def _turns_of(config: pytest.Config) -> Turns | None:
    """The run's lock, in an xdist worker: in the directory the run's workers share (pytest's
    temporary directory of the run, each worker's own inside it)."""
    if not hasattr(config, "workerinput"):
        return None
    if not _turns:
        _turns.append(Turns(Path(config.option.basetemp).parent / "turns"))
    return _turns[0]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[Any]:
    turns = _turns_of(item.config)
    if turns is None:
        return (yield)
    turns.shared()
    try:
        return (yield)
    finally:
        turns.release()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[Any]:
    """A test that runs alone: alone from its first line to its last, not in its fixtures."""
    turns = _turns_of(item.config)
    if turns is None or not _alone(item):
        return (yield)
    turns.exclusive()
    try:
        return (yield)
    finally:
        turns.release()
        turns.shared()  # for its teardown
