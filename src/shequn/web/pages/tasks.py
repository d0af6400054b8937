"""``/tasks``: the operator inbox — what the bots asked a person to look at, open tasks
first and newest first, each with a "done" button and an optional note; ``show=done``
lists the done tasks too, after the open ones, each with a button to open it again.

A task's text comes from chat (a join request quotes the applicant's name and answer):
the template escapes it like everything else. Done and reopen are form posts answered
with a redirect back to the same list, whose ``msg`` says what happened.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import Connection, select

from shequn.features.analytics.metrics import groups as community_groups
from shequn.features.operators.service import Principal, list_operators
from shequn.features.tasks import kinds
from shequn.features.tasks import service as inbox
from shequn.models import Identity
from shequn.web.api.operators import Storable
from shequn.web.api.tasks import (
    MAX_ID,
    AlreadyDone,
    NotDone,
    close_as,
    next_cursor,
    read_tasks,
    reopen_as,
    task_cursor,
)
from shequn.web.auth import CanModerate, CanView
from shequn.web.context import web_of
from shequn.web.errors import NotFound
from shequn.web.pages.overview import N_
from shequn.web.paging import DEFAULT_LIMIT
from shequn.web.rendering import page_context, render

router = APIRouter(include_in_schema=False)
#: What each kind of task is called on the page (kinds a feature names itself show as is).
KIND_LABELS = {
    kinds.ADMISSION_HOLD: N_("Join request to review"),
    kinds.BROKEN_RULE: N_("Rule cannot load"),
    kinds.CAPACITY: N_("Group pool"),
    kinds.CREATE_GROUP: N_("Group to create"),
    kinds.NOTICE: N_("Notice"),
}
NOTICES = {
    "done": N_("The task is done."),
    "reopened": N_("The task is open again."),
    "already": N_("This task was done already."),
    "open": N_("This task is still open."),
}
SHOW_DONE = "done"


def _url(**params: Any) -> str:
    shown = {k: v for k, v in params.items() if v not in (None, "")}
    return "/tasks" + (f"?{urlencode(shown)}" if shown else "")


def _names(
    conn: Connection, workspace_id: int, tasks: list[inbox.Task]
) -> dict[tuple[str, str], str]:
    """The names shequn knows for the accounts these tasks name, by (platform, id)."""
    wanted = {(t.platform, t.user_ref) for t in tasks if t.platform and t.user_ref}
    if not wanted:
        return {}
    found = conn.execute(
        select(Identity.platform, Identity.external_id, Identity.display_name).where(
            Identity.workspace_id == workspace_id,
            Identity.platform.in_(sorted({p for p, _ in wanted})),
            Identity.external_id.in_(sorted({u for _, u in wanted})),
        )
    )
    return {(p, u): name for p, u, name in found if (p, u) in wanted and name}


@router.get("/tasks")
def tasks_page(
    request: Request,
    who: CanView,
    show: Annotated[str | None, Query(max_length=8)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    msg: Annotated[str | None, Query(max_length=16)] = None,
) -> Response:
    page = page_context(request, who)
    if page.community is None:
        return render(request, "overview/empty.html.j2", {"active": "tasks"}, page=page)
    show_done = show == SHOW_DONE
    after = task_cursor(cursor)
    community_id = page.community.community_id
    with web_of(request).read() as conn:
        shown, more = read_tasks(
            conn, community_id, open_only=not show_done, after=after, limit=DEFAULT_LIMIT
        )
        open_count = inbox.count_open(conn, community_id)
        groups = {g.id: g.name for g in community_groups(conn, community_id)}
        names = _names(conn, who.workspace_id, shown)
        operators = {
            o.id: o.display_name or o.username for o in list_operators(conn, who.workspace_id)
        }
    rows = [
        {
            "task": t,
            "kind_label": KIND_LABELS.get(t.kind),
            "group_name": groups.get(t.group_id) if t.group_id is not None else None,
            "member_name": names.get((t.platform or "", t.user_ref or "")),
            "done_by": operators.get(t.done_by) if t.done_by is not None else None,
        }
        for t in shown
    ]
    keep = SHOW_DONE if show_done else None
    context = {
        "active": "tasks",
        "rows": rows,
        "open_count": open_count,
        "show_done": show_done,
        "show": keep,
        "notice": NOTICES.get(msg or ""),
        "notice_bad": msg in ("already", "open"),
        "max_note": inbox.MAX_NOTE,
        "next_url": _url(show=keep, cursor=next_cursor(shown[-1])) if more and shown else None,
        "first_url": _url(show=keep) if after is not None else None,
        "toggle_url": _url(show=None if show_done else SHOW_DONE),
    }
    return render(request, "tasks/list.html.j2", context, page=page)


TaskId = Annotated[int, PathParam(ge=1, le=MAX_ID)]
Show = Annotated[str, Form(max_length=8)]


def _community(request: Request, who: Principal) -> int:
    page = page_context(request, who)
    if page.community is None:
        raise NotFound("no community yet")
    return page.community.community_id


@router.post("/tasks/{task_id}/done")
def close_task(
    request: Request,
    who: CanModerate,
    task_id: TaskId,
    note: Annotated[str, Form(max_length=inbox.MAX_NOTE), Storable] = "",
    show: Show = "",
) -> Response:
    """Mark a task of the current community done, then show the inbox again."""
    community_id = _community(request, who)
    try:
        close_as(request, who, task_id, note, community_id)
        notice = "done"
    except AlreadyDone:
        notice = "already"
    keep = SHOW_DONE if show == SHOW_DONE else None
    return RedirectResponse(_url(show=keep, msg=notice), status_code=303)


@router.post("/tasks/{task_id}/reopen")
def reopen_task(request: Request, who: CanModerate, task_id: TaskId, show: Show = "") -> Response:
    """Open a done task of the current community again, then show the inbox again."""
    community_id = _community(request, who)
    try:
        reopen_as(request, who, task_id, community_id)
        notice = "reopened"
    except NotDone:
        notice = "open"
    keep = SHOW_DONE if show == SHOW_DONE else None
    return RedirectResponse(_url(show=keep, msg=notice), status_code=303)
