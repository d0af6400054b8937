"""How failures are reported: rate limits, server errors, lost connections, refusals.

Synapse cannot be made to answer 429 or 5xx on demand, so a small homeserver
stand-in on 127.0.0.1 answers the few endpoints the adapter uses, with the
status codes and error bodies the client-server API specifies. Refusals a real
server gives (a wrong token) are checked against the real Synapse.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from pydantic import SecretStr

from adapters.matrix.support import Accounts, Stream, matrix_config
from matrix_server import Homeserver, free_port
from shequn.adapters.base import (
    Adapter,
    AdapterError,
    ConnectionLost,
    PermanentFailure,
    TransientFailure,
    Unsupported,
)
from shequn.adapters.matrix import MatrixAdapter, MatrixConfig
from shequn.core import Action, ActionType, Message

pytestmark = pytest.mark.anyio

BOT = "@bot:shequn.test"

#: What the stand-in answers a send to each room with: status, JSON body or text.
ANSWERS: dict[str, tuple[int, dict | str]] = {
    "!limited:shequn.test": (
        429,
        {"errcode": "M_LIMIT_EXCEEDED", "error": "Too Many Requests", "retry_after_ms": 1500},
    ),
    "!overloaded:shequn.test": (500, {"errcode": "M_UNKNOWN", "error": "Internal server error"}),
    "!proxy:shequn.test": (502, "<html><body>502 Bad Gateway</body></html>"),
    "!malformed:shequn.test": (400, {"errcode": "M_BAD_JSON", "error": "Content not JSON."}),
    "!gone:shequn.test": (404, {"errcode": "M_NOT_FOUND", "error": "Unknown room"}),
    "!fine:shequn.test": (200, {"event_id": "$sent"}),
}


@dataclass
class StandIn:
    """The stand-in's state: whether syncs fail, and what it was sent."""

    base_url: str = ""
    runner: web.AppRunner | None = None
    failing_syncs: bool = False
    sent: list[str] = field(default_factory=list)


async def _whoami(request: web.Request) -> web.Response:
    if request.headers.get("Authorization") != "Bearer good-token":
        return web.json_response(
            {"errcode": "M_UNKNOWN_TOKEN", "error": "Invalid access token"}, status=401
        )
    return web.json_response({"user_id": BOT, "device_id": "SHEQUN"})


def _sync(state: StandIn):
    async def handler(request: web.Request) -> web.Response:
        since = request.query.get("since")
        if since is None:
            return web.json_response({"next_batch": "s1", "rooms": {}})
        if state.failing_syncs:
            return web.json_response({"errcode": "M_UNKNOWN", "error": "database down"}, status=503)
        await asyncio.sleep(min(int(request.query.get("timeout", "0")) / 1000, 0.2))
        return web.json_response({"next_batch": since})

    return handler


def _send(state: StandIn):
    async def handler(request: web.Request) -> web.Response:
        room = request.match_info["room"]
        state.sent.append(room)
        status, body = ANSWERS[room]
        if isinstance(body, str):
            return web.Response(status=status, text=body, content_type="text/html")
        return web.json_response(body, status=status)

    return handler


@pytest.fixture
async def stand_in() -> AsyncIterator[StandIn]:
    state = StandIn()
    app = web.Application()
    app.router.add_get("/_matrix/client/v3/account/whoami", _whoami)
    app.router.add_get("/_matrix/client/v3/sync", _sync(state))
    app.router.add_put("/_matrix/client/v3/rooms/{room}/send/{kind}/{txn}", _send(state))
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    state.base_url = f"http://127.0.0.1:{port}"
    state.runner = runner
    try:
        yield state
    finally:
        await runner.cleanup()


def config(base_url: str, token: str = "good-token") -> MatrixConfig:
    return MatrixConfig(community="读书会", homeserver=base_url, user_id=BOT, access_token=token)


def send_to(room: str) -> Action:
    return Action(ActionType.SEND_MESSAGE, group=room, message=Message.of("测试"), key="k1")


