"""The accounts world, for mails that people cause (resets, invitations)."""

from tests.accounts.conftest import world

__all__ = ["world"]
