"""WeCom's callbacks reach the adapter of the same name through ``/hooks/wecom/{name}``."""

from __future__ import annotations

import base64
from pathlib import Path

import httpx
import pytest
from wechatpy.enterprise.crypto import WeChatCrypto

from shequn.adapters.wecom import WeComAdapter
from shequn.app import App
from shequn.core import EventType
from shequn.web.app import create_app

pytestmark = pytest.mark.anyio
PAYLOADS = Path(__file__).parents[1] / "adapters" / "wecom" / "payloads"
CORP_ID = "wwd1c3a8e6b2f04a57"
CALLBACK_TOKEN = "QDG6eK"
AES_KEY = base64.b64encode(bytes(range(32))).decode()[:-1]
WECOM = {
    "kind": "wecom",
    "name": "customers",
    "community": "读书会",
    "corp_id": CORP_ID,
    "access_token": "accesstoken000001",
    "callback_token": CALLBACK_TOKEN,
    "encoding_aes_key": AES_KEY,
    "api_base": "http://127.0.0.1:9/cgi-bin/",
}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _client(app: App) -> tuple[httpx.AsyncClient, WeComAdapter]:
    runtime = app.bot_runtime([WECOM])
    adapter = runtime.adapter("customers")
    assert isinstance(adapter, WeComAdapter)
    web = create_app(app, runtime=runtime)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=web), base_url="http://t"), adapter


async def test_a_sealed_callback_queues_its_events(app: App) -> None:
    crypto = WeChatCrypto(CALLBACK_TOKEN, AES_KEY, CORP_ID)
    xml = (PAYLOADS / "change_external_chat_add_member.xml").read_text(encoding="utf-8")
    envelope = crypto.encrypt_message(xml, "1372623149", "1740794401")
    signature = envelope.split("<MsgSignature><![CDATA[")[1].split("]]>")[0]
    query = {"msg_signature": signature, "timestamp": "1740794401", "nonce": "1372623149"}
    client, adapter = _client(app)
    async with client:
        reply = await client.post("/hooks/wecom/customers", params=query, content=envelope)
        assert reply.status_code == 200, reply.text
        forged = await client.post(
            "/hooks/wecom/customers", params=query | {"msg_signature": "0" * 40}, content=envelope
        )
        assert forged.status_code == 403
        assert "signature" in forged.text
        missing = await client.post("/hooks/wecom/nobody", params=query, content=envelope)
        assert missing.status_code == 404
    adapter._queue.close()
    events = [e async for e in adapter.events()]
    assert events and {e.type for e in events} == {EventType.JOIN}


async def test_the_url_check_answers_with_the_decrypted_echo(app: App) -> None:
    crypto = WeChatCrypto(CALLBACK_TOKEN, AES_KEY, CORP_ID)
    sealed = crypto.encrypt_message("<xml/>", "n1", "1740794401")
    echostr = sealed.split("<Encrypt><![CDATA[")[1].split("]]>")[0]
    signature = sealed.split("<MsgSignature><![CDATA[")[1].split("]]>")[0]
    client, _ = _client(app)
    async with client:
        reply = await client.get(
            "/hooks/wecom/customers",
            params={
                "msg_signature": signature,
                "timestamp": "1740794401",
                "nonce": "n1",
                "echostr": echostr,
            },
        )
    assert reply.status_code == 200
    assert reply.text == "<xml/>"
