"""Running a facility's draw for a use month, lapsing unconfirmed wins, reminding winners.

A draw is one transaction: it claims its `lottery_draws` row first (INSERT ... ON CONFLICT DO
NOTHING), so a second run, here or on another machine, finds the row taken and changes
nothing. Wins become claims of kind lottery_win; every applicant's group gets one mail.
Reads and writes go in bulk (bulk.py): a city's 100,000 applications draw in seconds.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from booking.accounts.models import Group
from booking.audit.service import SYSTEM, record
from booking.clock import Clock, local_today
from booking.db.upsert import insert_for
from booking.inventory.network import NetworkSnapshot, SnapshotCache
from booking.inventory.policy import DEFAULT_POLICY, lottery_cycle
from booking.lottery.applications import ensure_cycle, next_use_month
from booking.lottery.bulk import (
    read_claimed,
    read_entries,
    win_claims,
    write_claims,
    write_outcomes,
)
from booking.lottery.draw import (
    ALGORITHM,
    Entry,
    Outcome,
    allocate,
    canonical_lines,
    digest_of_lines,
    seed,
)
from booking.lottery.models import ApplicationStatus, LotteryApplication, LotteryDraw
from booking.notifications.booking_mail import (
    Slot,
    date_en,
    date_ja,
    lottery_line,
    lottery_url,
    month_en,
    month_ja,
    slot,
    slot_context,
)
from booking.notifications.outbox import enqueue, enqueue_many
from booking.reservations.claims import release_claims
from booking.reservations.models import ClaimKind
from booking.settings import Settings
from booking.waitlist.offers import hand_on


@dataclass(frozen=True, slots=True)
class DrawResult:
    use_month: date
    facility_id: int
    drawn: bool  # False: it had been drawn already
    applications: int = 0
    wins: int = 0


def publish(  # noqa: PLR0913
    use_month: date,
    facility_id: int,
    *,
    secret: bytes,
    entries: list[Entry],
    pre_claimed: set[tuple[int, date, str]],
    win_cap: int | None,
    list_digest: str,
    outcomes: list[Outcome],
    lines: list[str] | None = None,
) -> dict[str, Any]:
    """The published draw file: with it alone anyone can check the draw (`verify`). `lines`:
    the entries' canonical lines when the caller has them already."""
    return {
        "algorithm": ALGORITHM,
        "use_month": use_month.strftime("%Y-%m"),
        "facility_id": facility_id,
        "secret": secret.hex(),
        "digest": list_digest,
        "win_cap": win_cap,
        "applications": canonical_lines(entries) if lines is None else lines,
        "pre_claimed": sorted(f"{u}|{d.isoformat()}|{p}" for u, d, p in pre_claimed),
        "results": [
            {"id": o.id, "position": o.position, "won": o.won, "reason": o.reason}
            for o in sorted(outcomes, key=lambda o: o.position)
        ],
    }


async def _take_draw(
    session: AsyncSession, clock: Clock, use_month: date, facility_id: int
) -> int | None:
    """The draw's row, inserted, or None when another run has it (it waits for that run to
    end: two runs at once, one draws)."""
    upsert = insert_for(session)
    taken: int | None = (
        await session.execute(
            upsert(LotteryDraw)
            .values(
                use_month=use_month,
                facility_id=facility_id,
                drawn_at=clock.now(),
                algorithm=ALGORITHM,
                digest="",
                application_count=0,
                win_count=0,
                document={},
            )
            .on_conflict_do_nothing(index_elements=["use_month", "facility_id"])
            .returning(LotteryDraw.id)
        )
    ).scalar_one_or_none()
    return taken


