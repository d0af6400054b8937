"""``/api/v1/groups``: the groups with their health, one group's whole report, and its members."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field

from shequn.features.analytics import dashboard
from shequn.features.community.setup import communities_of
from shequn.web.api.communities import HealthReason, Lang, lang_of, reasons_out
from shequn.web.auth import CanView
from shequn.web.context import web_of
from shequn.web.errors import ERROR_RESPONSES, Invalid, NotFound
from shequn.web.paging import DEFAULT_LIMIT, MAX_LIMIT, Page, decode_cursor, encode_cursor

router = APIRouter(tags=["groups"], responses=ERROR_RESPONSES)
MAX_ID = 2_147_483_647
Id = Annotated[int, Path(ge=1, le=MAX_ID)]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
Sort = Literal["score", "members", "messages", "name"]


class GroupItem(BaseModel):
    id: int
    community_id: int
    name: str
    platform: str
    external_id: str
    capacity: int | None
    status: str
    members: int
    score: int = Field(ge=0, le=100)
    declining: bool
    reasons: list[HealthReason]
    messages_7d: int
    messages_30d: int
    speakers_7d: int
    speakers_30d: int
    last_activity: datetime | None


class GroupTotals(BaseModel):
    members: int
    messages: int
    joins: int
    leaves: int
    speakers: int


class GroupActivity(BaseModel):
    dau: float
    wau: int
    mau: int
    speaker_ratio: float
    top20_share: float
    gini: float
    lurker_share: float
    silent_members: int
    silent_days: int


class GroupDayFigures(BaseModel):
    day: date
    messages: int
    speakers: int
    joins: int
    leaves: int


class GroupWeek(BaseModel):
    week: date
    complete: bool
    messages: int
    speakers: int
    members: int
    joins: int
    leaves: int
    leader_share: float
    speaker_ratio: float


class GoldenHour(BaseModel):
    weekday: int = Field(ge=0, le=6, description="0 is Monday")
    hour: int = Field(ge=0, le=23)
    messages: int


class Heatmap(BaseModel):
    cells: list[list[int]] = Field(description="[weekday (0 is Monday), hour, messages]")
    golden_hours: list[GoldenHour]


class Cohort(BaseModel):
    week: date
    size: int
    retention: list[float] = Field(description="Share active k weeks after joining")


class Responsiveness(BaseModel):
    questions: int
    answered: int
    answered_share: float
    within_minutes: int
    answered_within_share: float
    median_reply_minutes: float | None
    newcomers: int
    newcomers_unanswered: int


class TermCount(BaseModel):
    term: str
    count: int


class TopicWeek(BaseModel):
    week: date
    terms: list[TermCount]


class RisingTerm(BaseModel):
    term: str
    count: int
    baseline: float
    score: float


class Topics(BaseModel):
    weeks: list[TopicWeek]
    rising: list[RisingTerm]


class GroupHealth(BaseModel):
    score: int = Field(ge=0, le=100)
    declining: bool
    weeks_compared: int
    reasons: list[HealthReason]


class GroupReport(BaseModel):
    """Every figure of the health report for one group, over the report's default range."""

    id: int
    community_id: int
    name: str
    platform: str
    external_id: str
    capacity: int | None
    range_start: date
    range_end: date
    as_of: datetime
    totals: GroupTotals
    activity: GroupActivity
    daily: list[GroupDayFigures]
    weekly: list[GroupWeek]
    heatmap: Heatmap
    cohorts: list[Cohort]
    responsiveness: Responsiveness
    topics: Topics
    health: GroupHealth


class GroupSeat(BaseModel):
    member_id: int
    display_name: str
    role: str
    title: str | None
    number: int
    card_name: str | None
    joined_at: datetime
    left_at: datetime | None
    messages: int
    last_message_at: datetime | None


def _cursor(cursor: str | None, sort: str) -> tuple[Any, int] | None:
    key = decode_cursor(cursor, 3)
    if key is None:
        return None
    kind, value, gid = key
    expected = str if sort == "name" else int
    if kind != sort or not isinstance(value, expected) or not isinstance(gid, int):
        raise Invalid("the cursor is not one this server gave out")
    return (value, gid)


