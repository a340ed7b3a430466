"""Mutation testing of the rules and the checks of the services (issue 15), with mutmut 3.

    bash tests/mutation/run [--budget MINUTES] [--jobs N] [--fresh] [GROUP ...]

Each group (GROUPS below) is mutated in a copy of its own under .mutation/<group>/ (two people
or helpers can run two groups at once, and the checkout stays clean); mutmut remembers every
verdict there, so a run that hits its budget resumes where it stopped, and after a change only
the functions or tests that changed are tried again. The tests run on SQLite only: a mutant of a
rule is caught or missed alike on either engine, and PostgreSQL's runs cost twice; the groups in
ENGINES, whose modules have a PostgreSQL path of their own, run there too.

Writes .mutation/<group>/report.md (every survivor with its diff) and .mutation/report.md (the
score of every group and module). Score = caught / (mutants - equivalent - engine-limited),
where caught is killed by a test, caught by mypy, or timed out; mutants not yet tried make the
score "partial".
Equivalent mutants are written down, with the reason, in tests/mutation/equivalent/<group>.toml.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WORK = ROOT / ".mutation"
EQUIVALENT = Path(__file__).resolve().parent / "equivalent"

GROUPS: dict[str, list[str]] = {
    "reservations": [
        "booking/reservations/rules.py",
        "booking/reservations/bookings.py",
        "booking/reservations/holds.py",
        "booking/reservations/claims.py",
        "booking/reservations/availability.py",
        "booking/reservations/changes.py",
    ],
    "lottery": [
        "booking/lottery/applications.py",
        "booking/lottery/draw.py",
        "booking/lottery/drawing.py",
        "booking/lottery/verify.py",
    ],
    "inventory": [
        "booking/inventory/closures.py",
        "booking/inventory/policy.py",
        "booking/inventory/calendar.py",
    ],
    "accounts": [
        "booking/accounts/rules.py",
        "booking/accounts/access.py",
        "booking/accounts/throttle.py",
        "booking/accounts/groups.py",
    ],
    "calendars": [
        "booking/calendars/render.py",
        "booking/calendars/feeds.py",
    ],
    "series": [
        "booking/reservations/series_dates.py",
        "booking/reservations/series.py",
        "booking/reservations/series_cancel.py",
    ],
    "waitlist": [
        "booking/waitlist/lines.py",
        "booking/waitlist/handon.py",
        "booking/waitlist/offers.py",
    ],
    "reminders": [
        "booking/reservations/reminders.py",
        "booking/accounts/renewal_reminders.py",
        "booking/accounts/standing.py",
    ],
    "statistics": [
        "booking/statistics/counts.py",
        "booking/statistics/report.py",
        "booking/statistics/span.py",
        "booking/statistics/versions.py",
        "booking/statistics/open_data.py",
    ],
    # Issue 20's: SQLite's writer queue; what a busy process refuses; the read replica.
    "turns": ["booking/db/sqlite_turns.py"],
    "overload": [
        "booking/web/overload.py",
        "booking/pages/grid_gate.py",
        "booking/web/request_id.py",
    ],
    "replica": ["booking/db/replica.py"],
    # The draw's bulk reads and writes, a booking's INSERT (each engine has its own path), and
    # the hot statements run on asyncpg's connection itself.
    "writes": [
        "booking/lottery/bulk.py",
        "booking/reservations/booking_writes.py",
        "booking/db/direct.py",
    ],
    "jobs": [
        "booking/jobs/schedule.py",
        "booking/jobs/runs.py",
        "booking/jobs/status.py",
        "booking/jobs/worker.py",
    ],
}

# The tests a group's mutants are tried against: its own domain's (mutmut picks, per mutated
# function, those that reach it). A rule is pinned where it lives; a mutant caught only by
# another domain's tests counts as a survivor here. Left out: tests of processes, locks and
# timing (they start servers or race threads and take seconds), as are the pages and browser
# tests (the same services through HTML).
TESTS: dict[str, list[str]] = {
    "reservations": ["tests/reservations", "--ignore=tests/reservations/test_concurrency.py"],
    "lottery": ["tests/lottery"],
    "inventory": ["tests/inventory"],
    "accounts": [
        "tests/accounts",
        "--ignore=tests/accounts/test_two_processes.py",
        "--ignore=tests/accounts/test_login_races.py",
        "--ignore=tests/accounts/test_registration_locks.py",
        "--ignore=tests/accounts/test_unavailable.py",
    ],
    "calendars": ["tests/calendars"],
    "series": [
        "tests/reservations/test_series_dates.py",
        "tests/reservations/test_series.py",
        "tests/reservations/test_series_api.py",
        "tests/reservations/test_series_check.py",
    ],
    "waitlist": ["tests/waitlist", "--ignore=tests/waitlist/test_races.py"],
    # The worker's reminders; where a member's registrations stand (told before /book).
    "reminders": [
        "tests/notifications/test_reminders.py",
        "tests/pages/test_facility_and_register_pages.py",
    ],
    # The figures by hand on a small network, the versions, spans, the prune, the open data.
    "statistics": [
        "tests/statistics",
        "--ignore=tests/statistics/test_charts.py",
        "--ignore=tests/statistics/test_downloads.py",
        "--ignore=tests/statistics/test_warm.py",
    ],
    "turns": ["tests/db/test_sqlite_turns.py"],
    # In-process: tests/processes/test_overload.py's server is a process mutmut does not see.
    "overload": [
        "tests/web/test_overload.py",
        "tests/pages/test_grid_gate.py",
        "tests/web/test_request_id.py",
    ],
    # Without a standby: its two tests that run one take a minute each, per mutant.
    "replica": [
        "tests/db/test_replica_rules.py",
        "tests/test_replica.py::test_lag_is_the_time_since_the_replica_last_held_all_the_primary_had",
        "tests/test_replica.py::test_a_read_url_beside_sqlite_is_ignored",
    ],
    "writes": [
        "tests/lottery/test_bulk.py",
        "tests/reservations/test_booking_writes.py",
        "tests/db/test_direct.py",
    ],
    "jobs": ["tests/jobs"],
}

# The engines a group's tests run on (default SQLite): a module whose PostgreSQL path is its
# own code (asyncpg statements, a streaming replica) is measured where that path runs.
# (replica's tests ask the PostgreSQL server itself, no database of theirs: they run either way.)
ENGINES: dict[str, str] = {"writes": "sqlite,postgresql"}

# What a copy needs besides the package and the tests.
COPIED = ["booking", "tests", "facilities_data", "migrations", "alembic.ini"]

CAUGHT = {"killed", "caught by type check", "timeout", "segfault"}
NOT_TRIED = {"not checked", "check was interrupted by user", "skipped"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("groups", nargs="*", choices=[*GROUPS, []], default=[])
    parser.add_argument("--budget", type=float, default=60, help="minutes for all groups")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--fresh", action="store_true", help="forget earlier verdicts")
    parser.add_argument("--report-only", action="store_true", help="only write the reports")
    parser.add_argument(
        "--worktree", action="store_true", help="mutate the checkout as it is (default: HEAD)"
    )
    parser.add_argument(
        "--only", action="append", default=[], help="mutant names to try (globs), e.g. '*.draw.*'"
    )
    args = parser.parse_args()
    groups = args.groups or list(GROUPS)
    deadline = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=args.budget)
    for group in groups:
        if not args.report_only:
            left = (deadline - dt.datetime.now(dt.UTC)).total_seconds()
            if left <= 0:
                print(f"{group}: out of budget, not run", flush=True)
            else:
                run_group(
                    group,
                    jobs=args.jobs,
                    seconds=left,
                    fresh=args.fresh,
                    worktree=args.worktree,
                    only=args.only,
                )
        write_group_report(group)
    summary = write_summary(list(GROUPS))
    print(summary)
    return 0


def run_group(
    group: str, *, jobs: int, seconds: float, fresh: bool, worktree: bool, only: list[str]
) -> None:
    work = WORK / group
    if fresh and work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as exported:
        source_root = ROOT if worktree else _export_head(Path(exported))
        for name in COPIED:
            source, target = source_root / name, work / name
            if source.is_dir():
                shutil.copytree(
                    source,
                    target,
                    dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__", "_artifacts", ".hypothesis"),
                )
                _remove_deleted(source, target)
            else:
                shutil.copy2(source, target)
    (work / "pyproject.toml").write_text(_pyproject(group), encoding="utf-8")
    engines = ENGINES.get(group, "sqlite")
    env = os.environ | {"BOOKING_TEST_ENGINES": engines, "PYTHONDONTWRITEBYTECODE": "1"}
    deadline = time.monotonic() + seconds
    print(f"{group}: mutmut run ({seconds / 60:.0f} min left, {jobs} jobs)", flush=True)
    # mutmut keeps a verdict until the function changes: a survivor stays one after a new test
    # kills it. So the earlier survivors are tried again first, by name, then the rest.
    passes = [only] if only else [_survivors(group), []]
    for names in passes:
        if names is not None and not _mutmut(
            work, env, ["--max-children", str(jobs), *names], deadline
        ):
            print(f"{group}: budget reached; the next run resumes", flush=True)
            return


def _survivors(group: str) -> list[str] | None:
    """The names of the group's earlier survivors (None when there are none)."""
    names = [
        m.name for m in load_mutants(group) if m.status in {"survived", "suspicious", "no tests"}
    ]
    return names or None


