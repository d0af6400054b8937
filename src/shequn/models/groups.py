"""Chat groups and who is in them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shequn.db.base import Base
from shequn.db.types import UTCDateTime


class GroupStatus(StrEnum):
    ACTIVE = "active"
    ARCHIVED = "archived"
    CLOSED = "closed"


class Group(Base):
    """A group on one platform (a WeCom customer group, a QQ group, a Matrix room…)."""

    __tablename__ = "chat_group"
    __table_args__ = (UniqueConstraint("workspace_id", "platform", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    community_id: Mapped[int] = mapped_column(
        ForeignKey("community.id", ondelete="CASCADE"), index=True
    )
    platform: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255), default="")
    capacity: Mapped[int | None] = mapped_column(default=None)
    status: Mapped[str] = mapped_column(String(16), default=GroupStatus.ACTIVE.value)
    #: The 入群编号 the next newcomer gets; kept here so numbering is one row update.
    next_number: Mapped[int] = mapped_column(default=1)
    #: A random token replaced by every write to this group's memberships
    #: (``membership.processor.new_roster_version``); what lets an ingestor
    #: trust the seats it remembers. Anything that edits seats must renew it.
    roster_version: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Membership(Base):
    """A member's place in one group: role, title, number and name card.

    One row per (group, member): a member who leaves and comes back keeps the
    number they were first given; ``left_at`` is set while they are away.
    """

    __tablename__ = "membership"
    __table_args__ = (
        UniqueConstraint("group_id", "member_id"),
        UniqueConstraint("group_id", "number"),
        Index(None, "member_id"),
        # Owners and admins are a handful among thousands of members: reports find
        # them through this index instead of reading every seat.
        Index(None, "role", "group_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("chat_group.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16), default="member")
    title: Mapped[str | None] = mapped_column(String(64), default=None)
    number: Mapped[int] = mapped_column()
    card_name: Mapped[str | None] = mapped_column(String(255), default=None)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime())
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    entry_source: Mapped[str | None] = mapped_column(String(64), default=None)
