"""Confirming an online registration verifies its password with no lock held (issue 14: 3,
a sibling of the login's). A committed database per engine, as tests/accounts/test_login_races."""

from __future__ import annotations

import sqlite3

import msgspec
import pytest

from booking.accounts import passwords, registrations
from booking.db.engine import create_sessionmaker
from booking.pages.web import ANON_CSRF_COOKIE
from booking.settings import Settings
from tests.accounts.registering import confirm_link, token_of
from tests.accounts.test_login_races import PASSWORD, Site, committed, site  # noqa: F401
from tests.people import registration


@pytest.fixture
def verify_probe(site: Site, monkeypatch: pytest.MonkeyPatch) -> list[str]:  # noqa: F811
    """What is held while a registration's password is verified; empty when nothing is."""
    held: list[str] = []
    real = passwords.verify_password

    async def verify(settings: Settings, stored: str | None, password: str) -> bool:
        if checked_out := site.engine.pool.checkedout():  # type: ignore[attr-defined]
            held.append(f"{checked_out} connection(s) checked out")
        if site.engine.dialect.name == "sqlite" and site.engine.url.database:
            other = sqlite3.connect(site.engine.url.database, timeout=0, isolation_level=None)
            try:
                other.execute("BEGIN IMMEDIATE")
                other.execute("ROLLBACK")
            except sqlite3.OperationalError as exc:
                held.append(str(exc))
            finally:
                other.close()
        return await real(settings, stored, password)

    monkeypatch.setattr(registrations, "verify_password", verify)
    return held


async def _link(site: Site, email: str) -> str:  # noqa: F811
    body = msgspec.to_builtins(registration("新しい会", email, password=PASSWORD))
    asked = await site.client.post("/api/v1/groups", json=body)
    assert asked.status_code == 202, asked.text
    async with create_sessionmaker(site.engine)() as session:  # closed before the next request
        return token_of(await confirm_link(session, email))


async def test_a_confirmation_verifies_with_no_lock_held(
    site: Site,  # noqa: F811
    verify_probe: list[str],
) -> None:
    token = await _link(site, "api@example.jp")
    wrong = await site.client.post(
        "/api/v1/groups/confirm", json={"token": token, "password": "not the one chosen"}
    )
    assert wrong.status_code == 400
    confirmed = await site.client.post(
        "/api/v1/groups/confirm", json={"token": token, "password": PASSWORD}
    )
    assert confirmed.status_code == 201, confirmed.text

    token = await _link(site, "page@example.jp")
    page = await site.client.post(
        "/register/confirm",
        data={"token": token, "password": PASSWORD, "csrf_token": "t"},
        headers={"Cookie": f"{ANON_CSRF_COOKIE}=t"},
    )
    assert page.status_code == 303, page.text
    assert len(verify_probe) == 0, verify_probe
