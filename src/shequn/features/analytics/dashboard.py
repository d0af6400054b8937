"""What the dashboard's pages show, for every group of a community in a few queries.

``report.build_report`` answers everything, but over a hundred groups it costs
seconds: it counts the distinct speakers of every day and week of thirteen weeks,
every member's messages (concentration), cohorts and terms. A page needs less. The
overview needs the community's head counts, its trend and which groups decline;
the group list needs each group's health and its last 7 and 30 days. This module
computes exactly those figures, with the report's own queries and definitions where
they are cheap and narrower queries where the report's are not (a diagnosis reads
only the complete weeks it compares, one index range per group and week), so a page
shows the numbers ``shequn report`` prints: the tests check that they agree.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select

from shequn.features.analytics import kept, measures, metrics
from shequn.features.analytics.health.logic import Diagnosis, Reason, Thresholds, Week, diagnose
from shequn.features.analytics.health.wording import LANGS, advice, detail
from shequn.features.analytics.report import ReportOptions, build_report, default_scope
from shequn.features.analytics.scope import Scope
from shequn.features.community.setup import CommunityRef
from shequn.models import Community, Group, GroupDay, Member, MemberDay, MemberGroup, Membership

_g = Group.__table__
_community = Community.__table__
_gd = GroupDay.__table__
_md = MemberDay.__table__
_mg = MemberGroup.__table__
_seat = Membership.__table__
_member = Member.__table__
WEEK = timedelta(days=7)
#: Bound parameters per ``IN`` list: far below SQLite's limit, and each id is an index seek.
_CHUNK = 500
#: How many days the overview's trend shows (the report's default range).
TREND_DAYS = 91


def _chunks(ids: Sequence[int]) -> Iterator[Sequence[int]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]


def scope_of(conn: Connection, community_id: int, timezone: str, *, now: datetime) -> Scope:
    """The range every page reads: the report's default, the 13 weeks up to the last message."""
    return default_scope(conn, community_id, timezone, now=now)


def _in_scope(scope: Scope, column: Any) -> Any:
    if scope.groups:
        return column.in_(scope.groups)
    return column.in_(select(_g.c.id).where(_g.c.community_id == scope.community_id))


def group_ids(conn: Connection, scope: Scope) -> list[int]:
    """The scope's groups: the ones it names, else every group of its community."""
    if scope.groups:
        return list(scope.groups)
    return list(
        conn.execute(
            select(_g.c.id).where(_g.c.community_id == scope.community_id).order_by(_g.c.id)
        ).scalars()
    )


# --- health ---------------------------------------------------------------------------


def compared_weeks(scope: Scope, thresholds: Thresholds) -> list[date]:
    """The complete weeks a diagnosis compares: the latest ``recent + baseline`` of them."""
    return scope.complete_weeks()[-(thresholds.recent_weeks + thresholds.baseline_weeks) :]


def weekly_speakers(conn: Connection, ids: Sequence[int], weeks: Sequence[date]) -> dict:
    """Distinct speakers per group in each of ``weeks`` (Mondays).

    Kept counts come from ``distinct``; the missing ones are counted with one
    statement per week and chunk of groups, each an index range per group
    (``group_id, day``) — the report's single GROUP BY over the whole range sorts
    every member-day row of the community instead — and kept for the next read.
    """
    out: dict[int, dict[date, int]] = defaultdict(dict)
    known = kept.recall(conn, kept.GROUP_WEEK, [(g, w) for g in ids for w in weeks])
    fresh: dict[tuple[int, date], int] = {}
    for week in weeks:
        missing = [g for g in ids if (g, week) not in known]
        for chunk in _chunks(missing):
            counted = dict.fromkeys(chunk, 0)
            for gid, n in conn.execute(
                select(_md.c.group_id, func.count(func.distinct(_md.c.member_id)))
                .where(_md.c.group_id.in_(chunk))
                .where(_md.c.day >= week, _md.c.day <= week + timedelta(days=6))
                .group_by(_md.c.group_id)
            ):
                counted[gid] = int(n)
            fresh.update({(gid, week): n for gid, n in counted.items()})
    kept.remember(conn, kept.GROUP_WEEK, fresh)
    for (gid, week), n in (known | fresh).items():
        if n:
            out[gid][week] = n
    return out


