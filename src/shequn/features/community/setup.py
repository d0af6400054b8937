"""Finding or creating the workspace and community everything else hangs from."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert, select

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
