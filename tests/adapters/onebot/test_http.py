"""With ``http_url`` set, actions go to the bridge's HTTP API: a small aiohttp server
on 127.0.0.1 stands in for NapCat's, checks the Bearer token and records calls."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

from adapters.onebot.bridge import GROUP, TOKEN, Bridge, payload
from shequn.adapters.base import PermanentFailure, TransientFailure
from shequn.adapters.onebot import OneBotAdapter, OneBotConfig
from shequn.core import Action, ActionType, Message

pytestmark = pytest.mark.anyio


@dataclass
class HttpBridge:
    """NapCat's HTTP server: ``POST /{action}`` with JSON params, Bearer token."""

    url: str = ""
    calls: list[tuple[str, Any]] = field(default_factory=list)
    #: action → (HTTP status, JSON body or text, extra headers)
    answers: dict[str, tuple[int, Any, dict[str, str]]] = field(default_factory=dict)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return web.json_response(
                {"status": "failed", "retcode": 1403, "message": "token verify failed"},
                status=403,
            )
        action = request.match_info["action"]
        self.calls.append((action, await request.json()))
        status, body, headers = self.answers.get(action, (200, payload("ok_null"), {}))
        if isinstance(body, str):
            return web.Response(status=status, text=body, headers=headers)
        return web.json_response(body, status=status, headers=headers)


@pytest.fixture
async def http_bridge() -> AsyncIterator[HttpBridge]:
    bridge = HttpBridge()
    app = web.Application()
    app.router.add_post("/{action}", bridge.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    bridge.url = f"http://{host}:{port}"
    try:
        yield bridge
    finally:
        await runner.cleanup()


async def http_adapter(url: str, token: str = TOKEN) -> OneBotAdapter:
    config = OneBotConfig(
        community="c", port=0, access_token=token, http_url=url, action_timeout_s=2
    )
    adapter = OneBotAdapter(config)
    await adapter.connect()
    return adapter


async def test_actions_and_member_list_go_over_http(http_bridge: HttpBridge) -> None:
    http_bridge.answers["send_group_msg"] = (200, payload("send_group_msg_ok"), {})
    http_bridge.answers["get_group_member_list"] = (200, payload("get_group_member_list_ok"), {})
    adapter = await http_adapter(http_bridge.url)
    # A socket bridge is connected too, and must see no calls.
    socket_bridge = await Bridge.dial(adapter.port)
    try:
        done = await adapter.perform(
            Action(ActionType.SEND_MESSAGE, group=GROUP, message=Message.of("早上好"))
        )
        assert done.platform_id == "1873290301"
        await adapter.perform(Action(ActionType.KICK, group=GROUP, user="6789012345"))
        members = await adapter.member_list(GROUP)
        assert len(members) == 3
        assert http_bridge.calls == [
            (
                "send_group_msg",
                {"group_id": 876543210, "message": [{"type": "text", "data": {"text": "早上好"}}]},
            ),
            (
                "set_group_kick",
                {"group_id": 876543210, "user_id": 6789012345, "reject_add_request": False},
            ),
            ("get_group_member_list", {"group_id": 876543210}),
        ]
        with pytest.raises(TimeoutError):
            await socket_bridge.next_call(timeout=0.1)
    finally:
        await socket_bridge.close()
        await adapter.disconnect()


@pytest.mark.parametrize(
    ("answer", "failure", "words"),
    [
        ((200, payload("failed_1400"), {}), PermanentFailure, "retcode 1400.*Expected number"),
        ((200, payload("failed_200_http"), {}), TransientFailure, "retcode 200.*权限不足"),
        ((404, "Not Found", {}), PermanentFailure, "HTTP 404"),
        (
            (400, {"status": "failed", "retcode": 1400, "message": "参数错误"}, {}),
            PermanentFailure,
            "HTTP 400.*参数错误",
        ),
        ((503, "busy", {}), TransientFailure, "HTTP 503"),
        ((200, "<html>不是 JSON</html>", {}), TransientFailure, "not JSON"),
    ],
)
async def test_http_answers_map_to_failures(
    http_bridge: HttpBridge, answer: tuple[int, Any, dict[str, str]], failure: type, words: str
) -> None:
    http_bridge.answers["set_group_ban"] = answer
    adapter = await http_adapter(http_bridge.url)
    try:
        action = Action(ActionType.UNMUTE, group=GROUP, user="6789012345")
        with pytest.raises(failure, match=words) as caught:
            await adapter.perform(action)
        if failure is PermanentFailure:
            assert not isinstance(caught.value, TransientFailure)
    finally:
        await adapter.disconnect()


async def test_rate_limited_answers_carry_retry_after(http_bridge: HttpBridge) -> None:
    http_bridge.answers["set_group_ban"] = (429, "slow down", {"Retry-After": "7"})
    adapter = await http_adapter(http_bridge.url)
    try:
        with pytest.raises(TransientFailure) as caught:
            await adapter.perform(Action(ActionType.UNMUTE, group=GROUP, user="6789012345"))
        assert caught.value.retry_after == 7
    finally:
        await adapter.disconnect()


async def test_a_wrong_token_is_permanent(http_bridge: HttpBridge) -> None:
    adapter = await http_adapter(http_bridge.url, token="not-the-token")
    try:
        with pytest.raises(PermanentFailure, match="HTTP 403.*token verify failed"):
            await adapter.perform(Action(ActionType.MUTE_ALL, group=GROUP))
        assert http_bridge.calls == []
    finally:
        await adapter.disconnect()


async def test_an_unreachable_api_is_transient() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    adapter = await http_adapter(f"http://127.0.0.1:{port}")
    try:
        with pytest.raises(TransientFailure, match="unreachable"):
            await adapter.perform(Action(ActionType.MUTE_ALL, group=GROUP))
    finally:
        await adapter.disconnect()
