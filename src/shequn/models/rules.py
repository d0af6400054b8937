"""Group rules as operators configure them, and what they decided.

A rule's settings are one JSON document checked by its feature's pure logic when
saved (``features.rules``); the row only knows where the rule applies. A rule with
no group applies to every group of its community; a rule with a group applies to
that group alone, and replaces a community rule of the same kind and name there —
the per-group override.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shequn.db.base import Base
from shequn.db.types import Json, UTCDateTime


class GroupRule(Base):
    __tablename__ = "group_rule"
    __table_args__ = (Index(None, "community_id", "kind", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"))
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("chat_group.id", ondelete="CASCADE"), default=None
    )
    #: autoreply, moderation, admission, lobby, namecard, welcome
    kind: Mapped[str] = mapped_column(String(24))
    name: Mapped[str] = mapped_column(String(120))
    position: Mapped[int] = mapped_column(default=0)
    enabled: Mapped[bool] = mapped_column(default=True)
    config: Mapped[dict] = mapped_column(Json)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ModerationEntry(Base):
    """One decision a rule made about a member, with what matched and what was done, so an
    operator can read why and undo what the platform allows."""

    __tablename__ = "moderation_log"
    __table_args__ = (Index(None, "community_id", "decided_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"))
    group_id: Mapped[int | None] = mapped_column(default=None)
    member_id: Mapped[int | None] = mapped_column(default=None, index=True)
    platform: Mapped[str] = mapped_column(String(32))
    user_ref: Mapped[str] = mapped_column(String(255))
    rule_id: Mapped[int | None] = mapped_column(default=None)
    rule_name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(24))
    matched: Mapped[str] = mapped_column(Text, default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    #: The idempotency keys of the actions it queued (their outcome is in the outbox).
    actions: Mapped[list] = mapped_column(Json)
    warning: Mapped[bool] = mapped_column(default=False)
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime())
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    undone_by: Mapped[int | None] = mapped_column(default=None)


class BlacklistEntry(Base):
    """A member banned from every group and platform of the workspace."""

    __tablename__ = "blacklist"
    __table_args__ = (UniqueConstraint("workspace_id", "member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(Text, default="")
    added_by: Mapped[int | None] = mapped_column(default=None)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime())


class InviteCode(Base):
    """A code that admits whoever gives it, counted per source (a poster, a partner…)."""

    __tablename__ = "invite_code"
    __table_args__ = (UniqueConstraint("community_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"))
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("chat_group.id", ondelete="CASCADE"), default=None
    )
    code: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(120), default="")
    max_uses: Mapped[int | None] = mapped_column(default=None)
    uses: Mapped[int] = mapped_column(default=0)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    disabled: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RuleState(Base):
    """What a rule remembers between events, per rule and key (a cooldown's end, a
    member's warnings, recent messages for flood checks): one JSON value each."""

    __tablename__ = "rule_state"

    rule_id: Mapped[int] = mapped_column(
        ForeignKey("group_rule.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[dict] = mapped_column(Json)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ModerationHistory(Base):
    """A sender's recent messages and live warnings in a community: what the flood,
    repeat-across-groups and warning-ladder checks look back over. One JSON value per
    sender, trimmed by the moderation logic to the longest window its rules use."""

    __tablename__ = "moderation_history"

    community_id: Mapped[int] = mapped_column(
        ForeignKey("community.id", ondelete="CASCADE"), primary_key=True
    )
    platform: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_ref: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[dict] = mapped_column(Json)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

