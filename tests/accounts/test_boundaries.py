"""Every threshold of the registration rules (accounts/rules.py), on both sides of its edge.

Pure functions, no database: each row is one side of one edge, named in its id. RULES.md "Who
may book": a representative 15 or over and out of junior high, under 18 with a guardian's
consent; groups of 5 or more (civic-activity groups at senior centres 10 or more); in-city when
at least half the members live, work or study in the city; a registration valid to 31 March.
"""

from __future__ import annotations

from datetime import date

import pytest

from booking.accounts.models import GroupCategory, GroupKind, Residency
from booking.accounts.rules import (
    MAX_PLAUSIBLE_AGE,
    PASSWORD_MAX_LENGTH,
    PASSWORD_MIN_LENGTH,
    RosterEntry,
    age_on,
    birth_date_problem,
    fiscal_year,
    fiscal_year_end,
    in_compulsory_school,
    is_in_city,
    may_represent,
    min_members,
    password_problem,
    registration_problems,
    renewal_opens,
    renewed_until,
    school_entry_year,
)

TODAY = date(2026, 11, 25)
ADULT = date(1980, 1, 1)


@pytest.mark.parametrize(
    ("born", "day", "may"),
    [
        # Born 1 April 2011: the school year of those born 2 April 2010 to 1 April 2011. They
        # leave junior high on 31 March 2026 and turn 15 on 1 April 2026: both edges at once.
        pytest.param(date(2011, 4, 1), date(2026, 3, 31), False, id="1-april-born-on-31-march"),
        pytest.param(date(2011, 4, 1), date(2026, 4, 1), True, id="1-april-born-on-1-april"),
        # Born 2 April 2011: 15 from 2 April 2026, but in junior high until 31 March 2027.
        pytest.param(date(2011, 4, 2), date(2026, 4, 2), False, id="15-but-in-ninth-grade"),
        pytest.param(date(2011, 4, 2), date(2027, 3, 31), False, id="last-day-of-ninth-grade"),
        pytest.param(date(2011, 4, 2), date(2027, 4, 1), True, id="first-day-of-high-school"),
    ],
)
def test_a_representative_is_15_and_out_of_junior_high_from_the_first_day(
    born: date, day: date, may: bool
) -> None:
    assert may_represent(born, day) is may


@pytest.mark.parametrize(
    ("born", "entry"),
    [
        pytest.param(date(2011, 4, 1), 2017, id="1-april-joins-the-earlier-year"),
        pytest.param(date(2011, 4, 2), 2018, id="2-april-starts-the-next-year"),
        pytest.param(date(2011, 1, 1), 2017, id="january"),
        pytest.param(date(2011, 12, 31), 2018, id="december"),
    ],
)
def test_school_entry_year_turns_on_2_april(born: date, entry: int) -> None:
    assert school_entry_year(born) == entry


@pytest.mark.parametrize(
    ("day", "year"),
    [
        pytest.param(date(2027, 3, 31), 2026, id="31-march-ends-the-year"),
        pytest.param(date(2027, 4, 1), 2027, id="1-april-starts-the-next"),
        pytest.param(date(2027, 1, 1), 2026, id="1-january-is-mid-year"),
        pytest.param(date(2026, 12, 31), 2026, id="31-december-is-mid-year"),
    ],
)
def test_fiscal_year_starts_on_1_april(day: date, year: int) -> None:
    assert fiscal_year(day) == year


def test_ninth_grade_is_the_last_year_of_compulsory_school() -> None:
    """Entry in April 2017: grade 9 is fiscal 2025; from 1 April 2026 no longer a pupil."""
    born = date(2010, 6, 1)
    assert school_entry_year(born) == 2017
    assert in_compulsory_school(born, date(2026, 3, 31))
    assert not in_compulsory_school(born, date(2026, 4, 1))


