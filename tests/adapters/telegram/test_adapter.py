"""The adapter's life: ``getMe`` on connect, its own long-polling loop through the
real dispatcher, the stream ending with ``ConnectionLost`` and the reason, and
what it declares (capabilities, reasons, limits, settings)."""

from __future__ import annotations

import asyncio
import logging

import pytest
from pydantic import ValidationError

from shequn.adapters.base import (
    STATE_SETTING,
    Adapter,
    Bucket,
    ConnectionLost,
    PermanentFailure,
)
from shequn.adapters.telegram import ALLOWED_UPDATES, TelegramAdapter, TelegramConfig
from shequn.core import ActionType
from shequn.core.actions import INTERNAL

pytestmark = pytest.mark.anyio

TOKEN = "7123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


def updates(*bodies: dict) -> dict:
    return {"ok": True, "result": list(bodies)}


async def _wait_forever(method):
    await asyncio.Event().wait()
    raise AssertionError("unreachable")


async def test_connect_checks_the_token_then_polls(adapter, session, payload) -> None:
    session.answer_with("getMe", "getMe")
    session.answer(
        "getUpdates",
        updates(payload("updates/reply"), payload("updates/chat_member_kicked")),
        updates(payload("updates/private_message")),
        payload("responses/conflict"),
    )
    async with asyncio.timeout(5):
        await adapter.connect()
        assert adapter.account == "7123456789"
        assert adapter.username == "dushuhui_bot"
        got = []
        with pytest.raises(ConnectionLost, match="terminated by other getUpdates request"):
            async for event in adapter.events():
                got.append(event.source_id)
    assert got == ["update:804511205", "update:804511215"]
    assert [api for api, _ in session.made()] == ["getMe", "getUpdates", "getUpdates", "getUpdates"]
    polls = [c for c in session.calls if c.api == "getUpdates"]
    allowed = ["message", "chat_member", "my_chat_member", "chat_join_request"]
    assert [c.fields for c in polls] == [
        {"timeout": 25, "allowed_updates": allowed},
        {"offset": 804511216, "timeout": 25, "allowed_updates": allowed},
        {"offset": 804511223, "timeout": 25, "allowed_updates": allowed},
    ]
    # The request outlasts the long poll it carries.
    assert {c.timeout for c in polls} == {60 + 25}
    await adapter.disconnect()


async def test_reconnect_resumes_after_the_last_update(adapter, session, payload) -> None:
    session.answer_with("getMe", "getMe", "getMe")
    session.answer(
        "getUpdates",
        updates(payload("updates/reply")),
        payload("responses/bad_gateway"),
        updates(payload("updates/poll")),
        _wait_forever,
    )
    async with asyncio.timeout(5):
        await adapter.connect()
        with pytest.raises(ConnectionLost, match="Bad Gateway"):
            async for _ in adapter.events():
                pass
        await adapter.disconnect()
        await adapter.connect()
        stream = adapter.events()
        event = await anext(stream)
        assert event.source_id == "update:804511208"
        await adapter.disconnect()
        assert [e async for e in stream] == []
    offsets = [c.fields.get("offset") for c in session.calls if c.api == "getUpdates"]
    assert offsets == [None, 804511206, 804511206, 804511209]


async def test_disconnect_stops_polling_and_closes_the_session(adapter, session) -> None:
    session.answer_with("getMe", "getMe")
    session.answer("getUpdates", _wait_forever)
    async with asyncio.timeout(5):
        await adapter.connect()
        await asyncio.sleep(0)
        await adapter.disconnect()
        assert [e async for e in adapter.events()] == []
    assert session.closed == 1
    assert [api for api, _ in session.made()] == ["getMe", "getUpdates"]


async def test_connecting_twice_polls_once(adapter, session) -> None:
    session.answer_with("getMe", "getMe")
    session.answer("getUpdates", _wait_forever)
    async with asyncio.timeout(5):
        await adapter.connect()
        await adapter.connect()
        await asyncio.sleep(0)
        await adapter.disconnect()
    assert [api for api, _ in session.made()] == ["getMe", "getUpdates"]


async def test_a_refused_token_is_a_permanent_failure(adapter, session) -> None:
    session.answer_with("getMe", "unauthorized")
    with pytest.raises(PermanentFailure, match="Telegram refused the bot token: Unauthorized"):
        await adapter.connect()
    assert [api for api, _ in session.made()] == ["getMe"]


async def test_an_unreachable_telegram_is_a_lost_connection(adapter, session, payload) -> None:
    session.answer_with("getMe", "bad_gateway")
    with pytest.raises(ConnectionLost, match="cannot reach Telegram: Bad Gateway"):
        await adapter.connect()


async def test_privacy_mode_is_warned_about(adapter, session, payload, caplog) -> None:
    me = payload("responses/getMe")
    me["result"]["can_read_all_group_messages"] = False
    session.answer("getMe", me)
    session.answer("getUpdates", _wait_forever)
    with caplog.at_level(logging.WARNING, logger="shequn.adapters.telegram"):
        await adapter.connect()
    await adapter.disconnect()
    assert any("has privacy mode on" in r.getMessage() for r in caplog.records)


def test_it_is_an_adapter_with_reasons_for_what_it_cannot_do(adapter) -> None:
    assert isinstance(adapter, Adapter)
    assert adapter.platform == "telegram"
    assert adapter.account == "7123456789"  # from the token, before any connect
    assert adapter.source == "telegram:7123456789"
    missing = set(ActionType) - adapter.capabilities
    assert missing == {ActionType.SET_CARD, ActionType.CREATE_GROUP} | INTERNAL
    for kind in missing:
        assert len(adapter.why_not[kind].split()) >= 5
    assert adapter.repeatable == STATE_SETTING
    assert adapter.limits.per_group == Bucket.per_minute(20)
    assert adapter.limits.per_account == Bucket.per_second(30)
    assert ALLOWED_UPDATES == ("message", "chat_member", "my_chat_member", "chat_join_request")


def test_a_local_bot_api_server_is_used_when_configured() -> None:
    config = TelegramConfig(
        community="shanghai-readers", token=TOKEN, api_base="http://127.0.0.1:8081/"
    )
    adapter = TelegramAdapter(config)
    api = adapter.bot.session.api
    assert api.base == "http://127.0.0.1:8081/bot{token}/{method}"
    assert api.is_local


def test_config_refuses_a_malformed_token_without_echoing_it() -> None:
    with pytest.raises(ValidationError) as refused:
        TelegramConfig(community="c", token="not-a-token-s3cr3t")
    assert "s3cr3t" not in str(refused.value)
    with pytest.raises(ValidationError):
        TelegramConfig(community="c", token=TOKEN, surprise=True)
    config = TelegramConfig(community="c", token=TOKEN)
    assert (config.kind, config.poll_timeout_s, config.api_base) == ("telegram", 30, None)
    assert TOKEN not in repr(config)
