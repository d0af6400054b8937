"""The diagnosis recovers the arcs the simulator planted, and only those."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from shequn.features.analytics.health.logic import (
    ACTIVITY_DECLINE,
    FEWER_SPEAKERS,
    LEADER_FADING,
)


def test_declining_groups_are_flagged_with_their_reasons(simulated) -> None:  # type: ignore[no-untyped-def]
    report = simulated.report()
    arcs = simulated.arcs()
    declining = [g for g in report["groups"] if arcs[g["external_id"]] == "declining"]
    assert declining
    for group in declining:
        health = group["health"]
        assert health["declining"], group["name"]
        found = {r["code"] for r in health["reasons"]}
        assert {LEADER_FADING, FEWER_SPEAKERS, ACTIVITY_DECLINE} <= found, found
        assert health["score"] < 50
        for reason in health["reasons"]:
            assert reason["detail"] and reason["advice"] and reason["figures"]
    assert report["overview"]["declining_groups"] == len(declining)


def test_healthy_and_growing_groups_are_not_flagged(simulated) -> None:  # type: ignore[no-untyped-def]
    arcs = simulated.arcs()
    for group in simulated.report()["groups"]:
        if arcs[group["external_id"]] != "declining":
            assert not group["health"]["declining"], (group["name"], group["health"])
            assert group["health"]["score"] >= 70


def test_a_quiet_last_day_or_a_half_week_never_reads_as_decline(
    simulated_until: Callable[[datetime], object],
) -> None:
    # The export was taken on a Wednesday morning: the last day and week are partial.
    cut = simulated_until(datetime(2026, 9, 30, 1, 0, tzinfo=UTC))
    report = cut.report()  # type: ignore[attr-defined]
    arcs = cut.arcs()  # type: ignore[attr-defined]
    assert report["range"]["weeks_complete_to"] == "2026-09-21"
    last_week = report["groups"][0]["weekly"][-1]
    assert last_week["week"] == "2026-09-28" and not last_week["complete"]
    for group in report["groups"]:
        if arcs[group["external_id"]] != "declining":
            assert not group["health"]["declining"], group["health"]


def test_the_report_carries_every_section(simulated) -> None:  # type: ignore[no-untyped-def]
    report = simulated.report(lang="en")
    assert report["lang"] == "en" and report["overview"]["groups"] == len(simulated.sim.groups)
    group = max(report["groups"], key=lambda g: g["totals"]["messages"])
    totals = group["totals"]
    assert totals["messages"] > 1000 and 0 < totals["speakers"] <= totals["members"] + 50
    act = group["activity"]
    assert act["dau"] <= act["wau"] <= act["mau"] <= totals["speakers"]
    assert 0.5 < act["top20_share"] < 1 and 0 < act["gini"] < 1
    # The history is 70 days long: the report covers it all, not 91 days with empty ones.
    assert group["heatmap"]["golden_hours"] and len(group["daily"]) == 70
    assert group["responsiveness"]["questions"] > 0
    assert 0 < group["responsiveness"]["answered_share"] <= 1
    assert group["topics"]["weeks"][0]["terms"]
    assert any(c["size"] for c in group["cohorts"]) or arcs_growing(simulated, group)


def arcs_growing(simulated, group) -> bool:  # type: ignore[no-untyped-def]
    return simulated.arcs()[group["external_id"]] == "growing"
