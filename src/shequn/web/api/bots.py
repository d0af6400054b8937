"""``/api/v1/bots`` and ``/api/v1/outbox``: what the bots' adapters are doing, what the
bots did, and sending failed actions back to the queue or cancelling waiting ones.

Adapters report their state to ``adapter_status`` from whichever process runs them,
so this answers the same in every process. A retry or a cancel is audited row by
row (with the row as it was), and wakes this process's dispatcher when one runs
here; dispatchers elsewhere find retried rows at their next poll.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import anyio.from_thread
from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection

from shequn.core import Message
from shequn.features.audit.service import record
from shequn.features.community.setup import CommunityRef, communities_of, pick_community
from shequn.features.operators.service import Principal
from shequn.models import OutboxStatus
from shequn.runtime.outbox import manage
from shequn.web.api.operators import NO_NUL
from shequn.web.auth import CanEditMembers, CanView, actor_of
from shequn.web.context import Web, web_of
from shequn.web.errors import ERROR_RESPONSES, Invalid, NotFound
from shequn.web.paging import DEFAULT_LIMIT, MAX_LIMIT, Page, decode_cursor, encode_cursor

router = APIRouter(tags=["bots"], responses=ERROR_RESPONSES)
MAX_ID = 2**31 - 1
MAX_OUTBOX_ID = 2**63 - 1
#: The most rows one retry or cancel names.
MAX_IDS = 200
#: The longest text of an action the API gives (the page shows less).
TEXT_LIMIT = 2000
#: The audit log's action name for each operator decision.
AUDIT_ACTIONS = {"retry": "outbox.retry", "cancel": "outbox.cancel"}


# --- shared with the pages ---------------------------------------------------------------


def community_for(conn: Connection, who: Principal, community_id: int | None) -> CommunityRef:
    """The community asked for (it must be one of the caller's workspace), else the
    caller's current one."""
    choices = communities_of(conn, who.workspace_id)
    if community_id is not None:
        for ref in choices:
            if ref.community_id == community_id:
                return ref
        raise NotFound(f"no community {community_id}")
    chosen = pick_community(choices, who.community_id)
    if chosen is None:
        raise NotFound("this workspace has no community yet")
    return chosen


def action_text(data: Any, limit: int) -> str | None:
    """The plain text an action would post (its message), clipped to ``limit``; None for
    actions without one, or whose stored message cannot be read."""
    if not isinstance(data, Mapping) or not data.get("message"):
        return None
    try:
        text = Message.from_list(data["message"]).plain_text()
    except (ValueError, TypeError, AttributeError):
        return None
    return text if len(text) <= limit else text[:limit] + "…"


def action_user(data: Any) -> str | None:
    value = data.get("user") if isinstance(data, Mapping) else None
    return value if isinstance(value, str) else None


def result_url(result: Any) -> str | None:
    """The platform's address of what an action made, only when it is a web address: a
    stored result is the platform's word, and a ``javascript:`` link must never be one."""
    url = result.get("url") if isinstance(result, Mapping) else None
    if not isinstance(url, str):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return url if parts.scheme.lower() in ("http", "https") and parts.netloc else None


def outbox_cursor(cursor: str | None) -> int | None:
    """The id an outbox cursor continues below; anything else is a 422."""
    key = decode_cursor(cursor, 1)
    if key is None:
        return None
    value = key[0]
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_OUTBOX_ID:
        raise Invalid("the cursor is not one this server gave out")
    return value


def wake_dispatcher(web: Web) -> None:
    """Tell this process's dispatcher to look at the outbox now. Route handlers run in
    worker threads; the dispatcher's wake-up belongs to the event loop, so it is handed
    over there."""
    runtime = web.runtime
    if runtime is None:
        return
    try:
        asyncio.get_running_loop()
    except RuntimeError:  # a worker thread: the loop carries the wake-up out
        # A thread the server did not start has no way there; the next poll finds the rows.
        with contextlib.suppress(RuntimeError):
            anyio.from_thread.run_sync(runtime.dispatcher.wake)
    else:
        runtime.dispatcher.wake()


def move_as(
    request: Request,
    who: Principal,
    kind: Literal["retry", "cancel"],
    ids: list[int],
    community_id: int | None = None,
) -> list[manage.Changed]:
    """Retry or cancel the community's rows among ``ids``, auditing each moved row with
    what it was; shared by the API and the bots page."""
    web = web_of(request)
    now = web.app.clock.now()
    move = manage.retry_rows if kind == "retry" else manage.cancel_rows
    after = OutboxStatus.PENDING if kind == "retry" else OutboxStatus.CANCELLED
    with web.write() as conn:
        ref = community_for(conn, who, community_id)
        moved = move(conn, ref.community_id, ids, now=now)
        actor = actor_of(request, who)
        for row in moved:
            record(
                conn,
                actor,
                AUDIT_ACTIONS[kind],
                "outbox",
                row.id,
                before={
                    "status": row.status,
                    "type": row.type,
                    "group": row.group_ref,
                    "attempts": row.attempts,
                    "last_error": row.last_error,
                },
                after={"status": after.value},
                now=now,
            )
    if moved and kind == "retry":
        wake_dispatcher(web)
    return moved


# --- the API -------------------------------------------------------------------------------


class AdapterOut(BaseModel):
    """One adapter as its process last reported it."""

    name: str
    platform: str
    account: str
    community_id: int | None
    state: str = Field(description="connecting, connected, retrying or stopped")
    detail: str = Field(description="Why it is retrying, when it is")
    worker: str = Field(description="The process that runs it")
    since: datetime
    updated_at: datetime


class OutboxItem(BaseModel):
    """One action of the outbox; ``text`` is at most 2,000 characters of what it posts,
    ``result`` what the platform answered once it was done."""

    id: int
    community_id: int
    event_id: int | None
    type: str
    status: OutboxStatus
    attempts: int
    platform: str | None
    group_ref: str | None = Field(description="The group's id on its platform")
    group_id: int | None = Field(description="The group in shequn, when it is known")
    group_name: str | None
    user: str | None = Field(description="The member it concerns, by platform id")
    text: str | None
    not_before: datetime
    created_at: datetime
    updated_at: datetime
    done_at: datetime | None
    last_error: str | None
    result: dict[str, Any] | None


class OutboxPage(Page[OutboxItem]):
    counts: dict[str, int] = Field(description="The community's actions per status")


class OutboxIds(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ids: list[Annotated[int, Field(ge=1, le=MAX_OUTBOX_ID)]] = Field(
        min_length=1, max_length=MAX_IDS
    )
    community_id: Annotated[int, Field(ge=1, le=MAX_ID)] | None = Field(
        default=None, description="Defaults to the caller's current community"
    )


class MovedOut(BaseModel):
    changed: int = Field(description="How many of the rows moved")
    ids: list[int] = Field(description="The rows that moved; the others were not in a state to")


def outbox_item(row: Any) -> OutboxItem:
    result = row.result if isinstance(row.result, dict) else None
    return OutboxItem(
        id=row.id,
        community_id=row.community_id,
        event_id=row.event_id,
        type=row.type,
        status=OutboxStatus(row.status),
        attempts=row.attempts,
        platform=row.platform,
        group_ref=row.group_ref,
        group_id=row.group_id,
        group_name=row.group_name,
        user=action_user(row.action),
        text=action_text(row.action, TEXT_LIMIT),
        not_before=row.not_before,
        created_at=row.created_at,
        updated_at=row.updated_at,
        done_at=row.done_at,
        last_error=row.last_error,
        result=result,
    )


CommunityParam = Annotated[int | None, Query(ge=1, le=MAX_ID)]


@router.get(
    "/bots/adapters",
    response_model=list[AdapterOut],
    summary="The adapters serving a community, as their processes last reported them",
)
def list_adapters(
    request: Request, who: CanView, community_id: CommunityParam = None
) -> list[AdapterOut]:
    with web_of(request).read() as conn:
        ref = community_for(conn, who, community_id)
        rows = manage.adapters(conn, ref.community_id)
    return [AdapterOut.model_validate(r, from_attributes=True) for r in rows]


@router.get(
    "/outbox",
    response_model=OutboxPage,
    summary="The bots' actions, newest first, with the count of each status",
)
def list_outbox(
    request: Request,
    who: CanView,
    community_id: CommunityParam = None,
    status: OutboxStatus | None = None,
    group: Annotated[
        str | None, Query(max_length=255, pattern=NO_NUL, description="A platform group id")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> OutboxPage:
    before = outbox_cursor(cursor)
    with web_of(request).read() as conn:
        ref = community_for(conn, who, community_id)
        rows = manage.recent(
            conn,
            ref.community_id,
            status=status.value if status else None,
            group_ref=group,
            limit=limit + 1,
            before_id=before,
        )
        counts = manage.status_counts(conn, ref.community_id)
    shown = rows[:limit]
    more = len(rows) > limit
    return OutboxPage(
        items=[outbox_item(r) for r in shown],
        next_cursor=encode_cursor([shown[-1].id]) if more and shown else None,
        counts=counts,
    )


@router.post(
    "/outbox/retry",
    response_model=MovedOut,
    summary="Send failed or uncertain actions back to the queue, due now",
)
def retry_outbox(request: Request, who: CanEditMembers, body: OutboxIds) -> MovedOut:
    moved = move_as(request, who, "retry", body.ids, body.community_id)
    return MovedOut(changed=len(moved), ids=[m.id for m in moved])


@router.post(
    "/outbox/cancel",
    response_model=MovedOut,
    summary="Cancel pending actions (an action being performed cannot be called back)",
)
def cancel_outbox(request: Request, who: CanEditMembers, body: OutboxIds) -> MovedOut:
    moved = move_as(request, who, "cancel", body.ids, body.community_id)
    return MovedOut(changed=len(moved), ids=[m.id for m in moved])
