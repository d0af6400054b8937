"""``shequn db``: schema migrations."""

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
