"""Distinct speaker counts, counted once and kept until a write could change them.

Distinct counts do not add up (someone who speaks on Monday and Tuesday is one
speaker of the week), so the rollups cannot keep them as counters. Readers count
what is missing from the member-day rows and ``remember`` it; the rollup
processor, merges, unmerges and rebuilds ``forget`` every count their writes
could change. A kept count therefore always equals a fresh recount.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date

from sqlalchemy import Connection, and_, delete, select, tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from shequn.models import DistinctCount

GROUP_WEEK = "group_week"  # scope: a group; period: the Monday of a local week
COMMUNITY_DAY = "community_day"  # scope: a community; period: a local day
_d = DistinctCount.__table__
_CHUNK = 500

Key = tuple[int, date]


def recall(conn: Connection, kind: str, keys: Iterable[Key]) -> dict[Key, int]:
    """The kept counts among ``keys`` (scope id, period)."""
    wanted = sorted(set(keys))
    found: dict[Key, int] = {}
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        rows = conn.execute(
            select(_d.c.scope_id, _d.c.period, _d.c.speakers).where(
                _d.c.kind == kind, tuple_(_d.c.scope_id, _d.c.period).in_(chunk)
            )
        )
        for scope_id, period, speakers in rows:
            found[(scope_id, period)] = speakers
    return found


def remember(conn: Connection, kind: str, counts: Mapping[Key, int]) -> None:
    """Keep fresh counts; a count another reader kept meanwhile is the same, so a clash
    keeps theirs."""
    if not counts:
        return
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    rows = [
        {"kind": kind, "scope_id": s, "period": p, "speakers": n}
        for (s, p), n in sorted(counts.items())
    ]
    conn.execute(insert(_d).on_conflict_do_nothing(), rows)


def forget(conn: Connection, kind: str, scope_ids: Iterable[int], periods: Iterable[date]) -> None:
    """Drop the counts of these scopes in these periods (a superset of what changed is fine)."""
    scopes, days = sorted(set(scope_ids)), sorted(set(periods))
    if scopes and days:
        conn.execute(
            delete(_d).where(
                and_(_d.c.kind == kind, _d.c.scope_id.in_(scopes), _d.c.period.in_(days))
            )
        )


def forget_everything(conn: Connection) -> None:
    """After a merge, an unmerge or a rebuild: recounting on the next read is cheap
    next to working out which periods the moved rows touched."""
    conn.execute(delete(_d))
