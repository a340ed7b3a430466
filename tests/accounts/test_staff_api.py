"""The administrators API and a suspension's reason, on both engines (the pages over the same
services: tests/pages/test_admin_pages.py)."""

from __future__ import annotations

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.models import StaffRole, User
from booking.audit.models import AuditEvent
from tests.pages.browsing import changes, footprint
from tests.people import World


async def _after(session: AsyncSession, action: str, target_id: int) -> list[object]:
    await session.rollback()
    stmt = (
        select(AuditEvent.after)
        .where(AuditEvent.action == action, AuditEvent.target_id == str(target_id))
        .order_by(AuditEvent.id)
    )
    found = list((await session.scalars(stmt)).all())
    await session.rollback()
    return found


async def _role(session: AsyncSession, user_id: int) -> StaffRole | None:
    await session.rollback()
    role = await session.scalar(select(User.staff_role).where(User.id == user_id))
    await session.rollback()
    return role


async def test_a_suspensions_reason_is_kept_in_its_audit_event(
    world: World, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    member, rep = world.user_ids["member"], world.user_ids["representative"]
    admin = world.headers("admin")
    given = await client.post(
        f"/api/v1/users/{member}/suspend", json={"reason": "予約の転売"}, headers=admin
    )
    assert given.status_code == 200, given.text
    assert await _after(session, "user.suspended", member) == [
        {"status": "suspended", "reason": "予約の転売"}
    ]
    # Without a body, as before: suspended, no reason.
    bare = await client.post(f"/api/v1/users/{rep}/suspend", headers=admin)
    assert bare.status_code == 200, bare.text
    assert await _after(session, "user.suspended", rep) == [{"status": "suspended"}]
    before = await footprint(session)
    refused = await client.post(
        f"/api/v1/users/{world.user_ids['other_representative']}/suspend",
        json={"reason": "一行目\n二行目"},
        headers=admin,
    )
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["field"] == "reason"
    assert changes(before, await footprint(session)) == {}


async def test_an_administrator_is_made_and_unmade_but_never_oneself(
    world: World, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    admin = world.headers("admin")
    made = await client.post(
        "/api/v1/administrators",
        json={"email": "member-a@example.jp", "name": "無視される名前"},
        headers=admin,
    )
    assert made.status_code == 201, made.text
    member = world.user_ids["member"]
    assert made.json()["id"] == member
    assert made.json()["staff_role"] == "admin"
    listed = await client.get("/api/v1/administrators", headers=admin)
    assert {u["id"] for u in listed.json()} == {member, world.user_ids["admin"]}

    unmade = await client.delete(f"/api/v1/administrators/{member}", headers=admin)
    assert unmade.status_code == 204, unmade.text
    assert await _role(session, member) is None
    assert await _after(session, "user.role_changed", member) == [
        {"staff_role": "admin", "facility_ids": []},
        {"staff_role": None, "facility_ids": []},
    ]

    before = await footprint(session)
    own = await client.delete(f"/api/v1/administrators/{world.user_ids['admin']}", headers=admin)
    assert own.status_code == 409
    assert own.json()["code"] == "self_revocation"
    manager = await client.delete(
        f"/api/v1/administrators/{world.user_ids['manager_here']}", headers=admin
    )
    assert manager.status_code == 404
    assert manager.json()["code"] == "admin_not_found"
    nameless = await client.post(
        "/api/v1/administrators", json={"email": "nobody@example.jp", "name": ""}, headers=admin
    )
    assert nameless.status_code == 400
    assert nameless.json()["errors"][0]["field"] == "name"
    assert changes(before, await footprint(session)) == {}
    assert await _role(session, world.user_ids["admin"]) is StaffRole.ADMIN
