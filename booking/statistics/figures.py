"""Every figure the statistics show, defined once: its name, its unit and its formula.

The formula is what the dashboard prints beside the figure and the open data's schema
publishes; counts.py computes the counts these words describe and report.py the divisions.
A slot is one period of one day in one room; a closed day has none.
"""

from __future__ import annotations

from booking.pages.i18n import N_
from booking.statistics.tables import Column

# Occupancy
BOOKABLE_SLOTS = Column(
    "bookable_slots",
    N_("Bookable slots"),
    "count",
    N_(
        "the room's periods on the days its facility is open, less the slots a block or a "
        "booking of a room sharing its space takes; counter-only rooms included"
    ),
)
BOOKED_SLOTS = Column(
    "booked_slots",
    N_("Booked slots"),
    "count",
    N_("slots of bookings confirmed, used or not turned up to (no-show)"),
)
OCCUPANCY = Column("occupancy", N_("Occupancy"), "rate", N_("booked slots ÷ bookable slots"))

# Demand
LOTTERY_SLOTS = Column(
    "lottery_slots",
    N_("Slots applied for in the lottery"),
    "count",
    N_("slots with at least one lottery application not withdrawn"),
)
SLOT_APPLICATIONS = Column(
    "slot_applications",
    N_("Lottery applications"),
    "count",
    N_("applicants summed over those slots (an application for two periods counts in each)"),
)
APPLICATIONS_PER_SLOT = Column(
    "applications_per_slot",
    N_("Applications per slot"),
    "ratio",
    N_("lottery applications ÷ slots applied for"),
)
CONTESTED_SLOTS = Column(
    "contested_slots",
    N_("Slots with more than one applicant"),
    "count",
    N_("slots applied for by two or more groups"),
)
WINNING = Column("winning", N_("Applications drawn"), "count", N_("applications that won the draw"))
WIN_RATE = Column(
    "win_rate", N_("Win rate"), "rate", N_("applications drawn ÷ lottery applications")
)
TURNED_AWAY = Column(
    "turned_away",
    N_("Turned away by the lottery"),
    "count",
    N_("lottery applications − applications drawn"),
)
WAITLIST_JOINS = Column(
    "waitlist_joins",
    N_("Wait-list joins"),
    "count",
    N_("slots groups asked to wait for (an entry for two periods counts in each)"),
)
FIRST_HOUR_SLOTS = Column(
    "first_hour_slots",
    N_("Booked in the first hour"),
    "count",
    N_("booked slots of bookings made online in the first hour after first-come booking opened"),
)

# Use
BOOKINGS = Column(
    "bookings", N_("Bookings"), "count", N_("bookings confirmed, used or not turned up to")
)
HEADCOUNT = Column(
    "headcount", N_("People"), "count", N_("the headcounts of those bookings, summed")
)
CANCELLED_EARLY = Column(
    "cancelled_early",
    N_("Cancelled in time"),
    "count",
    N_("bookings the group cancelled itself, free of charge, before the deadline"),
)
CANCELLED_LATE = Column(
    "cancelled_late",
    N_("Cancelled late"),
    "count",
    N_("bookings cancelled at the counter after the deadline (the fee is due)"),
)
CANCELLED_BY_FACILITY = Column(
    "cancelled_by_facility",
    N_("Cancelled by the facility"),
    "count",
    N_("bookings the facility cancelled (closure, disaster): free of charge"),
)
NO_SHOWS = Column(
    "no_shows", N_("No-shows"), "count", N_("bookings nobody came to (the fee is due)")
)
FEES_CHARGED = Column(
    "fees_charged",
    N_("Fees charged"),
    "yen",
    N_("the fees of those bookings plus the charges of late cancellations"),
)
FEES_PAID = Column("fees_paid", N_("Fees paid"), "yen", N_("of the fees charged, those paid"))
FEES_WAIVED = Column(
    "fees_waived", N_("Fees waived"), "yen", N_("of the fees charged, those waived")
)
FEES_REFUNDED = Column(
    "fees_refunded", N_("Fees refunded"), "yen", N_("the fees of bookings paid and refunded")
)

OCCUPANCY_FIGURES = (BOOKABLE_SLOTS, BOOKED_SLOTS, OCCUPANCY)
DEMAND_FIGURES = (
    BOOKABLE_SLOTS,
    LOTTERY_SLOTS,
    SLOT_APPLICATIONS,
    APPLICATIONS_PER_SLOT,
    CONTESTED_SLOTS,
    WINNING,
    WIN_RATE,
    TURNED_AWAY,
    WAITLIST_JOINS,
    FIRST_HOUR_SLOTS,
)
USE_FIGURES = (
    BOOKINGS,
    HEADCOUNT,
    CANCELLED_EARLY,
    CANCELLED_LATE,
    CANCELLED_BY_FACILITY,
    NO_SHOWS,
    FEES_CHARGED,
    FEES_PAID,
    FEES_WAIVED,
    FEES_REFUNDED,
)
