"""Operator commands on accounts: the first administrator, managers (`booking users ...`)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from booking.accounts.models import StaffRole
from booking.accounts.staff import grant_staff_role
from booking.audit.service import SYSTEM
from booking.clock import Clock
from booking.db.engine import create_engine, create_sessionmaker
from booking.errors import InvalidInput
from booking.inventory.models import Facility
from booking.settings import Settings


async def create_staff(
    settings: Settings,
    clock: Clock,
    *,
    email: str,
    name: str,
    role: StaffRole,
    facilities: Sequence[str] = (),
    password: str | None = None,
) -> int:
    """Grant a staff role from the server's shell; returns the user id.

    `facilities` are facility keys or ids. The audit event's actor is the system: whoever runs
    this command has the server already.
    """
    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine).begin() as session:
            facility_ids: list[int] = []
            for ref in facilities:
                column = Facility.id if ref.isdigit() else Facility.key
                value: int | str = int(ref) if ref.isdigit() else ref
                found = await session.scalar(select(Facility.id).where(column == value))
                if found is None:
                    raise InvalidInput(f"no facility {ref!r}", field="facility")
                facility_ids.append(found)
            user = await grant_staff_role(
                session,
                clock,
                settings,
                SYSTEM,
                email=email,
                name=name,
                role=role,
                facility_ids=facility_ids,
                password=password,
            )
            return user.id
    finally:
        await engine.dispose()
