"""Login, sessions, CSRF, tokens, throttling and bad input, through HTTP on both databases."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.auth import CSRF_HEADER, SESSION_COOKIE
from booking.accounts.models import Group, User
from booking.audit.models import AuditEvent
from booking.clock import FrozenClock
from booking.notifications.models import OutboxMessage
from tests.accounts.registering import register_online
from tests.people import PASSWORD, World, kind_facilities

LOGIN = "/api/v1/auth/login"


def cookie_of(response: httpx.Response) -> str:
    value = response.headers["set-cookie"].split(";")[0]
    assert value.startswith(f"{SESSION_COOKIE}=")
    return value


async def login(
    client: httpx.AsyncClient, login_name: str, password: str = PASSWORD
) -> dict[str, str]:
    response = await client.post(LOGIN, json={"login": login_name, "password": password})
    assert response.status_code == 200, response.text
    return {"Cookie": cookie_of(response), CSRF_HEADER: response.json()["csrf_token"]}


async def count(session: AsyncSession, model: type) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_login_by_card_or_email_sets_a_safe_cookie(
    world: World, client: httpx.AsyncClient
) -> None:
    by_card = await client.post(LOGIN, json={"login": world.card_a, "password": PASSWORD})
    by_mail = await client.post(LOGIN, json={"login": "REP-A@example.jp", "password": PASSWORD})
    assert by_card.status_code == by_mail.status_code == 200
    assert by_card.json()["id"] == by_mail.json()["id"] == world.user_ids["representative"]
    flags = by_card.headers["set-cookie"].lower()
    for flag in ("httponly", "samesite=lax", "path=/"):
        assert flag in flags
    assert "secure" not in flags  # plain HTTP in the test; over HTTPS it is set (next test)
    assert cookie_of(by_card) != cookie_of(by_mail)  # every login is a new session


async def test_cookie_is_secure_over_https(world: World, client: httpx.AsyncClient) -> None:
    response = await client.post(
        "https://testserver" + LOGIN, json={"login": world.card_a, "password": PASSWORD}
    )
    assert "secure" in response.headers["set-cookie"].lower()


async def test_failures_say_the_same_for_unknown_and_known_accounts(
    world: World, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    wrong = await client.post(LOGIN, json={"login": world.card_a, "password": "wrong password"})
    unknown = await client.post(LOGIN, json={"login": "9999999", "password": "wrong password"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["detail"] == unknown.json()["detail"]
    failures = await session.scalar(select(func.count()).where(AuditEvent.action == "login.failed"))
    assert failures == 2  # the failures are recorded although the requests failed


async def test_throttling_locks_an_account_with_retry_after(
    world: World, client: httpx.AsyncClient, clock: FrozenClock, session: AsyncSession
) -> None:
    limit = world.settings.login_account_failures
    for _ in range(limit):
        response = await client.post(LOGIN, json={"login": world.card_a, "password": "nope"})
        assert response.status_code == 401
    locked = await client.post(LOGIN, json={"login": world.card_a, "password": PASSWORD})
    assert locked.status_code == 429
    assert int(locked.headers["retry-after"]) == world.settings.login_lockout_minutes * 60
    # Another account from the same address is not locked by this one's failures.
    other = await client.post(LOGIN, json={"login": "rep-b@example.jp", "password": PASSWORD})
    assert other.status_code == 200
    assert await session.scalar(select(func.count()).where(AuditEvent.action == "login.locked"))
    clock.advance(timedelta(minutes=world.settings.login_lockout_minutes, seconds=1))
    assert (
        await client.post(LOGIN, json={"login": world.card_a, "password": PASSWORD})
    ).status_code == 200


async def test_unknown_accounts_are_locked_too(world: World, client: httpx.AsyncClient) -> None:
    for _ in range(world.settings.login_account_failures):
        await client.post(LOGIN, json={"login": "ghost@example.jp", "password": "nope"})
    response = await client.post(LOGIN, json={"login": "ghost@example.jp", "password": "nope"})
    assert response.status_code == 429  # a lockout says nothing about existence


async def test_csrf_is_required_and_bound_to_the_session(
    world: World, client: httpx.AsyncClient
) -> None:
    mine = world.headers("representative")
    theirs = world.headers("other_representative")
    path = f"/api/v1/groups/{world.group_a}"
    body = {"phone": "044-111-2222"}
    no_token = await client.patch(path, json=body, headers={"Cookie": mine["Cookie"]})
    forged = await client.patch(path, json=body, headers={**mine, CSRF_HEADER: "forged"})
    # A real token, replayed from another session, is still wrong for this one.
    replayed = await client.patch(
        path, json=body, headers={**mine, CSRF_HEADER: theirs[CSRF_HEADER]}
    )
    for response in (no_token, forged, replayed):
        assert response.status_code == 403
        assert response.json()["code"] == "csrf_failed"
    assert (await client.patch(path, json=body, headers=mine)).status_code == 200
    # Reads need no token.
    assert (await client.get(path, headers={"Cookie": mine["Cookie"]})).status_code == 200


async def test_logout_ends_the_session(world: World, client: httpx.AsyncClient) -> None:
    headers = await login(client, "rep-a@example.jp")
    assert (await client.post("/api/v1/auth/logout", headers=headers)).status_code == 204
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 401
    # The old CSRF token is dead with it: replaying the request changes nothing.
    again = await client.post("/api/v1/auth/logout", headers=headers)
    assert again.status_code == 401


async def test_sessions_expire_when_idle(
    world: World, client: httpx.AsyncClient, clock: FrozenClock
) -> None:
    headers = world.headers("member")
    clock.advance(timedelta(minutes=world.settings.session_idle_minutes - 1))
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 200
    clock.advance(timedelta(minutes=world.settings.session_idle_minutes - 1))
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 200  # touched
    clock.advance(timedelta(minutes=world.settings.session_idle_minutes + 1))
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 401


async def test_api_tokens_work_until_revoked_or_expired(
    world: World, client: httpx.AsyncClient, clock: FrozenClock
) -> None:
    created = await client.post(
        "/api/v1/tokens",
        json={"name": "sync", "expires_in_days": 2},
        headers=world.headers("representative"),
    )
    assert created.status_code == 201
    token = created.json()["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    me = await client.get("/api/v1/me", headers=bearer)
    assert me.json()["authenticated_by"] == "token"
    # A bearer request needs no CSRF token, and cannot mint more tokens.
    assert (
        await client.patch(
            f"/api/v1/groups/{world.group_a}", json={"phone": "0441112222"}, headers=bearer
        )
    ).status_code == 200
    minted = await client.post("/api/v1/tokens", json={"name": "x"}, headers=bearer)
    assert minted.status_code == 403
    listed = await client.get("/api/v1/tokens", headers=bearer)
    assert "token" not in listed.json()[0]  # the secret is never shown again
    tampered = {"Authorization": f"Bearer {token[:-2]}xx"}
    assert (await client.get("/api/v1/me", headers=tampered)).status_code == 401
    clock.advance(timedelta(days=2))
    expired = await client.get("/api/v1/me", headers=bearer)
    assert expired.status_code == 401
    assert expired.json()["code"] == "invalid_token"


async def test_revoked_token_stops_at_once(world: World, client: httpx.AsyncClient) -> None:
    headers = world.headers("member")
    created = (await client.post("/api/v1/tokens", json={"name": "a"}, headers=headers)).json()
    bearer = {"Authorization": f"Bearer {created['token']}"}
    assert (await client.get("/api/v1/me", headers=bearer)).status_code == 200
    revoked = await client.delete(f"/api/v1/tokens/{created['id']}", headers=headers)
    assert revoked.status_code == 204
    assert (await client.get("/api/v1/me", headers=bearer)).status_code == 401


async def test_suspending_a_user_ends_sessions_and_tokens(
    world: World, client: httpx.AsyncClient
) -> None:
    member = world.headers("member")
    token = (await client.post("/api/v1/tokens", json={"name": "a"}, headers=member)).json()
    user_id = world.user_ids["member"]
    suspended = await client.post(
        f"/api/v1/users/{user_id}/suspend", headers=world.headers("admin")
    )
    assert suspended.status_code == 200
    assert (await client.get("/api/v1/me", headers=member)).status_code == 401
    bearer = {"Authorization": f"Bearer {token['token']}"}
    assert (await client.get("/api/v1/me", headers=bearer)).status_code == 401
    refused = await client.post(LOGIN, json={"login": "member-a@example.jp", "password": PASSWORD})
    assert refused.status_code == 403
    assert refused.json()["code"] == "account_suspended"


async def test_a_suspended_group_cannot_change_its_roster(
    world: World, client: httpx.AsyncClient
) -> None:
    await client.post(
        f"/api/v1/groups/{world.group_a}/suspend",
        json={"reason": "未払い"},
        headers=world.headers("manager_here"),
    )
    response = await client.post(
        f"/api/v1/groups/{world.group_a}/members",
        json={"name": "新", "birth_date": "1999-01-01", "residency": "lives"},
        headers=world.headers("representative"),
    )
    assert response.status_code == 422
    assert response.json()["code"] == "group_suspended"
    read = await client.get(f"/api/v1/groups/{world.group_a}", headers=world.headers("member"))
    assert read.json()["status"] == "suspended"


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"login": "x", "password": "y", "extra": 1}, 400, "extra"),
        ({"login": "", "password": "y"}, 400, "login"),
        ({"login": "x" * 300, "password": "y"}, 400, "login"),
        ({"login": "x", "password": "y" * 200}, 400, "password"),
        ({"password": "y"}, 400, "login"),
    ],
)
async def test_bad_login_input(
    world: World, client: httpx.AsyncClient, body: dict[str, object], status: int, field: str
) -> None:
    response = await client.post(LOGIN, json=body)
    assert response.status_code == status
    assert response.json()["errors"][0]["field"] == field


async def test_wrong_content_type_is_415(world: World, client: httpx.AsyncClient) -> None:
    form = await client.post(LOGIN, data={"login": world.card_a, "password": PASSWORD})
    text = await client.post(
        LOGIN, content=b'{"login":"x","password":"y"}', headers={"Content-Type": "text/plain"}
    )
    assert form.status_code == text.status_code == 415
    empty = await client.post(LOGIN, headers={"Content-Type": "application/json"})
    assert empty.status_code == 400
    assert empty.json()["errors"][0]["field"] == "body"


def _registration(**changes: object) -> dict[str, object]:
    body: dict[str, object] = {
        "kind": "group",
        "name": "高津ハイキングの会",
        "representative": {
            "name": "代表",
            "birth_date": "1960-07-07",
            "residency": "lives",
            "email": "hiker@example.jp",
            "password": "walk the tama river",
        },
        "members": [
            {"name": f"会員{i}", "birth_date": "1965-01-01", "residency": "none"} for i in range(4)
        ],
    }
    body.update(changes)
    return body


@pytest.mark.parametrize(
    ("changes", "status", "field"),
    [
        (
            {"members": [{"name": "a", "birth_date": "2030-01-01", "residency": "lives"}] * 4},
            400,
            "members[0].birth_date",
        ),
        (
            {"members": [{"name": "a", "birth_date": "1890-01-01", "residency": "lives"}] * 4},
            400,
            "members[0].birth_date",
        ),
        ({"email": "not-an-address"}, 400, "email"),
        ({"name": "あ" * 101}, 400, "name"),
        ({"members": []}, 422, "members"),
        ({"kind": "club"}, 400, "kind"),
        (
            {
                "representative": {
                    "name": "中3",
                    "birth_date": "2011-05-01",
                    "residency": "lives",
                    "email": "a@example.jp",
                    "password": "long enough pass",
                }
            },
            422,
            "representative.birth_date",
        ),
        ({"category": "children_centre"}, 422, "facility_id"),
    ],
)
async def test_bad_registrations_change_nothing(
    world: World,
    client: httpx.AsyncClient,
    session: AsyncSession,
    changes: dict[str, object],
    status: int,
    field: str,
) -> None:
    groups_before, users_before = await count(session, Group), await count(session, User)
    response = await client.post("/api/v1/groups", json=_registration(**changes))
    assert response.status_code == status, response.text
    assert response.json()["errors"][0]["field"] == field
    assert (await count(session, Group), await count(session, User)) == (
        groups_before,
        users_before,
    )


async def test_registration_then_activation_issues_a_card(
    world: World, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    mails_before = await count(session, OutboxMessage)
    created = await register_online(client, session, _registration())
    assert created.status_code == 201, created.text
    group = created.json()
    assert group["status"] == "pending"
    assert group["card_number"] is None
    assert group["in_city"] is False  # 1 resident of 5
    staff = world.headers("manager_elsewhere")
    activated = await client.post(f"/api/v1/groups/{group['id']}/activate", headers=staff)
    card = activated.json()["card_number"]
    assert activated.status_code == 200
    assert len(card) == 7
    assert card.isdigit()
    assert activated.json()["valid_until"] == "2027-03-31"
    again = await client.post(f"/api/v1/groups/{group['id']}/activate", headers=staff)
    assert again.status_code == 409
    # confirm + received + activated mails, written with the changes
    assert await count(session, OutboxMessage) == mails_before + 3
    logged_in = await client.post(LOGIN, json={"login": card, "password": "walk the tama river"})
    assert logged_in.status_code == 200


async def test_a_duplicate_card_number_is_refused(
    world: World, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    created = (await register_online(client, session, _registration())).json()
    response = await client.post(
        f"/api/v1/groups/{created['id']}/activate",
        json={"card_number": world.card_a},
        headers=world.headers("admin"),
    )
    assert response.status_code == 409
    assert response.json()["errors"][0]["field"] == "card_number"
    group = await client.get(f"/api/v1/groups/{created['id']}", headers=world.headers("admin"))
    assert group.json()["status"] == "pending"


async def test_card_numbers_are_not_sequential(
    world: World, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    cards = []
    for i in range(5):
        body = _registration()
        body["representative"]["email"] = f"seq{i}@example.jp"  # type: ignore[index]
        created = (await register_online(client, session, body)).json()
        activated = await client.post(
            f"/api/v1/groups/{created['id']}/activate", headers=world.headers("admin")
        )
        cards.append(int(activated.json()["card_number"]))
    steps = {b - a for a, b in itertools.pairwise(cards)}
    assert len(set(cards)) == 5
    assert steps != {1}


async def test_a_registration_expires_and_is_renewed(
    world: World, client: httpx.AsyncClient, clock: FrozenClock
) -> None:
    clock.set(clock.now() + timedelta(days=127))  # 1 April 2027
    staff = await login(client, "admin@city.example")
    group = await client.get(f"/api/v1/groups/{world.group_a}", headers=staff)
    assert group.json()["effective_status"] == "expired"
    renewed = await client.post(f"/api/v1/groups/{world.group_a}/renew", headers=staff)
    assert renewed.status_code == 200
    assert renewed.json()["valid_until"] == "2028-03-31"
    assert renewed.json()["effective_status"] == "active"


async def test_renewal_opens_on_1_december(
    world: World, client: httpx.AsyncClient, clock: FrozenClock
) -> None:
    """Before the April lottery's applications open on 17 December, not after."""
    tokyo = ZoneInfo("Asia/Tokyo")
    clock.set(datetime(2026, 11, 30, 23, 59, tzinfo=tokyo))
    staff = await login(client, "admin@city.example")
    early = await client.post(f"/api/v1/groups/{world.group_a}/renew", headers=staff)
    assert early.status_code == 422, early.text
    assert early.json()["code"] == "renewal_not_open"
    assert "2026-12-01" in early.json()["detail"]
    clock.set(datetime(2026, 12, 1, 0, 0, tzinfo=tokyo))
    staff = await login(client, "admin@city.example")
    renewed = await client.post(f"/api/v1/groups/{world.group_a}/renew", headers=staff)
    assert renewed.status_code == 200, renewed.text
    assert renewed.json()["valid_until"] == "2028-03-31"