def roster_versions(conn: Connection, ids: Sequence[int]) -> dict[int, int]:
    """Each group's ``roster_version``: what stamps the counts made from its seats."""
    out: dict[int, int] = {}
    for chunk in _chunks(ids):
        rows = conn.execute(select(_g.c.id, _g.c.roster_version).where(_g.c.id.in_(chunk)))
        out.update((gid, int(version)) for gid, version in rows)
    return out


def leader_messages(
    conn: Connection, scope: Scope, ids: Sequence[int], weeks: Sequence[date]
) -> dict[int, dict[date, int]]:
    """Messages by each group's owner and admins in each of ``weeks``.

    Kept per group and week (``kept.LEADER_WEEK``): the rollup processor forgets a
    group-week its messages touch, and the stamp (the group's roster version) turns
    a count stale when a role changes. Groups missing any week are counted with the
    report's own query, over the weeks alone."""
    if not weeks:
        return {}
    stamps = {g: kept.stamp_of(v) for g, v in roster_versions(conn, ids).items()}
    found = kept.recall(conn, kept.LEADER_WEEK, [(g, w) for g in ids for w in weeks], stamps)
    missing = [g for g in ids if any((g, w) not in found for w in weeks)]
    fresh: dict[tuple[int, date], int] = {}
    for chunk in _chunks(missing):
        narrowed = replace(
            scope, start=weeks[0], end=weeks[-1] + timedelta(days=6), groups=tuple(chunk)
        )
        counted = metrics.weekly_leader_messages(conn, narrowed)
        for g in chunk:
            for w in weeks:
                fresh[(g, w)] = counted.get(g, {}).get(w, 0)
    kept.remember(conn, kept.LEADER_WEEK, fresh, stamps)
    out: dict[int, dict[date, int]] = defaultdict(dict)
    for (g, w), n in (found | fresh).items():
        if n:
            out[g][w] = n
    return out


def seat_counts(conn: Connection, ids: Sequence[int], end: datetime) -> dict[int, tuple[int, int]]:
    """Per group, the seats held now (what the weekly head count is rebuilt from) and
    those held at ``end`` (the range's roster).

    Both are kept (``kept``), stamped with the group's roster version (and ``end``),
    so a group is counted again only after a seat of it changed. The missing ones are
    counted in one pass over their seats."""
    versions = roster_versions(conn, ids)
    now_stamps = {g: kept.stamp_of(v) for g, v in versions.items()}
    end_stamps = {g: kept.stamp_of(v, end.isoformat()) for g, v in versions.items()}
    keys = [(g, kept.TIMELESS) for g in ids]
    now_kept = kept.recall(conn, kept.SEATS_NOW, keys, now_stamps)
    end_kept = kept.recall(conn, kept.SEATS_AT, keys, end_stamps)
    out = {
        g: (now_kept[(g, kept.TIMELESS)], end_kept[(g, kept.TIMELESS)])
        for g in ids
        if (g, kept.TIMELESS) in now_kept and (g, kept.TIMELESS) in end_kept
    }
    missing = [g for g in ids if g not in out]
    at_end = and_(_seat.c.joined_at < end, or_(_seat.c.left_at.is_(None), _seat.c.left_at >= end))
    for chunk in _chunks(missing):
        counted = dict.fromkeys(chunk, (0, 0))
        for gid, now, then in conn.execute(
            select(
                _seat.c.group_id,
                func.count().filter(_seat.c.left_at.is_(None)),
                func.count().filter(at_end),
            )
            .where(_seat.c.group_id.in_(chunk))
            .group_by(_seat.c.group_id)
        ):
            counted[gid] = (int(now), int(then))
        out.update(counted)
    if missing:
        kept.remember(
            conn, kept.SEATS_NOW, {(g, kept.TIMELESS): out[g][0] for g in missing}, now_stamps
        )
        kept.remember(
            conn, kept.SEATS_AT, {(g, kept.TIMELESS): out[g][1] for g in missing}, end_stamps
        )
    return out


