"""Fixtures: an adapter listening on a free port, and a NapCat-like bridge dialled in."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from adapters.onebot.bridge import TOKEN, Bridge
from shequn.adapters.onebot import OneBotAdapter, OneBotConfig


@pytest.fixture
def config() -> OneBotConfig:
    return OneBotConfig(community="pm-beijing", port=0, access_token=TOKEN, action_timeout_s=3)


@pytest.fixture
async def adapter(config: OneBotConfig) -> AsyncIterator[OneBotAdapter]:
    adapter = OneBotAdapter(config)
    await adapter.connect()
    try:
        yield adapter
    finally:
        await adapter.disconnect()


@pytest.fixture
async def bridge(adapter: OneBotAdapter) -> AsyncIterator[Bridge]:
    bridge = await Bridge.dial(adapter.port)
    try:
        yield bridge
    finally:
        await bridge.close()
