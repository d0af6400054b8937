"""Writing and reading the audit log.

``record`` runs inside the transaction of the change it describes, so a change
and its entry are stored together or not at all.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, func, insert, select

from shequn.models import AuditEntry

_a = AuditEntry.__table__


@dataclass(frozen=True, slots=True)
class Actor:
    """The operator behind a change, and where the request came from."""

    workspace_id: int
    operator_id: int | None
    name: str
    address: str | None = None


def plain(value: Any) -> Any:
    """A JSON-able copy of a dataclass, dict or scalar, for the before/after columns."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def record(
    conn: Connection,
    actor: Actor,
    action: str,
    target_type: str,
    target_id: object,
    *,
    before: Any = None,
    after: Any = None,
    now: datetime,
) -> None:
    conn.execute(
        insert(_a).values(
            workspace_id=actor.workspace_id,
            operator_id=actor.operator_id,
            operator_name=actor.name[:64],
            action=action,
            target_type=target_type,
            target_id=str(target_id)[:64],
            before=plain(before),
            after=plain(after),
            address=(actor.address or None) and actor.address[:64],
            at=now,
        )
    )


@dataclass(frozen=True, slots=True)
class AuditFilter:
    operator: str | None = None
    action: str | None = None
    target_type: str | None = None
    target_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True, slots=True)
class AuditPage:
    items: list[dict[str, Any]]
    next_before: int | None
    total: int


def query(
    conn: Connection,
    workspace_id: int,
    where: AuditFilter,
    *,
    before_id: int | None = None,
    limit: int = 50,
) -> AuditPage:
    """Newest first, a page at a time: ``before_id`` is the last id of the previous page."""
    conds = [_a.c.workspace_id == workspace_id]
    if where.operator:
        conds.append(_a.c.operator_name == where.operator)
    if where.action:
        conds.append(_a.c.action == where.action)
    if where.target_type:
        conds.append(_a.c.target_type == where.target_type)
    if where.target_id:
        conds.append(_a.c.target_id == where.target_id)
    if where.since:
        conds.append(_a.c.at >= where.since)
    if where.until:
        conds.append(_a.c.at < where.until)
    total = conn.execute(select(func.count()).where(*conds)).scalar_one()
    page = select(_a).where(*conds)
    if before_id is not None:
        page = page.where(_a.c.id < before_id)
    rows = conn.execute(page.order_by(_a.c.id.desc()).limit(limit + 1)).mappings().all()
    items = [dict(r) for r in rows[:limit]]
    more = len(rows) > limit
    return AuditPage(items, items[-1]["id"] if more and items else None, total)


def actions(conn: Connection, workspace_id: int) -> list[str]:
    """The actions that occur in this workspace's log, for the filter menu."""
    rows = conn.execute(
        select(_a.c.action)
        .where(_a.c.workspace_id == workspace_id)
        .distinct()
        .order_by(_a.c.action)
    )
    return list(rows.scalars())


def target_types(conn: Connection, workspace_id: int) -> list[str]:
    """The kinds of things this workspace's log mentions, for the filter menu."""
    rows = conn.execute(
        select(_a.c.target_type)
        .where(_a.c.workspace_id == workspace_id)
        .distinct()
        .order_by(_a.c.target_type)
    )
    return list(rows.scalars())


def operator_names(conn: Connection, workspace_id: int) -> list[str]:
    """Who appears in this workspace's log (as recorded, so renamed or deleted operators
    still can be filtered on), for the filter menu."""
    rows = conn.execute(
        select(_a.c.operator_name)
        .where(_a.c.workspace_id == workspace_id)
        .distinct()
        .order_by(_a.c.operator_name)
    )
    return list(rows.scalars())


@dataclass(frozen=True, slots=True)
class Change:
    """One key of an entry that differs between before and after (None: absent)."""

    key: str
    before: str | None
    after: str | None


_ABSENT = object()


def _shown(value: Any, limit: int) -> str | None:
    if value is _ABSENT:
        return None
    text = value if isinstance(value, str) else orjson.dumps(value).decode()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def diff(before: Any, after: Any, *, limit: int = 200) -> list[Change]:
    """The keys whose values differ between an entry's before and after, with both
    values as short text (clipped to ``limit`` characters). Pure.

    A creation (no before) lists everything after; a deletion everything before.
    Values that are not objects compare as one unnamed key.
    """
    if (
        not isinstance(before, dict)
        and before is not None
        or (not isinstance(after, dict) and after is not None)
    ):
        if before == after:
            return []
        old_value = _ABSENT if before is None else before
        new_value = _ABSENT if after is None else after
        return [Change("", _shown(old_value, limit), _shown(new_value, limit))]
    old, new = before or {}, after or {}
    changes = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key, _ABSENT), new.get(key, _ABSENT)
        if a != b:
            changes.append(Change(str(key), _shown(a, limit), _shown(b, limit)))
    return changes
