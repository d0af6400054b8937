"""What every command shares: building the App and turning known errors into clean exits."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from rich.text import Text

from shequn.app import App
from shequn.kit.errors import ShequnError

console = Console()
err_console = Console(stderr=True)


@contextmanager
def open_app() -> Iterator[App]:
    """Yield the App; a ShequnError becomes one red line and exit status 1."""
    app = None
    try:
        app = App.create()
        yield app
    except ShequnError as exc:
        # Error text may quote untrusted input: print it as plain text, never as markup.
        err_console.print(Text.assemble(("error: ", "red"), str(exc)), soft_wrap=True)
        raise typer.Exit(1) from None
    finally:
        if app is not None:
            app.close()
