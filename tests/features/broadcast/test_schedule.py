"""Schedules on the community's clock: the next run, month ends, DST, and catching up once."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from dateutil import rrule
from hypothesis import given, settings
from hypothesis import strategies as st

from shequn.features.broadcast.localtime import resolve, wall_of
from shequn.features.broadcast.problems import ScheduleError
from shequn.features.broadcast.schedule import (
    Repeat,
    Schedule,
    due_runs,
    next_run,
    previous_run,
)
from shequn.features.broadcast.schedule_text import parse_schedule

NY, LONDON, SHANGHAI = "America/New_York", "Europe/London", "Asia/Shanghai"
#: The three the issue names, and Lord Howe, whose clocks move by half an hour.
ZONES = [NY, LONDON, SHANGHAI, "Australia/Lord_Howe"]


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def exists(wall: datetime, zone: str) -> bool:
    tz = ZoneInfo(zone)
    return wall_of(wall.replace(tzinfo=tz).astimezone(UTC), tz) == wall


# --- the text form -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("weekdays 08:30", Schedule.weekly({0, 1, 2, 3, 4}, time(8, 30))),
        ("工作日 08:30", Schedule.weekly({0, 1, 2, 3, 4}, time(8, 30))),
        ("fri 20:00", Schedule.weekly({4}, time(20))),
        ("Friday 20:00", Schedule.weekly({4}, time(20))),
        ("周五 20:00", Schedule.weekly({4}, time(20))),
        ("weekly fri 20:00", Schedule.weekly({4}, time(20))),
        ("mon, wed,fri 9:05", Schedule.weekly({0, 2, 4}, time(9, 5))),
        ("周一、周三 09:00", Schedule.weekly({0, 2}, time(9))),
        ("daily 07:00", Schedule.daily(time(7))),
        ("每天 07:00", Schedule.daily(time(7))),
        ("every day 07:00", Schedule.daily(time(7))),
        ("weekends 10:00", Schedule.weekly({5, 6}, time(10))),
        ("monthly 31 09:00", Schedule.monthly(31, time(9))),
        ("monthly last 09:00", Schedule.monthly(31, time(9))),
        ("每月 1 09:00", Schedule.monthly(1, time(9))),
        (
            "every 3 days 09:00 from 2025-03-01",
            Schedule.every_days(3, time(9), date(2025, 3, 1)),
        ),
        ("2025-03-07T08:30", Schedule.once(datetime(2025, 3, 7, 8, 30))),
        ("2025-03-07 08:30", Schedule.once(datetime(2025, 3, 7, 8, 30))),
        ("once 2025-03-07T08:30Z", Schedule.once(utc(2025, 3, 7, 8, 30))),
    ],
)
def test_the_text_forms_operators_write_are_read(text: str, expected: Schedule) -> None:
    assert parse_schedule(text) == expected


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "is empty"),
        ("fri 25:00", "“25:00” at character 5 is not a time of day"),
        ("fir 20:00", "“fir” at character 1 is not a day"),
        ("mon,fir 20:00", "“fir” at character 5 is not a day"),
        ("daily", "expected a time of day (HH:MM) at character 6"),
        ("daily 07:00 please", "unexpected “please” at character 13"),
        ("monthly 32 09:00", "“32” at character 9 is not a day (1–31)"),
        ("monthly 0 09:00", "“0” at character 9 is not a day (1–31)"),
        ("every 0 days 09:00 from 2025-01-01", "“0” at character 7 is not a number of days"),
        ("every 3 weeks 09:00 from 2025-01-01", "expected “days” at character 9"),
        ("every 3 days 09:00", "add “from YYYY-MM-DD”"),
        ("every 3 days 09:00 from 2025-02-30", "“2025-02-30” at character 25 is not a date"),
        ("2025-03-07", "is not a date and time"),
        ("2025-13-07T08:30", "is not a date and time"),
        ("x" * 300, "longer than 200"),
    ],
)
def test_a_schedule_that_cannot_be_read_says_what_and_where(text: str, says: str) -> None:
    with pytest.raises(ScheduleError) as info:
        parse_schedule(text)
    assert says in str(info.value)
    assert info.value.lines("zh-CN")[0] != info.value.lines("en")[0]


def test_a_one_off_in_the_past_is_refused_when_written() -> None:
    now = utc(2025, 3, 7, 1, 0)
    with pytest.raises(ScheduleError, match="is in the past"):
        parse_schedule("2025-03-07T08:30", zone=SHANGHAI, now=now)  # 00:30 UTC
    assert parse_schedule("2025-03-07T09:30", zone=SHANGHAI, now=now).at == datetime(
        2025, 3, 7, 9, 30
    )
    # Read back from storage (no ``now``), the same text is a schedule like any other.
    assert parse_schedule("2025-03-07T08:30").repeat is Repeat.ONCE


def test_every_n_days_written_without_a_first_day_starts_today() -> None:
    now = utc(2025, 3, 6, 17, 0)  # already 7 March in Shanghai
    schedule = parse_schedule("every 2 days 09:00", zone=SHANGHAI, now=now)
    assert schedule.start == date(2025, 3, 7)
    assert schedule.to_text() == "every 2 days 09:00 from 2025-03-07"


def test_schedules_built_in_code_are_checked_too() -> None:
    with pytest.raises(ScheduleError, match="weekdays"):
        Schedule.weekly(set(), time(8))
    with pytest.raises(ScheduleError, match="no seconds"):
        Schedule.daily(time(8, 30, 15))
    with pytest.raises(ScheduleError, match="1 to 366"):
        Schedule.every_days(400, time(8), date(2025, 1, 1))


def test_descriptions_in_both_languages() -> None:
    brief = parse_schedule("weekdays 08:30")
    assert brief.describe("zh-CN") == "每个工作日 08:30"
    assert brief.describe("en") == "every weekday at 08:30"
    assert "月末" in parse_schedule("monthly 31 09:00").describe("zh")
    assert parse_schedule("mon,fri 20:00").describe("en") == "every Monday, Friday at 20:00"


# --- next runs, by hand --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "zone", "after", "expected"),
    [
        # 晨报: Friday 08:30 Shanghai, then Monday (the weekend skipped).
        ("weekdays 08:30", SHANGHAI, utc(2025, 3, 6, 23, 0), utc(2025, 3, 7, 0, 30)),
        ("weekdays 08:30", SHANGHAI, utc(2025, 3, 7, 0, 30), utc(2025, 3, 10, 0, 30)),
        ("fri 20:00", SHANGHAI, utc(2025, 3, 7, 12, 0), utc(2025, 3, 14, 12, 0)),
        # Month ends: 31 → the last day of shorter months, 29 February in leap years.
        ("monthly 31 09:00", SHANGHAI, utc(2024, 1, 31, 2), utc(2024, 2, 29, 1)),
        ("monthly 31 09:00", SHANGHAI, utc(2024, 2, 29, 2), utc(2024, 3, 31, 1)),
        ("monthly 31 09:00", SHANGHAI, utc(2025, 1, 31, 2), utc(2025, 2, 28, 1)),
        ("monthly 30 09:00", SHANGHAI, utc(2025, 4, 1), utc(2025, 4, 30, 1)),
        ("monthly 29 09:00", SHANGHAI, utc(2023, 2, 1), utc(2023, 2, 28, 1)),
        ("monthly 29 09:00", SHANGHAI, utc(2028, 2, 1), utc(2028, 2, 29, 1)),
        ("every 3 days 09:00 from 2025-03-01", SHANGHAI, utc(2025, 2, 1), utc(2025, 3, 1, 1)),
        ("every 3 days 09:00 from 2025-03-01", SHANGHAI, utc(2025, 3, 1, 1), utc(2025, 3, 4, 1)),
        # New York springs forward at 02:00 on 9 March 2025: 02:30 does not exist, the run
        # is at the jump (03:00 EDT = 07:00 UTC); the next day is an ordinary 02:30 EDT.
        ("daily 02:30", NY, utc(2025, 3, 8, 12), utc(2025, 3, 9, 7, 0)),
        ("daily 02:30", NY, utc(2025, 3, 9, 7, 0), utc(2025, 3, 10, 6, 30)),
        # It falls back at 02:00 on 2 November 2025: 01:30 happens twice; the run is at
        # the first (EDT, 05:30 UTC) and the second (06:30 UTC) is not another run.
        ("daily 01:30", NY, utc(2025, 11, 1, 12), utc(2025, 11, 2, 5, 30)),
        ("daily 01:30", NY, utc(2025, 11, 2, 5, 30), utc(2025, 11, 3, 6, 30)),
        # London: 01:30 is skipped on 30 March 2025 (→ 02:00 BST = 01:00 UTC) and repeated
        # on 26 October 2025 (first pass BST = 00:30 UTC).
        ("daily 01:30", LONDON, utc(2025, 3, 29, 12), utc(2025, 3, 30, 1, 0)),
        ("daily 01:30", LONDON, utc(2025, 10, 25, 12), utc(2025, 10, 26, 0, 30)),
        ("daily 01:30", LONDON, utc(2025, 10, 26, 0, 30), utc(2025, 10, 27, 1, 30)),
        # A one-off: its instant once, then never again.
        ("2025-03-07T08:30", SHANGHAI, utc(2025, 3, 1), utc(2025, 3, 7, 0, 30)),
        ("2025-03-07T08:30", SHANGHAI, utc(2025, 3, 7, 0, 30), None),
        ("2025-03-07T08:30+09:00", SHANGHAI, utc(2025, 3, 1), utc(2025, 3, 6, 23, 30)),
    ],
)
def test_next_run(text: str, zone: str, after: datetime, expected: datetime | None) -> None:
    assert next_run(parse_schedule(text), after, zone) == expected


def test_naive_instants_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        next_run(parse_schedule("daily 07:00"), datetime(2025, 3, 1), SHANGHAI)


# --- next runs, as properties --------------------------------------------------------------

clocks = st.builds(time, st.integers(0, 23), st.integers(0, 59))
instants = st.datetimes(
    min_value=datetime(1980, 1, 1), max_value=datetime(2060, 12, 31), timezones=st.just(UTC)
)
weekly = st.builds(Schedule.weekly, st.frozensets(st.integers(0, 6), min_size=1), clocks)
monthly = st.builds(Schedule.monthly, st.integers(1, 31), clocks)


@st.composite
def every_days(draw: st.DrawFn, near: datetime) -> Schedule:
    start = near.date() + timedelta(days=draw(st.integers(-800, 60)))
    return Schedule.every_days(draw(st.integers(1, 366)), draw(clocks), start)


@st.composite
def recurring_with_after(draw: st.DrawFn) -> tuple[Schedule, datetime]:
    after = draw(instants)
    schedule = draw(st.one_of(weekly, monthly, every_days(after)))
    return schedule, after


def runs_on(schedule: Schedule, day: date) -> bool:
    """The schedule's days, stated independently of the code under test."""
    if schedule.repeat is Repeat.WEEKLY:
        return day.weekday() in schedule.weekdays
    if schedule.repeat is Repeat.MONTHLY:
        assert schedule.day is not None
        last = (day.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        return day.day == min(schedule.day, last.day)
    assert schedule.start is not None and schedule.interval is not None
    return day >= schedule.start and (day - schedule.start).days % schedule.interval == 0


def oracle_dates(schedule: Schedule, begin: date) -> rrule.rrule:
    """dateutil's rrule, as a second opinion on which days a schedule runs on."""
    assert schedule.clock is not None
    if schedule.repeat is Repeat.WEEKLY:
        return rrule.rrule(
            rrule.DAILY,
            byweekday=sorted(schedule.weekdays),
            dtstart=datetime.combine(begin, schedule.clock),
        )
    if schedule.repeat is Repeat.MONTHLY:
        assert schedule.day is not None
        days = [schedule.day] if schedule.day <= 28 else list(range(28, schedule.day + 1))
        return rrule.rrule(
            rrule.MONTHLY,
            bymonthday=days,
            bysetpos=-1,
            dtstart=datetime.combine(begin, schedule.clock),
        )
    assert schedule.start is not None
    return rrule.rrule(
        rrule.DAILY,
        interval=schedule.interval,
        dtstart=datetime.combine(schedule.start, schedule.clock),
    )


@settings(max_examples=300, deadline=None)
@given(recurring_with_after(), st.sampled_from(ZONES))
def test_next_run_is_the_first_run_strictly_after(
    case: tuple[Schedule, datetime], zone: str
) -> None:
    schedule, after = case
    got = next_run(schedule, after, zone)
    assert got is not None and got > after
    assert got.tzinfo is UTC
    assert schedule.clock is not None
    # The oracle: the first of rrule's local dates whose run is after ``after``.
    begin = wall_of(after, ZoneInfo(zone)).date() - timedelta(days=2)
    expected = next(
        moment
        for moment in (
            resolve(w, zone)
            for w in oracle_dates(schedule, begin).xafter(
                datetime.combine(begin, time(0)), inc=True
            )
        )
        if moment > after
    )
    assert got == expected


@settings(max_examples=300, deadline=None)
@given(recurring_with_after(), st.sampled_from(ZONES))
def test_next_run_lands_on_the_wall_clock_time_when_it_exists(
    case: tuple[Schedule, datetime], zone: str
) -> None:
    schedule, after = case
    assert schedule.clock is not None
    got = next_run(schedule, after, zone)
    assert got is not None
    local = wall_of(got, ZoneInfo(zone))
    wall = datetime.combine(local.date(), schedule.clock)
    if local.time() == schedule.clock:
        assert runs_on(schedule, local.date())
        # When the time comes twice, the run is the first of the two.
        assert resolve(wall, zone) == got
    else:
        # Only a skipped time moves, and only to the first instant after it.
        day = next(
            d for d in (local.date(), local.date() - timedelta(days=1)) if runs_on(schedule, d)
        )
        skipped = datetime.combine(day, schedule.clock)
        assert not exists(skipped, zone)
        assert local > skipped
        assert wall_of(got - timedelta(seconds=1), ZoneInfo(zone)) < skipped


@settings(max_examples=200, deadline=None)
@given(recurring_with_after(), st.sampled_from(ZONES))
def test_a_repeated_time_runs_once(case: tuple[Schedule, datetime], zone: str) -> None:
    schedule, after = case
    first = next_run(schedule, after, zone)
    assert first is not None
    second = next_run(schedule, first, zone)
    assert second is not None
    assert wall_of(second, ZoneInfo(zone)).date() > wall_of(first, ZoneInfo(zone)).date() or (
        not exists(datetime.combine(wall_of(first, ZoneInfo(zone)).date(), schedule.clock), zone)
    )


@given(st.one_of(weekly, monthly, every_days(datetime(2025, 1, 1))))
def test_the_text_form_reads_back_to_the_same_schedule(schedule: Schedule) -> None:
    assert parse_schedule(schedule.to_text()) == schedule


@given(
    st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2060, 1, 1)),
    st.booleans(),
    instants,
    st.sampled_from(ZONES),
)
def test_a_one_off_runs_once(moment: datetime, aware: bool, after: datetime, zone: str) -> None:
    at = moment.replace(tzinfo=UTC) if aware else moment
    schedule = Schedule.once(at)
    assert parse_schedule(schedule.to_text()) == schedule
    got = next_run(schedule, after, zone)
    instant = at if aware else resolve(at, zone)
    assert got == (instant if instant > after else None)
    if got is not None:
        assert next_run(schedule, got, zone) is None


