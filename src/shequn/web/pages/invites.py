"""``/invites``: invite codes — make a batch for a group and a source, see them with
their uses, withdraw one, and count the arrivals each source brought.

A new batch is shown once, right after it is made, ready to copy; afterwards the codes
stay in the list. Terms that cannot work show every problem beside the form, with the
operator's input kept.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import RedirectResponse, Response

from shequn.features.admission import service as admission
from shequn.features.admission.codes import MAX_CHANNEL
from shequn.features.analytics.metrics import groups as community_groups
from shequn.features.operators.service import Principal
from shequn.web.api.invites import (
    MAX_COUNT,
    MAX_ID,
    MAX_USES,
    CodesRefused,
    code_cursor,
    disable,
    make_codes,
)
from shequn.web.api.operators import Storable
from shequn.web.auth import CanManageRules, CanView
from shequn.web.context import web_of
from shequn.web.errors import NotFound
from shequn.web.pages.overview import N_
from shequn.web.paging import DEFAULT_LIMIT, encode_cursor
from shequn.web.rendering import PageContext, page_context, render

router = APIRouter(include_in_schema=False)
NOTICES = {"disabled": N_("The code is withdrawn; it lets nobody in from now on.")}
BLANK_FORM = {"group_id": "", "source": "", "count": "10", "max_uses": "1", "expires_at": ""}


def _whole(text: str, low: int, high: int) -> int | None:
    text = text.strip()
    return int(text) if text.isdigit() and low <= int(text) <= high else None


def _list(
    request: Request,
    who: Principal,
    page: PageContext,
    *,
    group_id: int | None = None,
    before: int | None = None,
    msg: str | None = None,
    made: list[admission.CodeRow] | None = None,
    problems: list[str] | None = None,
    form: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    assert page.community is not None
    community_id = page.community.community_id
    now = web_of(request).app.clock.now()
    with web_of(request).read() as conn:
        groups = community_groups(conn, community_id)
        rows = admission.code_rows(
            conn, community_id, group_id=group_id, before_id=before, limit=DEFAULT_LIMIT + 1
        )
        sources = admission.uses_by_source(conn, community_id)
    shown = rows[:DEFAULT_LIMIT]
    filters = {"group_id": group_id} if group_id else {}
    more = len(rows) > DEFAULT_LIMIT
    context = {
        "active": "invites",
        "groups": groups,
        "group_names": {g.id: g.name for g in groups},
        "group_id": group_id,
        "rows": shown,
        "now": now,
        "sources": sources,
        "made": made or [],
        "problems": problems or [],
        "form": form or BLANK_FORM,
        "notice": NOTICES.get(msg or ""),
        "max_count": MAX_COUNT,
        "max_uses": MAX_USES,
        "max_source": MAX_CHANNEL,
        "next_url": "/invites?" + urlencode({**filters, "cursor": encode_cursor([shown[-1].id])})
        if more
        else None,
        "first_url": "/invites" + (f"?{urlencode(filters)}" if filters else "")
        if before is not None
        else None,
    }
    return render(request, "invites/index.html.j2", context, page=page, status=status)


@router.get("/invites")
def invites_page(
    request: Request,
    who: CanView,
    group_id: Annotated[str | None, Query(max_length=12)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    msg: Annotated[str | None, Query(max_length=16)] = None,
) -> Response:
    page = page_context(request, who)
    if page.community is None:
        return render(request, "overview/empty.html.j2", {"active": "invites"}, page=page)
    chosen = _whole(group_id or "", 1, MAX_ID)
    return _list(request, who, page, group_id=chosen, before=code_cursor(cursor), msg=msg)


def _expiry(text: str, timezone: str) -> datetime:
    """A ``datetime-local`` value, read in the community's time zone; ValueError when it
    is not a time every database can store."""
    parsed = datetime.fromisoformat(text.strip())
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ZoneInfo(timezone))
    try:
        parsed.astimezone(UTC)
    except OverflowError:
        raise ValueError("out of range") from None
    return parsed


def _groups_of(request: Request, page: PageContext) -> list[Any]:
    assert page.community is not None
    with web_of(request).read() as conn:
        return community_groups(conn, page.community.community_id)


@router.post("/invites")
def create_codes(
    request: Request,
    who: CanManageRules,
    group_id: Annotated[str, Form(max_length=12)] = "",
    source: Annotated[str, Form(max_length=MAX_CHANNEL * 4), Storable] = "",
    count: Annotated[str, Form(max_length=12)] = "1",
    max_uses: Annotated[str, Form(max_length=12)] = "",
    expires_at: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Make a batch and show it; or show the form again with every problem."""
    page = page_context(request, who)
    if page.community is None:
        raise NotFound("no community yet")
    form = {
        "group_id": group_id,
        "source": source,
        "count": count,
        "max_uses": max_uses,
        "expires_at": expires_at,
    }
    problems = []
    groups = {str(g.id) for g in _groups_of(request, page)}
    if group_id.strip() and group_id.strip() not in groups:
        problems.append(page.gettext("Choose a group of this community, or any group."))
    number = _whole(count, 1, MAX_COUNT)
    if number is None:
        problems.append(page.gettext("Make from 1 to %(most)s codes at a time.", most=MAX_COUNT))
    uses = _whole(max_uses, 1, MAX_USES) if max_uses.strip() else None
    if max_uses.strip() and uses is None:
        problems.append(
            page.gettext(
                "Uses per code must be a whole number from 1 to %(most)s, or empty for unlimited.",
                most=MAX_USES,
            )
        )
    expiry = None
    if expires_at.strip():
        try:
            expiry = _expiry(expires_at, page.community.timezone)
        except ValueError:
            problems.append(page.gettext("The expiry must be a date and time."))
    if not problems and number is not None:
        try:
            made = make_codes(
                request,
                who,
                page.community.community_id,
                group_id=int(group_id) if group_id.strip() else None,
                source=source,
                count=number,
                max_uses=uses,
                expires_at=expiry,
                lang=page.locale,
            )
        except CodesRefused as error:
            problems += error.detail["problems"]
        else:
            return _list(request, who, page, made=made)
    return _list(request, who, page, problems=problems, form=form, status=422)


@router.post("/invites/{code_id}/disable")
def disable_code(
    request: Request,
    who: CanManageRules,
    code_id: Annotated[int, PathParam(ge=1, le=MAX_ID)],
) -> Response:
    page = page_context(request, who)
    if page.community is None:
        raise NotFound("no community yet")
    disable(request, who, page.community.community_id, code_id)
    return RedirectResponse("/invites?msg=disabled", status_code=303)
