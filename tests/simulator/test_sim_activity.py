"""How much people talk, when, and what else they do: the shape analytics will be tested against."""

from __future__ import annotations

import time
from collections import Counter
from datetime import timedelta
from itertools import islice
from zoneinfo import ZoneInfo

import pytest

from shequn.core import EventType
from shequn.simulator import SimConfig, simulate
from shequn.simulator.vocabulary import TITLES


def test_the_top_fifth_of_speakers_writes_about_four_fifths(mid_run) -> None:
    per_actor = Counter(e.actor for e in mid_run.events if e.type is EventType.MESSAGE)
    counts = sorted(per_actor.values(), reverse=True)
    top = counts[: round(len(counts) * 0.2)]
    assert 0.70 <= sum(top) / sum(counts) <= 0.90


def test_most_members_never_speak(mid_run) -> None:
    speakers = {e.actor for e in mid_run.events if e.type is EventType.MESSAGE}
    lurkers = 1 - len(speakers) / len(mid_run.community.people)
    assert 0.5 <= lurkers <= 0.7


def test_volume_is_in_the_expected_range(mid_run) -> None:
    cfg = mid_run.community.config
    messages = sum(e.type is EventType.MESSAGE for e in mid_run.events)
    # 200k–500k for 20 groups x 5000 people x 90 days, so about 0.45–1.1 per person-day
    assert 0.4 < messages / (cfg.members * cfg.days) < 1.1


def test_chat_follows_the_daily_rhythm(mid_run) -> None:
    zone = ZoneInfo(mid_run.community.config.timezone)
    hours = Counter(
        e.occurred_at.astimezone(zone).hour for e in mid_run.events if e.type is EventType.MESSAGE
    )
    night = sum(hours[h] for h in range(2, 6)) / 4
    for peak in (range(9, 11), range(15, 17), range(21, 23)):
        assert sum(hours[h] for h in peak) / 2 > 10 * night
    assert hours[10] > hours[13] and hours[21] > hours[18]


def test_chat_follows_the_weekly_rhythm(mid_run) -> None:
    zone = ZoneInfo(mid_run.community.config.timezone)
    days = Counter(
        e.occurred_at.astimezone(zone).weekday()
        for e in mid_run.events
        if e.type is EventType.MESSAGE
    )
    assert len(days) == 7 and max(days.values()) < 1.6 * min(days.values())


def test_every_kind_of_event_happens(mid_run) -> None:
    kinds = Counter(e.type for e in mid_run.events)
    messages = kinds[EventType.MESSAGE]
    assert kinds[EventType.REACTION] > 0.03 * messages
    assert kinds[EventType.CHECKIN] > 0.02 * messages
    for kind in (EventType.PURCHASE, EventType.ATTEND, EventType.READ, EventType.MEMBER_UPDATE):
        assert kinds[kind] > 0, kind


def test_payloads_follow_the_conventions(mid_run) -> None:
    groups = {g.external_id: g for g in mid_run.community.groups}
    orders = set()
    for e in mid_run.events:
        p = e.payload
        if e.type is EventType.PURCHASE:
            assert p["currency"] == "CNY" and p["amount"] > 0 and p["product"]
            assert p["order_id"] not in orders
            orders.add(p["order_id"])
        elif e.type is EventType.ATTEND:
            assert p["session"].startswith(e.group) and "分享会" in p["title"]
        elif e.type is EventType.READ:
            assert p["article"] and p["url"].startswith("https://example.com/")
        elif e.type is EventType.CHECKIN:
            assert "打卡" in p["streak_key"]
        elif e.type is EventType.REACTION:
            assert p["emoji"] and p["target"].startswith(e.group + ":")
        elif e.type is EventType.MEMBER_UPDATE:
            g = groups[e.group]
            assert p["title"] in TITLES and p["by"] in (g.owner, *g.admins)
    amounts = Counter(e.payload["amount"] for e in mid_run.events if e.type is EventType.PURCHASE)
    assert {9.9, 99.0} & set(amounts)


def test_check_ins_come_from_a_loyal_subset(mid_run) -> None:
    per_actor = Counter(e.actor for e in mid_run.events if e.type is EventType.CHECKIN)
    assert 0.02 < len(per_actor) / len(mid_run.community.people) < 0.15
    assert max(per_actor.values()) > mid_run.community.config.days / 2  # some keep a streak


@pytest.mark.slow
def test_the_default_community_in_one_streamed_pass() -> None:
    """The demo's community: volume, the 80/20 rule and lurkers, measured without a list."""
    community = simulate(SimConfig())
    per_actor: Counter[str] = Counter()
    total = 0
    for e in community.events():
        total += 1
        if e.type is EventType.MESSAGE:
            per_actor[e.actor] += 1
    messages = sum(per_actor.values())
    assert 200_000 <= messages <= 500_000 and total > messages
    counts = sorted(per_actor.values(), reverse=True)
    assert 0.70 <= sum(counts[: round(len(counts) * 0.2)]) / messages <= 0.90
    assert 0.5 <= 1 - len(counts) / len(community.people) <= 0.7


def test_a_long_window_streams_without_building_it_first() -> None:
    community = simulate(SimConfig(groups=60, members=30_000, days=3650))
    started = time.perf_counter()
    chat = islice((e for e in community.events() if e.type is EventType.MESSAGE), 10_000)
    last = list(chat)[-1]
    assert time.perf_counter() - started < 15  # generating ten years first would take hours
    assert last.occurred_at < community.window[0] + timedelta(days=7)
