"""``shequn bench NAME``: measured speed, ending with one JSON line."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

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


@app.command("import")
def import_(
    size_mb: float = typer.Option(1024, min=0.1, help="Size of the export to write (MiB)."),
    db: Database = typer.Option(Database.SQLITE, help="Database to import into."),
    seed: int = typer.Option(11, help="Seed of the simulated community behind the export."),
) -> None:
    """A Telegram export through `shequn import telegram`'s path, against json.load of it."""
    from shequn.bench.import_ import bench_import

    with console.status(f"writing a {size_mb:,g} MiB Telegram export, importing it…"):
        figures = bench_import(db.value, size_mb, seed=seed)
    print(json_line(figures), flush=True)


@app.command()
def metrics(
    messages: int = typer.Option(10_000_000, min=1000, help="Messages in the community."),
    db: Database = typer.Option(Database.SQLITE, help="Database to measure."),
    keep: Path = typer.Option(
        None, help="SQLite file to keep the community in (reused by later runs)."
    ),
) -> None:
    """The overview from the rollups against the same figures from the raw events."""
    from shequn.bench.metrics import bench_metrics

    with console.status(f"storing a {messages:,}-message community, then timing the overview…"):
        figures = bench_metrics(db.value, messages, keep)
    print(json_line(figures), flush=True)


@app.command()
def web(
    messages: int = typer.Option(10_000_000, min=1000, help="Messages in the community."),
    db: Database = typer.Option(Database.SQLITE, help="Database to measure."),
    keep: Path = typer.Option(
        None, help="SQLite file to keep the community in (reused by later runs)."
    ),
) -> None:
    """Server-side time of the overview, group list, group detail and member list pages."""
    from shequn.bench.web import bench_web

    with console.status(f"storing a {messages:,}-message community, then timing the pages…"):
        figures = bench_web(db.value, messages, keep)
    print(json_line(figures), flush=True)


@app.command()
def dispatch(
    actions: int = typer.Option(50_000, min=1, help="Actions to fan out."),
    groups: int = typer.Option(500, min=1, help="Simulated groups they go to."),
    db: Database = typer.Option(Database.SQLITE, help="Database to measure."),
    latency_messages: int = typer.Option(
        500, min=1, help="Commands answered through the whole runtime for the latency."
    ),
) -> None:
    """The outbox dispatcher against Telegram-like rate limits on simulated time, its own
    throughput, and the message-to-reply latency through the runtime."""
    from shequn.bench.dispatch import bench_dispatch

    with console.status(f"dispatching {actions:,} actions over {groups} groups ({db.value})…"):
        figures = bench_dispatch(db.value, actions, groups, latency_messages)
    print(json_line(figures), flush=True)


@app.command()
def broadcast(
    groups: int = typer.Option(500, min=1, help="Simulated groups the post goes to."),
    db: Database = typer.Option(Database.SQLITE, help="Database to measure."),
) -> None:
    """One post fanned out to every group: the time to plan and queue every copy, and the
    completion time against the rate-limit floor on simulated time."""
    from shequn.bench.broadcast import bench_broadcast

    with console.status(f"broadcasting one post to {groups} groups ({db.value})…"):
        figures = bench_broadcast(db.value, groups)
    print(json_line(figures), flush=True)


@app.command()
def rules(
    rules: int = typer.Option(10_000, min=1, help="Keyword rules in the community."),
    messages: int = typer.Option(50_000, min=100, help="Simulated messages to match."),
) -> None:
    """Every keyword rule compiled into one automaton against the naive loop over the rules,
    and the per-message time of all the rules of one group."""
    from shequn.bench.rules import bench_rules

    with console.status(f"matching {messages:,} messages against {rules:,} rules…"):
        figures = bench_rules(rules, messages)
    print(json_line(figures), flush=True)
