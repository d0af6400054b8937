"""Pacing: quiet hours, golden hours from the heatmap, and WeCom's one mass message a day."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shequn.features.broadcast.localtime import wall_of
from shequn.features.broadcast.pacing import (
    Pacing,
    QuietHours,
    at_hour_from,
    golden_hour,
    wecom_conflicts,
)
from shequn.features.broadcast.problems import PacingError

SHANGHAI, NY, LONDON = "Asia/Shanghai", "America/New_York", "Europe/London"


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


# --- quiet hours ---------------------------------------------------------------------------


def test_quiet_hours_and_send_windows_are_read() -> None:
    night = QuietHours.parse("22:00-08:00")
    assert night.spans == ((time(22), time(8)),)
    assert QuietHours.parse("22:00-08:00，12:00 到 13:30").to_text() == "22:00-08:00, 12:00-13:30"
    assert QuietHours.window("09:00-21:00").to_text() == "21:00-09:00"
    assert QuietHours.window("09:00-12:00, 14:00-24:00").to_text() == "00:00-09:00, 12:00-14:00"
    assert QuietHours.parse("").spans == ()
    assert QuietHours.window("00:00-24:00").spans == ()


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("22-08", "is not a span such as 22:00-08:00"),
        ("25:00-08:00", "is not a span"),
        ("08:00-08:00", "starts where it ends"),
        ("08:00-24:30", "24:00 is the latest end"),
        ("00:00-24:00", "covers the whole day"),
        ("00:00-12:00, 12:00-00:00", "covers the whole day"),
    ],
)
def test_quiet_hours_that_cannot_work_are_refused(text: str, says: str) -> None:
    with pytest.raises(PacingError, match=says):
        QuietHours.parse(text)


@pytest.mark.parametrize(
    ("quiet", "zone", "at", "expected"),
    [
        # 23:30 Shanghai is quiet → 08:00 the next morning.
        ("22:00-08:00", SHANGHAI, utc(2025, 3, 7, 15, 30), utc(2025, 3, 8, 0, 0)),
        # 03:00 is quiet → 08:00 the same morning.
        ("22:00-08:00", SHANGHAI, utc(2025, 3, 7, 19, 0), utc(2025, 3, 8, 0, 0)),
        # 21:59 is not quiet.
        ("22:00-08:00", SHANGHAI, utc(2025, 3, 7, 13, 59), utc(2025, 3, 7, 13, 59)),
        # New York, spring forward: quiet until 02:30, which does not exist on 9 March →
        # the first instant after, 03:00 EDT.
        ("00:00-02:30", NY, utc(2025, 3, 9, 6, 0), utc(2025, 3, 9, 7, 0)),
        # Fall back: quiet 01:00–01:45, asked during the second 01:10 (EST) → 01:45 EST,
        # never back into the first pass.
        ("01:00-01:45", NY, utc(2025, 11, 2, 6, 10), utc(2025, 11, 2, 6, 45)),
    ],
)
def test_a_delivery_in_quiet_hours_moves_to_their_end(
    quiet: str, zone: str, at: datetime, expected: datetime
) -> None:
    assert QuietHours.parse(quiet).next_open(at, zone) == expected


@st.composite
def quiet_hours(draw: st.DrawFn) -> QuietHours:
    spans = draw(
        st.lists(
            st.tuples(st.integers(0, 1439), st.integers(1, 1000)).map(
                lambda s: (
                    time(s[0] // 60, s[0] % 60),
                    time((s[0] + s[1]) % 1440 // 60, (s[0] + s[1]) % 60),
                )
            ),
            min_size=1,
            max_size=3,
        )
    )
    try:
        return QuietHours(tuple(spans))
    except PacingError:
        return QuietHours(spans[:1])


@settings(max_examples=300, deadline=None)
@given(
    quiet_hours(),
    st.datetimes(
        min_value=datetime(1985, 1, 1), max_value=datetime(2050, 1, 1), timezones=st.just(UTC)
    ),
    st.sampled_from([SHANGHAI, NY, LONDON, "Australia/Lord_Howe"]),
)
def test_quiet_hours_never_contain_a_send_time(quiet: QuietHours, at: datetime, zone: str) -> None:
    moved = quiet.next_open(at, zone)
    assert moved >= at
    assert not quiet.covers(moved, zone)
    if not quiet.covers(at, zone):
        assert moved == at
    else:
        # It is the earliest open moment: every minute before it since ``at`` is quiet.
        probe = moved - timedelta(minutes=1)
        assert (
            probe < at
            or quiet.covers(probe, zone)
            or wall_of(probe, ZoneInfo(zone)) > wall_of(moved, ZoneInfo(zone))
        )
        assert moved - at <= timedelta(hours=25)


# --- golden hours --------------------------------------------------------------------------


def test_the_golden_hour_is_the_busiest() -> None:
    cells = [(0, 9, 30), (0, 21, 10), (4, 21, 40), (5, 10, 5)]  # (weekday, hour, messages)
    assert golden_hour(cells) == 21
    assert golden_hour(cells, weekday=0) == 9  # Monday's own busiest hour
    assert golden_hour(cells, weekday=2) == 21  # no Wednesday data: every day's
    assert golden_hour({8: 3, 20: 7}) == 20  # by hour of the day


def test_ties_go_to_the_earliest_hour_and_no_data_to_the_fallback() -> None:
    assert golden_hour({21: 5, 9: 5, 15: 5}) == 9
    assert golden_hour([]) == 21
    assert golden_hour({}, fallback=20) == 20
    assert golden_hour({3: 0}) == 21


def test_the_golden_hour_is_never_in_quiet_hours() -> None:
    night = QuietHours.parse("23:00-07:00")
    assert golden_hour({2: 100, 20: 3}, quiet=night) == 20
    assert golden_hour({2: 100}, quiet=night, fallback=19) == 19


def test_bad_heatmap_cells_are_refused() -> None:
    with pytest.raises(PacingError, match="hour 24"):
        golden_hour({24: 1})
    with pytest.raises(PacingError, match="count -1"):
        golden_hour([(0, 1, -1)])


@given(st.dictionaries(st.integers(0, 23), st.integers(0, 10_000)))
def test_golden_hour_is_deterministic_and_maximal(counts: dict[int, int]) -> None:
    hour = golden_hour(counts)
    assert hour == golden_hour(dict(reversed(list(counts.items()))))
    if any(counts.values()):
        assert counts.get(hour, 0) == max(counts.values())
        assert all(counts.get(h, 0) < counts[hour] for h in range(hour))
    else:
        assert hour == 21


def test_at_hour_from_takes_todays_hour_or_tomorrows() -> None:
    morning = utc(2025, 3, 7, 0, 30)  # 08:30 Shanghai
    assert at_hour_from(morning, 21, SHANGHAI) == utc(2025, 3, 7, 13)
    assert at_hour_from(morning, 8, SHANGHAI) == utc(2025, 3, 8, 0)
    assert at_hour_from(utc(2025, 3, 7, 13), 21, SHANGHAI) == utc(2025, 3, 7, 13)
    # 02:00 does not exist in New York on 9 March 2025: the jump, 03:00 EDT.
    assert at_hour_from(utc(2025, 3, 9, 5), 2, NY) == utc(2025, 3, 9, 7)


def test_pacing_settings_that_cannot_work_are_refused() -> None:
    with pytest.raises(PacingError, match="daily_cap"):
        Pacing(daily_cap=0)
    with pytest.raises(PacingError, match="golden_fallback"):
        Pacing(golden_fallback=24)


# --- WeCom's one mass message a day --------------------------------------------------------


def test_wecom_groups_that_had_their_message_today_are_named_with_their_next_slot() -> None:
    last = {"wr1": utc(2025, 3, 7, 1), "wr2": utc(2025, 3, 6, 15, 59)}  # 2: 23:59 on the 6th
    planned = [
        ("wr1", utc(2025, 3, 7, 12)),  # same China day as its last
        ("wr2", utc(2025, 3, 7, 12)),  # the 6th was its day; the 7th is free
        ("wr3", utc(2025, 3, 7, 12)),  # never had one
        ("wr3", utc(2025, 3, 7, 15, 59)),  # a second one the same China day
        ("wr3", utc(2025, 3, 7, 16, 0)),  # 00:00 on the 8th: a new day
    ]
    conflicts = wecom_conflicts(planned, last)
    assert [(c.group, c.day, c.next_day) for c in conflicts] == [
        ("wr1", date(2025, 3, 7), date(2025, 3, 8)),
        ("wr3", date(2025, 3, 7), date(2025, 3, 8)),
    ]
    assert conflicts[0].next_slot == utc(2025, 3, 7, 16)  # 00:00 China time
    assert "one mass message per customer group per day" in conflicts[0].problem().en
    assert "只能群发一条" in conflicts[0].problem().zh


def test_the_next_wecom_slot_skips_days_already_taken_in_the_plan() -> None:
    planned = [("g", utc(2025, 3, 8, 2)), ("g", utc(2025, 3, 7, 2))]
    (conflict,) = wecom_conflicts(planned, {"g": utc(2025, 3, 7, 1)})
    assert conflict.planned == utc(2025, 3, 7, 2)
    assert conflict.next_day == date(2025, 3, 9)
