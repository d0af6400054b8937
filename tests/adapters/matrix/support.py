"""What the Matrix tests share: accounts, clients, rooms, waiting for events."""

from __future__ import annotations

import asyncio
import json
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from nio import AsyncClient, AsyncClientConfig, ErrorResponse, RoomCreateResponse

from matrix_server import Homeserver
from shequn.adapters.matrix import MatrixAdapter, MatrixConfig
from shequn.core import Event

PAYLOADS = Path(__file__).parent / "payloads"
NAMES = {"bot": "社群助手", "alice": "爱丽丝", "bob": "鲍勃", "carol": "卡萝"}


def payload(name: str) -> Any:
    return json.loads((PAYLOADS / name).read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Account:
    user_id: str
    token: str
    name: str


@dataclass(frozen=True)
class Accounts:
    bot: Account
    alice: Account
    bob: Account
    carol: Account


def client_for(homeserver: Homeserver, account: Account, device: str = "TEST") -> AsyncClient:
    client = AsyncClient(
        homeserver.base_url,
        account.user_id,
        config=AsyncClientConfig(max_limit_exceeded=0, max_timeouts=0, request_timeout=10),
    )
    client.restore_login(account.user_id, device, account.token)
    return client


def matrix_config(homeserver: Homeserver, accounts: Accounts, **extra: Any) -> MatrixConfig:
    return MatrixConfig(
        community="读书会",
        homeserver=homeserver.base_url,
        user_id=accounts.bot.user_id,
        access_token=accounts.bot.token,
        **extra,
    )


def ok(response: Any) -> Any:
    """The response, or the test fails with the server's error."""
    if isinstance(response, ErrorResponse):
        pytest.fail(f"the homeserver refused: {response}")
    return response


async def make_room(
    creator: AsyncClient, *members: AsyncClient, name: str = "读书会", **options: Any
) -> str:
    """A room made by ``creator`` with ``members`` invited and joined."""
    created = ok(
        await creator.room_create(name=name, invite=[m.user_id for m in members], **options)
    )
    assert isinstance(created, RoomCreateResponse)
    for member in members:
        ok(await member.join(created.room_id))
    return created.room_id


async def wait_until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    """Poll ``check`` every few milliseconds until it holds; fail after ``timeout``."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            pytest.fail("the condition did not come true in time")
        await asyncio.sleep(0.02)


class Stream:
    """The adapter's events, read one at a time with a timeout."""

    def __init__(self, adapter: MatrixAdapter) -> None:
        self._events = adapter.events()

    async def next(self, timeout: float = 10.0) -> Event:
        return await asyncio.wait_for(anext(self._events), timeout)


def png(width: int = 2, height: int = 2) -> bytes:
    """A tiny valid PNG: red pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )
