"""Queries over the rollups: every figure of the report, per group and for the community.

Each function answers for all of a community's groups at once (one query, not
one per group) and reads only the activity tables and the roster, never the
event log. Days are local days of the community's time zone.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection, Date, and_, case, cast, func, or_, select, type_coerce

from shequn.features.analytics.rollup.logic import GROUP_DAY_COUNTS
from shequn.features.analytics.scope import Scope
from shequn.features.community.membership.logic import OBSERVED
from shequn.models import Group as GroupRow
from shequn.models import (
    GroupDay,
    GroupHour,
    MemberCommunity,
    MemberDay,
    MemberGroup,
    Membership,
    TermWeek,
)

_g = GroupRow.__table__
_gd = GroupDay.__table__
_md = MemberDay.__table__
_gh = GroupHour.__table__
_mg = MemberGroup.__table__
_mc = MemberCommunity.__table__
_seat = Membership.__table__
_tw = TermWeek.__table__
LEADERS = ("owner", "admin")


@dataclass(frozen=True, slots=True)
class GroupInfo:
    id: int
    name: str
    platform: str
    external_id: str
    capacity: int | None


def groups(conn: Connection, community_id: int) -> list[GroupInfo]:
    rows = conn.execute(
        select(_g.c.id, _g.c.name, _g.c.platform, _g.c.external_id, _g.c.capacity)
        .where(_g.c.community_id == community_id)
        .order_by(_g.c.id)
    )
    return [GroupInfo(*r) for r in rows]


def _week(conn: Connection, day: Any) -> Any:
    """The Monday of a date column, in SQL."""
    if conn.dialect.name == "postgresql":
        return cast(func.date_trunc("week", day), Date)
    return type_coerce(func.date(day, "-6 days", "weekday 1"), Date)


def _in_community(scope: Scope, group_col: Any) -> Any:
    if scope.groups:
        return group_col.in_(scope.groups)
    return group_col.in_(select(_g.c.id).where(_g.c.community_id == scope.community_id))


def _single(scope: Scope) -> int | None:
    """The scope's only group, if it names exactly one: then every "across the
    community" figure is that group's own, and need not be counted again."""
    return scope.groups[0] if len(scope.groups) == 1 else None


def _days(table: Any, scope: Scope, start: date | None = None) -> Any:
    return and_(table.c.day >= (start or scope.start), table.c.day <= scope.end)


def day_counts(
    conn: Connection, scope: Scope, names: Sequence[str] = GROUP_DAY_COUNTS
) -> dict[int, dict[date, dict[str, int]]]:
    """The group-day counters in range (``names``, by default all of them), per group and
    day."""
    out: dict[int, dict[date, dict[str, int]]] = defaultdict(dict)
    columns = [_gd.c[c] for c in names]
    for gid, day, *values in conn.execute(
        select(_gd.c.group_id, _gd.c.day, *columns).where(
            _in_community(scope, _gd.c.group_id), _days(_gd, scope)
        )
    ):
        out[gid][day] = dict(zip(names, values, strict=True))
    return out


def totals(conn: Connection, scope: Scope) -> dict[int, tuple[int, int, int]]:
    """Messages, joins, and leaves (kicks included) of the range, per group: one row each."""
    return {
        gid: (int(m), int(j), int(lv))
        for gid, m, j, lv in conn.execute(
            select(
                _gd.c.group_id,
                func.sum(_gd.c.messages),
                func.sum(_gd.c.joins),
                func.sum(_gd.c.leaves + _gd.c.kicks),
            )
            .where(_in_community(scope, _gd.c.group_id), _days(_gd, scope))
            .group_by(_gd.c.group_id)
        )
    }


def daily_speakers(conn: Connection, scope: Scope) -> tuple[dict[int, dict[date, int]], dict]:
    """Distinct speakers per day: per group, and across the community (a person in two
    groups counts once)."""
    per_group: dict[int, dict[date, int]] = defaultdict(dict)
    where = (_in_community(scope, _md.c.group_id), _days(_md, scope))
    for gid, day, n in conn.execute(
        select(_md.c.group_id, _md.c.day, func.count())
        .where(*where)
        .group_by(_md.c.group_id, _md.c.day)
    ):
        per_group[gid][day] = n
    if (only := _single(scope)) is not None:
        return per_group, dict(per_group.get(only, {}))
    overall = dict(
        conn.execute(
            select(_md.c.day, func.count(func.distinct(_md.c.member_id)))
            .where(*where)
            .group_by(_md.c.day)
        ).all()
    )
    return per_group, overall


