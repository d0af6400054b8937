"""The operator inbox's store: tasks opened from operator notices, listed, closed, reopened.

A task is opened by the dispatcher performing a NOTIFY_OPERATOR action, keyed by that
action's outbox key, so however often the action is performed (a retry, a dispatcher that
died after writing) there is one task. Closing and reopening are single conditional
UPDATEs: two operators pressing "done" at once close it once, and the second is told.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, case, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from shequn.core import Action, ActionType
from shequn.features.community.member_filter import has_control
from shequn.features.tasks.kinds import task_kind
from shequn.kit.errors import ShequnError
from shequn.models import Community, Group, Identity, OperatorTask

_t = OperatorTask.__table__
_group = Group.__table__
_identity = Identity.__table__
_community = Community.__table__

#: The longest note an operator may leave on a task.
MAX_NOTE = 2000
#: The longest platform reference (a group's or a user's id) a task keeps.
MAX_REF = 255
DEFAULT_LIMIT = 50


class TaskError(ShequnError):
    """A task change that cannot be made; the message says why."""


class TaskNotFound(TaskError):
    pass


class AlreadyDone(TaskError):
    pass


class NotDone(TaskError):
    pass


class BadNote(TaskError):
    pass


@dataclass(frozen=True, slots=True)
class Task:
    id: int
    community_id: int
    kind: str
    text: str
    reason: str
    params: Mapping[str, Any]
    platform: str | None
    group_ref: str | None
    group_id: int | None
    user_ref: str | None
    member_id: int | None
    source_key: str
    created_at: datetime
    done_at: datetime | None
    done_by: int | None
    note: str

    @property
    def done(self) -> bool:
        return self.done_at is not None


def _task(row: Any) -> Task:
    return Task(
        id=row.id,
        community_id=row.community_id,
        kind=row.kind,
        text=row.text,
        reason=row.reason,
        params=row.params or {},
        platform=row.platform,
        group_ref=row.group_ref,
        group_id=row.group_id,
        user_ref=row.user_ref,
        member_id=row.member_id,
        source_key=row.source_key,
        created_at=row.created_at,
        done_at=row.done_at,
        done_by=row.done_by,
        note=row.note,
    )


def clean_note(note: str | None) -> str:
    """A note as stored: trimmed; refused if too long or holding control characters."""
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise BadNote(f"note: at most {MAX_NOTE} characters, got {len(note)}")
    if has_control(note):
        raise BadNote("note: control characters are not allowed")
    return note


def _ref(value: str | None) -> str | None:
    return value[:MAX_REF] if value else None


def _group_id(conn: Connection, community_id: int, platform: str, ref: str) -> int | None:
    return conn.execute(
        select(_group.c.id).where(
            _group.c.community_id == community_id,
            _group.c.platform == platform,
            _group.c.external_id == ref,
        )
    ).scalar()


def _member_id(conn: Connection, community_id: int, platform: str, ref: str) -> int | None:
    workspace = select(_community.c.workspace_id).where(_community.c.id == community_id)
    return conn.execute(
        select(_identity.c.member_id).where(
            _identity.c.workspace_id == workspace.scalar_subquery(),
            _identity.c.platform == platform,
            _identity.c.external_id == ref,
        )
    ).scalar()


def _by_key(conn: Connection, key: str) -> int | None:
    return conn.execute(select(_t.c.id).where(_t.c.source_key == key)).scalar()


def open_task(
    conn: Connection, community_id: int, action: Action, *, key: str, now: datetime
) -> int:
    """The task for this operator notice, opened if it is new; returns its id either way
    (the same ``key`` always gives the same task)."""
    if action.type is not ActionType.NOTIFY_OPERATOR:
        raise TaskError(f"a task comes from a notify_operator action, not {action.type.value}")
    if not key:
        raise TaskError("a task needs the notice's outbox key")
    found = _by_key(conn, key)
    if found is not None:
        return found
    platform, group, user = action.platform, _ref(action.group), _ref(action.user)
    params = dict(action.params)
    values = {
        "community_id": community_id,
        "kind": task_kind(params),
        "text": action.message.plain_text() if action.message is not None else "",
        "reason": action.reason or "",
        "params": params,
        "platform": platform,
        "group_ref": group,
        "group_id": _group_id(conn, community_id, platform, group) if platform and group else None,
        "user_ref": user,
        "member_id": _member_id(conn, community_id, platform, user) if platform and user else None,
        "source_key": key,
        "created_at": now,
        "done_at": None,
        "done_by": None,
        "note": "",
    }
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    made = conn.execute(
        insert(_t)
        .values(values)
        .on_conflict_do_nothing(index_elements=["source_key"])
        .returning(_t.c.id)
    ).scalar()
    if made is not None:
        return made
    # Another dispatcher opened it between our look and our insert.
    again = _by_key(conn, key)
    assert again is not None
    return again


def get_task(conn: Connection, community_id: int, task_id: int) -> Task | None:
    row = conn.execute(
        select(_t).where(_t.c.id == task_id, _t.c.community_id == community_id)
    ).first()
    return _task(row) if row is not None else None


def task_community(conn: Connection, task_id: int) -> int | None:
    """The community a task belongs to (callers check it is one the asker may see)."""
    return conn.execute(select(_t.c.community_id).where(_t.c.id == task_id)).scalar()


#: 0 for an open task, 1 for a done one: the inbox lists open tasks first.
_done_rank = case((_t.c.done_at.is_(None), 0), else_=1)


def task_rows(
    conn: Connection,
    community_id: int,
    *,
    open_only: bool = True,
    after: tuple[bool, int] | None = None,
    limit: int = DEFAULT_LIMIT,
) -> list[Task]:
    """The community's tasks, open ones first, newest first within each; a page of
    ``limit`` continuing after the (done, id) of the last task shown."""
    query = select(_t).where(_t.c.community_id == community_id)
    if open_only:
        query = query.where(_t.c.done_at.is_(None)).order_by(_t.c.id.desc())
        if after is not None:
            query = query.where(_t.c.id < after[1])
    else:
        query = query.order_by(_done_rank, _t.c.id.desc())
        if after is not None:
            done, last = int(after[0]), after[1]
            query = query.where(or_(_done_rank > done, and_(_done_rank == done, _t.c.id < last)))
    return [_task(r) for r in conn.execute(query.limit(limit))]


def count_open(conn: Connection, community_id: int) -> int:
    return conn.execute(
        select(func.count())
        .select_from(_t)
        .where(_t.c.community_id == community_id, _t.c.done_at.is_(None))
    ).scalar_one()


def count_all(conn: Connection, community_id: int) -> int:
    return conn.execute(
        select(func.count()).select_from(_t).where(_t.c.community_id == community_id)
    ).scalar_one()


def _change(conn: Connection, community_id: int, task_id: int, done: bool, values: dict) -> Task:
    """Set ``values`` on the task if it is open (``done`` False) or done (True); the state
    is checked in the UPDATE itself, so of two operators acting at once one wins."""
    state = _t.c.done_at.is_not(None) if done else _t.c.done_at.is_(None)
    row = conn.execute(
        update(_t)
        .where(_t.c.id == task_id, _t.c.community_id == community_id, state)
        .values(values)
        .returning(*_t.c)
    ).first()
    if row is not None:
        return _task(row)
    current = get_task(conn, community_id, task_id)
    if current is None:
        raise TaskNotFound(f"no task {task_id}")
    if current.done:
        raise AlreadyDone(f"task {task_id} is done already")
    raise NotDone(f"task {task_id} is still open")


def close_task(
    conn: Connection,
    community_id: int,
    task_id: int,
    *,
    operator_id: int | None,
    note: str | None,
    now: datetime,
) -> Task:
    """Mark an open task done by ``operator_id``, with an optional note; TaskNotFound,
    AlreadyDone or BadNote otherwise."""
    values = {"done_at": now, "done_by": operator_id, "note": clean_note(note)}
    return _change(conn, community_id, task_id, False, values)


def reopen_task(conn: Connection, community_id: int, task_id: int) -> Task:
    """Open a done task again (it was closed by mistake, or the problem came back); its
    note goes with the closing, which the audit log keeps. TaskNotFound or NotDone."""
    values = {"done_at": None, "done_by": None, "note": ""}
    return _change(conn, community_id, task_id, True, values)
