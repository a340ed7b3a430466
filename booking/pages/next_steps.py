"""What a group is told after registering, and before a booking form its registration cannot
use: which documents to bring, to which counters, and what then happens.

The counters are the data's: a facility's own registration (a children's culture centre's, a
senior centre's civic group) is checked only at that facility; a city-wide one by any
facility's staff (access.Principal.staff_for), of which the pages name the civic and branch
halls, where the city's registrations are usually made, each linking its page (address,
phone, opening hours). No address is written here that the data does not hold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from booking.accounts import desk
from booking.accounts.rules import fiscal_year_end, renewal_opens
from booking.accounts.standing import Standing
from booking.inventory.network import FacilityInfo, NetworkSnapshot
from booking.pages.i18n import N_

CITY_WIDE_COUNTER_KINDS = ("civic_hall", "branch_hall")
# The papers a counter checks (desk.documents_to_check), as the desk and the group read them.
DOCUMENTS = {
    desk.IDENTITY: N_("The representative's identity document"),
    desk.ROSTER: N_("The member list"),
    desk.IN_CITY: N_("Proof of living, working or studying in the city (in-city members)"),
    desk.GUARDIAN_CONSENT: N_("A guardian's consent (representative under 18)"),
    desk.EXEMPTION: N_("The ground of the fee exemption"),
    desk.CIVIC_ACTIVITY: N_("That it is a civic-activity group of 10 or more"),
    desk.CENTRE_FORM: N_("The children's culture centre's registration form"),
}
# After registering online nothing is known of the roster yet: what any registration brings,
# then what only some do (each label says when it applies).
ALWAYS = (desk.IDENTITY,)
SOMETIMES = (
    desk.ROSTER,
    desk.IN_CITY,
    desk.GUARDIAN_CONSENT,
    desk.EXEMPTION,
    desk.CIVIC_ACTIVITY,
    desk.CENTRE_FORM,
)


@dataclass(frozen=True, slots=True)
class NextSteps:
    documents: tuple[str, ...]  # DOCUMENTS labels (msgids)
    maybe: tuple[str, ...]  # documents only some registrations need (labels say which)
    own_facility: FacilityInfo | None  # a facility's own registration: its counter only
    counters: tuple[FacilityInfo, ...]  # a city-wide registration: any of these (and others)
    valid_until: date  # the validity a card issued now would have
    renews_from: date  # and the day a counter starts renewing it


def counters(network: NetworkSnapshot, today: date) -> tuple[FacilityInfo, ...]:
    """The civic and branch halls open today, in the data's order (by id)."""
    return tuple(
        f
        for f in sorted(network.facilities.values(), key=lambda f: f.id)
        if f.kind in CITY_WIDE_COUNTER_KINDS
        and (f.opens_on is None or f.opens_on <= today)
        and (f.closes_on is None or f.closes_on >= today)
    )


def for_registration(standing: Standing, network: NetworkSnapshot, today: date) -> NextSteps:
    """A pending registration's own list and counters."""
    own = network.facilities.get(standing.facility_id) if standing.facility_id else None
    return NextSteps(
        documents=tuple(DOCUMENTS[d] for d in standing.documents),
        maybe=(),
        own_facility=own,
        counters=() if own else counters(network, today),
        valid_until=standing.would_be_valid_until,
        renews_from=renewal_opens(standing.would_be_valid_until),
    )


def for_anyone(network: NetworkSnapshot, today: date) -> NextSteps:
    """Just registered online, not logged in yet: the documents every registration brings and
    those some do."""
    valid_until = fiscal_year_end(today)
    return NextSteps(
        documents=tuple(DOCUMENTS[d] for d in ALWAYS),
        maybe=tuple(DOCUMENTS[d] for d in SOMETIMES),
        own_facility=None,
        counters=counters(network, today),
        valid_until=valid_until,
        renews_from=renewal_opens(valid_until),
    )


def blocked(standings: Sequence[Standing]) -> list[Standing]:
    """The registrations that may not book today, each with what to do."""
    return [s for s in standings if not s.may_book]
