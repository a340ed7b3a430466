"""The monthly lottery: cycles with their committed secret, applications, and the published
draws.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "lottery_cycles",
        sa.Column("use_month", sa.Date(), nullable=False),
        sa.Column("secret_hex", sa.String(length=64), nullable=False),
        sa.Column("commitment", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("use_month", name=op.f("pk_lottery_cycles")),
    )
    op.create_table(
        "lottery_draws",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("use_month", sa.Date(), nullable=False),
        sa.Column("facility_id", sa.Integer(), nullable=False),
        sa.Column("drawn_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("algorithm", sa.String(length=30), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("application_count", sa.Integer(), nullable=False),
        sa.Column("win_count", sa.Integer(), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["facility_id"], ["facilities.id"], name=op.f("fk_lottery_draws_facility_id_facilities")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lottery_draws")),
        sa.UniqueConstraint(
            "use_month", "facility_id", name=op.f("uq_lottery_draws_use_month_facility_id")
        ),
    )
    op.create_table(
        "lottery_applications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("use_month", sa.Date(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("facility_id", sa.Integer(), nullable=False),
        sa.Column("use_date", sa.Date(), nullable=False),
        sa.Column("period_codes", sa.JSON(), nullable=False),
        sa.Column("purpose", sa.String(length=60), nullable=False),
        sa.Column("headcount", sa.Integer(), nullable=False),
        sa.Column("event_name", sa.String(length=200), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "applied",
                "withdrawn",
                "won",
                "lost",
                "confirmed",
                "lapsed",
                name="application_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_user_id", sa.Integer(), nullable=True),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("position", sa.Integer(), nullable=True),
        sa.Column("lose_reason", sa.String(length=20), nullable=True),
        sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("booking_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["booking_id"],
            ["bookings.id"],
            name=op.f("fk_lottery_applications_booking_id_bookings"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"],
            ["users.id"],
            name=op.f("fk_lottery_applications_created_by_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["facility_id"],
            ["facilities.id"],
            name=op.f("fk_lottery_applications_facility_id_facilities"),
        ),
        sa.ForeignKeyConstraint(
            ["group_id"], ["groups.id"], name=op.f("fk_lottery_applications_group_id_groups")
        ),
        sa.ForeignKeyConstraint(
            ["room_id"], ["rooms.id"], name=op.f("fk_lottery_applications_room_id_rooms")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lottery_applications")),
    )
    with op.batch_alter_table("lottery_applications", schema=None) as batch_op:
        batch_op.create_index(
            "ix_lottery_applications_group_month", ["group_id", "use_month"], unique=False
        )
        batch_op.create_index(
            "ix_lottery_applications_month_facility",
            ["use_month", "facility_id", "status"],
            unique=False,
        )
        batch_op.create_index(
            "ix_lottery_applications_room_date", ["room_id", "use_date"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("lottery_applications", schema=None) as batch_op:
        batch_op.drop_index("ix_lottery_applications_room_date")
        batch_op.drop_index("ix_lottery_applications_month_facility")
        batch_op.drop_index("ix_lottery_applications_group_month")

    op.drop_table("lottery_applications")
    op.drop_table("lottery_draws")
    op.drop_table("lottery_cycles")
