"""The append-only event log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shequn.db.base import Base
from shequn.db.types import BigId, Json, UTCDateTime


class EventRow(Base):
    """A stored Event. Never updated; unique on its source so replays store nothing.

    The log deliberately has no foreign keys: it is the hottest table, written
    only by the ingest pipeline, which resolves the community, group and
    identity ids in the same transaction. On PostgreSQL the three per-row
    foreign-key triggers cost as much as the row's own COPY, halving bulk
    ingest; deleting a community deletes its events explicitly.
    """

    __tablename__ = "event"
    __table_args__ = (
        UniqueConstraint("source", "source_id"),
        Index(None, "group_id", "occurred_at"),
        Index(None, "identity_id", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    community_id: Mapped[int] = mapped_column()
    group_id: Mapped[int | None] = mapped_column()
    identity_id: Mapped[int | None] = mapped_column()
    platform: Mapped[str] = mapped_column(String(32))
    type: Mapped[str] = mapped_column(String(32))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    source: Mapped[str] = mapped_column(String(255))
    source_id: Mapped[str] = mapped_column(String(255))
    text: Mapped[str | None] = mapped_column(Text, default=None)
    payload: Mapped[dict] = mapped_column(Json, default=dict)
    ingested_at: Mapped[datetime] = mapped_column(UTCDateTime())
