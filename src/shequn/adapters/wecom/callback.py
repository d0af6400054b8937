"""WeCom's callback URL, without a web framework: check, decrypt, parse.

WeCom calls the URL twice over: once with GET to verify it (``echostr`` must be
decrypted and echoed), then with POST for every event, the XML body holding the
event encrypted (AES-256-CBC, key from EncodingAESKey) and signed (SHA-1 over the
Token, timestamp, nonce and ciphertext). A request that fails either check, cannot
be decrypted or does not parse raises ``CallbackRejected`` naming the part that
failed; nothing is half-read. Callbacks of other kinds (contact changes, tag
changes) are acknowledged and skipped with a logged reason.

Parsing only: turning a change into JOIN / LEAVE events that need the group's
roster is the adapter's part.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import struct
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from wechatpy.enterprise.crypto import WeChatCrypto
from wechatpy.enterprise.exceptions import InvalidCorpIdException
from wechatpy.exceptions import InvalidSignatureException

from shequn.adapters.base import AdapterError
from shequn.adapters.wecom.config import WeComConfig
from shequn.adapters.wecom.events import PLATFORM, BadPayload, ChatChange, change_events, when
from shequn.core import Event

log = logging.getLogger(__name__)

#: Callback bodies are a few hundred bytes; anything this large is not from WeCom.
MAX_BODY_BYTES = 256 * 1024


class CallbackRejected(AdapterError):
    """A callback request that is not a genuine, readable WeCom callback. The web layer
    answers it with an error status (WeCom then retries genuine ones)."""


@dataclass(frozen=True, slots=True)
class Skipped:
    """A genuine callback of a kind this adapter does not handle."""

    reason: str


def _signature(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def _xml(data: bytes | str, what: str) -> ET.Element:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if len(raw) > MAX_BODY_BYTES:
        raise CallbackRejected(f"{what} is {len(raw)} bytes, more than a callback carries")
    if b"<!DOCTYPE" in raw.upper() or b"<!ENTITY" in raw.upper():
        # WeCom never sends a DTD; refusing one shuts out entity-expansion tricks.
        raise CallbackRejected(f"{what} declares a DTD")
    try:
        root = ET.fromstring(raw)
    except ET.ParseError as exc:
        raise CallbackRejected(f"{what} is not well-formed XML: {exc}") from None
    if root.tag != "xml":
        raise CallbackRejected(f"{what} has root <{root.tag}>, not <xml>")
    return root


def _field(root: ET.Element, name: str) -> str | None:
    element = root.find(name)
    if element is None or element.text is None:
        return None
    text = element.text.strip()
    return text or None


def _int_field(root: ET.Element, name: str, where: str) -> int | None:
    value = _field(root, name)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise CallbackRejected(f"{where}: {name} {value!r} is not a number") from None


def _members(root: ET.Element) -> tuple[str, ...] | None:
    element = root.find("MemChangeList")
    if element is None:
        return None
    items = [i.text.strip() for i in element.findall("Item") if i.text and i.text.strip()]
    if not items and element.text and element.text.strip():
        # Some deliveries carry the ids as one comma-separated text instead of <Item>s.
        items = [i.strip() for i in element.text.split(",") if i.strip()]
    return tuple(dict.fromkeys(items))


def parse_event(xml: str) -> ChatChange | Skipped:
    """Read a decrypted callback: a ``ChatChange`` for ``change_external_chat``,
    ``Skipped`` for any other kind."""
    root = _xml(xml, "the decrypted event")
    msg_type, event = _field(root, "MsgType"), _field(root, "Event")
    if msg_type != "event" or event != "change_external_chat":
        return Skipped(f"MsgType {msg_type!r} Event {event!r} is not a customer-group change")
    chat_id = _field(root, "ChatId")
    if chat_id is None:
        raise CallbackRejected("change_external_chat: ChatId is missing")
    where = f"change_external_chat {chat_id}"
    change_type = _field(root, "ChangeType")
    if change_type is None:
        raise CallbackRejected(f"{where}: ChangeType is missing")
    created = _field(root, "CreateTime")
    if created is None:
        raise CallbackRejected(f"{where}: CreateTime is missing")
    try:
        occurred_at = when(created, f"{where}: CreateTime")
    except BadPayload as exc:
        raise CallbackRejected(str(exc)) from None
    detail = _field(root, "UpdateDetail")
    if change_type == "update" and detail is None:
        raise CallbackRejected(f"{where}: an update without UpdateDetail")
    return ChatChange(
        chat_id=chat_id,
        change_type=change_type,
        update_detail=detail,
        occurred_at=occurred_at,
        join_scene=_int_field(root, "JoinScene", where),
        quit_scene=_int_field(root, "QuitScene", where),
        member_count=_int_field(root, "MemChangeCnt", where),
        members=_members(root),
        last_version=_field(root, "LastMemVer"),
        current_version=_field(root, "CurMemVer"),
    )


class WeComCallback:
    """The callback URL of one corporation's app: ``verify`` answers WeCom's GET,
    ``receive`` reads a POST into events."""

    def __init__(self, config: WeComConfig) -> None:
        self._token = config.callback_token.get_secret_value()
        self._corp_id = config.corp_id
        self._crypto = WeChatCrypto(
            self._token, config.encoding_aes_key.get_secret_value(), config.corp_id
        )
        self.source = f"{PLATFORM}:{config.corp_id}"

    def _check(self, msg_signature: str, timestamp: str, nonce: str, payload: str) -> None:
        expected = _signature(self._token, timestamp, nonce, payload)
        if not hmac.compare_digest(expected, (msg_signature or "").lower()):
            raise CallbackRejected("the signature does not match (msg_signature)")

    def _decrypt(self, what: str, run: Callable[[], Any]) -> str:
        try:
            plain = run()
        except InvalidSignatureException:
            raise CallbackRejected("the signature does not match (msg_signature)") from None
        except InvalidCorpIdException:
            raise CallbackRejected(f"{what} was encrypted for another corp id") from None
        except (ValueError, TypeError, IndexError, struct.error) as exc:
            raise CallbackRejected(f"{what} could not be decrypted: {exc}") from None
        if not isinstance(plain, str):
            raise CallbackRejected(f"{what} could not be decrypted")
        return plain

    def verify(self, msg_signature: str, timestamp: str, nonce: str, echostr: str) -> str:
        """The URL verification (GET): the decrypted ``echostr`` to answer with."""
        self._check(msg_signature, timestamp, nonce, echostr)
        return self._decrypt(
            "echostr",
            lambda: self._crypto.check_signature(msg_signature, timestamp, nonce, echostr),
        )

    def read(
        self, msg_signature: str, timestamp: str, nonce: str, body: bytes
    ) -> ChatChange | Skipped:
        """Check, decrypt and parse a POST body."""
        envelope = _xml(body, "the body")
        encrypted = _field(envelope, "Encrypt")
        if encrypted is None:
            raise CallbackRejected("the body has no <Encrypt> element")
        self._check(msg_signature, timestamp, nonce, encrypted)
        xml = self._decrypt(
            "the body",
            lambda: self._crypto.decrypt_message(
                {"Encrypt": encrypted}, msg_signature, timestamp, nonce
            ),
        )
        return parse_event(xml)

    def receive(self, msg_signature: str, timestamp: str, nonce: str, body: bytes) -> list[Event]:
        """The events a POST body stands for, from what the callback says alone."""
        change = self.read(msg_signature, timestamp, nonce, body)
        if isinstance(change, Skipped):
            log.info("wecom: callback skipped: %s", change.reason)
            return []
        return change_events(change, self.source)
