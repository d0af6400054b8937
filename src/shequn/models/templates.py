"""Group templates, the pool of groups newcomers are spread over, and the rotating invite.

A template is one JSON document (rules, staff roles and titles, schedules) checked by
``features.templates`` when saved, so a new group can be set up from it without an
operator copying rule after rule. The pool lists the groups of a community in the order
they are filled; a row may exist before its group does (state ``creating``), because the
platform creates the group after shequn asked for it. A rotating invite (群活码) is a stable
public page; each visit is kept with its source and the group it was sent to, so joins can
be traced back to the poster, partner or channel that brought them.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shequn.db.base import Base
from shequn.db.types import BigId, Json, UTCDateTime


class PoolState(StrEnum):
    #: Takes newcomers while it has room.
    OPEN = "open"
    #: At capacity: skipped until members leave.
    FULL = "full"
    #: Asked of the platform (or of an operator); no group yet, or not yet linked.
    CREATING = "creating"
    #: Taken out of the pool; kept so past visits still name it.
    RETIRED = "retired"


class GroupTemplate(Base):
    """What a new group starts with: see ``features.templates.template.Template``."""

    __tablename__ = "group_template"
    __table_args__ = (UniqueConstraint("community_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(120))
    config: Mapped[dict] = mapped_column(Json)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PoolGroup(Base):
    """One group of a community's pool, or the place of one being created.

    ``warned_at`` is set when the warning threshold was crossed and cleared when the group
    drops below it again, so an operator is warned once per crossing, not every tick.
    ``request_key`` is the idempotency key of the CREATE_GROUP action while the group is
    being created; ``note`` says why creation is waiting on an operator.
    """

    __tablename__ = "group_pool"
    __table_args__ = (
        UniqueConstraint("group_id"),
        Index(None, "community_id", "position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"))
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("chat_group.id", ondelete="CASCADE"), default=None
    )
    template_id: Mapped[int | None] = mapped_column(
        ForeignKey("group_template.id", ondelete="SET NULL"), default=None
    )
    platform: Mapped[str] = mapped_column(String(32))
    #: The group's name while it is being created (afterwards the group's own name counts).
    name: Mapped[str] = mapped_column(String(255), default="")
    capacity: Mapped[int] = mapped_column()
    #: The share of ``capacity`` at which operators are warned (0.9: at 90 %).
    warn_ratio: Mapped[float] = mapped_column(Float, default=0.9)
    position: Mapped[int] = mapped_column(default=0)
    state: Mapped[str] = mapped_column(String(16), default=PoolState.OPEN.value)
    #: Where newcomers go to join (``{token}`` becomes the visit's token), and what to do.
    join_url: Mapped[str] = mapped_column(Text, default="")
    join_note: Mapped[str] = mapped_column(Text, default="")
    warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    request_key: Mapped[str | None] = mapped_column(String(255), default=None)
    requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    note: Mapped[str | None] = mapped_column(Text, default=None)
    #: When the template was applied to the group (set too when it must not be).
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RotatingInvite(Base):
    """A stable public link (``/join/{slug}``) that sends each visitor to a group with room."""

    __tablename__ = "rotating_invite"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(
        ForeignKey("community.id", ondelete="CASCADE"), index=True
    )
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class InviteVisit(Base):
    """One visit of a rotating invite: where the visitor came from and which group they were
    sent to (none when every group was full). ``member_id`` and ``joined_at`` are filled when
    a join is traced back to this visit."""

    __tablename__ = "invite_visit"
    __table_args__ = (Index(None, "group_id", "visited_at"), Index(None, "invite_id", "source"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    invite_id: Mapped[int] = mapped_column(ForeignKey("rotating_invite.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(64), default="")
    pool_id: Mapped[int | None] = mapped_column(
        ForeignKey("group_pool.id", ondelete="SET NULL"), default=None
    )
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("chat_group.id", ondelete="SET NULL"), default=None
    )
    token: Mapped[str] = mapped_column(String(32), unique=True)
    visited_at: Mapped[datetime] = mapped_column(UTCDateTime())
    member_id: Mapped[int | None] = mapped_column(
        ForeignKey("member.id", ondelete="SET NULL"), default=None, index=True
    )
    joined_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
