"""Running one export file through the ingest pipeline, with no UI of its own.

``shequn import`` wraps ``import_export`` in a progress bar and the dashboard's
job runner calls it for uploaded files, so an upload stores exactly what
``shequn import`` of the same file would.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from shequn.adapters.importers.common import ImportFailed, ImportStats
from shequn.adapters.importers.generic import csv_events, jsonl_events
from shequn.adapters.importers.qq.txt_export import qq_events
from shequn.adapters.importers.telegram.importer import telegram_events
from shequn.adapters.importers.wechat.csv_export import wechat_events
from shequn.core import Event
from shequn.features.imports.logic import KINDS
from shequn.kit.errors import ShequnError
from shequn.kit.timeutil import zone
from shequn.runtime.ingest import Ingestor, IngestResult

Reader = Callable[[Path, ImportStats], Iterator[Event]]


@dataclass(slots=True)
class ImportProgress:
    """How far an import has got: what was read of the file, and what was stored."""

    stats: ImportStats = field(default_factory=ImportStats)
    total: IngestResult = field(default_factory=IngestResult)


class ImportError_(ShequnError):
    """An import stopped on bad input; what was committed before it stays, whole.

    ``cause`` is the importer's own message (file and place); ``progress`` says
    what had been stored when it stopped.
    """

    def __init__(
        self, message: str, *, cause: str = "", progress: ImportProgress | None = None
    ) -> None:
        super().__init__(message)
        self.cause = cause or message
        self.progress = progress or ImportProgress()


def reader_for(kind: str, timezone: str, mapping: Mapping[str, str] | None = None) -> Reader:
    """The reader of an export ``kind`` (one of ``KINDS``); QQ, JSON Lines and CSV read
    zone-less times in ``timezone``, and the generic two rename fields by ``mapping``."""
    if kind == "telegram":
        return telegram_events
    if kind == "wechat":
        return wechat_events
    if kind == "qq":
        return partial(qq_events, timezone=timezone)
    if kind == "jsonl":
        return partial(jsonl_events, tz=zone(timezone), mapping=dict(mapping or {}))
    if kind == "csv":
        return partial(csv_events, tz=zone(timezone), mapping=dict(mapping or {}))
    raise ValueError(f"unknown export kind {kind!r}; expected one of {', '.join(KINDS)}")


def import_export(
    ingestor: Ingestor,
    path: Path,
    read: Reader,
    *,
    group: str | None = None,
    on_batch: Callable[[ImportProgress], None] | None = None,
) -> ImportProgress:
    """One export file through the pipeline; ``on_batch`` hears after every committed batch.

    Raises ImportError_ when the file turns out bad: the batches committed before
    stay whole (each batch is one transaction) and the error says where.
    """
    progress = ImportProgress()

    def advance(result: IngestResult) -> None:
        progress.total.add(result)
        if on_batch is not None:
            on_batch(progress)

    events: Iterator[Event] = read(path, progress.stats)
    if group:
        events = (e.with_(group_name=group) for e in events)
    try:
        ingestor.ingest_many(events, on_batch=advance)
    except ImportFailed as exc:
        raise ImportError_(
            f"{exc} — the {progress.total.stored:,} events stored before it are complete; "
            "fix the file and import it again to continue",
            cause=str(exc),
            progress=progress,
        ) from None
    return progress
