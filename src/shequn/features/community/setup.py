"""Finding or creating the workspace and community everything else hangs from."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert, select, update

from shequn.kit.timeutil import DEFAULT_TIMEZONE, zone
from shequn.models import Community, Workspace

DEFAULT_WORKSPACE = "default"

_ws = Workspace.__table__
_community = Community.__table__


@dataclass(frozen=True, slots=True)
class CommunityRef:
    workspace_id: int
    community_id: int
    name: str
    timezone: str


def ensure_community(
    conn: Connection,
    name: str,
    *,
    now: datetime,
    timezone: str = DEFAULT_TIMEZONE,
    workspace: str = DEFAULT_WORKSPACE,
) -> CommunityRef:
    """Return the named community, creating it (and its workspace) on first use."""
    zone(timezone)
    ws_id = conn.execute(select(_ws.c.id).where(_ws.c.name == workspace)).scalar()
    if ws_id is None:
        ws_id = conn.execute(
            insert(_ws).values(name=workspace, created_at=now).returning(_ws.c.id)
        ).scalar_one()
    row = conn.execute(
        select(_community.c.id, _community.c.timezone)
        .where(_community.c.workspace_id == ws_id)
        .where(_community.c.name == name)
    ).first()
    if row is not None:
        return CommunityRef(ws_id, row.id, name, row.timezone)
    cid = conn.execute(
        insert(_community)
        .values(workspace_id=ws_id, name=name, timezone=timezone, profile={}, created_at=now)
        .returning(_community.c.id)
    ).scalar_one()
    return CommunityRef(ws_id, cid, name, timezone)


def communities_of(conn: Connection, workspace_id: int) -> list[CommunityRef]:
    rows = conn.execute(
        select(_community.c.id, _community.c.name, _community.c.timezone)
        .where(_community.c.workspace_id == workspace_id)
        .order_by(_community.c.id)
    )
    return [CommunityRef(workspace_id, r.id, r.name, r.timezone) for r in rows]


def pick_community(choices: list[CommunityRef], wanted: int | None) -> CommunityRef | None:
    """The wanted community if it is one of ``choices``, else the first."""
    for ref in choices:
        if ref.community_id == wanted:
            return ref
    return choices[0] if choices else None


def set_timezone(conn: Connection, community_id: int, timezone: str) -> None:
    """Change the zone that days, weeks and times of the community are read in."""
    zone(timezone)
    conn.execute(
        update(_community).where(_community.c.id == community_id).values(timezone=timezone)
    )
