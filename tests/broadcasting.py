"""What the broadcast tests share: a community's groups in the directory, tagged, and the
copies the outbox holds."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from sqlalchemy import insert, select

from shequn.app import App
from shequn.db.engine import WRITE
from shequn.features.broadcast.service import set_group_tags
from shequn.features.community.setup import CommunityRef
from shequn.models import Group, OutboxRow

_g = Group.__table__
_o = OutboxRow.__table__


def add_groups(
    app: App,
    community: CommunityRef,
    count: int,
    *,
    platform: str = "sim",
    tags: Sequence[str] = (),
    prefix: str = "g",
    start: int = 0,
) -> list[int]:
    """``count`` active groups ``{prefix}{i}`` (as the sim world names them), each with
    ``tags``; returns their ids."""
    now = app.clock.now()
    ids = []
    with app.engine.connect() as conn:
        conn.execution_options(**WRITE)
        with conn.begin():
            for i in range(start, start + count):
                gid = conn.execute(
                    insert(_g)
                    .values(
                        workspace_id=community.workspace_id,
                        community_id=community.community_id,
                        platform=platform,
                        external_id=f"{prefix}{i}",
                        name=f"群{i}",
                        created_at=now,
                    )
                    .returning(_g.c.id)
                ).scalar_one()
                if tags:
                    set_group_tags(conn, community.community_id, gid, tags, now=now)
                ids.append(gid)
    return ids


def copies(app: App, prefix: str = "broadcast:") -> Counter[str]:
    """Outbox rows per group, of broadcasts."""
    with app.engine.connect() as conn:
        refs = conn.execute(
            select(_o.c.group_ref).where(_o.c.idempotency_key.like(f"{prefix}%"))
        ).scalars()
        return Counter(refs)


def outbox(app: App) -> list:
    with app.engine.connect() as conn:
        return list(conn.execute(select(_o).order_by(_o.c.id)))
