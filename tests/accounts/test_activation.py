"""Activation at the counter (accounts/groups.py `activate`): the card number it issues.

A card number is the representative's login name: seven digits, never starting with 0 (so
spreadsheets and phones keep all seven), random, and never one already in use; a card issued
on paper before keeps its number, unless another registration has it. The random source is
replaced here by a script of draws, to pin the range's ends and what happens when a draw hits a
number in use: the rule, not the luck of a test run.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts import groups
from booking.accounts.models import Group, GroupStatus
from booking.audit.models import AuditEvent
from booking.clock import FrozenClock
from booking.errors import Conflict
from tests.people import World, principal_as


@dataclass
class Draws:
    """Stands in for the `secrets` module in groups: randbelow answers from a script, as an
    offset from the top of its range ("top" - 0 is the highest number randbelow can give) or
    from its bottom; each bound asked for is kept."""

    script: Iterator[tuple[str, int]]
    bounds: list[int] = field(default_factory=list)

    def randbelow(self, bound: int) -> int:
        self.bounds.append(bound)
        end, offset = next(self.script)
        return bound - 1 - offset if end == "top" else offset


def draws(monkeypatch: pytest.MonkeyPatch, *script: tuple[str, int]) -> Draws:
    scripted = Draws(iter(script))
    monkeypatch.setattr(groups, "secrets", scripted)
    return scripted


async def events(session: AsyncSession, group_id: int) -> list[str]:
    await session.flush()
    stmt = select(AuditEvent.action).where(
        AuditEvent.target_type == "group", AuditEvent.target_id == str(group_id)
    )
    return list((await session.scalars(stmt.order_by(AuditEvent.id))).all())


@pytest.mark.parametrize(
    ("draw", "card"),
    [
        pytest.param(("bottom", 0), "1000000", id="the-lowest"),
        pytest.param(("top", 0), "9999999", id="the-highest"),
    ],
)
async def test_a_random_card_number_has_seven_digits_from_1000000_to_9999999(
    world: World,
    session: AsyncSession,
    clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
    draw: tuple[str, int],
    card: str,
) -> None:
    draws(monkeypatch, draw)
    group = await groups.activate(
        session,
        clock,
        world.settings,
        await principal_as(session, world, "admin"),
        world.centre_group,
        None,
    )
    assert (group.status, group.card_number) == (GroupStatus.ACTIVE, card)
    assert group.activated_at == clock.now()


async def test_a_drawn_number_in_use_is_drawn_again(
    world: World, session: AsyncSession, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first draw gives group A's number; the second a free one, which is issued."""
    taken = int(world.card_a) - 1_000_000
    scripted = draws(monkeypatch, ("bottom", taken), ("bottom", 0))
    group = await groups.activate(
        session,
        clock,
        world.settings,
        await principal_as(session, world, "admin"),
        world.centre_group,
        None,
    )
    assert group.card_number == "1000000"
    assert len(scripted.bounds) == 2


async def test_when_every_draw_is_in_use_the_activation_is_refused_to_be_tried_again(
    world: World, session: AsyncSession, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Twenty draws, each group A's number: nothing changes, and staff are told to try again."""
    taken = int(world.card_a) - 1_000_000
    scripted = draws(monkeypatch, *[("bottom", taken)] * 21)
    with pytest.raises(Conflict) as refused:
        await groups.activate(
            session,
            clock,
            world.settings,
            await principal_as(session, world, "admin"),
            world.centre_group,
            None,
        )
    assert (refused.value.code, refused.value.message) == (
        "card_numbers_exhausted",
        "no free card number found; try again",
    )
    assert len(scripted.bounds) == 20
    group = await session.get_one(Group, world.centre_group)
    assert (group.status, group.card_number) == (GroupStatus.PENDING, None)
    assert await events(session, world.centre_group) == ["group.registered"]


async def test_a_paper_cards_number_is_kept_unless_another_registration_has_it(
    world: World, session: AsyncSession, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The children's centre's group had a paper card 2345678: it keeps it (no draw). The other
    centre's group shows group A's card number, a mistake: refused, naming the field."""
    scripted = draws(monkeypatch)
    staff = await principal_as(session, world, "admin")
    kept = await groups.activate(
        session, clock, world.settings, staff, world.centre_group, "2345678"
    )
    assert (kept.status, kept.card_number, kept.activated_at) == (
        GroupStatus.ACTIVE,
        "2345678",
        clock.now(),
    )
    assert scripted.bounds == []
    with pytest.raises(Conflict) as refused:
        await groups.activate(
            session, clock, world.settings, staff, world.other_centre_group, world.card_a
        )
    assert (refused.value.code, refused.value.field, refused.value.message) == (
        "card_taken",
        "card_number",
        "this card number is already in use",
    )
    other = await session.get_one(Group, world.other_centre_group)
    assert (other.status, other.card_number, other.activated_at) == (
        GroupStatus.PENDING,
        None,
        None,
    )
    assert await events(session, world.other_centre_group) == ["group.registered"]
