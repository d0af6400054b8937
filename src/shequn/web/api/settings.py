"""``/api/v1/communities/{id}/settings``: a community's name and time zone.

A new time zone moves every day boundary, so the day-based rollups are counted
again from the event log: the change queues a recount on the process's job
runner, and ``recount`` shows how it is going.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict, Field

from shequn.features.audit.service import record
from shequn.features.imports import service as jobs
from shequn.features.imports.recount import (
    CommunitySettings,
    InvalidSetting,
    change_settings,
    get_settings,
    known_zones,
    queue_recount,
)
from shequn.features.imports.service import JobView
from shequn.features.operators.service import Principal
from shequn.models import ImportStatus
from shequn.web.api.imports import jobs_of
from shequn.web.api.operators import SOME_TEXT, Storable
from shequn.web.auth import CanManageSettings, CanView, actor_of
from shequn.web.context import web_of
from shequn.web.errors import ERROR_RESPONSES, Invalid, NotFound

MAX_ID = 2**31 - 1
#: How long a recount waits before it starts, so that several changes in a row (a
#: zone picked, then corrected) are counted once: the waiting job is reused.
SETTLE_SECONDS = 2.0

router = APIRouter(tags=["settings"], responses=ERROR_RESPONSES)


class RecountOut(BaseModel):
    """The latest recount of the community's rollups."""

    id: int
    status: ImportStatus
    events: int = Field(description="Events counted again (once done).")
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class CommunitySettingsOut(BaseModel):
    id: int
    name: str
    timezone: str
    recount: RecountOut | None


class CommunitySettingsPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: (
        Annotated[str, Field(min_length=1, max_length=200, pattern=SOME_TEXT), Storable] | None
    ) = None
    timezone: (
        Annotated[
            str,
            Field(
                description="An IANA time zone, e.g. Asia/Shanghai.",
                json_schema_extra={"enum": sorted(known_zones())},
            ),
            Storable,
        ]
        | None
    ) = None


def recount_out(job: JobView | None) -> RecountOut | None:
    if job is None:
        return None
    return RecountOut(
        id=job.id,
        status=ImportStatus(job.status),
        events=job.events,
        error=job.error,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
    )


def read_settings(
    request: Request, who: Principal, community_id: int
) -> tuple[CommunitySettings, JobView | None]:
    jobs_of(request.app)  # a recount a dead process left shows as interrupted
    with web_of(request).read() as conn:
        try:
            found = get_settings(conn, who.workspace_id, community_id)
        except LookupError:
            raise NotFound(f"community {community_id} does not exist") from None
        return found, jobs.latest_recount(conn, community_id)


def change_community_as(
    request: Request,
    who: Principal,
    community_id: int,
    *,
    name: str | None = None,
    timezone: str | None = None,
) -> CommunitySettings:
    """Apply the change, audit it as ``community.update``, and queue a recount when the
    zone moved."""
    web = web_of(request)
    runner = jobs_of(request.app)
    now = web.app.clock.now()
    job, new = None, False
    with web.write() as conn:
        try:
            before, after = change_settings(
                conn, who.workspace_id, community_id, name=name, timezone=timezone
            )
        except LookupError:
            raise NotFound(f"community {community_id} does not exist") from None
        except InvalidSetting as exc:
            raise Invalid(str(exc)) from None
        if before != after:
            record(
                conn,
                actor_of(request, who),
                "community.update",
                "community",
                community_id,
                before={"name": before.name, "timezone": before.timezone},
                after={"name": after.name, "timezone": after.timezone},
                now=now,
            )
        if after.timezone != before.timezone:
            job, new = queue_recount(
                conn,
                who.workspace_id,
                community_id,
                operator_id=who.operator_id,
                runner=runner.id,
                now=now,
            )
    if job is not None and new:
        runner.submit(job.id, delay=SETTLE_SECONDS)
    return after


def recount_as(request: Request, who: Principal, community_id: int) -> JobView:
    """Queue a recount by hand (after one was interrupted); audited as ``community.recount``."""
    web = web_of(request)
    runner = jobs_of(request.app)
    now = web.app.clock.now()
    with web.write() as conn:
        try:
            get_settings(conn, who.workspace_id, community_id)
        except LookupError:
            raise NotFound(f"community {community_id} does not exist") from None
        job, new = queue_recount(
            conn,
            who.workspace_id,
            community_id,
            operator_id=who.operator_id,
            runner=runner.id,
            now=now,
        )
        record(
            conn,
            actor_of(request, who),
            "community.recount",
            "community",
            community_id,
            after={"job": job.id},
            now=now,
        )
    if new:
        runner.submit(job.id, delay=SETTLE_SECONDS)
    return job


def _out(request: Request, who: Principal, community_id: int) -> CommunitySettingsOut:
    found, job = read_settings(request, who, community_id)
    return CommunitySettingsOut(
        id=found.id, name=found.name, timezone=found.timezone, recount=recount_out(job)
    )


@router.get(
    "/communities/{community_id}/settings",
    response_model=CommunitySettingsOut,
    summary="A community's name and time zone, and its latest recount",
)
def community_settings(
    request: Request, who: CanView, community_id: Annotated[int, PathParam(ge=1, le=MAX_ID)]
) -> CommunitySettingsOut:
    return _out(request, who, community_id)


@router.patch(
    "/communities/{community_id}/settings",
    response_model=CommunitySettingsOut,
    summary="Rename a community or change its time zone (which recounts its rollups)",
)
def change_community(
    request: Request,
    who: CanManageSettings,
    community_id: Annotated[int, PathParam(ge=1, le=MAX_ID)],
    body: CommunitySettingsPatch,
) -> CommunitySettingsOut:
    change_community_as(request, who, community_id, name=body.name, timezone=body.timezone)
    return _out(request, who, community_id)
