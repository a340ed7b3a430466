"""Online registrations wait here until their e-mail address is confirmed by a mailed link.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pending_registrations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("selector", sa.String(length=32), nullable=False),
        sa.Column("verifier_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("registration", sa.JSON(), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pending_registrations")),
        sa.UniqueConstraint("selector", name=op.f("uq_pending_registrations_selector")),
    )
    with op.batch_alter_table("pending_registrations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pending_registrations_email"), ["email"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_pending_registrations_expires_at"), ["expires_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("pending_registrations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pending_registrations_expires_at"))
        batch_op.drop_index(batch_op.f("ix_pending_registrations_email"))
    op.drop_table("pending_registrations")
