"""``/api/v1/blacklist``: members removed from every group and platform of the workspace,
and refused when they try to join again.

Adding a member queues their removal (kick, then ban) from every group they sit in, on
each of their accounts; taking them off unbans them where the blacklist banned them.
Both are audited in the transaction that queues the actions, and adding someone twice
changes nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection

from shequn.features.audit.service import record
from shequn.features.community.members import resolve
from shequn.features.moderation import service as moderation
from shequn.features.operators.service import Principal
from shequn.web.api.bots import community_for, wake_dispatcher
from shequn.web.api.operators import NO_NUL, Storable
from shequn.web.auth import CanModerate, CanView, actor_of
from shequn.web.context import web_of
from shequn.web.errors import ERROR_RESPONSES, Invalid, NotFound
from shequn.web.paging import DEFAULT_LIMIT, MAX_LIMIT, Page, decode_cursor, encode_cursor

router = APIRouter(tags=["moderation"], responses=ERROR_RESPONSES)
MAX_ID = 2**31 - 1
MAX_REASON = 500
CommunityParam = Annotated[int | None, Query(ge=1, le=MAX_ID)]


class Account(BaseModel):
    platform: str
    external_id: str


class BlacklistOut(BaseModel):
    id: int
    member_id: int
    display_name: str
    accounts: list[Account]
    reason: str
    added_by: int | None = Field(description="The operator who added them")
    added_at: datetime


class BlacklistAdd(BaseModel):
    model_config = ConfigDict(extra="forbid")

    member_id: int = Field(ge=1, le=MAX_ID)
    reason: Annotated[str, Storable] = Field(default="", max_length=MAX_REASON, pattern=NO_NUL)
    community_id: int | None = Field(
        default=None, ge=1, le=MAX_ID, description="Defaults to the caller's current community"
    )


def blacklist_out(row: moderation.BlacklistRow) -> BlacklistOut:
    return BlacklistOut(
        id=row.id,
        member_id=row.member_id,
        display_name=row.display_name,
        accounts=[Account(platform=p, external_id=u) for p, u in row.accounts],
        reason=row.reason,
        added_by=row.added_by,
        added_at=row.added_at,
    )


def entry_of(conn: Connection, community_id: int, member_id: int) -> moderation.BlacklistRow | None:
    """The member's blacklist entry, if they are on it (a blacklist is hundreds of people
    at most; it is read a page at a time)."""
    before: int | None = None
    while True:
        rows = moderation.blacklist_entries(conn, community_id, before_id=before, limit=500)
        for row in rows:
            if row.member_id == member_id:
                return row
        if len(rows) < 500:
            return None
        before = rows[-1].id


def _member(conn: Connection, who: Principal, member_id: int) -> int:
    current = resolve(conn, who.workspace_id, member_id)
    if current is None:
        raise NotFound(f"no member {member_id}")
    return current


def add(
    request: Request, who: Principal, member_id: int, reason: str, community_id: int | None = None
) -> moderation.BlacklistRow:
    """Blacklist a member (the one they were merged into, if they were), audited; shared
    by the API and the pages. Adding someone already on the list changes nothing."""
    web = web_of(request)
    now = web.app.clock.now()
    with web.write() as conn:
        ref = community_for(conn, who, community_id)
        current = _member(conn, who, member_id)
        before = entry_of(conn, ref.community_id, current)
        if before is None:
            moderation.blacklist_add(
                conn,
                ref.community_id,
                current,
                reason=reason.strip(),
                operator_id=who.operator_id,
                now=now,
            )
        after = entry_of(conn, ref.community_id, current)
        if after is None:
            raise NotFound(f"no member {member_id}")
        if before is None:
            record(
                conn,
                actor_of(request, who),
                "blacklist.add",
                "member",
                current,
                after={"reason": after.reason, "entry": after.id},
                now=now,
            )
    if before is None:
        wake_dispatcher(web)
    return after


def take_off(
    request: Request, who: Principal, member_id: int, community_id: int | None = None
) -> moderation.BlacklistRow:
    """Take a member off the blacklist and unban them, audited; NotFound when they are
    not on it. Shared by the API and the pages."""
    web = web_of(request)
    now = web.app.clock.now()
    with web.write() as conn:
        ref = community_for(conn, who, community_id)
        current = _member(conn, who, member_id)
        before = entry_of(conn, ref.community_id, current)
        if before is None:
            raise NotFound(f"member {member_id} is not on the blacklist")
        moderation.blacklist_remove(
            conn, ref.community_id, current, operator_id=who.operator_id, now=now
        )
        record(
            conn,
            actor_of(request, who),
            "blacklist.remove",
            "member",
            current,
            before={"reason": before.reason, "entry": before.id},
            now=now,
        )
    wake_dispatcher(web)
    return before


def blacklist_cursor(cursor: str | None) -> int | None:
    key = decode_cursor(cursor, 1)
    if key is None:
        return None
    if type(key[0]) is not int or not 0 <= key[0] <= 2**63 - 1:
        raise Invalid("the cursor is not one this server gave out")
    return key[0]


@router.get("/blacklist", response_model=Page[BlacklistOut], summary="The blacklist, newest first")
def list_blacklist(
    request: Request,
    who: CanView,
    community_id: CommunityParam = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Page[BlacklistOut]:
    before = blacklist_cursor(cursor)
    with web_of(request).read() as conn:
        ref = community_for(conn, who, community_id)
        rows = moderation.blacklist_entries(
            conn, ref.community_id, before_id=before, limit=limit + 1
        )
    shown = rows[:limit]
    return Page[BlacklistOut](
        items=[blacklist_out(r) for r in shown],
        next_cursor=encode_cursor([shown[-1].id]) if len(rows) > limit and shown else None,
    )


@router.post(
    "/blacklist",
    response_model=BlacklistOut,
    status_code=201,
    summary="Blacklist a member and remove them from every group",
)
def add_to_blacklist(request: Request, who: CanModerate, body: BlacklistAdd) -> BlacklistOut:
    """A member merged into another is blacklisted as that other one; adding a member
    who is on the list already answers their entry as it is."""
    return blacklist_out(add(request, who, body.member_id, body.reason, body.community_id))


@router.delete(
    "/blacklist/{member_id}",
    response_model=BlacklistOut,
    summary="Take a member off the blacklist and unban them",
)
def remove_from_blacklist(
    request: Request,
    who: CanModerate,
    member_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    community_id: CommunityParam = None,
) -> BlacklistOut:
    """Answers the entry as it was; 404 when the member is not on the blacklist."""
    return blacklist_out(take_off(request, who, member_id, community_id))
