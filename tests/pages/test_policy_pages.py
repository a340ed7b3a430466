"""The administrator's pages for reservation policies from a date (issue 16 §2), over HTTP on
both engines: a change added shows on both pages and is saved as a partial override; every
bad value is said beside its field, in Japanese, and changes nothing. When a change applies
(the day before / the day of) is the service's, tested in tests/reservations.
"""

from __future__ import annotations

import html

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.inventory.models import Policy, PolicyRevision
from tests.pages.browsing import alerts, field_error
from tests.pages.test_network_pages import get, post, refused
from tests.people import World

CHOICES = {"requires_approval", "holds_allowed", "lottery_enabled"}


async def a_policy(session: AsyncSession) -> int:
    policy_id = await session.scalar(select(Policy.id).order_by(Policy.key).limit(1))
    assert policy_id is not None
    await session.rollback()  # no transaction left open: requests would nest theirs inside it
    return policy_id


async def test_a_change_from_a_date_shows_on_the_policy_pages_and_overrides_only_its_fields(
    world: World, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    policy_id = await a_policy(session)
    path = f"/admin/policies/{policy_id}"
    form = {
        "effective_from": "2027-04-01",
        "closes_days_before": "５",  # typed on a Japanese keyboard
        "holds_allowed": "yes",
        "hold_days": "2",
        "requires_approval": "",  # left as it is: not sent
        "opens_day": "",
    }
    made = await post(client, world, "admin", path, form)
    assert made.status_code == 303, made.text
    assert made.headers["location"] == f"{path}?done=added"

    rows = (
        await session.scalars(select(PolicyRevision).where(PolicyRevision.policy_id == policy_id))
    ).all()
    assert [(r.effective_from.isoformat(), r.settings) for r in rows] == [
        ("2027-04-01", {"first_come_closes_days_before": 5, "holds": {"allowed": True, "days": 2}})
    ]

    page = (await get(client, world, "admin", f"{path}?done=added")).text
    assert "方針を保存しました" in page
    found = page.split('id="revision-2027-04-01"')[1].split("</section>")[0]
    assert "holds.allowed" in found
    assert "holds.days" in found
    assert "first_come_closes_days_before" in found
    assert "requires_approval" not in found

    listed = (await get(client, world, "admin", "/admin/policies")).text
    section = listed.split(f'id="policy-{policy_id}"')[1].split("</section>")[0]
    assert 'datetime="2027-04-01"' in section
    assert f'href="{path}"' in section
    assert 'href="/admin/policies"' in (await get(client, world, "admin", "/admin")).text


@pytest.mark.parametrize(
    ("form", "field", "reason"),
    [
        ({"opens_months_before": "25"}, "opens_months_before", "24以下"),
        ({"opens_day": "0"}, "opens_day", "1以上"),
        ({"closes_days_before": "三"}, "closes_days_before", "整数"),
        ({"cancel_days_before": "801"}, "cancel_days_before", "800以下"),
        ({"hold_days": "-1"}, "hold_days", "0以上"),
        ({"requires_approval": "maybe"}, "requires_approval", "選択肢"),
        ({"holds_allowed": "true"}, "holds_allowed", "選択肢"),
        ({"lottery_enabled": "1"}, "lottery_enabled", "選択肢"),
        ({"effective_from": "2027-02-30", "hold_days": "2"}, "effective_from", "YYYY-MM-DD"),
        ({"effective_from": "", "hold_days": "2"}, "effective_from", "入力してください"),
        # Before today (2026-11-25): the service's refusal, said beside the date.
        ({"effective_from": "2026-11-24", "hold_days": "2"}, "effective_from", "今日以降"),
        ({"effective_from": "2027-04-01"}, "settings", "一つ以上"),
    ],
)
async def test_a_bad_change_is_said_beside_its_field_and_saves_nothing(
    form: dict[str, str],
    field: str,
    reason: str,
    world: World,
    client: httpx.AsyncClient,
    session: AsyncSession,
) -> None:
    policy_id = await a_policy(session)
    sent = {"effective_from": "2027-04-01", **form}
    page = await refused(client, world, session, f"/admin/policies/{policy_id}", sent)
    error = field_error(page, field)
    assert reason in (error or ""), (field, error, alerts(page))
    if field not in CHOICES:  # what was typed is shown again (a choice offers its options)
        assert html.escape(form.get(field, "")) in page


async def test_a_second_change_from_the_same_date_is_refused_beside_the_date(
    world: World, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    policy_id = await a_policy(session)
    path = f"/admin/policies/{policy_id}"
    made = await post(
        client, world, "admin", path, {"effective_from": "2027-04-01", "hold_days": "2"}
    )
    assert made.status_code == 303, made.text
    page = await refused(
        client, world, session, path, {"effective_from": "2027-04-01", "hold_days": "4"}
    )
    assert "後の日付" in (field_error(page, "effective_from") or "")
