"""Operator tasks

The operator inbox (operator_task): one row per NOTIFY_OPERATOR action performed, keyed
by that action's outbox key so a notice performed twice is one task, with who marked it
done, when, and their note.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import shequn.db.types  # noqa: F401  (autogenerate renders custom types by path)

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
_UTC = shequn.db.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "operator_task",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("params", _JSON, nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=True),
        sa.Column("group_ref", sa.String(length=255), nullable=True),
        sa.Column("group_id", sa.Integer(), nullable=True),
        sa.Column("user_ref", sa.String(length=255), nullable=True),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("source_key", sa.String(length=255), nullable=False),
        sa.Column("created_at", _UTC, nullable=False),
        sa.Column("done_at", _UTC, nullable=True),
        sa.Column("done_by", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["community.id"],
            name=op.f("fk_operator_task_community_id_community"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operator_task")),
        sa.UniqueConstraint("source_key", name=op.f("uq_operator_task_source_key")),
    )
    op.create_index(
        op.f("ix_operator_task_community_id_done_at_id"),
        "operator_task",
        ["community_id", "done_at", "id"],
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_operator_task_community_id_done_at_id"), table_name="operator_task")
    op.drop_table("operator_task")
