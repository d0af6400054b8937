"""A bridge that speaks OneBot v11 as NapCat does, over a real WebSocket.

``Bridge`` dials the adapter's reverse-WebSocket server with NapCat's handshake
headers, sends recorded frames from ``payloads/events`` and answers the adapter's
API calls with recorded frames from ``payloads/responses``, carrying back the
``echo`` each call came with.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

PAYLOADS = Path(__file__).parent / "payloads"
TOKEN = "napcat-test-token-5f1c"
SELF_ID = "3889001234"
GROUP = "876543210"


def payload(name: str) -> dict[str, Any]:
    """A recorded frame: ``events/<name>.json`` or ``responses/<name>.json``."""
    kind = "events" if (PAYLOADS / "events" / f"{name}.json").exists() else "responses"
    return json.loads((PAYLOADS / kind / f"{name}.json").read_text(encoding="utf-8"))


class Bridge:
    """One bridge socket: what NapCat's reverse-WebSocket client does, step by step."""

    def __init__(self, socket: ClientConnection) -> None:
        self.socket = socket

    @classmethod
    async def dial(
        cls,
        port: int,
        *,
        token: str | None = TOKEN,
        self_id: str | None = SELF_ID,
        role: str | None = "Universal",
        path: str = "/onebot/v11/ws",
    ) -> Bridge:
        headers = {"User-Agent": "NapCat/4.4.15"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        if self_id is not None:
            headers["X-Self-ID"] = self_id
        if role is not None:
            headers["X-Client-Role"] = role
        socket = await connect(
            f"ws://127.0.0.1:{port}{path}", additional_headers=headers, proxy=None, open_timeout=5
        )
        return cls(socket)

    async def send(self, name: str) -> None:
        """Send the recorded frame ``payloads/events/<name>.json``."""
        await self.send_frame(payload(name))

    async def send_frame(self, frame: dict[str, Any] | str | bytes) -> None:
        """Send any frame: an object as JSON, text or bytes as they are."""
        await self.socket.send(frame if isinstance(frame, str | bytes) else json.dumps(frame))

    async def next_call(self, timeout: float = 3) -> dict[str, Any]:
        """The next API call the adapter sent."""
        async with asyncio.timeout(timeout):
            call = json.loads(await self.socket.recv())
        assert set(call) == {"action", "params", "echo"}
        return call

    async def answer(self, call: dict[str, Any], response: str | dict[str, Any]) -> None:
        frame = payload(response) if isinstance(response, str) else dict(response)
        frame["echo"] = call["echo"]
        await self.socket.send(json.dumps(frame, ensure_ascii=False))

    async def close(self) -> None:
        await self.socket.close()
