"""Write actions to the outbox inside the caller's transaction.

An action with a key already in the outbox is skipped, not repeated: the same
cause replayed (a redelivered webhook, a re-run import) never acts twice. An action
whose ``params["after_s"]`` is set waits that many seconds (a welcome sent after a
pause, a lobby kick a day after promotion, a welcome deleted after a while).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from shequn.core import Action
from shequn.models import OutboxRow, OutboxStatus

_outbox = OutboxRow.__table__


@dataclass(frozen=True, slots=True)
class Pending:
    """An action ready for the outbox: its key is set, its cause and community known."""

    action: Action
    community_id: int
    event_id: int | None = None
    not_before: datetime | None = None


def _due(action: Action, now: datetime) -> datetime:
    after = action.params.get("after_s")
    if isinstance(after, int | float) and not isinstance(after, bool) and after > 0:
        return now + timedelta(seconds=float(after))
    return now


def enqueue(conn: Connection, items: Sequence[Pending], *, now: datetime) -> int:
    """Insert the actions; return how many were new."""
    if not items:
        return 0
    rows = []
    for p in items:
        if not p.action.key:
            raise ValueError(f"{p.action.type.value}: an outbox action needs an idempotency key")
        rows.append(
            {
                "community_id": p.community_id,
                "event_id": p.event_id,
                "type": p.action.type.value,
                "platform": None if p.action.internal else p.action.platform,
                "group_ref": None if p.action.internal else p.action.group,
                "action": p.action.to_dict(),
                "status": OutboxStatus.PENDING.value,
                "attempts": 0,
                "idempotency_key": p.action.key,
                "not_before": p.not_before or _due(p.action, now),
                "created_at": now,
                "updated_at": now,
            }
        )
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    stmt = (
        insert(_outbox)
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(_outbox.c.id)
    )
    return len(conn.execute(stmt, rows).all())


def _move_keys(
    conn: Connection,
    community_id: int,
    keys: Sequence[str],
    sources: Sequence[str],
    values: dict[str, object],
) -> int:
    """Move the community's rows with these keys whose status is one of ``sources``; the
    status is checked in the update itself, so a row a dispatcher took meanwhile stays."""
    wanted = sorted(set(keys))
    moved = 0
    for start in range(0, len(wanted), 500):
        moved += len(
            conn.execute(
                update(_outbox)
                .where(
                    _outbox.c.community_id == community_id,
                    _outbox.c.idempotency_key.in_(wanted[start : start + 500]),
                    _outbox.c.status.in_(list(sources)),
                )
                .values(**values)
                .returning(_outbox.c.id)
            ).all()
        )
    return moved


def cancel_keys(conn: Connection, community_id: int, keys: Sequence[str], *, now: datetime) -> int:
    """Take the pending actions with these keys off the queue (a scheduled post withdrawn);
    actions in flight or done cannot be called back and stay as they are. Returns how
    many were cancelled."""
    return _move_keys(
        conn,
        community_id,
        keys,
        (OutboxStatus.PENDING.value,),
        {
            "status": OutboxStatus.CANCELLED.value,
            "worker": None,
            "lease_until": None,
            "updated_at": now,
        },
    )


def retry_keys(conn: Connection, community_id: int, keys: Sequence[str], *, now: datetime) -> int:
    """Send the failed and uncertain actions with these keys back to the queue, due now,
    with a fresh count of attempts. Returns how many went back."""
    return _move_keys(
        conn,
        community_id,
        keys,
        (OutboxStatus.FAILED.value, OutboxStatus.UNCERTAIN.value),
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
