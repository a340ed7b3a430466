"""Statistics change log (issue 20): on PostgreSQL, one row per month a statement touched.

Migration 0014's row-level triggers appended one `statistics_changes` row per changed row: a
lottery draw's 100,000 outcomes appended 100,000 rows (~45% of the outcome UPDATE's time).
A month's version counts its log rows (statistics/versions.py), so what it needs is that
every committed statement touching a month adds at least one row for it: the count still
rises with every such commit, in whatever order the commits land. Statement-level triggers
with a transition table append one row per distinct month of the statement's rows, with the
same source; a statement touching no row appends nothing, as before. The months logged are
the same as 0014's: the new row's on INSERT and UPDATE, the old row's on DELETE.

PostgreSQL allows a transition table only on a trigger of one event, hence a trigger per
event; they share the table's function, each naming its transition table `changed`. The
groups trigger stays per row (a column list allows no transition table; groups change
rarely). SQLite has no statement-level triggers: it keeps 0014's, this revision is a no-op.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, its use-month column, the events that change what the statistics count): 0014's
_WATCHED = (
    ("bookings", "use_date", ("INSERT", "UPDATE")),
    ("lottery_applications", "use_month", ("INSERT", "UPDATE", "DELETE")),
    ("waitlist_entries", "use_date", ("INSERT", "DELETE")),
)

_STATEMENT_FUNCTION = """
CREATE FUNCTION log_{table}_statement_statistics() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO statistics_changes (month, source)
    SELECT DISTINCT date_trunc('month', {column})::date, '{table}' FROM changed ORDER BY 1;
    RETURN NULL;
END
$$
"""

# 0014's, restored by the downgrade exactly as it was.
_ROW_FUNCTION = """
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


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column, events in _WATCHED:
        op.execute(f"DROP TRIGGER {table}_log_statistics ON {table}")
        op.execute(f"DROP FUNCTION log_{table}_statistics()")
        op.execute(_STATEMENT_FUNCTION.format(table=table, column=column))
        for event in events:
            rows = "OLD" if event == "DELETE" else "NEW"
            op.execute(
                f"CREATE TRIGGER {table}_log_statistics_{event.lower()} AFTER {event} ON {table}"
                f" REFERENCING {rows} TABLE AS changed FOR EACH STATEMENT"
                f" EXECUTE FUNCTION log_{table}_statement_statistics()"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column, events in _WATCHED:
        for event in events:
            op.execute(f"DROP TRIGGER {table}_log_statistics_{event.lower()} ON {table}")
        op.execute(f"DROP FUNCTION log_{table}_statement_statistics()")
        op.execute(_ROW_FUNCTION.format(table=table, column=column))
        op.execute(
            f"CREATE TRIGGER {table}_log_statistics AFTER {' OR '.join(events)} ON {table}"
            f" FOR EACH ROW EXECUTE FUNCTION log_{table}_statistics()"
        )
