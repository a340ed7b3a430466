"""Every table, imported in one place for Alembic and the tests."""

from booking.accounts.models import (
    ApiToken,
    Group,
    LoginThrottle,
    ManagerFacility,
    Member,
    PasswordToken,
    User,
    WebSession,
)
from booking.audit.models import AuditEvent
from booking.calendars.models import CalendarFeed
from booking.documents.models import DocumentCounter, Permit, Receipt
from booking.inventory.models import (
    ClosureRule,
    Facility,
    FacilityKind,
    InventoryRevision,
    Notice,
    Period,
    PeriodGrid,
    Policy,
    PolicyRevision,
    Purpose,
    Room,
    RoomFeeSchedule,
    RoomUnit,
    Unit,
    Ward,
)
from booking.jobs.models import JobRun
from booking.lottery.models import LotteryApplication, LotteryCycle, LotteryDraw
from booking.notifications.models import OutboxMessage
from booking.reservations.models import (
    Block,
    Booking,
    Claim,
    ClaimChange,
    ClaimKind,
    ClaimMonth,
    IdempotentRequest,
    Series,
)
from booking.statistics.models import StatisticsChange
from booking.waitlist.models import WaitlistEntry, WaitlistOffer

__all__ = [
    "ApiToken",
    "AuditEvent",
    "Block",
    "Booking",
    "CalendarFeed",
    "Claim",
    "ClaimChange",
    "ClaimKind",
    "ClaimMonth",
    "ClosureRule",
    "DocumentCounter",
    "Facility",
    "FacilityKind",
    "Group",
    "IdempotentRequest",
    "InventoryRevision",
    "JobRun",
    "LoginThrottle",
    "LotteryApplication",
    "LotteryCycle",
    "LotteryDraw",
    "ManagerFacility",
    "Member",
    "Notice",
    "OutboxMessage",
    "PasswordToken",
    "Period",
    "PeriodGrid",
    "Permit",
    "Policy",
    "PolicyRevision",
    "Purpose",
    "Receipt",
    "Room",
    "RoomFeeSchedule",
    "RoomUnit",
    "Series",
    "StatisticsChange",
    "Unit",
    "User",
    "WaitlistEntry",
    "WaitlistOffer",
    "Ward",
    "WebSession",
]
