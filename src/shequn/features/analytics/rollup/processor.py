"""The rollup processor: keeps the activity tables in step with the event log.

``load`` reads what counting a batch needs (the communities' time zones, who
already spoke in the batch's groups, newcomers' join times, the questions
still waiting for a reply); ``step`` hands each event to the pure ``Tally``;
``save`` folds the increments in with commutative upserts, so concurrent
ingestors never overwrite each other's counts.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, tzinfo

from sqlalchemy import Connection, delete, select

from shequn.core import Action, EventType, StoredEvent
from shequn.db.bulk import insert_rows, one_of, reserve_ids, rows_for_keys, upsert
from shequn.features.analytics import kept
from shequn.features.analytics.rollup.logic import (
    GROUP_DAY_COUNTS,
    OPEN_FOR,
    OpenItem,
    Seen,
    Tally,
    week_of,
)
from shequn.features.community.membership.logic import OBSERVED
from shequn.kit.timeutil import zone
from shequn.models import (
    Community,
    GroupDay,
    GroupHour,
    MemberCommunity,
    MemberDay,
    MemberGroup,
    Membership,
    TermWeek,
)
from shequn.models import OpenItem as OpenItemRow

_community = Community.__table__
_seat = Membership.__table__
_mg = MemberGroup.__table__
_open = OpenItemRow.__table__


class RollupProcessor:
    name = "rollup"

    def __init__(self) -> None:
        self._zones: dict[int, tzinfo] = {}
        self._batch_communities: set[int] = set()

    def load(self, conn: Connection, batch: Sequence[StoredEvent]) -> Tally:
        self._batch_communities = {s.community_id for s in batch}
        self._learn_zones(conn, self._batch_communities)
        tally = Tally(dict(self._zones))
        speakers = sorted(
            {
                (s.group_id, s.member_id)
                for s in batch
                if s.event.type is EventType.MESSAGE
                and s.group_id is not None
                and s.member_id is not None
            }
        )
        if speakers:
            tally.seen = _seen(conn, speakers)
            # Only messages answer questions: the open ones of their groups.
            since = min(s.event.occurred_at for s in batch) - OPEN_FOR
            for item in _open_items(conn, sorted({g for g, _ in speakers}), since):
                tally.remember(item)
        return tally

    def _learn_zones(self, conn: Connection, communities: set[int]) -> None:
        wanted = communities - set(self._zones)
        if wanted:
            for cid, tz in conn.execute(
                select(_community.c.id, _community.c.timezone).where(
                    _community.c.id.in_(sorted(wanted))
                )
            ):
                self._zones[cid] = zone(tz)

    def step(self, tally: Tally, stored: StoredEvent) -> Iterable[Action]:
        tally.add(stored)
        return ()

    def save(self, conn: Connection, tally: Tally) -> None:
        upsert(
            conn,
            GroupDay.__table__,
            [{"group_id": g, "day": d, **counts} for (g, d), counts in tally.group_day.items()],
            ("group_id", "day"),
            add=GROUP_DAY_COUNTS,
        )
        upsert(
            conn,
            MemberDay.__table__,
            [
                {"group_id": g, "day": d, "member_id": m, "messages": n}
                for (g, d, m), n in tally.member_day.items()
            ],
            ("group_id", "day", "member_id"),
            add=("messages",),
        )
        upsert(
            conn,
            GroupHour.__table__,
            [
                {"group_id": g, "day": d, "hour": h, "weekday": d.weekday(), "messages": n}
                for (g, d, h), n in tally.group_hour.items()
            ],
            ("group_id", "day", "hour"),
            add=("messages",),
        )
        upsert(
            conn,
            _mg,
            [
                {
                    "group_id": g,
                    "member_id": m,
                    "first_message_at": first,
                    "last_message_at": last,
                    "messages": n,
                }
                for (g, m), (first, last, n) in tally.member_group.items()
            ],
            ("group_id", "member_id"),
            add=("messages",),
            least=("first_message_at",),
            greatest=("last_message_at",),
        )
        upsert(
            conn,
            MemberCommunity.__table__,
            [
                {"community_id": c, "member_id": m, "first_message_at": f, "last_message_at": la}
                for (c, m), (f, la) in tally.member_community.items()
            ],
            ("community_id", "member_id"),
            least=("first_message_at",),
            greatest=("last_message_at",),
        )
        upsert(
            conn,
            TermWeek.__table__,
            [
                {"group_id": g, "week": w, "term": t, "count": n}
                for (g, w, t), n in tally.term_week.items()
            ],
            ("group_id", "week", "term"),
            add=("count",),
        )
        self._save_open(conn, tally)
        self._forget_kept(conn, tally)

    def _forget_kept(self, conn: Connection, tally: Tally) -> None:
        """New member-days change the distinct speakers of their group's week and their
        community's day, and the leaders' messages of the week: drop those kept counts."""
        if not tally.member_day:
            return
        groups = {g for g, _, _ in tally.member_day}
        days = {d for _, d, _ in tally.member_day}
        weeks = {week_of(d) for d in days}
        kept.forget(conn, kept.GROUP_WEEK, groups, weeks)
        kept.forget(conn, kept.LEADER_WEEK, groups, weeks)
        kept.forget(conn, kept.COMMUNITY_DAY, self._batch_communities, days)

    @staticmethod
    def _save_open(conn: Connection, tally: Tally) -> None:
        closed_rows = sorted(i.row_id for i in tally.closed if i.row_id is not None)
        if closed_rows:
            conn.execute(delete(_open).where(one_of(conn.dialect.name, _open.c.id, closed_rows)))
        closed = {id(i) for i in tally.closed}
        fresh = [i for i in tally.opened if id(i) not in closed]
        if fresh:
            latest = max(i.asked_at for i in fresh)
            fresh = [i for i in fresh if latest - i.asked_at <= OPEN_FOR]
            ids = reserve_ids(conn, _open, len(fresh))
            insert_rows(
                conn,
                _open,
                [
                    {
                        "id": row_id,
                        "group_id": i.group_id,
                        "kind": i.kind,
                        "message_ref": i.ref[:255],
                        "asker": i.asker[:255],
                        "asker_name": i.asker_name[:255],
                        "asked_at": i.asked_at,
                        "day": i.day,
                    }
                    for row_id, i in zip(ids, fresh, strict=True)
                ],
            )
            groups = sorted({i.group_id for i in fresh})
            conn.execute(
                delete(_open)
                .where(one_of(conn.dialect.name, _open.c.group_id, groups))
                .where(_open.c.asked_at < latest - OPEN_FOR)
            )


def _seen(conn: Connection, speakers: list[tuple[int, int]]) -> dict[tuple[int, int], Seen]:
    """What the store knows of each speaker in their group: when they first spoke, or,
    for those who never did, when and how they joined (newcomers)."""
    spoke = {
        (r.group_id, r.member_id): r.first_message_at
        for r in rows_for_keys(
            conn,
            [_mg.c.group_id, _mg.c.member_id, _mg.c.first_message_at],
            [],
            (_mg.c.group_id, _mg.c.member_id),
            speakers,
        )
    }
    seen = {pair: Seen(first, None, False) for pair, first in spoke.items()}
    for r in rows_for_keys(
        conn,
        [_seat.c.group_id, _seat.c.member_id, _seat.c.joined_at, _seat.c.entry_source],
        [],
        (_seat.c.group_id, _seat.c.member_id),
        [pair for pair in speakers if pair not in spoke],
    ):
        seen[(r.group_id, r.member_id)] = Seen(None, r.joined_at, r.entry_source == OBSERVED)
    return seen


def _open_items(conn: Connection, groups: list[int], since: datetime) -> Iterator[OpenItem]:
    for r in conn.execute(
        select(_open)
        .where(one_of(conn.dialect.name, _open.c.group_id, groups))
        .where(_open.c.asked_at >= since)
        .order_by(_open.c.asked_at, _open.c.id)
    ):
        yield OpenItem(
            r.kind, r.group_id, r.message_ref, r.asker, r.asker_name, r.asked_at, r.day, r.id
        )
