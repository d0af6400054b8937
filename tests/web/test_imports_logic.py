"""The pure rules behind dashboard imports: names, column maps, progress, orphaned jobs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shequn.features.imports.logic import (
    STALE_AFTER,
    RunnerId,
    clean_group,
    display_name,
    elapsed,
    fraction,
    orphaned,
    parse_mapping,
    relabel,
)

NOW = datetime(2026, 10, 5, 2, 0, tzinfo=UTC)
ME = RunnerId("web-1", 100, "aaa")


@given(st.text(max_size=600))
def test_a_display_name_is_never_a_path_nor_unprintable(sent: str) -> None:
    name = display_name(sent)
    assert 1 <= len(name) <= 255
    assert "/" not in name and "\\" not in name
    assert all(ch.isprintable() or ch == " " for ch in name)


@pytest.mark.parametrize(
    ("sent", "shown"),
    [
        ("C:\\fakepath\\导出.json", "导出.json"),
        ("../../etc/passwd", "passwd"),
        ("a\x00b\u202e.txt", "ab.txt"),
        ("", "upload"),
        (None, "upload"),
        ("/", "upload"),
    ],
)
def test_display_names(sent: str | None, shown: str) -> None:
    assert display_name(sent) == shown


def test_column_maps() -> None:
    assert parse_mapping("time=created_at, user=uid\nuser_name = nick") == {
        "time": "created_at",
        "user": "uid",
        "user_name": "nick",
    }
    assert parse_mapping("") == {} and parse_mapping(None) == {}
    assert parse_mapping("a=b=c") == {"a": "b=c"}
    for bad in ("time", "=x", "time=", "1x=y", "time=a\x00b", ",,", "a=b,", "a=b\n"):
        with pytest.raises(ValueError, match="FIELD=COLUMN"):
            parse_mapping(bad)


def test_group_names_progress_and_time() -> None:
    assert clean_group("  \u202e群\x00 ") == "群" and clean_group("   ") is None
    assert fraction(50, 200) == 0.25 and fraction(5, 0) == 0.0 and fraction(300, 200) == 1.0
    start = NOW - timedelta(hours=1, minutes=2, seconds=3)
    assert elapsed(start, None, NOW) == "1:02:03"
    assert elapsed(start, start + timedelta(seconds=59), NOW) == "0:00:59"
    assert elapsed(None, None, NOW) == ""
    assert relabel("/srv/up/ab12.upload:13: not JSON", "/srv/up/ab12.upload", "x.jsonl") == (
        "x.jsonl:13: not JSON"
    )


def _orphaned(runner: RunnerId | None, **kw: object) -> bool:
    args: dict = {"host": "web-1", "pid": 100, "live": [ME], "pid_alive": True, "now": NOW}
    args |= kw
    return orphaned(runner, args.pop("heartbeat", NOW), **args)


def test_which_jobs_belong_to_a_dead_process() -> None:
    assert _orphaned(None), "a job no runner claims"
    assert not _orphaned(ME), "this process's live runner"
    assert _orphaned(RunnerId("web-1", 100, "old")), "this pid, an earlier process"
    assert not _orphaned(RunnerId("web-1", 200, "x")), "another live process here"
    assert _orphaned(RunnerId("web-1", 200, "x"), pid_alive=False), "a dead process here"
    other = RunnerId("web-2", 100, "y")
    assert not _orphaned(other, heartbeat=NOW - STALE_AFTER + timedelta(seconds=1))
    assert _orphaned(other, heartbeat=NOW - STALE_AFTER - timedelta(seconds=1))
    assert _orphaned(other, heartbeat=None)
    assert RunnerId.parse(str(ME)) == ME and RunnerId.parse("junk") is None
