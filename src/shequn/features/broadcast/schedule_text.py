"""The text form of a schedule, as operators type it in the CLI and the compose page.

``parse_schedule`` reads ``weekdays 08:30``, ``fri 20:00``, ``mon,wed,fri 09:00``,
``daily 07:00``, ``monthly 31 09:00`` (``monthly last 09:00``), ``every 3 days 09:00 from
2025-03-01`` and one-off moments (``2025-03-07T08:30``, ``once 2025-03-07T08:30+08:00``),
with the Chinese words operators use (``每天``, ``工作日``, ``周末``, ``每月``, ``周五``…).
An error says what is wrong and at which character; ``Schedule.to_text`` writes the
canonical form this reads back.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, tzinfo

from shequn.features.broadcast.localtime import local_date, require_aware
from shequn.features.broadcast.problems import Problem, ScheduleError
from shequn.features.broadcast.schedule import (
    ALL_DAYS,
    DAY_FULL_NAMES,
    DAY_NAMES,
    MAX_INTERVAL,
    WEEKEND,
    WORKDAYS,
    Repeat,
    Schedule,
    once_instant,
)
from shequn.kit.wording import echo

MAX_TEXT = 200
_DAY_WORDS: dict[str, int] = {}
for _index, _en in enumerate(DAY_NAMES):
    _full = DAY_FULL_NAMES[_index].lower()
    _zh = "一二三四五六日"[_index]
    for _word in (_en, _full, f"周{_zh}", f"星期{_zh}"):
        _DAY_WORDS[_word] = _index
_DAY_WORDS.update({"tues": 1, "thur": 3, "thurs": 3, "周天": 6, "星期天": 6})

_HEADS = {
    "daily": ALL_DAYS,
    "everyday": ALL_DAYS,
    "每天": ALL_DAYS,
    "每日": ALL_DAYS,
    "weekdays": WORKDAYS,
    "workdays": WORKDAYS,
    "工作日": WORKDAYS,
    "weekends": WEEKEND,
    "周末": WEEKEND,
}
_CLOCK = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)\Z")


class _Reader:
    """The tokens of a schedule text with their character positions, for errors that say
    where."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = [(m.group(0), m.start() + 1) for m in re.finditer(r"\S+", text)]

    def fail(self, en: str, zh: str) -> ScheduleError:
        return ScheduleError([Problem(f"schedule “{echo(self.text)}”", en, zh)])

    def at(self, index: int, wanted: str, wanted_zh: str) -> tuple[str, int]:
        if index >= len(self.tokens):
            end = len(self.text.rstrip()) + 1
            raise self.fail(
                f"expected {wanted} at character {end}", f"第 {end} 个字符处缺少{wanted_zh}"
            )
        return self.tokens[index]

    def clock(self, index: int) -> time:
        token, where = self.at(index, "a time of day (HH:MM)", "时刻（HH:MM）")
        match = _CLOCK.match(token)
        if match is None:
            raise self.fail(
                f"“{echo(token)}” at character {where} is not a time of day (HH:MM, 00:00–23:59)",
                f"第 {where} 个字符处的“{echo(token)}”不是时刻（HH:MM，00:00–23:59）",
            )
        return time(int(match.group(1)), int(match.group(2)))

    def done(self, index: int) -> None:
        if index < len(self.tokens):
            token, where = self.tokens[index]
            raise self.fail(
                f"unexpected “{echo(token)}” at character {where}",
                f"第 {where} 个字符处多出“{echo(token)}”",
            )

    def number(self, index: int, low: int, high: int, what: str, what_zh: str) -> int:
        token, where = self.at(index, what, what_zh)
        if not (token.isascii() and token.isdigit()) or not low <= int(token) <= high:
            raise self.fail(
                f"“{echo(token)}” at character {where} is not {what} ({low}–{high})",
                f"第 {where} 个字符处的“{echo(token)}”不是{what_zh}（{low}–{high}）",
            )
        return int(token)


def _once(reader: _Reader, first: int) -> datetime:
    if first >= len(reader.tokens):
        reader.at(first, "a date and time (2025-03-07T08:30)", "日期和时间（2025-03-07T08:30）")
    raw = " ".join(token for token, _ in reader.tokens[first:])
    where = reader.tokens[first][1]
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        moment = None
    if moment is None or len(raw) <= 10:
        raise reader.fail(
            f"“{echo(raw)}” at character {where} is not a date and time such as "
            "2025-03-07T08:30 or 2025-03-07T08:30+08:00",
            f"第 {where} 个字符处的“{echo(raw)}”不是 2025-03-07T08:30 或 "
            "2025-03-07T08:30+08:00 这样的日期时间",
        )
    return moment


