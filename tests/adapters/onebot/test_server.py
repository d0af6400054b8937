"""The reverse-WebSocket server: who may connect, what a dropped bridge means, and
how frames that make no sense are survived."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest
from pydantic import ValidationError
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from adapters.onebot.bridge import GROUP, SELF_ID, TOKEN, Bridge, payload
from shequn.adapters.base import ConnectionLost
from shequn.adapters.onebot import OneBotAdapter, OneBotConfig
from shequn.core import Action, ActionType, EventType

pytestmark = pytest.mark.anyio


async def refused_with(port: int, **dial: object) -> int:
    with pytest.raises(InvalidStatus) as caught:
        await Bridge.dial(port, **dial)  # type: ignore[arg-type]
    return caught.value.response.status_code


async def test_a_wrong_or_missing_token_is_refused_at_the_handshake(
    adapter: OneBotAdapter,
) -> None:
    assert await refused_with(adapter.port, token="napcat-test-token-5f1d") == 401
    assert await refused_with(adapter.port, token=None) == 401
    assert await refused_with(adapter.port, token="") == 401
    assert not adapter.bridged
    assert adapter.account == ""


async def test_a_token_in_the_query_string_is_accepted(adapter: OneBotAdapter) -> None:
    headers = {"X-Self-ID": SELF_ID, "X-Client-Role": "Universal"}
    url = f"ws://127.0.0.1:{adapter.port}/onebot/v11/ws?access_token={TOKEN}"
    async with connect(url, additional_headers=headers, proxy=None) as socket:
        await socket.send(json.dumps(payload("group_recall")))
        event = await asyncio.wait_for(anext(adapter.events()), 3)
        assert event.type is EventType.RECALL
    wrong = f"ws://127.0.0.1:{adapter.port}/onebot/v11/ws?access_token=guess"
    with pytest.raises(InvalidStatus) as caught:
        await connect(wrong, additional_headers=headers, proxy=None)
    assert caught.value.response.status_code == 401


async def test_other_bad_handshakes(adapter: OneBotAdapter) -> None:
    assert await refused_with(adapter.port, path="/onebot/v12/ws") == 404
    assert await refused_with(adapter.port, self_id=None) == 400
    assert await refused_with(adapter.port, self_id="38890 01234") == 400
    assert await refused_with(adapter.port, role="Spectator") == 400


async def test_one_bridge_per_role_and_one_account_per_adapter(adapter: OneBotAdapter) -> None:
    first = await Bridge.dial(adapter.port)
    try:
        assert await refused_with(adapter.port) == 409
        assert await refused_with(adapter.port, role="API") == 409
    finally:
        await first.close()
    await asyncio.sleep(0.05)
    assert await refused_with(adapter.port, self_id="1111111111") == 403
    again = await Bridge.dial(adapter.port)  # the same account may come back
    await again.close()


async def test_a_configured_account_refuses_other_bots() -> None:
    config = OneBotConfig(community="c", port=0, access_token=TOKEN, self_id="2222222222")
    adapter = OneBotAdapter(config)
    assert adapter.account == "2222222222"
    await adapter.connect()
    try:
        assert await refused_with(adapter.port) == 403
        bridge = await Bridge.dial(adapter.port, self_id="2222222222")
        await bridge.close()
    finally:
        await adapter.disconnect()


async def test_event_and_api_roles_on_separate_sockets(adapter: OneBotAdapter) -> None:
    events = await Bridge.dial(adapter.port, role="Event")
    api = await Bridge.dial(adapter.port, role="API")
    try:
        await events.send("group_increase_invite")
        event = await asyncio.wait_for(anext(adapter.events()), 3)
        assert event.type is EventType.JOIN
        assert event.source == f"onebot:{SELF_ID}"
        task = asyncio.create_task(adapter.perform(Action(ActionType.MUTE_ALL, group=GROUP)))
        call = await api.next_call()
        assert call["action"] == "set_group_whole_ban"
        await api.answer(call, "ok_null")
        await task
        with pytest.raises(TimeoutError):
            await events.next_call(timeout=0.1)
    finally:
        await events.close()
        await api.close()


async def test_a_dropped_bridge_ends_events_with_connection_lost(adapter: OneBotAdapter) -> None:
    bridge = await Bridge.dial(adapter.port)
    await bridge.send("group_decrease_leave")
    await bridge.close()
    stream = adapter.events()
    event = await asyncio.wait_for(anext(stream), 3)
    assert event.type is EventType.LEAVE
    with pytest.raises(ConnectionLost, match="the bridge disconnected"):
        await asyncio.wait_for(anext(stream), 3)
    assert not adapter.bridged

    # The bridge dials in again; a new stream carries on.
    bridge = await Bridge.dial(adapter.port)
    try:
        await bridge.send("group_decrease_kick")
        event = await asyncio.wait_for(anext(adapter.events()), 3)
        assert event.payload["kicked_by"] == "1234567890"
    finally:
        await bridge.close()


async def test_disconnect_ends_events_without_an_error(config: OneBotConfig) -> None:
    adapter = OneBotAdapter(config)
    await adapter.connect()
    bridge = await Bridge.dial(adapter.port)
    await bridge.send("group_recall")
    await asyncio.sleep(0.05)
    await adapter.disconnect()
    received = [event async for event in adapter.events()]
    assert [e.type for e in received] == [EventType.RECALL]
    await bridge.socket.wait_closed()


async def test_malformed_frames_are_skipped_and_the_socket_keeps_working(
    adapter: OneBotAdapter, bridge: Bridge, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="shequn.adapters.onebot")
    message = payload("group_message_array")
    bad_time = {**message, "time": "昨天"}
    no_user = {k: v for k, v in message.items() if k != "user_id"}
    bad_segment = {**message, "message": [{"data": {"text": "没有 type"}}]}
    bad_sender = {**message, "sender": "小明"}
    kick_without_kicker = {**payload("group_decrease_kick"), "operator_id": 0}
    for frame in (
        "这不是 JSON",
        b"\xff\xfe\x00",
        "[1, 2, 3]",
        '{"status": "ok"}',
        '{"post_type": 7}',
        bad_time,
        no_user,
        bad_segment,
        bad_sender,
        kick_without_kicker,
        {"status": "ok", "retcode": 0, "data": None, "echo": "never-sent"},
    ):
        await bridge.send_frame(frame)
    await bridge.send("group_message_string")
    event = await asyncio.wait_for(anext(adapter.events()), 3)
    assert event.source_id == "msg:-1302847561"

    reasons = "\n".join(r.getMessage() for r in caplog.records)
    assert "not JSON" in reasons
    assert "binary, not UTF-8" in reasons
    assert "JSON list, not an object" in reasons
    assert "neither an event (post_type) nor an answer (echo)" in reasons
    assert "post_type is missing or not text" in reasons
    assert "message group normal message_id=1873290215" in reasons
    assert "time is missing or not a number" in reasons
    assert "user_id is missing or not an id" in reasons
    assert "message is malformed: segment 0 has no type" in reasons
    assert "sender is not an object" in reasons
    assert "operator_id is missing on a kick" in reasons
    assert "unknown or expired call" in reasons

    # Actions still go through the same socket.
    task = asyncio.create_task(adapter.perform(Action(ActionType.MUTE_ALL, group=GROUP)))
    call = await bridge.next_call()
    await bridge.answer(call, "ok_null")
    await task


async def test_frames_for_another_account_are_skipped(
    adapter: OneBotAdapter, bridge: Bridge, caplog: pytest.LogCaptureFixture
) -> None:
    await bridge.send_frame({**payload("group_recall"), "self_id": 1111111111})
    await bridge.send("group_ban")
    event = await asyncio.wait_for(anext(adapter.events()), 3)
    assert event.type is EventType.MEMBER_UPDATE
    assert "for account 1111111111" in caplog.text


def test_config_requires_a_token_and_normalises_the_path() -> None:
    with pytest.raises(ValidationError, match="access_token"):
        OneBotConfig(community="c")  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="must not be empty"):
        OneBotConfig(community="c", access_token="  ")
    with pytest.raises(ValidationError, match="extra"):
        OneBotConfig(community="c", access_token="t", token="t")  # type: ignore[call-arg]
    config = OneBotConfig(community="c", access_token="s3cr3t-napcat", path="/qq/ws/")
    assert (config.host, config.port, config.path) == ("127.0.0.1", 6700, "/qq/ws")
    assert config.action_timeout_s == 10
    assert "s3cr3t" not in repr(config)
