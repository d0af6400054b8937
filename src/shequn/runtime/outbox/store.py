"""The outbox's queries: claim due actions under a lease, and record what became of them.

A claim is one ``UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED) RETURNING``
on PostgreSQL, so dispatchers in several processes never take the same row; on
SQLite the same statement runs under the database's single write lock. Every
later write names the worker that holds the row: a dispatcher whose lease ran
out and whose row was taken over cannot overwrite what the new holder recorded.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, bindparam, false, func, or_, select, tuple_, update

from shequn.core import Action
from shequn.models import OutboxRow, OutboxStatus

_o = OutboxRow.__table__
PENDING = OutboxStatus.PENDING.value
IN_FLIGHT = OutboxStatus.IN_FLIGHT.value

Route = tuple[int, str]  # (community id, platform)


@dataclass(frozen=True, slots=True)
class Claimed:
    """A row a dispatcher holds: its action as stored, and where it goes."""

    id: int
    community_id: int
    data: dict[str, Any]
    attempts: int
    platform: str | None
    group_ref: str | None
    not_before: datetime

    def action(self) -> Action:
        return Action.from_dict(self.data)


def _mine(routes: Collection[Route], internal: bool) -> Any:
    wanted = []
    if routes:
        wanted.append(tuple_(_o.c.community_id, _o.c.platform).in_(sorted(routes)))
    if internal:
        wanted.append(_o.c.platform.is_(None))
    return or_(*wanted) if wanted else false()


def _claim(
    conn: Connection,
    where: Sequence[Any],
    *,
    worker: str,
    now: datetime,
    lease: timedelta,
    limit: int,
    count_attempt: bool,
) -> list[Claimed]:
    chosen = select(_o.c.id).where(*where).order_by(_o.c.not_before, _o.c.id).limit(limit)
    if conn.dialect.name == "postgresql":
        chosen = chosen.with_for_update(skip_locked=True)
    values: dict[str, Any] = {
        "status": IN_FLIGHT,
        "worker": worker,
        "lease_until": now + lease,
        "updated_at": now,
    }
    if count_attempt:
        values["attempts"] = _o.c.attempts + 1
    rows = conn.execute(
        update(_o)
        .where(_o.c.id.in_(chosen.scalar_subquery()))
        .values(**values)
        .returning(
            _o.c.id,
            _o.c.community_id,
            _o.c.action,
            _o.c.attempts,
            _o.c.platform,
            _o.c.group_ref,
            _o.c.not_before,
        )
    ).all()
    claimed = [Claimed(*row) for row in rows]
    claimed.sort(key=lambda c: (c.not_before, c.id))
    return claimed


def claim_due(
    conn: Connection,
    *,
    worker: str,
    routes: Collection[Route],
    internal: bool,
    now: datetime,
    lease: timedelta,
    limit: int,
    held_back: Collection[str] = (),
) -> list[Claimed]:
    """Take up to ``limit`` pending actions that are due, oldest first, for the routes
    this dispatcher serves; ``held_back`` names groups whose rate limit is spent."""
    where = [_o.c.status == PENDING, _o.c.not_before <= now, _mine(routes, internal)]
    if held_back:
        where.append(or_(_o.c.group_ref.is_(None), _o.c.group_ref.not_in(sorted(held_back))))
    return _claim(conn, where, worker=worker, now=now, lease=lease, limit=limit, count_attempt=True)


def claim_abandoned(
    conn: Connection,
    *,
    worker: str,
    routes: Collection[Route],
    internal: bool,
    now: datetime,
    lease: timedelta,
    limit: int,
) -> list[Claimed]:
    """Take over rows whose holder's lease ran out: it died while performing them, so
    whether they happened is unknown until reconciled."""
    where = [_o.c.status == IN_FLIGHT, _o.c.lease_until < now, _mine(routes, internal)]
    return _claim(
        conn, where, worker=worker, now=now, lease=lease, limit=limit, count_attempt=False
    )


def _held(worker: str) -> Any:
    return and_(_o.c.id == bindparam("row_id"), _o.c.status == IN_FLIGHT, _o.c.worker == worker)


def finish(
    conn: Connection, worker: str, done: Sequence[tuple[int, dict[str, Any]]], *, now: datetime
) -> None:
    """Record performed actions with what the platform answered."""
    if done:
        conn.execute(
            update(_o)
            .where(_held(worker))
            .values(
                status=OutboxStatus.DONE.value,
                result=bindparam("res"),
                done_at=now,
                updated_at=now,
                lease_until=None,
                last_error=None,
            ),
            [{"row_id": i, "res": result} for i, result in done],
        )


def settle(
    conn: Connection,
    worker: str,
    status: OutboxStatus,
    rows: Sequence[tuple[int, str]],
    *,
    now: datetime,
) -> None:
    """Close rows as failed, cancelled or uncertain, with the reason."""
    if rows:
        conn.execute(
            update(_o)
            .where(_held(worker))
            .values(
                status=status.value,
                last_error=bindparam("why"),
                updated_at=now,
                lease_until=None,
            ),
            [{"row_id": i, "why": why[:4000]} for i, why in rows],
        )


def release(
    conn: Connection,
    worker: str,
    rows: Sequence[tuple[int, datetime, str | None]],
    *,
    now: datetime,
    attempted: bool,
) -> None:
    """Put rows back as pending, due at the given time: after a transient failure
    (``attempted``, with the reason) or because a rate limit held them back (the
    claim's attempt is given back)."""
    if not rows:
        return
    values: dict[str, Any] = {
        "status": PENDING,
        "not_before": bindparam("due"),
        "updated_at": now,
        "lease_until": None,
        "worker": None,
    }
    if attempted:
        values["last_error"] = bindparam("why")
    else:
        values["attempts"] = _o.c.attempts - 1
    conn.execute(
        update(_o).where(_held(worker)).values(**values),
        [{"row_id": i, "due": due, "why": why} for i, due, why in rows],
    )


def next_due(
    conn: Connection, *, routes: Collection[Route], internal: bool, after: datetime
) -> datetime | None:
    """When the earliest pending action of these routes falls due (``after`` or later
    only), or ``None`` when there is none."""
    return conn.execute(
        select(func.min(_o.c.not_before)).where(
            _o.c.status == PENDING, _o.c.not_before > after, _mine(routes, internal)
        )
    ).scalar()


def lease_deadline(conn: Connection, *, routes: Collection[Route], internal: bool) -> Any:
    """The earliest lease still running on these routes: when abandoned rows may appear."""
    return conn.execute(
        select(func.min(_o.c.lease_until)).where(_o.c.status == IN_FLIGHT, _mine(routes, internal))
    ).scalar()


def counts(conn: Connection, community_id: int | None = None) -> dict[str, int]:
    """Rows per status (of one community, or all)."""
    query = select(_o.c.status, func.count()).group_by(_o.c.status)
    if community_id is not None:
        query = query.where(_o.c.community_id == community_id)
    return {status: int(n) for status, n in conn.execute(query)}
