"""``/api/v1/communities``: the workspace's communities, and each one's health at a glance."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from shequn.features.analytics import dashboard
from shequn.features.community.setup import CommunityRef, communities_of
from shequn.features.operators.service import Principal
from shequn.models import Group
from shequn.web import i18n
from shequn.web.auth import CanView
from shequn.web.context import web_of
from shequn.web.errors import ERROR_RESPONSES, NotFound
from shequn.web.paging import Page

router = APIRouter(tags=["communities"], responses=ERROR_RESPONSES)
MAX_ID = 2_147_483_647
Lang = Literal["zh-CN", "en"]


class CommunityItem(BaseModel):
    id: int
    name: str
    timezone: str
    groups: int


class HealthReason(BaseModel):
    """Why a group is flagged: ``detail`` and ``advice`` are written in the chosen language."""

    code: str
    detail: str
    advice: str
    figures: dict[str, float | int]


class DeclineAlert(BaseModel):
    group_id: int
    name: str
    score: int = Field(ge=0, le=100)
    reasons: list[HealthReason]


class DayFigures(BaseModel):
    day: date
    messages: int
    speakers: int
    joins: int
    leaves: int


class Range(BaseModel):
    """The local days the figures cover, and the instant they describe."""

    start: date
    end: date
    as_of: datetime


class CommunityOverview(BaseModel):
    community_id: int
    name: str
    timezone: str
    range: Range
    groups: int
    declining_groups: int
    members: int
    messages: int
    speakers: int
    joins: int
    leaves: int
    dau: float
    wau: int
    mau: int
    speaker_ratio: float
    daily: list[DayFigures]
    declining: list[DeclineAlert]


def lang_of(request: Request, who: Principal, lang: str | None) -> str:
    """The language reasons are written in: asked for, else the operator's, else the default."""
    settings = web_of(request).app.settings
    return lang or i18n.negotiate(
        who.locale, request.headers.get("accept-language"), settings.locale
    )


def reasons_out(reasons: list[dashboard.Worded]) -> list[HealthReason]:
    return [
        HealthReason(code=r.code, detail=r.detail, advice=r.advice, figures=r.figures)
        for r in reasons
    ]


def community_of(request: Request, who: Principal, community_id: int) -> CommunityRef:
    """One of the workspace's communities; any other id is a 404."""
    with web_of(request).read() as conn:
        for ref in communities_of(conn, who.workspace_id):
            if ref.community_id == community_id:
                return ref
    raise NotFound(f"no community {community_id}")


@router.get(
    "/communities",
    response_model=Page[CommunityItem],
    summary="The workspace's communities, with how many groups each has",
)
def list_communities(request: Request, who: CanView) -> Page[CommunityItem]:
    with web_of(request).read() as conn:
        refs = communities_of(conn, who.workspace_id)
        counts: dict[Any, Any] = dict(
            conn.execute(
                select(Group.community_id, func.count())
                .where(Group.workspace_id == who.workspace_id)
                .group_by(Group.community_id)
            ).all()
        )
    items = [
        CommunityItem(
            id=r.community_id,
            name=r.name,
            timezone=r.timezone,
            groups=counts.get(r.community_id, 0),
        )
        for r in refs
    ]
    return Page(items=items, next_cursor=None, total=len(items))


@router.get(
    "/communities/{community_id}/overview",
    response_model=CommunityOverview,
    summary="The community's health at a glance: head counts, activity, trend, declining groups",
)
def community_overview(
    request: Request,
    who: CanView,
    community_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    lang: Annotated[Lang | None, Query(description="Language of the reasons")] = None,
) -> CommunityOverview:
    ref = community_of(request, who, community_id)
    wording = lang_of(request, who, lang)
    web = web_of(request)
    with web.read() as conn:
        scope = dashboard.scope_of(conn, ref.community_id, ref.timezone, now=web.app.clock.now())
        f = dashboard.community_figures(conn, scope)
    return CommunityOverview(
        community_id=ref.community_id,
        name=ref.name,
        timezone=ref.timezone,
        range=Range(start=scope.start, end=scope.end, as_of=scope.as_of),
        groups=f.groups,
        declining_groups=f.declining_groups,
        members=f.members,
        messages=f.messages,
        speakers=f.speakers,
        joins=f.joins,
        leaves=f.leaves,
        dau=f.dau,
        wau=f.wau,
        mau=f.mau,
        speaker_ratio=f.speaker_ratio,
        daily=[
            DayFigures(
                day=p.day, messages=p.messages, speakers=p.speakers, joins=p.joins, leaves=p.leaves
            )
            for p in f.daily
        ],
        declining=[
            DeclineAlert(
                group_id=a.group_id,
                name=a.name,
                score=a.score,
                reasons=reasons_out(dashboard.worded(a.reasons, wording)),
            )
            for a in f.alerts
        ],
    )
