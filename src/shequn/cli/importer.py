"""``shequn import``: history from the exports operators already have."""

from __future__ import annotations

from collections.abc import Callable, Iterator
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
from shequn.features.community.setup import CommunityRef
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
    """One file through the pipeline, with a progress bar and a closing summary."""
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


Reader = Callable[[Path, ImportStats], Iterator[Event]]
COMMUNITY = typer.Option("imported", help="Community the groups belong to.")
GROUP = typer.Option(None, help="Name the imported group(s) this instead.")
MAP = typer.Option(
    [], "--map", help="Read FIELD from another column: FIELD=COLUMN (repeatable). See the README."
)


def _run(
    paths: list[Path],
    community: str,
    group: str | None,
    reader_for: Callable[[CommunityRef], Reader],
) -> None:
    """Import each file in turn into ``community``; ``reader_for`` may use its time zone."""
    with open_app() as shequn:
        shequn.migrate()
        ref = shequn.community(community)
        ingestor, read = shequn.ingestor(ref), reader_for(ref)
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


@app.command()
def telegram(
    paths: list[Path] = typer.Argument(..., help="result.json files from Telegram Desktop."),
    community: str = COMMUNITY,
    group: str = GROUP,
) -> None:
    """Import Telegram Desktop JSON exports (single chat or full account)."""
    _run(paths, community, group, lambda ref: telegram_events)


@app.command()
def wechat(
    paths: list[Path] = typer.Argument(..., help="CSV files exported by MemoTrace / WeChatMsg."),
    community: str = COMMUNITY,
    group: str = GROUP,
) -> None:
    """Import WeChat chat exports in the MemoTrace / WeChatMsg CSV layout."""
    _run(paths, community, group, lambda ref: wechat_events)


@app.command()
def qq(
    paths: list[Path] = typer.Argument(..., help=".txt files from QQ's PC message manager."),
    community: str = COMMUNITY,
    group: str = GROUP,
) -> None:
    """Import QQ message-manager text exports; times are read in the community's zone."""
    _run(paths, community, group, lambda ref: partial(qq_events, timezone=ref.timezone))


@app.command()
def jsonl(
    paths: list[Path] = typer.Argument(..., help="JSON Lines files, one event per line."),
    community: str = COMMUNITY,
    group: str = GROUP,
    map: list[str] = MAP,  # noqa: A002
) -> None:
    """Import JSON Lines: one event per line (id, time, type, group, user, text, payload)."""
    mapping = _mapping(map)
    _run(
        paths,
        community,
        group,
        lambda ref: partial(jsonl_events, tz=zone(ref.timezone), mapping=mapping),
    )


@app.command("csv")
def csv_(
    paths: list[Path] = typer.Argument(..., help="CSV files with a header row, one event a row."),
    community: str = COMMUNITY,
    group: str = GROUP,
    map: list[str] = MAP,  # noqa: A002
) -> None:
    """Import CSV: one event per row (id, time, type, group, user, text, payload.KEY columns)."""
    mapping = _mapping(map)
    _run(
        paths,
        community,
        group,
        lambda ref: partial(csv_events, tz=zone(ref.timezone), mapping=mapping),
    )