async def test_audit_lists_with_filters(world: World, client: httpx.AsyncClient) -> None:
    admin = world.headers("admin")
    await client.post(LOGIN, json={"login": "nobody@example.jp", "password": "bad password"})
    failed = await client.get("/api/v1/audit?action=login.failed", headers=admin)
    assert [e["target_id"] for e in failed.json()] == ["nobody@example.jp"]
    grouped = await client.get(
        f"/api/v1/audit?action=group.&target_type=group&target_id={world.group_a}", headers=admin
    )
    actions = [e["action"] for e in grouped.json()]
    assert actions == ["group.activated", "group.registered"]
    activated = grouped.json()[0]
    assert activated["before"]["status"] == "pending"
    assert activated["after"]["status"] == "active"
    assert activated["actor_user_id"] == world.user_ids["admin"]
    page = await client.get("/api/v1/audit?limit=1", headers=admin)
    older = await client.get(
        f"/api/v1/audit?limit=1&before_id={page.json()[0]['id']}", headers=admin
    )
    assert older.json()[0]["id"] < page.json()[0]["id"]
    naive = await client.get("/api/v1/audit?since=2026-11-01T00:00:00", headers=admin)
    assert naive.status_code == 400


async def test_an_individual_registers_alone(
    world: World, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    alone = _registration(kind="individual", members=[])
    created = await register_online(client, session, alone)
    assert created.status_code == 201, created.text
    assert created.json()["member_count"] == 1
    crowd = _registration(kind="individual")
    crowd["representative"]["email"] = "crowd@example.jp"  # type: ignore[index]
    refused = await client.post("/api/v1/groups", json=crowd)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "members"


async def test_staff_search_by_name_treats_wildcards_literally(
    world: World, client: httpx.AsyncClient
) -> None:
    staff = world.headers("admin")
    found = await client.get("/api/v1/groups", params={"q": "合唱"}, headers=staff)
    assert [g["id"] for g in found.json()] == [world.group_a]
    wildcard = await client.get("/api/v1/groups", params={"q": "%"}, headers=staff)
    assert wildcard.json() == []


async def test_a_senior_centre_evening_group_needs_ten_members(
    world: World, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    centre = (await kind_facilities(session, "senior_centre"))[0]
    nine = _registration(category="senior_civic", facility_id=centre)
    nine["members"] = nine["members"] * 2  # type: ignore[operator]  # 1 + 8
    response = await client.post("/api/v1/groups", json=nine)
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {"members"}
    ten = {**nine, "members": [*nine["members"], nine["members"][0]]}  # type: ignore[misc]
    assert (await register_online(client, session, ten)).status_code == 201
    elsewhere = {**ten, "facility_id": world.here}  # a children's centre, not a senior one
    elsewhere["representative"] = {**ten["representative"], "email": "x2@example.jp"}  # type: ignore[dict-item]
    assert (await client.post("/api/v1/groups", json=elsewhere)).status_code == 422