@pytest.mark.parametrize(
    ("born", "consent", "problems"),
    [
        # TODAY is 25 November 2026.
        pytest.param(date(2008, 11, 26), False, ["guardian_consent"], id="17-the-day-before-18"),
        pytest.param(date(2008, 11, 26), True, [], id="17-with-consent"),
        pytest.param(date(2008, 11, 25), False, [], id="18-on-the-birthday"),
    ],
)
def test_a_guardian_consent_is_needed_until_the_18th_birthday(
    born: date, consent: bool, problems: list[str]
) -> None:
    rep = RosterEntry(born, Residency.LIVES)
    found = registration_problems(GroupKind.GROUP, GroupCategory.GENERAL, rep, 5, consent, TODAY)
    assert [field for field, _ in found] == problems


def test_a_representative_too_young_is_told_that_rule_not_the_consent_one() -> None:
    """A junior-high representative gets the age rule, not "needs a guardian's consent"."""
    rep = RosterEntry(date(2012, 1, 1), Residency.LIVES)
    found = registration_problems(
        GroupKind.GROUP, GroupCategory.GENERAL, rep, 5, guardian_consent=False, today=TODAY
    )
    assert [field for field, _ in found] == ["representative.birth_date"]


@pytest.mark.parametrize(
    ("kind", "category", "size", "problems"),
    [
        *(
            pytest.param(GroupKind.GROUP, category, size, problems, id=f"{category}-{size}")
            for category in (
                GroupCategory.GENERAL,
                GroupCategory.EXEMPT,
                GroupCategory.COMMERCIAL,
                GroupCategory.CHILDREN_CENTRE,
            )
            for size, problems in ((4, ["members"]), (5, []))
        ),
        pytest.param(GroupKind.GROUP, GroupCategory.SENIOR_CIVIC, 9, ["members"], id="senior-9"),
        pytest.param(GroupKind.GROUP, GroupCategory.SENIOR_CIVIC, 10, [], id="senior-10"),
        pytest.param(GroupKind.INDIVIDUAL, GroupCategory.GENERAL, 1, [], id="individual-alone"),
        pytest.param(
            GroupKind.INDIVIDUAL, GroupCategory.GENERAL, 2, ["members"], id="individual-with-one"
        ),
        pytest.param(GroupKind.INDIVIDUAL, GroupCategory.EXEMPT, 1, [], id="individual-exempt"),
        pytest.param(
            GroupKind.INDIVIDUAL, GroupCategory.COMMERCIAL, 1, [], id="individual-commercial"
        ),
        pytest.param(
            GroupKind.INDIVIDUAL,
            GroupCategory.SENIOR_CIVIC,
            1,
            ["category"],
            id="individual-senior-civic",
        ),
        pytest.param(
            GroupKind.INDIVIDUAL,
            GroupCategory.CHILDREN_CENTRE,
            1,
            ["category"],
            id="individual-children-centre",
        ),
    ],
)
def test_roster_size_the_last_refused_and_the_first_accepted(
    kind: GroupKind, category: GroupCategory, size: int, problems: list[str]
) -> None:
    rep = RosterEntry(ADULT, Residency.LIVES)
    found = registration_problems(kind, category, rep, size, guardian_consent=False, today=TODAY)
    assert [field for field, _ in found] == problems


def test_the_member_rule_names_the_minimum_of_the_category() -> None:
    rep = RosterEntry(ADULT, Residency.LIVES)
    senior = registration_problems(
        GroupKind.GROUP, GroupCategory.SENIOR_CIVIC, rep, 9, guardian_consent=False, today=TODAY
    )
    general = registration_problems(
        GroupKind.GROUP, GroupCategory.GENERAL, rep, 4, guardian_consent=False, today=TODAY
    )
    assert "at least 10 members" in senior[0][1]
    assert "at least 5 members" in general[0][1]
    assert min_members(GroupKind.INDIVIDUAL, GroupCategory.SENIOR_CIVIC) == 1


