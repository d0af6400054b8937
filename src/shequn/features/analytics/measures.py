"""The arithmetic behind the figures, on plain numbers. Pure.

Everything here takes what the rollups hold (counts per member, per bucket,
per week) and returns a figure; the queries that fetch those counts live in
``metrics.py``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from shequn.features.analytics.rollup.logic import REPLY_BUCKETS


def top_share(counts: Iterable[int], share: float = 0.2) -> float:
    """The part of all messages written by the most active ``share`` of speakers
    (the 80/20 of seed 002): at least one speaker is the top."""
    ordered = sorted((c for c in counts if c > 0), reverse=True)
    total = sum(ordered)
    if not total:
        return 0.0
    top = max(1, math.ceil(len(ordered) * share))
    return sum(ordered[:top]) / total


def gini(counts: Iterable[int]) -> float:
    """Gini coefficient of messages among speakers: 0 when all write alike, towards 1
    when one voice fills the group."""
    ordered = sorted(c for c in counts if c > 0)
    n, total = len(ordered), sum(ordered)
    if n < 2 or not total:
        return 0.0
    weighted = sum((i + 1) * c for i, c in enumerate(ordered))
    return (2 * weighted) / (n * total) - (n + 1) / n


def ratio(part: float, whole: float) -> float:
    return part / whole if whole else 0.0


def answered_within(buckets: Mapping[str, int], minutes: int) -> int:
    """Questions whose first reply came within ``minutes`` (a bucket bound, or the
    buckets wholly inside it)."""
    return sum(buckets.get(column, 0) for bound, column in REPLY_BUCKETS if bound <= minutes)


def median_reply_minutes(buckets: Mapping[str, int]) -> float | None:
    """The median time to first reply, interpolated inside its bucket.

    Exact to the bucket (1, 5, 15, 30, 60, 240, 1440 minutes): enough to tell a
    group that answers in minutes from one that answers the next day.
    """
    total = sum(buckets.get(column, 0) for _, column in REPLY_BUCKETS)
    if not total:
        return None
    half, seen, low = total / 2, 0, 0.0
    for bound, column in REPLY_BUCKETS:
        n = buckets.get(column, 0)
        if n and seen + n >= half:
            return low + (bound - low) * (half - seen) / n
        seen += n
        low = float(bound)
    return float(REPLY_BUCKETS[-1][0])


@dataclass(frozen=True, slots=True)
class Rising:
    term: str
    count: int
    baseline: float
    score: float


def rising_terms(
    latest: Mapping[str, int],
    previous: Sequence[Mapping[str, int]],
    *,
    limit: int = 10,
    min_count: int = 3,
) -> list[Rising]:
    """Terms used far more in the latest week than in the weeks before it.

    The score is how many standard deviations (Poisson: the square root of the
    mean) the latest count stands above the previous weeks' mean, with one
    added to the mean so a term never seen before still needs a few uses to
    count as a burst.
    """
    weeks = max(1, len(previous))
    out = []
    for term, count in latest.items():
        if count < min_count:
            continue
        baseline = sum(week.get(term, 0) for week in previous) / weeks
        score = (count - baseline) / math.sqrt(baseline + 1.0)
        if count > 2 * baseline and score >= 2.0:
            out.append(Rising(term, count, baseline, score))
    out.sort(key=lambda r: (-r.score, -r.count, r.term))
    return out[:limit]


def retention(cohort: int, active_weeks: Iterable[Iterable[int]], weeks: int) -> list[float]:
    """Share of a cohort of ``cohort`` members active ``k`` weeks after joining, for
    ``k`` in ``0 … weeks-1``; ``active_weeks`` gives each member's week offsets."""
    counts = [0] * weeks
    for offsets in active_weeks:
        for k in set(offsets):
            if 0 <= k < weeks:
                counts[k] += 1
    return [ratio(c, cohort) for c in counts]
