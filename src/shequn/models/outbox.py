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
    #: Interrupted while being performed, on a platform that cannot say whether it
    #: happened, and not safe to repeat: left for an operator to look at.
    UNCERTAIN = "uncertain"


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
    #: Where the action goes (``None`` for shequn's own actions): what a dispatcher
    #: claims by, and the group whose rate limit it counts against.
    platform: Mapped[str | None] = mapped_column(String(32), default=None)
    group_ref: Mapped[str | None] = mapped_column(String(255), default=None)
    #: While ``in_flight``: the dispatcher holding it, and until when. A lease that
    #: runs out means that dispatcher died mid-action; another reconciles the row.
    worker: Mapped[str | None] = mapped_column(String(64), default=None)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class AdapterStatus(Base):
    """What each configured adapter is doing, written by the process that runs it, so
    the dashboard of any process can show it."""

    __tablename__ = "adapter_status"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    platform: Mapped[str] = mapped_column(String(32))
    account: Mapped[str] = mapped_column(String(255), default="")
    community_id: Mapped[int | None] = mapped_column(
        ForeignKey("community.id", ondelete="CASCADE"), default=None
    )
    state: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str] = mapped_column(Text, default="")
    worker: Mapped[str] = mapped_column(String(64), default="")
    since: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
