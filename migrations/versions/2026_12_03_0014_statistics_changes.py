"""Statistics (issue 19): a change log appended by triggers, so cached counts stay true.

Every insert or update of a booking, every change to a lottery application and every
wait-list entry appends its use month and its table to `statistics_changes`; a change to a
group's category or residency appends NULL (it moves figures of every month). statistics/versions.py reads a
month's version from it; statistics/models.py says why a log and not a counter.

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
_SQLITE_MONTH = "date({row}.{column}, 'start of month')"
_WATCHED = (
    ("bookings", "use_date", ("INSERT", "UPDATE")),
    ("lottery_applications", "use_month", ("INSERT", "UPDATE", "DELETE")),
    ("waitlist_entries", "use_date", ("INSERT", "DELETE")),
)

_POSTGRES_FUNCTION = """
CREATE FUNCTION log_statistics_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'groups' THEN
        INSERT INTO statistics_changes (month, source) VALUES (NULL, TG_TABLE_NAME);
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO statistics_changes (month, source)
        VALUES (date_trunc('month', (to_jsonb(OLD) ->> TG_ARGV[0])::date)::date, TG_TABLE_NAME);
    ELSE
        INSERT INTO statistics_changes (month, source)
        VALUES (date_trunc('month', (to_jsonb(NEW) ->> TG_ARGV[0])::date)::date, TG_TABLE_NAME);
    END IF;
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
        op.execute(_POSTGRES_FUNCTION)
        for table, column, events in _WATCHED:
            op.execute(
                f"CREATE TRIGGER {table}_log_statistics AFTER {' OR '.join(events)} ON {table}"
                f" FOR EACH ROW EXECUTE FUNCTION log_statistics_change('{column}')"
            )
        op.execute(
            "CREATE TRIGGER groups_log_statistics AFTER UPDATE OF category, in_city ON groups"
            " FOR EACH ROW EXECUTE FUNCTION log_statistics_change()"
        )
        return
    for table, column, events in _WATCHED:
        for event in events:
            row = "OLD" if event == "DELETE" else "NEW"
            month = _SQLITE_MONTH.format(row=row, column=column)
            op.execute(
                f"CREATE TRIGGER {table}_log_statistics_{event.lower()} AFTER {event} ON {table}"
                " FOR EACH ROW BEGIN INSERT INTO statistics_changes (month, source)"
                f" VALUES ({month}, '{table}'); END"
            )
    op.execute(
        "CREATE TRIGGER groups_log_statistics AFTER UPDATE OF category, in_city ON groups"
        " FOR EACH ROW BEGIN INSERT INTO statistics_changes (month, source)"
        " VALUES (NULL, 'groups'); END"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table, _column, _events in _WATCHED:
            op.execute(f"DROP TRIGGER {table}_log_statistics ON {table}")
        op.execute("DROP TRIGGER groups_log_statistics ON groups")
        op.execute("DROP FUNCTION log_statistics_change()")
    else:
        for table, _column, events in _WATCHED:
            for event in events:
                op.execute(f"DROP TRIGGER {table}_log_statistics_{event.lower()}")
        op.execute("DROP TRIGGER groups_log_statistics")
    with op.batch_alter_table("statistics_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_statistics_changes_month")
    op.drop_table("statistics_changes")
