"""A Telegram Desktop full-account export of a simulated community, for ``shequn bench import``.

The file has the layout Telegram Desktop writes and ``adapters/importers/telegram``
reads: ``chats.list`` and ``left_chats.list``, each chat with ``name``, ``type``,
``id`` and then ``messages``, indented one space per level, UTF-8 unescaped. Chat
messages are written as Telegram writes them: ``text`` a plain string when the
message is plain and a list of strings and entity objects otherwise,
``text_entities`` always, replies as ``reply_to_message_id``, photos, stickers,
edits, reactions with their recent reactors. Joins and leaves become ``service``
messages, announcements to everyone are pinned, check-ins become hashtag
messages; reads, attendance, purchases and titles have no Telegram counterpart
and are left out.

It is written streaming. A chat's messages must be contiguous in the file while
the simulator interleaves its groups, so each chat goes to a part file of its
own and the parts are joined at the end. A message is held back only until its
reactions have arrived (an hour of simulated time), so memory stays flat
whatever the size asked for.
"""

from __future__ import annotations

import re
import shutil
from collections import deque
from dataclasses import dataclass, field
from datetime import date, tzinfo
from itertools import count
from pathlib import Path
from random import Random
from typing import Any, BinaryIO

import orjson

from shequn.bench.telegram_messages import to_telegram
from shequn.core import Event
from shequn.kit.timeutil import zone
from shequn.simulator import SimConfig, simulate

