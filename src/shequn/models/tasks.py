"""The operator inbox: what shequn asked a person to look at, and who dealt with it.

Every row comes from one NOTIFY_OPERATOR action of the outbox (a join request held for
review, a rule that no longer loads, a group pool running out of room, a group to create
by hand). ``source_key`` is that action's idempotency key, unique, so a notice performed
twice (a dispatcher that died mid-action, a retry) is still one task.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shequn.db.base import Base
from shequn.db.types import Json, UTCDateTime


class OperatorTask(Base):
    __tablename__ = "operator_task"
    __table_args__ = (Index(None, "community_id", "done_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"))
    #: admission_hold, broken_rule, capacity, create_group, notice (or what a feature names)
    kind: Mapped[str] = mapped_column(String(32))
    #: The notice as plain text, in the language the feature wrote it in.
    text: Mapped[str] = mapped_column(Text)
    #: Why the feature sent it, in English, for the curious operator.
    reason: Mapped[str] = mapped_column(Text, default="")
    params: Mapped[dict] = mapped_column(Json)
    platform: Mapped[str | None] = mapped_column(String(32), default=None)
    group_ref: Mapped[str | None] = mapped_column(String(255), default=None)
    #: The group the notice is about, when shequn knows it.
    group_id: Mapped[int | None] = mapped_column(default=None)
    user_ref: Mapped[str | None] = mapped_column(String(255), default=None)
    member_id: Mapped[int | None] = mapped_column(default=None)
    source_key: Mapped[str] = mapped_column(String(255), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    #: The operator who marked it done.
    done_by: Mapped[int | None] = mapped_column(default=None)
    note: Mapped[str] = mapped_column(Text, default="")
