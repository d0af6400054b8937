"""Member activity across a community

When each member first and last spoke anywhere in a community, so that counting the
people who spoke since a day is an index range. Filled here from the per-group rows
already kept, so a database from before needs no rebuild.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import shequn.db.types  # noqa: F401  (autogenerate renders custom types by path)

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "activity_member_community",
        sa.Column("community_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("member_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("first_message_at", shequn.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_message_at", shequn.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "community_id", "member_id", name=op.f("pk_activity_member_community")
        ),
    )
    with op.batch_alter_table("activity_member_community", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_activity_member_community_community_id_last_message_at"),
            ["community_id", "last_message_at"],
            unique=False,
        )
    op.execute(
        "INSERT INTO activity_member_community "
        "(community_id, member_id, first_message_at, last_message_at) "
        "SELECT g.community_id, mg.member_id, MIN(mg.first_message_at), MAX(mg.last_message_at) "
        "FROM activity_member_group mg JOIN chat_group g ON g.id = mg.group_id "
        "GROUP BY g.community_id, mg.member_id"
    )


def downgrade() -> None:
    with op.batch_alter_table("activity_member_community", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_activity_member_community_community_id_last_message_at"))

    op.drop_table("activity_member_community")
