"""Outbox leases and routing, and adapter status

What the dispatcher needs to claim actions safely from several processes (a lease
per claimed row, the platform and group each action goes to) and what the
dashboard shows of each running adapter.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import shequn.db.types  # noqa: F401  (autogenerate renders custom types by path)

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "adapter_status",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("account", sa.String(length=255), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("worker", sa.String(length=64), nullable=False),
        sa.Column("since", shequn.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", shequn.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["community.id"],
            name=op.f("fk_adapter_status_community_id_community"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_adapter_status")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("platform", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("group_ref", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("worker", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("lease_until", shequn.db.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("done_at", shequn.db.types.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("done_at")
        batch_op.drop_column("lease_until")
        batch_op.drop_column("worker")
        batch_op.drop_column("group_ref")
        batch_op.drop_column("platform")

    op.drop_table("adapter_status")
