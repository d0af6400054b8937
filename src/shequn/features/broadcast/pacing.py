"""How often and when a group may receive broadcasts: the operator's manners, and WeCom's.

Twenty groups that each get five announcements a day stop reading them (刷屏), and a post
that lands at 03:00 wakes people who then mute the group. So every delivery is paced:

- **a daily cap** per group: no group gets more than N broadcasts in one local day;
- **quiet hours** (or their complement, a send window): a delivery that falls in them
  moves to the moment they end, never earlier;
- **golden hours**: a group may get the post at its own busiest hour, read from the
  analytics heatmap (messages per weekday and hour) — counts are passed in, so this stays
  pure;
- **WeCom's own limit**: a customer group takes one mass message (企业群发) per day, days
  counted in China time; ``wecom_conflicts`` says before sending which groups would exceed
  it and when each next has a slot.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo

from shequn.features.broadcast.localtime import (
    as_zone,
    at_clock,
    local_date,
    require_aware,
    resolve,
    start_of_day,
    wall_of,
)
from shequn.features.broadcast.problems import PacingError, Problem
from shequn.kit.wording import echo

MINUTES_A_DAY = 24 * 60
#: When a group has no activity to read a golden hour from: 21:00, inside the evening
#: golden hours (21–23) the product's community playbook names.
DEFAULT_GOLDEN_HOUR = 21
DEFAULT_DAILY_CAP = 3
MAX_DAILY_CAP = 50
WECOM_ZONE = "Asia/Shanghai"

_SPAN = re.compile(r"\s*([01]?\d|2[0-3]):([0-5]\d)\s*[-–~到至]\s*([01]?\d|2[0-4]):([0-5]\d)\s*\Z")


def _minute(clock: time) -> int:
    return clock.hour * 60 + clock.minute


@dataclass(frozen=True, slots=True)
class QuietHours:
    """Local times of day when nothing is sent: ``spans`` of (start, end), each
    half-open and crossing midnight when start > end (22:00–08:00). Minute precision."""

    spans: tuple[tuple[time, time], ...]
    _quiet: tuple[bool, ...] = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "spans", tuple(self.spans))
        mask = _mask(self.spans)
        if self.spans and all(mask):
            raise PacingError(
                [
                    Problem(
                        "quiet",
                        "covers the whole day: nothing could ever be sent",
                        "覆盖全天：将永远无法发送",
                    )
                ]
            )
        object.__setattr__(self, "_quiet", tuple(mask))

    def quiet_minute(self, minute: int) -> bool:
        """Whether the minute of the day ``minute`` (0–1439) is quiet."""
        return self._quiet[minute]

    @classmethod
    def parse(cls, text: str) -> QuietHours:
        """``"22:00-08:00"``, several separated by commas; ``""`` means none."""
        return cls(_spans(text, "quiet"))

    @classmethod
    def window(cls, text: str) -> QuietHours:
        """Quiet hours from a send window: ``"09:00-21:00"`` is quiet from 21:00 to 09:00."""
        spans = _spans(text, "window")
        if not spans:
            return cls(())
        return cls(_runs([not quiet for quiet in _mask(spans)]))

    def covers(self, instant: datetime, zone: tzinfo | str) -> bool:
        """Whether ``instant`` falls in quiet hours on the local clock."""
        if not self.spans:
            return False
        local = require_aware(instant, "instant").astimezone(as_zone(zone))
        return self._quiet[local.hour * 60 + local.minute]

    def next_open(self, instant: datetime, zone: tzinfo | str) -> datetime:
        """``instant`` itself outside quiet hours; else the moment they end (the first
        valid instant after, when that local time is skipped by a clock change)."""
        tz = as_zone(zone)
        moment = require_aware(instant, "instant")
        mask = self._quiet
        for _ in range(4):  # a clock change can land the end inside another span; bounded
            if not self.spans:
                return moment
            wall = wall_of(moment, tz)
            minute = wall.hour * 60 + wall.minute
            if not mask[minute]:
                return moment
            step = next(
                m for m in range(1, MINUTES_A_DAY + 1) if not mask[(minute + m) % MINUTES_A_DAY]
            )
            opening = wall.replace(second=0, microsecond=0) + timedelta(minutes=step)
            moment = max(moment, resolve(opening, tz, not_before=moment))
        return moment

    def to_text(self) -> str:
        return ", ".join(f"{a:%H:%M}-{b:%H:%M}" for a, b in self.spans)


def _mask(spans: Iterable[tuple[time, time]]) -> list[bool]:
    """Which minutes of the day the spans cover; an end of 00:00 is the day's end."""
    quiet = [False] * MINUTES_A_DAY
    for start, end in spans:
        first = _minute(start)
        last = _minute(end) or MINUTES_A_DAY
        if first < last:
            minutes: Iterable[int] = range(first, last)
        else:
            minutes = [*range(first, MINUTES_A_DAY), *range(last % MINUTES_A_DAY)]
        for minute in minutes:
            quiet[minute] = True
    return quiet


