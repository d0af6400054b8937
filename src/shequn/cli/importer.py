"""``shequn import``: history from the exports operators already have, through
``runtime.importing.import_export`` with a progress bar."""

from __future__ import annotations

from collections.abc import Mapping
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

from shequn.cli.common import console, open_app
from shequn.runtime.importing import (
    ImportProgress,
    Reader,
    import_export,
    reader_for,
)
from shequn.runtime.ingest import Ingestor

app = typer.Typer(help="Import chat history from export files.", no_args_is_help=True)


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
