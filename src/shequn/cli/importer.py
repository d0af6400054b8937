"""``shequn import``: history from the exports operators already have.

``import_export`` is the one way a file goes through the pipeline, with no UI
of its own: this command wraps it in a progress bar, and the dashboard's job
runner (``shequn.web.api.imports``) calls it for uploaded files, so an upload
stores exactly what ``shequn import`` of the same file would.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)

from shequn.adapters.importers.common import ImportFailed, ImportStats
from shequn.adapters.importers.generic import csv_events, jsonl_events
from shequn.adapters.importers.qq.txt_export import qq_events
from shequn.adapters.importers.telegram.importer import telegram_events
from shequn.adapters.importers.wechat.csv_export import wechat_events
from shequn.cli.common import console, open_app
from shequn.core import Event
from shequn.features.imports.logic import KINDS
from shequn.kit.errors import ShequnError
from shequn.kit.timeutil import zone
from shequn.runtime.ingest import Ingestor, IngestResult

app = typer.Typer(help="Import chat history from export files.", no_args_is_help=True)

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


def _import_file(ingestor: Ingestor, path: Path, read: Reader, group: str | None) -> None:
    """One file through the pipeline, with a progress bar and a closing summary."""
    size = path.stat().st_size if path.is_file() else None
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TextColumn("{task.fields[messages]:,} messages"),
        TimeElapsedColumn(),
        console=console,
    ) as bar:
        task = bar.add_task(path.name, total=size, messages=0)

        def advance(progress: ImportProgress) -> None:
            bar.update(task, completed=progress.stats.bytes_read, messages=progress.stats.messages)

        done = import_export(ingestor, path, read, group=group, on_batch=advance)
        bar.update(task, completed=size, messages=done.stats.messages)
    stats, total = done.stats, done.total
    console.print(
        f"{path}: {stats.messages:,} messages read, {total.stored:,} events stored, "
        f"{total.duplicates:,} already present, {stats.unsupported:,} unsupported skipped",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )


COMMUNITY = typer.Option("imported", help="Community the groups belong to.")
GROUP = typer.Option(None, help="Name the imported group(s) this instead.")
MAP = typer.Option(
    [], "--map", help="Read FIELD from another column: FIELD=COLUMN (repeatable). See the README."
)


def _run(
    paths: list[Path],
    community: str,
    group: str | None,
    kind: str,
    mapping: Mapping[str, str] | None = None,
) -> None:
    """Import each file in turn into ``community``; readers use its time zone."""
    with open_app() as shequn:
        shequn.migrate()
        ref = shequn.community(community)
        ingestor, read = shequn.ingestor(ref), reader_for(kind, ref.timezone, mapping)
        for path in paths:
            _import_file(ingestor, path, read, group)


def _mapping(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        field_, sep, column = pair.partition("=")
        if not sep or not field_ or not column:
            raise typer.BadParameter(f"{pair!r}: expected FIELD=COLUMN, e.g. time=created_at")
        out[field_.strip()] = column.strip()
    return out


@app.command()
def telegram(
    paths: list[Path] = typer.Argument(..., help="result.json files from Telegram Desktop."),
    community: str = COMMUNITY,
    group: str = GROUP,
) -> None:
    """Import Telegram Desktop JSON exports (single chat or full account)."""
    _run(paths, community, group, "telegram")


@app.command()
def wechat(
    paths: list[Path] = typer.Argument(..., help="CSV files exported by MemoTrace / WeChatMsg."),
    community: str = COMMUNITY,
    group: str = GROUP,
) -> None:
    """Import WeChat chat exports in the MemoTrace / WeChatMsg CSV layout."""
    _run(paths, community, group, "wechat")


@app.command()
def qq(
    paths: list[Path] = typer.Argument(..., help=".txt files from QQ's PC message manager."),
    community: str = COMMUNITY,
    group: str = GROUP,
) -> None:
    """Import QQ message-manager text exports; times are read in the community's zone."""
    _run(paths, community, group, "qq")


@app.command()
def jsonl(
    paths: list[Path] = typer.Argument(..., help="JSON Lines files, one event per line."),
    community: str = COMMUNITY,
    group: str = GROUP,
    map: list[str] = MAP,  # noqa: A002
) -> None:
    """Import JSON Lines: one event per line (id, time, type, group, user, text, payload)."""
    _run(paths, community, group, "jsonl", _mapping(map))


@app.command("csv")
def csv_(
    paths: list[Path] = typer.Argument(..., help="CSV files with a header row, one event a row."),
    community: str = COMMUNITY,
    group: str = GROUP,
    map: list[str] = MAP,  # noqa: A002
) -> None:
    """Import CSV: one event per row (id, time, type, group, user, text, payload.KEY columns)."""
    _run(paths, community, group, "csv", _mapping(map))
