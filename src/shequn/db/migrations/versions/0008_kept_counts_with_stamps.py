"""Kept counts with stamps

The kept distinct-speaker counts become kept counts of any kind, with a stamp made
from the roster versions they were counted from (``features.analytics.kept``).
The old table held only a cache, recounted on the next read, so it is dropped
rather than copied.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import shequn.db.types  # noqa: F401  (autogenerate renders custom types by path)

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kept_count",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("scope_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("period", sa.Date(), nullable=False),
        sa.Column("stamp", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "scope_id", "period", name=op.f("pk_kept_count")),
    )
    op.drop_table("activity_distinct")


def downgrade() -> None:
    op.create_table(
        "activity_distinct",
        sa.Column("kind", sa.VARCHAR(length=16), nullable=False),
        sa.Column("scope_id", sa.INTEGER(), nullable=False),
        sa.Column("period", sa.DATE(), nullable=False),
        sa.Column("speakers", sa.INTEGER(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "scope_id", "period", name=op.f("pk_activity_distinct")),
    )
    op.drop_table("kept_count")
