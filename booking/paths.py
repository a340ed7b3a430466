"""Where the bundled facility data and the migrations are, installed or in a checkout."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _bundled(name: str) -> Path:
    # A wheel carries them in booking/_bundled (pyproject force-include); a checkout or an
    # editable install has them beside the package.
    for candidate in (_PACKAGE / "_bundled" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"cannot find the bundled {name!r} directory")


def facilities_data_dir() -> Path:
    return _bundled("facilities_data")


def migrations_dir() -> Path:
    return _bundled("migrations")
