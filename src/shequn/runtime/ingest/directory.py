"""Map platform ids to shequn's groups and identities, creating what is new.

Nothing is cached between batches: a merge done by another process changes
which member an identity belongs to, and the next batch must see it. One query
per batch per platform costs little next to the events themselves.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update

from shequn.db.bulk import one_of, reserve_ids
from shequn.models import Group, Identity, Member

_group = Group.__table__
_identity = Identity.__table__
_member = Member.__table__


def _by_platform(keys: Mapping[tuple[str, str], Any]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for platform, ext in keys:
        out[platform].append(ext)
    return out


@dataclass(frozen=True, slots=True)
class GroupRef:
    id: int
    community_id: int


@dataclass(frozen=True, slots=True)
class IdentityRef:
    id: int
    member_id: int


def resolve_groups(
    conn: Connection,
    *,
    workspace_id: int,
    community_id: int,
    wanted: Mapping[tuple[str, str], str | None],
    now: datetime,
) -> dict[tuple[str, str], GroupRef]:
    """Find or create a group for each (platform, external id); ``wanted`` maps to a name."""
    found: dict[tuple[str, str], GroupRef] = {}
    unnamed: list[dict[str, Any]] = []
    dialect = conn.dialect.name
    for platform, externals in _by_platform(wanted).items():
        rows = conn.execute(
            select(_group.c.id, _group.c.community_id, _group.c.external_id, _group.c.name)
            .where(_group.c.workspace_id == workspace_id)
            .where(_group.c.platform == platform)
            .where(one_of(dialect, _group.c.external_id, externals))
        )
        for gid, cid, ext, name in rows:
            found[(platform, ext)] = GroupRef(gid, cid)
            new_name = wanted[(platform, ext)]
            if not name and new_name:
                unnamed.append({"gid": gid, "new_name": new_name})
    if unnamed:
        conn.execute(
            update(_group)
            .where(_group.c.id == bindparam("gid"))
            .values(name=bindparam("new_name")),
            unnamed,
        )
    missing = [k for k in wanted if k not in found]
    if missing:
        ids = reserve_ids(conn, _group, len(missing))
        conn.execute(
            insert(_group),
            [
                {
                    "id": gid,
                    "workspace_id": workspace_id,
                    "community_id": community_id,
                    "platform": platform,
                    "external_id": ext,
                    "name": wanted[(platform, ext)] or "",
                    "status": "active",
                    "next_number": 1,
                    "created_at": now,
                }
                for (platform, ext), gid in zip(missing, ids, strict=True)
            ],
        )
        for key, gid in zip(missing, ids, strict=True):
            found[key] = GroupRef(gid, community_id)
    return found


def resolve_identities(
    conn: Connection,
    *,
    workspace_id: int,
    wanted: Mapping[tuple[str, str], str | None],
    now: datetime,
) -> dict[tuple[str, str], IdentityRef]:
    """Find or create an identity (and, for a new one, its member) for each account."""
    found: dict[tuple[str, str], IdentityRef] = {}
    renamed: list[dict[str, Any]] = []
    dialect = conn.dialect.name
    for platform, externals in _by_platform(wanted).items():
        rows = conn.execute(
            select(
                _identity.c.id,
                _identity.c.member_id,
                _identity.c.external_id,
                _identity.c.display_name,
            )
            .where(_identity.c.workspace_id == workspace_id)
            .where(_identity.c.platform == platform)
            .where(one_of(dialect, _identity.c.external_id, externals))
        )
        for iid, mid, ext, name in rows:
            found[(platform, ext)] = IdentityRef(iid, mid)
            new_name = wanted[(platform, ext)]
            if new_name and new_name != name:
                renamed.append({"iid": iid, "new_name": new_name})
    if renamed:
        conn.execute(
            update(_identity)
            .where(_identity.c.id == bindparam("iid"))
            .values(display_name=bindparam("new_name")),
            renamed,
        )
    missing = [k for k in wanted if k not in found]
    if missing:
        member_ids = reserve_ids(conn, _member, len(missing))
        identity_ids = reserve_ids(conn, _identity, len(missing))
        conn.execute(
            insert(_member),
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
        conn.execute(
            insert(_identity),
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
        for key, mid, iid in zip(missing, member_ids, identity_ids, strict=True):
            found[key] = IdentityRef(iid, mid)
    return found
