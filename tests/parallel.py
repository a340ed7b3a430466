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
"""

from __future__ import annotations

from typing import Any

import pytest
from xdist.scheduler import LoadGroupScheduling

# path prefix (as in a test's id) -> group
TOGETHER = {
    # One site (its database, its clock, its login counts) and one Chromium for all the
    # journeys, which run one after the other on it.
    "tests/browser/": "browser",
}


def group_of(nodeid: str) -> str | None:
    return next((group for prefix, group in TOGETHER.items() if nodeid.startswith(prefix)), None)


class Together(LoadGroupScheduling):
    """--dist loadgroup, with the groups above: each group is one unit of work (the largest
    are handed out first), every other test a unit of its own."""

    def _split_scope(self, nodeid: str) -> str:
        return group_of(nodeid) or super()._split_scope(nodeid)


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Together | None:
    if config.getoption("dist") not in {"load", "loadgroup"}:
        return None  # another --dist asked for: xdist's own
    return Together(config, log)