def _mutmut(work: Path, env: dict[str, str], args: list[str], deadline: float) -> bool:
    """Run `mutmut run ARGS` in `work` until it ends (True) or the deadline (False)."""
    # A session of its own: at the budget, mutmut and the workers it forked stop together.
    mutmut = subprocess.Popen(
        [sys.executable, "-m", "mutmut", "run", *args],
        cwd=work,
        env=env,
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        mutmut.wait(timeout=max(deadline - time.monotonic(), 0))
    except subprocess.TimeoutExpired:
        os.killpg(mutmut.pid, signal.SIGTERM)
        try:
            mutmut.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(mutmut.pid, signal.SIGKILL)
            mutmut.wait()
        return False
    return True


def _export_head(into: Path) -> Path:
    """The committed tree: what others may be editing in the checkout is not measured."""
    archive = subprocess.run(
        ["git", "archive", "HEAD", *COPIED], cwd=ROOT, capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def _remove_deleted(source: Path, target: Path) -> None:
    # A test file deleted in the checkout must not live on in the copy.
    for path in target.rglob("*.py"):
        if not (source / path.relative_to(target)).exists():
            path.unlink()


def _pyproject(group: str) -> str:
    project = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    project = re.sub(r"\n\[tool\.mutmut\].*?(?=\n\[|\Z)", "\n", project, flags=re.DOTALL)
    listed = ", ".join(f'"{m}"' for m in GROUPS[group])
    tests = ", ".join(f'"{t}"' for t in TESTS[group])
    # A test run on PostgreSQL makes databases named after its process (tests/conftest.py's
    # RUN_ID, fixed at import): each mutant's run imports the tests anew in a process of its
    # own, or two runs at once would make and drop the same database.
    # It also migrates a database before its first test: the seconds that takes count against
    # mutmut's timeout (15 x (the tests' time + timeout_constant)), or mutants time out unkilled.
    isolation = (
        'process_isolation = "forkserver"\nforkserver_warmup = "none"\ntimeout_constant = 8.0\n'
        if "postgresql" in ENGINES.get(group, "sqlite")
        else ""
    )
    return (
        project
        + f"""
[tool.mutmut]
source_paths = ["booking/"]
only_mutate = [{listed}]
also_copy = ["facilities_data/", "migrations/", "alembic.ini"]
pytest_add_cli_args_test_selection = [{tests}]
pytest_add_cli_args = ["-p", "no:cacheprovider"]
{isolation}# A mutant mypy refuses is caught without running a test.
type_check_command = ["{sys.executable}", "-m", "mypy", "--output", "json",
    "--no-warn-unused-ignores", "--cache-dir", "../.mypy_cache"]
"""
    )


@dataclass
class Mutant:
    name: str
    module: str
    status: str
    diff: str = ""
    reason: str = ""


@dataclass
class Tally:
    counts: Counter[str] = field(default_factory=Counter)

    def add(self, status: str) -> None:
        self.counts[status] += 1
        self.counts["total"] += 1

    @property
    def caught(self) -> int:
        return sum(self.counts[s] for s in CAUGHT)

    @property
    def judged(self) -> int:
        return (
            self.counts["total"]
            - self.counts["equivalent"]
            - self.counts["engine-limited"]
            - self.counts["not checked"]
        )

    def score(self) -> str:
        if not self.judged:
            return "-"
        text = f"{100 * self.caught / self.judged:.1f}%"
        return text + (" (partial)" if self.counts["not checked"] else "")


def load_mutants(group: str) -> list[Mutant]:
    """Every mutant of a group with its verdict, equivalents applied (run inside its copy)."""
    work = WORK / group
    if not (work / "mutants").exists():
        return []
    sys.path.insert(0, str(work))
    cwd = Path.cwd()
    os.chdir(work)
    try:
        from mutmut.mutation.diff_apply import get_diff_for_mutant  # noqa: PLC0415
        from mutmut.stats import status_by_exit_code  # noqa: PLC0415

        equivalent = _equivalents(group)
        mutants = []
        for module in GROUPS[group]:
            meta = Path("mutants") / (module + ".meta")
            if not meta.exists():
                continue
            data = json.loads(meta.read_text(encoding="utf-8"))
            for name, code in sorted(data["exit_code_by_key"].items(), key=_natural):
                status = status_by_exit_code[code]
                mutant = Mutant(name, module, "not checked" if status in NOT_TRIED else status)
                if mutant.status not in CAUGHT and mutant.status != "not checked":
                    mutant.diff = get_diff_for_mutant(name, path=Path(module))
                    known = equivalent.get(name)
                    if known and known["change"].strip() == _change(mutant.diff):
                        mutant.reason = known["reason"]
                        mutant.status = _written_down(mutant.reason)
                    elif known:
                        mutant.reason = "stale equivalent entry: the mutant changed; review it"
                mutants.append(mutant)
        return mutants
    finally:
        os.chdir(cwd)


def _written_down(reason: str) -> str:
    # "Engine-limited": the mutant changes only what SQLite, the engine these runs use, does not
    # render (a row lock, PostgreSQL's own statement); the reason says which test catches it on
    # PostgreSQL, if one does. Counted apart from the equivalents, and out of the score.
    return "engine-limited" if reason.startswith("Engine-limited") else "equivalent"


def _natural(item: tuple[str, object]) -> tuple[str, int]:
    name, number = item[0].rsplit("_", 1)
    return name, int(number)


def _change(diff: str) -> str:
    """The changed lines of a mutant's diff, the key an equivalent entry is checked against."""
    lines = diff.splitlines()[2:]
    return "\n".join(line.rstrip() for line in lines if line[:1] in "+-").strip()


def _equivalents(group: str) -> dict[str, dict[str, str]]:
    path = EQUIVALENT / f"{group}.toml"
    if not path.exists():
        return {}
    entries = tomllib.loads(path.read_text(encoding="utf-8")).get("equivalent", [])
    return {entry["mutant"]: entry for entry in entries}


def write_group_report(group: str) -> None:
    mutants = load_mutants(group)
    if not mutants:
        return
    lines = [f"# Mutation report: {group}", "", _table({group: mutants}, by_module=True), ""]
    for mutant in mutants:
        if mutant.status in CAUGHT or mutant.status == "not checked":
            continue
        lines += [f"## {mutant.name}: {mutant.status}", ""]
        if mutant.reason:
            lines += [f"Reason: {mutant.reason}", ""]
        lines += ["```diff", mutant.diff, "```", ""]
        if mutant.status not in {"equivalent", "engine-limited"}:
            change = _change(mutant.diff).replace('"""', '\\"\\"\\"')
            lines += [
                "To write it down as equivalent (tests/mutation/equivalent/" + group + ".toml):",
                "```toml",
                f'[[equivalent]]\nmutant = "{mutant.name}"\nchange = """\n{change}\n"""',
                'reason = "..."',
                "```",
                "",
            ]
    (WORK / group / "report.md").write_text("\n".join(lines), encoding="utf-8")


def write_summary(groups: list[str]) -> str:
    found = {group: load_mutants(group) for group in groups}
    today = dt.datetime.now(dt.UTC).date().isoformat()
    text = "\n".join(
        [
            f"# Mutation testing, {today}",
            "",
            "`bash tests/mutation/run` (mutmut 3; tests on SQLite); survivors with their diffs in",
            "each group's report.md.",
            "",
            _table(found, by_module=True),
            "",
        ]
    )
    WORK.mkdir(exist_ok=True)
    (WORK / "report.md").write_text(text, encoding="utf-8")
    return text


def _table(found: dict[str, list[Mutant]], *, by_module: bool) -> str:
    head = (
        "| module | mutants | caught | survived | no tests | equivalent | engine-limited"
        " | not tried | score |"
    )
    rows = [head, "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    overall = Tally()
    for group, mutants in found.items():
        per: dict[str, Tally] = {}
        for mutant in mutants:
            per.setdefault(mutant.module, Tally()).add(mutant.status)
            overall.add(mutant.status)
        group_tally = Tally()
        for module, tally in per.items():
            group_tally.counts.update(tally.counts)
            if by_module:
                rows.append(_row(module, tally))
        if mutants:
            rows.append(_row(f"**{group}**", group_tally))
    rows.append(_row("**all**", overall))
    return "\n".join(rows)


def _row(name: str, tally: Tally) -> str:
    c = tally.counts
    return (
        f"| {name} | {c['total']} | {tally.caught} | {c['survived'] + c['suspicious']} | "
        f"{c['no tests']} | {c['equivalent']} | {c['engine-limited']} | {c['not checked']} | "
        f"{tally.score()} |"
    )


if __name__ == "__main__":
    sys.exit(main())
