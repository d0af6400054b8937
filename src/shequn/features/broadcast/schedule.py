"""When a broadcast runs: once, or again and again on the community's clock.

A schedule is one of

- **once** at a moment: ``2025-03-07T08:30`` (the community's local time) or with an
  offset (``2025-03-07T08:30+08:00``, ``…Z``), an exact instant;
- **weekly** on some days at a local time: ``daily 07:00``, ``weekdays 08:30`` (the 晨报),
  ``weekends 10:00``, ``fri 20:00`` (the Friday talk reminder), ``mon,wed,fri 09:00``;
- **monthly** on day N at a local time: ``monthly 15 09:00``. A day past the end of a short
  month (``monthly 31``, ``monthly 30`` in February) runs on that month's **last day**:
  an operator who writes 31 means the month's end, and skipping would silently drop seven
  months a year. ``monthly last 09:00`` is the same as ``monthly 31 09:00``;
- **every N days** from a first day: ``every 3 days 09:00 from 2025-03-01``.

``schedule_text`` reads these forms (and their Chinese words: ``每天``, ``工作日``, ``周末``,
``每月``, ``周五``…); ``Schedule.to_text`` writes them. Times are
local wall-clock times, resolved to instants by ``localtime.resolve``: a skipped time runs
at the first valid instant after it, a repeated one runs once, at its first occurrence.

``next_run`` is the pure heart of the scheduler; ``due_runs`` is what it asks after a
restart: however many runs were missed while the process was down, at most one — the
latest — runs now.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from enum import StrEnum

from shequn.features.broadcast.localtime import (
    as_zone,
    at_clock,
    local_date,
    require_aware,
    resolve,
)
from shequn.features.broadcast.problems import Problem, ScheduleError
from shequn.kit.wording import is_chinese


class Repeat(StrEnum):
    ONCE = "once"
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    DAYS = "days"


ALL_DAYS = frozenset(range(7))
WORKDAYS = frozenset(range(5))
WEEKEND = frozenset({5, 6})
MAX_INTERVAL = 366

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: Spelled out here: ``calendar.day_name`` follows the process locale.
DAY_FULL_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_DAY_NAMES_ZH = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")


@dataclass(frozen=True, slots=True)
class Schedule:
    """One schedule; build it with the class methods or ``schedule_text.parse_schedule``.
    ``at`` is the moment of a one-off (naive: local wall time), ``clock`` the local time of
    a recurring one, ``weekdays`` (0 = Monday), ``day`` (1–31) and ``interval`` / ``start``
    the rhythm."""

    repeat: Repeat
    at: datetime | None = None
    clock: time | None = None
    weekdays: frozenset[int] = frozenset()
    day: int | None = None
    interval: int | None = None
    start: date | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "weekdays", frozenset(self.weekdays))
        problems = _shape_problems(self)
        if problems:
            raise ScheduleError(problems)

    @classmethod
    def once(cls, at: datetime) -> Schedule:
        return cls(Repeat.ONCE, at=at)

    @classmethod
    def weekly(cls, days: frozenset[int] | set[int], clock: time) -> Schedule:
        return cls(Repeat.WEEKLY, clock=clock, weekdays=frozenset(days))

    @classmethod
    def daily(cls, clock: time) -> Schedule:
        return cls.weekly(ALL_DAYS, clock)

    @classmethod
    def monthly(cls, day: int, clock: time) -> Schedule:
        return cls(Repeat.MONTHLY, clock=clock, day=day)

    @classmethod
    def every_days(cls, interval: int, clock: time, start: date) -> Schedule:
        return cls(Repeat.DAYS, clock=clock, interval=interval, start=start)

    def to_text(self) -> str:
        """The canonical text form; ``parse_schedule`` reads it back to an equal schedule."""
        if self.repeat is Repeat.ONCE:
            assert self.at is not None
            return f"once {self.at.isoformat()}"
        clock = f"{self.clock:%H:%M}"
        if self.repeat is Repeat.MONTHLY:
            return f"monthly {self.day} {clock}"
        if self.repeat is Repeat.DAYS:
            assert self.start is not None
            return f"every {self.interval} days {clock} from {self.start.isoformat()}"
        for head, days in (("daily", ALL_DAYS), ("weekdays", WORKDAYS), ("weekends", WEEKEND)):
            if self.weekdays == days:
                return f"{head} {clock}"
        return ",".join(DAY_NAMES[d] for d in sorted(self.weekdays)) + f" {clock}"

    def describe(self, lang: str) -> str:
        """The schedule in words, for the calendar and the compose page."""
        zh = is_chinese(lang)
        if self.repeat is Repeat.ONCE:
            assert self.at is not None
            moment = self.at.isoformat(sep=" ", timespec="minutes")
            return f"{moment} 发送一次" if zh else f"once, at {moment}"
        clock = f"{self.clock:%H:%M}"
        if self.repeat is Repeat.MONTHLY:
            if zh:
                return f"每月 {self.day} 日 {clock}（当月没有这一天时在月末）"
            return f"monthly on day {self.day} at {clock} (the month's last day when shorter)"
        if self.repeat is Repeat.DAYS:
            assert self.start is not None
            if zh:
                return f"自 {self.start.isoformat()} 起每 {self.interval} 天 {clock}"
            return f"every {self.interval} days at {clock} from {self.start.isoformat()}"
        days = sorted(self.weekdays)
        if self.weekdays == ALL_DAYS:
            return f"每天 {clock}" if zh else f"every day at {clock}"
        if self.weekdays == WORKDAYS:
            return f"每个工作日 {clock}" if zh else f"every weekday at {clock}"
        if zh:
            return "每" + "、".join(_DAY_NAMES_ZH[d] for d in days) + f" {clock}"
        return "every " + ", ".join(DAY_FULL_NAMES[d] for d in days) + f" at {clock}"


def _shape_problems(s: Schedule) -> list[Problem]:
    out: list[Problem] = []

    def bad(field: str, en: str, zh: str) -> None:
        out.append(Problem(f"schedule.{field}", en, zh))

    if s.repeat is Repeat.ONCE:
        if not isinstance(s.at, datetime):
            bad("at", "a one-off schedule needs a moment", "一次性发送需要时间")
        return out
    if not isinstance(s.clock, time):
        bad("clock", "needs a time of day (HH:MM)", "需要时刻（HH:MM）")
    elif s.clock.tzinfo is not None or s.clock.second or s.clock.microsecond:
        bad("clock", "is a local HH:MM with no seconds or zone", "应为本地时刻 HH:MM，不带秒和时区")
    if s.repeat is Repeat.WEEKLY and (not s.weekdays or not s.weekdays <= ALL_DAYS):
        bad(
            "weekdays",
            "needs days from 0 (Monday) to 6 (Sunday)",
            "需要 0（周一）到 6（周日）中的若干天",
        )
    if s.repeat is Repeat.MONTHLY and not (isinstance(s.day, int) and 1 <= s.day <= 31):
        bad("day", "needs a day of the month from 1 to 31", "需要 1 到 31 之间的日期")
    if s.repeat is Repeat.DAYS:
        if not (isinstance(s.interval, int) and 1 <= s.interval <= MAX_INTERVAL):
            bad("interval", f"needs 1 to {MAX_INTERVAL} days", f"需要 1 到 {MAX_INTERVAL} 天")
        if not isinstance(s.start, date) or isinstance(s.start, datetime):
            bad("start", "needs the first day (YYYY-MM-DD)", "需要首次日期（YYYY-MM-DD）")
    return out


# --- when it runs ------------------------------------------------------------------------


def once_instant(schedule: Schedule, zone: tzinfo | str) -> datetime:
    """The instant of a one-off schedule: its own when it has an offset, else its local
    time resolved in ``zone``."""
    assert schedule.at is not None
    if schedule.at.tzinfo is not None and schedule.at.utcoffset() is not None:
        return require_aware(schedule.at, "at")
    return resolve(schedule.at, zone)


def _month_day(year: int, month: int, day: int) -> date:
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def _forward(s: Schedule, begin: date) -> Iterator[date]:
    """The days ``s`` runs on, from ``begin`` on, in order."""
    try:
        if s.repeat is Repeat.WEEKLY:
            day = begin
            while True:
                if day.weekday() in s.weekdays:
                    yield day
                day += timedelta(days=1)
        elif s.repeat is Repeat.MONTHLY:
            assert s.day is not None
            year, month = begin.year, begin.month
            while True:
                candidate = _month_day(year, month, s.day)
                if candidate >= begin:
                    yield candidate
                year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        else:
            assert s.start is not None and s.interval is not None
            steps = max(0, -(-(begin - s.start).days // s.interval))
            day = s.start + timedelta(days=steps * s.interval)
            while True:
                yield day
                day += timedelta(days=s.interval)
    except (OverflowError, ValueError):  # past year 9999: no more runs
        return


def _backward(s: Schedule, begin: date) -> Iterator[date]:
    """The days ``s`` runs on, from ``begin`` back, latest first."""
    try:
        if s.repeat is Repeat.WEEKLY:
            day = begin
            while True:
                if day.weekday() in s.weekdays:
                    yield day
                day -= timedelta(days=1)
        elif s.repeat is Repeat.MONTHLY:
            assert s.day is not None
            year, month = begin.year, begin.month
            while True:
                candidate = _month_day(year, month, s.day)
                if candidate <= begin:
                    yield candidate
                year, month = (year - 1, 12) if month == 1 else (year, month - 1)
        else:
            assert s.start is not None and s.interval is not None
            if begin < s.start:
                return
            day = s.start + timedelta(days=(begin - s.start).days // s.interval * s.interval)
            while day >= s.start:
                yield day
                day -= timedelta(days=s.interval)
    except (OverflowError, ValueError):  # before year 1: no earlier runs
        return


def next_run(schedule: Schedule, after: datetime, zone: tzinfo | str) -> datetime | None:
    """The first run strictly after ``after``, in UTC; None when there is none (a one-off
    that has passed). ``zone`` is the community's."""
    after = require_aware(after, "after")
    if schedule.repeat is Repeat.ONCE:
        moment = once_instant(schedule, zone)
        return moment if moment > after else None
    tz = as_zone(zone)
    assert schedule.clock is not None
    try:
        begin = local_date(after, tz) - timedelta(days=1)
    except OverflowError:
        return None
    for day in _forward(schedule, begin):
        moment = at_clock(day, schedule.clock, tz)
        if moment > after:
            return moment
    return None


