"""The arithmetic of the figures, on tiny cases computed by hand."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shequn.features.analytics.measures import (
    answered_within,
    gini,
    median_reply_minutes,
    retention,
    rising_terms,
    top_share,
)


def test_top_share_of_five_speakers() -> None:
    # 5 speakers: the top 20 % is one speaker, who wrote 80 of 100 messages.
    assert top_share([80, 5, 5, 5, 5]) == pytest.approx(0.8)
    # 10 speakers: the top two wrote 30 + 20 of 100.
    assert top_share([30, 20, 10, 10, 10, 5, 5, 5, 3, 2]) == pytest.approx(0.5)
    assert top_share([]) == 0.0


def test_gini_by_hand() -> None:
    assert gini([5, 5, 5, 5]) == pytest.approx(0.0)
    # [1, 3]: mean absolute difference 2 / (2 * mean 2) over the pairs → 0.25
    assert gini([1, 3]) == pytest.approx(0.25)
    assert gini([0, 0, 10]) == 0.0  # one speaker: nothing to compare


@given(st.lists(st.integers(min_value=0, max_value=10_000), max_size=200))
def test_shares_stay_in_bounds(counts: list[int]) -> None:
    assert 0.0 <= gini(counts) < 1.0
    share = top_share(counts)
    assert 0.0 <= share <= 1.0
    if any(counts):
        assert share >= 0.2 - 1e-9  # the top fifth never writes less than a fifth


def test_answered_within_and_median() -> None:
    buckets = {"answered_1m": 2, "answered_5m": 2, "answered_15m": 0, "answered_1h": 4}
    assert answered_within(buckets, 5) == 4
    assert answered_within(buckets, 60) == 8
    # 8 answers: the median (4th of 8) is the last one of the 1–5 minute bucket.
    assert median_reply_minutes(buckets) == pytest.approx(5.0)
    assert median_reply_minutes({}) is None
    assert median_reply_minutes({"answered_1d": 1}) == pytest.approx(240 + (1440 - 240) * 0.5)


def test_rising_terms_need_a_real_burst() -> None:
    previous = [{"跑步": 20, "配速": 1}, {"跑步": 22}, {"跑步": 18, "配速": 1}]
    latest = {"跑步": 21, "配速": 12, "马拉松": 6, "新词": 2}
    rising = rising_terms(latest, previous)
    assert [r.term for r in rising] == ["配速", "马拉松"]
    assert rising[0].baseline == pytest.approx(2 / 3)


def test_retention_triangle() -> None:
    # 4 members joined; 3 spoke in their join week, 2 a week later, 1 two weeks later.
    assert retention(4, [[0, 1], [0], [0, 1, 2, 2], []], 3) == [0.75, 0.5, 0.25]
