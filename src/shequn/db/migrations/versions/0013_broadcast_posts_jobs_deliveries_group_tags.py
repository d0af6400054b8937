"""Broadcast posts, jobs and deliveries, and group tags

The content library (post), the jobs that send a post to many groups now or on a
schedule (broadcast_job, with next_run for the scheduler's due query), one row per
recipient and run naming the outbox key of its copy or why it was refused
(broadcast_delivery), and workspace tags on groups for ``tag:NAME`` targets (group_tag).

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import shequn.db.types  # noqa: F401  (autogenerate renders custom types by path)

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
_UTC = shequn.db.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "post",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("data", _JSON, nullable=False),
        sa.Column("tags", sa.Text(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", _UTC, nullable=False),
        sa.Column("updated_at", _UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["community.id"],
            name=op.f("fk_post_community_id_community"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["operator.id"],
            name=op.f("fk_post_created_by_operator"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_post")),
    )
    op.create_index(op.f("ix_post_community_id_id"), "post", ["community_id", "id"])

    op.create_table(
        "broadcast_job",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("targets", sa.Text(), nullable=False),
        sa.Column("schedule", sa.Text(), nullable=True),
        sa.Column("pacing", _JSON, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("last_run", _UTC, nullable=True),
        sa.Column("next_run", _UTC, nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", _UTC, nullable=False),
        sa.Column("updated_at", _UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["community.id"],
            name=op.f("fk_broadcast_job_community_id_community"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["operator.id"],
            name=op.f("fk_broadcast_job_created_by_operator"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["post_id"],
            ["post.id"],
            name=op.f("fk_broadcast_job_post_id_post"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_broadcast_job")),
    )
    op.create_index(
        op.f("ix_broadcast_job_community_id_id"), "broadcast_job", ["community_id", "id"]
    )
    op.create_index(op.f("ix_broadcast_job_post_id"), "broadcast_job", ["post_id"])
    op.create_index(
        op.f("ix_broadcast_job_status_next_run"), "broadcast_job", ["status", "next_run"]
    )

    op.create_table(
        "group_tag",
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("tag_id", sa.Integer(), nullable=False),
        sa.Column("created_at", _UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["chat_group.id"],
            name=op.f("fk_group_tag_group_id_chat_group"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tag_id"], ["tag.id"], name=op.f("fk_group_tag_tag_id_tag"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("group_id", "tag_id", name=op.f("pk_group_tag")),
    )
    op.create_index(op.f("ix_group_tag_tag_id"), "group_tag", ["tag_id"])

    op.create_table(
        "broadcast_delivery",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("run_at", _UTC, nullable=False),
        sa.Column("recipient", sa.String(length=64), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=True),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("send_at", _UTC, nullable=True),
        sa.Column("outbox_key", sa.String(length=255), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=True),
        sa.Column("refusal", _JSON, nullable=True),
        sa.Column("created_at", _UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["chat_group.id"],
            name=op.f("fk_broadcast_delivery_group_id_chat_group"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["broadcast_job.id"],
            name=op.f("fk_broadcast_delivery_job_id_broadcast_job"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
            name=op.f("fk_broadcast_delivery_member_id_member"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_broadcast_delivery")),
        sa.UniqueConstraint("outbox_key", name=op.f("uq_broadcast_delivery_outbox_key")),
    )
    op.create_index(
        op.f("ix_broadcast_delivery_job_id_run_at"), "broadcast_delivery", ["job_id", "run_at"]
    )


def downgrade() -> None:
    op.drop_table("broadcast_delivery")
    op.drop_table("group_tag")
    op.drop_table("broadcast_job")
    op.drop_table("post")
