"""Moving one member's activity onto another when two members are merged."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, delete, func, insert, select

from shequn.db.bulk import upsert
from shequn.features.analytics import kept
from shequn.models import Group, MemberCommunity, MemberDay, MemberGroup

_md = MemberDay.__table__
_mg = MemberGroup.__table__
_mc = MemberCommunity.__table__
_g = Group.__table__


def fold_member(conn: Connection, keep: int, merge: int) -> None:
    """Add member ``merge``'s day and group activity to member ``keep``'s, then drop it.

    The rollups are keyed by member so that speakers are counted once per
    person; after a merge, the two records of one person are summed.
    """
    days = [
        dict(r._mapping) | {"member_id": keep}
        for r in conn.execute(select(_md).where(_md.c.member_id == merge))
    ]
    upsert(conn, _md, days, ("group_id", "day", "member_id"), add=("messages",))
    conn.execute(delete(_md).where(_md.c.member_id == merge))
    groups = [
        dict(r._mapping) | {"member_id": keep}
        for r in conn.execute(select(_mg).where(_mg.c.member_id == merge))
    ]
    upsert(
        conn,
        _mg,
        groups,
        ("group_id", "member_id"),
        add=("messages",),
        least=("first_message_at",),
        greatest=("last_message_at",),
    )
    conn.execute(delete(_mg).where(_mg.c.member_id == merge))
    anywhere = [
        dict(r._mapping) | {"member_id": keep}
        for r in conn.execute(select(_mc).where(_mc.c.member_id == merge))
    ]
    upsert(
        conn,
        _mc,
        anywhere,
        ("community_id", "member_id"),
        least=("first_message_at",),
        greatest=("last_message_at",),
    )
    conn.execute(delete(_mc).where(_mc.c.member_id == merge))
    kept.forget_everything(conn)


def refresh_member_community(conn: Connection, members: Sequence[int]) -> None:
    """Recount these members' community-wide first and last messages from their rows per
    group (after an unmerge has recounted those)."""
    if not members:
        return
    conn.execute(delete(_mc).where(_mc.c.member_id.in_(members)))
    conn.execute(
        insert(_mc).from_select(
            ["community_id", "member_id", "first_message_at", "last_message_at"],
            select(
                _g.c.community_id,
                _mg.c.member_id,
                func.min(_mg.c.first_message_at),
                func.max(_mg.c.last_message_at),
            )
            .join(_g, _g.c.id == _mg.c.group_id)
            .where(_mg.c.member_id.in_(members))
            .group_by(_g.c.community_id, _mg.c.member_id),
        )
    )
