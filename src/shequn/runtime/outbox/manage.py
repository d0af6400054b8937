"""The outbox as operators see it: what the bots did lately, and the two things a person
may decide about an action — perform it again, or not at all.

A dispatcher gives up on an action for good reasons (the platform refused it, or it
cannot say whether it happened); only a person can tell that the reason is gone or
that repeating is safe after all, so ``retry`` exists for exactly the failed and
uncertain rows. ``cancel`` takes back what has not started: a row being performed
cannot be called back from the platform, so in-flight rows are left alone.

Every function is scoped to one community: an id of another community's row is
never read, changed or counted, whatever the caller passes.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, and_, select, update

from shequn.models import AdapterStatus, Group, OutboxRow, OutboxStatus
from shequn.runtime.outbox import store

_o = OutboxRow.__table__
_g = Group.__table__
_status = AdapterStatus.__table__

#: What an operator may send back to the queue: given up on, or of unknown outcome.
RETRYABLE = (OutboxStatus.FAILED.value, OutboxStatus.UNCERTAIN.value)
#: What an operator may take off the queue: not started yet.
CANCELLABLE = (OutboxStatus.PENDING.value,)


@dataclass(frozen=True, slots=True)
class Changed:
    """A row an operator moved, as it was before: what the audit log keeps."""

    id: int
    type: str
    status: str
    attempts: int
    last_error: str | None
    group_ref: str | None


def recent(
    conn: Connection,
    community_id: int,
    *,
    status: str | None = None,
    group_ref: str | None = None,
    platform: str | None = None,
    limit: int = 50,
    before_id: int | None = None,
) -> list[Row[Any]]:
    """The community's actions, newest first, ``limit`` at most, below ``before_id``
    (the last id of the previous page) when given. Each row carries the group's id and
    name in shequn when the group is known (``group_id``, ``group_name``)."""
    query = (
        select(
            _o.c.id,
            _o.c.community_id,
            _o.c.event_id,
            _o.c.type,
            _o.c.action,
            _o.c.status,
            _o.c.attempts,
            _o.c.platform,
            _o.c.group_ref,
            _o.c.not_before,
            _o.c.created_at,
            _o.c.updated_at,
            _o.c.done_at,
            _o.c.result,
            _o.c.last_error,
            _g.c.id.label("group_id"),
            _g.c.name.label("group_name"),
        )
        .select_from(
            _o.outerjoin(
                _g,
                and_(
                    _g.c.community_id == _o.c.community_id,
                    _g.c.platform == _o.c.platform,
                    _g.c.external_id == _o.c.group_ref,
                ),
            )
        )
        .where(_o.c.community_id == community_id)
    )
    if status is not None:
        query = query.where(_o.c.status == status)
    if group_ref is not None:
        query = query.where(_o.c.group_ref == group_ref)
    if platform is not None:
        query = query.where(_o.c.platform == platform)
    if before_id is not None:
        query = query.where(_o.c.id < before_id)
    return list(conn.execute(query.order_by(_o.c.id.desc()).limit(limit)))


def status_counts(conn: Connection, community_id: int) -> dict[str, int]:
    """Rows per status, every status present (zero when none), in the statuses' order."""
    found = store.counts(conn, community_id)
    return {s.value: found.get(s.value, 0) for s in OutboxStatus}


def adapters(conn: Connection, community_id: int) -> list[Row[Any]]:
    """What each adapter serving the community last reported, by name."""
    return list(
        conn.execute(
            select(_status).where(_status.c.community_id == community_id).order_by(_status.c.name)
        )
    )


def _move(
    conn: Connection,
    community_id: int,
    ids: Iterable[int],
    sources: Sequence[str],
    values: dict[str, Any],
) -> list[Changed]:
    """Move the community's rows among ``ids`` whose status is one of ``sources``; return
    them as they were. The rows are locked while read (PostgreSQL; SQLite holds its
    write lock for the whole transaction), and the update checks the status again, so a
    row a dispatcher took meanwhile is neither moved nor reported."""
    wanted = sorted(set(ids))
    if not wanted:
        return []
    chosen = (
        select(_o.c.id, _o.c.type, _o.c.status, _o.c.attempts, _o.c.last_error, _o.c.group_ref)
        .where(
            _o.c.community_id == community_id,
            _o.c.id.in_(wanted),
            _o.c.status.in_(sources),
        )
        .order_by(_o.c.id)
    )
    if conn.dialect.name == "postgresql":
        chosen = chosen.with_for_update()
    before = [Changed(*row) for row in conn.execute(chosen)]
    if not before:
        return []
    moved = set(
        conn.execute(
            update(_o)
            .where(
                _o.c.community_id == community_id,
                _o.c.id.in_([c.id for c in before]),
                _o.c.status.in_(sources),
            )
            .values(**values)
            .returning(_o.c.id)
        ).scalars()
    )
    return [c for c in before if c.id in moved]


def retry_rows(
    conn: Connection, community_id: int, ids: Collection[int], *, now: datetime
) -> list[Changed]:
    """Send failed and uncertain rows back to the queue, due now, with a fresh count of
    attempts; their last error is cleared (the returned rows keep it for the record)."""
    return _move(
        conn,
        community_id,
        ids,
        RETRYABLE,
        {
            "status": OutboxStatus.PENDING.value,
            "not_before": now,
            "attempts": 0,
            "last_error": None,
            "worker": None,
            "lease_until": None,
            "updated_at": now,
        },
    )


def retry(conn: Connection, community_id: int, ids: Collection[int], *, now: datetime) -> int:
    """How many of ``ids`` went back to the queue (see ``retry_rows``)."""
    return len(retry_rows(conn, community_id, ids, now=now))


def cancel_rows(
    conn: Connection, community_id: int, ids: Collection[int], *, now: datetime
) -> list[Changed]:
    """Take pending rows off the queue; rows in flight, done or closed stay as they are."""
    return _move(
        conn,
        community_id,
        ids,
        CANCELLABLE,
        {
            "status": OutboxStatus.CANCELLED.value,
            "worker": None,
            "lease_until": None,
            "updated_at": now,
        },
    )


def cancel(conn: Connection, community_id: int, ids: Collection[int], *, now: datetime) -> int:
    """How many of ``ids`` were cancelled (see ``cancel_rows``)."""
    return len(cancel_rows(conn, community_id, ids, now=now))
