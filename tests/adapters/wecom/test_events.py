"""Group details and changes → Events, without a network."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from adapters.wecom.support import CORP_ID, READING, payload
from shequn.adapters.wecom.events import (
    BadPayload,
    ChangeContext,
    ChatChange,
    change_events,
    parse_group_detail,
    recent_joiners,
    snapshot_events,
)
from shequn.core import EventType

SOURCE = f"wecom:{CORP_ID}"
NOW = datetime(2025, 3, 1, 2, 0, tzinfo=UTC)
WANG = "wmOgQhDgAAuXFJGwbve4g4iXknfOAAAA"
CHEN = "wmOgQhDgAAwhxA1wQkZrPBm2BzL8AAAA"
ZHOU = "wmOgQhDgAAs8Hn2Qk4Lr1Zt6VbY3AAAA"


def detail(name: str = "groupchat_get_reading.json"):
    return parse_group_detail(payload(name)["group_chat"])


def test_a_group_detail_is_read_whole() -> None:
    group = detail()
    assert group.chat_id == READING
    assert group.name == "上海读书会·周末共读群"
    assert group.owner == "ZhangWei"
    assert group.admins == ("LiNa",)
    assert group.created_at == datetime(2025, 1, 1, 1, 20, tzinfo=UTC)
    wang = group.member(WANG)
    assert wang is not None
    assert wang.member_type == "external"
    assert wang.via == "qrcode"
    assert wang.display_name == "语嫣@静安"
    assert wang.state == "poster_2025spring"
    chen = group.member(CHEN)
    assert chen is not None and chen.via == "link" and chen.inviter == "LiNa"
    assert [group.role_of(u).value for u in ("ZhangWei", "LiNa", WANG)] == [
        "owner",
        "admin",
        "member",
    ]


@pytest.mark.parametrize(
    ("broken", "field"),
    [
        ({"chat_id": READING, "member_list": [{"type": 2}]}, "userid is missing"),
        ({"chat_id": READING, "member_list": [{"userid": "u", "join_time": "昨天"}]}, "join_time"),
        ({"chat_id": READING, "member_list": [{"userid": "u", "join_time": 10**12}]}, "range"),
        ({"chat_id": READING, "member_list": "everyone"}, "member_list"),
        ({"chat_id": READING, "admin_list": [{"userid": 7}]}, "userid is int"),
        ({"chat_id": READING, "member_list": [{"userid": "u", "type": "2"}]}, "type"),
        ({"name": "没有群ID"}, "chat_id is missing"),
        ([], "not an object"),
    ],
)
def test_a_malformed_detail_names_the_field_and_the_group(broken: object, field: str) -> None:
    with pytest.raises(BadPayload, match=field) as caught:
        parse_group_detail(broken)
    if isinstance(broken, dict) and "chat_id" in broken:
        assert READING in str(caught.value)


def test_a_first_snapshot_reports_the_group_and_every_member() -> None:
    group = detail()
    events = snapshot_events(group, SOURCE, None, NOW)
    assert [e.type for e in events] == [EventType.GROUP_UPDATE] + [EventType.JOIN] * 4
    update = events[0]
    assert update.source_id == f"{READING}:snapshot:{group.digest}"
    assert update.group_name == "上海读书会·周末共读群"
    assert update.payload["owner"] == "ZhangWei"
    assert update.payload["member_count"] == 4
    joins = {e.actor: e for e in events[1:]}
    wang = joins[WANG]
    assert wang.occurred_at == datetime(2025, 1, 5, 0, 0, tzinfo=UTC)
    assert wang.source_id == f"{READING}:{WANG}:join:1736035200"
    assert wang.actor_name == "语嫣@静安"
    assert wang.payload == {
        "role": "member",
        "via": "qrcode",
        "member_type": "external",
        "entry_source": "poster_2025spring",
        "unionid": "ozynqsulJFCZ2z1aYeS8h-nuasdAAA",
    }
    assert joins["ZhangWei"].payload["role"] == "owner"
    assert joins["LiNa"].payload["role"] == "admin"
    assert joins[CHEN].payload["inviter"] == "LiNa"


def test_an_unchanged_group_reports_nothing() -> None:
    assert snapshot_events(detail(), SOURCE, detail(), NOW) == []


def test_a_changed_group_reports_only_the_changes() -> None:
    before = detail("groupchat_get_reading_after_join.json")
    after = detail("groupchat_get_reading_after_leave.json")
    events = snapshot_events(after, SOURCE, before, NOW)
    assert [(e.type, e.actor) for e in events] == [
        (EventType.GROUP_UPDATE, None),
        (EventType.LEAVE, CHEN),
    ]
    assert events[0].payload["name"] == "上海读书会·春季共读群"
    leave = events[1]
    assert leave.source_id == f"{READING}:{CHEN}:leave:5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d"
    assert leave.payload == {"observed": True}
    assert leave.actor_name == "陈小春"


def removal(members: tuple[str, ...] | None) -> ChatChange:
    return ChatChange(
        chat_id=READING,
        change_type="update",
        update_detail="del_member",
        occurred_at=NOW,
        quit_scene=1,
        member_count=1,
        members=members,
    )


def test_a_removal_is_laid_on_the_owner() -> None:
    [leave] = change_events(removal((CHEN,)), SOURCE, ChangeContext(owner="ZhangWei"))
    assert leave.payload["kicked_by"] == "ZhangWei"
    assert leave.payload["removed"] is True


def test_members_worked_out_by_the_adapter_are_used() -> None:
    before = detail()
    [leave] = change_events(
        removal(None), SOURCE, ChangeContext(members=(CHEN,), before=before, owner="ZhangWei")
    )
    assert leave.actor == CHEN
    assert leave.actor_name == "陈小春"
    assert leave.group_name == "上海读书会·周末共读群"


def test_a_join_seen_in_the_detail_carries_what_the_detail_knows() -> None:
    change = ChatChange(
        chat_id=READING,
        change_type="update",
        update_detail="add_member",
        occurred_at=NOW,
        join_scene=3,
        member_count=1,
    )
    after = detail("groupchat_get_reading_after_join.json")
    [join] = change_events(change, SOURCE, ChangeContext(members=(ZHOU,), after=after))
    assert join.actor_name == "小周同学"
    assert join.payload["via"] == "qrcode"
    assert join.payload["entry_source"] == "poster_2025spring"
    assert join.source_id == f"{READING}:{ZHOU}:join:1740794400"


def test_recent_joiners_are_found_by_join_time() -> None:
    after = detail("groupchat_get_reading_after_join.json")
    assert recent_joiners(after, NOW, 1) == (ZHOU,)
    assert recent_joiners(after, NOW.replace(year=2026), 1) == ()


def test_an_unknown_change_type_is_skipped() -> None:
    change = replace(removal((CHEN,)), change_type="archive")
    assert change_events(change, SOURCE) == []
