"""A request that loses a race for a slot names the slot in its 409, as one refused by the check.

The race, made certain: every read of the claims table answers nothing until the unique
constraint fails (as when the winner's claim is not yet committed at the check), then the
truth. Before, the loser got "the slot was taken at the same moment" and no slot.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import event, false
from sqlalchemy.orm import ORMExecuteState, Session

from booking.reservations.models import Claim
from tests.conftest import Database
from tests.people import World
from tests.places import Hall
from tests.reservations.test_bookings import B, body
from tests.reservations.test_holds_blocks import holds_allowed  # noqa: F401 - a fixture

CLAIMS = Claim.__table__


@contextmanager
def unseen_claims(database: Database) -> Iterator[None]:
    """Reads of the claims table find nothing until a statement fails (the constraint)."""
    armed = {"on": True}

    def hide(state: ORMExecuteState) -> None:
        statement: Any = state.statement
        froms = getattr(statement, "get_final_froms", list)()
        if armed["on"] and state.is_select and CLAIMS in froms:
            state.statement = statement.where(false())

    def disarm(_: Any) -> None:
        armed["on"] = False

    event.listen(Session, "do_orm_execute", hide)
    event.listen(database.engine.sync_engine, "handle_error", disarm)
    try:
        yield
    finally:
        event.remove(Session, "do_orm_execute", hide)
        event.remove(database.engine.sync_engine, "handle_error", disarm)


def _names_the_slot(response: httpx.Response, hall: Hall, day: str, period: str) -> None:
    assert response.status_code == 409, response.text
    room = next(r for r in hall.snapshot.rooms if r.id == hall.room_id)
    problem = response.json()
    text = " ".join([problem["detail"], *(e["reason"] for e in problem.get("errors", []))])
    assert room.name_ja in text, problem
    assert day in text, problem
    assert period in text, problem


async def _booked(world: World, hall: Hall, client: httpx.AsyncClient, **changes: Any) -> Any:
    made = await client.post(B, json=body(world, hall, **changes), headers=world.headers("member"))
    assert made.status_code == 201, made.text
    return made.json()


async def test_a_booking_that_loses_the_race_names_the_slot(
    world: World, hall: Hall, client: httpx.AsyncClient, database: Database
) -> None:
    await _booked(world, hall, client)
    with unseen_claims(database):
        lost = await client.post(
            B,
            json=body(world, hall, group_id=world.group_b, period_codes=["10", "20"]),
            headers=world.headers("other_representative"),
        )
    _names_the_slot(lost, hall, hall.day.isoformat(), "午前")
    assert lost.json()["code"] == "slot_taken"


@pytest.mark.usefixtures("holds_allowed")
async def test_a_hold_that_loses_the_race_names_the_slot(
    world: World, hall: Hall, client: httpx.AsyncClient, database: Database
) -> None:
    await _booked(world, hall, client)
    with unseen_claims(database):
        lost = await client.post(
            "/api/v1/holds", json=body(world, hall, group_id=world.group_b), headers=hall.manager
        )
    _names_the_slot(lost, hall, hall.day.isoformat(), "午前")


async def test_a_block_that_loses_the_race_names_the_slot(
    world: World, hall: Hall, client: httpx.AsyncClient, database: Database
) -> None:
    await _booked(world, hall, client)
    block = {
        "room_id": hall.room_id,
        "start_date": hall.day.isoformat(),
        "end_date": (hall.day + timedelta(days=2)).isoformat(),
        "reason": "maintenance",
    }
    with unseen_claims(database):
        lost = await client.post("/api/v1/blocks", json=block, headers=hall.manager)
    _names_the_slot(lost, hall, hall.day.isoformat(), "午前")
    assert lost.json()["code"] == "slots_taken"


async def test_a_move_that_loses_the_race_names_the_slot(
    world: World, hall: Hall, client: httpx.AsyncClient, database: Database
) -> None:
    later = (hall.day + timedelta(days=7)).isoformat()
    moving = await _booked(world, hall, client)
    await _booked(world, hall, client, use_date=later, period_codes=["30"])
    move = {
        "facility_cause": True,
        "move_to": body(world, hall, use_date=later, period_codes=["30"]),
    }
    with unseen_claims(database):
        lost = await client.post(f"{B}/{moving['id']}/cancel", json=move, headers=hall.manager)
    _names_the_slot(lost, hall, later, "夜間")
