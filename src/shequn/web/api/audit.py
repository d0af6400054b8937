"""``/api/v1/audit``: the audit log, newest first, with the audit page's filters.

Dates are days in the community's time zone (the current community of a
browser session, the workspace's first for a token), so "since 2026-10-01"
means from that local midnight.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from shequn.features.audit.service import AuditFilter, query
from shequn.features.community.setup import communities_of, pick_community
from shequn.features.operators.service import Principal
from shequn.kit.timeutil import zone
from shequn.web.api.operators import NO_NUL, Storable
from shequn.web.auth import CanViewAudit
from shequn.web.context import web_of
from shequn.web.errors import ERROR_RESPONSES, Invalid
from shequn.web.paging import DEFAULT_LIMIT, MAX_LIMIT, Page, decode_cursor, encode_cursor

MAX_ID = 2**31 - 1
#: Dates outside this range are clamped to it (the log holds nothing there anyway),
#: so no date can overflow a conversion.
FIRST_DAY, LAST_DAY = date(1970, 1, 1), date(9000, 1, 1)
#: A day as the filters take it; an empty value is no filter.
DAY = r"^(\d{4}-\d{2}-\d{2})?$"

router = APIRouter(tags=["audit"], responses=ERROR_RESPONSES)


class AuditEntryOut(BaseModel):
    id: int
    at: datetime
    operator_id: int | None
    operator_name: str
    action: str
    target_type: str
    target_id: str
    before: Any
    after: Any
    address: str | None


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """The filters as given (for a page's form and links), and the cursor."""

    operator: str = ""
    action: str = ""
    target_type: str = ""
    target_id: str = ""
    since: date | None = None
    until: date | None = None
    limit: int = DEFAULT_LIMIT
    cursor: str | None = None


def day_of(text: str) -> date | None:
    """The day of a YYYY-MM-DD filter value; one that is no real day is refused."""
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise Invalid(f"{text!r} is not a day (YYYY-MM-DD)") from None


def _midnight(day: date, timezone: str) -> datetime:
    day = min(max(day, FIRST_DAY), LAST_DAY)
    return datetime.combine(day, time(0), tzinfo=zone(timezone))


def to_filter(q: AuditQuery, timezone: str) -> AuditFilter:
    """The service's filter: ``until`` includes its whole day."""
    return AuditFilter(
        operator=q.operator.strip() or None,
        action=q.action.strip() or None,
        target_type=q.target_type.strip() or None,
        target_id=q.target_id.strip() or None,
        since=_midnight(q.since, timezone) if q.since else None,
        until=_midnight(q.until, timezone) + timedelta(days=1) if q.until else None,
    )


def timezone_of(request: Request, who: Principal) -> str:
    with web_of(request).read() as conn:
        community = pick_community(communities_of(conn, who.workspace_id), who.community_id)
    return community.timezone if community else web_of(request).app.settings.timezone


def run_query(
    request: Request, who: Principal, q: AuditQuery, timezone: str
) -> tuple[list[dict[str, Any]], str | None, int]:
    """One page of entries, the next page's cursor, and how many match in all."""
    key = decode_cursor(q.cursor, 1)
    before = None
    if key is not None:
        if not isinstance(key[0], int) or isinstance(key[0], bool) or not 0 < key[0] <= MAX_ID:
            raise Invalid("the cursor is not one this server gave out")
        before = key[0]
    with web_of(request).read() as conn:
        found = query(
            conn, who.workspace_id, to_filter(q, timezone), before_id=before, limit=q.limit
        )
    more = encode_cursor([found.next_before]) if found.next_before is not None else None
    return found.items, more, found.total


@router.get("/audit", response_model=Page[AuditEntryOut], summary="The audit log, newest first")
def audit_log(
    request: Request,
    who: CanViewAudit,
    operator: Annotated[
        str, Query(max_length=64, pattern=NO_NUL, description="Exact operator name"), Storable
    ] = "",
    action: Annotated[
        str, Query(max_length=64, pattern=NO_NUL, description="e.g. operator.create"), Storable
    ] = "",
    target_type: Annotated[str, Query(max_length=32, pattern=NO_NUL), Storable] = "",
    target_id: Annotated[str, Query(max_length=64, pattern=NO_NUL), Storable] = "",
    since: Annotated[str, Query(pattern=DAY, description="First day (YYYY-MM-DD), local")] = "",
    until: Annotated[str, Query(pattern=DAY, description="Last day (YYYY-MM-DD), local")] = "",
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Page[AuditEntryOut]:
    q = AuditQuery(
        operator, action, target_type, target_id, day_of(since), day_of(until), limit, cursor
    )
    items, more, total = run_query(request, who, q, timezone_of(request, who))
    return Page[AuditEntryOut](
        items=[AuditEntryOut(**{k: row[k] for k in AuditEntryOut.model_fields}) for row in items],
        next_cursor=more,
        total=total,
    )