def previous_run(schedule: Schedule, now: datetime, zone: tzinfo | str) -> datetime | None:
    """The latest run at or before ``now``, in UTC; None when there is none yet."""
    now = require_aware(now, "now")
    if schedule.repeat is Repeat.ONCE:
        moment = once_instant(schedule, zone)
        return moment if moment <= now else None
    tz = as_zone(zone)
    assert schedule.clock is not None
    try:
        begin = local_date(now, tz) + timedelta(days=1)
    except OverflowError:
        begin = date.max
    for day in _backward(schedule, begin):
        moment = at_clock(day, schedule.clock, tz)
        if moment <= now:
            return moment
    return None


def due_runs(
    schedule: Schedule,
    last_run: datetime,
    now: datetime,
    zone: tzinfo | str,
    *,
    max_late: timedelta | None = None,
) -> list[datetime]:
    """The runs to carry out at ``now`` for a job last run (or created) at ``last_run``:
    at most one, the latest that fell due after ``last_run``, however many ticks or days
    were missed while the process was down. Its instant (not ``now``) names the run in
    idempotency keys, so a repeated tick finds it queued already.

    ``max_late`` drops a run that is older than that by ``now`` (yesterday's 晨报 is not
    news); the caller records ``now`` as checked either way."""
    last_run = require_aware(last_run, "last_run")
    now = require_aware(now, "now")
    if now <= last_run:
        return []
    latest = previous_run(schedule, now, zone)
    if latest is None or latest <= last_run:
        return []
    if max_late is not None and now - latest > max_late:
        return []
    return [latest]
