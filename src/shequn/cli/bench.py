"""``shequn bench NAME``: measured speed, ending with one JSON line."""

from __future__ import annotations

from enum import StrEnum

import typer

from shequn.bench.common import json_line
from shequn.cli.common import console


class Database(StrEnum):
    SQLITE = "sqlite"
    POSTGRES = "postgres"


app = typer.Typer(help="Benchmarks. Each prints one JSON line with its figures and ratio.")


@app.command()
def ingest(
    events: int = typer.Option(1_000_000, min=1, help="Message events to ingest."),
    db: Database = typer.Option(Database.SQLITE, help="Database to measure."),
    batch_size: int = typer.Option(20_000, min=1, help="Events per transaction (both runs)."),
) -> None:
    """Bulk ingest against the raw insert floor (executemany / COPY) of the same rows."""
    from shequn.bench.ingest import bench_ingest

    with console.status(f"ingesting {events:,} events into {db.value} (pipeline and floor)…"):
        figures = bench_ingest(db.value, events, batch_size)
    print(json_line(figures), flush=True)
