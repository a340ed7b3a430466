"""Fixtures of the calendar tests."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.calendars.feed_rows import Place, find_place


@pytest.fixture
async def place(session: AsyncSession) -> Place:
    """A facility with two rooms, and a room of another facility (from the bundled network)."""
    return await find_place(session)