async def draw_facility(
    session: AsyncSession,
    clock: Clock,
    settings: Settings,
    snapshot: NetworkSnapshot,
    use_month: date,
    facility_id: int,
) -> DrawResult:
    """A facility's draw for a use month, in the caller's transaction; nothing if drawn."""
    facility = snapshot.facilities[facility_id]
    taken = await _take_draw(session, clock, use_month, facility_id)
    if taken is None:
        return DrawResult(use_month, facility_id, drawn=False)
    cycle = await ensure_cycle(session, clock, use_month)
    secret = bytes.fromhex(cycle.secret_hex)
    rooms = {room.id: room for room in snapshot.rooms if room.facility_id == facility_id}
    entries = await read_entries(
        session, use_month, facility_id, {room.id: room.unit_ids for room in rooms.values()}
    )
    units = sorted({u for room in rooms.values() for u in room.unit_ids})
    month_end = (use_month + timedelta(days=32)).replace(day=1)
    pre_claimed = await read_claimed(session, units, use_month, month_end)
    win_cap = facility.policy_on(use_month).lottery.win_cap
    # draw() step by step, to keep the canonical lines for the published file.
    lines = canonical_lines(entries)
    list_digest = digest_of_lines(lines)
    outcomes = allocate(entries, seed(secret, list_digest), pre_claimed, win_cap)
    by_id = {e.id: e for e in entries}
    now = clock.now()
    await write_outcomes(session, use_month, facility_id, outcomes, now)
    wins = sum(1 for o in outcomes if o.won)
    await session.execute(
        update(LotteryDraw)
        .where(LotteryDraw.id == taken)
        .values(
            digest=list_digest,
            application_count=len(entries),
            win_count=wins,
            document=publish(
                use_month,
                facility_id,
                secret=secret,
                entries=entries,
                pre_claimed=pre_claimed,
                win_cap=win_cap,
                list_digest=list_digest,
                outcomes=outcomes,
                lines=lines,
            ),
        )
    )
    await _mail_results(
        session, clock, settings, snapshot, outcomes, by_id, (use_month, facility_id)
    )
    await record(
        session,
        clock,
        SYSTEM,
        "lottery.drawn",
        ("facility", facility_id),
        after={"use_month": use_month.isoformat(), "applications": len(entries), "wins": wins},
    )
    # Last: the claims' trigger locks the month's version row until the commit, and a draw
    # of another facility, or a booking, waits for it only that long.
    await write_claims(session, win_claims(outcomes, by_id), now)
    return DrawResult(use_month, facility_id, drawn=True, applications=len(entries), wins=wins)


async def _mail_results(
    session: AsyncSession,
    clock: Clock,
    settings: Settings,
    snapshot: NetworkSnapshot,
    outcomes: list[Outcome],
    by_id: dict[int, Entry],
    drawn: tuple[date, int],
) -> None:
    """One mail per group with all its results of this draw, a line per application in each
    language (place, date, periods, won or not)."""
    use_month, facility_id = drawn
    if not outcomes:
        return
    # Only groups with an address get lines; their ids by a subquery, not 5,000 parameters.
    applicants = select(LotteryApplication.group_id).where(
        LotteryApplication.use_month == use_month, LotteryApplication.facility_id == facility_id
    )
    contacts = {
        group_id: (name, email)
        for group_id, name, email in await session.execute(
            select(Group.id, Group.name, Group.email).where(
                Group.id.in_(applicants), Group.email.is_not(None)
            )
        )
        if email
    }
    slots: dict[tuple[int, date, tuple[str, ...]], Slot] = {}
    per_group: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for o in sorted(outcomes, key=lambda o: o.id):
        entry = by_id[o.id]
        if entry.group_id not in contacts:
            continue
        key = (entry.room_id, entry.use_date, entry.periods)
        if (found := slots.get(key)) is None:
            found = slots[key] = slot(snapshot, *key)
        per_group[entry.group_id].append(lottery_line(found, o.id, won=o.won))
    await enqueue_many(
        session,
        clock,
        (
            (
                contacts[group_id][1],
                "lottery_results",
                {
                    "name": contacts[group_id][0],
                    "month_ja": month_ja(use_month),
                    "month_en": month_en(use_month),
                    "lines_ja": [ja for ja, _ in lines],
                    "lines_en": [en for _, en in lines],
                    "url": lottery_url(settings),
                },
            )
            for group_id, lines in sorted(per_group.items())
        ),
    )


def application_slot(snapshot: NetworkSnapshot, application: LotteryApplication) -> dict[str, str]:
    """The application's place, date and periods, as a mail names them."""
    return slot_context(
        slot(snapshot, application.room_id, application.use_date, application.period_codes)
    )


async def due_draws(
    session: AsyncSession, clock: Clock, settings: Settings, snapshot: NetworkSnapshot
) -> list[tuple[date, int]]:
    """(use month, facility) pairs with applications whose draw time has come."""
    pairs = (
        await session.execute(
            select(LotteryApplication.use_month, LotteryApplication.facility_id)
            .where(LotteryApplication.status == ApplicationStatus.APPLIED)
            .distinct()
        )
    ).all()
    now = clock.now()
    due = []
    for use_month, facility_id in pairs:
        facility = snapshot.facilities.get(facility_id)
        cycle = (
            lottery_cycle(facility.policy_on(use_month), use_month, settings.tz)
            if facility
            else None
        )
        if cycle is not None and cycle.draw_at <= now:
            due.append((use_month, facility_id))
    return sorted(due)


async def run_due_draws(
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: Clock,
    settings: Settings,
    snapshot: NetworkSnapshot,
) -> list[DrawResult]:
    async with sessionmaker() as session:
        due = await due_draws(session, clock, settings, snapshot)
    return await draw_each(sessionmaker, clock, settings, snapshot, due)


