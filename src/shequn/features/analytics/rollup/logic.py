"""How events add up into the activity rollups. Pure: no database, no clock.

A ``Tally`` is fed one batch's stored events in time order, together with what
the store already knew (open questions, who has spoken in which group, when
newcomers joined); it accumulates the increments each rollup table needs and
the open items to add or close. The processor loads that knowledge and writes
the increments back, so the whole counting logic can be tested without I/O.

Replies. A question (``language.is_question``) or a newcomer's first message
waits up to ``OPEN_FOR`` for its first reply: a later message by someone else
in the same group that quotes it, @-mentions its author (a mention segment),
or names them as ``@name`` in plain text (exports without mention segments).
Its delay is counted in the day it was asked.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo

from shequn.core import EventType, StoredEvent
from shequn.core.message import Mention, Quote
from shequn.features.analytics.language import is_question, mentioned_names, message_terms

#: How long a question or a newcomer's first message may wait for a reply.
OPEN_FOR = timedelta(days=1)
#: A member who joined this recently and speaks for the first time is a newcomer.
NEWCOMER_WINDOW = timedelta(days=7)
#: Reply-delay buckets (upper bound in minutes, group-day column), shortest first.
REPLY_BUCKETS: tuple[tuple[int, str], ...] = (
    (1, "answered_1m"),
    (5, "answered_5m"),
    (15, "answered_15m"),
    (30, "answered_30m"),
    (60, "answered_1h"),
    (240, "answered_4h"),
    (1440, "answered_1d"),
)
GROUP_DAY_COUNTS = (
    "messages",
    "reactions",
    "joins",
    "leaves",
    "kicks",
    "questions",
    *(column for _, column in REPLY_BUCKETS),
    "newcomers",
    "newcomers_answered",
)
QUESTION, NEWCOMER = "question", "newcomer"


def reply_bucket(delay: timedelta) -> str:
    """The group-day column a reply after ``delay`` is counted in."""
    minutes = delay.total_seconds() / 60
    for bound, column in REPLY_BUCKETS:
        if minutes <= bound:
            return column
    return REPLY_BUCKETS[-1][1]


def week_of(day: date) -> date:
    """The Monday of ``day``'s week: weeks are ISO weeks in the community's zone."""
    return day - timedelta(days=day.weekday())


@dataclass(slots=True, eq=False)
class OpenItem:
    """Something waiting for a first reply. ``row_id`` is None until it is stored.

    Compared by identity: the same message may open a question and a newcomer item.
    """

    kind: str
    group_id: int
    ref: str
    asker: str
    asker_name: str
    asked_at: datetime
    day: date
    row_id: int | None = None


@dataclass(slots=True)
class _GroupOpen:
    by_ref: dict[str, list[OpenItem]] = field(default_factory=dict)
    by_asker: dict[str, list[OpenItem]] = field(default_factory=dict)
    by_name: dict[str, list[OpenItem]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Seen:
    """What the store knows of one member in one group before the batch."""

    first_message_at: datetime | None
    joined_at: datetime | None
    observed: bool  # seated because they spoke, not because a join was seen


@dataclass
class Tally:
    """Increments for one batch, keyed as the rollup tables are."""

    zones: dict[int, tzinfo]  # community id -> its time zone
    seen: dict[tuple[int, int], Seen] = field(default_factory=dict)
    group_day: dict[tuple[int, date], dict[str, int]] = field(default_factory=dict)
    member_day: dict[tuple[int, date, int], int] = field(default_factory=dict)
    group_hour: dict[tuple[int, date, int], int] = field(default_factory=dict)
    member_group: dict[tuple[int, int], list] = field(default_factory=dict)  # [first, last, n]
    #: (community id, member) -> [first, last]: when they spoke anywhere in the community.
    member_community: dict[tuple[int, int], list] = field(default_factory=dict)
    term_week: dict[tuple[int, date, str], int] = field(default_factory=dict)
    closed: list[OpenItem] = field(default_factory=list)
    opened: list[OpenItem] = field(default_factory=list)
    _open: dict[int, _GroupOpen] = field(default_factory=lambda: defaultdict(_GroupOpen))

    def remember(self, item: OpenItem) -> None:
        """Take an item the store still holds open (or one opened in this batch)."""
        g = self._open[item.group_id]
        g.by_ref.setdefault(item.ref, []).append(item)
        g.by_asker.setdefault(item.asker, []).append(item)
        if item.asker_name:
            g.by_name.setdefault(item.asker_name, []).append(item)

    def _count(self, group_id: int, day: date, column: str) -> None:
        row = self.group_day.get((group_id, day))
        if row is None:
            row = self.group_day[(group_id, day)] = dict.fromkeys(GROUP_DAY_COUNTS, 0)
        row[column] += 1

    def add(self, stored: StoredEvent) -> None:
        event, gid = stored.event, stored.group_id
        if gid is None:
            return
        local = event.occurred_at.astimezone(self.zones[stored.community_id])
        day = local.date()
        kind = event.type
        if kind is EventType.MESSAGE:
            self._message(stored, gid, local, day)
        elif kind is EventType.JOIN:
            self._count(gid, day, "joins")
        elif kind is EventType.LEAVE:
            kicked = event.payload.get("kicked_by") not in (None, "", event.actor)
            self._count(gid, day, "kicks" if kicked else "leaves")
        elif kind is EventType.REACTION:
            self._count(gid, day, "reactions")

    def _message(self, stored: StoredEvent, gid: int, local: datetime, day: date) -> None:
        event, member = stored.event, stored.member_id
        at = event.occurred_at
        self._count(gid, day, "messages")
        hour = (gid, day, local.hour)
        self.group_hour[hour] = self.group_hour.get(hour, 0) + 1
        week = week_of(day)
        for term in message_terms(event.message):
            key = (gid, week, term)
            self.term_week[key] = self.term_week.get(key, 0) + 1
        if event.actor is not None:
            self._answer(gid, event.actor, stored, at)
        if member is None:
            return
        md = (gid, day, member)
        self.member_day[md] = self.member_day.get(md, 0) + 1
        pair = (gid, member)
        so_far = self.member_group.get(pair)
        if so_far is None:
            self.member_group[pair] = [at, at, 1]
            seen = self.seen.get(pair)
            first_ever = seen is None or seen.first_message_at is None
            if first_ever and self._newcomer(seen, at):
                self._count(gid, day, "newcomers")
                self._open_item(NEWCOMER, stored, gid, at, day)
        else:
            so_far[0] = min(so_far[0], at)
            so_far[1] = max(so_far[1], at)
            so_far[2] += 1
        anywhere = self.member_community.get((stored.community_id, member))
        if anywhere is None:
            self.member_community[(stored.community_id, member)] = [at, at]
        else:
            anywhere[0] = min(anywhere[0], at)
            anywhere[1] = max(anywhere[1], at)
        if is_question(event.text):
            self._count(gid, day, "questions")
            self._open_item(QUESTION, stored, gid, at, day)

    @staticmethod
    def _newcomer(seen: Seen | None, at: datetime) -> bool:
        if seen is None or seen.observed or seen.joined_at is None:
            return False
        return timedelta(0) <= at - seen.joined_at <= NEWCOMER_WINDOW

    def _open_item(self, kind: str, stored: StoredEvent, gid: int, at: datetime, day: date) -> None:
        event = stored.event
        if event.actor is None:
            return
        ref = str(event.payload.get("message_id") or event.source_id)
        item = OpenItem(kind, gid, ref, event.actor, event.actor_name or "", at, day)
        self.opened.append(item)
        self.remember(item)

    def _answer(self, gid: int, author: str, stored: StoredEvent, at: datetime) -> None:
        """Close every open item this message replies to."""
        g = self._open.get(gid)
        if g is None or not (g.by_ref or g.by_asker):
            return
        message = stored.event.message
        hits: list[OpenItem] = []
        if message is not None:
            for segment in message.segments:
                if isinstance(segment, Quote):
                    hits.extend(g.by_ref.get(segment.message_id, ()))
                elif isinstance(segment, Mention) and segment.user:
                    hits.extend(g.by_asker.get(segment.user, ()))
        for name in mentioned_names(stored.event.text):
            hits.extend(g.by_name.get(name, ()))
        for item in hits:
            if item.asker == author or item.asked_at > at:
                continue
            if not self._forget(g, item):
                continue  # already closed by another segment of this message
            if at - item.asked_at > OPEN_FOR:
                continue
            if item.kind == QUESTION:
                self._count(gid, item.day, reply_bucket(at - item.asked_at))
            else:
                self._count(gid, item.day, "newcomers_answered")
            self.closed.append(item)

    @staticmethod
    def _forget(g: _GroupOpen, item: OpenItem) -> bool:
        items = g.by_ref.get(item.ref)
        if not items or not any(i is item for i in items):
            return False
        for index, key in ((g.by_ref, item.ref), (g.by_asker, item.asker)):
            index[key].remove(item)
            if not index[key]:
                del index[key]
        if item.asker_name:
            g.by_name[item.asker_name].remove(item)
            if not g.by_name[item.asker_name]:
                del g.by_name[item.asker_name]
        return True
