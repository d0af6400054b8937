"""``/moderation``: the moderation log — what each rule decided about whom, the text that
matched and why, in the reader's language — with an undo button for the decisions a
platform can reverse.

Matched text and names are chat content: the template escapes them like everything
else. An undo is a form post answered with a redirect back to the same filters, whose
``msg`` says what happened and what no platform can restore.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import Connection, select

from shequn.core import Action
from shequn.features.analytics.metrics import groups as community_groups
from shequn.features.moderation import undo_plan
from shequn.features.moderation.service import LogEntry
from shequn.features.operators.service import list_operators
from shequn.kit.wording import Wording
from shequn.models import Identity
from shequn.web.api.moderation import (
    MAX_ENTRY_ID,
    AlreadyUndone,
    LogFilter,
    NothingToUndo,
    log_cursor,
    read_log,
    undo_as,
)
from shequn.web.auth import CanModerate, CanView
from shequn.web.context import web_of
from shequn.web.errors import Invalid, NotFound
from shequn.web.pages.bots import ACTION_LABELS
from shequn.web.pages.overview import N_
from shequn.web.pages.rule_form import CHECK_LABELS
from shequn.web.paging import DEFAULT_LIMIT, encode_cursor
from shequn.web.rendering import page_context, render

router = APIRouter(include_in_schema=False)
MAX_ID = 2**31 - 1
#: What each kind of entry is called in the filter and the table.
KIND_LABELS = {
    **CHECK_LABELS,
    "warn": N_("Warned by an admin"),
    "blacklist": N_("Blacklist"),
}
NOTICES = {
    "undone": N_("The decision is undone; the reverse actions are queued."),
    "already": N_("This decision was undone already."),
    "nothing": N_("This decision did nothing a platform can reverse."),
}
#: How much matched text a row shows.
MATCHED_GLIMPSE = 300


def _id(value: str | None, name: str) -> int | None:
    value = (value or "").strip()
    if not value:
        return None
    if not value.isdigit() or not 0 < int(value) <= MAX_ID:
        raise Invalid(f"{name} must be an id")
    return int(value)


def _url(path: str, **params: Any) -> str:
    shown = {k: v for k, v in params.items() if v not in (None, "")}
    return path + (f"?{urlencode(shown)}" if shown else "")


def _names(
    conn: Connection, workspace_id: int, entries: list[LogEntry]
) -> dict[tuple[str, str], str]:
    """The names shequn knows for the members of these entries, by (platform, id)."""
    wanted = {(e.platform, e.user_ref) for e in entries}
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


def _cannot(entry: LogEntry) -> list[Wording]:
    """What undoing this decision cannot restore (a deleted message, a removal)."""
    try:
        actions = [Action.from_dict(a) for a in entry.actions]
    except (KeyError, TypeError, ValueError):
        return []
    return list(undo_plan(actions).notes)


def _glimpse(text: str) -> str:
    return text if len(text) <= MATCHED_GLIMPSE else text[:MATCHED_GLIMPSE] + "…"


@router.get("/moderation")
def moderation_page(
    request: Request,
    who: CanView,
    group_id: Annotated[str | None, Query(max_length=12)] = None,
    member_id: Annotated[str | None, Query(max_length=12)] = None,
    kind: Annotated[str | None, Query(max_length=24)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    msg: Annotated[str | None, Query(max_length=16)] = None,
) -> Response:
    page = page_context(request, who)
    if page.community is None:
        return render(request, "overview/empty.html.j2", {"active": "moderation"}, page=page)
    kind = (kind or "").strip() or None
    if kind is not None and kind not in KIND_LABELS:
        raise Invalid("unknown kind")
    where = LogFilter(_id(group_id, "group_id"), _id(member_id, "member_id"), kind)
    before = log_cursor(cursor)
    web = web_of(request)
    community_id = page.community.community_id
    with web.read() as conn:
        shown, more = read_log(conn, community_id, where, before, DEFAULT_LIMIT)
        groups = community_groups(conn, community_id)
        names = _names(conn, who.workspace_id, shown)
        operators = {
            o.id: o.display_name or o.username for o in list_operators(conn, who.workspace_id)
        }
    group_names = {g.id: g.name for g in groups}
    filters = {"group_id": where.group_id, "member_id": where.member_id, "kind": kind}
    rows = [
        {
            "entry": e,
            "group_name": group_names.get(e.group_id) if e.group_id is not None else None,
            "member_name": names.get((e.platform, e.user_ref)),
            "kind_label": KIND_LABELS.get(e.kind),
            "matched": _glimpse(e.matched),
            "reason": e.reason.get("zh" if page.locale.startswith("zh") else "en", ""),
            "actions": [
                ACTION_LABELS.get(a.get("type")) if isinstance(a, dict) else None for a in e.actions
            ],
            "cannot": [n.pick(page.locale) for n in _cannot(e)] if e.undoable else [],
            "undone_by": operators.get(e.undone_by) if e.undone_by is not None else None,
        }
        for e in shown
    ]
    context = {
        "active": "moderation",
        "rows": rows,
        "groups": groups,
        "filters": filters,
        "kind_labels": KIND_LABELS,
        "notice": NOTICES.get(msg or ""),
        "notice_bad": msg in ("already", "nothing"),
        "next_url": _url("/moderation", **filters, cursor=encode_cursor([shown[-1].id]))
        if more and shown
        else None,
        "first_url": _url("/moderation", **filters) if before is not None else None,
    }
    return render(request, "moderation/log.html.j2", context, page=page)


@router.post("/moderation/{entry_id}/undo")
def undo_entry(
    request: Request,
    who: CanModerate,
    entry_id: Annotated[int, PathParam(ge=1, le=MAX_ENTRY_ID)],
    group_id: Annotated[str, Form(max_length=12)] = "",
    member_id: Annotated[str, Form(max_length=12)] = "",
    kind: Annotated[str, Form(max_length=24)] = "",
) -> Response:
    """Undo a decision of the current community, then show the log again with the same
    filters."""
    page = page_context(request, who)
    if page.community is None:
        raise NotFound("no community yet")
    back = {"group_id": _id(group_id, "group_id"), "member_id": _id(member_id, "member_id")}
    back["kind"] = kind if kind in KIND_LABELS else None
    try:
        undo_as(request, who, entry_id, page.community.community_id)
        notice = "undone"
    except AlreadyUndone:
        notice = "already"
    except NothingToUndo:
        notice = "nothing"
    return RedirectResponse(_url("/moderation", **back, msg=notice), status_code=303)
