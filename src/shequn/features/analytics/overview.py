"""The overview figures, two ways: from the rollups, and from the raw event log.

The dashboard's first screen needs, per group, messages, joins, leaves and the
speakers of the range, of its last 7 and last 30 days. ``from_rollups`` is
what shequn serves; ``from_events`` computes the very same figures by
scanning the event log, which is what the rollups exist to avoid — the test
suite checks that both agree, and ``shequn bench metrics`` times both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection, and_, case, func, select

from shequn.features.analytics import metrics
from shequn.features.analytics.scope import Scope
from shequn.models import EventRow, Group, Identity

_e = EventRow.__table__
_i = Identity.__table__
_g = Group.__table__


@dataclass(frozen=True, slots=True)
class Overview:
    messages: int
    joins: int
    leaves: int  # leaves and kicks
    speakers: int
    wau: int
    mau: int


def _last(scope: Scope, days: int) -> date:
    return max(scope.start, scope.end - timedelta(days=days - 1))


def from_rollups(conn: Connection, scope: Scope) -> dict[int, Overview]:
    sums = metrics.totals(conn, scope)
    windows = (scope.start, _last(scope, 7), _last(scope, 30))
    speakers, _ = metrics.speakers_since(conn, scope, windows, overall=False)
    out = {}
    for info in metrics.groups(conn, scope.community_id):
        messages, joins, leaves = sums.get(info.id, (0, 0, 0))
        in_range, week, month = speakers.get(info.id, (0, 0, 0))
        out[info.id] = Overview(messages, joins, leaves, in_range, week, month)
    return out


def from_events(conn: Connection, scope: Scope) -> dict[int, Overview]:
    """The same figures straight from the event log (a scan of the range's events)."""
    start, end = scope.instant(scope.start), scope.end_instant
    week, month = scope.instant(_last(scope, 7)), scope.instant(_last(scope, 30))
    message = _e.c.type == "message"

    def speakers_after(since: Any) -> Any:
        spoke = and_(message, _e.c.occurred_at >= since)
        return func.count(func.distinct(case((spoke, _i.c.member_id))))

    rows = conn.execute(
        select(
            _e.c.group_id,
            func.count().filter(message),
            func.count().filter(_e.c.type == "join"),
            func.count().filter(_e.c.type == "leave"),
            speakers_after(start),
            speakers_after(week),
            speakers_after(month),
        )
        .select_from(_e.outerjoin(_i, _i.c.id == _e.c.identity_id))
        .where(_e.c.community_id == scope.community_id)
        .where(_e.c.group_id.is_not(None))
        .where(_e.c.occurred_at >= start, _e.c.occurred_at < end)
        .group_by(_e.c.group_id)
    )
    found = {r[0]: Overview(*(int(x) for x in r[1:])) for r in rows}
    ids = conn.execute(select(_g.c.id).where(_g.c.community_id == scope.community_id)).scalars()
    return {gid: found.get(gid, Overview(0, 0, 0, 0, 0, 0)) for gid in ids}
