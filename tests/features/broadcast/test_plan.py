"""Planning a fan-out: one delivery or one refusal per recipient, keys that survive a restart,
and a daily cap that holds over any sequence of posts."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shequn.core import ActionType, Image, Link
from shequn.features.broadcast.localtime import local_date
from shequn.features.broadcast.pacing import Pacing, QuietHours
from shequn.features.broadcast.plan import (
    Reason,
    delivery_key,
    of_run,
    plan_fanout,
    tally,
)
from shequn.features.broadcast.post import Post, PostImage, parse_post
from shequn.features.broadcast.problems import PostError
from shequn.features.broadcast.targets import GroupInfo, MemberInfo

RUN = datetime(2025, 3, 7, 0, 30, tzinfo=UTC)  # 08:30 in Shanghai, a Friday
POST = parse_post(
    {
        "id": "brief",
        "variants": {"zh-CN": "{group} 晨报 {date}", "en": "{group} brief {date}"},
        "images": ["https://example.org/cover.png"],
    }
)
GROUPS = [
    GroupInfo("1", "telegram", "-1001", "读书会", "书友", 1, member_count=300),
    GroupInfo("2", "wecom", "wrA", "客户群", "书友", 1, member_count=80),
    GroupInfo("3", "matrix", "!r:hs", "Runners", "跑团", 2, lang="en", zone="Europe/London"),
    GroupInfo("4", "icq", "99", "Old", "跑团", 2),
]


def by_id(deliveries: list) -> dict:
    return {d.recipient.key: d for d in deliveries}


def test_each_group_gets_its_copy_at_the_run_with_its_own_values() -> None:
    plan = by_id(plan_fanout(POST, GROUPS[:3], RUN, Pacing(), {}))
    telegram = plan["g1"]
    assert telegram.ok and telegram.send_at == RUN and telegram.day == date(2025, 3, 7)
    assert telegram.key == "broadcast:brief:g1:20250307T003000Z"
    action = telegram.action()
    assert action.type is ActionType.SEND_MESSAGE
    assert (action.platform, action.group, action.key) == ("telegram", "-1001", telegram.key)
    assert action.message is not None
    assert action.message.plain_text().startswith("读书会 晨报 2025年3月7日")
    assert action.message.of_kind(Image) == [Image(url="https://example.org/cover.png")]
    # The London group reads English, its own date, and Matrix shows the image as a link.
    london = plan["g3"]
    assert london.ok and london.day == date(2025, 3, 7)
    assert london.action().message.plain_text().startswith("Runners brief March 7, 2025")
    assert london.rendered is not None and london.rendered.warnings[0].where == "images[0]"
    assert london.action().message.of_kind(Link)


def test_keys_are_the_same_when_the_run_is_planned_again() -> None:
    first = plan_fanout(POST, GROUPS, RUN, Pacing(golden=True), {})
    again = plan_fanout(
        POST, GROUPS, RUN, Pacing(golden=True), {}, heat={"1": {9: 50}, "2": {14: 3}}
    )
    assert [d.key for d in first] == [d.key for d in again]
    assert len({d.key for d in first}) == len(first)
    assert all(of_run(d.key, "brief", RUN) for d in first)
    assert not of_run(first[0].key, "brief", RUN + timedelta(minutes=1))
    assert not of_run(delivery_key("brief-2", "g1", RUN), "brief", RUN)


def test_refusals_name_the_recipient_and_the_reason() -> None:
    members = [
        MemberInfo(7, "wecom", "wm7"),
        MemberInfo(8, "telegram", "888", supports_dm=False),
        MemberInfo(9, "telegram", "999", community="书友"),
    ]
    plan = by_id(plan_fanout(POST, GROUPS, RUN, Pacing(), {}, members=members))
    assert plan["g4"].refusal is not None
    assert plan["g4"].refusal.reason is Reason.UNKNOWN_PLATFORM
    assert plan["m7"].refusal is not None
    assert plan["m7"].refusal.reason is Reason.NO_DIRECT_MESSAGES
    assert plan["m7"].refusal.lines("en") == [
        "member 7: wecom lets the bot send no direct messages"
    ]
    assert plan["m8"].refusal is not None and plan["m8"].refusal.reason is Reason.UNREACHABLE
    dm = plan["m9"].action()
    assert dm.type is ActionType.DIRECT_MESSAGE and (dm.user, dm.member_id) == ("999", 9)
    with pytest.raises(ValueError, match="refused"):
        plan["g4"].action()


def test_a_post_too_long_for_wecom_is_refused_there_only() -> None:
    long_post = Post("long", {"zh-CN": "长" * 2000})  # 6,000 bytes
    plan = by_id(plan_fanout(long_post, GROUPS[:2], RUN, Pacing(), {}))
    assert plan["g1"].ok
    refusal = plan["g2"].refusal
    assert refusal is not None and refusal.reason is Reason.RENDER
    assert "6,000 bytes; wecom takes at most 4,000" in refusal.lines("en")[0]
    assert plan["g2"].rendered is not None  # the preview still shows what it would be


def test_the_daily_cap_refuses_a_group_that_has_had_enough_and_says_when() -> None:
    pacing = Pacing(daily_cap=2, quiet=QuietHours.parse("22:00-08:00"))
    sent = {("g1", date(2025, 3, 7)): 2, ("g1", date(2025, 3, 8)): 2}
    refusal = by_id(plan_fanout(POST, GROUPS[:1], RUN, pacing, sent))["g1"].refusal
    assert refusal is not None and refusal.reason is Reason.DAILY_CAP
    assert "daily cap of 2 broadcasts on 2025-03-07" in refusal.lines("en")[0]
    assert "上限" in refusal.lines("zh-CN")[0]
    # The 8th is full too; the 9th opens at 08:00 when the quiet hours end.
    assert refusal.next_slot == datetime(2025, 3, 9, 0, 0, tzinfo=UTC)


def test_wecom_one_a_day_is_respected_before_sending() -> None:
    plan = plan_fanout(
        POST,
        GROUPS[1:2],
        RUN,
        Pacing(),
        {},
        mass_sent={"2": datetime(2025, 3, 7, 0, 5, tzinfo=UTC)},
    )
    (delivery,) = plan
    assert delivery.refusal is not None
    assert delivery.refusal.reason is Reason.PLATFORM_DAILY_LIMIT
    assert delivery.refusal.next_slot == datetime(2025, 3, 7, 16, 0, tzinfo=UTC)
    yesterday = {"2": datetime(2025, 3, 6, 15, 0, tzinfo=UTC)}  # 23:00 on the 6th, China
    assert plan_fanout(POST, GROUPS[1:2], RUN, Pacing(), {}, mass_sent=yesterday)[0].ok


def test_golden_hours_and_quiet_hours_set_each_groups_time() -> None:
    pacing = Pacing(golden=True, quiet=QuietHours.parse("23:00-07:00"))
    heat = {
        "1": [(4, 12, 80), (4, 2, 500), (0, 9, 999)],  # Friday: noon (02:00 is quiet)
        "2": {},  # no data: the 21:00 fallback
    }
    plan = by_id(plan_fanout(POST, GROUPS[:2], RUN, pacing, {}, heat=heat))
    assert plan["g1"].send_at == datetime(2025, 3, 7, 4, 0, tzinfo=UTC)
    assert plan["g2"].send_at == datetime(2025, 3, 7, 13, 0, tzinfo=UTC)
    # Without golden hours a run at 23:30 waits for the quiet hours to end.
    late = datetime(2025, 3, 7, 15, 30, tzinfo=UTC)
    (quiet,) = plan_fanout(POST, GROUPS[:1], late, Pacing(quiet=pacing.quiet), {})
    assert quiet.send_at == datetime(2025, 3, 7, 23, 0, tzinfo=UTC)
    assert quiet.day == date(2025, 3, 8) and quiet.key.endswith("20250307T153000Z")


def test_a_recipient_listed_twice_gets_one_delivery_and_an_unsound_post_none() -> None:
    assert len(plan_fanout(POST, [GROUPS[0], GROUPS[0]], RUN, Pacing(), {})) == 1
    with pytest.raises(PostError):
        plan_fanout(Post("empty"), GROUPS, RUN, Pacing(), {})
    with pytest.raises(ValueError, match="aware"):
        plan_fanout(POST, GROUPS, datetime(2025, 3, 7), Pacing(), {})


ZONES = ["Asia/Shanghai", "America/New_York", "Europe/London"]


@st.composite
def fleets(draw: st.DrawFn) -> list[GroupInfo]:
    count = draw(st.integers(1, 5))
    return [
        GroupInfo(
            str(i),
            draw(st.sampled_from(["sim", "telegram", "onebot"])),
            f"x{i}",
            zone=draw(st.sampled_from(ZONES)),
        )
        for i in range(count)
    ]


@settings(max_examples=150, deadline=None)
@given(
    fleets(),
    st.integers(1, 4),
    st.lists(
        st.tuples(st.integers(0, 72 * 60), st.booleans(), st.integers(0, 23)),
        min_size=1,
        max_size=25,
    ),
    st.sampled_from(["", "22:00-08:00", "12:00-13:00, 23:30-06:00"]),
)
def test_the_daily_cap_is_never_exceeded_over_any_sequence_of_posts(
    groups: list[GroupInfo], cap: int, posts: list[tuple[int, bool, int]], quiet: str
) -> None:
    start = datetime(2025, 3, 7, tzinfo=UTC)
    counts: dict[tuple[str, date], int] = {}
    hours = QuietHours.parse(quiet)
    for number, (minutes, golden, busy) in enumerate(sorted(posts)):
        post = Post(f"p{number}", {"zh-CN": "通知 {group}"})
        pacing = Pacing(daily_cap=cap, quiet=hours, golden=golden)
        run = start + timedelta(minutes=minutes)
        heat = {g.id: {busy: 10} for g in groups}
        plan = plan_fanout(post, groups, run, pacing, counts, heat=heat)
        assert len(plan) == len(groups)
        for delivery in plan:
            assert delivery.ok or delivery.refusal is not None
            if delivery.ok:
                assert delivery.send_at is not None and delivery.send_at >= run
                assert not hours.covers(delivery.send_at, delivery.recipient.zone)
                assert delivery.day == local_date(delivery.send_at, delivery.recipient.zone)
            elif delivery.refusal is not None:
                assert delivery.refusal.reason is Reason.DAILY_CAP
                assert delivery.refusal.next_slot is not None
                assert delivery.refusal.next_slot > (delivery.send_at or run)
        for key, n in tally(plan).items():
            counts[key] = counts.get(key, 0) + n
    assert all(n <= cap for n in counts.values())


def test_an_image_only_post_goes_everywhere_it_can() -> None:
    post = Post("pic", images=(PostImage("https://example.org/a.png"),))
    plan = plan_fanout(post, GROUPS[:3], RUN, Pacing(), {})
    assert all(d.ok for d in plan)
