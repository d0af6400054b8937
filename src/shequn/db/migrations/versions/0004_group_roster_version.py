"""chat_group.roster_version

A token renewed by every write to a group's memberships, so an ingestor can
keep the seats it has seen between batches and know when they went stale.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("chat_group", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("roster_version", sa.BigInteger(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("chat_group", schema=None) as batch_op:
        batch_op.drop_column("roster_version")
