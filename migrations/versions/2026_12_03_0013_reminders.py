"""Reminders: a mail two days before each use date (a group may turn them off) and one when a
registration is due for renewal.

`bookings.reminded_at` marks a booking whose use-date reminder went out, so a second worker
pass (or a second worker) sends none; `ix_bookings_use_date` finds a day's bookings across
the network for them. `groups.renewal_reminded_for` is the `valid_until` a renewal reminder
was sent for, so each validity period has one.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("groups", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("use_reminders", sa.Boolean(), server_default=sa.true(), nullable=False)
        )
        batch_op.add_column(sa.Column("renewal_reminded_for", sa.Date(), nullable=True))
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True))
    # The worker's reminders read one use date across the network.
    op.create_index("ix_bookings_use_date", "bookings", ["use_date"])


def downgrade() -> None:
    op.drop_index("ix_bookings_use_date", table_name="bookings")
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.drop_column("reminded_at")
    with op.batch_alter_table("groups", schema=None) as batch_op:
        batch_op.drop_column("renewal_reminded_for")
        batch_op.drop_column("use_reminders")
