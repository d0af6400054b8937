"""Moving one member's activity onto another when two members are merged."""

from __future__ import annotations

from sqlalchemy import Connection, delete, select

from shequn.db.bulk import upsert
from shequn.features.analytics import kept
from shequn.models import MemberDay, MemberGroup

_md = MemberDay.__table__
_mg = MemberGroup.__table__


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
    kept.forget_everything(conn)
