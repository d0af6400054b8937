"""``shequn import``: history from the exports operators already have."""

from __future__ import annotations

from collections.abc import Callable, Iterator
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
from shequn.kit.errors import ShequnError
from shequn.kit.timeutil import zone
from shequn.runtime.ingest import Ingestor, IngestResult

app = typer.Typer(help="Import chat history from export files.", no_args_is_help=True)


class ImportError_(ShequnError):
    """An import stopped on bad input; what was committed before it stays, whole."""


def _import_file(
    ingestor: Ingestor,
    path: Path,
    read: Callable[[Path, ImportStats], Iterator[Event]],
    group: str | None,
) -> None:
    stats, total = ImportStats(), IngestResult()
    size = path.stat().st_size if path.is_file() else None
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TextColumn("{task.fields[messages]:,} messages"),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        task = progress.add_task(path.name, total=size, messages=0)

        def advance(result: IngestResult) -> None:
            total.add(result)
            progress.update(task, completed=stats.bytes_read, messages=stats.messages)

        events: Iterator[Event] = read(path, stats)
        if group:
            events = (e.with_(group_name=group) for e in events)
        try:
            ingestor.ingest_many(events, on_batch=advance)
        except ImportFailed as exc:
            raise ImportError_(
                f"{exc} — the {total.stored:,} events stored before it are complete; "
                "fix the file and import it again to continue"
            ) from None
        progress.update(task, completed=size, messages=stats.messages)
    console.print(
        f"{path}: {stats.messages:,} messages read, {total.stored:,} events stored, "
        f"{total.duplicates:,} already present, {stats.unsupported:,} unsupported skipped",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )


@app.command()
def telegram(
    paths: list[Path] = typer.Argument(..., help="result.json files from Telegram Desktop."),
    community: str = typer.Option("imported", help="Community the groups belong to."),
    group: str = typer.Option(None, help="Name the imported group(s) this instead."),
) -> None:
    """Import Telegram Desktop JSON exports (single chat or full account)."""
    with open_app() as shequn:
        shequn.migrate()
        ingestor = shequn.ingestor(shequn.community(community))
        for path in paths:
            _import_file(ingestor, path, telegram_events, group)


@app.command()
def wechat(
    paths: list[Path] = typer.Argument(..., help="CSV files exported by MemoTrace / WeChatMsg."),
    community: str = typer.Option("imported", help="Community the groups belong to."),
    group: str = typer.Option(None, help="Name the imported group(s) this instead."),
) -> None:
    """Import WeChat chat exports in the MemoTrace / WeChatMsg CSV layout."""
    with open_app() as shequn:
        shequn.migrate()
        ingestor = shequn.ingestor(shequn.community(community))
        for path in paths:
            _import_file(ingestor, path, wechat_events, group)


@app.command()
def qq(
    paths: list[Path] = typer.Argument(..., help=".txt files from QQ's PC message manager."),
    community: str = typer.Option("imported", help="Community the groups belong to."),
    group: str = typer.Option(None, help="Name the imported group(s) this instead."),
) -> None:
    """Import QQ message-manager text exports; times are read in the community's zone."""
    with open_app() as shequn:
        shequn.migrate()
        ref = shequn.community(community)
        ingestor = shequn.ingestor(ref)

        def read(path: Path, stats: ImportStats) -> Iterator[Event]:
            return qq_events(path, stats, timezone=ref.timezone)

        for path in paths:
            _import_file(ingestor, path, read, group)


def _mapping(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        field, sep, column = pair.partition("=")
        if not sep or not field or not column:
            raise typer.BadParameter(f"{pair!r}: expected FIELD=COLUMN, e.g. time=created_at")
        out[field.strip()] = column.strip()
    return out


def _generic(
    paths: list[Path],
    community: str,
    group: str | None,
    maps: list[str],
    reader: Callable[..., Iterator[Event]],
) -> None:
    mapping = _mapping(maps)
    with open_app() as shequn:
        shequn.migrate()
        ref = shequn.community(community)
        ingestor = shequn.ingestor(ref)
        tz = zone(ref.timezone)

        def read(path: Path, stats: ImportStats) -> Iterator[Event]:
            return reader(path, stats, tz=tz, mapping=mapping)

        for path in paths:
            _import_file(ingestor, path, read, group)


MAP_HELP = "Read FIELD from another column: FIELD=COLUMN (repeatable). See the README."


@app.command()
def jsonl(
    paths: list[Path] = typer.Argument(..., help="JSON Lines files, one event per line."),
    community: str = typer.Option("imported", help="Community the groups belong to."),
    group: str = typer.Option(None, help="Name the imported group(s) this instead."),
    map: list[str] = typer.Option([], "--map", help=MAP_HELP),  # noqa: A002
) -> None:
    """Import JSON Lines: one event per line (id, time, type, group, user, text, payload)."""
    _generic(paths, community, group, map, jsonl_events)


@app.command("csv")
def csv_(
    paths: list[Path] = typer.Argument(..., help="CSV files with a header row, one event a row."),
    community: str = typer.Option("imported", help="Community the groups belong to."),
    group: str = typer.Option(None, help="Name the imported group(s) this instead."),
    map: list[str] = typer.Option([], "--map", help=MAP_HELP),  # noqa: A002
) -> None:
    """Import CSV: one event per row (id, time, type, group, user, text, payload.KEY columns)."""
    _generic(paths, community, group, map, csv_events)