async def draw_each(
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: Clock,
    settings: Settings,
    snapshot: NetworkSnapshot,
    due: list[tuple[date, int]],
) -> list[DrawResult]:
    """Each (use month, facility) drawn in a transaction of its own. On PostgreSQL two at a
    time: one draw's Python work (reading, permuting, the published file) overlaps the other's
    writes in the database, so both cores work. SQLite has one writer: one at a time."""
    bind = sessionmaker.kw.get("bind")  # sessions of one connection (tests): one at a time
    width = 1
    if isinstance(bind, AsyncEngine) and bind.dialect.name == "postgresql":
        # never more than the pool holds (BOOKING_DB_POOL_SIZE may be 1): a second draw would
        # wait past the pool's timeout for the first one's connection
        size = getattr(bind.sync_engine.pool, "size", lambda: 1)()
        width = min(2, size) if isinstance(size, int) else 1
    for use_month in sorted({month for month, _ in due}):
        async with sessionmaker.begin() as session:  # made once, not raced for by the draws
            await ensure_cycle(session, clock, use_month)
    gate = asyncio.Semaphore(width)

    async def one(use_month: date, facility_id: int) -> DrawResult:
        async with gate, sessionmaker.begin() as session:
            return await draw_facility(session, clock, settings, snapshot, use_month, facility_id)

    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(one(month, facility)) for month, facility in due]
    return [task.result() for task in tasks]


async def lapse_unconfirmed(
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: Clock,
    settings: Settings,
    snapshot: NetworkSnapshot,
) -> int:
    """Wins not confirmed by the end of the confirmation window lapse; their slots are freed
    before first-come opens. Locked rows, changed only while still won: safe to run twice."""
    today = local_today(clock, settings.tz)
    lapsed = 0
    freed = []
    async with sessionmaker.begin() as session:
        won = (
            await session.scalars(
                select(LotteryApplication)
                .where(LotteryApplication.status == ApplicationStatus.WON)
                .with_for_update(skip_locked=True)
            )
        ).all()
        for application in won:
            facility = snapshot.facilities.get(application.facility_id)
            cycle = (
                lottery_cycle(
                    facility.policy_on(application.use_month), application.use_month, settings.tz
                )
                if facility
                else None
            )
            if cycle is None or today <= cycle.confirm_to:
                continue
            freed += await release_claims(session, [ClaimKind.LOTTERY_WIN], application.id)
            application.status = ApplicationStatus.LAPSED
            application.settled_at = clock.now()
            lapsed += 1
            await record(
                session, clock, SYSTEM, "lottery.lapsed", ("lottery_application", application.id)
            )
            group = await session.get_one(Group, application.group_id)
            if group.email:
                await enqueue(
                    session,
                    clock,
                    to=group.email,
                    template="lottery_lapsed",
                    context={
                        "name": group.name,
                        "application_id": application.id,
                        "url": lottery_url(settings),
                        **application_slot(snapshot, application),
                    },
                )
        await hand_on(session, clock, settings, snapshot, freed)  # their wait lists first
    return lapsed


async def remind_winners(
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: Clock,
    settings: Settings,
    snapshot: NetworkSnapshot,
) -> int:
    """The day before the confirmation deadline, each unconfirmed winner is reminded once."""
    today = local_today(clock, settings.tz)
    reminded = 0
    async with sessionmaker.begin() as session:
        won = (
            await session.scalars(
                select(LotteryApplication)
                .where(
                    LotteryApplication.status == ApplicationStatus.WON,
                    LotteryApplication.reminded_at.is_(None),
                )
                .with_for_update(skip_locked=True)
            )
        ).all()
        for application in won:
            facility = snapshot.facilities.get(application.facility_id)
            cycle = (
                lottery_cycle(
                    facility.policy_on(application.use_month), application.use_month, settings.tz
                )
                if facility
                else None
            )
            if cycle is None or today != cycle.confirm_to - timedelta(days=1):
                continue
            application.reminded_at = clock.now()
            reminded += 1
            group = await session.get_one(Group, application.group_id)
            if group.email:
                await enqueue(
                    session,
                    clock,
                    to=group.email,
                    template="lottery_reminder",
                    context={
                        "name": group.name,
                        "application_id": application.id,
                        "deadline_ja": date_ja(cycle.confirm_to),
                        "deadline_en": date_en(cycle.confirm_to),
                        "url": lottery_url(settings),
                        **application_slot(snapshot, application),
                    },
                )
    return reminded


async def lottery_pass(
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: Clock,
    settings: Settings,
    snapshots: SnapshotCache,
) -> list[DrawResult]:
    """The worker's lottery duties, each safe to run twice: publish the commitment of a cycle
    whose applications are open, draw what is due, remind, lapse."""
    async with sessionmaker.begin() as session:
        snapshot = await snapshots.get(session)
        use_month = next_use_month(local_today(clock, settings.tz), DEFAULT_POLICY.lottery)
        await ensure_cycle(session, clock, use_month)
    results = await run_due_draws(sessionmaker, clock, settings, snapshot)
    await remind_winners(sessionmaker, clock, settings, snapshot)
    await lapse_unconfirmed(sessionmaker, clock, settings, snapshot)
    return results
