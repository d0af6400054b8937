"""``/api/v1/broadcast/jobs``: sending a post to many groups — now, once later or on a
schedule — and what became of every copy.

Creating a job is scheduling it: the post, the ``targets`` (``all``, ``tag:NAME``,
``group:ID``, ``platform:NAME``, comma-separated), ``when`` (null: now; a one-off time
such as ``2026-10-06T09:00``; or a recurring text such as ``weekdays 08:30``, in the
community's time zone) and the pacing. Anything refused — an unreadable schedule, a time
in the past, targets matching no group, a post a targeted platform cannot take, WeCom
groups that have had their one mass message that day — answers 422 with every problem
in ``detail.problems`` (WeCom's in ``detail.conflicts`` too), and nothing is stored or
queued. Each change is audited.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection

from shequn.features.audit.service import record
from shequn.features.broadcast import service as broadcast
from shequn.features.broadcast.pacing import MAX_DAILY_CAP
from shequn.features.broadcast.problems import BroadcastError
from shequn.features.operators.service import Principal
from shequn.models import JobStatus
from shequn.web.api.broadcast import (
    MAX_ID,
    CommunityParam,
    Id,
    LangParam,
    Text,
    community_id_of,
    id_cursor,
    not_found,
    refused,
)
from shequn.web.api.communities import lang_of
from shequn.web.auth import CanBroadcast, CanView, actor_of
from shequn.web.context import web_of
from shequn.web.errors import ERROR_RESPONSES
from shequn.web.paging import DEFAULT_LIMIT, MAX_LIMIT, Page, encode_cursor

router = APIRouter(tags=["broadcast"], responses=ERROR_RESPONSES)
T = TypeVar("T")
NOT_FOUND = broadcast.BroadcastNotFound
Status = Literal["active", "paused", "done", "cancelled"]


# --- shared with the pages ---------------------------------------------------------------


def change(
    request: Request,
    who: Principal,
    community_id: int,
    lang: str,
    action: str,
    job_id: int | None,
    work: Callable[[Connection], T],
    audit: Callable[[Connection, T], tuple[int, Any, Any]],
) -> T:
    """Run ``work`` in one transaction and audit it as ``action``; a refusal is a 422
    naming every problem, an unknown job or post a 404, and nothing is kept then."""
    web = web_of(request)
    now = web.app.clock.now()
    try:
        with web.write() as conn:
            result = work(conn)
            target, before, after = audit(conn, result)
            record(
                conn,
                actor_of(request, who),
                action,
                "broadcast_job",
                target if job_id is None else job_id,
                before=before,
                after=after,
                now=now,
            )
    except NOT_FOUND as error:
        raise not_found(error) from None
    except BroadcastError as error:
        raise refused(error, lang) from None
    return result


def job_audit(job: broadcast.JobRow) -> dict[str, Any]:
    return {
        "post_id": job.post_id,
        "targets": job.targets,
        "schedule": job.schedule,
        "pacing": dict(job.pacing),
        "status": job.status,
        "next_run": job.next_run,
    }


def schedule(
    request: Request,
    who: Principal,
    community_id: int,
    post_id: int,
    *,
    targets: str,
    when: str | None,
    pacing: dict[str, Any] | None,
    lang: str,
) -> int:
    """Schedule a post, audited; the job's id."""
    now = web_of(request).app.clock.now()

    def work(conn: Connection) -> int:
        return broadcast.schedule_post(
            conn,
            community_id,
            post_id,
            targets=targets,
            when=when,
            pacing=pacing,
            operator_id=who.operator_id,
            now=now,
        )

    def audit(conn: Connection, job_id: int) -> tuple[int, Any, Any]:
        return job_id, None, job_audit(broadcast.get_job(conn, community_id, job_id))

    return change(request, who, community_id, lang, "broadcast.job.create", None, work, audit)


def edit(
    request: Request,
    who: Principal,
    community_id: int,
    job_id: int,
    *,
    targets: str | None,
    when: str | None,
    pacing: dict[str, Any] | None,
    lang: str,
) -> None:
    now = web_of(request).app.clock.now()
    before: dict[str, Any] = {}

    def work(conn: Connection) -> None:
        before.update(job_audit(broadcast.get_job(conn, community_id, job_id)))
        broadcast.edit_job(
            conn, community_id, job_id, targets=targets, when=when, pacing=pacing, now=now
        )

    def audit(conn: Connection, _: None) -> tuple[int, Any, Any]:
        return job_id, before, job_audit(broadcast.get_job(conn, community_id, job_id))

    change(request, who, community_id, lang, "broadcast.job.update", job_id, work, audit)


def act(
    request: Request, who: Principal, community_id: int, job_id: int, what: str, lang: str
) -> int:
    """``cancel`` the job, ``retry`` its failed copies or ``cancel-pending`` its waiting
    ones, audited; how many copies it touched."""
    now = web_of(request).app.clock.now()
    runs: dict[str, Callable[[Connection], int]] = {
        "cancel": lambda c: broadcast.cancel_job(c, community_id, job_id, now=now),
        "retry": lambda c: broadcast.retry_failed(c, community_id, job_id, now=now),
        "cancel-pending": lambda c: broadcast.cancel_pending(c, community_id, job_id, now=now),
    }

    def audit(conn: Connection, touched: int) -> tuple[int, Any, Any]:
        return job_id, None, {"copies": touched}

    action = f"broadcast.job.{what.replace('-', '_')}"
    return change(request, who, community_id, lang, action, job_id, runs[what], audit)


# --- models ------------------------------------------------------------------------------


class PacingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    daily_cap: int = Field(default=3, ge=1, le=MAX_DAILY_CAP, description="Per group and day")
    quiet: Text = Field(default="", max_length=200, description="e.g. 22:00-08:00")
    golden: bool = Field(default=False, description="Each group at its busiest hour")
    allow_wecom_conflict: bool = Field(
        default=False,
        description="Send to the WeCom groups that can take it and report the others",
    )


class JobCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    post_id: int = Field(ge=1, le=MAX_ID)
    targets: Text = Field(min_length=1, max_length=1000)
    when: Text | None = Field(
        default=None, max_length=200, description="Null: now; a time or a recurring text"
    )
    pacing: PacingIn = Field(default_factory=PacingIn)
    community_id: int | None = Field(default=None, ge=1, le=MAX_ID)


class JobPatch(BaseModel):
    """Fields left out stay as they are."""

    model_config = ConfigDict(extra="forbid")
    targets: Text | None = Field(default=None, min_length=1, max_length=1000)
    when: Text | None = Field(default=None, max_length=200)
    pacing: PacingIn | None = None


class JobOut(BaseModel):
    id: int
    post_id: int
    title: str
    targets: str
    schedule: str | None = Field(description="Null: sent at once")
    pacing: dict[str, Any]
    status: Status
    last_run: datetime | None
    next_run: datetime | None
    created_at: datetime
    updated_at: datetime
    counts: dict[str, int] = Field(description="Copies per outbox status, and refused")


class Touched(BaseModel):
    job_id: int
    copies: int = Field(description="How many copies the request changed")


def job_out(j: broadcast.JobRow) -> JobOut:
    return JobOut(
        id=j.id,
        post_id=j.post_id,
        title=j.title,
        targets=j.targets,
        schedule=j.schedule,
        pacing=dict(j.pacing),
        status=j.status,  # type: ignore[arg-type]
        last_run=j.last_run,
        next_run=j.next_run,
        created_at=j.created_at,
        updated_at=j.updated_at,
        counts=dict(j.counts),
    )


def read(request: Request, work: Callable[[Connection], T]) -> T:
    try:
        with web_of(request).read() as conn:
            return work(conn)
    except NOT_FOUND as error:
        raise not_found(error) from None


# --- routes ------------------------------------------------------------------------------


@router.get("/broadcast/jobs", response_model=Page[JobOut], summary="Jobs, newest first")
def list_jobs(
    request: Request,
    who: CanView,
    status: Status | None = None,
    community_id: CommunityParam = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Page[JobOut]:
    before = id_cursor(cursor)

    def work(conn: Connection) -> list[broadcast.JobRow]:
        cid = community_id_of(conn, who, community_id)
        return broadcast.job_rows(conn, cid, status=status, before_id=before, limit=limit + 1)

    rows = read(request, work)
    shown = rows[:limit]
    return Page[JobOut](
        items=[job_out(j) for j in shown],
        next_cursor=encode_cursor([shown[-1].id]) if len(rows) > limit and shown else None,
    )


@router.post(
    "/broadcast/jobs", response_model=JobOut, status_code=201, summary="Send or schedule a post"
)
def create_job(
    request: Request, who: CanBroadcast, body: JobCreate, lang: LangParam = None
) -> JobOut:
    wording = lang_of(request, who, lang)
    cid = read(request, lambda conn: community_id_of(conn, who, body.community_id))
    job_id = schedule(
        request,
        who,
        cid,
        body.post_id,
        targets=body.targets,
        when=body.when,
        pacing=body.pacing.model_dump(),
        lang=wording,
    )
    return job_out(read(request, lambda conn: broadcast.get_job(conn, cid, job_id)))


@router.get("/broadcast/jobs/{job_id}", response_model=JobOut, summary="One job")
def get_job(
    request: Request, who: CanView, job_id: Id, community_id: CommunityParam = None
) -> JobOut:
    return job_out(
        read(
            request,
            lambda conn: broadcast.get_job(conn, community_id_of(conn, who, community_id), job_id),
        )
    )


@router.patch("/broadcast/jobs/{job_id}", response_model=JobOut, summary="Edit a scheduled job")
def patch_job(
    request: Request,
    who: CanBroadcast,
    job_id: Id,
    body: JobPatch,
    community_id: CommunityParam = None,
    lang: LangParam = None,
) -> JobOut:
    """With every check of creating one; only jobs not done or cancelled."""
    cid = read(request, lambda conn: community_id_of(conn, who, community_id))
    edit(
        request,
        who,
        cid,
        job_id,
        targets=body.targets,
        when=body.when,
        pacing=body.pacing.model_dump() if body.pacing is not None else None,
        lang=lang_of(request, who, lang),
    )
    return job_out(read(request, lambda conn: broadcast.get_job(conn, cid, job_id)))


def _act_route(what: str, summary: str) -> None:
    @router.post(
        f"/broadcast/jobs/{{job_id}}/{what}",
        response_model=Touched,
        summary=summary,
        name=f"job_{what.replace('-', '_')}",
    )
    def route(
        request: Request,
        who: CanBroadcast,
        job_id: Id,
        community_id: CommunityParam = None,
        lang: LangParam = None,
    ) -> Touched:
        cid = read(request, lambda conn: community_id_of(conn, who, community_id))
        touched = act(request, who, cid, job_id, what, lang_of(request, who, lang))
        return Touched(job_id=job_id, copies=touched)


_act_route("cancel", "Cancel a job: no more runs, its waiting copies withdrawn")
_act_route("retry", "Send the job's failed copies again")
_act_route("cancel-pending", "Withdraw the job's copies still waiting")


#: Job states, in the order the jobs page lists them.
STATUSES = [s.value for s in JobStatus]
