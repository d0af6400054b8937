"""Target specs: which groups (or segment members) a broadcast reaches, or why none."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shequn.features.broadcast.problems import TargetError
from shequn.features.broadcast.targets import (
    GroupInfo,
    Kind,
    MemberInfo,
    Selector,
    parse_targets,
    resolve_targets,
)

GROUPS = [
    GroupInfo("1", "telegram", "-1001", "读书会 1 群", "读书会", 7, frozenset({"VIP", "晨报"})),
    GroupInfo("2", "wecom", "wrA", "读书会 2 群", "读书会", 7, frozenset({"晨报"})),
    GroupInfo("3", "onebot", "4242", "跑步群", "跑团", 8, frozenset()),
    GroupInfo("4", "telegram", "-1004", "Runners", "跑团", 8, frozenset({"en"})),
]
SEGMENTS = {
    "active": [
        MemberInfo(10, "telegram", "555", "Ann"),
        MemberInfo(11, "wecom", "wm1", "Bo"),
        MemberInfo(10, "telegram", "555", "Ann"),
    ],
    "nobody": [],
}


@pytest.mark.parametrize(
    ("spec", "ids"),
    [
        ("all", ["1", "2", "3", "4"]),
        ("tag:晨报", ["1", "2"]),
        ("tag:vip", ["1"]),
        ("group:3", ["3"]),
        ("platform:Telegram", ["1", "4"]),
        ("community:跑团", ["3", "4"]),
        ("community:8", ["3", "4"]),
        ("group:4, tag:VIP", ["1", "4"]),
        ("tag:晨报，platform:onebot", ["1", "2", "3"]),
    ],
)
def test_specs_choose_groups_in_the_order_given(spec: str, ids: list[str]) -> None:
    audience = resolve_targets(spec, GROUPS)
    assert [g.id for g in audience.groups] == ids
    assert audience.members == ()


def test_a_segment_reaches_its_members_once_each() -> None:
    audience = resolve_targets("segment:active,group:1", GROUPS, segments=SEGMENTS)
    assert [m.member_id for m in audience.members] == [10, 11]
    assert [g.id for g in audience.groups] == ["1"]
    assert len(audience) == 3


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("", "is empty"),
        ("tags:vip", "is not all, tag:NAME"),
        ("tag:", "is not all, tag:NAME"),
        ("all:x", "is not all, tag:NAME"),
        ("tag:vpi", "tag:vpi”: matches no group (known: VIP, en, 晨报)"),
        ("group:99", "group:99”: matches no group (known: 4 groups)"),
        ("platform:matrix", "matches no group (known: onebot, telegram, wecom)"),
        ("community:花园", "matches no group (known: 读书会, 跑团)"),
        ("segment:gone", "no such segment (known: active, nobody)"),
        ("segment:nobody", "the segment has no members"),
    ],
)
def test_a_spec_that_matches_nothing_is_refused_saying_so(spec: str, says: str) -> None:
    with pytest.raises(TargetError) as info:
        resolve_targets(spec, GROUPS, segments=SEGMENTS)
    assert says in str(info.value)
    assert info.value.lines("zh-CN")


def test_every_selector_that_matches_nothing_is_named_even_beside_good_ones() -> None:
    with pytest.raises(TargetError) as info:
        resolve_targets("tag:vip, tag:vpi, group:77", GROUPS)
    assert [p.where for p in info.value.problems] == ["to “tag:vpi”", "to “group:77”"]


def test_all_matches_nothing_when_there_are_no_groups() -> None:
    with pytest.raises(TargetError, match="matches no group"):
        resolve_targets("all", [])


def test_selectors_read_and_write_back() -> None:
    selectors = parse_targets("all, tag:晨报, group:3, tag:晨报")
    assert selectors == (Selector(Kind.ALL), Selector(Kind.TAG, "晨报"), Selector(Kind.GROUP, "3"))
    assert ",".join(s.to_text() for s in selectors) == "all,tag:晨报,group:3"


@given(st.lists(st.sampled_from(["all", "tag:晨报", "group:2", "platform:telegram"]), min_size=1))
def test_a_union_is_every_group_some_selector_chooses(parts: list[str]) -> None:
    union = {g.id for part in parts for g in resolve_targets(part, GROUPS).groups}
    assert {g.id for g in resolve_targets(",".join(parts), GROUPS).groups} == union
