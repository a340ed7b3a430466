"""The parallel run's scheduler (tests/parallel.py): the browser tests are one unit of work,
sent to one worker whole; every other test is a unit of its own."""

from __future__ import annotations

import pytest

from tests.parallel import Together, pytest_xdist_make_scheduler


@pytest.fixture
def two_workers(pytestconfig: pytest.Config, monkeypatch: pytest.MonkeyPatch) -> pytest.Config:
    """The configuration as `-n 2` makes it (a scheduler needs its workers' addresses)."""
    monkeypatch.setattr(pytestconfig.option, "tx", ["popen", "popen"])
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
