"""aiogram's offline path: a session that records every Bot API call and answers
it from recorded Telegram responses.

``RecordingSession`` stands where aiogram's HTTP session stands. Each call is
recorded as its API method name and its fields as they would go on the wire
(``prepare_value``, the session's own encoder, with ``None`` dropped). The
answer is a recorded response body — ``{"ok": true, "result": …}`` or an error
body with its ``error_code`` — run through aiogram's own ``check_response``,
so errors surface as the exception types aiogram raises for real ones. An
answer may also be an async callable of the method, for answers that wait or
fail at the network level.
"""

from __future__ import annotations

import json
from collections import defaultdict, deque
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.session.base import BaseSession
from aiogram.methods import TelegramMethod

from shequn.adapters.telegram import TelegramAdapter, TelegramConfig
from shequn.kit.clock import FrozenClock

PAYLOADS = Path(__file__).parent / "payloads"
#: Shaped like a real token; the bot id before the colon is the account.
TOKEN = "7123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
SOURCE = "telegram:7123456789"
NOW = datetime(2024, 6, 14, 10, 0, tzinfo=UTC)

Answer = dict[str, Any] | Callable[[TelegramMethod[Any]], Awaitable[dict[str, Any]]]


def load(name: str) -> dict[str, Any]:
    """A recorded payload by its path under ``payloads/`` without ``.json``."""
    return json.loads((PAYLOADS / f"{name}.json").read_text(encoding="utf-8"))


@dataclass
class Call:
    api: str
    fields: dict[str, Any]
    method: TelegramMethod[Any]
    timeout: int | None


class RecordingSession(BaseSession):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[Call] = []
        self.answers: dict[str, deque[Answer]] = defaultdict(deque)
        self.closed = 0

    def answer(self, api: str, *answers: Answer) -> None:
        self.answers[api].extend(answers)

    def answer_with(self, api: str, *names: str) -> None:
        """Queue recorded responses from ``payloads/responses/``."""
        self.answer(api, *(load(f"responses/{name}") for name in names))

    def wire(self, bot: Bot, method: TelegramMethod[Any]) -> dict[str, Any]:
        files: dict[str, Any] = {}
        out = {}
        for key, value in method.model_dump(warnings=False).items():
            prepared = self.prepare_value(value, bot=bot, files=files, _dumps_json=False)
            if prepared is not None:
                out[key] = prepared
        return out

    async def make_request(
        self, bot: Bot, method: TelegramMethod[Any], timeout: int | None = None
    ) -> Any:
        api = method.__api_method__
        self.calls.append(Call(api, self.wire(bot, method), method, timeout))
        queue = self.answers.get(api)
        if not queue:
            raise AssertionError(f"no recorded answer for {api}: {self.calls[-1].fields}")
        answer = queue.popleft()
        body = await answer(method) if callable(answer) else answer
        status = 200 if body.get("ok") else int(body["error_code"])
        return self.check_response(bot, method, status, json.dumps(body)).result

    async def stream_content(
        self,
        url: str,
        headers: dict[str, Any] | None = None,
        timeout: int = 30,
        chunk_size: int = 65536,
        raise_for_status: bool = True,
    ) -> AsyncGenerator[bytes, None]:
        for chunk in ():
            yield chunk

    async def close(self) -> None:
        self.closed += 1

    def made(self) -> list[tuple[str, dict[str, Any]]]:
        return [(c.api, c.fields) for c in self.calls]


@pytest.fixture
def session() -> RecordingSession:
    return RecordingSession()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


@pytest.fixture
def config() -> TelegramConfig:
    return TelegramConfig(community="shanghai-readers", token=TOKEN, poll_timeout_s=25)


@pytest.fixture
def adapter(
    config: TelegramConfig, session: RecordingSession, clock: FrozenClock
) -> TelegramAdapter:
    return TelegramAdapter(config, session=session, clock=clock)


@pytest.fixture
def payload() -> Callable[[str], dict[str, Any]]:
    """``payload("updates/reply")``: a recorded payload, freshly read."""
    return load
