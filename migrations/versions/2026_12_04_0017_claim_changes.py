"""Claims' month versions (issue 20): an append-only change log, not a counter row.

Migration 0002's trigger raised `claim_months.version` on every change to a month's claims:
an UPDATE of that month's one row, whose lock every booking of the month then held from its
claims insert until its commit, so on the opening day every booking of the rushed month
waited for the one before it (bench/rush.py). Now each change appends the month to
`claim_changes`, which takes no lock another writer waits for, and a month's version is its
`claim_months.version` (kept as a base) plus the count of its log rows, read in one statement
(reservations/claim_versions.py). The count rises with every commit that changes the month, in
whatever order the commits land; the worker folds the log into the base (rows deleted and
their count added, in one transaction), which leaves every version as it was.

PostgreSQL: statement-level triggers with transition tables, one row per month a statement
touched (as 0016 did for statistics): a series' 1,000 claims append one row a month. An
UPDATE logs its rows' old and new months; PostgreSQL allows a transition table only on a
trigger of one event, hence a trigger per event sharing one function that reads both tables
(an INSERT's trigger sees no old table, a DELETE's no new one). SQLite has no statement-level
triggers: one row per changed claim (its writers take turns anyway).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_EVENTS = ("INSERT", "UPDATE", "DELETE")

# One function per event: a trigger function cannot name a transition table its trigger lacks.
_POSTGRES_FUNCTION = """
CREATE FUNCTION log_claim_{event}s() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO claim_changes (month)
    SELECT DISTINCT date_trunc('month', use_date)::date FROM ({rows}) AS changed ORDER BY 1;
    RETURN NULL;
END
$$
"""
_ROWS = {
    "INSERT": "SELECT use_date FROM new_claims",
    "UPDATE": "SELECT use_date FROM old_claims UNION ALL SELECT use_date FROM new_claims",
    "DELETE": "SELECT use_date FROM old_claims",
}
_TABLES = {
    "INSERT": "NEW TABLE AS new_claims",
    "UPDATE": "OLD TABLE AS old_claims NEW TABLE AS new_claims",
    "DELETE": "OLD TABLE AS old_claims",
}
_SQLITE_LOG = "INSERT INTO claim_changes (month) VALUES (date({row}.use_date, 'start of month'));"
_SQLITE_ROWS = {"INSERT": ("NEW",), "UPDATE": ("OLD", "NEW"), "DELETE": ("OLD",)}

# 0002's, restored by the downgrade exactly as it was.
_BUMP_FUNCTION = """
CREATE FUNCTION bump_claim_month() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        INSERT INTO claim_months (month, version)
        VALUES (date_trunc('month', OLD.use_date)::date, 1)
        ON CONFLICT (month) DO UPDATE SET version = claim_months.version + 1;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO claim_months (month, version)
        VALUES (date_trunc('month', NEW.use_date)::date, 1)
        ON CONFLICT (month) DO UPDATE SET version = claim_months.version + 1;
    END IF;
    RETURN NULL;
END
$$
"""
_SQLITE_BUMP = """
INSERT INTO claim_months (month, version) VALUES (date({row}.use_date, 'start of month'), 1)
ON CONFLICT (month) DO UPDATE SET version = version + 1;
"""

# The log folded into the base (the downgrade's last read of it): versions stay as they were.
# (SQLite's upsert after a SELECT needs its WHERE, or ON is read as a join's.)
_FOLD = """
INSERT INTO claim_months (month, version)
SELECT month, count(*) FROM claim_changes WHERE true GROUP BY month
ON CONFLICT (month) DO UPDATE SET version = claim_months.version + excluded.version
"""


def upgrade() -> None:
    op.create_table(
        "claim_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claim_changes")),
    )
    with op.batch_alter_table("claim_changes", schema=None) as batch_op:
        batch_op.create_index("ix_claim_changes_month", ["month"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER claims_bump_month ON claims")
        op.execute("DROP FUNCTION bump_claim_month()")
        for event in _EVENTS:
            op.execute(_POSTGRES_FUNCTION.format(event=event.lower(), rows=_ROWS[event]))
            op.execute(
                f"CREATE TRIGGER claims_log_{event.lower()}s AFTER {event} ON claims"
                f" REFERENCING {_TABLES[event]} FOR EACH STATEMENT"
                f" EXECUTE FUNCTION log_claim_{event.lower()}s()"
            )
        return
    for event in _EVENTS:
        op.execute(f"DROP TRIGGER claims_bump_month_{event.lower()}")
        body = "".join(_SQLITE_LOG.format(row=row) for row in _SQLITE_ROWS[event])
        op.execute(
            f"CREATE TRIGGER claims_log_{event.lower()}s AFTER {event} ON claims"
            f" FOR EACH ROW BEGIN {body} END"
        )


def downgrade() -> None:
    op.execute(_FOLD)
    if op.get_bind().dialect.name == "postgresql":
        for event in _EVENTS:
            op.execute(f"DROP TRIGGER claims_log_{event.lower()}s ON claims")
            op.execute(f"DROP FUNCTION log_claim_{event.lower()}s()")
        op.execute(_BUMP_FUNCTION)
        op.execute(
            "CREATE TRIGGER claims_bump_month AFTER INSERT OR UPDATE OR DELETE ON claims"
            " FOR EACH ROW EXECUTE FUNCTION bump_claim_month()"
        )
    else:
        for event in _EVENTS:
            op.execute(f"DROP TRIGGER claims_log_{event.lower()}s")
            body = "".join(_SQLITE_BUMP.format(row=row) for row in _SQLITE_ROWS[event])
            op.execute(
                f"CREATE TRIGGER claims_bump_month_{event.lower()} AFTER {event} ON claims"
                f" FOR EACH ROW BEGIN {body} END"
            )
    with op.batch_alter_table("claim_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_claim_changes_month")
    op.drop_table("claim_changes")
