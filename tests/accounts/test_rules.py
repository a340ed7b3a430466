"""The pure rules of who may register (RULES.md "Who may book")."""

from __future__ import annotations

from datetime import date

import pytest

from booking.accounts.models import GroupCategory, GroupKind, Residency
from booking.accounts.rules import (
    RosterEntry,
    age_on,
    birth_date_problem,
    fiscal_year_end,
    in_compulsory_school,
    is_in_city,
    may_represent,
    password_problem,
    registration_problems,
    renewal_opens,
    renewed_until,
)

TODAY = date(2026, 11, 25)


@pytest.mark.parametrize(
    ("born", "day", "age"),
    [
        (date(2000, 11, 25), TODAY, 26),
        (date(2000, 11, 26), TODAY, 25),
        (date(2008, 2, 29), date(2026, 2, 28), 17),
        (date(2008, 2, 29), date(2026, 3, 1), 18),
    ],
)
def test_age_counts_completed_years(born: date, day: date, age: int) -> None:
    assert age_on(born, day) == age


def test_a_fifteen_year_old_in_the_third_year_of_junior_high_may_not_represent() -> None:
    born = date(2011, 5, 1)  # 15 since May 2026; junior high until March 2027
    assert age_on(born, TODAY) == 15
    assert in_compulsory_school(born, TODAY)
    assert not may_represent(born, TODAY)
    assert may_represent(born, date(2027, 4, 1))  # high school from April


def test_born_before_2_april_is_a_school_year_ahead() -> None:
    # 1 April belongs to the earlier school year: in high school by 15.
    assert may_represent(date(2011, 4, 1), TODAY)
    assert not may_represent(date(2011, 4, 2), TODAY)


def test_in_city_needs_at_least_half_residents() -> None:
    def roster(residents: int, others: int) -> list[RosterEntry]:
        inside = [RosterEntry(date(1980, 1, 1), Residency.WORKS)] * residents
        return inside + [RosterEntry(date(1980, 1, 1), Residency.NONE)] * others

    assert is_in_city(roster(3, 3))
    assert not is_in_city(roster(2, 3))
    assert not is_in_city([])


def _problems(
    born: date,
    size: int,
    *,
    kind: GroupKind = GroupKind.GROUP,
    category: GroupCategory = GroupCategory.GENERAL,
    consent: bool = False,
) -> list[str]:
    rep = RosterEntry(born, Residency.LIVES)
    return [f for f, _ in registration_problems(kind, category, rep, size, consent, TODAY)]


def test_registration_rules() -> None:
    adult = date(1980, 1, 1)
    assert _problems(adult, 5) == []
    assert _problems(adult, 4) == ["members"]
    assert _problems(adult, 9, category=GroupCategory.SENIOR_CIVIC) == ["members"]
    assert _problems(adult, 10, category=GroupCategory.SENIOR_CIVIC) == []
    assert _problems(date(2011, 5, 1), 5) == ["representative.birth_date"]
    minor = date(2010, 6, 1)  # 16, in high school
    assert _problems(minor, 5) == ["guardian_consent"]
    assert _problems(minor, 5, consent=True) == []
    assert _problems(adult, 1, kind=GroupKind.INDIVIDUAL) == []
    assert _problems(adult, 2, kind=GroupKind.INDIVIDUAL) == ["members"]


def test_impossible_birth_dates() -> None:
    assert birth_date_problem(date(2026, 11, 26), TODAY) is not None
    assert birth_date_problem(date(1900, 1, 1), TODAY) is not None
    assert birth_date_problem(date(1930, 1, 1), TODAY) is None


def test_validity_runs_to_the_fiscal_year_end_and_renews_a_year_on() -> None:
    assert fiscal_year_end(TODAY) == date(2027, 3, 31)
    assert fiscal_year_end(date(2027, 3, 31)) == date(2027, 3, 31)
    assert fiscal_year_end(date(2027, 4, 1)) == date(2028, 3, 31)
    # 1 December: before the April lottery's applications open on 17 December.
    assert renewal_opens(date(2027, 3, 31)) == date(2026, 12, 1)
    assert renewal_opens(date(2028, 3, 31)) == date(2027, 12, 1)
    assert renewal_opens(date(2027, 7, 31)) == date(2027, 4, 1)  # another validity, same rule
    assert renewed_until(date(2027, 3, 31), date(2026, 12, 1)) == date(2028, 3, 31)
    # Lapsed: renewed to the end of the current fiscal year, not a year past it.
    assert renewed_until(date(2026, 3, 31), TODAY) == date(2027, 3, 31)


def test_password_rules() -> None:
    assert password_problem("short") is not None
    assert password_problem("x" * 129) is not None
    assert password_problem("someone@example.jp", "Someone@example.jp") is not None
    assert password_problem("a perfectly fine phrase") is None
