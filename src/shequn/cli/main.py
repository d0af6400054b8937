"""The ``shequn`` command: one Typer app with a module per command group."""

from __future__ import annotations

import typer

from shequn import __version__
from shequn.cli import bench, bot, broadcast, db, demo, importer, report, serve, simulate, user

app = typer.Typer(
    name="shequn",
    help="shequn — run many chat groups from one place.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(db.app, name="db")
app.add_typer(bench.app, name="bench")
app.add_typer(importer.app, name="import")
app.add_typer(user.app, name="user")
app.add_typer(broadcast.app, name="broadcast")
app.command("simulate")(simulate.simulate)
app.command("demo")(demo.demo)
app.command("report")(report.report)
app.command("serve")(serve.serve)
app.command("bot")(bot.bot)


@app.command()
def version() -> None:
    """Print shequn's version."""
    typer.echo(__version__)
