"""Token buckets: never more than the rate allows, and no slower than it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from shequn.adapters.base import Bucket
from shequn.runtime.outbox.buckets import Limiter, TokenBucket

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def drain(bucket: TokenBucket, n: int) -> datetime:
    """Take ``n`` tokens as fast as the bucket allows; return when the last was taken."""
    now = T0
    for _ in range(n):
        wait = bucket.wait(now)
        now += timedelta(seconds=wait)
        bucket.take(now)
    return now


@given(
    rate=st.floats(min_value=0.05, max_value=100),
    burst=st.integers(min_value=1, max_value=50),
    n=st.integers(min_value=1, max_value=300),
)
def test_a_bucket_paces_to_its_rate_after_the_burst(rate: float, burst: int, n: int) -> None:
    last = drain(TokenBucket(Bucket(rate, burst)), n)
    expected = max(0, n - burst) / rate
    # Waits are rounded up to whole microseconds, at most one per token.
    assert expected - 1e-6 <= (last - T0).total_seconds() <= expected + n * 1e-6


@given(
    gaps=st.lists(st.floats(min_value=0, max_value=5), min_size=1, max_size=200),
    rate=st.floats(min_value=0.5, max_value=20),
    burst=st.integers(min_value=1, max_value=10),
)
def test_no_window_ever_sees_more_than_burst_plus_rate(
    gaps: list[float], rate: float, burst: int
) -> None:
    bucket, now, taken = TokenBucket(Bucket(rate, burst)), T0, []
    for gap in gaps:
        now += timedelta(seconds=gap)
        if bucket.wait(now) == 0:
            bucket.take(now)
            taken.append(now)
    for i, start in enumerate(taken):
        for window in (1.0, 10.0):
            inside = sum(1 for t in taken[i:] if (t - start).total_seconds() < window)
            assert inside <= burst + rate * window + 1e-9


def test_the_limiter_takes_from_every_bucket_or_from_none() -> None:
    limiter = Limiter(overall=Bucket(1, 1))
    group, account = Bucket.per_minute(20), Bucket.per_second(30)
    assert limiter.try_take(T0, "a", "g1", per_group=group, per_account=account) == 0
    # The overall bucket is empty: nothing may go, and the group keeps its tokens.
    wait = limiter.try_take(T0, "a", "g2", per_group=group, per_account=account)
    assert wait == 1.0
    assert limiter.group_wait(T0, "a", "g2") == 0
    later = T0 + timedelta(seconds=1)
    assert limiter.try_take(later, "a", "g2", per_group=group, per_account=account) == 0


def test_a_group_bucket_holds_only_its_own_group() -> None:
    limiter = Limiter()
    group = Bucket.per_minute(2, burst=2)
    for _ in range(2):
        assert limiter.try_take(T0, "a", "g1", per_group=group, per_account=None) == 0
    assert limiter.try_take(T0, "a", "g1", per_group=group, per_account=None) == 30.0
    assert limiter.try_take(T0, "a", "g2", per_group=group, per_account=None) == 0
    assert limiter.account_room(T0, "a", None) is None
