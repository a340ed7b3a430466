"""Statistics (issue 19): a change log appended by triggers, so cached counts stay true.

Every insert or update of a booking, every change to a lottery application and every
wait-list entry appends its use month and its table to `statistics_changes`; a change to a
group's category or residency appends NULL (it moves figures of every month).
statistics/versions.py reads a month's version from it; statistics/models.py says why a log
and not a counter.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, its use-month column, the events that change what the statistics count)
_SQLITE_LOG = (
    "INSERT INTO statistics_changes (month, source)"
    " VALUES (date({row}.{column}, 'start of month'), '{table}');"
)
_WATCHED = (
    ("bookings", "use_date", ("INSERT", "UPDATE")),
    ("lottery_applications", "use_month", ("INSERT", "UPDATE", "DELETE")),
    ("waitlist_entries", "use_date", ("INSERT", "DELETE")),
)

# One function a table: reading NEW.<column> directly costs a booking nothing measurable;
# a generic function reading the column by name (to_jsonb(NEW)) cost a booking ~6%.
_POSTGRES_FUNCTION = """
CREATE FUNCTION log_{table}_statistics() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO statistics_changes (month, source) VALUES (
        date_trunc(
            'month', CASE WHEN TG_OP = 'DELETE' THEN OLD.{column} ELSE NEW.{column} END
        )::date,
        '{table}'
    );
    RETURN NULL;
END
$$
"""
_POSTGRES_GROUPS = """
CREATE FUNCTION log_groups_statistics() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO statistics_changes (month, source) VALUES (NULL, 'groups');
    RETURN NULL;
END
$$
"""


def upgrade() -> None:
    op.create_table(
        "statistics_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=True),
        sa.Column("source", sa.String(length=24), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_statistics_changes")),
    )
    with op.batch_alter_table("statistics_changes", schema=None) as batch_op:
        batch_op.create_index("ix_statistics_changes_month", ["month"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        for table, column, events in _WATCHED:
            op.execute(_POSTGRES_FUNCTION.format(table=table, column=column))
            op.execute(
                f"CREATE TRIGGER {table}_log_statistics AFTER {' OR '.join(events)} ON {table}"
                f" FOR EACH ROW EXECUTE FUNCTION log_{table}_statistics()"
            )
        op.execute(_POSTGRES_GROUPS)
        op.execute(
            "CREATE TRIGGER groups_log_statistics AFTER UPDATE OF category, in_city ON groups"
            " FOR EACH ROW EXECUTE FUNCTION log_groups_statistics()"
        )
        return
    for table, column, events in _WATCHED:
        for event in events:
            row = "OLD" if event == "DELETE" else "NEW"
            body = _SQLITE_LOG.format(row=row, column=column, table=table)
            op.execute(
                f"CREATE TRIGGER {table}_log_statistics_{event.lower()} AFTER {event} ON {table}"
                f" FOR EACH ROW BEGIN {body} END"
            )
    op.execute(
        "CREATE TRIGGER groups_log_statistics AFTER UPDATE OF category, in_city ON groups"
        " FOR EACH ROW BEGIN INSERT INTO statistics_changes (month, source)"
        " VALUES (NULL, 'groups'); END"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table, _column, _events in (*_WATCHED, ("groups", None, None)):
            op.execute(f"DROP TRIGGER {table}_log_statistics ON {table}")
            op.execute(f"DROP FUNCTION log_{table}_statistics()")
    else:
        for table, _column, events in _WATCHED:
            for event in events:
                op.execute(f"DROP TRIGGER {table}_log_statistics_{event.lower()}")
        op.execute("DROP TRIGGER groups_log_statistics")
    with op.batch_alter_table("statistics_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_statistics_changes_month")
    op.drop_table("statistics_changes")
