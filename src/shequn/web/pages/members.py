"""``/members``: find members, see one member whole, and keep their notes, tags and
merges in order.

The list's filter form submits with HTMX (only the table is swapped and the
address updated) and works as a plain GET without JavaScript. Every change is
a form post answered with a redirect (Post/Redirect/Get) whose ``msg`` says
what happened.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import RedirectResponse, Response

from shequn.features.audit.service import record
from shequn.features.community import members as queries
from shequn.features.community import tags as tagging
from shequn.features.community.member_filter import ROLES, Activity, MemberFilter, make_filter
from shequn.features.operators.service import Principal
from shequn.web.api.members import (
    MAX_ID,
    FilterBody,
    after_of,
    before_of,
    merge_into,
    tag_change,
    timeline_cursor,
    unmerge,
)
from shequn.web.api.tags import assign_all
from shequn.web.auth import CanEditMembers, CanView, actor_of
from shequn.web.context import web_of
from shequn.web.errors import Conflict, Invalid, NotFound
from shequn.web.paging import DEFAULT_LIMIT, MAX_LIMIT, encode_cursor
from shequn.web.rendering import PageContext, page_context, render

router = APIRouter(include_in_schema=False)
Id = Annotated[int, PathParam(ge=1, le=MAX_ID)]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
Text = Annotated[str | None, Query(max_length=200)]
TIMELINE_PAGE = 50


def _number(value: str | None, name: str) -> int | None:
    """A form's optional id: blank is "any"; anything else must be an id."""
    value = (value or "").strip()
    if not value:
        return None
    if not value.isdigit() or not 0 < int(value) <= MAX_ID:
        raise Invalid(f"{name} must be an id")
    return int(value)


def _filter(
    q: str | None,
    group_id: str | None,
    tag_id: str | None,
    role: str | None,
    activity: str | None,
) -> MemberFilter:
    if role and role not in ROLES:
        raise Invalid(f"unknown role {role!r}")
    if activity and activity not in Activity._value2member_map_:
        raise Invalid(f"unknown activity {activity!r}")
    return make_filter(
        q=q,
        group_id=_number(group_id, "group_id"),
        tag_id=_number(tag_id, "tag_id"),
        role=role or None,
        activity=activity or None,
    )


def _list_url(flt: MemberFilter, **extra: Any) -> str:
    """The list's address for ``flt`` (built from the filter's own values, percent-encoded)."""
    params = flt.as_dict() | {k: v for k, v in extra.items() if v is not None}
    return "/members" + (f"?{urlencode(params)}" if params else "")


def _partial(request: Request, target: str) -> bool:
    """An HTMX request for one block of the page (not a history restore, which needs it all)."""
    h = request.headers
    return (
        h.get("hx-request") == "true"
        and h.get("hx-target") == target
        and h.get("hx-history-restore-request") != "true"
    )


def _messages(page: PageContext) -> dict[str, str]:
    return {
        "note": page.gettext("The note is saved."),
        "tagged": page.gettext("The tag is added."),
        "untagged": page.gettext("The tag is removed."),
        "merged": page.gettext("The members are merged."),
        "unmerged": page.gettext(
            "The member is unmerged: their identities, groups and activity are back."
        ),
        "bulk": page.gettext("Tagged the matching members."),
    }


@router.get("/members")
def members_page(
    request: Request,
    who: CanView,
    q: Text = None,
    group_id: Text = None,
    tag_id: Text = None,
    role: Text = None,
    activity: Text = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    msg: Text = None,
    count: Annotated[int | None, Query(ge=0)] = None,
    added: Annotated[int | None, Query(ge=0)] = None,
) -> Response:
    page = page_context(request, who)
    flt = _filter(q, group_id, tag_id, role, activity)
    after = after_of(cursor)
    web = web_of(request)
    now = web.app.clock.now()
    with web.read() as conn:
        found = queries.list_members(conn, who.workspace_id, flt, now=now, after=after, limit=limit)
        groups = queries.groups_of(conn, who.workspace_id)
        tags = tagging.list_tags(conn, who.workspace_id)
    next_url = None
    if found.next_after is not None:
        next_url = _list_url(flt, cursor=encode_cursor([found.next_after]), limit=_limit(limit))
    context = {
        "flt": flt,
        "rows": found.rows,
        "total": found.total,
        "groups": groups,
        "tags": tags,
        "roles": ROLES,
        "activities": list(Activity),
        "palette": tagging.PALETTE,
        "next_url": next_url,
        "first_url": _list_url(flt, limit=_limit(limit)) if cursor else None,
        "flash": _messages(page).get(msg or ""),
        "bulk": {"count": count, "added": added} if msg == "bulk" else None,
        "active": "members",
    }
    if _partial(request, "member-table"):
        return render(request, "members/_table.html.j2", context, page=page)
    return render(request, "members/list.html.j2", context, page=page)


def _limit(limit: int) -> int | None:
    return None if limit == DEFAULT_LIMIT else limit


@router.post("/members/tag-all")
def tag_all(
    request: Request,
    who: CanEditMembers,
    assign_tag_id: Annotated[int, Form(ge=1, le=MAX_ID)],
    q: Annotated[str | None, Form(max_length=200)] = None,
    group_id: Annotated[str | None, Form(max_length=20)] = None,
    tag_id: Annotated[str | None, Form(max_length=20)] = None,
    role: Annotated[str | None, Form(max_length=20)] = None,
    activity: Annotated[str | None, Form(max_length=20)] = None,
) -> Response:
    """The list's "Tag all N matching": one statement over its current filter, audited once."""
    flt = _filter(q, group_id, tag_id, role, activity)
    body = FilterBody(
        q=flt.q,
        group_id=flt.group_id,
        tag_id=flt.tag_id,
        role=flt.role,  # type: ignore[arg-type]
        activity=flt.activity,
    )
    result = assign_all(request, who, assign_tag_id, body)
    return RedirectResponse(
        _list_url(flt, msg="bulk", count=result.matched, added=result.added), status_code=303
    )


