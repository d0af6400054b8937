"""The lifecycle arcs are the ground truth for health analytics: they must show, week over week."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, timedelta

import pytest

from shequn.core import EventType
from shequn.simulator import SimConfig, simulate


def thirds(run):
    """Per group and per third of the window: messages, staff messages, speakers, joins, leaves."""
    start, stop = run.community.window
    third = (stop - start) / 3
    stats = defaultdict(lambda: [Counter(), Counter(), [set(), set(), set()]])
    staff = {g.external_id: {g.owner, *g.admins} for g in run.community.groups}
    for e in run.events:
        if e.occurred_at < start:
            continue
        k = min(2, int((e.occurred_at - start) / third))
        counts, staff_counts, speakers = stats[e.group]
        counts[(e.type, k)] += 1
        if e.type is EventType.MESSAGE:
            speakers[k].add(e.actor)
            if e.actor in staff[e.group]:
                staff_counts[k] += 1
    return stats


def by_arc(run, arc):
    return [g for g in run.community.groups if g.arc == arc]


def test_every_arc_is_present_from_three_groups_on(mid_run) -> None:
    arcs = Counter(g.arc for g in mid_run.community.groups)
    assert arcs["declining"] >= 1 and arcs["growing"] >= 1 and arcs["healthy"] >= 3


@pytest.mark.parametrize("groups", [1, 2])
def test_one_or_two_groups_are_all_healthy(groups: int) -> None:
    community = simulate(SimConfig(groups=groups, members=200, days=20))
    assert {g.arc for g in community.groups} == {"healthy"}


def test_default_community_has_several_arcs() -> None:
    arcs = Counter(g.arc for g in simulate(SimConfig()).groups)
    assert arcs["declining"] >= 1 and arcs["growing"] >= 1 and arcs["healthy"] >= 10


def test_declining_group_loses_its_leader_its_speakers_and_its_newcomers(mid_run) -> None:
    stats = thirds(mid_run)
    M, J, L = EventType.MESSAGE, EventType.JOIN, EventType.LEAVE
    for g in by_arc(mid_run, "declining"):
        counts, staff_counts, speakers = stats[g.external_id]
        share = [staff_counts[k] / counts[(M, k)] for k in (0, 2)]
        assert share[1] < 0.5 * share[0], share  # the owner and admins fade
        assert len(speakers[2]) < 0.7 * len(speakers[0])  # few still speak (围城)
        assert counts[(M, 2)] < 0.7 * counts[(M, 0)]  # the chat dries up
        assert counts[(J, 0)] > 0 and counts[(J, 2)] == 0  # no new blood
        assert counts[(L, 2)] > 0


def test_declining_group_keeps_most_of_its_members(mid_run) -> None:
    start, stop = mid_run.community.window
    fade = start + (stop - start) * 0.6
    for g in by_arc(mid_run, "declining"):
        size_at, size = {}, 0
        for e in mid_run.events:
            if e.group == g.external_id and e.type in (EventType.JOIN, EventType.LEAVE):
                if e.occurred_at >= fade and "fade" not in size_at:
                    size_at["fade"] = size
                size += 1 if e.type is EventType.JOIN else -1
        assert size >= 0.8 * size_at["fade"]


def test_growing_group_starts_inside_the_window_and_gains_momentum(mid_run) -> None:
    start, stop = mid_run.community.window
    for g in by_arc(mid_run, "growing"):
        events = [e for e in mid_run.events if e.group == g.external_id]
        assert events[0].occurred_at >= start
        assert events[0].type is EventType.JOIN and events[0].actor == g.owner
        first_day = mid_run.community.config.end - timedelta(days=mid_run.community.config.days - 1)
        assert (
            first_day
            <= g.created_on
            <= first_day + timedelta(days=mid_run.community.config.days // 2)
        )
        born = events[0].occurred_at
        half = born + (stop - born) / 2
        joins = Counter(e.occurred_at >= half for e in events if e.type is EventType.JOIN)
        chat = Counter(e.occurred_at >= half for e in events if e.type is EventType.MESSAGE)
        assert joins[True] > 1.3 * joins[False]
        assert chat[True] > 1.3 * chat[False]
        weeks = Counter(
            (e.occurred_at - born).days // 7 for e in events if e.type is EventType.JOIN
        )
        full = sorted(w for w in weeks if born + timedelta(days=7 * (w + 1)) <= stop)
        assert weeks[full[-1]] > weeks[full[1]]  # after the founding week, joins keep rising


def test_healthy_groups_stay_roughly_stable(mid_run) -> None:
    stats = thirds(mid_run)
    M = EventType.MESSAGE
    for g in by_arc(mid_run, "healthy"):
        counts, _, speakers = stats[g.external_id]
        assert 0.75 < counts[(M, 2)] / counts[(M, 0)] < 1.4, g.external_id
        assert 0.75 < len(speakers[2]) / len(speakers[0]) < 1.4, g.external_id


def test_only_founding_joins_precede_the_window_and_they_are_spread_out(mid_run) -> None:
    start, _ = mid_run.community.window
    before = [e for e in mid_run.events if e.occurred_at < start]
    assert before and all(e.type is EventType.JOIN for e in before)
    grown = {g.external_id for g in by_arc(mid_run, "growing")}
    assert not any(e.group in grown for e in before)
    assert before[-1].occurred_at - before[0].occurred_at > timedelta(days=21)
    # joins inside the window are a steady inflow, not a spike on day one
    daily = Counter(
        (e.occurred_at - start).days
        for e in mid_run.events
        if e.type is EventType.JOIN and e.occurred_at >= start and e.group not in grown
    )
    assert daily[0] < 4 * (sum(daily.values()) / mid_run.community.config.days)


def test_owner_and_admins_join_first(mid_run) -> None:
    first_joins: dict[str, list[str]] = defaultdict(list)
    for e in mid_run.events:
        if e.type is EventType.JOIN and e.actor not in first_joins[e.group]:
            first_joins[e.group].append(e.actor)
    for g in mid_run.community.groups:
        order = first_joins[g.external_id]
        assert order[0] == g.owner
        assert set(order[1 : 1 + len(g.admins)]) == set(g.admins)


def test_created_on_matches_the_first_join(mid_run) -> None:
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(mid_run.community.config.timezone)
    first: dict[str, date] = {}
    for e in mid_run.events:
        if e.type is EventType.JOIN:
            first.setdefault(e.group, e.occurred_at.astimezone(zone).date())
    for g in mid_run.community.groups:
        assert first[g.external_id] == g.created_on
