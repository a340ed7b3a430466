"""The network kept in the system: fee schedules and policy revisions from a date, notices,
receipts, and the staff edits and estimate confirmations a later data load must respect.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "policy_revisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("policy_id", sa.Integer(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_user_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"],
            ["users.id"],
            name=op.f("fk_policy_revisions_created_by_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["policy_id"],
            ["policies.id"],
            name=op.f("fk_policy_revisions_policy_id_policies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_revisions")),
        sa.UniqueConstraint(
            "policy_id", "effective_from", name=op.f("uq_policy_revisions_policy_id_effective_from")
        ),
    )
    op.create_index(
        op.f("ix_policy_revisions_policy_id"), "policy_revisions", ["policy_id"], unique=False
    )
    op.create_table(
        "notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("facility_id", sa.Integer(), nullable=False),
        sa.Column("title_ja", sa.String(length=200), nullable=False),
        sa.Column("title_en", sa.String(length=200), nullable=True),
        sa.Column("body_ja", sa.Text(), nullable=False),
        sa.Column("body_en", sa.Text(), nullable=True),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_user_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"], ["users.id"], name=op.f("fk_notices_created_by_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["facility_id"], ["facilities.id"], name=op.f("fk_notices_facility_id_facilities")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notices")),
    )
    op.create_index(op.f("ix_notices_facility_id"), "notices", ["facility_id"], unique=False)
    op.create_table(
        "room_fee_schedules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("fees", sa.JSON(), nullable=True),
        sa.Column("all_day_fee", sa.Integer(), nullable=True),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_user_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"],
            ["users.id"],
            name=op.f("fk_room_fee_schedules_created_by_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["room_id"],
            ["rooms.id"],
            name=op.f("fk_room_fee_schedules_room_id_rooms"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_room_fee_schedules")),
        sa.UniqueConstraint(
            "room_id", "effective_from", name=op.f("uq_room_fee_schedules_room_id_effective_from")
        ),
    )
    op.create_index(
        op.f("ix_room_fee_schedules_room_id"), "room_fee_schedules", ["room_id"], unique=False
    )
    op.create_table(
        "receipts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("booking_id", sa.Integer(), nullable=False),
        sa.Column("facility_id", sa.Integer(), nullable=False),
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(length=30), nullable=True),
        sa.Column("verification_code", sa.String(length=20), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("issued_by_user_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["booking_id"], ["bookings.id"], name=op.f("fk_receipts_booking_id_bookings")
        ),
        sa.ForeignKeyConstraint(
            ["facility_id"], ["facilities.id"], name=op.f("fk_receipts_facility_id_facilities")
        ),
        sa.ForeignKeyConstraint(
            ["issued_by_user_id"], ["users.id"], name=op.f("fk_receipts_issued_by_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_receipts")),
        sa.UniqueConstraint(
            "facility_id",
            "fiscal_year",
            "kind",
            "number",
            name=op.f("uq_receipts_facility_id_fiscal_year_kind_number"),
        ),
    )
    op.create_index(op.f("ix_receipts_booking_id"), "receipts", ["booking_id"], unique=False)
    op.add_column(
        "facilities", sa.Column("staff_edits", sa.JSON(), server_default="{}", nullable=False)
    )
    op.add_column(
        "facilities", sa.Column("confirmations", sa.JSON(), server_default="{}", nullable=False)
    )
    op.add_column("rooms", sa.Column("staff_edits", sa.JSON(), server_default="{}", nullable=False))
    op.add_column(
        "rooms", sa.Column("confirmations", sa.JSON(), server_default="{}", nullable=False)
    )


def downgrade() -> None:
    op.drop_column("rooms", "confirmations")
    op.drop_column("rooms", "staff_edits")
    op.drop_column("facilities", "confirmations")
    op.drop_column("facilities", "staff_edits")
    op.drop_index(op.f("ix_receipts_booking_id"), table_name="receipts")
    op.drop_table("receipts")
    op.drop_index(op.f("ix_room_fee_schedules_room_id"), table_name="room_fee_schedules")
    op.drop_table("room_fee_schedules")
    op.drop_index(op.f("ix_notices_facility_id"), table_name="notices")
    op.drop_table("notices")
    op.drop_index(op.f("ix_policy_revisions_policy_id"), table_name="policy_revisions")
    op.drop_table("policy_revisions")