def _spans(text: str, where: str) -> tuple[tuple[time, time], ...]:
    spans: list[tuple[time, time]] = []
    for index, part in enumerate(p for p in re.split(r"[,，]", text) if p.strip()):
        match = _SPAN.match(part)
        if match is None:
            raise PacingError(
                [
                    Problem(
                        f"{where}[{index}]",
                        f"“{echo(part.strip())}” is not a span such as 22:00-08:00",
                        f"“{echo(part.strip())}”不是 22:00-08:00 这样的时段",
                    )
                ]
            )
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if h2 == 24 and m2:
            raise PacingError(
                [Problem(f"{where}[{index}]", "24:00 is the latest end", "最晚到 24:00")]
            )
        if h2 != 24 and (h1, m1) == (h2, m2):
            raise PacingError(
                [
                    Problem(
                        f"{where}[{index}]",
                        f"“{echo(part.strip())}” starts where it ends",
                        f"“{echo(part.strip())}”起止时间相同",
                    )
                ]
            )
        spans.append((time(h1, m1), time(0) if h2 == 24 else time(h2, m2)))
    return tuple(spans)


def _runs(mask: Sequence[bool]) -> tuple[tuple[time, time], ...]:
    """The spans of True in a minute mask, a run across midnight kept as one span."""

    def clock(minute: int) -> time:
        minute %= MINUTES_A_DAY
        return time(minute // 60, minute % 60)

    if all(mask):
        return ((time(0), time(0)),)  # refused by QuietHours: nothing could be sent
    first_open = mask.index(False)
    spans: list[tuple[time, time]] = []
    start: int | None = None
    for offset in range(1, MINUTES_A_DAY + 1):
        minute = first_open + offset
        quiet = mask[minute % MINUTES_A_DAY]
        if quiet and start is None:
            start = minute
        elif not quiet and start is not None:
            spans.append((clock(start), clock(minute)))
            start = None
    return tuple(sorted(spans))


# --- the daily cap -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Pacing:
    """An operator's pacing of one broadcast: the daily cap, the quiet hours, and whether
    each group gets it at its golden hour (``golden_fallback`` for groups with no data)."""

    daily_cap: int = DEFAULT_DAILY_CAP
    quiet: QuietHours = QuietHours(())
    golden: bool = False
    golden_fallback: int = DEFAULT_GOLDEN_HOUR

    def __post_init__(self) -> None:
        problems: list[Problem] = []
        if not (isinstance(self.daily_cap, int) and 1 <= self.daily_cap <= MAX_DAILY_CAP):
            problems.append(
                Problem(
                    "daily_cap",
                    f"must be a whole number from 1 to {MAX_DAILY_CAP}",
                    f"必须是 1 到 {MAX_DAILY_CAP} 的整数",
                )
            )
        if not (isinstance(self.golden_fallback, int) and 0 <= self.golden_fallback <= 23):
            problems.append(
                Problem("golden_fallback", "must be an hour from 0 to 23", "必须是 0 到 23 点")
            )
        if problems:
            raise PacingError(problems)


def under_cap(sent_today: int, cap: int) -> bool:
    """Whether one more broadcast keeps a group within its daily cap."""
    return sent_today + 1 <= cap


# --- golden hours ------------------------------------------------------------------------

HeatCells = Iterable[tuple[int, int, int]] | Mapping[int, int]


def _hour_counts(counts: HeatCells, weekday: int | None) -> dict[int, int]:
    """Messages per hour of the day, from (weekday, hour, messages) cells (as the analytics
    heatmap gives them, 0 = Monday) or from a mapping hour → messages. With ``weekday``,
    that weekday's cells when it has any activity, else every day's."""
    if isinstance(counts, Mapping):
        cells = [(None, hour, n) for hour, n in counts.items()]
    else:
        cells = list(counts)
    total: dict[int, int] = {}
    that_day: dict[int, int] = {}
    for day, hour, n in cells:
        if not (isinstance(hour, int) and 0 <= hour <= 23):
            raise PacingError(
                [Problem("heatmap", f"hour {hour!r} is not 0–23", f"小时 {hour!r} 不在 0–23")]
            )
        if not isinstance(n, int) or n < 0:
            raise PacingError(
                [Problem("heatmap", f"count {n!r} is not a count", f"数量 {n!r} 无效")]
            )
        total[hour] = total.get(hour, 0) + n
        if weekday is not None and day == weekday:
            that_day[hour] = that_day.get(hour, 0) + n
    if weekday is not None and any(that_day.values()):
        return that_day
    return total


def golden_hour(
    counts: HeatCells,
    *,
    weekday: int | None = None,
    fallback: int = DEFAULT_GOLDEN_HOUR,
    quiet: QuietHours | None = None,
) -> int:
    """A group's busiest hour of the day (0–23), where a post is most likely read.

    Hours whose start is in quiet hours are not chosen. Ties go to the earliest hour, so
    the same counts always give the same hour; with no activity (or only in quiet hours)
    the answer is ``fallback``."""
    by_hour = _hour_counts(counts, weekday)
    best, best_count = fallback, 0
    for hour in range(24):
        n = by_hour.get(hour, 0)
        if n > best_count and (quiet is None or not quiet.quiet_minute(hour * 60)):
            best, best_count = hour, n
    return best


def at_hour_from(instant: datetime, hour: int, zone: tzinfo | str) -> datetime:
    """The first moment at or after ``instant`` when the local clock shows ``hour``:00 —
    today's when it is still ahead, else tomorrow's."""
    instant = require_aware(instant, "instant")
    tz = as_zone(zone)
    today = local_date(instant, tz)
    for day in (
        today - timedelta(days=1),
        today,
        today + timedelta(days=1),
        today + timedelta(days=2),
    ):
        moment = at_clock(day, time(hour), tz, not_before=instant)
        if moment >= instant:
            return moment
    raise AssertionError("an hour of the day always comes within two days")


# --- WeCom's one mass message a day ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Conflict:
    """A WeCom group that cannot take a mass message at ``planned``: it has had its one for
    that China day; ``next_slot`` is the first instant of the next day it can."""

    group: str
    planned: datetime
    day: date
    next_day: date
    next_slot: datetime

    def problem(self) -> Problem:
        return Problem(
            f"group {self.group}",
            f"WeCom allows one mass message per customer group per day (China time); it has "
            f"had the one for {self.day.isoformat()} (next possible: {self.next_day.isoformat()})",
            f"企业微信每个客户群每天（北京时间）只能群发一条，{self.day.isoformat()} 已发过"
            f"（最早 {self.next_day.isoformat()}）",
        )


def wecom_conflicts(
    planned: Iterable[tuple[str, datetime]],
    last_sent: Mapping[str, datetime],
    *,
    per_day: int = 1,
    zone: tzinfo | str = WECOM_ZONE,
) -> list[Conflict]:
    """Which of the ``planned`` (group, instant) mass sends WeCom would refuse, in order:
    a group that has had ``per_day`` mass messages on that China day — the one it last had
    (``last_sent``) or earlier ones in this plan."""
    tz = as_zone(zone)
    used: dict[tuple[str, date], int] = {}
    for group, moment in last_sent.items():
        key = (group, local_date(require_aware(moment, "last_sent"), tz))
        used[key] = used.get(key, 0) + 1
    conflicts: list[Conflict] = []
    for group, moment in planned:
        day = local_date(require_aware(moment, "planned"), tz)
        if used.get((group, day), 0) >= per_day:
            free = day + timedelta(days=1)
            while used.get((group, free), 0) >= per_day:
                free += timedelta(days=1)
            conflicts.append(Conflict(group, moment, day, free, start_of_day(free, tz)))
        else:
            used[(group, day)] = used.get((group, day), 0) + 1
    return conflicts