def changes_since(conn: Connection, ids: Sequence[int], day: date) -> dict[int, dict[date, int]]:
    """Net roster change (joins − leaves − kicks) per group and day from ``day`` on."""
    out: dict[int, dict[date, int]] = defaultdict(dict)
    for chunk in _chunks(ids):
        for gid, d, change in conn.execute(
            select(_gd.c.group_id, _gd.c.day, _gd.c.joins - _gd.c.leaves - _gd.c.kicks).where(
                _gd.c.group_id.in_(chunk), _gd.c.day >= day
            )
        ):
            out[gid][d] = int(change)
    return out


#: The group-day counters the pages use (the report reads the others).
PAGE_COUNTS = ("messages", "joins", "leaves", "kicks", "newcomers", "newcomers_answered")


def _day_counts(conn: Connection, scope: Scope, ids: Sequence[int]) -> dict:
    """The group-day counters the pages use, over the range, per group and day
    (``metrics.day_counts`` by explicit ids, so each group is an index range)."""
    out: dict[int, dict[date, dict[str, int]]] = {}
    for chunk in _chunks(ids):
        out.update(metrics.day_counts(conn, replace(scope, groups=tuple(chunk)), PAGE_COUNTS))
    return out


def _sum(days: dict[date, dict[str, int]], column: str, first: date, last: date) -> int:
    return sum(c.get(column, 0) for d, c in days.items() if first <= d <= last)


def _by_week(days: dict[date, dict[str, int]]) -> dict[date, dict[str, int]]:
    """A group's day counters summed per week (Monday), leaves and kicks together."""
    weeks: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for day, c in days.items():
        into = weeks[day - timedelta(days=day.weekday())]
        for column in ("messages", "joins", "newcomers", "newcomers_answered"):
            into[column] += c.get(column, 0)
        into["leaves"] += c.get("leaves", 0) + c.get("kicks", 0)
    return weeks


@dataclass(frozen=True, slots=True)
class Health:
    """A group's diagnosis, as the report makes it."""

    score: int
    declining: bool
    reasons: tuple[Reason, ...]
    weeks_compared: int

    @classmethod
    def of(cls, diagnosis: Diagnosis) -> Health:
        return cls(
            diagnosis.score, diagnosis.declining, diagnosis.reasons, diagnosis.weeks_compared
        )


def group_health(
    conn: Connection,
    scope: Scope,
    *,
    thresholds: Thresholds | None = None,
    day_counts: dict[int, dict[date, dict[str, int]]] | None = None,
    seats: dict[int, tuple[int, int]] | None = None,
    ids: Sequence[int] | None = None,
) -> dict[int, Health]:
    """Every group's diagnosis, equal to the report's, from the weeks it compares.

    ``diagnose`` drops the leading weeks without a message, then compares the
    latest ``recent + baseline`` complete weeks. So the weeks before those need
    only their message counts (from the group-day rows already at hand); the
    expensive figures — distinct speakers, leaders' messages, head counts — are
    counted for the compared weeks alone.
    """
    thresholds = thresholds or Thresholds()
    ids = list(ids if ids is not None else group_ids(conn, scope))
    counts = day_counts if day_counts is not None else _day_counts(conn, scope, ids)
    complete = scope.complete_weeks()
    compared = compared_weeks(scope, thresholds)
    speakers = weekly_speakers(conn, ids, compared)
    leaders = leader_messages(conn, scope, ids, compared)
    seats = seats if seats is not None else seat_counts(conn, ids, scope.end_instant)
    changes = changes_since(conn, ids, compared[0]) if compared else {}
    out = {}
    for gid in ids:
        sums = _by_week(counts.get(gid, {}))
        later = changes.get(gid, {})
        weeks = []
        for week in complete:
            end = week + timedelta(days=6)
            c = sums.get(week, {})
            if week not in compared:
                weeks.append(Week(week, c.get("messages", 0), 0, 0, 0, 0, 0, 0, 0))
                continue
            members = seats.get(gid, (0, 0))[0] - sum(n for d, n in later.items() if d > end)
            weeks.append(
                Week(
                    week=week,
                    messages=c.get("messages", 0),
                    speakers=speakers.get(gid, {}).get(week, 0),
                    members=max(0, members),
                    joins=c.get("joins", 0),
                    leaves=c.get("leaves", 0),
                    leader_messages=leaders.get(gid, {}).get(week, 0),
                    newcomers=c.get("newcomers", 0),
                    newcomers_answered=c.get("newcomers_answered", 0),
                )
            )
        out[gid] = Health.of(diagnose(weeks, thresholds))
    return out