def weekly_speakers(conn: Connection, scope: Scope) -> dict[int, dict[date, int]]:
    week = _week(conn, _md.c.day).label("week")
    out: dict[int, dict[date, int]] = defaultdict(dict)
    for gid, wk, n in conn.execute(
        select(_md.c.group_id, week, func.count(func.distinct(_md.c.member_id)))
        .where(_in_community(scope, _md.c.group_id), _days(_md, scope))
        .group_by(_md.c.group_id, week)
    ):
        out[gid][wk] = n
    return out


def weekly_leader_messages(conn: Connection, scope: Scope) -> dict[int, dict[date, int]]:
    """Messages per week by the group's owner and admins (their roles now).

    The few leaders' seats are read first and their member-days summed per week in
    SQL through the ``member_id, day`` index: joining every member-day of the range
    to the roster costs a lookup per row, and fetching each leader's days one by one
    costs a row each.
    """
    leaders = {
        (gid, mid)
        for gid, mid in conn.execute(
            select(_seat.c.group_id, _seat.c.member_id).where(
                _in_community(scope, _seat.c.group_id), _seat.c.role.in_(LEADERS)
            )
        )
    }
    members = sorted({mid for _, mid in leaders})
    week = _week(conn, _md.c.day).label("week")
    out: dict[int, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    for start in range(0, len(members), 500):
        for gid, mid, wk, n in conn.execute(
            select(_md.c.group_id, _md.c.member_id, week, func.sum(_md.c.messages))
            .where(_md.c.member_id.in_(members[start : start + 500]))
            .where(_days(_md, scope))
            .group_by(_md.c.group_id, _md.c.member_id, week)
        ):
            if (gid, mid) in leaders:
                out[gid][wk] += int(n)
    return {gid: dict(weeks) for gid, weeks in out.items()}


def speakers_since(
    conn: Connection, scope: Scope, starts: Sequence[date], *, overall: bool = True
) -> tuple[dict[int, tuple[int, ...]], tuple[int, ...]]:
    """Distinct speakers from each local day in ``starts`` to the end of the range (the
    range, its last week, its last month…): per group and across the community, every
    window counted in one pass. ``overall=False`` skips the community's distinct
    count (a person in two groups counted once), which costs as much again.

    When the range reaches the latest data, a member spoke since a day exactly
    when their last message in the group is that late: one member-group row per
    speaker instead of counting distinct members over days.
    """
    starts = [max(day, scope.start) for day in starts]
    if scope.reaches_latest:
        member, last = _mg.c.member_id, _mg.c.last_message_at
        since = [last >= scope.instant(day) for day in starts]
        where: tuple[Any, ...] = (
            _in_community(scope, _mg.c.group_id),
            since[starts.index(min(starts))],
        )
        # One row per member and group: a plain count per group is a distinct count.
        per_group_counts = [func.sum(case((cond, 1), else_=0)) for cond in since]
        table = _mg
    else:
        member, day = _md.c.member_id, _md.c.day
        since = [day >= start for start in starts]
        where = (_in_community(scope, _md.c.group_id), _days(_md, scope, min(starts)))
        per_group_counts = [func.count(func.distinct(case((cond, member)))) for cond in since]
        table = _md
    per_group = {
        row[0]: tuple(int(n or 0) for n in row[1:])
        for row in conn.execute(
            select(table.c.group_id, *per_group_counts).where(*where).group_by(table.c.group_id)
        )
    }
    if not overall:
        return per_group, ()
    if (only := _single(scope)) is not None:
        return per_group, per_group.get(only, (0,) * len(starts))
    if scope.reaches_latest and not scope.groups:
        # Each person's last message anywhere in the community: one row per person.
        last = _mc.c.last_message_at
        windows = [func.count().filter(last >= scope.instant(day)) for day in starts]
        people = conn.execute(
            select(*windows).where(
                _mc.c.community_id == scope.community_id,
                last >= scope.instant(min(starts)),
            )
        ).one()
        return per_group, tuple(int(n) for n in people)
    people = conn.execute(
        select(*(func.count(func.distinct(case((cond, member)))) for cond in since)).where(*where)
    ).one()
    return per_group, tuple(int(n) for n in people)


def member_messages(conn: Connection, scope: Scope) -> tuple[dict[int, list[int]], list[int]]:
    """Each speaker's messages in the range: per group, and per person across groups."""
    where = (_in_community(scope, _md.c.group_id), _days(_md, scope))
    per_group: dict[int, list[int]] = defaultdict(list)
    for gid, n in conn.execute(
        select(_md.c.group_id, func.sum(_md.c.messages))
        .where(*where)
        .group_by(_md.c.group_id, _md.c.member_id)
    ):
        per_group[gid].append(int(n))
    if (only := _single(scope)) is not None:
        return per_group, list(per_group.get(only, []))
    overall = [
        int(n)
        for (n,) in conn.execute(
            select(func.sum(_md.c.messages)).where(*where).group_by(_md.c.member_id)
        )
    ]
    return per_group, overall


def _present(scope: Scope) -> Any:
    """Seats held at the end of the range (by the roster's latest stay)."""
    end = scope.end_instant
    return and_(
        _in_community(scope, _seat.c.group_id),
        _seat.c.joined_at < end,
        or_(_seat.c.left_at.is_(None), _seat.c.left_at >= end),
    )


@dataclass(frozen=True, slots=True)
class Roster:
    members: int
    lurkers: int  # present, but no message in the range
    silent: int  # present, and no message in the last ``silent_days`` days


def rosters(conn: Connection, scope: Scope, silent_days: int) -> tuple[dict[int, Roster], Roster]:
    """Members present at the end of the range, with lurkers and silent ones: per
    group, and distinct people across the community."""
    start, end = scope.instant(scope.start), scope.end_instant
    quiet_since = end - timedelta(days=silent_days)
    last = _mg.c.last_message_at
    spoke = case((and_(last >= start, _mg.c.first_message_at < end), 1), else_=0)
    recent = case((last >= quiet_since, 1), else_=0)
    seats = (
        select(
            _seat.c.group_id,
            _seat.c.member_id,
            spoke.label("spoke"),
            recent.label("recent"),
        )
        .select_from(
            _seat.outerjoin(
                _mg,
                and_(_mg.c.group_id == _seat.c.group_id, _mg.c.member_id == _seat.c.member_id),
            )
        )
        .where(_present(scope))
        .subquery()
    )
    per_group = {
        gid: Roster(members, members - int(spoken), members - int(recently))
        for gid, members, spoken, recently in conn.execute(
            select(
                seats.c.group_id, func.count(), func.sum(seats.c.spoke), func.sum(seats.c.recent)
            ).group_by(seats.c.group_id)
        )
    }
    if (only := _single(scope)) is not None:
        return per_group, per_group.get(only, Roster(0, 0, 0))
    people = (
        select(
            func.max(seats.c.spoke).label("spoke"),
            func.max(seats.c.recent).label("recent"),
        )
        .group_by(seats.c.member_id)
        .subquery()
    )
    n, spoken, recently = conn.execute(
        select(func.count(), func.sum(people.c.spoke), func.sum(people.c.recent))
    ).one()
    return per_group, Roster(n, n - int(spoken or 0), n - int(recently or 0))


def heatmaps(conn: Connection, scope: Scope) -> dict[int, list[tuple[int, int, int]]]:
    """Messages per (weekday, hour) over the range, per group: its golden hours."""
    out: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
    for gid, weekday, hour, n in conn.execute(
        select(_gh.c.group_id, _gh.c.weekday, _gh.c.hour, func.sum(_gh.c.messages))
        .where(_in_community(scope, _gh.c.group_id), _days(_gh, scope))
        .group_by(_gh.c.group_id, _gh.c.weekday, _gh.c.hour)
        .order_by(_gh.c.group_id, _gh.c.weekday, _gh.c.hour)
    ):
        out[gid].append((int(weekday), int(hour), int(n)))
    return out


@dataclass(frozen=True, slots=True)
class Cohort:
    week: date
    size: int
    active: list[list[int]]  # per member: week offsets (since joining) with a message


def cohorts(conn: Connection, scope: Scope) -> dict[int, list[Cohort]]:
    """Members who joined in the range, by join week, with the weeks they spoke in.

    Seats the roster only observed (no join seen) are not newcomers and are left out.
    """
    joined = (
        select(_seat.c.group_id, _seat.c.member_id, _seat.c.joined_at)
        .where(_in_community(scope, _seat.c.group_id))
        .where(_seat.c.joined_at >= scope.instant(scope.start))
        .where(_seat.c.joined_at < scope.end_instant)
        .where(or_(_seat.c.entry_source.is_(None), _seat.c.entry_source != OBSERVED))
    ).subquery()
    members: dict[tuple[int, int], date] = {}
    tz = scope.zone
    for gid, mid, at in conn.execute(select(joined)):
        day = at.astimezone(tz).date()
        members[(gid, mid)] = day - timedelta(days=day.weekday())
    weeks: dict[tuple[int, int], set[int]] = defaultdict(set)
    week = _week(conn, _md.c.day).label("week")
    for gid, mid, wk in conn.execute(
        select(_md.c.group_id, _md.c.member_id, week)
        .join(
            joined, and_(joined.c.group_id == _md.c.group_id, joined.c.member_id == _md.c.member_id)
        )
        .where(_days(_md, scope))
        .distinct()
    ):
        start = members.get((gid, mid))
        if start is not None:
            weeks[(gid, mid)].add((wk - start).days // 7)
    grouped: dict[int, dict[date, list[list[int]]]] = defaultdict(lambda: defaultdict(list))
    for (gid, mid), start in members.items():
        grouped[gid][start].append(sorted(weeks.get((gid, mid), ())))
    return {
        gid: [Cohort(wk, len(active), active) for wk, active in sorted(by_week.items())]
        for gid, by_week in grouped.items()
    }


def term_weeks(
    conn: Connection, scope: Scope, weeks: list[date], *, min_count: int = 2
) -> dict[int, dict[date, dict[str, int]]]:
    """Term counts per group and week, for the given weeks (terms used at least
    ``min_count`` times that week: the long tail says nothing about topics)."""
    out: dict[int, dict[date, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
    if not weeks:
        return out
    for gid, wk, term, n in conn.execute(
        select(_tw.c.group_id, _tw.c.week, _tw.c.term, _tw.c.count)
        .where(_in_community(scope, _tw.c.group_id))
        .where(_tw.c.week.in_(weeks))
        .where(_tw.c.count >= min_count)
    ):
        out[gid][wk][term] = n
    return out


def members_now(conn: Connection, scope: Scope) -> dict[int, int]:
    """Seats held right now, per group: the anchor the weekly roster is rebuilt from."""
    return dict(
        conn.execute(
            select(_seat.c.group_id, func.count())
            .where(_seat.c.left_at.is_(None))
            .where(_in_community(scope, _seat.c.group_id))
            .group_by(_seat.c.group_id)
        ).all()
    )


def changes_after(conn: Connection, scope: Scope, day: date) -> dict[int, dict[date, int]]:
    """Net roster change (joins − leaves − kicks) per group and day from ``day`` on."""
    out: dict[int, dict[date, int]] = defaultdict(dict)
    for gid, d, j, lv, k in conn.execute(
        select(_gd.c.group_id, _gd.c.day, _gd.c.joins, _gd.c.leaves, _gd.c.kicks)
        .where(_in_community(scope, _gd.c.group_id))
        .where(_gd.c.day >= day)
    ):
        out[gid][d] = j - lv - k
    return out


def first_day(conn: Connection, community_id: int) -> date | None:
    """The first local day with a message in the community (joins replayed from a
    group's founding years earlier do not start its history)."""
    return conn.execute(
        select(func.min(_gd.c.day))
        .where(_gd.c.group_id.in_(select(_g.c.id).where(_g.c.community_id == community_id)))
        .where(_gd.c.messages > 0)
    ).scalar()


def last_activity(conn: Connection, community_id: int) -> Any:
    """The latest instant any message was counted in the community (the data's "now"):
    one probe of the community's index on each member's last message."""
    return conn.execute(
        select(func.max(_mc.c.last_message_at)).where(_mc.c.community_id == community_id)
    ).scalar()
