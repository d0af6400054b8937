"""Stream a Telegram Desktop export without loading it: ijson walks the file and
only one message object is ever built at a time, so a multi-gigabyte export
reads in constant memory.

Two layouts are read: a single-chat export (``name``, ``type``, ``id``,
``messages`` at the top) and a full-account export (``chats.list`` and
``left_chats.list``, each chat with its own ``messages``). A single chat —
what an operator exports of one group — is read by ijson's C ``items`` once
its head is known, about three times faster than walking every token in
Python, which a full-account export needs to tell its chats apart.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

import ijson

from shequn.adapters.importers.telegram.messages import Chat

#: Where chats live in each layout: "" for a single-chat export.
_CHAT_PREFIXES = ("", "chats.list.item", "left_chats.list.item")


class BadExport(ValueError):
    """The file is not a readable Telegram export; the message says where."""


@dataclass(frozen=True, slots=True)
class ExportedMessage:
    chat: Chat
    message: dict[str, Any]


def _chat_prefix(prefix: str) -> str | None:
    for base in _CHAT_PREFIXES:
        if prefix == (f"{base}.messages" if base else "messages"):
            return base
    return None


def read_messages(stream: IO[bytes], where: str) -> Iterator[ExportedMessage]:
    """Every message of every chat in the export, in file order."""
    try:
        chat = _single_chat(stream)
        stream.seek(0)
        if chat is not None:
            for message in ijson.items(stream, "messages.item", use_float=True):
                yield ExportedMessage(chat, message)
            return
    except ijson.common.IncompleteJSONError as exc:
        raise BadExport(f"{where}: broken JSON near byte {_position(stream)}: {exc}") from None
    except UnicodeDecodeError as exc:
        raise BadExport(f"{where}: not UTF-8 text near byte {_position(stream)}: {exc}") from None
    yield from _walk(stream, where)


def _single_chat(stream: IO[bytes]) -> Chat | None:
    """The chat of a single-chat export, read from its head; None for anything else
    (a full-account export, or a head the walk must judge)."""
    meta: dict[str, Any] = {}
    for prefix, event, value in ijson.parse(stream, use_float=True):
        if prefix in ("id", "name", "type") and event in ("string", "number", "null"):
            meta[prefix] = value
        elif prefix == "messages" and event == "start_array":
            if meta.get("id") is None:
                return None
            return Chat(id=str(meta["id"]), name=meta.get("name"))
        elif prefix == "" and (event == "end_map" or value in ("chats", "left_chats")):
            return None
    return None


def _walk(stream: IO[bytes], where: str) -> Iterator[ExportedMessage]:
    """Every message, walking every token: chats told apart by where their messages are."""
    meta: dict[str, dict[str, Any]] = {}
    builder: ijson.ObjectBuilder | None = None
    chat: Chat | None = None
    item_prefix = ""
    try:
        for prefix, event, value in ijson.parse(stream, use_float=True):
            if builder is not None:
                if prefix == item_prefix and event in ("end_map", "end_array"):
                    builder.event(event, value)
                    if chat is not None:
                        yield ExportedMessage(chat, builder.value)
                    builder = None
                    continue
                builder.event(event, value)
                continue
            if event in ("string", "number") and "." in f".{prefix}":
                base, _, key = prefix.rpartition(".")
                if base in _CHAT_PREFIXES and key in ("id", "name", "type"):
                    meta.setdefault(base, {})[key] = value
                    continue
            if event == "start_map" and prefix.endswith(".item"):
                base = _chat_prefix(prefix[: -len(".item")])
                if base is not None:
                    info = meta.get(base, {})
                    if info.get("id") is None:
                        raise BadExport(f"{where}: a chat's messages come before its id")
                    chat = Chat(id=str(info["id"]), name=info.get("name"))
                    item_prefix = prefix
                    builder = ijson.ObjectBuilder()
                    builder.event(event, value)
                    continue
            if event == "end_map" and prefix in ("chats.list.item", "left_chats.list.item"):
                meta.pop(prefix, None)
    except ijson.common.IncompleteJSONError as exc:
        raise BadExport(f"{where}: broken JSON near byte {_position(stream)}: {exc}") from None
    except UnicodeDecodeError as exc:
        raise BadExport(f"{where}: not UTF-8 text near byte {_position(stream)}: {exc}") from None


def _position(stream: IO[bytes]) -> int | str:
    try:
        return stream.tell()
    except (OSError, ValueError):
        return "?"
