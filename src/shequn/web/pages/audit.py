"""``/audit``: who changed what, newest first, with filters and a readable diff.

Each entry shows the keys that changed, before → after; values come from
operators and from chat data alike, so they are escaped like everything else
and clipped so one long value cannot swamp the page.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from shequn.features.audit.service import actions, diff, operator_names, target_types
from shequn.web.api.audit import AuditQuery, run_query
from shequn.web.api.operators import Storable
from shequn.web.auth import CanViewAudit
from shequn.web.context import web_of
from shequn.web.paging import DEFAULT_LIMIT, MAX_LIMIT
from shequn.web.rendering import page_context, render

router = APIRouter(include_in_schema=False)
#: How much of one value the page shows.
CLIP = 160


def _day(text: str) -> date | None:
    """A date from the filter form; an empty or malformed one is no filter at all."""
    try:
        return date.fromisoformat(text.strip()) if text.strip() else None
    except ValueError:
        return None


@router.get("/audit")
def audit_page(
    request: Request,
    who: CanViewAudit,
    operator: Annotated[str, Query(max_length=64), Storable] = "",
    action: Annotated[str, Query(max_length=64), Storable] = "",
    target_type: Annotated[str, Query(max_length=32), Storable] = "",
    target_id: Annotated[str, Query(max_length=64), Storable] = "",
    since: Annotated[str, Query(max_length=10)] = "",
    until: Annotated[str, Query(max_length=10)] = "",
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    page = page_context(request, who)
    timezone = page.community.timezone if page.community else web_of(request).app.settings.timezone
    q = AuditQuery(
        operator, action, target_type, target_id, _day(since), _day(until), limit, cursor
    )
    items, more, total = run_query(request, who, q, timezone)
    with web_of(request).read() as conn:
        menus = {
            "actions": actions(conn, who.workspace_id),
            "operators": operator_names(conn, who.workspace_id),
            "target_types": target_types(conn, who.workspace_id),
        }
    filters = {
        "operator": q.operator,
        "action": q.action,
        "target_type": q.target_type,
        "target_id": q.target_id,
        "since": q.since.isoformat() if q.since else "",
        "until": q.until.isoformat() if q.until else "",
    }
    query = urlencode({k: v for k, v in filters.items() if v} | {"limit": limit})
    return render(
        request,
        "audit/index.html.j2",
        {
            "entries": [(row, diff(row["before"], row["after"], limit=CLIP)) for row in items],
            "total": total,
            "filters": filters,
            "first_page": f"/audit?{query}",
            "next_page": f"/audit?{query}&{urlencode({'cursor': more})}" if more else None,
            "paged": cursor is not None,
            "active": "audit",
        }
        | menus,
        page=page,
    )
