"""Activity rollups: what the ingest pipeline keeps so that no report scans raw messages.

Every table here is derived from the event log and can be rebuilt from it
(``features.analytics.rollup.rebuild``). Days and hours are local to the
group's community time zone. Like the event log, these tables have no foreign
keys: they are written by the pipeline in the same transaction that resolved
every id, and their per-row checks would cost as much as the rows.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, Index, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from shequn.db.base import Base
from shequn.db.types import UTCDateTime


class MemberDay(Base):
    """Messages one member wrote in one group on one local day: speakers, DAU/WAU/MAU,
    concentration and cohorts all come from here."""

    __tablename__ = "activity_member_day"
    __table_args__ = (Index(None, "member_id", "day"),)

    group_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    member_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    messages: Mapped[int] = mapped_column(default=0)


class GroupDay(Base):
    """One group's day: volumes, comings and goings, and how questions were answered.

    A question's reply delay is counted in the bucket of the day it was
    asked (``answered_1m`` … ``answered_1d``: replies within 1, 5, 15, 30, 60,
    240 and 1440 minutes, each bucket exclusive of the shorter ones), so
    "answered within N minutes" and a bucketed median are sums, not scans.
    """

    __tablename__ = "activity_group_day"

    group_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    messages: Mapped[int] = mapped_column(default=0)
    reactions: Mapped[int] = mapped_column(default=0)
    joins: Mapped[int] = mapped_column(default=0)
    leaves: Mapped[int] = mapped_column(default=0)
    kicks: Mapped[int] = mapped_column(default=0)
    questions: Mapped[int] = mapped_column(default=0)
    answered_1m: Mapped[int] = mapped_column(default=0)
    answered_5m: Mapped[int] = mapped_column(default=0)
    answered_15m: Mapped[int] = mapped_column(default=0)
    answered_30m: Mapped[int] = mapped_column(default=0)
    answered_1h: Mapped[int] = mapped_column(default=0)
    answered_4h: Mapped[int] = mapped_column(default=0)
    answered_1d: Mapped[int] = mapped_column(default=0)
    newcomers: Mapped[int] = mapped_column(default=0)
    newcomers_answered: Mapped[int] = mapped_column(default=0)


class GroupHour(Base):
    """Messages per local hour of each day, with its weekday: the hour-of-week heatmap
    over any range is one GROUP BY."""

    __tablename__ = "activity_group_hour"

    group_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    hour: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    weekday: Mapped[int] = mapped_column(SmallInteger)
    messages: Mapped[int] = mapped_column(default=0)


class MemberGroup(Base):
    """A member's whole history of speaking in one group: silent members and lurkers,
    and whether a newcomer's message is their first."""

    __tablename__ = "activity_member_group"
    __table_args__ = (Index(None, "group_id", "last_message_at"), Index(None, "member_id"))

    group_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    member_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    first_message_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_message_at: Mapped[datetime] = mapped_column(UTCDateTime())
    messages: Mapped[int] = mapped_column(default=0)


class MemberCommunity(Base):
    """When a member first and last spoke anywhere in a community: how many people spoke
    since a day, across every group, is an index range instead of a distinct count over
    each group's speakers."""

    __tablename__ = "activity_member_community"
    __table_args__ = (Index(None, "community_id", "last_message_at"),)

    community_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    member_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    first_message_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_message_at: Mapped[datetime] = mapped_column(UTCDateTime())


class OpenItem(Base):
    """A question or a newcomer's first message still waiting for its first reply.

    Items live at most a day (``rollup.logic.OPEN_FOR``); one that expires
    was simply never answered, which its day's counts already say.
    """

    __tablename__ = "activity_open_item"
    __table_args__ = (Index(None, "group_id", "asked_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column()
    kind: Mapped[str] = mapped_column(String(16))
    message_ref: Mapped[str] = mapped_column(String(255))
    asker: Mapped[str] = mapped_column(String(255))
    asker_name: Mapped[str] = mapped_column(String(255), default="")
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    day: Mapped[date] = mapped_column(Date)


class TermWeek(Base):
    """How often a term was used in one group in one local week (its Monday): topics
    and rising terms."""

    __tablename__ = "activity_term_week"

    group_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    week: Mapped[date] = mapped_column(Date, primary_key=True)
    term: Mapped[str] = mapped_column(String(64), primary_key=True)
    count: Mapped[int] = mapped_column(default=0)


class KeptCount(Base):
    """A count that is expensive to make and cheap to keep: distinct speakers of a
    group's week or a community's day, a group's seats, the people present, the
    leaders' messages of a week.

    Counted on first read and kept here. Two things keep a kept count equal to a
    fresh recount: writes that could change one delete it (a message on that day,
    a merge, a rebuild), and counts that depend on rosters carry a ``stamp`` made
    from the groups' ``roster_version`` — any seat write renews that version, so a
    count with an old stamp is simply not found.
    """

    __tablename__ = "kept_count"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    scope_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    period: Mapped[date] = mapped_column(Date, primary_key=True)
    stamp: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    value: Mapped[int] = mapped_column(default=0)
