"""The facility network (wards, kinds, facilities, rooms, units, periods, policies, closures)
and the claims table that makes double booking impossible.

Revision ID: 0001
Revises:
Create Date: 2026-11-24 19:26:41.352769+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inventory_revision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_inventory_revision_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inventory_revision")),
    )
    op.create_table(
        "period_grids",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("name_ja", sa.String(length=200), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=False),
        sa.Column("estimated_fields", sa.JSON(), nullable=False),
        sa.Column("estimate_basis", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_period_grids")),
        sa.UniqueConstraint("key", name=op.f("uq_period_grids_key")),
    )
    op.create_table(
        "policies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("estimate_basis", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policies")),
        sa.UniqueConstraint("key", name=op.f("uq_policies_key")),
    )
    op.create_table(
        "purposes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("name_ja", sa.String(length=200), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_purposes")),
        sa.UniqueConstraint("key", name=op.f("uq_purposes_key")),
    )
    op.create_table(
        "wards",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("name_ja", sa.String(length=200), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=False),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wards")),
        sa.UniqueConstraint("key", name=op.f("uq_wards_key")),
    )
    op.create_table(
        "facility_kinds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("name_ja", sa.String(length=200), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=False),
        sa.Column("policy_id", sa.Integer(), nullable=True),
        sa.Column("period_grid_id", sa.Integer(), nullable=False),
        sa.Column("opening_hours", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["period_grid_id"],
            ["period_grids.id"],
            name=op.f("fk_facility_kinds_period_grid_id_period_grids"),
        ),
        sa.ForeignKeyConstraint(
            ["policy_id"], ["policies.id"], name=op.f("fk_facility_kinds_policy_id_policies")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_facility_kinds")),
        sa.UniqueConstraint("key", name=op.f("uq_facility_kinds_key")),
    )
    op.create_table(
        "periods",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("grid_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=8), nullable=False),
        sa.Column("name_ja", sa.String(length=200), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=False),
        sa.Column("start_time", sa.Time(), nullable=False),
        sa.Column("end_time", sa.Time(), nullable=False),
        sa.Column("on_weekday", sa.Boolean(), nullable=False),
        sa.Column("on_saturday", sa.Boolean(), nullable=False),
        sa.Column("on_sunday_holiday", sa.Boolean(), nullable=False),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.Column("estimated_fields", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["grid_id"],
            ["period_grids.id"],
            name=op.f("fk_periods_grid_id_period_grids"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_periods")),
        sa.UniqueConstraint("grid_id", "code", name=op.f("uq_periods_grid_id_code")),
    )
    op.create_table(
        "facilities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("kind_id", sa.Integer(), nullable=False),
        sa.Column("name_ja", sa.String(length=200), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=False),
        sa.Column("ward_id", sa.Integer(), nullable=True),
        sa.Column("address", sa.String(length=300), nullable=True),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("external_id", sa.String(length=40), nullable=True),
        sa.Column("opens_on", sa.Date(), nullable=True),
        sa.Column("closes_on", sa.Date(), nullable=True),
        sa.Column("policy_id", sa.Integer(), nullable=True),
        sa.Column("period_grid_id", sa.Integer(), nullable=True),
        sa.Column("opening_hours", sa.JSON(), nullable=True),
        sa.Column("estimated_fields", sa.JSON(), nullable=False),
        sa.Column("estimate_basis", sa.Text(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["kind_id"], ["facility_kinds.id"], name=op.f("fk_facilities_kind_id_facility_kinds")
        ),
        sa.ForeignKeyConstraint(
            ["period_grid_id"],
            ["period_grids.id"],
            name=op.f("fk_facilities_period_grid_id_period_grids"),
        ),
        sa.ForeignKeyConstraint(
            ["policy_id"], ["policies.id"], name=op.f("fk_facilities_policy_id_policies")
        ),
        sa.ForeignKeyConstraint(
            ["ward_id"], ["wards.id"], name=op.f("fk_facilities_ward_id_wards")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_facilities")),
        sa.UniqueConstraint("key", name=op.f("uq_facilities_key")),
    )
    with op.batch_alter_table("facilities", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_facilities_kind_id"), ["kind_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_facilities_ward_id"), ["ward_id"], unique=False)

    op.create_table(
        "closure_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("facility_kind_id", sa.Integer(), nullable=True),
        sa.Column("facility_id", sa.Integer(), nullable=True),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.CheckConstraint(
            "(facility_kind_id IS NULL) <> (facility_id IS NULL)",
            name=op.f("ck_closure_rules_one_owner"),
        ),
        sa.ForeignKeyConstraint(
            ["facility_id"],
            ["facilities.id"],
            name=op.f("fk_closure_rules_facility_id_facilities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["facility_kind_id"],
            ["facility_kinds.id"],
            name=op.f("fk_closure_rules_facility_kind_id_facility_kinds"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_closure_rules")),
    )
    with op.batch_alter_table("closure_rules", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_closure_rules_facility_id"), ["facility_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_closure_rules_facility_kind_id"), ["facility_kind_id"], unique=False
        )

    op.create_table(
        "rooms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("facility_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("name_ja", sa.String(length=200), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=True),
        sa.Column("area_m2", sa.Float(), nullable=True),
        sa.Column("equipment", sa.JSON(), nullable=False),
        sa.Column("fees", sa.JSON(), nullable=True),
        sa.Column("all_day_fee", sa.Integer(), nullable=True),
        sa.Column("online_bookable", sa.Boolean(), nullable=False),
        sa.Column("purposes", sa.JSON(), nullable=True),
        sa.Column("external_id", sa.String(length=40), nullable=True),
        sa.Column("policy_id", sa.Integer(), nullable=True),
        sa.Column("period_grid_id", sa.Integer(), nullable=True),
        sa.Column("is_estimated", sa.Boolean(), nullable=False),
        sa.Column("estimated_fields", sa.JSON(), nullable=False),
        sa.Column("estimate_basis", sa.Text(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "capacity IS NULL OR capacity > 0", name=op.f("ck_rooms_capacity_positive")
        ),
        sa.ForeignKeyConstraint(
            ["facility_id"], ["facilities.id"], name=op.f("fk_rooms_facility_id_facilities")
        ),
        sa.ForeignKeyConstraint(
            ["period_grid_id"],
            ["period_grids.id"],
            name=op.f("fk_rooms_period_grid_id_period_grids"),
        ),
        sa.ForeignKeyConstraint(
            ["policy_id"], ["policies.id"], name=op.f("fk_rooms_policy_id_policies")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rooms")),
        sa.UniqueConstraint("facility_id", "key", name=op.f("uq_rooms_facility_id_key")),
    )
    with op.batch_alter_table("rooms", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rooms_facility_id"), ["facility_id"], unique=False)

    op.create_table(
        "units",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("facility_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["facility_id"], ["facilities.id"], name=op.f("fk_units_facility_id_facilities")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_units")),
        sa.UniqueConstraint("facility_id", "key", name=op.f("uq_units_facility_id_key")),
    )
    with op.batch_alter_table("units", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_units_facility_id"), ["facility_id"], unique=False)

    op.create_table(
        "claims",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("use_date", sa.Date(), nullable=False),
        sa.Column("period_code", sa.String(length=8), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "booking",
                "hold",
                "lottery_win",
                "block",
                name="claim_kind",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_claims_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claims")),
        sa.UniqueConstraint(
            "unit_id",
            "use_date",
            "period_code",
            name=op.f("uq_claims_unit_id_use_date_period_code"),
        ),
    )
    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.create_index("ix_claims_use_date_unit_id", ["use_date", "unit_id"], unique=False)

    op.create_table(
        "room_units",
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["room_id"], ["rooms.id"], name=op.f("fk_room_units_room_id_rooms"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_room_units_unit_id_units")
        ),
        sa.PrimaryKeyConstraint("room_id", "unit_id", name=op.f("pk_room_units")),
    )
    with op.batch_alter_table("room_units", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_room_units_unit_id"), ["unit_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("room_units", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_room_units_unit_id"))

    op.drop_table("room_units")
    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.drop_index("ix_claims_use_date_unit_id")

    op.drop_table("claims")
    with op.batch_alter_table("units", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_units_facility_id"))

    op.drop_table("units")
    with op.batch_alter_table("rooms", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rooms_facility_id"))

    op.drop_table("rooms")
    with op.batch_alter_table("closure_rules", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_closure_rules_facility_kind_id"))
        batch_op.drop_index(batch_op.f("ix_closure_rules_facility_id"))

    op.drop_table("closure_rules")
    with op.batch_alter_table("facilities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_facilities_ward_id"))
        batch_op.drop_index(batch_op.f("ix_facilities_kind_id"))

    op.drop_table("facilities")
    op.drop_table("periods")
    op.drop_table("facility_kinds")
    op.drop_table("wards")
    op.drop_table("purposes")
    op.drop_table("policies")
    op.drop_table("period_grids")
    op.drop_table("inventory_revision")
