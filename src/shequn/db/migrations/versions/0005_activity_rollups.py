"""Activity rollups

Member-day, group-day, group-hour, member-group, open questions and term-week
tables kept by the ingest pipeline, so reports never scan the event log.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import shequn.db.types  # noqa: F401  (autogenerate renders custom types by path)

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "activity_group_day",
        sa.Column("group_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("messages", sa.Integer(), nullable=False),
        sa.Column("reactions", sa.Integer(), nullable=False),
        sa.Column("joins", sa.Integer(), nullable=False),
        sa.Column("leaves", sa.Integer(), nullable=False),
        sa.Column("kicks", sa.Integer(), nullable=False),
        sa.Column("questions", sa.Integer(), nullable=False),
        sa.Column("answered_1m", sa.Integer(), nullable=False),
        sa.Column("answered_5m", sa.Integer(), nullable=False),
        sa.Column("answered_15m", sa.Integer(), nullable=False),
        sa.Column("answered_30m", sa.Integer(), nullable=False),
        sa.Column("answered_1h", sa.Integer(), nullable=False),
        sa.Column("answered_4h", sa.Integer(), nullable=False),
        sa.Column("answered_1d", sa.Integer(), nullable=False),
        sa.Column("newcomers", sa.Integer(), nullable=False),
        sa.Column("newcomers_answered", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("group_id", "day", name=op.f("pk_activity_group_day")),
    )
    op.create_table(
        "activity_group_hour",
        sa.Column("group_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("hour", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("weekday", sa.SmallInteger(), nullable=False),
        sa.Column("messages", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("group_id", "day", "hour", name=op.f("pk_activity_group_hour")),
    )
    op.create_table(
        "activity_member_day",
        sa.Column("group_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("member_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("messages", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "group_id", "day", "member_id", name=op.f("pk_activity_member_day")
        ),
    )
    with op.batch_alter_table("activity_member_day", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_activity_member_day_member_id_day"), ["member_id", "day"], unique=False
        )

    op.create_table(
        "activity_member_group",
        sa.Column("group_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("member_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("first_message_at", shequn.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_message_at", shequn.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("messages", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("group_id", "member_id", name=op.f("pk_activity_member_group")),
    )
    with op.batch_alter_table("activity_member_group", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_activity_member_group_group_id_last_message_at"),
            ["group_id", "last_message_at"],
            unique=False,
        )
    op.create_table(
        "activity_open_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("message_ref", sa.String(length=255), nullable=False),
        sa.Column("asker", sa.String(length=255), nullable=False),
        sa.Column("asker_name", sa.String(length=255), nullable=False),
        sa.Column("asked_at", shequn.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activity_open_item")),
    )
    with op.batch_alter_table("activity_open_item", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_activity_open_item_group_id_asked_at"),
            ["group_id", "asked_at"],
            unique=False,
        )

    op.create_table(
        "activity_term_week",
        sa.Column("group_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("week", sa.Date(), nullable=False),
        sa.Column("term", sa.String(length=64), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("group_id", "week", "term", name=op.f("pk_activity_term_week")),
    )


def downgrade() -> None:
    op.drop_table("activity_term_week")
    with op.batch_alter_table("activity_open_item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_activity_open_item_group_id_asked_at"))

    op.drop_table("activity_open_item")
    with op.batch_alter_table("activity_member_group", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_activity_member_group_group_id_last_message_at"))

    op.drop_table("activity_member_group")
    with op.batch_alter_table("activity_member_day", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_activity_member_day_member_id_day"))

    op.drop_table("activity_member_day")
    op.drop_table("activity_group_hour")
    op.drop_table("activity_group_day")
