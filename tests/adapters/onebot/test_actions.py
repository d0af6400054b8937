"""Each action sends the right OneBot call over the socket and maps the bridge's answer."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from adapters.onebot.bridge import GROUP, TOKEN, Bridge
from shequn.adapters.base import Done, PermanentFailure, TransientFailure, Unsupported
from shequn.adapters.onebot import OneBotAdapter, OneBotConfig
from shequn.core import Action, ActionType, Image, Mention, Message, Poll, Quote

pytestmark = pytest.mark.anyio

MEMBER = "6789012345"


async def exchange(
    adapter: OneBotAdapter, bridge: Bridge, action: Action, response: str
) -> tuple[dict[str, Any], Done]:
    """Perform ``action`` while the bridge answers its one call with ``response``."""
    task = asyncio.create_task(adapter.perform(action))
    call = await bridge.next_call()
    await bridge.answer(call, response)
    return call, await task


CASES = [
    (
        Action(ActionType.DELETE_MESSAGE, group=GROUP, target_message="-1302847561"),
        "delete_msg",
        {"message_id": -1302847561},
    ),
    (
        Action(ActionType.KICK, group=GROUP, user=MEMBER),
        "set_group_kick",
        {"group_id": 876543210, "user_id": 6789012345, "reject_add_request": False},
    ),
    (
        Action(ActionType.BAN, group=GROUP, user=MEMBER),
        "set_group_kick",
        {"group_id": 876543210, "user_id": 6789012345, "reject_add_request": True},
    ),
    (
        Action(ActionType.MUTE, group=GROUP, user=MEMBER, duration=timedelta(minutes=10)),
        "set_group_ban",
        {"group_id": 876543210, "user_id": 6789012345, "duration": 600},
    ),
    (
        Action(ActionType.MUTE, group=GROUP, user=MEMBER, duration=timedelta(seconds=90.2)),
        "set_group_ban",
        {"group_id": 876543210, "user_id": 6789012345, "duration": 91},
    ),
    (
        Action(ActionType.UNMUTE, group=GROUP, user=MEMBER),
        "set_group_ban",
        {"group_id": 876543210, "user_id": 6789012345, "duration": 0},
    ),
    (
        Action(ActionType.MUTE_ALL, group=GROUP),
        "set_group_whole_ban",
        {"group_id": 876543210, "enable": True},
    ),
    (
        Action(ActionType.UNMUTE_ALL, group=GROUP),
        "set_group_whole_ban",
        {"group_id": 876543210, "enable": False},
    ),
    (
        Action(ActionType.SET_CARD, group=GROUP, user=MEMBER, params={"card": "运营-小周"}),
        "set_group_card",
        {"group_id": 876543210, "user_id": 6789012345, "card": "运营-小周"},
    ),
    (
        Action(ActionType.SET_TITLE, group=GROUP, user=MEMBER, params={"title": "字幕侠"}),
        "set_group_special_title",
        {"group_id": 876543210, "user_id": 6789012345, "special_title": "字幕侠", "duration": -1},
    ),
    (
        Action(ActionType.SET_ROLE, group=GROUP, user=MEMBER, params={"role": "admin"}),
        "set_group_admin",
        {"group_id": 876543210, "user_id": 6789012345, "enable": True},
    ),
    (
        Action(ActionType.SET_ROLE, group=GROUP, user=MEMBER, params={"role": "member"}),
        "set_group_admin",
        {"group_id": 876543210, "user_id": 6789012345, "enable": False},
    ),
    (
        Action(
            ActionType.APPROVE_JOIN,
            group=GROUP,
            user="7890123456",
            params={"request_id": "1718090720123456"},
        ),
        "set_group_add_request",
        {"flag": "1718090720123456", "sub_type": "add", "approve": True},
    ),
    (
        Action(
            ActionType.REJECT_JOIN,
            group=GROUP,
            user="7890123456",
            params={"request_id": "1718090720123456", "reason": "请先填写问卷", "sub_type": "add"},
        ),
        "set_group_add_request",
        {"flag": "1718090720123456", "sub_type": "add", "approve": False, "reason": "请先填写问卷"},
    ),
]


@pytest.mark.parametrize(
    ("action", "name", "params"), CASES, ids=[f"{c[0].type.value}-{i}" for i, c in enumerate(CASES)]
)
async def test_management_actions(
    adapter: OneBotAdapter, bridge: Bridge, action: Action, name: str, params: dict[str, Any]
) -> None:
    call, done = await exchange(adapter, bridge, action, "ok_null")
    assert call["action"] == name
    assert call["params"] == params
    assert done == Done(details={"call": name})


async def test_send_message_returns_the_new_message_id(
    adapter: OneBotAdapter, bridge: Bridge
) -> None:
    message = Message.of(
        Mention(user="2345678901"),
        " 欢迎加入！群规见图 [必读]",
        Image(url="https://example.com/rules.png"),
    )
    action = Action(ActionType.SEND_MESSAGE, group=GROUP, message=message)
    call, done = await exchange(adapter, bridge, action, "send_group_msg_ok")
    assert call["action"] == "send_group_msg"
    assert call["params"] == {
        "group_id": 876543210,
        "message": [
            {"type": "at", "data": {"qq": "2345678901"}},
            {"type": "text", "data": {"text": " 欢迎加入！群规见图 [必读]"}},
            {"type": "image", "data": {"file": "https://example.com/rules.png"}},
        ],
    }
    assert done.platform_id == "1873290301"
    assert done.details == {"call": "send_group_msg"}


async def test_reply_puts_the_reply_segment_first(adapter: OneBotAdapter, bridge: Bridge) -> None:
    action = Action(
        ActionType.REPLY,
        group=GROUP,
        target_message="1873290215",
        message=Message.of("收到，", Mention(everyone=True), " 周六望京见"),
    )
    call, done = await exchange(adapter, bridge, action, "send_group_msg_ok")
    assert call["params"]["message"] == [
        {"type": "reply", "data": {"id": "1873290215"}},
        {"type": "text", "data": {"text": "收到，"}},
        {"type": "at", "data": {"qq": "all"}},
        {"type": "text", "data": {"text": " 周六望京见"}},
    ]
    assert done.platform_id == "1873290301"


async def test_reply_replaces_a_quote_of_another_message(
    adapter: OneBotAdapter, bridge: Bridge
) -> None:
    action = Action(
        ActionType.REPLY,
        group=GROUP,
        target_message="42",
        message=Message.of(Quote("41"), "好的"),
    )
    call, _ = await exchange(adapter, bridge, action, "send_group_msg_ok")
    assert call["params"]["message"] == [
        {"type": "reply", "data": {"id": "42"}},
        {"type": "text", "data": {"text": "好的"}},
    ]


async def test_direct_message_goes_through_send_private_msg(
    adapter: OneBotAdapter, bridge: Bridge
) -> None:
    action = Action(ActionType.DIRECT_MESSAGE, user="7890123456", message=Message.of("你好"))
    call, done = await exchange(adapter, bridge, action, "send_group_msg_ok")
    assert call["action"] == "send_private_msg"
    assert call["params"] == {
        "user_id": 7890123456,
        "message": [{"type": "text", "data": {"text": "你好"}}],
    }
    assert done.platform_id == "1873290301"


async def test_what_qq_cannot_show_is_reported_in_done(
    adapter: OneBotAdapter, bridge: Bridge
) -> None:
    poll = Poll("周六还是周日？", ("周六", "周日"))
    action = Action(ActionType.SEND_MESSAGE, group=GROUP, message=Message.of("投票：", poll))
    call, done = await exchange(adapter, bridge, action, "send_group_msg_ok")
    assert call["params"]["message"] == [
        {"type": "text", "data": {"text": "投票：[poll 周六还是周日？]"}}
    ]
    assert done.details["lost"] == ["polls are not supported; sent as text"]


async def test_bad_request_is_permanent_with_the_bridges_words(
    adapter: OneBotAdapter, bridge: Bridge
) -> None:
    action = Action(ActionType.SEND_MESSAGE, group=GROUP, message=Message.of("hi"))
    with pytest.raises(PermanentFailure, match=r"retcode 1400.*Expected number"):
        await exchange(adapter, bridge, action, "failed_1400")


async def test_unknown_api_is_permanent(adapter: OneBotAdapter, bridge: Bridge) -> None:
    action = Action(ActionType.SET_TITLE, group=GROUP, user=MEMBER, params={"title": "元老"})
    with pytest.raises(PermanentFailure, match="不支持的Api") as caught:
        await exchange(adapter, bridge, action, "failed_1404")
    assert not isinstance(caught.value, TransientFailure)


async def test_a_failure_inside_qq_is_transient(adapter: OneBotAdapter, bridge: Bridge) -> None:
    action = Action(ActionType.KICK, group=GROUP, user=MEMBER)
    with pytest.raises(TransientFailure, match=r"retcode 1200.*kickMember"):
        await exchange(adapter, bridge, action, "failed_1200")


@pytest.mark.parametrize(
    ("kind", "why"),
    [
        (ActionType.PIN_MESSAGE, "no call to pin"),
        (ActionType.UNBAN, "no unban"),
        (ActionType.INVITE, "no call to invite"),
    ],
)
async def test_unsupported_actions_say_why_and_send_nothing(
    adapter: OneBotAdapter, bridge: Bridge, kind: ActionType, why: str
) -> None:
    fields: dict[str, Any] = {"group": GROUP, "user": MEMBER}
    if kind is ActionType.PIN_MESSAGE:
        fields = {"group": GROUP, "target_message": "1873290215"}
    with pytest.raises(Unsupported, match=why):
        await adapter.perform(Action(kind, **fields))
    with pytest.raises(TimeoutError):
        await bridge.next_call(timeout=0.1)


@pytest.mark.parametrize(
    ("action", "why"),
    [
        (
            Action(ActionType.MUTE, group=GROUP, user=MEMBER, duration=timedelta(days=31)),
            "30 days at most",
        ),
        (
            Action(ActionType.SET_ROLE, group=GROUP, user=MEMBER, params={"role": "owner"}),
            "'admin' or 'member'",
        ),
        (Action(ActionType.SET_CARD, group=GROUP, user=MEMBER), r"params\['card'\]"),
        (Action(ActionType.APPROVE_JOIN, group=GROUP, user=MEMBER), r"params\['request_id'\]"),
        (
            Action(ActionType.SEND_MESSAGE, group=GROUP, message=Message.of(Quote("5"))),
            "nothing QQ can show",
        ),
    ],
)
async def test_impossible_requests_fail_before_reaching_the_bridge(
    adapter: OneBotAdapter, bridge: Bridge, action: Action, why: str
) -> None:
    with pytest.raises(PermanentFailure, match=why):
        await adapter.perform(action)
    with pytest.raises(TimeoutError):
        await bridge.next_call(timeout=0.1)


async def test_member_list(adapter: OneBotAdapter, bridge: Bridge) -> None:
    task = asyncio.create_task(adapter.member_list(GROUP))
    call = await bridge.next_call()
    assert (call["action"], call["params"]) == ("get_group_member_list", {"group_id": 876543210})
    await bridge.answer(call, "get_group_member_list_ok")
    members = await task
    assert [m["user_id"] for m in members] == [1234567890, 2345678901, 3889001234]
    assert members[0]["card"] == "产品-王小明"
    assert members[0]["role"] == "admin"


async def test_answers_are_matched_by_echo_not_by_order(
    adapter: OneBotAdapter, bridge: Bridge
) -> None:
    kick = asyncio.create_task(adapter.perform(Action(ActionType.KICK, group=GROUP, user=MEMBER)))
    first = await bridge.next_call()
    send = asyncio.create_task(
        adapter.perform(Action(ActionType.SEND_MESSAGE, group=GROUP, message=Message.of("hi")))
    )
    second = await bridge.next_call()
    assert first["echo"] != second["echo"]
    await bridge.answer(second, "send_group_msg_ok")
    await bridge.answer(first, "failed_1200")
    assert (await send).platform_id == "1873290301"
    with pytest.raises(TransientFailure):
        await kick


async def test_an_unanswered_call_times_out_as_transient() -> None:
    config = OneBotConfig(community="c", port=0, access_token=TOKEN, action_timeout_s=0.3)
    adapter = OneBotAdapter(config)
    await adapter.connect()
    bridge = await Bridge.dial(adapter.port)
    try:
        task = asyncio.create_task(adapter.perform(Action(ActionType.MUTE_ALL, group=GROUP)))
        call = await bridge.next_call()
        assert call["action"] == "set_group_whole_ban"
        with pytest.raises(TransientFailure, match="did not answer within 0.3 s"):
            await task
        # A late answer to the expired call is dropped, and the socket still works.
        await bridge.answer(call, "ok_null")
        task = asyncio.create_task(adapter.perform(Action(ActionType.UNMUTE_ALL, group=GROUP)))
        call = await bridge.next_call()
        await bridge.answer(call, "ok_null")
        assert await task == Done(details={"call": "set_group_whole_ban"})
    finally:
        await bridge.close()
        await adapter.disconnect()


async def test_without_a_bridge_an_action_fails_as_transient() -> None:
    config = OneBotConfig(community="c", port=0, access_token=TOKEN, action_timeout_s=0.2)
    adapter = OneBotAdapter(config)
    await adapter.connect()
    try:
        with pytest.raises(TransientFailure, match="no OneBot bridge is connected"):
            await adapter.perform(Action(ActionType.MUTE_ALL, group=GROUP))
    finally:
        await adapter.disconnect()


async def test_an_action_waits_for_a_bridge_that_is_dialling_in(adapter: OneBotAdapter) -> None:
    task = asyncio.create_task(adapter.perform(Action(ActionType.MUTE_ALL, group=GROUP)))
    await asyncio.sleep(0.05)
    bridge = await Bridge.dial(adapter.port)
    try:
        call = await bridge.next_call()
        await bridge.answer(call, "ok_null")
        assert (await task).details == {"call": "set_group_whole_ban"}
    finally:
        await bridge.close()


async def test_a_bridge_that_drops_mid_call_fails_it_as_transient(
    adapter: OneBotAdapter, bridge: Bridge
) -> None:
    task = asyncio.create_task(adapter.perform(Action(ActionType.KICK, group=GROUP, user=MEMBER)))
    await bridge.next_call()
    await bridge.close()
    with pytest.raises(TransientFailure, match="disconnected"):
        await task
