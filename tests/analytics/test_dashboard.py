"""The dashboard's figures are the report's figures, computed in fewer, narrower queries."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from shequn.features.analytics import dashboard
from shequn.features.analytics.health.logic import Thresholds
from shequn.features.analytics.report import ReportOptions, build_report, default_scope


def _scope(sim: Any, **kwargs: Any) -> Any:
    with sim.app.engine.connect() as conn:
        return default_scope(
            conn, sim.ref.community_id, sim.ref.timezone, now=sim.app.clock.now(), **kwargs
        )


def _report(sim: Any, scope: Any, **options: Any) -> dict[str, Any]:
    with sim.app.engine.connect() as conn:
        return build_report(
            conn,
            scope,
            community_name=sim.ref.name,
            generated_at=sim.app.clock.now(),
            options=ReportOptions(**options),
        )


def _assert_health_agrees(sim: Any, scope: Any, thresholds: Thresholds | None = None) -> None:
    report = _report(sim, scope, thresholds=thresholds or Thresholds())
    with sim.app.engine.connect() as conn:
        health = dashboard.group_health(conn, scope, thresholds=thresholds)
    assert set(health) == {g["id"] for g in report["groups"]}
    for group in report["groups"]:
        mine, theirs = health[group["id"]], group["health"]
        assert mine.score == theirs["score"], group["name"]
        assert mine.declining == theirs["declining"], group["name"]
        assert mine.weeks_compared == theirs["weeks_compared"], group["name"]
        assert [
            (r.code, {k: v for k, v in r.figures.items() if k != "severity"}) for r in mine.reasons
        ] == [(r["code"], r["figures"]) for r in theirs["reasons"]]


def test_health_agrees_with_the_report(simulated) -> None:  # type: ignore[no-untyped-def]
    scope = _scope(simulated)
    _assert_health_agrees(simulated, scope)
    arcs = simulated.arcs()
    with simulated.app.engine.connect() as conn:
        health = dashboard.group_health(conn, scope)
        infos = {g.id: g.external_id for g in dashboard.metrics.groups(conn, scope.community_id)}
    flagged = {infos[gid] for gid, h in health.items() if h.declining}
    assert flagged == {ext for ext, arc in arcs.items() if arc == "declining"}
    assert flagged  # the simulator planted at least one declining group


def test_health_agrees_on_other_ranges_and_thresholds(simulated) -> None:  # type: ignore[no-untyped-def]
    # A range ending mid-history, one too short to compare, and touchier thresholds.
    _assert_health_agrees(simulated, _scope(simulated, end=date(2026, 9, 16)))
    _assert_health_agrees(
        simulated, _scope(simulated, start=date(2026, 9, 14), end=date(2026, 10, 4))
    )
    touchy = Thresholds(recent_weeks=2, baseline_weeks=3, activity_drop=0.1, speakers_drop=0.05)
    _assert_health_agrees(simulated, _scope(simulated), touchy)


def test_health_agrees_when_the_export_ends_mid_week(
    simulated_until: Callable[[datetime], Any],
) -> None:
    cut = simulated_until(datetime(2026, 9, 30, 1, 0, tzinfo=UTC))
    _assert_health_agrees(cut, _scope(cut))


def test_overview_figures_agree_with_the_report(simulated) -> None:  # type: ignore[no-untyped-def]
    scope = _scope(simulated)
    report = _report(simulated, scope, lang="en")["overview"]
    with simulated.app.engine.connect() as conn:
        mine = dashboard.community_figures(conn, scope)
    assert mine.groups == report["groups"]
    assert mine.declining_groups == report["declining_groups"] > 0
    totals = report["totals"]
    assert (mine.members, mine.messages, mine.speakers, mine.joins, mine.leaves) == (
        totals["members"],
        totals["messages"],
        totals["speakers"],
        totals["joins"],
        totals["leaves"],
    )
    activity = report["activity"]
    assert (mine.dau, mine.wau, mine.mau, mine.speaker_ratio) == (
        activity["dau"],
        activity["wau"],
        activity["mau"],
        activity["speaker_ratio"],
    )
    expected = report["daily"][-dashboard.TREND_DAYS :]
    assert [
        {
            "day": p.day.isoformat(),
            "messages": p.messages,
            "speakers": p.speakers,
            "joins": p.joins,
            "leaves": p.leaves,
        }
        for p in mine.daily
    ] == expected
    assert [a.group_id for a in mine.alerts] == sorted(
        (g["id"] for g in _report(simulated, scope)["groups"] if g["health"]["declining"]),
    )


def test_group_lines_agree_with_the_report(simulated) -> None:  # type: ignore[no-untyped-def]
    scope = _scope(simulated)
    report = {g["id"]: g for g in _report(simulated, scope)["groups"]}
    with simulated.app.engine.connect() as conn:
        lines = dashboard.group_lines(conn, scope)
    assert {line.id for line in lines} == set(report)
    for line in lines:
        group = report[line.id]
        assert line.name == group["name"] and line.capacity == group["capacity"]
        assert line.members == group["totals"]["members"]
        assert (line.score, line.declining) == (
            group["health"]["score"],
            group["health"]["declining"],
        )
        assert (line.speakers_7d, line.speakers_30d) == (
            group["activity"]["wau"],
            group["activity"]["mau"],
        )
        daily = group["daily"]
        assert line.messages_7d == sum(d["messages"] for d in daily[-7:])
        assert line.messages_30d == sum(d["messages"] for d in daily[-30:])
        assert line.last_activity is not None


def test_group_filters_and_keyset_pages(simulated) -> None:  # type: ignore[no-untyped-def]
    scope = _scope(simulated)
    with simulated.app.engine.connect() as conn:
        every = dashboard.group_lines(conn, scope)
        declining = dashboard.group_lines(conn, scope, dashboard.GroupFilter(declining=True))
        none = dashboard.group_lines(conn, scope, dashboard.GroupFilter(q="no such group"))
        platform = dashboard.group_lines(conn, scope, dashboard.GroupFilter(platform="elsewhere"))
        one = every[2]
        named = dashboard.group_lines(conn, scope, dashboard.GroupFilter(q=one.name[1:3].upper()))
    assert [line.id for line in declining] == [line.id for line in every if line.declining]
    assert none == [] and platform == []
    assert one.id in {line.id for line in named}
    for sort in dashboard.SORTS:
        seen, after = [], None
        while True:
            page, after = dashboard.page_of(every, sort, after, 2)
            seen += page
            if after is None:
                break
        assert [line.id for line in seen] == [
            line.id for line in sorted(every, key=lambda x: dashboard.sort_key(x, sort))
        ]
    by_score = sorted(every, key=lambda x: dashboard.sort_key(x, "score"))
    assert by_score[0].score == min(line.score for line in every)


def test_group_report_is_the_reports_group(simulated) -> None:  # type: ignore[no-untyped-def]
    scope = _scope(simulated)
    report = _report(simulated, scope, lang="en")
    group = report["groups"][1]
    with simulated.app.engine.connect() as conn:
        mine = dashboard.group_report(
            conn, scope, group["id"], lang="en", generated_at=simulated.app.clock.now()
        )
    assert mine == group


@pytest.mark.parametrize("status", dashboard.SEAT_STATUSES)
def test_seats_page_through_every_seat_once(simulated, status: str) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import text

    with simulated.app.engine.connect() as conn:
        gid = conn.execute(text("select min(id) from chat_group")).scalar_one()
        where = {"present": "and left_at is null", "left": "and left_at is not null", "all": ""}
        expected = list(
            conn.execute(
                text(f"select number from membership where group_id = :g {where[status]}"),
                {"g": gid},
            ).scalars()
        )
        numbers, after = [], None
        while True:
            seats, after = dashboard.group_seats(conn, gid, status=status, after=after, limit=37)
            numbers += [s.number for s in seats]
            if after is None:
                break
    assert numbers == sorted(expected) and numbers


def test_a_partial_scope_reads_only_its_groups(simulated) -> None:  # type: ignore[no-untyped-def]
    scope = _scope(simulated)
    with simulated.app.engine.connect() as conn:
        every = dashboard.group_health(conn, scope)
        gid = sorted(every)[0]
        narrowed = dashboard.group_health(conn, replace(scope, groups=(gid,)))
    assert narrowed == {gid: every[gid]}
    assert scope.end - scope.start >= timedelta(days=60)