# --- catching up after downtime ------------------------------------------------------------


def test_a_job_that_fell_due_while_down_runs_once_on_start() -> None:
    brief = parse_schedule("weekdays 08:30")
    last = utc(2025, 3, 3, 0, 30)  # Monday's brief went out
    restart = utc(2025, 3, 7, 5, 0)  # down until Friday afternoon in Shanghai
    assert due_runs(brief, last, restart, SHANGHAI) == [utc(2025, 3, 7, 0, 30)]
    # The tick after records Friday's run as done; the next ticks add nothing.
    for tick in range(1, 5):
        later = restart + timedelta(seconds=15 * tick)
        assert due_runs(brief, utc(2025, 3, 7, 0, 30), later, SHANGHAI) == []
    # Too late to matter: yesterday's brief is not news.
    assert due_runs(brief, last, restart, SHANGHAI, max_late=timedelta(hours=2)) == []
    assert due_runs(brief, last, utc(2025, 3, 7, 1, 0), SHANGHAI, max_late=timedelta(hours=2)) == [
        utc(2025, 3, 7, 0, 30)
    ]


def test_nothing_is_due_before_the_first_run_or_when_time_stands_still() -> None:
    job = parse_schedule("every 7 days 09:00 from 2025-03-10")
    assert due_runs(job, utc(2025, 3, 1), utc(2025, 3, 9), SHANGHAI) == []
    assert previous_run(job, utc(2025, 3, 9), SHANGHAI) is None
    assert due_runs(job, utc(2025, 3, 20), utc(2025, 3, 20), SHANGHAI) == []


