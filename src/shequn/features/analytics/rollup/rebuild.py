"""Recounting the rollups from the event log.

The rollups are derived data: a database that stored events before they
existed (or whose counting rules changed) gets them back by replaying its
events, in time order, through the same processor the pipeline runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import Connection, Engine, delete, select

from shequn.core import Event, EventType, StoredEvent
from shequn.core.message import Message
from shequn.db.engine import WRITE
from shequn.features.analytics import kept
from shequn.features.analytics.rollup.processor import RollupProcessor
from shequn.models import (
    EventRow,
    Group,
    GroupDay,
    GroupHour,
    Identity,
    MemberCommunity,
    MemberDay,
    MemberGroup,
    OpenItem,
    TermWeek,
)

_e = EventRow.__table__
_i = Identity.__table__
_g = Group.__table__
_mc = MemberCommunity.__table__
ROLLUPS = (GroupDay, GroupHour, MemberDay, MemberGroup, OpenItem, TermWeek)
CHUNK = 10_000


def _event(row: Any) -> Event:
    payload = dict(row.payload or {})
    segments = payload.pop("message", None)
    name = payload.pop("actor_name", None)
    return Event(
        type=EventType(row.type),
        platform=row.platform,
        source=row.source,
        source_id=row.source_id,
        occurred_at=row.occurred_at,
        actor=row.actor,
        actor_name=name,
        message=Message.from_list(segments) if segments is not None else None,
        payload=payload,
    )


def _stored(conn: Connection, community_id: int) -> Iterator[StoredEvent]:
    rows = conn.execute(
        select(
            _e.c.id,
            _e.c.community_id,
            _e.c.group_id,
            _e.c.identity_id,
            _e.c.type,
            _e.c.platform,
            _e.c.source,
            _e.c.source_id,
            _e.c.occurred_at,
            _e.c.payload,
            _i.c.external_id.label("actor"),
            _i.c.member_id,
        )
        .select_from(_e.outerjoin(_i, _i.c.id == _e.c.identity_id))
        .where(_e.c.community_id == community_id, _e.c.group_id.is_not(None))
        .order_by(_e.c.occurred_at, _e.c.id)
        .execution_options(yield_per=CHUNK)
    )
    for row in rows:
        if row.type not in EventType._value2member_map_:
            continue
        yield StoredEvent(
            row.id, _event(row), row.community_id, row.group_id, row.identity_id, row.member_id
        )


def needs_rebuild(conn: Connection, community_id: int) -> bool:
    """True when the community has events in groups but nothing was ever counted:
    a database that stored its history before the rollups existed."""
    groups = select(_g.c.id).where(_g.c.community_id == community_id)
    day = GroupDay.__table__
    counted = conn.execute(select(day.c.group_id).where(day.c.group_id.in_(groups)).limit(1))
    if counted.first() is not None:
        return False
    stored = conn.execute(
        select(_e.c.id)
        .where(_e.c.community_id == community_id, _e.c.group_id.is_not(None))
        .limit(1)
    )
    return stored.first() is not None


def rebuild(
    engine: Engine, community_id: int, *, on_chunk: Callable[[int], None] | None = None
) -> int:
    """Recount every rollup of the community from its events; returns the events replayed.

    Runs in one transaction: readers see the old counts until the new ones
    are complete, and a failure leaves the old ones in place.
    """
    processor = RollupProcessor()
    done = 0
    with engine.connect() as read, engine.connect() as conn:
        conn.execution_options(**WRITE)
        with conn.begin():
            groups = select(_g.c.id).where(_g.c.community_id == community_id)
            for model in ROLLUPS:
                table = model.__table__
                conn.execute(delete(table).where(table.c.group_id.in_(groups)))
            conn.execute(delete(_mc).where(_mc.c.community_id == community_id))
            kept.forget_everything(conn)
            batch: list[StoredEvent] = []
            for stored in _stored(read, community_id):
                batch.append(stored)
                if len(batch) == CHUNK:
                    done += _replay(conn, processor, batch, on_chunk, done)
                    batch = []
            if batch:
                done += _replay(conn, processor, batch, on_chunk, done)
    return done


def _replay(
    conn: Connection,
    processor: RollupProcessor,
    batch: list[StoredEvent],
    on_chunk: Callable[[int], None] | None,
    done: int,
) -> int:
    tally = processor.load(conn, batch)
    for stored in batch:
        processor.step(tally, stored)
    processor.save(conn, tally)
    if on_chunk is not None:
        on_chunk(done + len(batch))
    return len(batch)
