"""Serve the app with the tests' frozen clock, as a real process (crash tests kill it).

python -m tests.serve_frozen PORT   (database from BOOKING_* like `booking serve`)
"""

from __future__ import annotations

import sys

import uvicorn

from booking.app import create_app
from booking.clock import FrozenClock
from tests.conftest import DEFAULT_NOW

if __name__ == "__main__":
    app = create_app(clock=FrozenClock(DEFAULT_NOW))
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
