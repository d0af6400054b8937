"""Pure rules of background jobs: which kinds exist, names, options, progress, orphans."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

#: The export formats an upload may be, the same as ``shequn import``'s subcommands.
KINDS = ("telegram", "wechat", "qq", "jsonl", "csv")
#: Formats whose columns can be renamed with FIELD=COLUMN pairs.
MAPPABLE = frozenset({"jsonl", "csv"})
#: The job kind that recounts a community's rollups (after a time-zone change).
RECOUNT = "recount"
#: The longest name kept for an uploaded file (the column's width).
MAX_FILENAME = 255
#: A job whose runner has not been heard of for this long belongs to a dead process.
STALE_AFTER = timedelta(minutes=10)
#: How often a runner re-announces that its unfinished jobs are alive.
BEAT_EVERY = timedelta(seconds=60)
INTERRUPTED = "interrupted: the server stopped before the job finished"

_PAIR = r"[ \t]*[A-Za-z_][A-Za-z0-9_.]{0,63}[ \t]*=[ \t]*[^ \t,\n\x00=][^,\n\x00]*"
#: What a column map is: pairs separated by a comma or a new line, or nothing.
MAP_PATTERN = rf"^(?:{_PAIR}(?:[,\n]{_PAIR})*)?[ \t]*$"


def printable(text: str) -> str:
    """``text`` without control, format, surrogate or unassigned characters (category C):
    they mean nothing in a name, and NUL cannot be stored; every other kind of space
    (no-break, ideographic, line and paragraph separators) becomes a plain one."""
    kept = []
    for ch in text:
        kind = unicodedata.category(ch)[0]
        if kind == "Z":
            kept.append(" ")
        elif kind != "C":
            kept.append(ch)
    return "".join(kept)


def display_name(filename: str | None) -> str:
    """What an uploaded file is called on screen and in event sources: the last part of
    whatever path the browser sent, printable, clipped. It is data, never a path on
    this server."""
    name = printable(re.split(r"[/\\]", filename or "")[-1]).strip()
    return name[:MAX_FILENAME] or "upload"


def parse_mapping(text: str | None) -> dict[str, str]:
    """``FIELD=COLUMN`` pairs separated by commas or new lines, as ``--map`` takes them;
    exactly the strings ``MAP_PATTERN`` matches (the API document states it).

    Raises ValueError when the text is not such pairs.
    """
    text = text or ""
    if not re.fullmatch(MAP_PATTERN, text):
        raise ValueError(f"{text[:80]!r}: expected FIELD=COLUMN pairs, e.g. time=created_at")
    out: dict[str, str] = {}
    for pair in re.split(r"[,\n]", text):
        if pair.strip(" \t"):
            field, _, column = pair.partition("=")
            out[field.strip(" \t")] = column.strip(" \t")
    return out


def clean_group(text: str | None) -> str | None:
    """The group name an upload's groups should be given instead, or None."""
    name = printable(text or "").strip()
    return name[:200] or None


def fraction(done: int, size: int) -> float:
    """How much of a file has been read, between 0 and 1 (0 for an empty file)."""
    if size <= 0:
        return 0.0
    return min(max(done / size, 0.0), 1.0)


def elapsed(started: datetime | None, finished: datetime | None, now: datetime) -> str:
    """How long a job has run (or ran), as ``H:MM:SS``; empty before it starts."""
    if started is None:
        return ""
    seconds = max(int(((finished or now) - started).total_seconds()), 0)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"


def relabel(message: str, stored: str, shown: str) -> str:
    """An importer's error with the stored file's path replaced by the name the operator
    knows the file by: the message says where, without showing server paths."""
    return message.replace(stored, shown) if stored else message


def clip(text: str, limit: int = 2000) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True, slots=True)
class RunnerId:
    """Which process runs a job: host name, process id, and a token of that runner."""

    host: str
    pid: int
    token: str

    def __str__(self) -> str:
        return f"{self.host}|{self.pid}|{self.token}"

    @classmethod
    def parse(cls, text: object) -> RunnerId | None:
        if not isinstance(text, str):
            return None
        host, _, rest = text.partition("|")
        pid, _, token = rest.partition("|")
        if not host or not pid.isdigit() or not token:
            return None
        return cls(host, int(pid), token)


def orphaned(
    runner: RunnerId | None,
    heartbeat: datetime | None,
    *,
    host: str,
    pid: int,
    live: Iterable[RunnerId],
    pid_alive: bool,
    now: datetime,
) -> bool:
    """Whether an unfinished job's runner is gone, so the job will never finish.

    On this host (``host``, process ``pid``) a runner is alive while it is one of
    this process's ``live`` runners, or while its own process, another one, runs
    (``pid_alive``). A runner with this process's id that is not live here was a
    process before this one (containers restart as pid 1). Of another host
    nothing can be asked: its runner is gone once it has not beaten for
    ``STALE_AFTER``. A job with no runner is always an orphan.
    """
    if runner is None:
        return True
    if runner.host == host:
        if runner in set(live):
            return False
        return runner.pid == pid or not pid_alive
    return heartbeat is None or now - heartbeat > STALE_AFTER
