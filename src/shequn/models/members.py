"""Members (one person) and identities (their accounts on each platform)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shequn.db.base import Base
from shequn.db.types import UTCDateTime


class Member(Base):
    """A person, known across groups and platforms.

    Merging B into A moves B's identities to A and sets ``B.merged_into_id``;
    B's row stays so the merge can be explained and undone.
    """

    __tablename__ = "member"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspace.id", ondelete="CASCADE"), index=True
    )
    display_name: Mapped[str] = mapped_column(String(255), default="")
    merged_into_id: Mapped[int | None] = mapped_column(
        ForeignKey("member.id", ondelete="SET NULL"), default=None, index=True
    )
    note: Mapped[str | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Identity(Base):
    """One platform account. Events point at identities, so merges never rewrite events."""

    __tablename__ = "identity"
    __table_args__ = (
        UniqueConstraint("workspace_id", "platform", "external_id"),
        Index(None, "member_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"))
    #: The member this identity was first seen as: what an unmerge restores.
    origin_member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
