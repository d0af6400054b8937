"""``/blacklist``: the members removed from every group and platform of the workspace.

A moderator adds a member here by id, or from the member's own page, with a reason;
the bots then remove them wherever they sit and refuse them at the door. Taking them
off unbans them where the blacklist banned them.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import RedirectResponse, Response

from shequn.features.moderation import service as moderation
from shequn.web.api.blacklist import MAX_ID, MAX_REASON, add, blacklist_cursor, take_off
from shequn.web.api.operators import Storable
from shequn.web.auth import CanModerate, CanView
from shequn.web.context import web_of
from shequn.web.errors import Invalid, NotFound
from shequn.web.pages.overview import N_
from shequn.web.paging import DEFAULT_LIMIT, encode_cursor
from shequn.web.rendering import page_context, render

router = APIRouter(include_in_schema=False)
NOTICES = {
    "added": N_("The member is on the blacklist; the bots remove them from every group."),
    "removed": N_("The member is off the blacklist; the bots unban them."),
}


@router.get("/blacklist")
def blacklist_page(
    request: Request,
    who: CanView,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    msg: Annotated[str | None, Query(max_length=16)] = None,
    member: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Response:
    page = page_context(request, who)
    if page.community is None:
        return render(request, "overview/empty.html.j2", {"active": "blacklist"}, page=page)
    before = blacklist_cursor(cursor)
    with web_of(request).read() as conn:
        rows = moderation.blacklist_entries(
            conn, page.community.community_id, before_id=before, limit=DEFAULT_LIMIT + 1
        )
    shown = rows[:DEFAULT_LIMIT]
    more = len(rows) > DEFAULT_LIMIT
    context = {
        "active": "blacklist",
        "rows": shown,
        "notice": NOTICES.get(msg or ""),
        "member": member,
        "max_reason": MAX_REASON,
        "next_url": f"/blacklist?cursor={encode_cursor([shown[-1].id])}" if more else None,
        "first_url": "/blacklist" if before is not None else None,
    }
    return render(request, "blacklist/list.html.j2", context, page=page)


@router.post("/blacklist")
def add_member(
    request: Request,
    who: CanModerate,
    member_id: Annotated[str, Form(max_length=12)],
    reason: Annotated[str, Form(max_length=MAX_REASON), Storable] = "",
) -> Response:
    """Blacklist a member by id (from this page or the member's own)."""
    text = member_id.strip().lstrip("#")
    if not text.isdigit() or not 0 < int(text) <= MAX_ID:
        raise Invalid("the member id must be a number")
    page = page_context(request, who)
    if page.community is None:
        raise NotFound("no community yet")
    add(request, who, int(text), reason, page.community.community_id)
    return RedirectResponse("/blacklist?msg=added", status_code=303)


@router.post("/blacklist/{member_id}/remove")
def remove_member(
    request: Request,
    who: CanModerate,
    member_id: Annotated[int, PathParam(ge=1, le=MAX_ID)],
) -> Response:
    page = page_context(request, who)
    if page.community is None:
        raise NotFound("no community yet")
    take_off(request, who, member_id, page.community.community_id)
    return RedirectResponse("/blacklist?msg=removed", status_code=303)
