"""The audit log: every state-changing action an operator takes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from shequn.db.base import Base
from shequn.db.types import Json, UTCDateTime


class AuditEntry(Base):
    """Who did what to which thing, when, and the thing before and after.

    ``operator_name`` is copied so the entry still reads right after the
    operator is renamed or deleted.
    """

    __tablename__ = "audit_log"
    __table_args__ = (Index(None, "workspace_id", "at"), Index(None, "workspace_id", "action"))

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    operator_id: Mapped[int | None] = mapped_column(
        ForeignKey("operator.id", ondelete="SET NULL"), default=None
    )
    operator_name: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[str] = mapped_column(String(64))
    before: Mapped[dict | None] = mapped_column(Json, default=None)
    after: Mapped[dict | None] = mapped_column(Json, default=None)
    address: Mapped[str | None] = mapped_column(String(64), default=None)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