async def test_server_answers_become_transient_or_permanent_failures(stand_in: StandIn) -> None:
    adapter = MatrixAdapter(config(stand_in.base_url))
    await adapter.connect()
    try:
        with pytest.raises(TransientFailure) as limited:
            await adapter.perform(send_to("!limited:shequn.test"))
        assert limited.value.retry_after == 1.5
        assert "M_LIMIT_EXCEEDED" in limited.value.reason
        # nio would have slept and retried by itself; the dispatcher decides instead.
        assert stand_in.sent.count("!limited:shequn.test") == 1

        with pytest.raises(TransientFailure, match="M_UNKNOWN Internal server error"):
            await adapter.perform(send_to("!overloaded:shequn.test"))
        with pytest.raises(TransientFailure, match=r"no errcode .*\(HTTP 502\)"):
            await adapter.perform(send_to("!proxy:shequn.test"))

        with pytest.raises(PermanentFailure, match="M_BAD_JSON Content not JSON") as bad:
            await adapter.perform(send_to("!malformed:shequn.test"))
        assert not bad.value.transient
        with pytest.raises(PermanentFailure, match="M_NOT_FOUND Unknown room"):
            await adapter.perform(send_to("!gone:shequn.test"))

        done = await adapter.perform(send_to("!fine:shequn.test"))
        assert done.platform_id == "$sent"
    finally:
        await adapter.disconnect()


async def test_syncs_that_keep_failing_end_the_stream(stand_in: StandIn) -> None:
    adapter = MatrixAdapter(config(stand_in.base_url))
    adapter.sync_retry_s = 0.01
    await adapter.connect()
    try:
        stand_in.failing_syncs = True
        with pytest.raises(
            ConnectionLost, match=r"sync failed 5 times: .*database down \(HTTP 503\)"
        ):
            await Stream(adapter).next(timeout=5)
    finally:
        await adapter.disconnect()


async def test_an_unreachable_homeserver() -> None:
    base_url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ConnectionLost, match="whoami"):
        await MatrixAdapter(config(base_url)).connect()
    with pytest.raises(TransientFailure, match="not connected"):
        await MatrixAdapter(config(base_url)).perform(send_to("!fine:shequn.test"))


async def test_a_connection_that_breaks_after_connecting(stand_in: StandIn) -> None:
    adapter = MatrixAdapter(config(stand_in.base_url))
    await adapter.connect()
    try:
        assert stand_in.runner is not None
        await stand_in.runner.cleanup()
        with pytest.raises(TransientFailure, match="send to !fine:shequn.test: Client"):
            await adapter.perform(send_to("!fine:shequn.test"))
    finally:
        await adapter.disconnect()


async def test_a_refused_token_is_not_a_lost_connection(
    homeserver: Homeserver, accounts: Accounts
) -> None:
    wrong = matrix_config(homeserver, accounts).model_copy(
        update={"access_token": SecretStr("syt_not_a_real_token")}
    )
    with pytest.raises(AdapterError, match="M_UNKNOWN_TOKEN") as refused:
        await MatrixAdapter(wrong).connect()
    assert not isinstance(refused.value, ConnectionLost)


async def test_a_password_login_uses_the_configured_device(
    homeserver: Homeserver, accounts: Accounts, people: dict
) -> None:
    with_password = MatrixConfig(
        community="读书会",
        homeserver=homeserver.base_url,
        user_id=accounts.carol.user_id,
        password=SecretStr("carol-密码-1"),
        device_id="SHEQUN-TEST",
    )
    adapter = MatrixAdapter(with_password)
    await adapter.connect()
    await adapter.disconnect()
    devices = await people["carol"].devices()
    assert "SHEQUN-TEST" in [device.id for device in devices.devices]


async def test_titles_and_cards_are_unsupported_with_a_reason() -> None:
    adapter = MatrixAdapter(config("https://matrix.example.org"))
    assert isinstance(adapter, Adapter)
    assert adapter.source == f"matrix:{BOT}"
    for kind in (ActionType.SET_TITLE, ActionType.SET_CARD):
        action = Action(kind, group="!room:example.org", user=BOT, params={"title": "班长"})
        with pytest.raises(Unsupported) as refused:
            await adapter.perform(action)
        assert adapter.why_not[kind] in refused.value.reason
    assert not (adapter.capabilities & set(adapter.why_not))
    assert adapter.repeatable >= {ActionType.SEND_MESSAGE, ActionType.REPLY, ActionType.KICK}
