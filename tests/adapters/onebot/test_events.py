"""Recorded NapCat frames sent over a real socket come out of ``events()`` as Events."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from adapters.onebot.bridge import GROUP, SELF_ID, Bridge
from shequn.adapters.onebot import OneBotAdapter
from shequn.core import (
    Event,
    EventType,
    Face,
    Image,
    Mention,
    Message,
    Quote,
    Text,
)

pytestmark = pytest.mark.anyio

SOURCE = f"onebot:{SELF_ID}"


async def next_event(stream: AsyncIterator[Event], timeout: float = 3) -> Event:
    async with asyncio.timeout(timeout):
        return await anext(stream)


async def one(adapter: OneBotAdapter, bridge: Bridge, name: str) -> Event:
    await bridge.send(name)
    return await next_event(adapter.events())


async def test_meta_events_are_consumed_and_private_messages_ignored(
    adapter: OneBotAdapter, bridge: Bridge
) -> None:
    for name in ("lifecycle_connect", "heartbeat", "private_message", "group_message_array"):
        await bridge.send(name)
    event = await next_event(adapter.events())
    assert event.type is EventType.MESSAGE
    assert event.source_id == "msg:1873290215"
    assert adapter.account == SELF_ID


async def test_group_message_in_array_form(adapter: OneBotAdapter, bridge: Bridge) -> None:
    event = await one(adapter, bridge, "group_message_array")
    assert event == Event(
        type=EventType.MESSAGE,
        platform="onebot",
        source=SOURCE,
        source_id="msg:1873290215",
        occurred_at=datetime(2024, 6, 11, 7, 15, 23, tzinfo=UTC),
        group=GROUP,
        group_name="北京产品经理交流群",
        actor="1234567890",
        actor_name="产品-王小明",
        message=Message(
            (
                Quote("-2021837465"),
                Mention(user="2345678901"),
                Text(" 周六的线下活动地点改到望京了，详见图片"),
                Face(face_id="178", name="斜眼笑"),
                Image(
                    url="https://multimedia.nt.qq.com.cn/download?appid=1407&fileid=EhQ2Yk&rkey=CAQSKAB6",
                    file_id="B4E2D1C7A9F0E3D5C6B7A8F9E0D1C2B3.jpg",
                    size=184372,
                ),
            )
        ),
        payload={"message_id": "1873290215", "role": "admin", "title": "活跃分子"},
    )


async def test_group_message_as_cq_string_with_escapes(
    adapter: OneBotAdapter, bridge: Bridge
) -> None:
    event = await one(adapter, bridge, "group_message_string")
    assert event.source_id == "msg:-1302847561"
    assert event.actor == "2345678901"
    assert event.actor_name == "Lily🌸"  # an empty card falls back to the nickname
    assert event.group_name is None
    assert event.occurred_at == datetime(2024, 6, 11, 7, 16, 28, tzinfo=UTC)
    assert event.payload == {"message_id": "-1302847561", "role": "member"}
    assert event.message == Message(
        (
            Mention(everyone=True),
            Text(" 本周分享：A&B 测试实战[第二期]，报名请私聊"),
            Image(
                url="https://gchat.qpic.cn/gchatpic_new/0/0-0-7F3A9C/0?term=2&is_origin=0,1",
                file_id="7F3A9C.gif",
            ),
        )
    )


async def test_joins_by_approval_and_by_invitation(adapter: OneBotAdapter, bridge: Bridge) -> None:
    approved = await one(adapter, bridge, "group_increase_approve")
    assert approved.type is EventType.JOIN
    assert (approved.group, approved.actor) == (GROUP, "3456789012")
    assert approved.source_id == f"{GROUP}:3456789012:join:1718090300"
    assert approved.occurred_at == datetime(2024, 6, 11, 7, 18, 20, tzinfo=UTC)
    assert approved.payload == {"role": "member", "via": "request", "approved_by": "1234567890"}

    invited = await one(adapter, bridge, "group_increase_invite")
    assert invited.type is EventType.JOIN
    assert invited.actor == "4567890123"
    assert invited.payload == {"role": "member", "via": "invite", "inviter": "2345678901"}


async def test_leave_and_kick(adapter: OneBotAdapter, bridge: Bridge) -> None:
    left = await one(adapter, bridge, "group_decrease_leave")
    assert left.type is EventType.LEAVE
    assert left.actor == "5678901234"
    assert left.source_id == f"{GROUP}:5678901234:leave:1718090420"
    assert "kicked_by" not in left.payload

    kicked = await one(adapter, bridge, "group_decrease_kick")
    assert kicked.type is EventType.LEAVE
    assert kicked.actor == "6789012345"
    assert kicked.payload == {"sub_type": "kick", "kicked_by": "1234567890"}


async def test_mute_and_unmute(adapter: OneBotAdapter, bridge: Bridge) -> None:
    muted = await one(adapter, bridge, "group_ban")
    assert muted.type is EventType.MEMBER_UPDATE
    assert muted.actor == "6789012345"
    assert muted.occurred_at == datetime(2024, 6, 11, 7, 22, 20, tzinfo=UTC)
    assert muted.payload == {"muted_until": "2024-06-11T07:32:20+00:00", "by": "1234567890"}

    lifted = await one(adapter, bridge, "group_ban_lift")
    assert lifted.type is EventType.MEMBER_UPDATE
    assert lifted.payload == {"unmuted": True, "by": "1234567890"}
    assert lifted.source_id != muted.source_id


async def test_recall(adapter: OneBotAdapter, bridge: Bridge) -> None:
    recall = await one(adapter, bridge, "group_recall")
    assert recall.type is EventType.RECALL
    assert recall.actor == "2345678901"
    assert recall.payload == {"target": "-1302847561", "by": "1234567890"}
    assert recall.source_id == f"{GROUP}:recall:-1302847561"


async def test_join_request_with_its_answer(adapter: OneBotAdapter, bridge: Bridge) -> None:
    request = await one(adapter, bridge, "request_group_add")
    assert request.type is EventType.JOIN_REQUEST
    assert (request.group, request.actor) == (GROUP, "7890123456")
    assert request.payload == {
        "answer": "问题：你是从哪里知道本群的？\n答案：朋友推荐，做产品三年了",
        "request_id": "1718090720123456",
        "sub_type": "add",
    }
    assert request.source_id == f"{GROUP}:7890123456:request:1718090720123456"


async def test_a_redelivered_frame_is_the_same_event(
    adapter: OneBotAdapter, bridge: Bridge
) -> None:
    stream = adapter.events()
    firsts = []
    for name in ("group_ban", "group_decrease_kick", "group_message_string"):
        await bridge.send(name)
        await bridge.send(name)
        first, second = await next_event(stream), await next_event(stream)
        assert first == second
        firsts.append(first.key)
    assert len(set(firsts)) == 3
