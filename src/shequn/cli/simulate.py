"""``shequn simulate``: fill the database with a simulated community."""

from __future__ import annotations

from datetime import date, datetime

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from shequn.app import App
from shequn.cli.common import console, open_app
from shequn.features.community.setup import CommunityRef
from shequn.kit.timeutil import zone
from shequn.runtime.ingest import IngestResult
from shequn.simulator import SimConfig
from shequn.simulator import simulate as build_community


def today_in(tz: str) -> date:
    return datetime.now(zone(tz)).date()


def run_simulation(
    app: App, config: SimConfig, community_name: str | None = None
) -> tuple[CommunityRef, IngestResult]:
    """Generate the community and stream it through the ingest pipeline, with progress."""
    community = build_community(config)
    ref = app.community(community_name or community.name, timezone=config.timezone)
    ingestor = app.ingestor(ref)
    with Progress(
        TextColumn("[bold]simulating[/bold] {task.description}"),
        BarColumn(),
        TextColumn("{task.fields[stored]:,} events"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        task = progress.add_task(ref.name, total=None, stored=0)
        total = IngestResult()

        def on_batch(result: IngestResult) -> None:
            total.add(result)
            progress.update(task, stored=total.stored)

        ingestor.ingest_many(community.events(), on_batch=on_batch)
    return ref, total


def simulate(
    groups: int = typer.Option(20, min=1, max=2000, help="Number of groups."),
    members: int = typer.Option(5000, min=1, help="Number of distinct people."),
    days: int = typer.Option(90, min=1, max=3650, help="Days of history."),
    seed: int = typer.Option(7, help="Random seed: the same seed gives the same community."),
    end: datetime = typer.Option(
        None, formats=["%Y-%m-%d"], help="Last simulated day (default: today)."
    ),
    community: str = typer.Option(None, help="Community name (default: the simulated one's)."),
) -> None:
    """Simulate a community (groups, members, chat, joins, purchases…) into the database."""
    with open_app() as app:
        app.migrate()
        last = end.date() if end else today_in(app.settings.timezone)
        config = SimConfig(
            groups=groups,
            members=members,
            days=days,
            seed=seed,
            end=last,
            timezone=app.settings.timezone,
        )
        ref, result = run_simulation(app, config, community)
        console.print(
            f"stored {result.stored:,} events into community [bold]{ref.name}[/bold] "
            f"({result.duplicates:,} already present)"
        )
