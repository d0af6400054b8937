"""A stand-in for qyapi.weixin.qq.com on 127.0.0.1, recorded payloads and sealed callbacks.

The server answers from the recorded JSON in ``payloads/``, checks the
``access_token`` query parameter on every call as WeCom does, and records each call
(path, query, JSON body). The adapter's HTTP session records every URL it sends
to, so a test can prove nothing left for another host.
"""

from __future__ import annotations

import base64
import json
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
from aiohttp import web
from wechatpy.enterprise.crypto import WeChatCrypto

from shequn.adapters.wecom import WeComConfig

PAYLOADS = Path(__file__).parent / "payloads"
CORP_ID = "wwd1c3a8e6b2f04a57"
TOKEN = "accesstoken000001"
CALLBACK_TOKEN = "QDG6eK"
AES_KEY = base64.b64encode(bytes(range(32))).decode()[:-1]
#: 2025-03-01 10:00 in Shanghai.
START = datetime(2025, 3, 1, 2, 0, tzinfo=UTC)

READING = "wrOgQhDgAAMYQiS5ol9G7gK9JVAAAA"
RUNNING = "wrOgQhDgAAcwMTB7YmDkbeBsgT_AAAA"
PARENTING = "wrOgQhDgAAH2Yy-CTZ6POca8mlBEdAAA"
CREATED = "wrOgQhDgAAT5mB2kV0sYcD8eQfWnAAAA"


def payload(name: str) -> Any:
    return json.loads((PAYLOADS / name).read_text(encoding="utf-8"))


def xml_payload(name: str) -> str:
    return (PAYLOADS / name).read_text(encoding="utf-8")


@dataclass
class Call:
    path: str
    query: dict[str, str]
    body: Any


Answer = Any  # a payload file name, a dict, or (status, dict)


@dataclass
class QyApi:
    """The local WeCom API: queued answers per path, or answers chosen by chat_id."""

    base: str = ""
    calls: list[Call] = field(default_factory=list)
    queued: dict[str, deque[Answer]] = field(default_factory=dict)
    by_chat: dict[str, dict[str, Answer]] = field(default_factory=dict)
    token: str = TOKEN

    def answer(self, path: str, *answers: Answer) -> None:
        self.queued.setdefault(path, deque()).extend(answers)

    def answer_by_chat(self, path: str, answers: dict[str, Answer]) -> None:
        self.by_chat.setdefault(path, {}).update(answers)

    def paths(self) -> list[str]:
        return [c.path for c in self.calls]

    def bodies(self, path: str) -> list[Any]:
        return [c.body for c in self.calls if c.path == path]

    async def handle(self, request: web.Request) -> web.Response:
        path = request.match_info["path"]
        raw = await request.read()
        body = json.loads(raw.decode("utf-8")) if raw else None
        self.calls.append(Call(path, dict(request.query), body))
        if path != "gettoken" and request.query.get("access_token") != self.token:
            return web.json_response(payload("errcode_invalid_token.json"))
        answer: Answer = None
        chat = body.get("chat_id") if isinstance(body, dict) else None
        if path in self.by_chat and chat in self.by_chat[path]:
            answer = self.by_chat[path][chat]
        elif self.queued.get(path):
            answer = self.queued[path].popleft()
        if answer is None:
            return web.json_response(
                {"errcode": 404, "errmsg": f"no answer for {path}"}, status=404
            )
        status = 200
        if isinstance(answer, tuple):
            status, answer = answer
        if isinstance(answer, str):
            answer = payload(answer)
        return web.json_response(answer, status=status)


class RecordingTransport(requests.adapters.HTTPAdapter):
    """requests' own HTTP transport, noting each URL before sending to it."""

    def __init__(self, sent: list[str]) -> None:
        super().__init__()
        self.sent = sent

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        self.sent.append(request.url or "")
        return super().send(request, *args, **kwargs)


def make_config(api_base: str, **overrides: Any) -> WeComConfig:
    values: dict[str, Any] = {
        "community": "shanghai-readers",
        "corp_id": CORP_ID,
        "access_token": TOKEN,
        "callback_token": CALLBACK_TOKEN,
        "encoding_aes_key": AES_KEY,
        "api_base": api_base,
    }
    values.update(overrides)
    return WeComConfig(**values)


def sealed(xml: str, *, nonce: str = "1372623149", timestamp: str = "1740794401") -> dict:
    """What WeCom sends for an event: the query's signature, timestamp and nonce, and the
    encrypted body, made with wechatpy's own encryption."""
    crypto = WeChatCrypto(CALLBACK_TOKEN, AES_KEY, CORP_ID)
    envelope = crypto.encrypt_message(xml, nonce, timestamp)
    signature = envelope.split("<MsgSignature><![CDATA[")[1].split("]]>")[0]
    return {
        "msg_signature": signature,
        "timestamp": timestamp,
        "nonce": nonce,
        "body": envelope.encode("utf-8"),
    }