@router.get("/members/{member_id}")
def member_page(
    request: Request,
    who: CanView,
    member_id: Id,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    merged_from: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    restored: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    msg: Text = None,
) -> Response:
    """A member merged into another answers with a redirect to that one."""
    page = page_context(request, who)
    web = web_of(request)
    before = before_of(cursor)
    with web.read() as conn:
        found = queries.profile(conn, who.workspace_id, member_id)
        if found is None:
            raise NotFound(f"no member {member_id}")
        if found.merged_into_id is not None:
            target = queries.resolve(conn, who.workspace_id, member_id)
            if target is None or target == member_id:
                raise NotFound(f"no member {member_id}")
            return RedirectResponse(f"/members/{target}?merged_from={member_id}", status_code=303)
        events = queries.timeline(conn, member_id, before=before, limit=TIMELINE_PAGE)
        tags = tagging.list_tags(conn, who.workspace_id)
    context = {
        "member": found,
        "events": events.items,
        "older_url": (
            f"/members/{member_id}?cursor={timeline_cursor(events.next_before)}"
            if events.next_before
            else None
        ),
        "newest_url": f"/members/{member_id}" if cursor else None,
        "all_tags": [t for t in tags if t.id not in {x.id for x in found.tags}],
        "palette": tagging.PALETTE,
        "merged_from": merged_from,
        "restored": restored if msg == "unmerged" else None,
        "flash": _messages(page).get(msg or ""),
        "active": "members",
    }
    if _partial(request, "timeline"):
        return render(request, "members/_timeline.html.j2", context, page=page)
    return render(request, "members/profile.html.j2", context, page=page)


def _back(member_id: int, msg: str) -> RedirectResponse:
    return RedirectResponse(f"/members/{member_id}?msg={msg}", status_code=303)


@router.post("/members/{member_id}/note")
def save_note(
    request: Request,
    who: CanEditMembers,
    member_id: Id,
    note: Annotated[str, Form(max_length=queries.MAX_NOTE)] = "",
) -> Response:
    web = web_of(request)
    with web.write() as conn:
        row = queries.member_row(conn, who.workspace_id, member_id)
        if row is None:
            raise NotFound(f"no member {member_id}")
        if row.merged_into_id is not None:
            raise Conflict(f"member {member_id} was merged into {row.merged_into_id}")
        before, after = queries.update_member(conn, who.workspace_id, member_id, {"note": note})
        if before != after:
            record(
                conn,
                actor_of(request, who),
                "member.note",
                "member",
                member_id,
                before=before,
                after=after,
                now=web.app.clock.now(),
            )
    return _back(member_id, "note")


@router.post("/members/{member_id}/tags")
def add_tag(
    request: Request,
    who: CanEditMembers,
    member_id: Id,
    tag_id: Annotated[int, Form(ge=1, le=MAX_ID)],
) -> Response:
    tag_change(request, who, member_id, tag_id, add=True)
    return _back(member_id, "tagged")


@router.post("/members/{member_id}/tags/{tag_id}/remove")
def remove_tag(request: Request, who: CanEditMembers, member_id: Id, tag_id: Id) -> Response:
    tag_change(request, who, member_id, tag_id, add=False)
    return _back(member_id, "untagged")


def _pair(request: Request, who: Principal, keep: int, other: int) -> tuple[Any, Any]:
    with web_of(request).read() as conn:
        kept = queries.profile(conn, who.workspace_id, keep)
        merged = queries.profile(conn, who.workspace_id, other)
    if kept is None:
        raise NotFound(f"no member {keep}")
    if merged is None:
        raise NotFound(f"no member {other}")
    return kept, merged


@router.get("/members/{member_id}/merge")
def merge_confirm(
    request: Request,
    who: CanEditMembers,
    member_id: Id,
    other: Annotated[int, Query(ge=1, le=MAX_ID)],
) -> Response:
    """Show both members side by side before merging ``other`` into this one."""
    page = page_context(request, who)
    kept, merged = _pair(request, who, member_id, other)
    problem = None
    if kept.id == merged.id:
        problem = page.gettext("A member cannot be merged into itself.")
    elif kept.merged_into_id is not None or merged.merged_into_id is not None:
        problem = page.gettext("One of these members was already merged into another.")
    return render(
        request,
        "members/merge.html.j2",
        {"kept": kept, "merged": merged, "problem": problem, "active": "members"},
        page=page,
    )


@router.post("/members/{member_id}/merge")
def merge(
    request: Request,
    who: CanEditMembers,
    member_id: Id,
    other: Annotated[int, Form(ge=1, le=MAX_ID)],
) -> Response:
    merge_into(request, who, member_id, other)
    return _back(member_id, "merged")


@router.post("/members/{member_id}/unmerge")
def unmerge_page(request: Request, who: CanEditMembers, member_id: Id) -> Response:
    """Unmerge this (merged) member; back to the member it had been merged into."""
    result = unmerge(request, who, member_id)
    return RedirectResponse(
        f"/members/{result.kept}?msg=unmerged&restored={result.restored}", status_code=303
    )
