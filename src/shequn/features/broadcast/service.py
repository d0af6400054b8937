"""Broadcast as operators use it: the content library, scheduling a post to many groups,
editing and cancelling jobs, and the calendar of what is coming.

Everything an operator submits is checked before anything is stored or queued — the post,
the schedule (a time in the past, a schedule that never runs), the targets (a selector
matching no group), the pacing, what a targeted platform cannot show (a text too long
for WeCom) and WeCom's one mass message per group and day — and every problem found is
reported at once, naming where and what. A job sent now is planned and queued in the
same transaction as its row, so it is never half-sent.

WeCom conflicts refuse a job, naming each group and its next free day, unless its pacing
says ``allow_wecom_conflict``: then the groups that can take the post get it and the
others are reported as refused with their next slot. Deliveries a group's daily cap
refuses never refuse the job: the cap is the operator's own manners, reported per group.

The delivery report, retry and cancel of one job's copies are in ``report``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, select, update

from shequn.features.broadcast.library import (
    OPEN,
    PostRow,
    community_of,
    delete_post,
    get_post,
    group_infos,
    post_rows,
    preview,
    save_post,
    set_group_tags,
)
from shequn.features.broadcast.localtime import as_zone
from shequn.features.broadcast.pacing import Conflict, Pacing, wecom_conflicts
from shequn.features.broadcast.plan import Delivery, Reason
from shequn.features.broadcast.platforms import PROFILES
from shequn.features.broadcast.post import Post
from shequn.features.broadcast.problems import BroadcastError, Problem
from shequn.features.broadcast.report import (
    DeliveryLine,
    DeliveryStatus,
    Report,
    cancel_pending,
    delivery_report,
    retry_failed,
)
from shequn.features.broadcast.schedule import Schedule, next_run
from shequn.features.broadcast.schedule_text import parse_schedule
from shequn.features.broadcast.store import (
    BroadcastNotFound,
    CommunityInfo,
    JobClosed,
    JobNotFound,
    PostInUse,
    PostNotFound,
    WeComConflicts,
    delivery_counts,
    job_keys,
    mass_sent,
    pacing_of,
    plan_run,
    segment_members,
    write_run,
)
from shequn.features.broadcast.store import group_infos as _group_infos
from shequn.features.broadcast.targets import Audience, GroupInfo, resolve_targets
from shequn.features.outbox import cancel_keys
from shequn.models import BroadcastJob, BroadcastPost, JobStatus

_p = BroadcastPost.__table__
_j = BroadcastJob.__table__

#: The most occurrences ``upcoming`` lists: a calendar, not an export.
MAX_OCCURRENCES = 1000


@dataclass(frozen=True, slots=True)
class JobRow:
    id: int
    post_id: int
    title: str
    targets: str
    schedule: str | None
    pacing: Mapping[str, Any]
    status: str
    last_run: datetime | None
    next_run: datetime | None
    created_by: int | None
    created_at: datetime
    updated_at: datetime
    #: Copies per outbox status (``pending``, ``done``, ``failed``…) and ``refused``.
    counts: Mapping[str, int]

    @property
    def editable(self) -> bool:
        return self.status in OPEN

    @property
    def when(self) -> str:
        """The schedule's text, or ``now`` for a job sent at once."""
        return self.schedule or "now"


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One run in the calendar: ``at`` in UTC, ``local`` on the community's clock."""

    job_id: int
    post_id: int
    title: str
    at: datetime
    local: datetime
    targets: str

    @property
    def clock(self) -> str:
        return f"{self.local:%H:%M}"


# --- jobs --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Checked:
    schedule: Schedule | None
    audience: Audience
    pacing: Pacing
    run_at: datetime
    deliveries: list[Delivery]


