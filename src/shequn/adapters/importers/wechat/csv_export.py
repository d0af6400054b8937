"""WeChat CSV exports (MemoTrace / WeChatMsg layout), streamed row by row.

Columns: localId, TalkerId, Type, SubType, IsSender, CreateTime, Status,
StrContent, StrTime, Remark, NickName, Sender. Files are UTF-8 with a BOM as
the tools write them; GBK / GB18030 files (re-saved by spreadsheet programs on
Chinese Windows) are detected from the first bytes and read too. Times come
from ``CreateTime`` (Unix seconds); ``StrTime`` has no zone. System messages
(Type 10000) announcing invitations and QR-code joins become join events.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator, Mapping
from pathlib import Path

from shequn.adapters.importers.common import ImportFailed, ImportStats, open_text
from shequn.core import Event, EventType, File, Image, Link, Media, Message, Sticker, Text
from shequn.kit.timeutil import from_timestamp

PLATFORM = "wechat"
COLUMNS = ("localId", "TalkerId", "Type", "CreateTime", "StrContent", "Sender")
SELF = "self"
_INVITED = re.compile(r'邀请"(?P<names>.+?)"加入了群聊')
_SCANNED = re.compile(r'"(?P<names>.+?)"通过扫描.*?二维码加入群聊')
_MEDIA = {3: "image", 34: "voice", 43: "video", 47: "sticker", 49: "app", 10000: "system"}
_URL = re.compile(r"https?://\S+")


class BadWeChatExport(ImportFailed):
    """A row or file that cannot be read; the message gives file and line."""


def _text(kind: int, content: str) -> Message:
    if kind == 1:
        parts: list = []
        last = 0
        for match in _URL.finditer(content):
            if match.start() > last:
                parts.append(Text(content[last : match.start()]))
            parts.append(Link(url=match.group()))
            last = match.end()
        if last < len(content):
            parts.append(Text(content[last:]))
        return Message(tuple(parts))
    if kind == 3:
        return Message((Image(),))
    if kind == 47:
        return Message((Sticker(),))
    if kind == 49:
        return Message((File(name=content[:255] or "app message"),))
    return Message((Media(media=_MEDIA.get(kind, f"type {kind}")),))


def row_events(row: Mapping[str, str], where: str) -> Iterator[Event]:
    """The events one CSV row stands for. Pure."""
    try:
        kind = int(row["Type"])
        when = from_timestamp(int(row["CreateTime"]))
    except (TypeError, ValueError):
        raise BadWeChatExport(
            f"{where}: Type {row.get('Type')!r} / CreateTime {row.get('CreateTime')!r} "
            "are not numbers"
        ) from None
    talker = (row.get("TalkerId") or "").strip()
    if not talker:
        raise BadWeChatExport(f"{where}: TalkerId is empty")
    local_id = (row.get("localId") or "").strip()
    if not local_id:
        raise BadWeChatExport(f"{where}: localId is empty")
    base = {
        "platform": PLATFORM,
        "source": f"wechat-export:{talker}",
        "occurred_at": when,
        "group": talker,
        "group_name": (row.get("NickName") or row.get("Remark") or "").strip() or None,
    }
    content = row.get("StrContent") or ""
    if kind == 10000:
        for pattern, via in ((_INVITED, "invite"), (_SCANNED, "qrcode")):
            match = pattern.search(content)
            if match:
                for n, name in enumerate(re.split(r'[、,，]"?', match.group("names"))):
                    name = name.strip('" ')
                    if name:
                        yield Event(
                            type=EventType.JOIN,
                            source_id=f"{local_id}:join:{n}",
                            actor=f"name:{name}",
                            actor_name=name,
                            payload={"via": via},
                            **base,
                        )
                return
        yield Event(
            type=EventType.CUSTOM,
            source_id=local_id,
            payload={"system": content[:1000]},
            **base,
        )
        return
    sender = (row.get("Sender") or "").strip()
    if row.get("IsSender", "").strip() == "1" and not sender:
        sender = SELF
    yield Event(
        type=EventType.MESSAGE,
        source_id=local_id,
        actor=sender or None,
        message=_text(kind, content),
        payload={"message_id": f"{talker}:{local_id}", "wechat_type": kind},
        **base,
    )


def wechat_events(path: Path, stats: ImportStats) -> Iterator[Event]:
    """Every event in the CSV at ``path``, one row at a time; ``stats`` is kept up to date."""
    where = str(path)
    with open_text(path, BadWeChatExport) as (text, raw, encoding):
        reader = csv.DictReader(text)
        try:
            header = reader.fieldnames or []
            missing = [c for c in COLUMNS if c not in header]
            if missing:
                raise BadWeChatExport(f"{where}: not a WeChat export, missing columns {missing}")
            for row in reader:
                stats.messages += 1
                stats.bytes_read = raw.tell()
                yield from row_events(row, f"{where}:{reader.line_num}")
            stats.bytes_read = raw.tell()
        except UnicodeDecodeError as exc:
            raise BadWeChatExport(
                f"{where}:{reader.line_num + 1}: not {encoding} text ({exc.reason})"
            ) from None
        except csv.Error as exc:
            raise BadWeChatExport(f"{where}:{reader.line_num}: {exc}") from None
