"""Calendar feeds keep the validators they served and a key for public UIDs; groups a revision.

A feed row remembers the digest of its body's inputs, the body's ETag and a Last-Modified that
never moves back; public events get opaque UIDs under the feed's own key (existing feeds get a
random one here). A group's revision is raised on every update so that feeds showing its name
and contact change their ETag.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UID_KEY_BYTES = 16


def upgrade() -> None:
    with op.batch_alter_table("calendar_feeds", schema=None) as batch_op:
        batch_op.add_column(sa.Column("uid_key", sa.LargeBinary(length=16), nullable=True))
        batch_op.add_column(sa.Column("content_version", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("etag", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("last_modified", sa.DateTime(timezone=True), nullable=True))
    feeds = sa.table("calendar_feeds", sa.column("id", sa.Integer), sa.column("uid_key"))
    connection = op.get_bind()
    for (feed_id,) in connection.execute(sa.select(feeds.c.id)).all():
        connection.execute(
            feeds.update()
            .where(feeds.c.id == feed_id)
            .values(uid_key=secrets.token_bytes(UID_KEY_BYTES))
        )
    with op.batch_alter_table("calendar_feeds", schema=None) as batch_op:
        batch_op.alter_column("uid_key", existing_type=sa.LargeBinary(length=16), nullable=False)

    with op.batch_alter_table("groups", schema=None) as batch_op:
        batch_op.add_column(sa.Column("revision", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("groups", schema=None) as batch_op:
        batch_op.drop_column("revision")

    with op.batch_alter_table("calendar_feeds", schema=None) as batch_op:
        batch_op.drop_column("last_modified")
        batch_op.drop_column("etag")
        batch_op.drop_column("content_version")
        batch_op.drop_column("uid_key")
