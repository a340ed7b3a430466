"""The parallel run (tests/parallel.py): the browser tests are one unit of work, sent to one
worker whole, every other test a unit of its own; a test that runs alone runs alone."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.parallel import Together, Turns, pytest_xdist_make_scheduler


@pytest.fixture
def two_workers(pytestconfig: pytest.Config, monkeypatch: pytest.MonkeyPatch) -> pytest.Config:
    """The configuration as `-n 2` makes it (a scheduler needs its workers' addresses)."""
    monkeypatch.setattr(pytestconfig.option, "tx", ["popen", "popen"], raising=False)
    monkeypatch.setattr(pytestconfig.option, "dist", "load", raising=False)  # `-p no:xdist`
    return pytestconfig


def test_the_browser_tests_are_one_unit_and_the_others_each_their_own(
    two_workers: pytest.Config,
) -> None:
    scheduler = Together(two_workers)
    nodeids = [
        "tests/browser/test_group_journeys.py::test_register_a_group_then_log_in[visit0]",
        "tests/browser/test_admin_journeys.py::test_a_manager_sees_no_administration[visit1]",
        "tests/test_cli.py::test_every_command_has_help[db]",
        "tests/test_cli.py::test_every_command_has_help[worker]",
    ]
    assert [scheduler._split_scope(nodeid) for nodeid in nodeids] == [
        "browser",
        "browser",
        "tests/test_cli.py::test_every_command_has_help[db]",
        "tests/test_cli.py::test_every_command_has_help[worker]",
    ]
    # A group of xdist's own mark, where it reaches the scheduler, still counts.
    assert scheduler._split_scope("tests/test_cli.py::test_x@serial") == "serial"


@pytest.mark.parametrize(
    ("dist", "ours"), [("load", True), ("loadgroup", True), ("loadfile", False)]
)
def test_the_scheduler_is_ours_unless_another_distribution_is_asked_for(
    two_workers: pytest.Config, monkeypatch: pytest.MonkeyPatch, dist: str, ours: bool
) -> None:
    monkeypatch.setattr(two_workers.option, "dist", dist)
    assert isinstance(pytest_xdist_make_scheduler(two_workers, None), Together) is ours


def test_a_test_that_runs_alone_waits_for_the_running_ones_and_holds_back_new_ones(
    tmp_path: Path,
) -> None:
    """Three workers' locks on one directory: a test runs (shared); the lone test's setup
    runs beside it (shared); its body asks to run alone and waits for the running test; a
    third worker's next test waits until the lone body is done, not for its teardown."""
    running, lone, later = (Turns(tmp_path) for _ in range(3))
    pool = ThreadPoolExecutor(max_workers=2)
    try:
        running.shared()
        lone.shared()  # its fixtures: beside the running test
        alone = pool.submit(lone.exclusive)
        time.sleep(0.3)
        assert not alone.done()  # waits for the running test
        starting = pool.submit(later.shared)
        time.sleep(0.3)
        assert not starting.done()  # does not overtake the lone test
        running.release()
        alone.result(timeout=5)
        time.sleep(0.3)
        assert not starting.done()  # held back while the lone test runs
        lone.release()
        lone.shared()  # its teardown: beside the next test
        starting.result(timeout=5)
    finally:
        for turns in (running, lone, later):
            turns.release()
        pool.shutdown(wait=True)
