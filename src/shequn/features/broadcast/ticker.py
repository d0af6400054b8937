"""The broadcast scheduler: each job that has fallen due runs, once.

Every tick reads the active jobs whose ``next_run`` has come (an index on status and
next_run keeps that cheap), asks ``due_runs`` which run to carry out — one, the latest,
however many were missed while the process was down — plans it over the groups as they
are now, and writes its delivery rows, the job's ``last_run``/``next_run`` and (through
the returned actions) its outbox rows in the tick's one transaction. A crash anywhere
before the commit leaves the job due, and the next tick plans the same run again with the
same keys: every group still ends with exactly one copy.

On PostgreSQL the due jobs are locked ``FOR UPDATE SKIP LOCKED``, so two workers ticking
together never run the same job; SQLite holds one writer at a time anyway.

A stored job whose targets no longer match any group, or whose post can no longer be
sent, is not retried every tick: its run is recorded with nothing sent and the reason
logged, and its next run is planned as usual.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, select, update

from shequn.features.broadcast.plan import Delivery
from shequn.features.broadcast.post import parse_post
from shequn.features.broadcast.problems import BroadcastError
from shequn.features.broadcast.schedule import due_runs, next_run
from shequn.features.broadcast.schedule_text import parse_schedule
from shequn.features.broadcast.store import (
    CommunityInfo,
    community_info,
    group_infos,
    pacing_of,
    plan_run,
    segment_members,
    write_run,
)
from shequn.features.broadcast.targets import resolve_targets
from shequn.features.outbox import Pending
from shequn.models import BroadcastJob, BroadcastPost, JobStatus

log = logging.getLogger("shequn.features.broadcast")

_j = BroadcastJob.__table__
_p = BroadcastPost.__table__
#: Jobs taken per tick; the rest are due still and run on the next tick.
BATCH = 50


class BroadcastTicker:
    name = "broadcast"

    def __init__(self, *, batch: int = BATCH) -> None:
        self.batch = batch

    def tick(self, conn: Connection, now: datetime) -> list[Pending]:
        query = (
            select(_j, _p.c.data)
            .select_from(_j.join(_p, _p.c.id == _j.c.post_id))
            .where(_j.c.status == JobStatus.ACTIVE.value, _j.c.next_run <= now)
            .order_by(_j.c.next_run, _j.c.id)
            .limit(self.batch)
        )
        if conn.dialect.name == "postgresql":
            query = query.with_for_update(of=_j, skip_locked=True)
        out: list[Pending] = []
        for job in conn.execute(query).all():
            out.extend(self._run(conn, job, now))
        return out

    def _run(self, conn: Connection, job: Row[Any], now: datetime) -> list[Pending]:
        community = community_info(conn, job.community_id)
        if community is None:  # the job's row is deleted with its community
            return []
        schedule = parse_schedule(job.schedule) if job.schedule else None
        pending: list[Pending] = []
        runs = (
            due_runs(schedule, job.last_run or job.created_at, now, community.zone)
            if schedule is not None
            else []
        )
        for run_at in runs:
            deliveries = self._plan(conn, job, community, run_at)
            pending.extend(write_run(conn, community.id, job.id, deliveries, now=now, queue=False))
        upcoming = next_run(schedule, now, community.zone) if schedule is not None else None
        conn.execute(
            update(_j)
            .where(_j.c.id == job.id)
            .values(
                last_run=runs[-1] if runs else job.last_run,
                next_run=upcoming,
                status=JobStatus.ACTIVE.value if upcoming is not None else JobStatus.DONE.value,
                updated_at=now,
            )
        )
        return pending

    def _plan(
        self, conn: Connection, job: Row[Any], community: CommunityInfo, run_at: datetime
    ) -> list[Delivery]:
        try:
            post = parse_post({**job.data, "id": str(job.post_id)})
            audience = resolve_targets(
                job.targets,
                group_infos(conn, community),
                segments=segment_members(conn, community, job.targets),
            )
            pacing = pacing_of(job.pacing)
        except BroadcastError as exc:
            log.warning(
                "broadcast job %s run %s sends nothing: %s",
                job.id,
                run_at.isoformat(),
                exc,
            )
            return []
        return plan_run(conn, community, post, audience, pacing, run_at)
