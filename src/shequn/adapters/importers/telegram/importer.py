"""A Telegram export file as a stream of Events, with counts for the progress bar."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from shequn.adapters.importers.common import ImportFailed, ImportStats
from shequn.adapters.importers.telegram.messages import BadMessage, events_of
from shequn.adapters.importers.telegram.reader import BadExport, read_messages
from shequn.core import Event


def telegram_events(path: Path, stats: ImportStats) -> Iterator[Event]:
    """Every event in the export at ``path``, streamed; ``stats`` is kept up to date."""
    try:
        stream = path.open("rb")
    except OSError as exc:
        raise ImportFailed(f"{path}: {exc.strerror or exc}") from None
    with stream:
        try:
            for exported in read_messages(stream, str(path)):
                stats.messages += 1
                stats.bytes_read = stream.tell()
                chat = exported.chat
                if exported.message.get("type") == "unsupported":
                    stats.unsupported += 1
                    continue
                try:
                    yield from events_of(exported.message, chat)
                except BadMessage as exc:
                    raise ImportFailed(
                        f"{path}: chat {chat.id}, near byte {stream.tell()}: {exc}"
                    ) from None
        except BadExport as exc:
            raise ImportFailed(str(exc)) from None
        stats.bytes_read = stream.tell()
