"""Broadcast: the content library, the jobs that send its posts, and each copy they queued.

A post is stored as the JSON form ``features.broadcast.post.Post.to_dict`` gives, checked
before it is written. A job sends one post to a target spec, once or on a schedule (its
text form, read back by ``parse_schedule``); ``next_run`` is kept so that the scheduler's
due query and the calendar need no parsing. A delivery row remembers one recipient's
copy of one run — the outbox row with the same idempotency key says how it went — or why
it was refused. Groups carry tags (``group_tag``, on the workspace's tags) that
``tag:NAME`` targets select.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shequn.db.base import Base
from shequn.db.types import BigId, Json, UTCDateTime


class JobStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    DONE = "done"
    CANCELLED = "cancelled"


class BroadcastPost(Base):
    """One post of a community's content library."""

    __tablename__ = "post"
    __table_args__ = (Index(None, "community_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    data: Mapped[dict] = mapped_column(Json)
    #: The post's tags, space-separated with a space at each end, so ``LIKE '% tag %'``
    #: filters the library without a join.
    tags: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("operator.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class BroadcastJob(Base):
    """One post sent to a target spec, now, once later or on a schedule."""

    __tablename__ = "broadcast_job"
    __table_args__ = (
        Index(None, "status", "next_run"),
        Index(None, "community_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"))
    post_id: Mapped[int] = mapped_column(ForeignKey("post.id", ondelete="CASCADE"), index=True)
    targets: Mapped[str] = mapped_column(Text)
    #: ``Schedule.to_text``; NULL for a job sent at once.
    schedule: Mapped[str | None] = mapped_column(Text, default=None)
    #: ``daily_cap``, ``quiet`` (text), ``golden`` (bool), ``allow_wecom_conflict`` (bool).
    pacing: Mapped[dict] = mapped_column(Json, default=dict)
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.ACTIVE.value)
    #: The instant of the last run carried out (or the job's creation, before any run):
    #: what ``due_runs`` counts missed runs from.
    last_run: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    next_run: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("operator.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class BroadcastDelivery(Base):
    """One recipient's copy of one run of a job: queued under ``outbox_key``, or refused
    with ``refusal`` (the reason and its problems, in both languages)."""

    __tablename__ = "broadcast_delivery"
    __table_args__ = (Index(None, "job_id", "run_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("broadcast_job.id", ondelete="CASCADE"))
    run_at: Mapped[datetime] = mapped_column(UTCDateTime())
    recipient: Mapped[str] = mapped_column(String(64))
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("chat_group.id", ondelete="SET NULL"), default=None
    )
    member_id: Mapped[int | None] = mapped_column(
        ForeignKey("member.id", ondelete="SET NULL"), default=None
    )
    platform: Mapped[str] = mapped_column(String(32))
    send_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    outbox_key: Mapped[str] = mapped_column(String(255), unique=True)
    #: ``plan.Reason`` of a refused copy (NULL when it was queued), and its details
    #: (the problems in both languages, the next slot; empty when it was queued).
    reason: Mapped[str | None] = mapped_column(String(32), default=None)
    refusal: Mapped[dict | None] = mapped_column(Json, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class GroupTag(Base):
    """A workspace tag on a group: what ``tag:NAME`` broadcast targets select."""

    __tablename__ = "group_tag"
    __table_args__ = (Index(None, "tag_id"),)

    group_id: Mapped[int] = mapped_column(
        ForeignKey("chat_group.id", ondelete="CASCADE"), primary_key=True
    )
    tag_id: Mapped[int] = mapped_column(ForeignKey("tag.id", ondelete="CASCADE"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
