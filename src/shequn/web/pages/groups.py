"""``/groups``: every group of the community with its health, and ``/groups/{id}``: one
group's whole report, with its members a page at a time."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from shequn.features.analytics import dashboard
from shequn.features.community.setup import CommunityRef
from shequn.web.auth import CanView
from shequn.web.context import web_of
from shequn.web.errors import Invalid, NotFound
from shequn.web.pages.overview import N_, band, reason_views
from shequn.web.paging import decode_cursor, encode_cursor
from shequn.web.rendering import PageContext, page_context, render

router = APIRouter(include_in_schema=False)
GROUPS_PER_PAGE = 100
SEATS_PER_PAGE = 50
MAX_ID = 2**31 - 1
GroupId = Annotated[int, Path(ge=1, le=MAX_ID)]
#: A seat's role as the member table names it (free-form titles are shown as they are).
ROLE_LABELS = {"owner": N_("Group owner"), "admin": N_("Group admin"), "member": N_("Member")}


def group_cursor(cursor: str | None, sort: str) -> tuple[Any, int] | None:
    """The keyset a group-list cursor carries; a cursor of another sort is refused."""
    key = decode_cursor(cursor, 3)
    if key is None:
        return None
    kind, value, gid = key
    expected = str if sort == "name" else int
    if kind != sort or not isinstance(value, expected) or not isinstance(gid, int):
        raise Invalid("the cursor is not one this server gave out")
    return (value, gid)


def _query(request: Request, **changes: Any) -> str:
    """The current query string with some parameters replaced (None drops one)."""
    params = {k: v for k, v in request.query_params.items() if k not in changes}
    params.update({k: v for k, v in changes.items() if v is not None})
    return request.url.path + ("?" + urlencode(params) if params else "")


def _platforms(lines: list[dashboard.GroupLine]) -> list[str]:
    return sorted({line.platform for line in lines})


@router.get("/groups")
def group_list(
    request: Request,
    who: CanView,
    q: Annotated[str | None, Query(max_length=200)] = None,
    platform: Annotated[str | None, Query(max_length=32)] = None,
    declining: bool = False,
    sort: Annotated[str, Query(pattern="^(score|members|messages|name)$")] = "score",
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    page = page_context(request, who)
    if page.community is None:
        return render(request, "overview/empty.html.j2", {"active": "groups"}, page=page)
    after = group_cursor(cursor, sort)
    web = web_of(request)
    ref = page.community
    wanted = dashboard.GroupFilter(
        platform=(platform or "").replace("\x00", "") or None,
        q=q or None,
        declining=True if declining else None,
    )
    with web.read() as conn:
        scope = dashboard.scope_of(conn, ref.community_id, ref.timezone, now=web.app.clock.now())
        lines = dashboard.group_lines(conn, scope, wanted)
        platforms = dashboard.platforms(conn, ref.community_id)
    shown, next_key = dashboard.page_of(lines, sort, after, GROUPS_PER_PAGE)
    rows = [
        {
            "line": line,
            "band": band(line.score),
            "reasons": reason_views(page, dashboard.worded(line.reasons, page.locale)),
            "fill": _fill(line.members, line.capacity),
        }
        for line in shown
    ]
    next_url = (
        _query(request, cursor=encode_cursor([sort, *next_key])) if next_key is not None else None
    )
    return render(
        request,
        "groups/list.html.j2",
        {
            "active": "groups",
            "rows": rows,
            "matching": len(lines),
            "platforms": platforms,
            "filters": {"q": q or "", "platform": platform or "", "declining": declining},
            "sort": sort,
            "next_url": next_url,
            "first_url": _query(request, cursor=None) if cursor else None,
        },
        page=page,
    )


def _fill(members: int, capacity: int | None) -> float | None:
    return min(1.0, members / capacity) if capacity else None


def find_group(request: Request, who: Any, group_id: int) -> tuple[Any, CommunityRef]:
    """The group and its community, if the group is in the operator's workspace; else 404."""
    with web_of(request).read() as conn:
        found = dashboard.group_in_workspace(conn, who.workspace_id, group_id)
    if found is None:
        raise NotFound(f"no group {group_id}")
    return found


