"""``/events``: the community's event log, newest first, a page at a time, with an
optional live view that refreshes the newest page every few seconds (HTMX polling)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy import select

from shequn.features.community import events_feed
from shequn.models import Group
from shequn.web.api.events import event_cursor
from shequn.web.auth import CanView
from shequn.web.context import web_of
from shequn.web.errors import Invalid
from shequn.web.pages.overview import N_
from shequn.web.paging import DEFAULT_LIMIT, encode_cursor
from shequn.web.rendering import page_context, render

router = APIRouter(include_in_schema=False)
MAX_ID = 2**31 - 1
#: Seconds between refreshes of the live view.
REFRESH_SECONDS = 10
#: How each event type reads in the feed.
TYPE_LABELS = {
    "message": N_("Message"),
    "join": N_("Join"),
    "leave": N_("Leave"),
    "join_request": N_("Join request"),
    "reaction": N_("Reaction"),
    "recall": N_("Recall"),
    "member_update": N_("Member update"),
    "group_update": N_("Group update"),
    "checkin": N_("Check-in"),
    "purchase": N_("Purchase"),
    "attend": N_("Attendance"),
    "read": N_("Read"),
    "tick": N_("Tick"),
    "custom": N_("Custom"),
}
#: The longest glimpse of a text the feed shows (the API carries more).
GLIMPSE = 280


def optional_id(value: str | None, name: str) -> int | None:
    """An id from a filter form, where an empty field means any."""
    if value is None or not value.strip():
        return None
    if not value.strip().isdigit() or not 1 <= int(value) <= MAX_ID:
        raise Invalid(f"{name} must be a positive whole number")
    return int(value)


def glimpse(text: str | None) -> str:
    if not text:
        return ""
    return text if len(text) <= GLIMPSE else text[:GLIMPSE] + "…"


@router.get("/events")
def events(
    request: Request,
    who: CanView,
    group: Annotated[str | None, Query(alias="group_id", max_length=12)] = None,
    type: Annotated[str | None, Query(max_length=32)] = None,
    member: Annotated[str | None, Query(alias="member_id", max_length=12)] = None,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    live: bool = False,
) -> Response:
    page = page_context(request, who)
    if page.community is None:
        return render(request, "overview/empty.html.j2", {"active": "events"}, page=page)
    group_id, member_id = optional_id(group, "group_id"), optional_id(member, "member_id")
    type = type or None
    if type is not None and type not in TYPE_LABELS:
        raise Invalid("unknown event type")
    before = event_cursor(cursor)
    web = web_of(request)
    ref = page.community
    with web.read() as conn:
        groups = conn.execute(
            select(Group.id, Group.name)
            .where(Group.community_id == ref.community_id)
            .order_by(Group.name, Group.id)
        ).all()
        found = events_feed.feed(
            conn,
            who.workspace_id,
            [ref.community_id],
            events_feed.EventFilter(group_id=group_id, type=type, member_id=member_id),
            before=before,
            limit=DEFAULT_LIMIT,
        )
    filters = {
        k: v
        for k, v in {"group_id": group_id, "type": type, "member_id": member_id}.items()
        if v is not None
    }
    rows: list[dict[str, Any]] = [
        {"item": item, "text": glimpse(item.text), "label": TYPE_LABELS.get(item.type)}
        for item in found.items
    ]

    def url(**extra: Any) -> str:
        params = {**filters, **extra}
        return "/events" + ("?" + urlencode(params) if params else "")

    more = found.next_before is not None
    context = {
        "active": "events",
        "rows": rows,
        "groups": groups,
        "types": TYPE_LABELS,
        "chosen": {"group_id": group_id, "type": type, "member_id": member_id},
        "live": live and before is None,
        "refresh": REFRESH_SECONDS,
        "live_url": url(live="true"),
        "still_url": url(),
        "next_url": url(cursor=encode_cursor([found.next_before])) if more else None,
        "first_url": url() if before else None,
        "short": more and len(found.items) < DEFAULT_LIMIT,
    }
    if request.headers.get("hx-request") == "true":
        return render(request, "events/rows.html.j2", context, page=page)
    return render(request, "events/list.html.j2", context, page=page)
