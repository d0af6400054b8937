"""``/api/v1/broadcast/jobs/{id}/report`` and ``/broadcast/calendar``: what became of a
job's copies, group by group, and the runs still to come.

The report reads each copy's live state from the outbox: ``queued``, ``sent`` (with a
link to the sent message where the platform gives one), ``failed`` with the platform's
reason, ``cancelled``, or ``refused`` with why the plan gave that group no copy (its
daily cap, WeCom's one mass message a day…), in the caller's language. The calendar
lists the active jobs' runs, with each moment on the community's clock.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from shequn.features.broadcast import service as broadcast
from shequn.web.api.broadcast import CommunityParam, Id, LangParam, community_id_of
from shequn.web.api.broadcast_jobs import read
from shequn.web.api.communities import lang_of
from shequn.web.auth import CanView
from shequn.web.context import web_of
from shequn.web.errors import ERROR_RESPONSES

router = APIRouter(tags=["broadcast"], responses=ERROR_RESPONSES)
#: The longest stretch the calendar lists at once.
MAX_CALENDAR_DAYS = 92
DeliveryState = Literal["queued", "sent", "failed", "cancelled", "refused"]


class DeliveryOut(BaseModel):
    id: int
    group_id: int | None
    member_id: int | None
    name: str
    platform: str
    run_at: datetime
    send_at: datetime | None
    status: DeliveryState
    reason: str | None = Field(description="Why it was refused, or the platform's error")
    next_slot: str | None
    link: str | None = Field(description="The sent message, where the platform gives one")
    outbox_id: int | None


class ReportOut(BaseModel):
    job_id: int
    totals: dict[str, int]
    deliveries: list[DeliveryOut]


class OccurrenceOut(BaseModel):
    job_id: int
    post_id: int
    title: str
    at: datetime
    local: str = Field(description="The moment on the community's clock")
    targets: str


def report_out(r: broadcast.Report) -> ReportOut:
    return ReportOut(
        job_id=r.job_id,
        totals=r.totals,
        deliveries=[
            DeliveryOut(
                id=d.id,
                group_id=d.group_id,
                member_id=d.member_id,
                name=d.name,
                platform=d.platform,
                run_at=d.run_at,
                send_at=d.send_at,
                status=d.status.value,  # type: ignore[arg-type]
                reason=d.reason,
                next_slot=d.next_slot,
                link=d.link,
                outbox_id=d.outbox_id,
            )
            for d in r.deliveries
        ],
    )


@router.get(
    "/broadcast/jobs/{job_id}/report",
    response_model=ReportOut,
    summary="Every copy of a job: queued, sent, failed, cancelled or refused",
)
def job_report(
    request: Request,
    who: CanView,
    job_id: Id,
    community_id: CommunityParam = None,
    lang: LangParam = None,
) -> ReportOut:
    wording = lang_of(request, who, lang)
    return report_out(
        read(
            request,
            lambda conn: broadcast.delivery_report(
                conn, community_id_of(conn, who, community_id), job_id, lang=wording
            ),
        )
    )


@router.get(
    "/broadcast/calendar",
    response_model=list[OccurrenceOut],
    summary="Upcoming runs of the scheduled jobs",
)
def calendar(
    request: Request,
    who: CanView,
    days: Annotated[int, Query(ge=1, le=MAX_CALENDAR_DAYS)] = 14,
    community_id: CommunityParam = None,
) -> list[OccurrenceOut]:
    start = web_of(request).app.clock.now()
    found = read(
        request,
        lambda conn: broadcast.upcoming(
            conn,
            community_id_of(conn, who, community_id),
            start=start,
            end=start + timedelta(days=days),
        ),
    )
    return [
        OccurrenceOut(
            job_id=o.job_id,
            post_id=o.post_id,
            title=o.title,
            at=o.at,
            local=o.local.isoformat(timespec="minutes"),
            targets=o.targets,
        )
        for o in found
    ]
