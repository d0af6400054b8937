"""QQ PC message-manager ``.txt`` exports, read line by line.

The file opens with a ``消息记录…`` header and ``消息分组:`` / ``消息对象:`` lines
(the group's name); each message starts with a line
``YYYY-MM-DD H:MM:SS [【badge】]昵称(QQ号)`` — or ``昵称<email>`` — and its content
follows until the next such line. Times carry no zone: they are read in the
community's zone. The 【…】 badge is a role (群主, 管理员) or a title, never part
of the name; a change of badge becomes a member update. The file has no message
ids, so each message is keyed by its time, its sender and its rank among
messages with both the same — stable when the same file, or an overlapping
later export, is imported again.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from shequn.adapters.importers.common import ImportFailed, ImportStats, open_text
from shequn.core import Event, EventType, Message
from shequn.kit.timeutil import DEFAULT_TIMEZONE, zone

PLATFORM = "qq"
_HEADER = re.compile(
    r"^(?P<when>\d{4}-\d{2}-\d{2} \d{1,2}:\d{2}:\d{2}) "
    r"(?:【(?P<badge>[^】]*)】)?"
    r"(?P<name>.*?)(?:\((?P<qq>\d{5,12})\)|<(?P<email>[^<>\s]+@[^<>\s]+)>)$"
)
_ROLES = {"群主": "owner", "管理员": "admin"}


class BadQQExport(ImportFailed):
    """A QQ text export that cannot be read; the message gives file and line."""


def qq_events(
    path: Path, stats: ImportStats, *, timezone: str = DEFAULT_TIMEZONE
) -> Iterator[Event]:
    """Every event in the export at ``path``; ``stats`` counts the messages."""
    where = str(path)
    tz = zone(timezone)
    with open_text(path, BadQQExport, newline=None) as (lines, raw, encoding):
        reader = _Reader(where, tz, stats)
        line_no = 0
        try:
            for line_no, line in enumerate(lines, start=1):
                stats.bytes_read = raw.tell()
                yield from reader.feed(line.rstrip("\n"), line_no)
            yield from reader.flush()
        except UnicodeDecodeError as exc:
            raise BadQQExport(
                f"{where}:{line_no + 1}: not {encoding} text ({exc.reason})"
            ) from None
        if not reader.seen_header:
            raise BadQQExport(f"{where}: not a QQ message export (no 消息记录 header)")


class _Reader:
    """The line-by-line state: which group, and the message being collected."""

    def __init__(self, where: str, tz: ZoneInfo, stats: ImportStats) -> None:
        self.where, self.tz, self.stats = where, tz, stats
        self.seen_header = False
        self.group: str | None = None
        self.current: tuple[int, re.Match[str]] | None = None
        self.content: list[str] = []
        self.ranks: Counter[tuple[str, str]] = Counter()
        self.badges: dict[str, str | None] = {}

    def feed(self, line: str, line_no: int) -> Iterator[Event]:
        text = line.lstrip("\ufeff")
        if not self.seen_header:
            if text.startswith("消息记录"):
                self.seen_header = True
            elif text.strip():
                raise BadQQExport(
                    f"{self.where}:{line_no}: not a QQ message export (no 消息记录 header)"
                )
            return
        if text.startswith("消息对象:"):
            yield from self.flush()
            self.group = text.split(":", 1)[1].strip() or None
            return
        if text.startswith(("消息分组:", "=====")):
            return
        match = _HEADER.match(text)
        if match:
            yield from self.flush()
            if self.group is None:
                raise BadQQExport(f"{self.where}:{line_no}: a message before any 消息对象: line")
            self.current = (line_no, match)
            return
        if self.current is not None:
            self.content.append(text)
        elif text.strip():
            raise BadQQExport(f"{self.where}:{line_no}: text outside any message: {text[:40]!r}")

    def flush(self) -> Iterator[Event]:
        if self.current is None:
            return
        line_no, match = self.current
        self.current = None
        content, self.content = self.content, []
        while content and not content[-1].strip():
            content.pop()
        try:
            local = datetime.strptime(match["when"], "%Y-%m-%d %H:%M:%S")
        except ValueError:
            raise BadQQExport(f"{self.where}:{line_no}: {match['when']!r} is not a date") from None
        when = local.replace(tzinfo=self.tz)
        actor = match["qq"] or f"email:{match['email']}"
        name = match["name"].strip() or None
        self.stats.messages += 1
        rank_key = (match["when"], actor)
        self.ranks[rank_key] += 1
        source_id = f"{match['when']}|{actor}|{self.ranks[rank_key]}"
        base = {
            "platform": PLATFORM,
            "source": f"qq-txt:{self.group}",
            "occurred_at": when,
            "group": self.group,
            "group_name": self.group,
            "actor": actor,
            "actor_name": name,
        }
        badge = match["badge"]
        if self.badges.get(actor, "") != badge and (badge or actor in self.badges):
            update = {"role": _ROLES[badge]} if badge in _ROLES else {"title": badge}
            if badge not in _ROLES and self.badges.get(actor) in _ROLES:
                update["role"] = "member"
            yield Event(
                type=EventType.MEMBER_UPDATE, source_id=f"{source_id}|badge", payload=update, **base
            )
        self.badges[actor] = badge
        yield Event(
            type=EventType.MESSAGE,
            source_id=source_id,
            message=Message.of("\n".join(content)) if content else Message.of(""),
            payload={"message_id": source_id},
            **base,
        )
