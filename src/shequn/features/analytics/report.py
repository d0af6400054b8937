"""The community health report: every figure, per group and overall, as one JSON-able dict.

``build_report`` runs the rollup queries of ``metrics.py`` once for all groups,
diagnoses each group's complete weeks, and writes the reasons in the chosen
language. Its shape is documented in the README ("The report's JSON form");
the HTML and terminal renderers read nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from shequn.features.analytics import measures, metrics
from shequn.features.analytics.health.logic import Diagnosis, Thresholds, Week, diagnose
from shequn.features.analytics.health.wording import LANGS, advice, detail
from shequn.features.analytics.rollup.logic import week_of
from shequn.features.analytics.scope import Scope
from shequn.kit.timeutil import zone

REPORT_VERSION = 1
DEFAULT_DAYS = 91
TOPIC_WEEKS = 4
TERMS_PER_WEEK = 10
WEEK = timedelta(days=7)


@dataclass(frozen=True)
class ReportOptions:
    lang: str = "zh-CN"
    groups: tuple[str, ...] = ()  # names or external ids; empty: every group
    silent_days: int = 30
    answer_minutes: int = 30
    thresholds: Thresholds = field(default_factory=Thresholds)

    def __post_init__(self) -> None:
        if self.lang not in LANGS:
            raise ValueError(f"unknown language {self.lang!r}: choose one of {', '.join(LANGS)}")


def default_scope(
    conn: Connection,
    community_id: int,
    timezone: str,
    *,
    now: datetime,
    start: date | None = None,
    end: date | None = None,
) -> Scope:
    """The range a report covers when not told: the 13 weeks up to the last activity
    (or all of it, when the history is shorter).

    ``as_of`` is the last counted message (or now, if earlier), so the week it
    falls in — which an export may have cut short — counts as partial.
    """
    last = metrics.last_activity(conn, community_id)
    as_of = min(last, now) if last is not None else now
    end = end or as_of.astimezone(zone(timezone)).date()
    if start is None:
        first = metrics.first_day(conn, community_id)
        start = end - timedelta(days=DEFAULT_DAYS - 1)
        if first is not None and first <= end:
            start = max(start, first)
    if start > end:
        raise ValueError(f"the range starts ({start}) after it ends ({end})")
    scope = Scope(community_id, timezone, start, end, as_of)
    reaches = last is None or last < scope.end_instant
    return replace(scope, as_of=min(as_of, scope.end_instant), reaches_latest=reaches)


def _activity(
    roster: metrics.Roster | None,
    daily: dict[date, int],
    counts: list[int],
    speakers: int,
    wau: int,
    mau: int,
    scope: Scope,
    silent_days: int,
) -> dict[str, Any]:
    members = roster.members if roster else 0
    return {
        "dau": round(
            sum(n for d, n in daily.items() if d > scope.end - WEEK) / min(7, scope.days), 2
        ),
        "wau": wau,
        "mau": mau,
        "speaker_ratio": round(measures.ratio(speakers, members), 4),
        "top20_share": round(measures.top_share(counts), 4),
        "gini": round(measures.gini(counts), 4),
        "lurker_share": round(measures.ratio(roster.lurkers, members), 4) if roster else 0.0,
        "silent_members": roster.silent if roster else 0,
        "silent_days": silent_days,
    }


def _daily(
    scope: Scope, counts: dict[date, dict[str, int]], speakers: dict[date, int]
) -> list[dict[str, Any]]:
    out = []
    for n in range(scope.days):
        day = scope.start + timedelta(days=n)
        c = counts.get(day, {})
        out.append(
            {
                "day": day.isoformat(),
                "messages": c.get("messages", 0),
                "speakers": speakers.get(day, 0),
                "joins": c.get("joins", 0),
                "leaves": c.get("leaves", 0) + c.get("kicks", 0),
            }
        )
    return out


def _weeks(scope: Scope) -> list[date]:
    """Mondays of every week the range touches."""
    first, weeks = week_of(scope.start), []
    while first <= scope.end:
        weeks.append(first)
        first += timedelta(days=7)
    return weeks


def _sum(counts: dict[date, dict[str, int]], column: str, days: list[date]) -> int:
    return sum(counts.get(d, {}).get(column, 0) for d in days)


class _Builder:
    def __init__(self, conn: Connection, scope: Scope, options: ReportOptions) -> None:
        self.conn, self.scope, self.options = conn, scope, options
        c, s = conn, scope
        self.counts = metrics.day_counts(c, s)
        self.daily_speakers, self.community_daily = metrics.daily_speakers(c, s)
        self.weekly_speakers = metrics.weekly_speakers(c, s)
        self.leaders = metrics.weekly_leader_messages(c, s)
        windows = (s.start, s.end - timedelta(days=6), s.end - timedelta(days=29))
        per_group, overall = metrics.speakers_since(c, s, windows)
        self.speakers = {g: n[0] for g, n in per_group.items()}
        self.wau = {g: n[1] for g, n in per_group.items()}
        self.mau = {g: n[2] for g, n in per_group.items()}
        self.community_speakers, self.community_wau, self.community_mau = overall
        self.messages, self.community_messages = metrics.member_messages(c, s)
        self.rosters, self.community_roster = metrics.rosters(c, s, options.silent_days)
        self.heat = metrics.heatmaps(c, s)
        self.cohorts = metrics.cohorts(c, s)
        self.complete = scope.complete_weeks()
        self.all_weeks = _weeks(scope)
        self.now_members = metrics.members_now(c, s)
        self.changes = metrics.changes_after(c, s, self.all_weeks[0])
        topic_weeks = self.all_weeks[-(TOPIC_WEEKS + 1) :]
        rising_weeks = self.complete[-5:]
        self.terms = metrics.term_weeks(c, s, sorted(set(topic_weeks) | set(rising_weeks)))
        self.topic_weeks, self.rising_weeks = topic_weeks, rising_weeks

    def members_at(self, gid: int, day: date) -> int:
        """Seats held at the end of ``day``: today's roster minus the changes since."""
        later = sum(n for d, n in self.changes.get(gid, {}).items() if d > day)
        return max(0, self.now_members.get(gid, 0) - later)

    def weekly(self, gid: int) -> tuple[list[dict[str, Any]], list[Week]]:
        counts = self.counts.get(gid, {})
        rows, complete = [], []
        for wk in self.all_weeks:
            days = [wk + timedelta(days=i) for i in range(7)]
            messages = _sum(counts, "messages", days)
            week = Week(
                week=wk,
                messages=messages,
                speakers=self.weekly_speakers.get(gid, {}).get(wk, 0),
                members=self.members_at(gid, wk + timedelta(days=6)),
                joins=_sum(counts, "joins", days),
                leaves=_sum(counts, "leaves", days) + _sum(counts, "kicks", days),
                leader_messages=self.leaders.get(gid, {}).get(wk, 0),
                newcomers=_sum(counts, "newcomers", days),
                newcomers_answered=_sum(counts, "newcomers_answered", days),
            )
            if wk in self.complete:
                complete.append(week)
            rows.append(
                {
                    "week": wk.isoformat(),
                    "complete": wk in self.complete,
                    "messages": week.messages,
                    "speakers": week.speakers,
                    "members": week.members,
                    "joins": week.joins,
                    "leaves": week.leaves,
                    "leader_share": round(measures.ratio(week.leader_messages, messages), 4),
                    "speaker_ratio": round(measures.ratio(week.speakers, week.members), 4),
                }
            )
        return rows, complete

    def responsiveness(self, gid: int) -> dict[str, Any]:
        counts = self.counts.get(gid, {})
        totals: dict[str, int] = {}
        for day in counts.values():
            for k, v in day.items():
                totals[k] = totals.get(k, 0) + v
        answered = measures.answered_within(totals, 1440)
        within = measures.answered_within(totals, self.options.answer_minutes)
        median = measures.median_reply_minutes(totals)
        questions = totals.get("questions", 0)
        newcomers = totals.get("newcomers", 0)
        return {
            "questions": questions,
            "answered": answered,
            "answered_share": round(measures.ratio(answered, questions), 4),
            "within_minutes": self.options.answer_minutes,
            "answered_within_share": round(measures.ratio(within, questions), 4),
            "median_reply_minutes": round(median, 1) if median is not None else None,
            "newcomers": newcomers,
            "newcomers_unanswered": newcomers - totals.get("newcomers_answered", 0),
        }

    def topics(self, gid: int) -> dict[str, Any]:
        by_week = self.terms.get(gid, {})
        weeks = []
        for wk in reversed(self.topic_weeks[-TOPIC_WEEKS:]):
            top = sorted(by_week.get(wk, {}).items(), key=lambda kv: (-kv[1], kv[0]))
            weeks.append(
                {
                    "week": wk.isoformat(),
                    "terms": [{"term": t, "count": n} for t, n in top[:TERMS_PER_WEEK]],
                }
            )
        rising: list[measures.Rising] = []
        if len(self.rising_weeks) >= 2:
            previous = [by_week.get(w, {}) for w in self.rising_weeks[:-1]]
            rising = measures.rising_terms(by_week.get(self.rising_weeks[-1], {}), previous)
        return {
            "weeks": weeks,
            "rising": [
                {
                    "term": r.term,
                    "count": r.count,
                    "baseline": round(r.baseline, 2),
                    "score": round(r.score, 2),
                }
                for r in rising
            ],
        }

    def health(self, diagnosis: Diagnosis) -> dict[str, Any]:
        lang = self.options.lang
        return {
            "score": diagnosis.score,
            "declining": diagnosis.declining,
            "weeks_compared": diagnosis.weeks_compared,
            "reasons": [
                {
                    "code": r.code,
                    "detail": detail(lang, r.code, r.figures),
                    "figures": {k: v for k, v in r.figures.items() if k != "severity"},
                    "advice": advice(lang, r.code),
                }
                for r in diagnosis.reasons
            ],
        }

    def cohort_rows(self, gid: int) -> list[dict[str, Any]]:
        last = week_of(self.scope.end)
        return [
            {
                "week": c.week.isoformat(),
                "size": c.size,
                "retention": [
                    round(x, 4)
                    for x in measures.retention(c.size, c.active, (last - c.week).days // 7 + 1)
                ],
            }
            for c in self.cohorts.get(gid, [])
        ]

    def group(self, info: metrics.GroupInfo) -> dict[str, Any]:
        gid, counts = info.id, self.counts.get(info.id, {})
        days = list(counts)
        roster = self.rosters.get(gid)
        weekly, complete = self.weekly(gid)
        diagnosis = diagnose(complete, self.options.thresholds)
        cells = self.heat.get(gid, [])
        golden = sorted(cells, key=lambda c: (-c[2], c[0], c[1]))[:3]
        return {
            "id": gid,
            "name": info.name,
            "platform": info.platform,
            "external_id": info.external_id,
            "capacity": info.capacity,
            "totals": {
                "members": roster.members if roster else 0,
                "messages": _sum(counts, "messages", days),
                "joins": _sum(counts, "joins", days),
                "leaves": _sum(counts, "leaves", days) + _sum(counts, "kicks", days),
                "speakers": self.speakers.get(gid, 0),
            },
            "activity": _activity(
                roster,
                self.daily_speakers.get(gid, {}),
                self.messages.get(gid, []),
                self.speakers.get(gid, 0),
                self.wau.get(gid, 0),
                self.mau.get(gid, 0),
                self.scope,
                self.options.silent_days,
            ),
            "daily": _daily(self.scope, counts, self.daily_speakers.get(gid, {})),
            "weekly": weekly,
            "heatmap": {
                "cells": [list(c) for c in cells],
                "golden_hours": [{"weekday": w, "hour": h, "messages": n} for w, h, n in golden],
            },
            "cohorts": self.cohort_rows(gid),
            "responsiveness": self.responsiveness(gid),
            "topics": self.topics(gid),
            "health": self.health(diagnosis),
        }


def _wanted(info: metrics.GroupInfo, names: tuple[str, ...]) -> bool:
    return not names or info.name in names or info.external_id in names or str(info.id) in names


def build_report(
    conn: Connection,
    scope: Scope,
    *,
    community_name: str,
    generated_at: datetime,
    options: ReportOptions | None = None,
) -> dict[str, Any]:
    """The whole report for ``scope``; raises ValueError when no group matches the filter."""
    options = options or ReportOptions()
    infos = [g for g in metrics.groups(conn, scope.community_id) if _wanted(g, options.groups)]
    if not infos:
        wanted = ", ".join(options.groups) or "any group"
        raise ValueError(f"no group in community {community_name!r} matches {wanted}")
    if options.groups:
        scope = replace(scope, groups=tuple(g.id for g in infos))
    b = _Builder(conn, scope, options)
    groups = [b.group(info) for info in infos]
    tz = scope.zone
    overall_counts: dict[date, dict[str, int]] = {}
    for g in infos:
        for day, c in b.counts.get(g.id, {}).items():
            into = overall_counts.setdefault(day, {})
            for k, v in c.items():
                into[k] = into.get(k, 0) + v
    all_days = list(overall_counts)
    roster = b.community_roster
    return {
        "version": REPORT_VERSION,
        "lang": options.lang,
        "community": {"name": community_name, "timezone": scope.timezone},
        "generated_at": generated_at.astimezone(tz).isoformat(timespec="seconds"),
        "range": {
            "from": scope.start.isoformat(),
            "to": scope.end.isoformat(),
            "as_of": scope.as_of.astimezone(tz).isoformat(timespec="seconds"),
            "weeks_complete_to": b.complete[-1].isoformat() if b.complete else None,
        },
        "overview": {
            "groups": len(groups),
            "declining_groups": sum(g["health"]["declining"] for g in groups),
            "totals": {
                "members": roster.members if roster else 0,
                "messages": _sum(overall_counts, "messages", all_days),
                "joins": _sum(overall_counts, "joins", all_days),
                "leaves": _sum(overall_counts, "leaves", all_days)
                + _sum(overall_counts, "kicks", all_days),
                "speakers": b.community_speakers,
            },
            "activity": _activity(
                roster,
                b.community_daily,
                b.community_messages,
                b.community_speakers,
                b.community_wau,
                b.community_mau,
                scope,
                options.silent_days,
            ),
            "daily": _daily(scope, overall_counts, b.community_daily),
        },
        "groups": groups,
    }
