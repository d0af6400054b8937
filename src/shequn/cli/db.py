"""``shequn db``: schema migrations, and recounting what is derived from the event log."""

from __future__ import annotations

import typer

from shequn.cli.common import console, open_app
from shequn.db import migrate

app = typer.Typer(help="Manage the database schema.", no_args_is_help=True)


@app.command()
def upgrade(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Migrate the database up to REVISION (the latest by default)."""
    with open_app() as shequn:
        migrate.upgrade(shequn.engine, revision)
        console.print(f"schema at {migrate.current_revision(shequn.engine)}")


@app.command()
def downgrade(revision: str = typer.Argument(..., help="Target revision, or 'base'.")) -> None:
    """Migrate the database down to REVISION."""
    with open_app() as shequn:
        migrate.downgrade(shequn.engine, revision)
        console.print(f"schema at {migrate.current_revision(shequn.engine) or 'base'}")


@app.command()
def current() -> None:
    """Show the schema revision of the database and of this code."""
    with open_app() as shequn:
        have = migrate.current_revision(shequn.engine) or "base"
        console.print(f"database: {have}  code: {migrate.head_revision(shequn.engine)}")


@app.command("rebuild-rollups")
def rebuild_rollups() -> None:
    """Recount the activity rollups of every community from the event log."""
    from sqlalchemy import select

    from shequn.features.analytics.rollup.rebuild import rebuild
    from shequn.models import Community

    with open_app() as shequn:
        shequn.check_schema()
        with shequn.engine.connect() as conn:
            communities = conn.execute(select(Community.id, Community.name)).all()
        for cid, name in communities:
            with console.status(f"recounting {name}…") as status:
                replayed = rebuild(
                    shequn.engine,
                    cid,
                    on_chunk=lambda n, name=name: status.update(f"{name}: {n:,} events"),
                )
            console.print(f"{name}: {replayed:,} events recounted", markup=False, highlight=False)
