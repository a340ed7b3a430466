"""The registration desk's indexes: the pending queue oldest first, and trigram indexes for
the search by a part of a group's or a member's name (PostgreSQL's pg_trgm; plain indexes on
SQLite).

bench/registration_queue.py: a member-name search over 130,000 members took 47.6 ms as a
sequential scan and 8.6 ms with the trigram index.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TRIGRAM = (
    ("ix_groups_name_trgm", "groups", "name"),
    ("ix_groups_name_kana_trgm", "groups", "name_kana"),
    ("ix_group_members_name_trgm", "group_members", "name"),
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # A trusted extension since PostgreSQL 13: the database's owner may create it.
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_index(
        "ix_groups_pending_created",
        "groups",
        ["created_at", "id"],
        sqlite_where=sa.text("status = 'pending'"),
        postgresql_where=sa.text("status = 'pending'"),
    )
    for name, table, column in _TRIGRAM:
        op.create_index(
            name,
            table,
            [column],
            postgresql_using="gin",
            postgresql_ops={column: "gin_trgm_ops"},
        )


def downgrade() -> None:
    for name, table, _ in _TRIGRAM:
        op.drop_index(name, table_name=table)
    op.drop_index("ix_groups_pending_created", table_name="groups")
