"""Map platform ids to shequn's groups and identities, creating what is new.

Nothing is cached between batches: a merge done by another process changes
which member an identity belongs to, and the next batch must see it. One query
per batch per platform costs little next to the events themselves.

Creation is race-free on PostgreSQL: a process about to create groups or
identities first takes a transaction-scoped advisory lock for the workspace
and looks again, so two importers meeting the same newcomer create them once.
The lock is only taken when something is new, which in steady state is rare.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, bindparam, func, select, update

from shequn.db.bulk import insert_rows, reserve_ids, rows_for_keys
from shequn.models import Group, Identity, Member, Workspace

_group = Group.__table__
_identity = Identity.__table__
_member = Member.__table__
_workspace = Workspace.__table__
#: First key of the advisory lock that guards creating groups and identities.
_CREATION_LOCK = 0x5E0_0001

Key = tuple[str, str]


@dataclass(frozen=True, slots=True)
class GroupRef:
    id: int
    community_id: int


@dataclass(frozen=True, slots=True)
class IdentityRef:
    id: int
    member_id: int


def _by_platform(keys: Iterable[Key]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for platform, ext in keys:
        out[platform].append(ext)
    return out


def _lock_for_creation(conn: Connection, workspace_id: int) -> bool:
    """Serialise creators within a workspace (PostgreSQL); True if a lock was taken."""
    if conn.dialect.name != "postgresql":
        return False  # SQLite: the batch already holds the only write lock
    conn.execute(select(func.pg_advisory_xact_lock(_CREATION_LOCK, workspace_id)))
    return True


def _find(
    conn: Connection,
    table: Table,
    ref: Callable[[int, int], Any],
    columns: tuple[str, str],
    workspace_id: int,
    keys: Iterable[Key],
) -> dict[Key, tuple[Any, str]]:
    """Rows of ``table`` for each (platform, external id): ``ref(id, other)`` and the name.

    ``columns`` names the table's second id column and its name column.
    """
    other, name = (table.c[c] for c in columns)
    found: dict[Key, tuple[Any, str]] = {}
    for platform, externals in _by_platform(keys).items():
        rows = rows_for_keys(
            conn,
            [table.c.id, other, table.c.external_id, name],
            [table.c.workspace_id == workspace_id, table.c.platform == platform],
            table.c.external_id,
            externals,
        )
        for row_id, other_id, ext, row_name in rows:
            found[(platform, ext)] = (ref(row_id, other_id), row_name)
    return found


def _find_groups(
    conn: Connection, workspace_id: int, keys: Iterable[Key]
) -> dict[Key, tuple[GroupRef, str]]:
    return _find(conn, _group, GroupRef, ("community_id", "name"), workspace_id, keys)


def _find_identities(
    conn: Connection, workspace_id: int, keys: Iterable[Key]
) -> dict[Key, tuple[IdentityRef, str]]:
    return _find(conn, _identity, IdentityRef, ("member_id", "display_name"), workspace_id, keys)


def _still_missing(
    conn: Connection,
    workspace_id: int,
    missing: list[Key],
    found: dict[Key, Any],
    find: Callable[[Connection, int, Iterable[Key]], dict[Key, Any]],
) -> list[Key]:
    """After taking the creation lock, look again: another process may have created some.

    Sorted, so concurrent creators insert in the same order and never deadlock.
    """
    if missing and _lock_for_creation(conn, workspace_id):
        found.update(find(conn, workspace_id, missing))
        missing = [k for k in missing if k not in found]
    return sorted(missing)


class Directory:
    """Resolves platform ids for one ingestor, remembering what it has resolved.

    The memory is only a shortcut: it is trusted while the workspace's
    ``members_version`` (bumped by every merge and unmerge, the only changes to
    which member an identity belongs to) is what it was, and it learns only
    from committed transactions. On PostgreSQL the version row is read
    ``FOR SHARE``, so a merge waits for the batches that read the old version.
    """

    def __init__(self, workspace_id: int) -> None:
        self.workspace_id = workspace_id
        self._version: int | None = None
        self._groups: dict[Key, tuple[GroupRef, str]] = {}
        self._identities: dict[Key, tuple[IdentityRef, str]] = {}
        self._pending_groups: dict[Key, tuple[GroupRef, str]] = {}
        self._pending_identities: dict[Key, tuple[IdentityRef, str]] = {}

    def begin(self, conn: Connection) -> None:
        """Start a batch: forget everything if members were merged since the last one."""
        self._pending_groups, self._pending_identities = {}, {}
        version = conn.execute(
            select(_workspace.c.members_version)
            .where(_workspace.c.id == self.workspace_id)
            .with_for_update(read=True)
        ).scalar_one()
        if version != self._version:
            self._groups.clear()
            self._identities.clear()
            self._version = version

    def committed(self) -> None:
        """The batch's transaction committed: what it resolved is now safe to remember."""
        self._groups.update(self._pending_groups)
        self._identities.update(self._pending_identities)
        self._pending_groups, self._pending_identities = {}, {}

    def groups(
        self,
        conn: Connection,
        *,
        community_id: int,
        wanted: Mapping[Key, str | None],
        now: datetime,
    ) -> dict[Key, GroupRef]:
        """Find or create a group for each (platform, external id); ``wanted`` maps to a name."""
        ws = self.workspace_id
        found = {k: self._groups[k] for k in wanted if k in self._groups}
        found.update(_find_groups(conn, ws, [k for k in wanted if k not in found]))
        missing = _still_missing(
            conn, ws, [k for k in wanted if k not in found], found, _find_groups
        )
        unnamed = {key: ref for key, (ref, name) in found.items() if not name and wanted[key]}
        if unnamed:
            conn.execute(
                update(_group)
                .where(_group.c.id == bindparam("gid"))
                .values(name=bindparam("new_name")),
                [{"gid": ref.id, "new_name": wanted[key]} for key, ref in unnamed.items()],
            )
            found.update((key, (ref, wanted[key] or "")) for key, ref in unnamed.items())
        if missing:
            ids = reserve_ids(conn, _group, len(missing))
            insert_rows(conn, _group, _new_groups(missing, ids, wanted, ws, community_id, now))
            found.update(
                (key, (GroupRef(gid, community_id), wanted[key] or ""))
                for key, gid in zip(missing, ids, strict=True)
            )
        self._pending_groups.update(found)
        return {key: ref for key, (ref, _name) in found.items()}

    def identities(
        self,
        conn: Connection,
        *,
        wanted: Mapping[Key, str | None],
        now: datetime,
    ) -> dict[Key, IdentityRef]:
        """Find or create an identity (and, for a new one, its member) for each account."""
        ws = self.workspace_id
        found = {k: self._identities[k] for k in wanted if k in self._identities}
        found.update(_find_identities(conn, ws, [k for k in wanted if k not in found]))
        missing = _still_missing(
            conn, ws, [k for k in wanted if k not in found], found, _find_identities
        )
        renamed = {
            key: ref for key, (ref, name) in found.items() if wanted[key] and wanted[key] != name
        }
        if renamed:
            conn.execute(
                update(_identity)
                .where(_identity.c.id == bindparam("iid"))
                .values(display_name=bindparam("new_name")),
                [{"iid": ref.id, "new_name": wanted[key]} for key, ref in renamed.items()],
            )
            found.update((key, (ref, wanted[key] or "")) for key, ref in renamed.items())
        if missing:
            found.update(_create_identities(conn, ws, missing, wanted, now))
        self._pending_identities.update(found)
        return {key: ref for key, (ref, _name) in found.items()}