@pytest.mark.parametrize(
    ("residencies", "in_city"),
    [
        pytest.param([Residency.LIVES], True, id="one-resident"),
        pytest.param([Residency.NONE], False, id="one-outsider"),
        pytest.param([Residency.LIVES, Residency.NONE], True, id="exactly-half-of-2"),
        pytest.param([Residency.WORKS, *[Residency.NONE] * 2], False, id="1-of-3"),
        pytest.param([*[Residency.STUDIES] * 5, *[Residency.NONE] * 5], True, id="5-of-10"),
        pytest.param([*[Residency.STUDIES] * 4, *[Residency.NONE] * 5], False, id="4-of-9"),
        pytest.param([*[Residency.LIVES] * 5, *[Residency.NONE] * 4], True, id="5-of-9"),
        pytest.param(
            [Residency.LIVES, Residency.WORKS, Residency.STUDIES, *[Residency.NONE] * 3],
            True,
            id="lives-works-studies-each-count",
        ),
        pytest.param([], False, id="nobody"),
    ],
)
def test_in_city_from_exactly_half_of_the_members(
    residencies: list[Residency], in_city: bool
) -> None:
    assert is_in_city([RosterEntry(ADULT, r) for r in residencies]) is in_city


@pytest.mark.parametrize(
    ("born", "plausible"),
    [
        pytest.param(TODAY, True, id="born-today"),
        pytest.param(date(2026, 11, 26), False, id="born-tomorrow"),
        pytest.param(date(1906, 11, 25), True, id="120-today"),
        pytest.param(date(1905, 11, 26), True, id="120-until-tomorrow"),
        pytest.param(date(1905, 11, 25), False, id="121-today"),
    ],
)
def test_a_birth_date_from_today_back_to_an_age_of_120(born: date, plausible: bool) -> None:
    assert age_on(date(1905, 11, 26), TODAY) == MAX_PLAUSIBLE_AGE
    assert (birth_date_problem(born, TODAY) is None) is plausible


@pytest.mark.parametrize(
    ("length", "accepted"),
    [
        pytest.param(PASSWORD_MIN_LENGTH - 1, False, id="7"),
        pytest.param(PASSWORD_MIN_LENGTH, True, id="8"),
        pytest.param(PASSWORD_MAX_LENGTH, True, id="128"),
        pytest.param(PASSWORD_MAX_LENGTH + 1, False, id="129"),
    ],
)
def test_password_length_from_8_to_128(length: int, accepted: bool) -> None:
    assert PASSWORD_MIN_LENGTH == 8
    assert PASSWORD_MAX_LENGTH == 128
    assert (password_problem("p" * length) is None) is accepted


@pytest.mark.parametrize(
    ("password", "identifiers", "accepted"),
    [
        pytest.param("Rep@Example.jp", ("rep@example.jp",), False, id="the-address-in-capitals"),
        pytest.param("rep@example.jp", ("Rep@Example.JP",), False, id="the-address-typed-so"),
        pytest.param("12345678", (None, "12345678"), False, id="the-second-identifier"),
        pytest.param("rep@example.jp!", ("rep@example.jp",), True, id="the-address-and-more"),
        pytest.param("rep@example.jp", (None, ""), True, id="no-identifiers-to-match"),
    ],
)
def test_a_password_must_differ_from_the_login_names(
    password: str, identifiers: tuple[str | None, ...], accepted: bool
) -> None:
    assert (password_problem(password, *identifiers) is None) is accepted


@pytest.mark.parametrize(
    ("day", "end"),
    [
        pytest.param(date(2026, 4, 1), date(2027, 3, 31), id="first-day"),
        pytest.param(date(2027, 3, 31), date(2027, 3, 31), id="last-day"),
        pytest.param(date(2027, 4, 1), date(2028, 3, 31), id="next-first-day"),
    ],
)
def test_a_registration_activated_any_day_runs_to_that_fiscal_years_end(
    day: date, end: date
) -> None:
    assert fiscal_year_end(day) == end