@dataclass(frozen=True, slots=True)
class Worded:
    """A reason as an operator reads it: what happened, and what to do next."""

    code: str
    detail: str
    advice: str
    figures: dict[str, Any]


def worded(reasons: Iterable[Reason], lang: str) -> list[Worded]:
    """The reasons in ``lang`` (one of ``LANGS``; anything else reads as the first)."""
    lang = lang if lang in LANGS else LANGS[0]
    return [
        Worded(
            r.code,
            detail(lang, r.code, r.figures),
            advice(lang, r.code),
            {k: v for k, v in r.figures.items() if k != "severity"},
        )
        for r in reasons
    ]


# --- the community at a glance ----------------------------------------------------------


def people_present(conn: Connection, scope: Scope) -> int:
    """Distinct members holding a seat in any of the scope's groups at the end of the
    range (the report's community roster head count).

    Kept (``kept.PRESENT``) under a stamp of every group's roster version and the
    range's end, so it is counted again only after some seat of the community changed.
    """
    end = scope.end_instant
    ids = group_ids(conn, scope)
    versions = roster_versions(conn, ids)
    stamp = kept.stamp_of(sorted(versions.items()), end.isoformat())
    key = (scope.community_id, kept.TIMELESS)
    stamps = {scope.community_id: stamp}
    found = kept.recall(conn, kept.PRESENT, [key], stamps)
    if key in found:
        return found[key]
    n = int(
        conn.execute(
            select(func.count(func.distinct(_seat.c.member_id))).where(
                _in_scope(scope, _seat.c.group_id),
                _seat.c.joined_at < end,
                or_(_seat.c.left_at.is_(None), _seat.c.left_at >= end),
            )
        ).scalar_one()
    )
    kept.remember(conn, kept.PRESENT, {key: n}, stamps)
    return n


def daily_people(
    conn: Connection, scope: Scope, first: date, ids: Sequence[int] | None = None
) -> dict[date, int]:
    """Distinct speakers per day from ``first`` to the end of the range, across the
    scope's groups (a person in two groups counts once).

    For the whole community the counts are kept (``distinct``), so a day is counted
    once until a message lands on it. Each missing day is one statement, an index
    range per group: a single GROUP BY day would sort every member-day row of the
    weeks at once, several times slower.
    """
    ids = list(ids if ids is not None else group_ids(conn, scope))
    out: dict[date, int] = {}
    if not ids:
        return out
    days = [
        max(first, scope.start) + timedelta(days=n)
        for n in range((scope.end - max(first, scope.start)).days + 1)
    ]
    whole = not scope.groups
    cid = scope.community_id
    known = (
        {
            d: n
            for (_, d), n in kept.recall(conn, kept.COMMUNITY_DAY, [(cid, d) for d in days]).items()
        }
        if whole
        else {}
    )
    fresh: dict[tuple[int, date], int] = {}
    for day in days:
        n = known.get(day)
        if n is None:
            n = int(
                conn.execute(
                    select(func.count(func.distinct(_md.c.member_id))).where(
                        _md.c.group_id.in_(ids), _md.c.day == day
                    )
                ).scalar_one()
            )
            fresh[(cid, day)] = n
        if n:
            out[day] = n
    if whole:
        kept.remember(conn, kept.COMMUNITY_DAY, fresh)
    return out


