"""Counts counted once and kept until a write could change them.

Some figures cost a scan to count and change rarely: distinct speakers (someone
who speaks on Monday and Tuesday is one speaker of the week, so the rollups cannot
keep them as sums), the seats of a group, the people present across a community,
the leaders' messages of a week. Readers count what is missing and ``remember``
it; two mechanisms keep what is remembered equal to a fresh recount:

- **forgetting**: the rollup processor, merges, unmerges and rebuilds ``forget``
  the counts their writes could change (the group-weeks and days they touched);
- **stamps**: a count that depends on rosters is remembered with a stamp made from
  the groups' ``roster_version``, which every seat write renews (the membership
  processor, merges, unmerges, operators' edits). ``recall`` with the current
  stamps finds only counts made from the current rosters, so no seat-writing path
  has to know these counts exist.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import date

from sqlalchemy import Connection, and_, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from shequn.models import KeptCount

GROUP_WEEK = "group_week"  # distinct speakers; scope: a group; period: a local week's Monday
COMMUNITY_DAY = "community_day"  # distinct speakers; scope: a community; period: a local day
LEADER_WEEK = "leader_week"  # leaders' messages; scope: a group; period: a week; stamped
SEATS_NOW = "seats_now"  # seats held now; scope: a group; stamped
SEATS_AT = "seats_at"  # seats held at a range's end; scope: a group; stamped with the end
PRESENT = "present"  # distinct people present at a range's end; scope: a community; stamped

#: The period of counts that have none (seats now, people present).
TIMELESS = date(1970, 1, 1)
_k = KeptCount.__table__
_CHUNK = 500

Key = tuple[int, date]


def stamp_of(*parts: object) -> int:
    """A stamp from anything a count depends on (roster versions, a range's end): 63
    bits of its SHA-256, so it fits a signed BIGINT."""
    digest = hashlib.sha256(repr(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def recall(
    conn: Connection,
    kind: str,
    keys: Iterable[Key],
    stamps: Mapping[int, int] | None = None,
) -> dict[Key, int]:
    """The kept counts among ``keys`` (scope id, period); with ``stamps`` (scope id →
    stamp), only those remembered with the scope's current stamp."""
    wanted = set(keys)
    scopes = sorted({s for s, _ in wanted})
    periods = sorted({p for _, p in wanted})
    found: dict[Key, int] = {}
    # Scopes and periods as two plain lists (a superset of the keys, filtered here):
    # far cheaper to bind than one list of pairs, and each is an index range.
    for start in range(0, len(scopes), _CHUNK):
        rows = conn.execute(
            select(_k.c.scope_id, _k.c.period, _k.c.value, _k.c.stamp).where(
                _k.c.kind == kind,
                _k.c.scope_id.in_(scopes[start : start + _CHUNK]),
                _k.c.period.in_(periods),
            )
        )
        for scope_id, period, value, stamp in rows:
            key = (scope_id, period)
            if key in wanted and (stamps is None or stamps.get(scope_id, 0) == stamp):
                found[key] = value
    return found


def remember(
    conn: Connection,
    kind: str,
    counts: Mapping[Key, int],
    stamps: Mapping[int, int] | None = None,
) -> None:
    """Keep fresh counts, replacing any kept under an older stamp (a count another
    reader kept meanwhile under the same stamp is the same count)."""
    if not counts:
        return
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    rows = [
        {
            "kind": kind,
            "scope_id": s,
            "period": p,
            "value": n,
            "stamp": (stamps or {}).get(s, 0),
        }
        for (s, p), n in sorted(counts.items())
    ]
    stmt = insert(_k)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["kind", "scope_id", "period"],
            set_={"value": stmt.excluded.value, "stamp": stmt.excluded.stamp},
        ),
        rows,
    )


def forget(conn: Connection, kind: str, scope_ids: Iterable[int], periods: Iterable[date]) -> None:
    """Drop the counts of these scopes in these periods (a superset of what changed is fine)."""
    scopes, days = sorted(set(scope_ids)), sorted(set(periods))
    if scopes and days:
        conn.execute(
            delete(_k).where(
                and_(_k.c.kind == kind, _k.c.scope_id.in_(scopes), _k.c.period.in_(days))
            )
        )


def forget_everything(conn: Connection) -> None:
    """After a merge, an unmerge or a rebuild: recounting on the next read is cheap
    next to working out which periods the moved rows touched."""
    conn.execute(delete(_k))
