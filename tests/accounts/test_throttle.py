"""Login throttling (accounts/throttle.py) at its edges, and against a model on random attempts.

Called directly with the test's session and a frozen clock (no HTTP): the last attempt a key
allows in its window and the first it refuses, the window's end and the lock's end one second
before and exactly at, a slot given back by a success, the purge of rows that count nothing.
Then a property: on random attempt times and outcomes the throttle answers exactly as a plain
model of the rule does, and never lets more attempts through in one window than its limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import count

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts import throttle
from booking.accounts.models import LoginThrottle
from booking.accounts.throttle import LONGEST_WINDOW, Limit, Slot, retry_after
from booking.clock import FrozenClock
from booking.errors import TooManyRequests

T0 = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)
WINDOW = timedelta(minutes=15)
LOCKOUT = timedelta(minutes=30)
SECOND = timedelta(seconds=1)


async def take(session: AsyncSession, clock: FrozenClock, *limits: Limit) -> list[Slot]:
    return await throttle.claim(session, clock, list(limits), WINDOW)


async def refused(session: AsyncSession, clock: FrozenClock, *limits: Limit) -> int:
    """Claims and expects a refusal; returns its Retry-After in seconds."""
    with pytest.raises(TooManyRequests) as caught:
        await take(session, clock, *limits)
    assert caught.value.message == "too many failed logins; try again later"
    return caught.value.retry_after


async def row(session: AsyncSession, key: str) -> LoginThrottle | None:
    session.expire_all()
    return await session.scalar(select(LoginThrottle).where(LoginThrottle.key == key))


@pytest.mark.parametrize("limit", [1, 5])
async def test_the_last_allowed_attempt_and_the_first_refused(
    session: AsyncSession, limit: int
) -> None:
    """Attempts still in flight count: the limit-th is let through, the next is refused until
    the window that the first one started is over."""
    clock = FrozenClock(T0)
    key = Limit("account:a", limit)
    for _ in range(limit):
        await take(session, clock, key)
    clock.advance(timedelta(minutes=5))
    assert await refused(session, clock, key) == 10 * 60
    # A refusal takes no slot: the count stays at the limit.
    stored = await row(session, "account:a")
    assert stored is not None
    assert stored.failures == limit


async def test_the_window_ends_exactly_its_length_after_its_first_attempt(
    session: AsyncSession,
) -> None:
    clock = FrozenClock(T0)
    key = Limit("address:x", 3)
    for _ in range(3):
        await take(session, clock, key)
    clock.set(T0 + WINDOW - SECOND)
    assert await refused(session, clock, key) == 1
    clock.set(T0 + WINDOW)
    [slot] = await take(session, clock, key)
    assert slot.window_started_at == T0 + WINDOW  # a new window, counting from one
    await take(session, clock, key)
    await take(session, clock, key)
    assert await refused(session, clock, key) == 15 * 60


async def test_a_key_is_locked_by_its_last_failure_until_the_lockout_ends(
    session: AsyncSession,
) -> None:
    clock = FrozenClock(T0)
    key = Limit("account:b", 3)
    for _ in range(2):
        slots = await take(session, clock, key)
        assert await throttle.failed(session, clock, slots, LOCKOUT) == []
    clock.advance(SECOND)
    slots = await take(session, clock, key)
    assert await throttle.failed(session, clock, slots, LOCKOUT) == [
        ("account:b", T0 + SECOND + LOCKOUT)
    ]
    # The lock outlasts the window: refused until the lock's end, not the window's.
    clock.set(T0 + SECOND + LOCKOUT - SECOND)
    assert await refused(session, clock, key) == 1
    clock.set(T0 + SECOND + LOCKOUT)
    await take(session, clock, key)  # the lock is over: a new count starts
    await take(session, clock, key)
    await take(session, clock, key)
    assert await refused(session, clock, key) == 15 * 60


async def test_a_lockout_shorter_than_the_window_ends_with_the_lock(
    session: AsyncSession,
) -> None:
    """Settings may lock for less than the window: when the lock ends, a new count starts,
    although the window that filled up would still run."""
    clock = FrozenClock(T0)
    key = Limit("account:short", 2)
    short = timedelta(minutes=5)
    for _ in range(2):
        await throttle.failed(session, clock, await take(session, clock, key), short)
    clock.set(T0 + short - SECOND)
    assert await refused(session, clock, key) == 1
    clock.set(T0 + short)
    [slot] = await take(session, clock, key)
    assert slot.window_started_at == T0 + short
    await take(session, clock, key)
    assert await refused(session, clock, key) == 15 * 60


async def test_a_failure_that_ends_after_the_lock_locks_the_key_again(
    session: AsyncSession,
) -> None:
    """Two guesses take the last two slots; the first fails and locks the key. The second,
    slow to verify, fails once that lock is over: its window's every slot is spent by
    failures, so the key is locked again from then, not left open."""
    clock = FrozenClock(T0)
    key = Limit("account:slow", 2)
    first = await take(session, clock, key)
    second = await take(session, clock, key)
    assert await throttle.failed(session, clock, first, LOCKOUT) == [("account:slow", T0 + LOCKOUT)]
    clock.set(T0 + LOCKOUT)
    assert await throttle.failed(session, clock, second, LOCKOUT) == [
        ("account:slow", T0 + 2 * LOCKOUT)
    ]
    assert await refused(session, clock, key) == LOCKOUT.total_seconds()


async def test_a_failure_during_the_lock_does_not_extend_it(session: AsyncSession) -> None:
    """Two guesses in flight take the last two slots; the first fails and locks the key for
    LOCKOUT. The second fails a minute later, inside the lock: nothing new is locked, and the
    lock still ends LOCKOUT after the first failure."""
    clock = FrozenClock(T0)
    key = Limit("account:inflight", 2)
    first = await take(session, clock, key)
    second = await take(session, clock, key)
    assert await throttle.failed(session, clock, first, LOCKOUT) == [
        ("account:inflight", T0 + LOCKOUT)
    ]
    clock.set(T0 + timedelta(minutes=1))
    assert await throttle.failed(session, clock, second, LOCKOUT) == []
    assert await refused(session, clock, key) == (LOCKOUT - timedelta(minutes=1)).total_seconds()


async def test_a_failure_under_the_limit_does_not_lock(session: AsyncSession) -> None:
    """Four failures of five: nothing is locked, and the fifth attempt is still let through."""
    clock = FrozenClock(T0)
    key = Limit("account:c", 5)
    for _ in range(4):
        assert await throttle.failed(session, clock, await take(session, clock, key), LOCKOUT) == []
    stored = await row(session, "account:c")
    assert stored is not None
    assert stored.locked_until is None
    await take(session, clock, key)


async def test_a_success_gives_its_slot_back_and_clears_its_own_account(
    session: AsyncSession,
) -> None:
    """In login's order (the account's limit, then the address's): the account's count is
    cleared, the address gets its one slot back, and another key counted in the same instant
    keeps its count."""
    clock = FrozenClock(T0)
    account, address = Limit("account:d", 2), Limit("address:y", 2)
    bystander = Limit("address:bystander", 2)
    first = await take(session, clock, account, address)
    await take(session, clock, account, address)
    await take(session, clock, bystander)
    assert await refused(session, clock, address) == 15 * 60
    await throttle.succeeded(session, first, clear_key="account:d")
    assert await row(session, "account:d") is None  # its owner is back: the count is gone
    stored = await row(session, "address:y")
    assert stored is not None
    assert stored.failures == 1  # the address got the one slot back, no more
    other = await row(session, "address:bystander")
    assert other is not None
    assert other.failures == 1
    await take(session, clock, address)
    assert await refused(session, clock, address) == 15 * 60


@pytest.mark.parametrize("others", [0, 1])
async def test_a_success_gives_its_slot_back_even_when_it_is_the_only_one_counted(
    session: AsyncSession, others: int
) -> None:
    """The first login from an address (others = 0) that succeeds leaves the address's count at
    nothing: the address then has its whole limit again, not one attempt less."""
    clock = FrozenClock(T0)
    address = Limit("address:v", 2)
    for _ in range(others):
        await take(session, clock, address)
    mine = await take(session, clock, address)
    await throttle.succeeded(session, mine, clear_key="account:v")
    stored = await row(session, "address:v")
    assert stored is not None
    assert stored.failures == others
    for _ in range(2 - others):
        await take(session, clock, address)
    assert await refused(session, clock, address) == 15 * 60


async def test_a_success_does_not_give_back_a_slot_of_an_earlier_window(
    session: AsyncSession,
) -> None:
    clock = FrozenClock(T0)
    address = Limit("address:z", 2)
    old = await take(session, clock, address)
    clock.set(T0 + WINDOW)
    await take(session, clock, address)
    await take(session, clock, address)
    await throttle.succeeded(session, old, clear_key="account:none")
    assert await refused(session, clock, address) == 15 * 60


async def test_a_refusal_under_one_key_gives_back_the_slots_taken_under_the_others(
    session: AsyncSession,
) -> None:
    clock = FrozenClock(T0)
    address, account = Limit("address:w", 2), Limit("account:e", 1)
    await take(session, clock, address)
    await take(session, clock, account)
    for _ in range(3):  # the address is counted first, then given back with the savepoint
        await refused(session, clock, address, account)
    stored = await row(session, "address:w")
    assert stored is not None
    assert stored.failures == 1
    await take(session, clock, address)
    assert await refused(session, clock, address) == 15 * 60


async def test_purge_deletes_rows_only_once_their_window_and_lock_are_over(
    session: AsyncSession,
) -> None:
    login_window = timedelta(minutes=15)
    now = T0 + timedelta(days=1)
    longest = max(login_window, LONGEST_WINDOW)
    rows = {
        "done": (now - longest, None),
        "a-second-short": (now - longest + SECOND, None),
        "lock-over-now": (now - longest, now),
        "locked-a-second-more": (now - longest, now + SECOND),
    }
    for key, (started, locked_until) in rows.items():
        session.add(
            LoginThrottle(key=key, failures=5, window_started_at=started, locked_until=locked_until)
        )
    await session.flush()
    assert await throttle.purge(session, FrozenClock(now), login_window) == 2
    left = set((await session.scalars(select(LoginThrottle.key))).all())
    assert {"a-second-short", "locked-a-second-more"} <= left
    assert not {"done", "lock-over-now"} & left
    # A login window longer than the longest other window keeps rows that long.
    session.add(LoginThrottle(key="long", failures=1, window_started_at=now - longest))
    await session.flush()
    assert await throttle.purge(session, FrozenClock(now), longest + SECOND) == 0


@pytest.mark.parametrize(
    ("left", "seconds"),
    [
        pytest.param(timedelta(seconds=90), 90, id="whole-seconds"),
        pytest.param(timedelta(seconds=89, milliseconds=1), 90, id="rounded-up"),
        pytest.param(timedelta(milliseconds=1), 1, id="under-a-second"),
        pytest.param(timedelta(0), 1, id="now"),
        pytest.param(-timedelta(seconds=5), 1, id="past"),
    ],
)
def test_retry_after_rounds_up_to_whole_seconds_and_is_at_least_one(
    left: timedelta, seconds: int
) -> None:
    assert retry_after(T0 + left, T0) == seconds


# The property: the database against a plain model of the same rule.


@dataclass
class Model:
    """One key's count, as RULES say: a window starts at the first attempt after the last one
    ended (or a lock ended); at most `limit` attempts per window; the last failure locks."""

    limit: int
    failures: int = 0
    started: datetime | None = None
    locked_until: datetime | None = None

    def claim(self, now: datetime) -> datetime | None:
        lock_over = self.locked_until is not None and self.locked_until <= now
        if self.locked_until is not None and not lock_over:
            return None
        fresh = self.started is None or self.started <= now - WINDOW or lock_over
        if not fresh and self.failures >= self.limit:
            return None
        if fresh:
            self.failures, self.started = 0, now
        self.failures += 1
        self.locked_until = None
        return self.started

    def retry_after(self, now: datetime) -> int | None:
        """Seconds until a refused attempt may succeed (only meaningful when it is refused)."""
        if self.locked_until is not None and self.locked_until > now:
            return retry_after(self.locked_until, now)
        if self.started is None:
            return None
        return retry_after(self.started + WINDOW, now)

    def failed(self, now: datetime) -> None:
        if self.failures >= self.limit and (self.locked_until is None or self.locked_until <= now):
            self.locked_until = now + LOCKOUT

    def succeeded(self, started: datetime) -> bool:
        """The slot is given back only within the window it was counted in."""
        if self.failures > 0 and self.started == started:
            self.failures -= 1
            return True
        return False


# When the next step happens: some seconds after the previous one, or exactly at (or a second
# before) the end of the model's current window or lock, where a wrong comparison shows.
EDGES = ["window end", "window end - 1s", "lock end", "lock end - 1s"]
gaps = st.one_of(st.sampled_from(EDGES), st.integers(min_value=0, max_value=40 * 60))


def step_time(model: Model, now: datetime, gap: int | str) -> datetime:
    if isinstance(gap, int):
        return now + timedelta(seconds=gap)
    if gap.startswith("window"):
        edge = None if model.started is None else model.started + WINDOW
    else:
        edge = model.locked_until
    if edge is None:
        return now
    if gap.endswith("1s"):
        edge -= SECOND
    return max(now, edge)


# An attempt, or the outcome of the oldest or the newest attempt still in flight (guesses are
# verified concurrently, so they end in any order and after any delay).
steps = st.lists(
    st.tuples(
        gaps,
        st.sampled_from(["attempt", "attempt", "fail oldest", "fail newest", "succeed oldest"]),
    ),
    min_size=1,
    max_size=16,
)
_keys = count()


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(limit=st.integers(min_value=1, max_value=4), steps=steps)
async def test_the_throttle_answers_as_the_model_and_never_exceeds_its_limit(
    session: AsyncSession, limit: int, steps: list[tuple[int | str, str]]
) -> None:
    key = Limit(f"property:{next(_keys)}", limit)  # a key of its own: no state from another
    model = Model(limit)
    clock = FrozenClock(T0)
    in_flight: list[list[Slot]] = []
    kept: dict[datetime, int] = {}  # attempts let through and not given back, per window
    async with session.begin_nested() as example:  # nothing kept from one example to the next
        for gap, step in steps:
            clock.set(step_time(model, clock.now(), gap))
            now = clock.now()
            if step != "attempt":
                if not in_flight:
                    continue
                slots = in_flight.pop(0 if step.endswith("oldest") else -1)
                if step.startswith("fail"):
                    model.failed(now)
                    await throttle.failed(session, clock, slots, LOCKOUT)
                else:
                    if model.succeeded(slots[0].window_started_at):
                        kept[slots[0].window_started_at] -= 1
                    await throttle.succeeded(session, slots, clear_key="account:someone-else")
                continue
            wait = model.retry_after(now)
            expected = model.claim(now)
            try:
                slots = await take(session, clock, key)
            except TooManyRequests as refusal:
                slots, refused_for = [], refusal.retry_after
            else:
                refused_for = None
            if expected is None:
                assert refused_for == wait, "let through where the model refuses, or not as long"
                continue
            assert refused_for is None, "refused where the model lets the attempt through"
            assert [s.window_started_at for s in slots] == [expected]
            assert now - expected < WINDOW  # counted in a window still running
            kept[expected] = kept.get(expected, 0) + 1
            assert kept[expected] <= limit
            in_flight.append(slots)
        await example.rollback()
