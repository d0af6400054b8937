"""The event log, newest first, a page at a time: what happened in the groups, and who did it.

The log may hold tens of millions of rows, so a page is a keyset range on the
event id (never OFFSET, never a count of the table), read through the index
that narrows it: a member's events through their identities (``identity_id,
occurred_at``), a group's through ``group_id, occurred_at`` — ids only, then
just the page's rows. Any other filter (a type, a group and a type) reads the
newest ids backwards, at most ``SCAN`` ids per page, so a filter that matches
little or nothing costs one bounded stretch, not the whole log: the page then
comes back short, with a cursor to look further back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from shequn.core import EventType
from shequn.models import Community, EventRow, Group, Identity, Member

_e = EventRow.__table__
_c = Community.__table__
_g = Group.__table__
_i = Identity.__table__
_m = Member.__table__
#: Ids read backwards per page when no filter has an index of its own.
SCAN = 200_000
#: The longest text a feed item carries (pages show a glimpse; the API the same).
TEXT_LIMIT = 2_000
TYPES = tuple(t.value for t in EventType)


@dataclass(frozen=True, slots=True)
class EventFilter:
    """Which events to list; every field narrows, None means any."""

    group_id: int | None = None
    type: str | None = None
    member_id: int | None = None


@dataclass(frozen=True, slots=True)
class FeedItem:
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


@dataclass(frozen=True, slots=True)
class FeedPage:
    items: list[FeedItem]
    #: The id to continue below, or None when the log holds nothing older that matches.
    next_before: int | None


def _identities(conn: Connection, workspace_id: int, member_id: int) -> list[int]:
    """The member's identities (and those merged into them), in the workspace."""
    return list(
        conn.execute(
            select(_i.c.id).where(_i.c.workspace_id == workspace_id, _i.c.member_id == member_id)
        ).scalars()
    )


def _communities(conn: Connection, workspace_id: int) -> set[int]:
    return set(conn.execute(select(_c.c.id).where(_c.c.workspace_id == workspace_id)).scalars())


def feed(
    conn: Connection,
    workspace_id: int,
    community_ids: Sequence[int],
    wanted: EventFilter,
    *,
    before: int | None,
    limit: int,
) -> FeedPage:
    """Up to ``limit`` events of ``community_ids`` (all of the workspace's) matching
    ``wanted`` with ids below ``before`` (None: from the newest), newest first.

    Filters an index answers are left to that index alone: a group belongs to one
    community, and a member's identities to one workspace, so once the group or
    the member is known to be the workspace's, asking each event for its community
    again would only cost a row lookup per event.
    """
    allowed = set(community_ids) & _communities(conn, workspace_id)
    if not allowed:
        return FeedPage([], None)
    ids = select(_e.c.id)
    if before is not None:
        ids = ids.where(_e.c.id < before)
    if wanted.member_id is not None:
        identities = _identities(conn, workspace_id, wanted.member_id)
        if not identities:
            return FeedPage([], None)
        ids = ids.where(_e.c.identity_id.in_(identities))
        if allowed != _communities(conn, workspace_id):
            ids = ids.where(_e.c.community_id.in_(allowed))
        if wanted.group_id is not None:
            ids = ids.where(_e.c.group_id == wanted.group_id)
        if wanted.type is not None:
            ids = ids.where(_e.c.type == wanted.type)
        return _page(conn, ids, limit, None)
    if wanted.group_id is not None:
        group = conn.execute(select(_g.c.community_id).where(_g.c.id == wanted.group_id)).scalar()
        if group not in allowed:
            return FeedPage([], None)
        if wanted.type is None:
            return _page(conn, ids.where(_e.c.group_id == wanted.group_id), limit, None)
    # No index narrows enough: read the newest ids backwards, one bounded stretch.
    newest = conn.execute(select(func.max(_e.c.id))).scalar()
    if newest is None:
        return FeedPage([], None)
    top = newest + 1 if before is None else min(before, newest + 1)
    floor = max(0, top - SCAN)
    ids = ids.where(_e.c.id >= floor, _e.c.id < top, _e.c.community_id.in_(allowed))
    if wanted.group_id is not None:
        ids = ids.where(_e.c.group_id == wanted.group_id)
    if wanted.type is not None:
        ids = ids.where(_e.c.type == wanted.type)
    return _page(conn, ids, limit, floor)


def _page(conn: Connection, ids: Any, limit: int, floor: int | None) -> FeedPage:
    """The page of ``ids`` (newest first), and where the next one starts: below its last
    event when more matched, below the stretch ``floor`` when the stretch ran out."""
    found = list(conn.execute(ids.order_by(_e.c.id.desc()).limit(limit + 1)).scalars())
    page, more = found[:limit], len(found) > limit
    items = _items(conn, page)
    if more:
        return FeedPage(items, page[-1])
    if floor:
        return FeedPage(items, floor)
    return FeedPage(items, None)


def _items(conn: Connection, ids: list[int]) -> list[FeedItem]:
    if not ids:
        return []
    rows = conn.execute(
        select(
            _e.c.id,
            _e.c.occurred_at,
            _e.c.community_id,
            _e.c.group_id,
            _g.c.name.label("group_name"),
            _e.c.type,
            func.substr(_e.c.text, 1, TEXT_LIMIT).label("text"),
            _e.c.identity_id,
            _i.c.member_id,
            _m.c.display_name.label("member_name"),
            _i.c.display_name.label("identity_name"),
        )
        .select_from(
            _e.outerjoin(_g, _g.c.id == _e.c.group_id)
            .outerjoin(_i, _i.c.id == _e.c.identity_id)
            .outerjoin(_m, _m.c.id == _i.c.member_id)
        )
        .where(_e.c.id.in_(ids))
        .order_by(_e.c.id.desc())
    )
    return [
        FeedItem(
            r.id,
            r.occurred_at,
            r.community_id,
            r.group_id,
            r.group_name,
            r.type,
            r.text,
            r.identity_id,
            r.member_id,
            r.member_name or r.identity_name,
        )
        for r in rows
    ]