@dataclass(frozen=True, slots=True)
class DayPoint:
    day: date
    messages: int
    speakers: int
    joins: int
    leaves: int  # leaves and kicks


@dataclass(frozen=True, slots=True)
class Alert:
    """A declining group, its score and why."""

    group_id: int
    name: str
    score: int
    reasons: tuple[Reason, ...]


@dataclass(frozen=True)
class CommunityFigures:
    """The overview: the report's ``overview`` figures that a first screen shows."""

    scope: Scope
    groups: int
    declining_groups: int
    members: int
    messages: int
    speakers: int
    joins: int
    leaves: int
    dau: float
    wau: int
    mau: int
    speaker_ratio: float
    daily: list[DayPoint]
    alerts: list[Alert] = field(default_factory=list)


def community_figures(
    conn: Connection, scope: Scope, *, thresholds: Thresholds | None = None
) -> CommunityFigures:
    """The community's head counts, activity, daily trend and declining groups."""
    infos = metrics.groups(conn, scope.community_id)
    ids = [g.id for g in infos]
    counts = _day_counts(conn, scope, ids)
    health = group_health(conn, scope, thresholds=thresholds, day_counts=counts, ids=ids)
    members = people_present(conn, scope) if ids else 0
    windows = (scope.start, scope.end - timedelta(days=6), scope.end - timedelta(days=29))
    speakers, wau, mau = metrics.speakers_since(conn, scope, windows)[1] if ids else (0, 0, 0)
    trend_from = max(scope.start, scope.end - timedelta(days=TREND_DAYS - 1))
    people = daily_people(conn, scope, trend_from, ids)
    overall: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for days in counts.values():
        for day, c in days.items():
            for k, v in c.items():
                overall[day][k] += v
    daily = []
    for n in range((scope.end - trend_from).days + 1):
        day = trend_from + timedelta(days=n)
        c = overall.get(day, {})
        daily.append(
            DayPoint(
                day,
                c.get("messages", 0),
                people.get(day, 0),
                c.get("joins", 0),
                c.get("leaves", 0) + c.get("kicks", 0),
            )
        )
    last_week = [n for d, n in people.items() if d > scope.end - WEEK]
    names = {g.id: g.name for g in infos}
    alerts = sorted(
        (Alert(gid, names[gid], h.score, h.reasons) for gid, h in health.items() if h.declining),
        key=lambda a: (a.score, a.group_id),
    )

    def total(*columns: str) -> int:
        return sum(c.get(k, 0) for c in overall.values() for k in columns)

    return CommunityFigures(
        scope=scope,
        groups=len(ids),
        declining_groups=len(alerts),
        members=members,
        messages=total("messages"),
        speakers=speakers,
        joins=total("joins"),
        leaves=total("leaves", "kicks"),
        dau=round(sum(last_week) / min(7, scope.days), 2),
        wau=wau,
        mau=mau,
        speaker_ratio=round(measures.ratio(speakers, members), 4),
        daily=daily,
        alerts=alerts,
    )


# --- the group list ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GroupLine:
    """One row of the group list."""

    id: int
    community_id: int
    name: str
    platform: str
    external_id: str
    capacity: int | None
    status: str
    members: int
    score: int
    declining: bool
    reasons: tuple[Reason, ...]
    messages_7d: int
    messages_30d: int
    speakers_7d: int
    speakers_30d: int
    last_activity: datetime | None


def last_messages(conn: Connection, ids: Sequence[int]) -> dict[int, datetime]:
    """Each group's latest counted message: one index seek per group (``group_id,
    last_message_at``), where a GROUP BY would read every speaker's row."""
    latest = (
        select(func.max(_mg.c.last_message_at)).where(_mg.c.group_id == _g.c.id).scalar_subquery()
    )
    out: dict[int, datetime] = {}
    for chunk in _chunks(ids):
        out.update(
            (gid, at)
            for gid, at in conn.execute(select(_g.c.id, latest).where(_g.c.id.in_(chunk)))
            if at is not None
        )
    return out


