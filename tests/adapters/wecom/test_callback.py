"""The callback URL: real WeCom crypto both ways, every change_external_chat variant."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wechatpy.enterprise.crypto import PrpCrypto

from adapters.wecom.support import (
    AES_KEY,
    CALLBACK_TOKEN,
    CORP_ID,
    CREATED,
    READING,
    RUNNING,
    make_config,
    sealed,
    xml_payload,
)
from shequn.adapters.base import AdapterError
from shequn.adapters.wecom import CallbackRejected, WeComCallback
from shequn.core import EventType

SOURCE = f"wecom:{CORP_ID}"
KEY = base64.b64decode(AES_KEY + "=")


@pytest.fixture
def callback() -> WeComCallback:
    return WeComCallback(make_config("https://qyapi.weixin.qq.com/cgi-bin/"))


def sign(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def envelope(encrypted: str) -> bytes:
    return (
        "<xml><ToUserName><![CDATA[wwd1c3a8e6b2f04a57]]></ToUserName>"
        f"<Encrypt><![CDATA[{encrypted}]]></Encrypt>"
        "<AgentID><![CDATA[1000002]]></AgentID></xml>"
    ).encode()


def receive(callback: WeComCallback, name: str) -> list:
    return callback.receive(**sealed(xml_payload(name)))


# -- URL verification --------------------------------------------------------------


def test_url_verification_returns_the_decrypted_echostr(callback: WeComCallback) -> None:
    echo = PrpCrypto(KEY).encrypt("5927782489442352469", CORP_ID).decode()
    signature = sign(CALLBACK_TOKEN, "1409659589", "263014780", echo)
    assert callback.verify(signature, "1409659589", "263014780", echo) == "5927782489442352469"


def test_url_verification_refuses_a_wrong_signature(callback: WeComCallback) -> None:
    echo = PrpCrypto(KEY).encrypt("5927782489442352469", CORP_ID).decode()
    signature = sign("another-token", "1409659589", "263014780", echo)
    with pytest.raises(CallbackRejected, match="signature"):
        callback.verify(signature, "1409659589", "263014780", echo)


def test_url_verification_refuses_an_echostr_for_another_corp(callback: WeComCallback) -> None:
    echo = PrpCrypto(KEY).encrypt("5927782489442352469", "ww0000000000000000").decode()
    signature = sign(CALLBACK_TOKEN, "1409659589", "263014780", echo)
    with pytest.raises(CallbackRejected, match="another corp id"):
        callback.verify(signature, "1409659589", "263014780", echo)


# -- every change variant ----------------------------------------------------------


def test_create(callback: WeComCallback) -> None:
    [event] = receive(callback, "change_external_chat_create.xml")
    assert event.type is EventType.GROUP_UPDATE
    assert event.source == SOURCE
    assert event.source_id == f"{CREATED}:create:1740794400"
    assert event.group == CREATED
    assert event.occurred_at == datetime(2025, 3, 1, 2, 0, tzinfo=UTC)
    assert event.payload == {"change": "create", "created": True}


def test_add_member_with_its_list_joins_each_member(callback: WeComCallback) -> None:
    events = receive(callback, "change_external_chat_add_member.xml")
    assert [e.type for e in events] == [EventType.JOIN, EventType.JOIN]
    assert [e.actor for e in events] == [
        "wmOgQhDgAAs8Hn2Qk4Lr1Zt6VbY3AAAA",
        "wmOgQhDgAAe1Rt7Yp3Kx9Wq2LmN5AAAA",
    ]
    first = events[0]
    assert first.group == READING
    assert first.source_id == f"{READING}:wmOgQhDgAAs8Hn2Qk4Lr1Zt6VbY3AAAA:join:1740794400"
    assert first.occurred_at.tzinfo is UTC
    assert first.payload == {"role": "member", "via": "invite"}


def test_add_member_by_qr_code(callback: WeComCallback) -> None:
    [event] = receive(callback, "change_external_chat_add_member_qrcode.xml")
    assert event.type is EventType.JOIN
    assert event.payload["via"] == "qrcode"


def test_add_member_without_its_list_says_how_many_and_no_more(callback: WeComCallback) -> None:
    [event] = receive(callback, "change_external_chat_add_member_without_list.xml")
    assert event.type is EventType.GROUP_UPDATE
    assert event.source_id == f"{READING}:add_member:1740794400"
    assert event.payload == {
        "change": "add_member",
        "members_unknown": True,
        "member_change_count": 1,
    }


def test_member_who_left_by_themselves(callback: WeComCallback) -> None:
    [event] = receive(callback, "change_external_chat_del_member.xml")
    assert event.type is EventType.LEAVE
    assert event.actor == "wmOgQhDgAAwhxA1wQkZrPBm2BzL8AAAA"
    assert event.source_id == f"{READING}:wmOgQhDgAAwhxA1wQkZrPBm2BzL8AAAA:leave:1740880800"
    assert event.payload == {"removed": False, "quit_scene": 0}
    assert "kicked_by" not in event.payload


def test_member_removed_is_marked_removed(callback: WeComCallback) -> None:
    # Parsing alone cannot know the owner; the adapter adds kicked_by (test_adapter).
    [event] = receive(callback, "change_external_chat_del_member_removed.xml")
    assert event.type is EventType.LEAVE
    assert event.payload["removed"] is True
    assert event.payload["quit_scene"] == 1


@pytest.mark.parametrize("detail", ["change_owner", "change_name", "change_notice"])
def test_group_changes(callback: WeComCallback, detail: str) -> None:
    [event] = receive(callback, f"change_external_chat_{detail}.xml")
    assert event.type is EventType.GROUP_UPDATE
    assert event.source_id == f"{READING}:{detail}:1740967200"
    assert event.payload == {"change": detail}


def test_dismiss(callback: WeComCallback) -> None:
    [event] = receive(callback, "change_external_chat_dismiss.xml")
    assert event.type is EventType.GROUP_UPDATE
    assert event.group == RUNNING
    assert event.payload == {"change": "dismiss", "dismissed": True}


def test_other_kinds_of_callback_are_skipped(callback: WeComCallback) -> None:
    assert receive(callback, "change_external_contact_add.xml") == []


def test_a_redelivered_callback_gives_the_same_source_ids(callback: WeComCallback) -> None:
    xml = xml_payload("change_external_chat_add_member.xml")
    first = callback.receive(**sealed(xml, nonce="1"))
    again = callback.receive(**sealed(xml, nonce="2", timestamp="1740794460"))
    assert [e.key for e in first] == [e.key for e in again]


def test_the_legacy_comma_list_of_members_is_read(callback: WeComCallback) -> None:
    xml = xml_payload("change_external_chat_add_member.xml")
    start, end = xml.index("<MemChangeList>"), xml.index("</MemChangeList>")
    legacy = xml[:start] + "<MemChangeList><![CDATA[wmA,wmB]]>" + xml[end:]
    events = callback.receive(**sealed(legacy))
    assert [e.actor for e in events] == ["wmA", "wmB"]


# -- what is refused -----------------------------------------------------------------


def test_a_wrong_signature_is_refused(callback: WeComCallback) -> None:
    request = sealed(xml_payload("change_external_chat_create.xml"))
    request["msg_signature"] = sign("not-the-token", request["timestamp"], request["nonce"], "x")
    with pytest.raises(CallbackRejected, match="signature"):
        callback.receive(**request)


def test_a_signature_for_another_timestamp_is_refused(callback: WeComCallback) -> None:
    request = sealed(xml_payload("change_external_chat_create.xml"))
    request["timestamp"] = "1740794999"
    with pytest.raises(CallbackRejected, match="signature"):
        callback.receive(**request)


@pytest.mark.parametrize("position", [-3, -20, 30])
def test_a_flipped_byte_is_detected(callback: WeComCallback, position: int) -> None:
    xml = xml_payload("change_external_chat_add_member.xml")
    raw = bytearray(base64.b64decode(PrpCrypto(KEY).encrypt(xml, CORP_ID)))
    raw[position] ^= 0x5A
    tampered = base64.b64encode(bytes(raw)).decode()
    signature = sign(CALLBACK_TOKEN, "1740794401", "1372623149", tampered)
    with pytest.raises(CallbackRejected):
        callback.receive(signature, "1740794401", "1372623149", envelope(tampered))


def test_a_body_encrypted_for_another_corp_is_refused(callback: WeComCallback) -> None:
    xml = xml_payload("change_external_chat_create.xml")
    encrypted = PrpCrypto(KEY).encrypt(xml, "ww0000000000000000").decode()
    signature = sign(CALLBACK_TOKEN, "1740794401", "1372623149", encrypted)
    with pytest.raises(CallbackRejected, match="another corp id"):
        callback.receive(signature, "1740794401", "1372623149", envelope(encrypted))


def test_ciphertext_of_a_broken_length_is_refused(callback: WeComCallback) -> None:
    broken = base64.b64encode(b"0123456789").decode()
    signature = sign(CALLBACK_TOKEN, "1740794401", "1372623149", broken)
    with pytest.raises(CallbackRejected, match="could not be decrypted"):
        callback.receive(signature, "1740794401", "1372623149", envelope(broken))


@pytest.mark.parametrize(
    ("body", "part"),
    [
        (b"<xml><Encrypt>abc</Encrypt>", "well-formed"),
        (b"<root><Encrypt>abc</Encrypt></root>", "root"),
        (b"<xml><ToUserName>ww</ToUserName></xml>", "Encrypt"),
        (b'<!DOCTYPE xml [<!ENTITY a "aaaa">]><xml><Encrypt>&a;</Encrypt></xml>', "DTD"),
        (b"", "well-formed"),
    ],
)
def test_a_malformed_envelope_is_refused(callback: WeComCallback, body: bytes, part: str) -> None:
    with pytest.raises(CallbackRejected, match=part):
        callback.receive("0" * 40, "1740794401", "1372623149", body)


@pytest.mark.parametrize(
    ("inner", "part"),
    [
        ("not xml at all", "not well-formed"),
        (
            "<xml><MsgType>event</MsgType><Event>change_external_chat</Event>"
            "<ChangeType>create</ChangeType><CreateTime>1740794400</CreateTime></xml>",
            "ChatId",
        ),
        (
            "<xml><MsgType>event</MsgType><Event>change_external_chat</Event>"
            "<ChatId>wr1</ChatId><ChangeType>create</ChangeType>"
            "<CreateTime>yesterday</CreateTime></xml>",
            "CreateTime",
        ),
        (
            "<xml><MsgType>event</MsgType><Event>change_external_chat</Event>"
            "<ChatId>wr1</ChatId><ChangeType>update</ChangeType>"
            "<CreateTime>1740794400</CreateTime></xml>",
            "UpdateDetail",
        ),
        (
            "<xml><MsgType>event</MsgType><Event>change_external_chat</Event>"
            "<ChatId>wr1</ChatId><ChangeType>update</ChangeType><UpdateDetail>add_member"
            "</UpdateDetail><JoinScene>three</JoinScene>"
            "<CreateTime>1740794400</CreateTime></xml>",
            "JoinScene",
        ),
    ],
)
def test_a_malformed_event_is_refused_naming_the_field(
    callback: WeComCallback, inner: str, part: str
) -> None:
    with pytest.raises(CallbackRejected, match=part):
        callback.receive(**sealed(inner))


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(max_size=400))
def test_hostile_bodies_are_rejected(callback: WeComCallback, body: bytes) -> None:
    with pytest.raises(CallbackRejected):
        callback.receive("0" * 40, "1740794401", "1372623149", body)


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ciphertext=st.binary(max_size=256))
def test_correctly_signed_garbage_ciphertext_is_rejected(
    callback: WeComCallback, ciphertext: bytes
) -> None:
    encrypted = base64.b64encode(ciphertext).decode()
    signature = sign(CALLBACK_TOKEN, "1740794401", "1372623149", encrypted)
    with pytest.raises(CallbackRejected):
        callback.receive(signature, "1740794401", "1372623149", envelope(encrypted))


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(inner=st.text(max_size=300))
def test_genuine_but_garbled_events_are_refused_or_read(
    callback: WeComCallback, inner: str
) -> None:
    try:
        events = callback.receive(**sealed(inner))
    except AdapterError as exc:
        assert isinstance(exc, CallbackRejected)
    else:
        assert events == []
