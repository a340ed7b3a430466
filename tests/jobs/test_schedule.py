"""The schedule table (booking/jobs/schedule.py) says what runs when, and the arrows run one
way: the jobs import the domains, and notifications/ no longer imports what it schedules."""

from __future__ import annotations

import ast
from datetime import timedelta
from pathlib import Path

from booking.jobs.schedule import EACH_PASS, JOBS, MAIL
from booking.jobs.status import duration

BOOKING = Path(__file__).resolve().parents[2] / "booking"


def test_the_table_lists_every_duty_once_in_the_order_a_pass_runs_them() -> None:
    assert [(job.name, job.every) for job in JOBS] == [
        ("expire_holds", EACH_PASS),
        ("waitlist_offers", EACH_PASS),
        ("remind_holds", EACH_PASS),
        ("lottery", EACH_PASS),
        ("remind_use_dates", timedelta(minutes=5)),
        ("remind_renewals", timedelta(minutes=5)),
        ("purge_sessions", timedelta(hours=1)),
        ("purge_registrations", timedelta(hours=1)),
        ("prune_statistics", timedelta(hours=1)),
        ("fold_claim_changes", EACH_PASS),
        ("deliver_mail", EACH_PASS),
    ]
    assert JOBS[-1].name == MAIL  # last: what the pass wrote goes out in the same pass
    assert all(job.does and len(job.does) <= 80 for job in JOBS)  # one line each


def test_each_job_says_when_it_runs() -> None:
    when = {job.name: job.when for job in JOBS}
    assert when["expire_holds"] == "each pass"
    assert when["remind_use_dates"] == "every 5 min, from 09:00 local"
    assert when["remind_renewals"] == "every 5 min"
    assert when["purge_sessions"] == "every 1 h"
    assert when["prune_statistics"] == "every 1 h, acts 03:00-03:59 local"


def test_durations_read_as_a_person_says_them() -> None:
    assert [duration(s) for s in (0, 59.9, 60, 595, 3600, 3900, 86400 + 7200)] == [
        "0 s",
        "59 s",
        "1 min",
        "9 min",
        "1 h 0 min",
        "1 h 5 min",
        "1 d 2 h",
    ]


def imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_notifications_import_none_of_the_duties_they_used_to_schedule() -> None:
    scheduled = ("booking.lottery", "booking.waitlist", "booking.accounts", "booking.jobs")
    for path in (BOOKING / "notifications").glob("*.py"):
        names = imports(path)
        assert not [n for n in names if n.startswith(scheduled)], path
        # A booking mail describes a booking (its model), it does not run the bookings.
        reservations = [n for n in names if n.startswith("booking.reservations.")]
        assert reservations in ([], ["booking.reservations.models"]), path


DOMAINS = ("accounts", "audit", "calendars", "db", "documents", "inventory", "lottery")
DOMAINS += ("notifications", "reservations", "statistics", "waitlist")


def test_no_domain_imports_the_jobs() -> None:
    """The jobs compose the domains; only the edges (the command, /metrics) read the jobs."""
    for domain in DOMAINS:
        for path in (BOOKING / domain).rglob("*.py"):
            assert not [n for n in imports(path) if n.startswith("booking.jobs")], path