@pytest.mark.parametrize(
    ("valid_until", "opens"),
    [
        pytest.param(date(2027, 3, 31), date(2026, 12, 1), id="31-march-from-1-december"),
        pytest.param(date(2027, 1, 31), date(2026, 10, 1), id="across-the-year-end"),
        pytest.param(date(2027, 4, 30), date(2027, 1, 1), id="to-1-january"),
        pytest.param(date(2027, 12, 31), date(2027, 9, 1), id="december"),
    ],
)
def test_renewal_opens_on_the_1st_of_the_fourth_month_counting_the_last(
    valid_until: date, opens: date
) -> None:
    assert renewal_opens(valid_until) == opens


@pytest.mark.parametrize(
    ("valid_until", "today", "renewed"),
    [
        pytest.param(date(2027, 3, 31), date(2026, 12, 1), date(2028, 3, 31), id="on-opening"),
        pytest.param(date(2027, 3, 31), date(2027, 3, 31), date(2028, 3, 31), id="last-valid-day"),
        # Lapsed the day before: to the end of the current fiscal year, counted from today.
        pytest.param(date(2027, 3, 31), date(2027, 4, 1), date(2028, 3, 31), id="lapsed-a-day"),
        pytest.param(date(2026, 3, 31), date(2026, 11, 25), date(2027, 3, 31), id="lapsed-long"),
        pytest.param(None, date(2026, 11, 25), date(2027, 3, 31), id="never-valid"),
    ],
)
def test_renewal_runs_a_year_on_and_a_lapsed_one_from_today(
    valid_until: date | None, today: date, renewed: date
) -> None:
    assert renewed_until(valid_until, today) == renewed


def test_a_renewal_starts_the_day_after_the_validity() -> None:
    """valid_until == today is still valid: renewed to the next year, not to today's year
    (which would renew to the same 31 March and leave the group expiring tomorrow)."""
    assert renewed_until(date(2027, 3, 31), date(2027, 3, 31)) != date(2027, 3, 31)
    # A registration valid past the fiscal year end (another validity) renews from its end.
    assert renewed_until(date(2027, 7, 31), date(2027, 4, 1)) == date(2028, 3, 31)
    # The renewal starts the day after the validity: one corrected at the counter to end on 30
    # March renews to the 31 March right after it (the fiscal year of 31 March), not a year on.
    assert renewed_until(date(2027, 3, 30), date(2027, 1, 5)) == date(2027, 3, 31)


def test_each_problem_says_why_in_words_a_registrant_reads() -> None:
    """The reasons shown beside the fields of the registration form and the API's errors."""
    adult = RosterEntry(ADULT, Residency.LIVES)

    def reasons(
        kind: GroupKind, category: GroupCategory, rep: RosterEntry, size: int
    ) -> list[tuple[str, str]]:
        return registration_problems(kind, category, rep, size, guardian_consent=False, today=TODAY)

    assert reasons(
        GroupKind.GROUP, GroupCategory.GENERAL, RosterEntry(date(2012, 1, 1), Residency.LIVES), 5
    ) == [
        (
            "representative.birth_date",
            "the representative must be 15 or over and no longer a junior-high pupil",
        )
    ]
    assert reasons(
        GroupKind.GROUP, GroupCategory.GENERAL, RosterEntry(date(2009, 1, 1), Residency.LIVES), 5
    ) == [("guardian_consent", "a representative under 18 needs a guardian's consent")]
    assert reasons(GroupKind.INDIVIDUAL, GroupCategory.SENIOR_CIVIC, adult, 2) == [
        ("members", "an individual registration has no other members"),
        ("category", "senior_civic is for groups only"),
    ]
    assert reasons(GroupKind.GROUP, GroupCategory.EXEMPT, adult, 4) == [
        ("members", "a exempt group needs at least 5 members, the representative included")
    ]
    assert birth_date_problem(date(2026, 11, 26), TODAY) == "a birth date cannot be in the future"
    assert birth_date_problem(date(1900, 1, 1), TODAY) == "an age over 120 is not plausible"
    assert password_problem("short") == "at least 8 characters"
    assert password_problem("x" * 129) == "at most 128 characters"
    assert (
        password_problem("rep@example.jp", "rep@example.jp")
        == "must differ from the e-mail address and card number"
    )
