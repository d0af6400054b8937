"""The ``import_job`` rows: creating jobs, moving them through their states, reading them.

Callers own the transaction. A job's ``summary`` holds, besides the counts of a
finished import, the options it was started with and which runner runs it (and
when that runner last said so), which is how a new process tells the jobs of a
dead one from those of a live one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from shequn.features.imports.logic import RECOUNT, RunnerId, clip
from shequn.models import Community, ImportJob, ImportStatus, Operator

_j = ImportJob.__table__
_c = Community.__table__
_op = Operator.__table__
UNFINISHED = (ImportStatus.QUEUED.value, ImportStatus.RUNNING.value)


@dataclass(frozen=True, slots=True)
class JobView:
    id: int
    workspace_id: int
    community_id: int
    community_name: str
    operator_id: int | None
    operator_name: str | None
    kind: str
    filename: str
    path: str
    status: str
    size_bytes: int
    bytes_read: int
    events: int
    error: str | None
    summary: dict[str, Any]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @property
    def finished(self) -> bool:
        return self.status not in UNFINISHED

    @property
    def options(self) -> dict[str, Any]:
        found = self.summary.get("options")
        return found if isinstance(found, dict) else {}

    def count(self, name: str) -> int:
        """A count of the summary (messages, stored, duplicates, unsupported); 0 if absent."""
        value = self.summary.get(name)
        return value if isinstance(value, int) and not isinstance(value, bool) else 0

    @property
    def runner(self) -> RunnerId | None:
        return RunnerId.parse(self.summary.get("runner"))

    @property
    def heartbeat(self) -> datetime | None:
        value = self.summary.get("heartbeat")
        try:
            return datetime.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            return None


def _select() -> Any:
    return select(
        _j, _c.c.name.label("community_name"), _op.c.username.label("operator_name")
    ).select_from(
        _j.join(_c, _c.c.id == _j.c.community_id).outerjoin(_op, _op.c.id == _j.c.operator_id)
    )


def _view(row: Any) -> JobView:
    values = {name: getattr(row, name) for name in JobView.__slots__}
    values["summary"] = dict(row.summary or {})
    return JobView(**values)


def create_job(
    conn: Connection,
    *,
    workspace_id: int,
    community_id: int,
    operator_id: int | None,
    kind: str,
    filename: str,
    path: str,
    size_bytes: int,
    options: dict[str, Any],
    runner: RunnerId,
    now: datetime,
) -> JobView:
    """A queued job, owned by ``runner`` from the start."""
    new_id = conn.execute(
        insert(_j)
        .values(
            workspace_id=workspace_id,
            community_id=community_id,
            operator_id=operator_id,
            kind=kind,
            filename=filename,
            path=path,
            status=ImportStatus.QUEUED.value,
            size_bytes=size_bytes,
            bytes_read=0,
            events=0,
            summary={"options": options, "runner": str(runner), "heartbeat": now.isoformat()},
            created_at=now,
        )
        .returning(_j.c.id)
    ).scalar_one()
    job = job_by_id(conn, new_id)
    assert job is not None
    return job


def job_by_id(conn: Connection, job_id: int) -> JobView | None:
    row = conn.execute(_select().where(_j.c.id == job_id)).first()
    return _view(row) if row else None


def get_job(conn: Connection, workspace_id: int, job_id: int) -> JobView | None:
    """The job if it is this workspace's, else None."""
    row = conn.execute(
        _select().where(_j.c.id == job_id, _j.c.workspace_id == workspace_id)
    ).first()
    return _view(row) if row else None


def list_jobs(
    conn: Connection, workspace_id: int, *, before_id: int | None = None, limit: int = 50
) -> tuple[list[JobView], int | None]:
    """The workspace's imports, newest first, a page at a time; and the id to continue
    before (None on the last page). Recounts are not imports and are left out."""
    query = _select().where(_j.c.workspace_id == workspace_id, _j.c.kind != RECOUNT)
    if before_id is not None:
        query = query.where(_j.c.id < before_id)
    rows = conn.execute(query.order_by(_j.c.id.desc()).limit(limit + 1)).all()
    jobs = [_view(r) for r in rows[:limit]]
    return jobs, (jobs[-1].id if len(rows) > limit and jobs else None)


def latest_recount(conn: Connection, community_id: int) -> JobView | None:
    row = conn.execute(
        _select()
        .where(_j.c.community_id == community_id, _j.c.kind == RECOUNT)
        .order_by(_j.c.id.desc())
        .limit(1)
    ).first()
    return _view(row) if row else None


def unfinished_jobs(conn: Connection) -> list[JobView]:
    """Every queued or running job of every workspace: what a starting process checks."""
    rows = conn.execute(_select().where(_j.c.status.in_(UNFINISHED)).order_by(_j.c.id))
    return [_view(r) for r in rows]


def claim(conn: Connection, job_id: int, *, now: datetime) -> JobView | None:
    """Queued → running; None when the job is no longer queued (it was given up on)."""
    done = conn.execute(
        update(_j)
        .where(_j.c.id == job_id, _j.c.status == ImportStatus.QUEUED.value)
        .values(status=ImportStatus.RUNNING.value, started_at=now)
    )
    return job_by_id(conn, job_id) if done.rowcount == 1 else None


def report(
    conn: Connection, job_id: int, *, bytes_read: int, events: int, summary: dict[str, Any]
) -> None:
    conn.execute(
        update(_j)
        .where(_j.c.id == job_id)
        .values(bytes_read=bytes_read, events=events, summary=summary)
    )


def beat(conn: Connection, job_ids: list[int], runner: RunnerId, *, now: datetime) -> None:
    """Say that ``runner`` still has these unfinished jobs in hand."""
    if not job_ids:
        return
    rows = conn.execute(
        select(_j.c.id, _j.c.summary).where(_j.c.id.in_(job_ids), _j.c.status.in_(UNFINISHED))
    ).all()
    for row in rows:
        summary = dict(row.summary or {}) | {"runner": str(runner), "heartbeat": now.isoformat()}
        conn.execute(update(_j).where(_j.c.id == row.id).values(summary=summary))


def finish(
    conn: Connection,
    job_id: int,
    *,
    now: datetime,
    summary: dict[str, Any],
    bytes_read: int,
    events: int,
) -> None:
    conn.execute(
        update(_j)
        .where(_j.c.id == job_id)
        .values(
            status=ImportStatus.DONE.value,
            finished_at=now,
            summary=summary,
            bytes_read=bytes_read,
            events=events,
        )
    )


def fail(
    conn: Connection,
    job_id: int,
    *,
    now: datetime,
    error: str,
    summary: dict[str, Any] | None = None,
) -> None:
    """Mark the job failed with ``error``; its counts stay what was last reported, which
    is what was committed."""
    values: dict[str, Any] = {
        "status": ImportStatus.FAILED.value,
        "finished_at": now,
        "error": clip(error),
    }
    if summary is not None:
        values["summary"] = summary
    conn.execute(update(_j).where(_j.c.id == job_id, _j.c.status.in_(UNFINISHED)).values(values))
