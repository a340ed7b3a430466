"""Who may register, and for how long: pure rules of RULES.md "Who may book".

Every function here is plain and total; services call them and raise the errors.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from booking.accounts.models import GroupCategory, GroupKind, Residency

MIN_GROUP_MEMBERS = 5  # including the representative
SENIOR_CIVIC_MIN_MEMBERS = 10  # evening and holiday use of senior recreation centres
REPRESENTATIVE_MIN_AGE = 15  # and no longer a junior-high pupil
ADULT_AGE = 18  # Civil Code since 2022: a younger representative needs a guardian's consent
MAX_PLAUSIBLE_AGE = 120
# Renewal opens on the 1st of the fourth month before the registration ends: 1 December for
# one valid to 31 March. A registration books and applies only for dates it is valid on, and
# the next fiscal year's first lottery (April's) takes applications from 17 December: a later
# opening would close the April and May lotteries to every group.
RENEWAL_OPENS_MONTHS_BEFORE = 4
# The group is mailed that its registration is due for renewal from the 1st of the second
# month before it ends: 1 February for one valid to 31 March (issue 18), late enough to be
# news, early enough for a counter visit before the end.
RENEWAL_REMINDER_MONTHS_BEFORE = 2
REPRESENTATIVE_RULE = (
    f"the representative must be {REPRESENTATIVE_MIN_AGE} or over and no longer a junior-high pupil"
)
PASSWORD_MIN_LENGTH = 8  # NIST SP 800-63B: length, no composition rules
PASSWORD_MAX_LENGTH = 128  # bounds the cost of hashing an attacker's input


@dataclass(frozen=True, slots=True)
class RosterEntry:
    birth_date: date
    residency: Residency


def age_on(birth_date: date, day: date) -> int:
    """Completed years; someone born on 29 February ages on 1 March in common years."""
    years = day.year - birth_date.year
    if (day.month, day.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years


def school_entry_year(birth_date: date) -> int:
    """The April in which a child starts elementary school.

    Japanese school years group children born 2 April to 1 April of the next year; a child
    enters first grade in the April after turning six.
    """
    cohort = (
        birth_date.year if (birth_date.month, birth_date.day) >= (4, 2) else birth_date.year - 1
    )
    return cohort + 7


def fiscal_year(day: date) -> int:
    """Japan's fiscal and school year starts on 1 April."""
    return day.year if day.month >= 4 else day.year - 1


def in_compulsory_school(birth_date: date, day: date) -> bool:
    """Still an elementary or junior-high pupil (grades 1 to 9) on `day`, or younger."""
    return fiscal_year(day) - school_entry_year(birth_date) < 9


def may_represent(birth_date: date, day: date) -> bool:
    """A representative is 15 or over and not a junior-high pupil (RULES.md)."""
    return age_on(birth_date, day) >= REPRESENTATIVE_MIN_AGE and not in_compulsory_school(
        birth_date, day
    )


def is_in_city(roster: Sequence[RosterEntry]) -> bool:
    """An in-city group: at least half of the members live, work or study in the city."""
    residents = sum(1 for entry in roster if entry.residency is not Residency.NONE)
    return bool(roster) and 2 * residents >= len(roster)


def min_members(kind: GroupKind, category: GroupCategory) -> int:
    if kind is GroupKind.INDIVIDUAL:
        return 1
    if category is GroupCategory.SENIOR_CIVIC:
        return SENIOR_CIVIC_MIN_MEMBERS
    return MIN_GROUP_MEMBERS


def birth_date_problem(birth_date: date, today: date) -> str | None:
    """A birth date no living member can have: in the future, or over 120 years ago."""
    if birth_date > today:
        return "a birth date cannot be in the future"
    if age_on(birth_date, today) > MAX_PLAUSIBLE_AGE:
        return f"an age over {MAX_PLAUSIBLE_AGE} is not plausible"
    return None


def registration_problems(
    kind: GroupKind,
    category: GroupCategory,
    representative: RosterEntry,
    roster_size: int,
    guardian_consent: bool,
    today: date,
) -> list[tuple[str, str]]:
    """Every reason this registration cannot be accepted, as (field, reason)."""
    problems: list[tuple[str, str]] = []
    if not may_represent(representative.birth_date, today):
        problems.append(("representative.birth_date", REPRESENTATIVE_RULE))
    elif age_on(representative.birth_date, today) < ADULT_AGE and not guardian_consent:
        problems.append(
            ("guardian_consent", "a representative under 18 needs a guardian's consent")
        )
    if kind is GroupKind.INDIVIDUAL:
        if roster_size != 1:
            problems.append(("members", "an individual registration has no other members"))
        if category in (GroupCategory.SENIOR_CIVIC, GroupCategory.CHILDREN_CENTRE):
            problems.append(("category", f"{category.value} is for groups only"))
    elif roster_size < (needed := min_members(kind, category)):
        problems.append(
            (
                "members",
                (
                    f"a {category.value} group needs at least {needed} members, "
                    "the representative included"
                ),
            )
        )
    return problems


def fiscal_year_end(day: date) -> date:
    """31 March that ends the fiscal year containing `day`."""
    return date(fiscal_year(day) + 1, 3, 31)


def renewal_opens(valid_until: date) -> date:
    """1 December for a registration valid to 31 March (RENEWAL_OPENS_MONTHS_BEFORE)."""
    months = valid_until.year * 12 + valid_until.month - RENEWAL_OPENS_MONTHS_BEFORE
    return date(months // 12, months % 12 + 1, 1)


def renewal_reminder_from(valid_until: date) -> date:
    """1 February for a registration valid to 31 March (RENEWAL_REMINDER_MONTHS_BEFORE)."""
    months = valid_until.year * 12 + valid_until.month - RENEWAL_REMINDER_MONTHS_BEFORE
    return date(months // 12, months % 12 + 1, 1)


def renewal_reminder_bound(today: date) -> date:
    """The first day no registration due for its reminder by `today` is valid until: the 1st
    of the second month after today's (renewal_reminder_from(v) <= today iff v < this)."""
    months = today.year * 12 + today.month - 1 + RENEWAL_REMINDER_MONTHS_BEFORE
    return date(months // 12, months % 12 + 1, 1)


def renewed_until(valid_until: date | None, today: date) -> date:
    """A renewal runs to the end of the next fiscal year; a lapsed one to the current one's."""
    if valid_until is None or valid_until < today:
        return fiscal_year_end(today)
    return fiscal_year_end(valid_until + timedelta(days=1))


def password_problem(password: str, *identifiers: str | None) -> str | None:
    if len(password) < PASSWORD_MIN_LENGTH:
        return f"at least {PASSWORD_MIN_LENGTH} characters"
    if len(password) > PASSWORD_MAX_LENGTH:
        return f"at most {PASSWORD_MAX_LENGTH} characters"
    lowered = password.casefold()
    if any(ident and lowered == ident.casefold() for ident in identifiers):
        return "must differ from the e-mail address and card number"
    return None