@dataclass(frozen=True, slots=True)
class GroupFilter:
    """Which of a community's groups to list; ``q`` matches names case-insensitively."""

    platform: str | None = None
    q: str | None = None
    declining: bool | None = None
    group_id: int | None = None


def _wanted_groups(conn: Connection, community_id: int, wanted: GroupFilter) -> list[Any]:
    query = select(_g).where(_g.c.community_id == community_id).order_by(_g.c.id)
    if wanted.platform:
        query = query.where(_g.c.platform == wanted.platform)
    if wanted.group_id is not None:
        query = query.where(_g.c.id == wanted.group_id)
    rows = list(conn.execute(query))
    if wanted.q:
        needle = wanted.q.casefold()
        rows = [r for r in rows if needle in r.name.casefold()]
    return rows


def group_lines(
    conn: Connection,
    scope: Scope,
    wanted: GroupFilter | None = None,
    *,
    thresholds: Thresholds | None = None,
) -> list[GroupLine]:
    """Every wanted group of the scope's community with its health and recent figures,
    in id order (callers sort: every sort the list offers needs every group's figures)."""
    wanted = wanted or GroupFilter()
    rows = _wanted_groups(conn, scope.community_id, wanted)
    if not rows:
        return []
    ids = [r.id for r in rows]
    narrowed = replace(scope, groups=tuple(ids))
    counts = _day_counts(conn, narrowed, ids)
    seats = seat_counts(conn, ids, scope.end_instant)
    health = group_health(
        conn, narrowed, thresholds=thresholds, day_counts=counts, seats=seats, ids=ids
    )
    windows = (scope.start, scope.end - timedelta(days=6), scope.end - timedelta(days=29))
    speakers, _ = metrics.speakers_since(conn, narrowed, windows, overall=False)
    latest = last_messages(conn, ids)
    week_from = max(scope.start, scope.end - timedelta(days=6))
    month_from = max(scope.start, scope.end - timedelta(days=29))
    out = []
    for r in rows:
        h, days = health[r.id], counts.get(r.id, {})
        _, wau, mau = speakers.get(r.id, (0, 0, 0))
        line = GroupLine(
            id=r.id,
            community_id=r.community_id,
            name=r.name,
            platform=r.platform,
            external_id=r.external_id,
            capacity=r.capacity,
            status=r.status,
            members=seats.get(r.id, (0, 0))[1],
            score=h.score,
            declining=h.declining,
            reasons=h.reasons,
            messages_7d=_sum(days, "messages", week_from, scope.end),
            messages_30d=_sum(days, "messages", month_from, scope.end),
            speakers_7d=wau,
            speakers_30d=mau,
            last_activity=latest.get(r.id),
        )
        if wanted.declining is None or line.declining == wanted.declining:
            out.append(line)
    return out


#: The orders the group list offers: the value each sorts by, and whether high comes first.
SORTS: dict[str, tuple[str, bool]] = {
    "score": ("score", False),
    "members": ("members", True),
    "messages": ("messages_30d", True),
    "name": ("name", False),
}


def sort_key(line: GroupLine, sort: str) -> tuple[Any, int]:
    """The keyset of a line under ``sort``: its value (negated when high comes first)
    and its id, so equal values still have one order."""
    attr, descending = SORTS[sort]
    value = getattr(line, attr)
    if descending:
        value = -value
    return (value, line.id)


def page_of(
    lines: list[GroupLine], sort: str, after: tuple[Any, int] | None, limit: int
) -> tuple[list[GroupLine], tuple[Any, int] | None]:
    """One page of ``lines`` in ``sort`` order after the keyset ``after``, and the
    keyset of its last line when more follow."""
    ordered = sorted(lines, key=lambda line: sort_key(line, sort))
    if after is not None:
        ordered = [line for line in ordered if sort_key(line, sort) > after]
    page = ordered[:limit]
    more = len(ordered) > limit
    return page, (sort_key(page[-1], sort) if more and page else None)


