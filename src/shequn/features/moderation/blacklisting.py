"""The community blacklist, as operators keep it: add, remove, list.

The blacklist is shared by every community of a workspace and every platform: adding a
member queues their removal (a kick, then a ban, so that platforms without bans still see
them go) from every group they sit in, on each of their accounts, each action routed
through the group's own community; the processor then keeps them out of the groups they
try again (``processor``). Removing them unbans them wherever the blacklist banned them.
Nothing here commits; keys name the blacklist entry, so repeating a request adds nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from shequn.core import Action, ActionType
from shequn.features.moderation import Seat, Wording, blacklist_removals, undo_plan
from shequn.features.moderation.errors import EntryNotFound, UnknownMember
from shequn.features.moderation.processor import BLACKLIST_KIND
from shequn.features.moderation.store import (
    bounded_key,
    insert_log,
    log_row,
    open_seats,
    page_size,
    workspaces,
)
from shequn.features.outbox import Pending, enqueue
from shequn.models import BlacklistEntry, Community, Identity, Member, ModerationEntry

_log = ModerationEntry.__table__
_black = BlacklistEntry.__table__
_member = Member.__table__
_id = Identity.__table__
_community = Community.__table__


@dataclass(frozen=True, slots=True)
class BlacklistRow:
    """One blacklisted member and their accounts."""

    id: int
    member_id: int
    display_name: str
    accounts: tuple[tuple[str, str], ...]
    reason: str
    added_by: int | None
    added_at: datetime


def _workspace(conn: Connection, community_id: int) -> int:
    found = workspaces(conn, [community_id])
    if community_id not in found:
        raise EntryNotFound(f"no community {community_id}")
    return found[community_id]


def _surviving(conn: Connection, workspace_id: int, member_id: int) -> int:
    """The member as they are now: a member merged into another is that other one."""
    seen: set[int] = set()
    current = member_id
    while current not in seen:
        seen.add(current)
        row = conn.execute(
            select(_member.c.id, _member.c.merged_into_id).where(
                _member.c.id == current, _member.c.workspace_id == workspace_id
            )
        ).first()
        if row is None:
            raise UnknownMember(f"no member {member_id} in this community's workspace")
        if row.merged_into_id is None:
            return current
        current = row.merged_into_id
    return current


def blacklist_add(
    conn: Connection,
    community_id: int,
    member_id: int,
    *,
    reason: str,
    operator_id: int | None,
    now: datetime,
) -> int:
    """Blacklist a member across the workspace and remove them (kick, then ban) from every
    group they sit in, on each of their accounts; returns the blacklist entry's id.

    Idempotent: adding a blacklisted member again returns the same entry and queues no
    new removals. Each community's removals are logged (kind ``blacklist``) so they show
    in that community's log and are reversed by ``blacklist_remove``.
    """
    workspace_id = _workspace(conn, community_id)
    member_id = _surviving(conn, workspace_id, member_id)
    dialect_insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    added = conn.execute(
        dialect_insert(_black)
        .values(
            workspace_id=workspace_id,
            member_id=member_id,
            reason=reason,
            added_by=operator_id,
            added_at=now,
        )
        .on_conflict_do_nothing(index_elements=["workspace_id", "member_id"])
        .returning(_black.c.id)
    ).scalar()
    if added is None:  # blacklisted already (perhaps by a concurrent request)
        return int(
            conn.execute(
                select(_black.c.id).where(
                    _black.c.workspace_id == workspace_id, _black.c.member_id == member_id
                )
            ).scalar_one()
        )
    entry_id = int(added)
    placed = open_seats(conn, [member_id], workspace_id=workspace_id).get(member_id, [])
    by_community: dict[int, list[tuple[int, Seat]]] = {}
    for p in placed:
        by_community.setdefault(p.community_id, []).append((p.group_id, p.seat))
    said = Wording(
        f"added to the blacklist: {reason}" if reason else "added to the blacklist",
        f"被加入黑名单：{reason}" if reason else "被加入黑名单",
    )
    pending: list[Pending] = []
    for cid, seats in sorted(by_community.items()):
        actions: list[Action] = []
        for _, seat in seats:
            actions += blacklist_removals([seat], ban=False)
            actions += blacklist_removals([seat], ban=True)
        keyed = [a.with_key(f"blacklist:{entry_id}:{cid}:{n}") for n, a in enumerate(actions)]
        pending += [Pending(a, cid) for a in keyed]
        first = seats[0][1]
        insert_log(
            conn,
            [
                log_row(
                    community_id=cid,
                    group_id=seats[0][0] if len({g for g, _ in seats}) == 1 else None,
                    member_id=member_id,
                    platform=first.platform,
                    user=first.user,
                    rule_id=None,
                    rule_name="blacklist",
                    kind=BLACKLIST_KIND,
                    matched=f"member:{member_id}",
                    reason=said,
                    actions=keyed,
                    warning=False,
                    at=now,
                )
            ],
        )
    enqueue(conn, pending, now=now)
    return entry_id


def blacklist_remove(
    conn: Connection, community_id: int, member_id: int, *, operator_id: int | None, now: datetime
) -> None:
    """Take a member off the blacklist and unban them wherever the blacklist banned them
    (the blacklist's log entries, in every community of the workspace, are marked undone).
    A member who is not blacklisted is left as they are."""
    workspace_id = _workspace(conn, community_id)
    member_id = _surviving(conn, workspace_id, member_id)
    entry_id = conn.execute(
        select(_black.c.id).where(
            _black.c.workspace_id == workspace_id, _black.c.member_id == member_id
        )
    ).scalar()
    if entry_id is None:
        return
    conn.execute(delete(_black).where(_black.c.id == entry_id))
    cids = list(
        conn.execute(
            select(_community.c.id).where(_community.c.workspace_id == workspace_id)
        ).scalars()
    )
    rows = conn.execute(
        select(_log)
        .where(
            _log.c.community_id.in_(cids),
            _log.c.member_id == member_id,
            _log.c.kind == BLACKLIST_KIND,
            _log.c.undone_at.is_(None),
        )
        .order_by(_log.c.id)
    ).all()
    unbans: dict[tuple[int, str | None, str | None, str | None], Pending] = {}
    for row in rows:
        plan = undo_plan(a for a in _actions(row) if a.type is ActionType.BAN)
        for action in plan.actions:
            where = (row.community_id, action.platform, action.group, action.user)
            key = bounded_key(f"unblacklist:{entry_id}:" + ":".join(map(str, where)))
            unbans.setdefault(where, Pending(action.with_key(key), row.community_id))
    if rows:
        conn.execute(
            update(_log)
            .where(_log.c.id.in_([r.id for r in rows]))
            .values(undone_at=now, undone_by=operator_id)
        )
    enqueue(conn, list(unbans.values()), now=now)


def blacklist_entries(
    conn: Connection, community_id: int, *, before_id: int | None = None, limit: int = 50
) -> list[BlacklistRow]:
    """The workspace's blacklist as this community sees it, newest first."""
    workspace_id = _workspace(conn, community_id)
    query = (
        select(_black, _member.c.display_name)
        .join(_member, _member.c.id == _black.c.member_id)
        .where(_black.c.workspace_id == workspace_id)
    )
    if before_id is not None:
        query = query.where(_black.c.id < before_id)
    rows = conn.execute(query.order_by(_black.c.id.desc()).limit(page_size(limit))).all()
    accounts: dict[int, list[tuple[str, str]]] = {}
    if rows:
        for mid, platform, user in conn.execute(
            select(_id.c.member_id, _id.c.platform, _id.c.external_id)
            .where(_id.c.member_id.in_([r.member_id for r in rows]))
            .order_by(_id.c.id)
        ):
            accounts.setdefault(mid, []).append((platform, user))
    return [
        BlacklistRow(
            id=row.id,
            member_id=row.member_id,
            display_name=row.display_name,
            accounts=tuple(accounts.get(row.member_id, [])),
            reason=row.reason,
            added_by=row.added_by,
            added_at=row.added_at,
        )
        for row in rows
    ]


def _actions(row: Any) -> list[Action]:
    return [Action.from_dict(a) for a in row.actions or []]


__all__ = [
    "BlacklistRow",
    "blacklist_add",
    "blacklist_entries",
    "blacklist_remove",
]