def _new_groups(
    keys: Sequence[Key],
    ids: Sequence[int],
    wanted: Mapping[Key, str | None],
    workspace_id: int,
    community_id: int,
    now: datetime,
) -> list[dict[str, Any]]:
    return [
        {
            "id": gid,
            "workspace_id": workspace_id,
            "community_id": community_id,
            "platform": platform,
            "external_id": ext,
            "name": wanted[(platform, ext)] or "",
            "status": "active",
            "next_number": 1,
            "roster_version": 0,
            "created_at": now,
        }
        for (platform, ext), gid in zip(keys, ids, strict=True)
    ]


def _create_identities(
    conn: Connection,
    workspace_id: int,
    missing: Sequence[Key],
    wanted: Mapping[Key, str | None],
    now: datetime,
) -> dict[Key, tuple[IdentityRef, str]]:
    """New identities, each with a member of its own."""
    member_ids = reserve_ids(conn, _member, len(missing))
    identity_ids = reserve_ids(conn, _identity, len(missing))
    insert_rows(
        conn,
        _member,
        [
            {
                "id": mid,
                "workspace_id": workspace_id,
                "display_name": wanted[k] or k[1],
                "created_at": now,
            }
            for k, mid in zip(missing, member_ids, strict=True)
        ],
    )
    insert_rows(
        conn,
        _identity,
        [
            {
                "id": iid,
                "workspace_id": workspace_id,
                "member_id": mid,
                "origin_member_id": mid,
                "platform": platform,
                "external_id": ext,
                "display_name": wanted[(platform, ext)] or "",
                "created_at": now,
            }
            for (platform, ext), mid, iid in zip(missing, member_ids, identity_ids, strict=True)
        ],
    )
    return {
        key: (IdentityRef(iid, mid), wanted[key] or "")
        for key, mid, iid in zip(missing, member_ids, identity_ids, strict=True)
    }
