"""The transactional outbox: actions waiting to be carried out."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shequn.db.base import Base
from shequn.db.types import BigId, Json, UTCDateTime


class OutboxStatus(StrEnum):
    PENDING = "pending"
    IN_FLIGHT = "in_flight"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


class OutboxRow(Base):
    """One Action, written in the same transaction as the event that caused it."""

    __tablename__ = "outbox"
    __table_args__ = (Index(None, "status", "not_before"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"))
    event_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("event.id", ondelete="SET NULL"), index=True
    )
    type: Mapped[str] = mapped_column(String(32))
    action: Mapped[dict] = mapped_column(Json)
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(default=0)
    idempotency_key: Mapped[str] = mapped_column(String(255), unique=True)
    not_before: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    result: Mapped[dict | None] = mapped_column(Json, default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
