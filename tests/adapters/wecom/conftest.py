"""Fixtures: the local WeCom API server, a recording HTTP session, the adapter."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import requests
from aiohttp import web

from adapters.wecom.support import START, QyApi, RecordingTransport, make_config
from shequn.adapters.wecom import WeComAdapter
from shequn.kit.clock import FrozenClock


@pytest.fixture
async def qyapi() -> AsyncIterator[QyApi]:
    api = QyApi()
    app = web.Application()
    app.router.add_route("*", "/cgi-bin/{path:.*}", api.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    api.base = f"http://127.0.0.1:{port}/cgi-bin/"
    yield api
    await runner.cleanup()


@pytest.fixture
def sent() -> list[str]:
    return []


@pytest.fixture
def session(sent: list[str]) -> requests.Session:
    http = requests.Session()
    http.trust_env = False
    transport = RecordingTransport(sent)
    http.mount("http://", transport)
    http.mount("https://", transport)
    return http


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def adapter(qyapi: QyApi, session: requests.Session, clock: FrozenClock) -> WeComAdapter:
    return WeComAdapter(make_config(qyapi.base), session=session, clock=clock)


@pytest.fixture
def make_adapter(
    qyapi: QyApi, session: requests.Session, clock: FrozenClock
) -> Callable[..., WeComAdapter]:
    def build(**overrides: Any) -> WeComAdapter:
        config = make_config(overrides.pop("api_base", qyapi.base), **overrides)
        return WeComAdapter(config, session=session, clock=clock)

    return build
