"""Group templates, the group pool and rotating invites

What a new group starts with (a template), the groups of a community in the order
newcomers fill them with their capacity and warning threshold (the pool, whose rows may
precede the group they stand for while it is being created), and the rotating invite
(群活码) with each visit's source and the group it handed out.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import shequn.db.types  # noqa: F401  (autogenerate renders custom types by path)

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "group_template",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column(
            "config",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", shequn.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", shequn.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["community.id"],
            name=op.f("fk_group_template_community_id_community"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_template")),
        sa.UniqueConstraint(
            "community_id", "name", name=op.f("uq_group_template_community_id_name")
        ),
    )
    op.create_table(
        "rotating_invite",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", shequn.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", shequn.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["community.id"],
            name=op.f("fk_rotating_invite_community_id_community"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rotating_invite")),
        sa.UniqueConstraint("slug", name=op.f("uq_rotating_invite_slug")),
    )
    with op.batch_alter_table("rotating_invite", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_rotating_invite_community_id"), ["community_id"], unique=False
        )

    op.create_table(
        "group_pool",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=True),
        sa.Column("template_id", sa.Integer(), nullable=True),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("warn_ratio", sa.Float(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("join_url", sa.Text(), nullable=False),
        sa.Column("join_note", sa.Text(), nullable=False),
        sa.Column("warned_at", shequn.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("request_key", sa.String(length=255), nullable=True),
        sa.Column("requested_at", shequn.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("applied_at", shequn.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", shequn.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", shequn.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["community.id"],
            name=op.f("fk_group_pool_community_id_community"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["chat_group.id"],
            name=op.f("fk_group_pool_group_id_chat_group"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["group_template.id"],
            name=op.f("fk_group_pool_template_id_group_template"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_pool")),
        sa.UniqueConstraint("group_id", name=op.f("uq_group_pool_group_id")),
    )
    with op.batch_alter_table("group_pool", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_group_pool_community_id_position"),
            ["community_id", "position"],
            unique=False,
        )

    op.create_table(
        "invite_visit",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("invite_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("pool_id", sa.Integer(), nullable=True),
        sa.Column("group_id", sa.Integer(), nullable=True),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.Column("visited_at", shequn.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("joined_at", shequn.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["chat_group.id"],
            name=op.f("fk_invite_visit_group_id_chat_group"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["invite_id"],
            ["rotating_invite.id"],
            name=op.f("fk_invite_visit_invite_id_rotating_invite"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
            name=op.f("fk_invite_visit_member_id_member"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["pool_id"],
            ["group_pool.id"],
            name=op.f("fk_invite_visit_pool_id_group_pool"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invite_visit")),
        sa.UniqueConstraint("token", name=op.f("uq_invite_visit_token")),
    )
    with op.batch_alter_table("invite_visit", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_invite_visit_group_id_visited_at"),
            ["group_id", "visited_at"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_invite_visit_invite_id_source"), ["invite_id", "source"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_invite_visit_member_id"), ["member_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("invite_visit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invite_visit_member_id"))
        batch_op.drop_index(batch_op.f("ix_invite_visit_invite_id_source"))
        batch_op.drop_index(batch_op.f("ix_invite_visit_group_id_visited_at"))

    op.drop_table("invite_visit")
    with op.batch_alter_table("group_pool", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_group_pool_community_id_position"))

    op.drop_table("group_pool")
    with op.batch_alter_table("rotating_invite", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rotating_invite_community_id"))

    op.drop_table("rotating_invite")
    op.drop_table("group_template")
