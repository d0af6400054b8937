"""The simulator is a pure function of its config, and every stream it yields is sound."""

from __future__ import annotations

import types
from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shequn.core import Event
from shequn.simulator import SimConfig, simulate

SMALL = SimConfig(groups=4, members=300, days=10, end=date(2026, 3, 1))


def fingerprint(e: Event) -> tuple:
    message = repr(e.message.to_list()) if e.message else ""
    return (
        e.type,
        e.platform,
        e.source,
        e.source_id,
        e.occurred_at,
        e.group,
        e.group_name,
        e.actor,
        e.actor_name,
        message,
        tuple(sorted(e.payload.items())),
    )


def test_same_config_gives_identical_events() -> None:
    first = [fingerprint(e) for e in simulate(SMALL).events()]
    second = [fingerprint(e) for e in simulate(SMALL).events()]
    assert first and first == second


def test_events_can_be_replayed_from_the_same_community() -> None:
    community = simulate(SMALL)
    assert [fingerprint(e) for e in community.events()] == [
        fingerprint(e) for e in community.events()
    ]


def test_the_stream_is_lazy() -> None:
    assert isinstance(simulate(SMALL).events(), types.GeneratorType)


def test_a_different_seed_gives_a_different_community() -> None:
    a, b = simulate(SMALL), simulate(SimConfig(**{**SMALL.__dict__, "seed": SMALL.seed + 1}))
    assert [p.name for p in a.people] != [p.name for p in b.people]
    texts_a = [e.text for e in a.events() if e.text][:200]
    texts_b = [e.text for e in b.events() if e.text][:200]
    assert texts_a != texts_b


def test_the_cast(mid_run) -> None:
    community = mid_run.community
    assert community.name and any("\u4e00" <= ch <= "\u9fff" for ch in community.name)
    assert len(community.people) == 2000
    assert len({p.external_id for p in community.people}) == 2000
    assert all(p.external_id.startswith("u") for p in community.people)
    assert all(2 <= len(p.name) <= 4 for p in community.people)
    assert len({p.nickname for p in community.people}) > 500  # varied, not one pattern
    assert [g.external_id for g in community.groups] == [f"g{i:02d}" for i in range(1, 9)]
    people = {p.external_id for p in community.people}
    for g in community.groups:
        assert g.name.endswith("群") and g.capacity >= 500
        assert g.owner in people and 1 <= len(g.admins) <= 3
        assert g.owner not in g.admins and set(g.admins) <= people


def test_the_mid_stream_keeps_every_invariant(mid_run, stream_checker) -> None:
    assert stream_checker(mid_run.community, mid_run.events) == len(mid_run.events)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    groups=st.integers(1, 6),
    members=st.integers(1, 120),
    days=st.integers(1, 20),
    seed=st.integers(0, 2**32),
    end=st.dates(date(2020, 1, 1), date(2035, 12, 31)),
    timezone=st.sampled_from(["Asia/Shanghai", "UTC", "Europe/Berlin", "America/New_York"]),
)
def test_any_small_config_gives_a_sound_stream(
    stream_checker, groups: int, members: int, days: int, seed: int, end: date, timezone: str
) -> None:
    config = SimConfig(
        groups=groups, members=members, days=days, seed=seed, end=end, timezone=timezone
    )
    community = simulate(config)
    assert len(community.groups) == groups and len(community.people) == members
    stream_checker(community, community.events())
