"""Numbered documents: a counter per facility, fiscal year and kind; the permits issued.

A permit (利用許可書) gets its number on its first issue from the counter of its facility and
fiscal year; receipts will count in the same table under their own kind.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "document_counters",
        sa.Column("facility_id", sa.Integer(), nullable=False),
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("last_number", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["facility_id"],
            ["facilities.id"],
            name=op.f("fk_document_counters_facility_id_facilities"),
        ),
        sa.PrimaryKeyConstraint(
            "facility_id", "fiscal_year", "kind", name=op.f("pk_document_counters")
        ),
    )
    op.create_table(
        "permits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("booking_id", sa.Integer(), nullable=False),
        sa.Column("facility_id", sa.Integer(), nullable=False),
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("verification_code", sa.String(length=20), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("issued_by_user_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["booking_id"], ["bookings.id"], name=op.f("fk_permits_booking_id_bookings")
        ),
        sa.ForeignKeyConstraint(
            ["facility_id"], ["facilities.id"], name=op.f("fk_permits_facility_id_facilities")
        ),
        sa.ForeignKeyConstraint(
            ["issued_by_user_id"], ["users.id"], name=op.f("fk_permits_issued_by_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_permits")),
        sa.UniqueConstraint("booking_id", name=op.f("uq_permits_booking_id")),
        sa.UniqueConstraint(
            "facility_id",
            "fiscal_year",
            "number",
            name=op.f("uq_permits_facility_id_fiscal_year_number"),
        ),
    )


def downgrade() -> None:
    op.drop_table("permits")
    op.drop_table("document_counters")
