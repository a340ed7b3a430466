"""Password hashing with Argon2id (argon2-cffi), off the event loop.

A hash takes 50-250 ms by design (bench/passwords.py); running it in a worker thread keeps
the server answering other requests meanwhile.
"""

from __future__ import annotations

from functools import lru_cache

import anyio.to_thread
from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from booking.settings import Settings


@lru_cache(maxsize=4)
def _hasher(time_cost: int, memory_kib: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(
        time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism, type=Type.ID
    )


def hasher(settings: Settings) -> PasswordHasher:
    return _hasher(
        settings.password_time_cost, settings.password_memory_kib, settings.password_parallelism
    )


# Verified when no account matches, so that an unknown login costs as long as a known one.
@lru_cache(maxsize=4)
def _decoy(ph: PasswordHasher) -> str:
    return ph.hash("decoy password, never valid")


async def hash_password(settings: Settings, password: str) -> str:
    ph = hasher(settings)
    return await anyio.to_thread.run_sync(ph.hash, password)


async def verify_password(settings: Settings, stored: str | None, password: str) -> bool:
    """True when `password` matches; with no stored hash, spend the same time and say no."""
    ph = hasher(settings)

    def check() -> bool:
        try:
            return ph.verify(stored or _decoy(ph), password) and stored is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    return await anyio.to_thread.run_sync(check)


def needs_rehash(settings: Settings, stored: str) -> bool:
    """After the parameters are raised, a successful login upgrades the stored hash."""
    return hasher(settings).check_needs_rehash(stored)
