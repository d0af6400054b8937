"""The diagnosis on weekly figures whose story is known."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from shequn.features.analytics.health.logic import (
    ACTIVITY_DECLINE,
    FEWER_SPEAKERS,
    LEADER_FADING,
    NEWCOMERS_IGNORED,
    NO_NEW_MEMBERS,
    Thresholds,
    Week,
    diagnose,
)
from shequn.features.analytics.health.wording import LANGS, advice, detail

MONDAY = date(2026, 6, 1)


def weeks(n: int, **changes: list[int] | int) -> list[Week]:
    out = []
    for i in range(n):
        values = dict(
            messages=700,
            speakers=60,
            members=200,
            joins=4,
            leaves=2,
            leader_messages=100,
            newcomers=3,
            newcomers_answered=3,
        )
        for k, v in changes.items():
            values[k] = v[i] if isinstance(v, list) else v
        out.append(Week(MONDAY + timedelta(weeks=i), **values))  # type: ignore[arg-type]
    return out


def codes(ws: list[Week], t: Thresholds | None = None) -> list[str]:
    return [r.code for r in diagnose(ws, t).reasons]


def test_a_steady_group_is_healthy() -> None:
    d = diagnose(weeks(8))
    assert (d.score, d.declining, d.reasons) == (100, False, ())


def test_the_three_causes_of_seed_003() -> None:
    ws = weeks(
        7,
        messages=[700, 720, 690, 710, 300, 250, 200],
        speakers=[60, 62, 58, 61, 30, 25, 22],
        leader_messages=[120, 110, 115, 118, 20, 10, 5],
        joins=[4, 5, 3, 4, 0, 0, 0],
        leaves=[2, 1, 2, 2, 5, 6, 4],
    )
    d = diagnose(ws)
    assert [r.code for r in d.reasons] == [
        LEADER_FADING,
        FEWER_SPEAKERS,
        NO_NEW_MEMBERS,
        ACTIVITY_DECLINE,
    ]
    assert d.declining and d.score < 40
    lead = d.reasons[0].figures
    assert lead["baseline_share"] > 0.15 and lead["recent_share"] < 0.05


def test_fewer_speakers_needs_membership_to_hold() -> None:
    quiet = weeks(7, speakers=[60, 60, 60, 60, 35, 33, 30])
    assert FEWER_SPEAKERS in codes(quiet)
    # Half the members left: fewer speakers is then no closed circle.
    shrinking = weeks(7, speakers=[60, 60, 60, 60, 35, 33, 30], members=[200] * 4 + [100] * 3)
    assert FEWER_SPEAKERS not in codes(shrinking)


def test_a_flood_of_newcomers_does_not_make_the_leader_fade() -> None:
    growing = weeks(7, messages=[300, 350, 400, 450, 900, 1100, 1300], leader_messages=80)
    assert LEADER_FADING not in codes(growing)


def test_newcomers_ignored() -> None:
    ws = weeks(7, newcomers=4, newcomers_answered=[4, 4, 4, 4, 1, 0, 1])
    assert codes(ws) == [NEWCOMERS_IGNORED]
    assert not diagnose(ws).declining


def test_too_little_history_or_too_small_a_group_says_nothing_of_trends() -> None:
    falling = dict(messages=[700, 700, 700, 100], speakers=[60, 60, 60, 10])
    assert codes(weeks(4, **falling)) == []  # one baseline week is not a baseline
    tiny = weeks(7, messages=[10, 12, 9, 11, 2, 1, 1], speakers=[3, 3, 3, 3, 1, 1, 1])
    assert ACTIVITY_DECLINE not in codes(tiny)


def test_thresholds_are_configurable() -> None:
    mild = weeks(7, messages=[700] * 4 + [550] * 3, speakers=[60] * 4 + [45] * 3)
    assert ACTIVITY_DECLINE not in codes(mild)
    assert ACTIVITY_DECLINE in codes(mild, Thresholds(activity_drop=0.2))


@given(st.lists(st.tuples(*(st.integers(0, 2000) for _ in range(6))), min_size=0, max_size=12))
def test_any_history_gives_a_bounded_score(rows: list[tuple[int, ...]]) -> None:
    ws = [
        Week(MONDAY + timedelta(weeks=i), m, min(s, mem), mem, j, lv, min(lead, m), 0, 0)
        for i, (m, s, mem, j, lv, lead) in enumerate(rows)
    ]
    d = diagnose(ws)
    assert 0 <= d.score <= 100
    assert d.declining == (
        ACTIVITY_DECLINE in codes(ws) or {LEADER_FADING, FEWER_SPEAKERS} <= set(codes(ws))
    )
    for reason in d.reasons:
        for lang in LANGS:
            assert detail(lang, reason.code, reason.figures) and advice(lang, reason.code)
