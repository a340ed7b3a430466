"""A version per use month of claims, kept by triggers, so processes can cache claims.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_POSTGRES_FUNCTION = """
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


def upgrade() -> None:
    op.create_table(
        "claim_months",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("month", name=op.f("pk_claim_months")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_POSTGRES_FUNCTION)
        op.execute(
            "CREATE TRIGGER claims_bump_month AFTER INSERT OR UPDATE OR DELETE ON claims"
            " FOR EACH ROW EXECUTE FUNCTION bump_claim_month()"
        )
    else:
        for event, rows in (("INSERT", ("NEW",)), ("DELETE", ("OLD",)), ("UPDATE", ("OLD", "NEW"))):
            body = "".join(_SQLITE_BUMP.format(row=row) for row in rows)
            op.execute(
                f"CREATE TRIGGER claims_bump_month_{event.lower()} AFTER {event} ON claims"
                f" FOR EACH ROW BEGIN {body} END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER claims_bump_month ON claims")
        op.execute("DROP FUNCTION bump_claim_month()")
    else:
        for event in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER claims_bump_month_{event}")
    op.drop_table("claim_months")
