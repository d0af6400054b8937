"""How events add up, fed straight to the pure Tally (no database)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from factories import START, event
from shequn.core import Event, EventType, StoredEvent
from shequn.core.message import Mention, Message, Quote, Text
from shequn.features.analytics.rollup.logic import (
    OPEN_FOR,
    Seen,
    Tally,
    reply_bucket,
    week_of,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
MEMBERS = {"u1": 1, "u2": 2, "u3": 3}


def stored(e: Event, n: int = 0) -> StoredEvent:
    return StoredEvent(n, e, 1, 10, MEMBERS.get(e.actor or ""), MEMBERS.get(e.actor or ""))


def say(n: int, actor: str, *parts: object, minutes: float | None = None) -> StoredEvent:
    at = START + timedelta(minutes=n if minutes is None else minutes)
    e = event(n, actor=actor, at=at, message_id=f"m{n}")
    return stored(e.with_(message=Message.of(*parts)), n)  # type: ignore[arg-type]


def tally(*events: StoredEvent, seen: dict | None = None) -> Tally:
    t = Tally({1: SHANGHAI}, seen=seen or {})
    for s in events:
        t.add(s)
    return t


def test_messages_count_per_local_day_hour_and_member() -> None:
    # 15:30 UTC on Monday is 23:30 in Shanghai; 16:30 UTC is already Tuesday there.
    late = stored(event(1, at=datetime(2026, 3, 2, 15, 30, tzinfo=UTC)))
    later = stored(event(2, at=datetime(2026, 3, 2, 16, 30, tzinfo=UTC)))
    t = tally(late, later)
    monday, tuesday = date(2026, 3, 2), date(2026, 3, 3)
    assert t.group_day[(10, monday)]["messages"] == 1
    assert t.group_day[(10, tuesday)]["messages"] == 1
    assert t.group_hour == {(10, monday, 23): 1, (10, tuesday, 0): 1}
    assert t.member_day == {(10, monday, 1): 1, (10, tuesday, 1): 1}
    first, last, n = t.member_group[(10, 1)]
    assert (first, last, n) == (late.event.occurred_at, later.event.occurred_at, 2)


def test_joins_leaves_kicks_and_reactions() -> None:
    t = tally(
        stored(event(1, EventType.JOIN, actor="u2")),
        stored(event(2, EventType.LEAVE, actor="u2")),
        stored(event(3, EventType.LEAVE, actor="u3", kicked_by="u1")),
        stored(event(4, EventType.LEAVE, actor="u1", kicked_by="u1")),  # left by themselves
        stored(event(5, EventType.REACTION, actor="u1", target="x", emoji="👍")),
    )
    day = t.group_day[(10, START.astimezone(SHANGHAI).date())]
    assert (day["joins"], day["leaves"], day["kicks"], day["reactions"]) == (1, 2, 1, 1)
    assert day["messages"] == 0 and not t.member_day


def test_question_answered_by_a_quote_counts_its_delay() -> None:
    q = say(1, "u1", "配速怎么提高？")
    a = say(2, "u2", Quote("m1"), Text("多练间歇跑"), minutes=1 + 12)
    t = tally(q, a)
    day = t.group_day[(10, q.event.occurred_at.astimezone(SHANGHAI).date())]
    assert day["questions"] == 1 and day["answered_15m"] == 1
    assert sum(v for k, v in day.items() if k.startswith("answered")) == 1
    assert [i.ref for i in t.closed] == ["m1"] and t.opened[0].ref == "m1"


def test_answers_by_mention_segment_and_by_plain_at_name() -> None:
    by_segment = tally(say(1, "u1", "有人去广马吗"), say(2, "u2", Mention("u1", "昵称u1"), "我去"))
    assert (
        by_segment.closed
        and by_segment.group_day[next(iter(by_segment.group_day))]["answered_1m"] == 1
    )
    by_name = tally(say(1, "u1", "有人去广马吗"), say(3, "u3", "@昵称u1 我也去"))
    assert len(by_name.closed) == 1


def test_own_follow_up_and_unrelated_chat_do_not_answer() -> None:
    t = tally(
        say(1, "u1", "怎么报名？"), say(2, "u1", Quote("m1"), "有人吗"), say(3, "u2", "今天好热")
    )
    assert not t.closed
    day = next(iter(t.group_day.values()))
    assert day["questions"] == 2 and day["answered_1m"] == 0


def test_a_reply_after_a_day_is_too_late() -> None:
    q = say(1, "u1", "怎么报名？")
    late = say(2, "u2", Quote("m1"), "这样报", minutes=1 + OPEN_FOR.total_seconds() / 60 + 1)
    t = tally(q, late)
    assert not t.closed


def test_newcomers_first_message_waits_for_a_reply() -> None:
    joined = START - timedelta(days=2)
    seen = {(10, 2): Seen(None, joined, False), (10, 3): Seen(None, joined, True)}
    hello = say(1, "u2", "大家好，我是新来的")
    observed = say(2, "u3", "路过")  # seated only because they spoke: not a newcomer
    welcome = say(3, "u1", Mention("u2", "昵称u2"), " 欢迎！")
    again = say(4, "u2", "再说一句")
    t = tally(hello, observed, welcome, again, seen=seen)
    day = next(iter(t.group_day.values()))
    assert day["newcomers"] == 1 and day["newcomers_answered"] == 1
    # Someone who spoke before is never a newcomer again.
    old = tally(say(5, "u2", "hi"), seen={(10, 2): Seen(START - timedelta(days=9), None, False)})
    assert next(iter(old.group_day.values()))["newcomers"] == 0


def test_buckets_and_weeks() -> None:
    assert reply_bucket(timedelta(seconds=59)) == "answered_1m"
    assert reply_bucket(timedelta(minutes=5)) == "answered_5m"
    assert reply_bucket(timedelta(hours=3)) == "answered_4h"
    assert reply_bucket(timedelta(days=3)) == "answered_1d"
    assert week_of(date(2026, 3, 8)) == date(2026, 3, 2)  # a Sunday → its Monday
    assert week_of(date(2026, 3, 2)) == date(2026, 3, 2)


def test_terms_are_counted_per_group_week() -> None:
    t = tally(say(1, "u1", "马拉松报名了"), say(2, "u2", "马拉松加油"))
    week = week_of(START.astimezone(SHANGHAI).date())
    assert t.term_week[(10, week, "马拉松")] == 2