# --- one group -------------------------------------------------------------------------


def group_report(
    conn: Connection, scope: Scope, group_id: int, *, lang: str, generated_at: datetime
) -> dict[str, Any]:
    """Every figure of the report for one group (its ``groups[]`` entry): the report
    narrowed to that group reads only the group's rows."""
    report = build_report(
        conn,
        replace(scope, groups=(group_id,)),
        community_name="",
        generated_at=generated_at,
        options=ReportOptions(lang=lang if lang in LANGS else LANGS[0], groups=(str(group_id),)),
    )
    return next(g for g in report["groups"] if g["id"] == group_id)


@dataclass(frozen=True, slots=True)
class Seat:
    """A member's seat in a group, with what they said there."""

    member_id: int
    display_name: str
    role: str
    title: str | None
    number: int
    card_name: str | None
    joined_at: datetime
    left_at: datetime | None
    messages: int
    last_message_at: datetime | None


#: Which seats the member table shows.
SEAT_STATUSES = ("present", "left", "all")


def group_seats(
    conn: Connection, group_id: int, *, status: str, after: int | None, limit: int
) -> tuple[list[Seat], int | None]:
    """A page of the group's seats in number order (入群编号) after number ``after``,
    and the number to continue after when more follow. Keyset on the group's unique
    number, so the thousandth page of a 10,000-member group is one index range."""
    member = _member
    query = (
        select(
            _seat.c.member_id,
            member.c.display_name,
            _seat.c.role,
            _seat.c.title,
            _seat.c.number,
            _seat.c.card_name,
            _seat.c.joined_at,
            _seat.c.left_at,
            _mg.c.messages,
            _mg.c.last_message_at,
        )
        .select_from(
            _seat.join(member, member.c.id == _seat.c.member_id).outerjoin(
                _mg, and_(_mg.c.group_id == _seat.c.group_id, _mg.c.member_id == _seat.c.member_id)
            )
        )
        .where(_seat.c.group_id == group_id)
        .order_by(_seat.c.number)
        .limit(limit + 1)
    )
    if status == "present":
        query = query.where(_seat.c.left_at.is_(None))
    elif status == "left":
        query = query.where(_seat.c.left_at.is_not(None))
    if after is not None:
        query = query.where(_seat.c.number > after)
    rows = conn.execute(query).all()
    seats = [
        Seat(
            r.member_id,
            r.display_name,
            r.role,
            r.title,
            r.number,
            r.card_name,
            r.joined_at,
            r.left_at,
            int(r.messages or 0),
            r.last_message_at,
        )
        for r in rows[:limit]
    ]
    return seats, (seats[-1].number if len(rows) > limit else None)


def platforms(conn: Connection, community_id: int) -> list[str]:
    """The platforms the community's groups are on (the group list's filter choices)."""
    return list(
        conn.execute(
            select(_g.c.platform)
            .where(_g.c.community_id == community_id)
            .distinct()
            .order_by(_g.c.platform)
        ).scalars()
    )


def group_in_workspace(
    conn: Connection, workspace_id: int, group_id: int
) -> tuple[metrics.GroupInfo, CommunityRef] | None:
    """A group with its community, if it belongs to ``workspace_id`` (else None: to the
    caller, a group of another workspace does not exist)."""
    row = conn.execute(
        select(
            _g.c.id,
            _g.c.name,
            _g.c.platform,
            _g.c.external_id,
            _g.c.capacity,
            _community.c.id.label("community_id"),
            _community.c.name.label("community_name"),
            _community.c.timezone,
        )
        .join(_community, _community.c.id == _g.c.community_id)
        .where(_g.c.id == group_id, _community.c.workspace_id == workspace_id)
    ).first()
    if row is None:
        return None
    info = metrics.GroupInfo(row.id, row.name, row.platform, row.external_id, row.capacity)
    return info, CommunityRef(workspace_id, row.community_id, row.community_name, row.timezone)