def _days(reader: _Reader, first: int, last: int) -> frozenset[int]:
    days: set[int] = set()
    for token, where in reader.tokens[first:last]:
        offset = 0
        for part in re.split(r"([,，、])", token):
            if part and part not in ",，、":
                day = _DAY_WORDS.get(part.lower())
                if day is None:
                    spot = where + offset
                    raise reader.fail(
                        f"“{echo(part)}” at character {spot} is not a day, a schedule such as "
                        "daily, weekdays, monthly or every, nor a date",
                        f"第 {spot} 个字符处的“{echo(part)}”不是星期几，也不是 daily、weekdays、"
                        "monthly、every 或日期",
                    )
                days.add(day)
            offset += len(part)
    return frozenset(days)


def _every(reader: _Reader, zone: tzinfo | str | None, now: datetime | None) -> Schedule:
    token, _ = reader.at(1, "a number of days", "天数")
    if token.lower() in ("day", "天"):
        clock = reader.clock(2)
        reader.done(3)
        return Schedule.daily(clock)
    interval = reader.number(1, 1, MAX_INTERVAL, "a number of days", "天数")
    unit, where = reader.at(2, "“days”", "“days”")
    if unit.lower() not in ("days", "day", "天"):
        raise reader.fail(
            f"expected “days” at character {where}, not “{echo(unit)}”",
            f"第 {where} 个字符处应为“days”，而不是“{echo(unit)}”",
        )
    clock = reader.clock(3)
    if len(reader.tokens) > 4:
        word, where = reader.tokens[4]
        if word.lower() not in ("from", "起"):
            reader.done(4)
        raw, where = reader.at(5, "the first day (YYYY-MM-DD)", "首次日期（YYYY-MM-DD）")
        try:
            start = date.fromisoformat(raw)
        except ValueError:
            raise reader.fail(
                f"“{echo(raw)}” at character {where} is not a date (YYYY-MM-DD)",
                f"第 {where} 个字符处的“{echo(raw)}”不是日期（YYYY-MM-DD）",
            ) from None
        reader.done(6)
    elif now is not None and zone is not None:
        start = local_date(require_aware(now, "now"), zone)
    else:
        raise reader.fail(
            "every N days needs its first day: add “from YYYY-MM-DD”",
            "每 N 天需要首次日期：请加上“from YYYY-MM-DD”",
        )
    return Schedule.every_days(interval, clock, start)


def _parse(reader: _Reader, zone: tzinfo | str | None, now: datetime | None) -> Schedule:
    head, _ = reader.at(0, "a schedule such as “weekdays 08:30”", "日程，例如“weekdays 08:30”")
    word = head.lower()
    if word in ("once", "at", "一次"):
        return Schedule.once(_once(reader, 1))
    if word[:1].isascii() and word[:1].isdigit():
        return Schedule.once(_once(reader, 0))
    if word in _HEADS:
        clock = reader.clock(1)
        reader.done(2)
        return Schedule.weekly(_HEADS[word], clock)
    if word in ("monthly", "每月"):
        token, _ = reader.at(1, "a day of the month", "日期")
        day = 31 if token.lower() in ("last", "月末") else reader.number(1, 1, 31, "a day", "日期")
        clock = reader.clock(2)
        reader.done(3)
        return Schedule.monthly(day, clock)
    if word in ("every", "每"):
        return _every(reader, zone, now)
    first = 1 if word in ("weekly", "每周") else 0
    last = len(reader.tokens) - 1
    if last <= first:
        reader.clock(last + 1)
    clock = reader.clock(last)
    return Schedule.weekly(_days(reader, first, last), clock)


def parse_schedule(
    text: str, *, zone: tzinfo | str | None = None, now: datetime | None = None
) -> Schedule:
    """Read a schedule's text form; ``ScheduleError`` says what is wrong and at which
    character. With ``now`` and ``zone`` (when an operator is writing it, not when it is
    read back from storage), a one-off in the past is refused and ``every N days`` without
    ``from`` starts today."""
    if not isinstance(text, str) or not text.strip():
        raise ScheduleError(
            [
                Problem(
                    "schedule",
                    "is empty; write e.g. “weekdays 08:30”",
                    "为空；例如“weekdays 08:30”",
                )
            ]
        )
    if len(text) > MAX_TEXT:
        raise ScheduleError(
            [
                Problem(
                    "schedule", f"is longer than {MAX_TEXT} characters", f"超过 {MAX_TEXT} 个字符"
                )
            ]
        )
    reader = _Reader(text)
    schedule = _parse(reader, zone, now)
    if schedule.repeat is Repeat.ONCE and now is not None:
        if zone is None and (schedule.at is None or schedule.at.tzinfo is None):
            raise ValueError("a local one-off moment needs the community's zone to be checked")
        moment = once_instant(schedule, zone or "UTC")
        if moment <= require_aware(now, "now"):
            raise reader.fail(
                f"{moment.isoformat()} is in the past (now: {now.isoformat()})",
                f"{moment.isoformat()} 已经过去（现在：{now.isoformat()}）",
            )
    return schedule
