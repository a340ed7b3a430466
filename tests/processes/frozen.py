"""`booking serve`'s factory with the tests' frozen clock, for uvicorn --factory:

python -m uvicorn tests.processes.frozen:frozen_app --factory --port PORT
"""

from __future__ import annotations

from litestar import Litestar

from booking.clock import FrozenClock
from booking.serving import served_app
from tests.conftest import DEFAULT_NOW


def frozen_app() -> Litestar:
    return served_app(clock=FrozenClock(DEFAULT_NOW))