def detail_blocks(page: PageContext, group: dict[str, Any]) -> dict[str, Any]:
    """The JSON the group page's charts read, with their labels in the operator's language."""
    daily = group["daily"]
    heat = group["heatmap"]
    cells = [[int(h), int(d), int(n)] for d, h, n in heat["cells"]]
    cohorts = group["cohorts"]
    width = max((len(c["retention"]) for c in cohorts), default=0)
    return {
        "daily": {
            "x": [d["day"] for d in daily],
            "series": [
                {"name": page.gettext("Messages"), "data": [d["messages"] for d in daily]},
                {
                    "name": page.gettext("Speakers"),
                    "data": [d["speakers"] for d in daily],
                    "axis": 1,
                },
            ],
        },
        "weekly": {
            "x": [w["week"] for w in group["weekly"]],
            "series": [
                {
                    "name": page.gettext("Speaker ratio"),
                    "data": [w["speaker_ratio"] for w in group["weekly"]],
                    "share": True,
                },
                {
                    "name": page.gettext("Owner and admin share"),
                    "data": [w["leader_share"] for w in group["weekly"]],
                    "share": True,
                },
            ],
        },
        "heatmap": {
            "cells": cells,
            "weekdays": weekdays(page),
            "golden": [[g["hour"], g["weekday"]] for g in heat["golden_hours"]],
            "max": max((c[2] for c in cells), default=0),
            "label": page.gettext("Messages"),
        },
        "cohorts": {
            "weeks": [c["week"] for c in cohorts],
            "sizes": [c["size"] for c in cohorts],
            "offsets": [str(k) for k in range(width)],
            "cells": [
                [k, row, share]
                for row, c in enumerate(cohorts)
                for k, share in enumerate(c["retention"])
            ],
            "labels": {
                "week": page.gettext("Joined in the week of"),
                "size": page.gettext("Newcomers"),
                "offset": page.gettext("Weeks after joining"),
            },
        },
    }


WEEKDAYS = (
    N_("Monday"),
    N_("Tuesday"),
    N_("Wednesday"),
    N_("Thursday"),
    N_("Friday"),
    N_("Saturday"),
    N_("Sunday"),
)


def weekdays(page: PageContext) -> list[str]:
    return [page.gettext(day) for day in WEEKDAYS]


@router.get("/groups/{group_id}")
def group_detail(
    request: Request,
    who: CanView,
    group_id: GroupId,
    status: Annotated[str, Query(pattern="^(present|left|all)$")] = "present",
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    page = page_context(request, who)
    info, ref = find_group(request, who, group_id)
    key = decode_cursor(cursor, 1)
    if key is not None and (not isinstance(key[0], int) or not 0 <= key[0] <= MAX_ID):
        raise Invalid("the cursor is not one this server gave out")
    web = web_of(request)
    now = web.app.clock.now()
    with web.read() as conn:
        scope = dashboard.scope_of(conn, ref.community_id, ref.timezone, now=now)
        group = dashboard.group_report(conn, scope, group_id, lang=page.locale, generated_at=now)
        seats, next_number = dashboard.group_seats(
            conn, group_id, status=status, after=key[0] if key else None, limit=SEATS_PER_PAGE
        )
    health = group["health"]
    context = {
        "active": "groups",
        "group": group,
        "info": info,
        "ref": ref,
        "scope": scope,
        "score_band": band(health["score"]),
        "reasons": reason_views(page, [dashboard.Worded(**r) for r in health["reasons"]]),
        "charts": detail_blocks(page, group),
        "weekdays": weekdays(page),
        "fill": _fill(group["totals"]["members"], group["capacity"]),
        "seats": seats,
        "role_labels": ROLE_LABELS,
        "status": status,
        "next_url": _query(request, cursor=encode_cursor([next_number]))
        if next_number is not None
        else None,
        "first_url": _query(request, cursor=None) if cursor else None,
    }
    return render(request, "groups/detail.html.j2", context, page=page)
