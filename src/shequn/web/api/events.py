"""``/api/v1/events``: the event log, newest first, a keyset page at a time."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from shequn.core import EventType
from shequn.features.community import events_feed
from shequn.features.community.setup import communities_of
from shequn.web.auth import CanView
from shequn.web.context import web_of
from shequn.web.errors import ERROR_RESPONSES, Invalid, NotFound
from shequn.web.paging import DEFAULT_LIMIT, MAX_LIMIT, Page, decode_cursor, encode_cursor

router = APIRouter(tags=["events"], responses=ERROR_RESPONSES)
MAX_ID = 2_147_483_647
MAX_EVENT_ID = 2**63 - 1


def event_cursor(cursor: str | None) -> int | None:
    """The id a feed cursor continues below; anything else is a 422."""
    key = decode_cursor(cursor, 1)
    if key is None:
        return None
    value = key[0]
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_EVENT_ID:
        raise Invalid("the cursor is not one this server gave out")
    return value


class EventItem(BaseModel):
    """One event; ``member_id`` is the member behind the acting identity, ``text`` at most
    2,000 characters of what was said."""

    id: int
    occurred_at: datetime
    community_id: int
    group_id: int | None
    group_name: str | None
    type: str
    text: str | None
    identity_id: int | None
    member_id: int | None
    actor_name: str | None


@router.get(
    "/events",
    response_model=Page[EventItem],
    summary="The event log, newest first; a short page with a cursor means: look further",
)
def list_events(
    request: Request,
    who: CanView,
    community_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    group_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    type: EventType | None = None,
    member_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> Page[EventItem]:
    before = event_cursor(cursor)
    with web_of(request).read() as conn:
        ids = [r.community_id for r in communities_of(conn, who.workspace_id)]
        if community_id is not None:
            if community_id not in ids:
                raise NotFound(f"no community {community_id}")
            ids = [community_id]
        found = events_feed.feed(
            conn,
            who.workspace_id,
            ids,
            events_feed.EventFilter(
                group_id=group_id, type=type.value if type else None, member_id=member_id
            ),
            before=before,
            limit=limit,
        )
    return Page(
        items=[EventItem.model_validate(item, from_attributes=True) for item in found.items],
        next_cursor=encode_cursor([found.next_before]) if found.next_before is not None else None,
    )
