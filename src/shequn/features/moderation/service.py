"""What operators do with moderation: read the log, undo a decision, keep the blacklist
(``blacklisting``, re-exported here so callers need one module).

The dashboard and the API call these inside their request's transaction; nothing here
commits, so an operation and the actions it queues are stored together or not at all.
Actions go to the outbox with keys that name their cause (``moderation-undo:<entry>:<n>``,
``blacklist:<entry>:…``), so a request repeated after a timeout queues nothing twice.
Recording who did what in the audit log is the caller's: it knows the operator's name and
address.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from shequn.core import Action
from shequn.features.moderation import History, Wording, undo_plan
from shequn.features.moderation.blacklisting import (
    BlacklistRow,
    blacklist_add,
    blacklist_entries,
    blacklist_remove,
)
from shequn.features.moderation.errors import (
    AlreadyUndone,
    EntryNotFound,
    ModerationError,
    NothingToUndo,
    UnknownMember,
)
from shequn.features.moderation.processor import BLACKLIST_KIND
from shequn.features.moderation.store import (
    histories,
    page_size,
    read_reason,
    save_histories,
)
from shequn.features.outbox import Pending, enqueue
from shequn.models import ModerationEntry

_log = ModerationEntry.__table__


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One logged decision, as the dashboard shows it."""

    id: int
    group_id: int | None
    member_id: int | None
    platform: str
    user_ref: str
    rule_id: int | None
    rule_name: str
    kind: str
    matched: str
    reason: dict[str, str]
    actions: list[dict[str, Any]]
    warning: bool
    decided_at: datetime
    undone_at: datetime | None
    undone_by: int | None
    undoable: bool


class UndoResult(list[Action]):
    """The actions an undo queued; ``notes`` say what no platform can restore (a deleted
    message, a kick) and ``withdrew_warning`` whether the warning stopped counting."""

    def __init__(
        self, actions: Iterable[Action], notes: tuple[Wording, ...], withdrew_warning: bool
    ) -> None:
        super().__init__(actions)
        self.notes = notes
        self.withdrew_warning = withdrew_warning


def _actions(row: Any) -> list[Action]:
    return [Action.from_dict(a) for a in row.actions or []]


def _undoable(row: Any) -> bool:
    if row.undone_at is not None or row.kind == BLACKLIST_KIND:
        return False
    plan = undo_plan(_actions(row))
    return bool(plan.actions) or plan.withdraw_warning


def _entry(row: Any) -> LogEntry:
    return LogEntry(
        id=row.id,
        group_id=row.group_id,
        member_id=row.member_id,
        platform=row.platform,
        user_ref=row.user_ref,
        rule_id=row.rule_id,
        rule_name=row.rule_name,
        kind=row.kind,
        matched=row.matched,
        reason=read_reason(row.reason),
        actions=list(row.actions or []),
        warning=row.warning,
        decided_at=row.decided_at,
        undone_at=row.undone_at,
        undone_by=row.undone_by,
        undoable=_undoable(row),
    )


def log_entries(
    conn: Connection,
    community_id: int,
    *,
    group_id: int | None = None,
    member_id: int | None = None,
    kind: str | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> list[LogEntry]:
    """The community's logged decisions, newest first; ``before_id`` pages back."""
    query = select(_log).where(_log.c.community_id == community_id)
    if group_id is not None:
        query = query.where(_log.c.group_id == group_id)
    if member_id is not None:
        query = query.where(_log.c.member_id == member_id)
    if kind is not None:
        query = query.where(_log.c.kind == kind)
    if before_id is not None:
        query = query.where(_log.c.id < before_id)
    rows = conn.execute(query.order_by(_log.c.id.desc()).limit(page_size(limit)))
    return [_entry(row) for row in rows]


def _withdraw(
    conn: Connection, community_id: int, platform: str, user: str, at: datetime, now: datetime
) -> None:
    """Take the warning given at ``at`` out of the member's history, so it no longer
    counts towards the ladder."""
    key = (community_id, platform, user)
    history = histories(conn, [key]).get(key)
    if history is None or at not in history.warnings:
        return
    warnings = list(history.warnings)
    warnings.remove(at)
    save_histories(conn, {key: History(history.messages, tuple(warnings))}, now=now)


def undo(
    conn: Connection, community_id: int, entry_id: int, *, operator_id: int | None, now: datetime
) -> list[Action]:
    """Reverse a logged decision as far as the platforms allow: queue the unmute / unban /
    unmute-all, withdraw the warning it gave, and mark the entry undone.

    Returns an ``UndoResult`` (a list of the queued actions with ``notes`` on what cannot
    be restored). Raises EntryNotFound, AlreadyUndone, or NothingToUndo (whose message
    says why: only deletions or kicks, or a blacklist removal, which is undone by taking
    the member off the blacklist).
    """
    row = conn.execute(
        select(_log).where(_log.c.id == entry_id, _log.c.community_id == community_id)
    ).first()
    if row is None:
        raise EntryNotFound(f"no moderation log entry {entry_id} in this community")
    if row.undone_at is not None:
        raise AlreadyUndone(f"log entry {entry_id} was undone at {row.undone_at.isoformat()}")
    if row.kind == BLACKLIST_KIND:
        raise NothingToUndo(
            f"log entry {entry_id} is a blacklist removal: take the member off the blacklist "
            f"instead / 该记录为黑名单移除，请将成员移出黑名单"
        )
    plan = undo_plan(_actions(row))
    if not plan.actions and not plan.withdraw_warning:
        why = "; ".join(f"{n.en} / {n.zh}" for n in plan.notes) or "no action to reverse"
        raise NothingToUndo(f"log entry {entry_id} cannot be undone: {why}")
    marked = conn.execute(
        update(_log)
        .where(_log.c.id == entry_id, _log.c.undone_at.is_(None))
        .values(undone_at=now, undone_by=operator_id)
    )
    if marked.rowcount == 0:
        raise AlreadyUndone(f"log entry {entry_id} was undone meanwhile")
    keyed = [a.with_key(f"moderation-undo:{entry_id}:{n}") for n, a in enumerate(plan.actions)]
    enqueue(conn, [Pending(a, community_id) for a in keyed], now=now)
    if plan.withdraw_warning:
        _withdraw(conn, community_id, row.platform, row.user_ref, row.decided_at, now)
    return UndoResult(keyed, plan.notes, plan.withdraw_warning)


__all__ = [
    "AlreadyUndone",
    "BlacklistRow",
    "EntryNotFound",
    "LogEntry",
    "ModerationError",
    "NothingToUndo",
    "UndoResult",
    "UnknownMember",
    "blacklist_add",
    "blacklist_entries",
    "blacklist_remove",
    "log_entries",
    "undo",
]