def _check_job(
    conn: Connection,
    community: CommunityInfo,
    post: Post,
    *,
    targets: str,
    when: str | Schedule | None,
    pacing: Mapping[str, Any] | None,
    now: datetime,
) -> _Checked:
    """Every check of a job, all problems at once; the first run planned as a dry run
    says what the targeted platforms cannot show and which WeCom groups conflict."""
    errors: list[BroadcastError] = []
    schedule: Schedule | None = None
    run_at: datetime | None = now
    audience = Audience()
    checked_pacing = Pacing()
    if isinstance(when, Schedule):
        schedule = when
    elif when is not None:
        try:
            schedule = parse_schedule(when, zone=community.zone, now=now)
        except BroadcastError as exc:
            errors.append(exc)
    if schedule is not None:
        run_at = next_run(schedule, now, community.zone)
        if run_at is None:
            errors.append(
                BroadcastError([Problem("schedule", "never runs again", "之后不会再运行")])
            )
    try:
        audience = resolve_targets(
            targets,
            _group_infos(conn, community),
            segments=segment_members(conn, community, targets),
        )
    except BroadcastError as exc:
        errors.append(exc)
    try:
        checked_pacing = pacing_of(pacing)
    except BroadcastError as exc:
        errors.append(exc)
    if errors:
        if len(errors) == 1:
            raise errors[0]
        raise BroadcastError([p for e in errors for p in e.problems])
    assert run_at is not None
    deliveries = plan_run(conn, community, post, audience, checked_pacing, run_at)
    blocked: dict[str, Problem] = {}
    conflicts: list[Conflict] = []
    for d in deliveries:
        if d.refusal is not None and d.refusal.reason is Reason.RENDER:
            for p in d.refusal.problems:
                blocked.setdefault(p.text("en"), p)
    if blocked:
        raise BroadcastError(list(blocked.values()))
    if not (pacing or {}).get("allow_wecom_conflict"):
        limited = [
            d
            for d in deliveries
            if d.refusal is not None and d.refusal.reason is Reason.PLATFORM_DAILY_LIMIT
        ]
        if limited:
            conflicts = wecom_conflicts_for(
                conn, community.id, audience.groups, limited[0].send_at or run_at
            )
            raise WeComConflicts(
                conflicts,
                [p for d in limited for p in d.refusal.problems],  # type: ignore[union-attr]
            )
    return _Checked(schedule, audience, checked_pacing, run_at, deliveries)


def _pacing_json(pacing: Mapping[str, Any] | None) -> dict[str, Any]:
    checked = pacing_of(pacing)
    out: dict[str, Any] = {
        "daily_cap": checked.daily_cap,
        "quiet": checked.quiet.to_text(),
        "golden": checked.golden,
    }
    if (pacing or {}).get("allow_wecom_conflict"):
        out["allow_wecom_conflict"] = True
    return out


def schedule_post(
    conn: Connection,
    community_id: int,
    post_id: int,
    *,
    targets: str,
    when: str | None,
    pacing: Mapping[str, Any] | None,
    operator_id: int | None,
    now: datetime,
) -> int:
    """A job sending the post to ``targets``, now (``when`` None: planned and queued in this
    transaction) or on the schedule ``when`` reads as; returns its id. Nothing is stored
    when anything is refused (see the module's docstring)."""
    community = community_of(conn, community_id)
    post = get_post(conn, community_id, post_id).post
    checked = _check_job(conn, community, post, targets=targets, when=when, pacing=pacing, now=now)
    send_now = checked.schedule is None
    job_id = int(
        conn.execute(
            insert(_j)
            .values(
                community_id=community.id,
                post_id=post_id,
                targets=targets.strip(),
                schedule=None if send_now else checked.schedule.to_text(),  # type: ignore[union-attr]
                pacing=_pacing_json(pacing),
                status=JobStatus.DONE.value if send_now else JobStatus.ACTIVE.value,
                last_run=now,
                next_run=None if send_now else checked.run_at,
                created_by=operator_id,
                created_at=now,
                updated_at=now,
            )
            .returning(_j.c.id)
        ).scalar_one()
    )
    if send_now:
        write_run(conn, community.id, job_id, checked.deliveries, now=now)
    return job_id


def wecom_conflicts_for(
    conn: Connection,
    community_id: int,
    targets: str | Sequence[GroupInfo],
    at: datetime,
) -> list[Conflict]:
    """The targeted WeCom groups that have had their mass message on ``at``'s China day,
    each with its next free day — what the dashboard shows before sending."""
    community = community_of(conn, community_id)
    groups = (
        resolve_targets(targets, _group_infos(conn, community)).groups
        if isinstance(targets, str)
        else targets
    )
    conflicts: list[Conflict] = []
    last = mass_sent(conn, community.id, "", at)
    for name, profile in sorted(PROFILES.items()):
        if profile.mass_sends_per_day is None:
            continue
        planned = [(g.id, at) for g in groups if g.platform == name]
        conflicts.extend(
            wecom_conflicts(
                planned, last, per_day=profile.mass_sends_per_day, zone=profile.day_zone
            )
        )
    return conflicts


def _job_rows(conn: Connection, query: Any) -> list[JobRow]:
    rows = conn.execute(query).all()
    counts = delivery_counts(conn, [r.id for r in rows])
    return [
        JobRow(
            r.id,
            r.post_id,
            r.title,
            r.targets,
            r.schedule,
            r.pacing or {},
            r.status,
            r.last_run,
            r.next_run,
            r.created_by,
            r.created_at,
            r.updated_at,
            counts.get(r.id, {}),
        )
        for r in rows
    ]


def _jobs_query(community_id: int) -> Any:
    return (
        select(_j, _p.c.title)
        .select_from(_j.join(_p, _p.c.id == _j.c.post_id))
        .where(_j.c.community_id == community_id)
    )


