"""Every table, imported in one place for Alembic and the tests."""

from booking.inventory.models import (
    ClosureRule,
    Facility,
    FacilityKind,
    InventoryRevision,
    Period,
    PeriodGrid,
    Policy,
    Purpose,
    Room,
    RoomUnit,
    Unit,
    Ward,
)
from booking.reservations.models import Claim, ClaimKind, ClaimMonth

__all__ = [
    "Claim",
    "ClaimKind",
    "ClaimMonth",
    "ClosureRule",
    "Facility",
    "FacilityKind",
    "InventoryRevision",
    "Period",
    "PeriodGrid",
    "Policy",
    "Purpose",
    "Room",
    "RoomUnit",
    "Unit",
    "Ward",
]
