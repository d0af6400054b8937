"""event log without foreign keys

The event table is append-only and written only by the ingest pipeline, which
resolves community, group and identity in the same transaction. Per-row
foreign-key checks doubled the cost of bulk ingest on PostgreSQL.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_FOREIGN_KEYS = [
    ("fk_event_community_id_community", "community", "community_id"),
    ("fk_event_group_id_chat_group", "chat_group", "group_id"),
    ("fk_event_identity_id_identity", "identity", "identity_id"),
]


def upgrade() -> None:
    with op.batch_alter_table("event", schema=None) as batch_op:
        for name, _table, _column in _FOREIGN_KEYS:
            batch_op.drop_constraint(name, type_="foreignkey")


def downgrade() -> None:
    with op.batch_alter_table("event", schema=None) as batch_op:
        for name, table, column in _FOREIGN_KEYS:
            batch_op.create_foreign_key(name, table, [column], ["id"], ondelete="CASCADE")
