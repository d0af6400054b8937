"""When things happen: the calendar of the window and the daily and weekly rhythm of chat.

Times are handled as POSIX seconds (floats) internally because arithmetic on
them is cheap; the stream turns them into aware UTC datetimes at the end.
Days are *local* days in the community's time zone, so "9–11 am" means 9–11 am
in Shanghai whatever UTC says, and a DST day has 23 or 25 hours.
"""

from __future__ import annotations

import math
from bisect import bisect
from datetime import date, datetime, time, timedelta
from itertools import accumulate
from random import Random

from shequn.kit.timeutil import zone

#: Relative chat volume per local hour: peaks at 9–11, 15–17 and 21–23 (the
#: golden hours of seed 000/003), almost nothing at 2–6 am.
# fmt: off
HOURLY = (
    2.0, 1.0, 0.35, 0.2, 0.15, 0.3, 1.2, 3.0, 5.0, 7.5, 8.0, 7.0,
    5.0, 4.0, 4.5, 6.5, 7.0, 6.0, 4.5, 5.0, 6.5, 8.0, 8.5, 5.5,
)
# fmt: on
_HOUR_CUM = tuple(accumulate(HOURLY))

#: Relative volume Monday..Friday; the weekend comes from the group's topic.
WEEKDAYS = (1.0, 1.04, 1.0, 1.02, 0.95)

#: Waking hours for joins, purchases and the like (9:00–22:59, flat).
_DAYTIME = (9, 23)


class Calendar:
    """The simulated window: ``days`` local days ending on ``end`` in time zone ``tz``.

    Day offsets are relative to the first day of the window; negative offsets
    are the weeks before it, where founding members joined.
    """

    def __init__(self, end: date, days: int, tz: str) -> None:
        self.days = days
        self.first = end - timedelta(days=days - 1)
        self._zone = zone(tz)
        self._starts: dict[int, float] = {}

    def date(self, day: int) -> date:
        return self.first + timedelta(days=day)

    def day_start(self, day: int) -> float:
        """POSIX time of local midnight starting day ``day``."""
        ts = self._starts.get(day)
        if ts is None:
            local = datetime.combine(self.date(day), time(), self._zone)
            ts = self._starts[day] = local.timestamp()
        return ts

    def day_length(self, day: int) -> float:
        return self.day_start(day + 1) - self.day_start(day)

    def weekday(self, day: int) -> int:
        return self.date(day).weekday()

    @property
    def start(self) -> float:
        return self.day_start(0)

    @property
    def stop(self) -> float:
        """The instant the window ends (exclusive): midnight after the last day."""
        return self.day_start(self.days)

    def day_of(self, ts: float) -> int:
        """The day offset containing instant ``ts``."""
        day = math.floor((ts - self.start) / 86400.0)
        while self.day_start(day) > ts:
            day -= 1
        while self.day_start(day + 1) <= ts:
            day += 1
        return day


def volume_factor(weekday: int, weekend: float) -> float:
    """How busy a weekday is relative to an ordinary Monday."""
    return WEEKDAYS[weekday] if weekday < 5 else weekend


def chat_second(rng: Random) -> float:
    """A second of the local day, following the hourly chat profile."""
    hour = bisect(_HOUR_CUM, rng.random() * _HOUR_CUM[-1])
    return hour * 3600.0 + rng.random() * 3600.0


def daytime_second(rng: Random) -> float:
    lo, hi = _DAYTIME
    return (lo + rng.random() * (hi - lo)) * 3600.0


def around(rng: Random, hour: float, spread_min: float) -> float:
    """A second near ``hour`` o'clock, give or take ``spread_min`` minutes (triangular)."""
    return hour * 3600.0 + rng.triangular(-spread_min, spread_min, 0.0) * 60.0


def burst_times(
    rng: Random, count: int, day_length: float, anchors: tuple[tuple[float, int], ...] = ()
) -> list[float]:
    """``count`` message seconds within a day, in order, clustered in conversations.

    Real chat comes in bursts: someone starts a thread, others reply within a
    minute or two, then silence. Bursts start on the hourly profile;
    ``anchors`` are (second, size) bursts placed on purpose (a talk at 20:00).
    """
    times: list[float] = []
    last = day_length - 1.0
    for at, size in anchors:
        t = at
        for _ in range(size):
            times.append(t if t < last else last - rng.random() * 600.0)
            t += rng.expovariate(1 / 50.0)
    remaining = count
    expo = rng.expovariate
    while remaining > 0:
        size = min(remaining, 1 + int(expo(1 / 5.0)))
        remaining -= size
        t = chat_second(rng)
        for _ in range(size):
            # A burst running past midnight folds back into the last minutes.
            times.append(t if t < last else last - rng.random() * 600.0)
            t += expo(1 / 45.0)
    times.sort()
    return times


def poisson(rng: Random, mean: float) -> int:
    """A Poisson draw; the normal approximation above 30 is plenty for chat volumes."""
    if mean <= 0:
        return 0
    if mean > 30:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k