@router.get(
    "/groups",
    response_model=Page[GroupItem],
    summary="The groups with their health score, reasons and recent figures",
)
def list_groups(
    request: Request,
    who: CanView,
    community_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    declining: bool | None = None,
    platform: Annotated[str | None, Query(max_length=32)] = None,
    q: Annotated[str | None, Query(max_length=200, description="Part of the name")] = None,
    sort: Sort = "score",
    lang: Annotated[Lang | None, Query(description="Language of the reasons")] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> Page[GroupItem]:
    after = _cursor(cursor, sort)
    wording = lang_of(request, who, lang)
    web = web_of(request)
    wanted = dashboard.GroupFilter(
        platform=(platform or "").replace("\x00", "") or None, q=q or None, declining=declining
    )
    lines: list[dashboard.GroupLine] = []
    now = web.app.clock.now()
    with web.read() as conn:
        refs = communities_of(conn, who.workspace_id)
        if community_id is not None:
            refs = [r for r in refs if r.community_id == community_id]
            if not refs:
                raise NotFound(f"no community {community_id}")
        for ref in refs:
            scope = dashboard.scope_of(conn, ref.community_id, ref.timezone, now=now)
            lines += dashboard.group_lines(conn, scope, wanted)
    page, next_key = dashboard.page_of(lines, sort, after, limit)
    items = [
        GroupItem(
            id=line.id,
            community_id=line.community_id,
            name=line.name,
            platform=line.platform,
            external_id=line.external_id,
            capacity=line.capacity,
            status=line.status,
            members=line.members,
            score=line.score,
            declining=line.declining,
            reasons=reasons_out(dashboard.worded(line.reasons, wording)),
            messages_7d=line.messages_7d,
            messages_30d=line.messages_30d,
            speakers_7d=line.speakers_7d,
            speakers_30d=line.speakers_30d,
            last_activity=line.last_activity,
        )
        for line in page
    ]
    return Page(
        items=items,
        next_cursor=encode_cursor([sort, *next_key]) if next_key is not None else None,
        total=len(lines),
    )


@router.get(
    "/groups/{group_id}",
    response_model=GroupReport,
    summary="One group's figures: the health report narrowed to the group",
)
def get_group(
    request: Request,
    who: CanView,
    group_id: Id,
    lang: Annotated[Lang | None, Query(description="Language of the reasons")] = None,
) -> GroupReport:
    web = web_of(request)
    now = web.app.clock.now()
    with web.read() as conn:
        found = dashboard.group_in_workspace(conn, who.workspace_id, group_id)
        if found is None:
            raise NotFound(f"no group {group_id}")
        _, ref = found
        scope = dashboard.scope_of(conn, ref.community_id, ref.timezone, now=now)
        group = dashboard.group_report(
            conn, scope, group_id, lang=lang_of(request, who, lang), generated_at=now
        )
    heat = group["heatmap"]
    return GroupReport.model_validate(
        {
            **group,
            "community_id": ref.community_id,
            "range_start": scope.start,
            "range_end": scope.end,
            "as_of": scope.as_of,
            "heatmap": {"cells": heat["cells"], "golden_hours": heat["golden_hours"]},
        }
    )


@router.get(
    "/groups/{group_id}/members",
    response_model=Page[GroupSeat],
    summary="The group's members in number order, with what each said there",
)
def group_members(
    request: Request,
    who: CanView,
    group_id: Id,
    status: Literal["present", "left", "all"] = "present",
    limit: Limit = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> Page[GroupSeat]:
    key = decode_cursor(cursor, 1)
    if key is not None and (not isinstance(key[0], int) or not 0 <= key[0] <= MAX_ID):
        raise Invalid("the cursor is not one this server gave out")
    with web_of(request).read() as conn:
        if dashboard.group_in_workspace(conn, who.workspace_id, group_id) is None:
            raise NotFound(f"no group {group_id}")
        seats, after = dashboard.group_seats(
            conn, group_id, status=status, after=key[0] if key else None, limit=limit
        )
    return Page(
        items=[GroupSeat.model_validate(s, from_attributes=True) for s in seats],
        next_cursor=encode_cursor([after]) if after is not None else None,
    )
