"""Merging two members who turn out to be one person.

Events point at identities, not members, so a merge moves identities and never
rewrites the event log; the merged member's row stays, marked, so the merge can
be shown and undone later.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, delete, select, update

from shequn.features.analytics.rollup.merge import fold_member
from shequn.features.community.membership.logic import Seat, combine
from shequn.features.community.membership.processor import new_roster_version
from shequn.models import Group, Identity, Member, Membership, MemberTag, Workspace

_member = Member.__table__
_identity = Identity.__table__
_m = Membership.__table__
_tag = MemberTag.__table__
_workspace = Workspace.__table__
_g = Group.__table__
_SEAT = ("number", "role", "joined_at", "left_at", "title", "card_name", "entry_source")


class MergeError(ValueError):
    """Two members that cannot be merged (the message says why)."""


@dataclass(frozen=True, slots=True)
class MergeResult:
    kept: int
    merged: int
    identities_moved: int
    memberships_moved: int
    memberships_combined: int


def _seats(conn: Connection, member_id: int) -> dict[int, tuple[int, Seat]]:
    rows = conn.execute(
        select(_m.c.id, _m.c.group_id, *(_m.c[c] for c in _SEAT)).where(_m.c.member_id == member_id)
    )
    return {r.group_id: (r.id, Seat(**{c: getattr(r, c) for c in _SEAT})) for r in rows}


def merge_members(conn: Connection, keep: int, merge: int) -> MergeResult:
    """Fold member ``merge`` into member ``keep`` inside the caller's transaction."""
    if keep == merge:
        raise MergeError("a member cannot be merged into itself")
    rows = {
        r.id: r
        for r in conn.execute(
            select(_member.c.id, _member.c.workspace_id, _member.c.merged_into_id).where(
                _member.c.id.in_([keep, merge])
            )
        )
    }
    for mid in (keep, merge):
        if mid not in rows:
            raise MergeError(f"member {mid} does not exist")
        if rows[mid].merged_into_id is not None:
            raise MergeError(f"member {mid} was already merged into {rows[mid].merged_into_id}")
    if rows[keep].workspace_id != rows[merge].workspace_id:
        raise MergeError("members of different workspaces cannot be merged")

    moved = conn.execute(
        update(_identity).where(_identity.c.member_id == merge).values(member_id=keep)
    ).rowcount

    kept_seats, merged_seats = _seats(conn, keep), _seats(conn, merge)
    reassigned = combined = 0
    for group_id, (row_id, seat) in merged_seats.items():
        if group_id not in kept_seats:
            conn.execute(update(_m).where(_m.c.id == row_id).values(member_id=keep))
            reassigned += 1
            continue
        keep_row, keep_seat = kept_seats[group_id]
        together = combine(keep_seat, seat)
        conn.execute(delete(_m).where(_m.c.id == row_id))
        conn.execute(
            update(_m).where(_m.c.id == keep_row).values({c: getattr(together, c) for c in _SEAT})
        )
        combined += 1

    fold_member(conn, keep, merge)

    kept_tags = set(conn.execute(select(_tag.c.tag_id).where(_tag.c.member_id == keep)).scalars())
    conn.execute(
        update(_tag)
        .where(_tag.c.member_id == merge)
        .where(_tag.c.tag_id.not_in(kept_tags) if kept_tags else _tag.c.member_id == merge)
        .values(member_id=keep)
    )
    conn.execute(delete(_tag).where(_tag.c.member_id == merge))
    conn.execute(
        update(_member).where(_member.c.merged_into_id == merge).values(merged_into_id=keep)
    )
    conn.execute(update(_member).where(_member.c.id == merge).values(merged_into_id=keep))
    groups = sorted(set(kept_seats) | set(merged_seats))
    if groups:
        conn.execute(
            update(_g).where(_g.c.id == bindparam("gid")).values(roster_version=bindparam("ver")),
            [{"gid": g, "ver": new_roster_version()} for g in groups],
        )
    conn.execute(
        update(_workspace)
        .where(_workspace.c.id == rows[keep].workspace_id)
        .values(members_version=_workspace.c.members_version + 1)
    )
    return MergeResult(keep, merge, moved, reassigned, combined)
