"""Recurring bookings (series) and the wait list with its offers; claims of kind `offer`.

An offer claims its slot like a hold, so the claims' kind check takes `offer`. PostgreSQL
swaps the check; SQLite cannot alter one, so its claims table is copied (batch mode), which
drops the table's triggers: the month-version triggers of 0002 are made again, unchanged.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KINDS = ("booking", "hold", "lottery_win", "block")
# 0002's trigger body, as it was
_SQLITE_BUMP = """
INSERT INTO claim_months (month, version) VALUES (date({row}.use_date, 'start of month'), 1)
ON CONFLICT (month) DO UPDATE SET version = version + 1;
"""


def _claim_kinds(kinds: tuple[str, ...]) -> None:
    """Let the claims' kind be one of `kinds` (the CHECK of the model's enum)."""
    check = "kind IN (" + ", ".join(f"'{k}'" for k in kinds) + ")"
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(op.f("ck_claims_claim_kind"), "claims", type_="check")
        op.create_check_constraint(op.f("ck_claims_claim_kind"), "claims", sa.text(check))
        return
    with op.batch_alter_table("claims", recreate="always") as batch_op:
        batch_op.drop_constraint(op.f("ck_claims_claim_kind"), type_="check")
        batch_op.create_check_constraint(op.f("ck_claims_claim_kind"), sa.text(check))
    for event, rows in (("INSERT", ("NEW",)), ("DELETE", ("OLD",)), ("UPDATE", ("OLD", "NEW"))):
        body = "".join(_SQLITE_BUMP.format(row=row) for row in rows)
        op.execute(
            f"CREATE TRIGGER claims_bump_month_{event.lower()} AFTER {event} ON claims"
            f" FOR EACH ROW BEGIN {body} END"
        )


def upgrade() -> None:
    _claim_kinds((*_KINDS, "offer"))
    op.create_table(
        "series",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("facility_id", sa.Integer(), nullable=False),
        sa.Column("period_codes", sa.JSON(), nullable=False),
        sa.Column(
            "every",
            sa.Enum(
                "week",
                "two_weeks",
                "month_weekday",
                name="series_pattern",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("first_date", sa.Date(), nullable=False),
        sa.Column("last_date", sa.Date(), nullable=False),
        sa.Column("skip_dates", sa.JSON(), nullable=False),
        sa.Column("purpose", sa.String(length=60), nullable=False),
        sa.Column("headcount", sa.Integer(), nullable=False),
        sa.Column("event_name", sa.String(length=200), nullable=True),
        sa.Column("charges_admission", sa.Boolean(), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_user_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"], ["users.id"], name=op.f("fk_series_created_by_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["facility_id"], ["facilities.id"], name=op.f("fk_series_facility_id_facilities")
        ),
        sa.ForeignKeyConstraint(
            ["group_id"], ["groups.id"], name=op.f("fk_series_group_id_groups")
        ),
        sa.ForeignKeyConstraint(["room_id"], ["rooms.id"], name=op.f("fk_series_room_id_rooms")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_series")),
    )
    with op.batch_alter_table("series", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_series_facility_id"), ["facility_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_series_group_id"), ["group_id"], unique=False)

    op.create_table(
        "waitlist_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("facility_id", sa.Integer(), nullable=False),
        sa.Column("use_date", sa.Date(), nullable=False),
        sa.Column("period_codes", sa.JSON(), nullable=False),
        sa.Column("periods_key", sa.String(length=60), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "waiting",
                "offered",
                "booked",
                "declined",
                "expired",
                "left",
                "closed",
                name="waitlist_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("joined_by_user_id", sa.Integer(), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["facility_id"],
            ["facilities.id"],
            name=op.f("fk_waitlist_entries_facility_id_facilities"),
        ),
        sa.ForeignKeyConstraint(
            ["group_id"], ["groups.id"], name=op.f("fk_waitlist_entries_group_id_groups")
        ),
        sa.ForeignKeyConstraint(
            ["joined_by_user_id"],
            ["users.id"],
            name=op.f("fk_waitlist_entries_joined_by_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["room_id"], ["rooms.id"], name=op.f("fk_waitlist_entries_room_id_rooms")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_waitlist_entries")),
    )
    with op.batch_alter_table("waitlist_entries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_waitlist_entries_group_id_status", ["group_id", "status"], unique=False
        )
        batch_op.create_index(
            "ix_waitlist_entries_use_date_status", ["use_date", "status"], unique=False
        )
        batch_op.create_index(
            "uq_waitlist_entries_live",
            ["group_id", "room_id", "use_date", "periods_key"],
            unique=True,
            postgresql_where=sa.text("status IN ('waiting', 'offered')"),
            sqlite_where=sa.text("status IN ('waiting', 'offered')"),
        )

    op.create_table(
        "waitlist_offers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("facility_id", sa.Integer(), nullable=False),
        sa.Column("use_date", sa.Date(), nullable=False),
        sa.Column("period_codes", sa.JSON(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "open",
                "accepted",
                "declined",
                "expired",
                name="offer_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("made_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by_user_id", sa.Integer(), nullable=True),
        sa.Column("booking_id", sa.Integer(), nullable=True),
        sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["booking_id"], ["bookings.id"], name=op.f("fk_waitlist_offers_booking_id_bookings")
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_user_id"],
            ["users.id"],
            name=op.f("fk_waitlist_offers_decided_by_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["waitlist_entries.id"],
            name=op.f("fk_waitlist_offers_entry_id_waitlist_entries"),
        ),
        sa.ForeignKeyConstraint(
            ["facility_id"],
            ["facilities.id"],
            name=op.f("fk_waitlist_offers_facility_id_facilities"),
        ),
        sa.ForeignKeyConstraint(
            ["group_id"], ["groups.id"], name=op.f("fk_waitlist_offers_group_id_groups")
        ),
        sa.ForeignKeyConstraint(
            ["room_id"], ["rooms.id"], name=op.f("fk_waitlist_offers_room_id_rooms")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_waitlist_offers")),
        sa.UniqueConstraint("entry_id", name=op.f("uq_waitlist_offers_entry_id")),
    )
    with op.batch_alter_table("waitlist_offers", schema=None) as batch_op:
        batch_op.create_index(
            "ix_waitlist_offers_group_id_status", ["group_id", "status"], unique=False
        )
        batch_op.create_index(
            "ix_waitlist_offers_status_expires_at", ["status", "expires_at"], unique=False
        )

    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("series_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_bookings_series_id"), ["series_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_bookings_series_id_series"), "series", ["series_id"], ["id"]
        )


def downgrade() -> None:
    op.execute("DELETE FROM claims WHERE kind = 'offer'")
    _claim_kinds(_KINDS)
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_bookings_series_id_series"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_bookings_series_id"))
        batch_op.drop_column("series_id")

    with op.batch_alter_table("waitlist_offers", schema=None) as batch_op:
        batch_op.drop_index("ix_waitlist_offers_status_expires_at")
        batch_op.drop_index("ix_waitlist_offers_group_id_status")

    op.drop_table("waitlist_offers")
    with op.batch_alter_table("waitlist_entries", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_waitlist_entries_live",
            postgresql_where=sa.text("status IN ('waiting', 'offered')"),
            sqlite_where=sa.text("status IN ('waiting', 'offered')"),
        )
        batch_op.drop_index("ix_waitlist_entries_use_date_status")
        batch_op.drop_index("ix_waitlist_entries_group_id_status")

    op.drop_table("waitlist_entries")
    with op.batch_alter_table("series", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_series_group_id"))
        batch_op.drop_index(batch_op.f("ix_series_facility_id"))

    op.drop_table("series")