@settings(max_examples=300, deadline=None)
@given(
    recurring_with_after(),
    st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=120)),
    st.sampled_from(ZONES),
)
def test_due_runs_returns_at_most_one_catch_up_the_latest(
    case: tuple[Schedule, datetime], down: timedelta, zone: str
) -> None:
    schedule, last_run = case
    now = last_run + down
    runs = due_runs(schedule, last_run, now, zone)
    assert len(runs) <= 1
    first_missed = next_run(schedule, last_run, zone)
    if first_missed is not None and first_missed <= now:
        assert len(runs) == 1
        (run,) = runs
        assert last_run < run <= now
        following = next_run(schedule, run, zone)
        assert following is None or following > now
    else:
        assert runs == []


WORDS = ["daily", "weekdays", "fri", "mon,", "monthly", "every", "3", "days", "from", "last"]
WORDS += ["2025-03-01", "08:30", "25:00", "once", "2025-03-07T08:30", "+08:00", "周五", "x"]


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=40), st.lists(st.sampled_from(WORDS), max_size=6).map(" ".join)))
def test_any_text_is_either_a_schedule_or_a_refusal_saying_where(text: str) -> None:
    try:
        schedule = parse_schedule(text)
    except ScheduleError as exc:
        assert exc.problems and exc.lines("zh-CN")
    else:
        assert parse_schedule(schedule.to_text()) == schedule