def job_rows(
    conn: Connection,
    community_id: int,
    *,
    status: str | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> list[JobRow]:
    """The community's jobs, newest first, with their copies counted by status."""
    query = _jobs_query(community_id)
    if status is not None:
        query = query.where(_j.c.status == status)
    if before_id is not None:
        query = query.where(_j.c.id < before_id)
    return _job_rows(conn, query.order_by(_j.c.id.desc()).limit(limit))


def get_job(conn: Connection, community_id: int, job_id: int) -> JobRow:
    found = _job_rows(conn, _jobs_query(community_id).where(_j.c.id == job_id))
    if not found:
        raise JobNotFound(f"no job {job_id} in community {community_id}")
    return found[0]


def upcoming(
    conn: Connection, community_id: int, *, start: datetime, end: datetime
) -> list[Occurrence]:
    """Every run of the community's active jobs in [start, end), in time order, at most
    ``MAX_OCCURRENCES``."""
    community = community_of(conn, community_id)
    found: list[Occurrence] = []
    rows = conn.execute(
        _jobs_query(community_id).where(
            _j.c.status == JobStatus.ACTIVE.value, _j.c.next_run.is_not(None), _j.c.next_run < end
        )
    ).all()
    for r in rows:
        schedule = parse_schedule(r.schedule) if r.schedule else None
        at: datetime | None = r.next_run
        if at is not None and at < start and schedule is not None:
            at = next_run(schedule, start - timedelta(microseconds=1), community.zone)
        while at is not None and at < end and len(found) < MAX_OCCURRENCES:
            local = at.astimezone(as_zone(community.zone))
            found.append(Occurrence(r.id, r.post_id, r.title, at, local, r.targets))
            at = next_run(schedule, at, community.zone) if schedule is not None else None
    return sorted(found, key=lambda o: (o.at, o.job_id))[:MAX_OCCURRENCES]


def _open_job(conn: Connection, community_id: int, job_id: int) -> JobRow:
    job = get_job(conn, community_id, job_id)
    if job.status not in OPEN:
        raise JobClosed(
            [
                Problem(
                    f"job {job_id}",
                    f"is {job.status}: it cannot change",
                    f"已{job.status}，不能修改",
                )
            ]
        )
    return job


def edit_job(
    conn: Connection,
    community_id: int,
    job_id: int,
    *,
    targets: str | None = None,
    when: str | None = None,
    pacing: Mapping[str, Any] | None = None,
    now: datetime,
) -> None:
    """Change a scheduled job's targets, schedule (``when`` None keeps it) or pacing,
    with every check of ``schedule_post``. Copies already queued keep their plan; the
    next runs follow the new settings."""
    community = community_of(conn, community_id)
    job = _open_job(conn, community_id, job_id)
    post = get_post(conn, community_id, job.post_id).post
    new_targets = targets if targets is not None else job.targets
    new_pacing = dict(pacing) if pacing is not None else dict(job.pacing)
    schedule = (
        when if when is not None else (parse_schedule(job.schedule) if job.schedule else None)
    )
    checked = _check_job(
        conn, community, post, targets=new_targets, when=schedule, pacing=new_pacing, now=now
    )
    conn.execute(
        update(_j)
        .where(_j.c.id == job_id)
        .values(
            targets=new_targets.strip(),
            schedule=checked.schedule.to_text() if checked.schedule else None,
            pacing=_pacing_json(new_pacing),
            next_run=checked.run_at if checked.schedule else job.next_run,
            updated_at=now,
        )
    )


def cancel_job(conn: Connection, community_id: int, job_id: int, *, now: datetime) -> int:
    """Stop a job: no more runs, and its copies still waiting are taken off the queue
    (those in flight or sent cannot be called back). Returns how many were cancelled."""
    job = get_job(conn, community_id, job_id)
    if job.status == JobStatus.CANCELLED.value:
        raise JobClosed([Problem(f"job {job_id}", "is already cancelled", "已取消")])
    conn.execute(
        update(_j)
        .where(_j.c.id == job_id)
        .values(status=JobStatus.CANCELLED.value, next_run=None, updated_at=now)
    )
    return cancel_keys(conn, community_id, job_keys(conn, job_id), now=now)


__all__ = [
    "set_group_tags",
    "BroadcastNotFound",
    "DeliveryLine",
    "DeliveryStatus",
    "Report",
    "cancel_pending",
    "delivery_report",
    "retry_failed",
    "JobClosed",
    "JobNotFound",
    "JobRow",
    "Occurrence",
    "PostInUse",
    "PostNotFound",
    "PostRow",
    "WeComConflicts",
    "cancel_job",
    "delete_post",
    "edit_job",
    "get_job",
    "get_post",
    "group_infos",
    "job_rows",
    "post_rows",
    "preview",
    "save_post",
    "schedule_post",
    "upcoming",
    "wecom_conflicts_for",
]