#: Simulated seconds a message waits for its reactions before it is written.
REACTION_WINDOW = 3600.0
#: Where chat ids start; Telegram's are large integers.
FIRST_CHAT_ID = 1_700_000_000
#: A message sits five levels deep in a full export (root, chats, list, chat, messages).
_PAD = b"     "
_NEWLINE = re.compile(rb"\n( *)")
_LINE = [b"\n" + _PAD + b" " * (n // 2) for n in range(256)]
_CHAT_TYPES = ("private_supergroup", "private_supergroup", "public_supergroup", "private_group")


def _indent(data: bytes) -> bytes:
    """orjson's two-space indentation turned into Telegram's one space, five levels in."""
    return _PAD + _NEWLINE.sub(lambda m: _LINE[len(m[1])], data)


def community_config(size_mb: float, seed: int) -> SimConfig:
    """A community in proportion to the file: a few groups for a test, sixty for a gigabyte.

    Founding members join before anyone speaks; a small file from a large
    community would hold nothing but their joins.
    """
    groups = max(4, min(60, round(size_mb / 16)))
    members = max(600, min(30_000, round(size_mb * 30)))
    return SimConfig(groups=groups, members=members, days=3650, seed=seed, end=date(2026, 1, 1))


@dataclass
class Written:
    """What was written: the importer must read ``messages`` and store ``events``."""

    path: Path
    bytes: int = 0
    chats: int = 0
    messages: int = 0
    events: int = 0


@dataclass
class _Chat:
    id: int
    name: str
    kind: str
    left: bool
    part: Path
    out: BinaryIO
    #: Messages awaiting reactions, in time order: (time, message, events it makes).
    pending: deque[tuple[float, dict[str, Any], int]] = field(default_factory=deque)
    by_id: dict[int, dict[str, Any]] = field(default_factory=dict)
    messages: int = 0


class _Writer:
    """Turns the simulated stream into per-chat part files, then joins them."""

    def __init__(self, written: Written, parts: Path, seed: int) -> None:
        self.written, self.parts = written, parts
        self.rng = Random(f"shequn-bench-telegram:{seed}")
        self.chats: dict[tuple[int, str], _Chat] = {}
        self.body = 0  # bytes in the part files
        self.held = 0  # messages awaiting reactions, over every chat

    def run(self, size: int, size_mb: float, seed: int) -> None:
        """Write until the parts hold ``size`` bytes; a community that runs out of history
        before then is followed by the next seed's, in chats of its own."""
        for n in count():
            community = simulate(community_config(size_mb, seed + n))
            names = {p.external_id: p.nickname for p in community.people}
            index = {g.external_id: i for i, g in enumerate(community.groups)}
            tz = zone(community.config.timezone)
            for event in community.events():
                self._add(n, index, event, names, tz)
                if self._full(size):
                    break
            self._flush_all()
            if self._full(size):
                return

    def _full(self, size: int) -> bool:
        """Written and held back together reach ``size`` (held ones at the average size)."""
        average = self.body / max(1, self.written.messages) or 600.0
        return self.body + self.held * average >= size

    def _chat(self, n: int, index: dict[str, int], event: Event) -> _Chat:
        key = (n, event.group or "")
        chat = self.chats.get(key)
        if chat is None:
            i = index.get(key[1], len(index))
            chat_id = FIRST_CHAT_ID + n * 1000 + i
            part = self.parts / f"{chat_id}.part"
            chat = _Chat(
                id=chat_id,
                name=event.group_name or key[1],
                kind=_CHAT_TYPES[i % len(_CHAT_TYPES)],
                left=len(self.chats) % 8 == 2,  # one chat in eight the account has left
                part=part,
                out=part.open("wb"),
            )
            self.chats[key] = chat
        return chat

    def _add(
        self, n: int, index: dict[str, int], event: Event, names: dict[str, str], tz: tzinfo
    ) -> None:
        chat = self._chat(n, index, event)
        ts = event.occurred_at.timestamp()
        self._flush(chat, ts - REACTION_WINDOW)
        converted = to_telegram(event, ts, names, tz, self.rng, chat.by_id)
        for message, events in converted.messages:
            chat.pending.append((ts, message, events))
            chat.by_id[message["id"]] = message
            self.held += 1
        # A reaction joins a message still held back, which is certain to be written.
        self.written.events += converted.reaction_events

    def _flush(self, chat: _Chat, before: float) -> None:
        pending, out = chat.pending, chat.out
        while pending and pending[0][0] < before:
            _, message, events = pending.popleft()
            del chat.by_id[message["id"]]
            data = _indent(orjson.dumps(message, option=orjson.OPT_INDENT_2))
            if chat.messages:
                out.write(b",\n")
                self.body += 2
            out.write(data)
            self.body += len(data)
            chat.messages += 1
            self.held -= 1
            self.written.messages += 1
            self.written.events += events

    def _flush_all(self) -> None:
        for chat in self.chats.values():
            self._flush(chat, float("inf"))

    def join(self, path: Path) -> None:
        """The export: a header, then every chat's part between its head and tail."""
        for chat in self.chats.values():
            chat.out.close()
        with path.open("wb") as out:
            out.write(_HEAD)
            for section, left in (("chats", False), ("left_chats", True)):
                out.write(_SECTIONS[section])
                chats = [c for c in self.chats.values() if c.left is left]
                for i, chat in enumerate(chats):
                    out.write(_chat_head(chat, first=i == 0))
                    with chat.part.open("rb") as part:
                        shutil.copyfileobj(part, out, 1 << 20)
                    chat.part.unlink()
                    out.write(b"\n    ]\n   }")
                out.write(b"\n  ]\n }" + (b",\n" if section == "chats" else b"\n}\n"))
            self.written.bytes = out.tell()
        self.written.chats = len(self.chats)


def _chat_head(chat: _Chat, *, first: bool) -> bytes:
    fields = (
        f'    "name": {orjson.dumps(chat.name).decode()},\n'
        f'    "type": "{chat.kind}",\n'
        f'    "id": {chat.id},\n'
        f'    "messages": [\n'
    )
    return (b"" if first else b",\n") + b"   {\n" + fields.encode()


_HEAD = (
    "{\n"
    ' "about": "Here is the data you requested. Remember: Telegram is ad free, '
    "it doesn't sell your data, and the data is yours.\",\n"
    ' "personal_information": {\n'
    '  "user_id": 1,\n'
    '  "first_name": "社群运营",\n'
    '  "last_name": "",\n'
    '  "phone_number": "+86 *** **** ****",\n'
    '  "bio": ""\n'
    " },\n"
).encode()
_SECTIONS = {
    "chats": b' "chats": {\n  "about": "This page lists all chats from this export.",\n'
    b'  "list": [\n',
    "left_chats": b' "left_chats": {\n  "about": "This page lists all supergroups and '
    b"channels from this export that you've left.\",\n"
    b'  "list": [\n',
}


def write_export(path: Path, size_mb: float, *, seed: int = 11) -> Written:
    """Write an export of about ``size_mb`` MiB to ``path``; what it holds comes back.

    Part files go to a folder beside ``path`` and are removed as they are
    joined, so the disk needs little more than the export itself.
    """
    written = Written(path)
    parts = path.with_name(path.name + ".parts")
    parts.mkdir()
    writer = _Writer(written, parts, seed)
    try:
        writer.run(int(size_mb * 2**20), size_mb, seed)
        writer.join(path)
    finally:
        for chat in writer.chats.values():
            chat.out.close()
        shutil.rmtree(parts, ignore_errors=True)
    return written
